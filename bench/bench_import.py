"""Import benchmark: 1,000,000 readings from CSV through ``import-readings``, beside plain
``sqlite3.executemany`` of the same rows into an identical table, in the same run.

    .venv/bin/python bench/bench_import.py            # 1,000,000 rows, 5 rounds
    .venv/bin/python bench/bench_import.py --rows 200000 --rounds 1

The CSV (100 consumers x 10,000 half hours, canonical columns, IST timestamps without offset, sorted
by consumer and time like a meter-data export) is generated once into ``bench/results/`` (git-ignored)
and reused. Each round imports it into a fresh database file with ``lib.cli.main(["import-readings",
...])`` (the command's whole path: CSV parsing, validation, the write, the daily roll-ups of every
touched day, one transaction), and separately ``executemany``-inserts the already-parsed rows
(stored form: UTC text, floats) into the same schema with the same pragmas in one transaction.
Reported: medians, rows/s, the ratio import/raw (goal >= 0.5) of the medians and per round, the
fastest rounds, and the database size per million readings. Then one more import with the main
database's write lock timed (issue 13 item 11, ``lock_held``): how long each write transaction holds it,
and how long a sign-in's write (``BEGIN IMMEDIATE`` on another connection every 50 ms) waits beside the
import. Finally the CLI is run once as a subprocess for its wall time and peak memory.

    .venv/bin/python bench/bench_import.py --lock-only   # only the write-lock figure (one import)
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import io
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import cli, storage  # noqa: E402
from lib.clock import IST, to_ts  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CONSUMERS = 100
START = dt.datetime(2026, 1, 1, tzinfo=IST)


def csv_path(rows: int) -> Path:
    return RESULTS / f"readings_{rows}.csv"


def generate(rows: int) -> tuple[Path, list[tuple[str, str, float, float]]]:
    """The CSV file (written once) and the same rows in stored form, for the raw baseline."""
    per_consumer = rows // CONSUMERS
    rng = random.Random(20261125)
    stored: list[tuple[str, str, float, float]] = []
    local_text = [
        (START + dt.timedelta(minutes=30 * i)).strftime("%Y-%m-%d %H:%M:%S") for i in range(per_consumer)
    ]
    utc_text = [to_ts(START + dt.timedelta(minutes=30 * i)) for i in range(per_consumer)]
    lines: list[str] = []
    for c in range(CONSUMERS):
        cid = f"1012{c:05d}"
        balance = 2000.0
        for i in range(per_consumer):
            kwh = round(rng.uniform(0.0, 1.2), 3)
            balance = round(balance - kwh * 7.42, 2)
            stored.append((cid, utc_text[i], kwh, balance))
            lines.append(f"{cid},{local_text[i]},{kwh},{balance}\n")
    path = csv_path(rows)
    if not path.exists():
        RESULTS.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        with tmp.open("w", encoding="utf-8", newline="") as handle:
            handle.write("consumer_id,timestamp,kwh,balance_inr\n")
            handle.writelines(lines)
        tmp.replace(path)
    return path, stored


def fresh_db(name: str) -> Path:
    path = RESULTS / name
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    with storage.open_db(path) as conn, storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn,
            [
                {"consumer_id": f"1012{c:05d}", "name": f"Bench {c}", "registered_mobile": f"+9198765{c:05d}"}
                for c in range(CONSUMERS)
            ],
        )
    return path


def run_import(csv_file: Path) -> tuple[float, float, Path]:
    """Wall and CPU seconds of ``import-readings`` (the CLI's own entry point, in this process)."""
    path = fresh_db("bench_import_cli.db")
    out, err = io.StringIO(), io.StringIO()
    wall, cpu = time.perf_counter(), time.process_time()
    code = cli.main(["--db", str(path), "import-readings", str(csv_file)], out=out, err=err)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    if code != 0:
        raise SystemExit(f"import failed: {err.getvalue()}")
    return wall, cpu, path


def run_raw(rows: list[tuple[str, str, float, float]]) -> tuple[float, float, Path]:
    """Wall and CPU seconds of one executemany of the parsed rows, in one transaction."""
    path = fresh_db("bench_import_raw.db")
    conn = storage.connect(path)
    wall, cpu = time.perf_counter(), time.process_time()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO readings (consumer_id, ts, kwh, balance_inr) VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    conn.close()
    return wall, cpu, path


def phases(csv_file: Path) -> str:
    """One more import with the store's write functions timed (CPU): where the import's time goes. On
    SQLite the chunks go to the staging area (``stage_readings``) and are moved in at the end
    (``move_readings``, under the write lock with the roll-ups); ``insert_readings`` is PostgreSQL's path."""
    groups = {
        "stage_readings": storage.staging,
        "move_readings": storage.staging,
        "insert_readings": storage.readings,
        "refresh_daily": storage.readings,
    }
    spent = dict.fromkeys(groups, 0.0)
    originals = {name: getattr(group, name) for name, group in groups.items()}

    def timed(name: str):
        def call(*args, **kwargs):
            start = time.process_time()
            try:
                return originals[name](*args, **kwargs)
            finally:
                spent[name] += time.process_time() - start

        return call

    for name, group in groups.items():
        setattr(group, name, timed(name))
    try:
        _, cpu, _ = run_import(csv_file)
    finally:
        for name, original in originals.items():
            setattr(groups[name], name, original)
    rest = cpu - sum(spent.values())
    parts = " + ".join(
        f"{groups[name].__name__}.{name} {spent[name]:.2f} s" for name in groups if spent[name]
    )
    return f"import CPU split: {cpu:.2f} s = parse/validate/commit {rest:.2f} s + {parts}"


def lock_held(csv_file: Path, *, staged: bool = True) -> str:
    """One more import with every write transaction of the main database timed (wall, from ``BEGIN
    IMMEDIATE`` taken to ``COMMIT`` done), while another connection takes the write lock every 50 ms the
    way a sign-in does (``storage.transaction``, the 10 s busy timeout): its longest wait, and how many
    of its tries timed out ("database is locked"). ``staged=False``: the import as before issue 13 item 11,
    its rows written inside its one transaction (``storage.staging.needed`` answers False)."""
    held: list[float] = []
    original = storage.engine.transaction
    needed = storage.staging.needed

    @contextlib.contextmanager
    def timed(conn):
        with original(conn) as inside:
            start = time.perf_counter()
            yield inside
        held.append(time.perf_counter() - start)

    path = fresh_db("bench_import_lock.db")
    waits: list[float] = []
    failed = [0]
    done = threading.Event()

    def probe() -> None:
        with storage.connect(path) as other:
            while not done.is_set():
                start = time.perf_counter()
                try:
                    with original(other):
                        pass
                except storage.StorageError:
                    failed[0] += 1
                waits.append(time.perf_counter() - start)
                done.wait(0.05)

    prober = threading.Thread(target=probe, name="sign-in probe")
    storage.engine.transaction = timed
    if not staged:
        storage.staging.needed = lambda conn: False
    prober.start()
    try:
        out, err = io.StringIO(), io.StringIO()
        wall = time.perf_counter()
        code = cli.main(["--db", str(path), "import-readings", str(csv_file)], out=out, err=err)
        wall = time.perf_counter() - wall
    finally:
        storage.engine.transaction = original
        storage.staging.needed = needed
        done.set()
        prober.join()
    if code != 0:
        raise SystemExit(f"import failed: {err.getvalue()}")
    return (
        f"{'staged' if staged else 'one transaction (before)'}: write lock held by the import: longest {max(held):.2f} s, {len(held)} transactions, "
        f"{sum(held):.2f} s in all, of {wall:.2f} s wall; a sign-in's write beside it (every 50 ms, "
        f"{storage.engine.BUSY_TIMEOUT_MS / 1000:g} s busy timeout): longest wait {max(waits):.2f} s, "
        f"{failed[0]} of {len(waits)} timed out"
    )


def size_per_million(path: Path) -> float:
    conn = storage.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    conn.close()
    return os.path.getsize(path) / readings * 1_000_000 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-subprocess", action="store_true", help="skip the fresh-process run")
    parser.add_argument("--lock-only", action="store_true", help="only the write-lock figure (lock_held)")
    args = parser.parse_args()

    t0 = time.perf_counter()
    csv_file, rows = generate(args.rows)
    print(
        f"data: {len(rows):,} rows, {csv_file.stat().st_size / 1e6:.1f} MB CSV ({time.perf_counter() - t0:.1f} s)"
    )
    if args.lock_only:
        print(lock_held(csv_file, staged=False))
        print(lock_held(csv_file))
        return
    runs: dict[str, list[float]] = {"raw wall": [], "raw cpu": [], "import wall": [], "import cpu": []}
    for round_ in range(1, args.rounds + 1):
        raw_wall, raw_cpu, raw_db = run_raw(rows)
        import_wall, import_cpu, import_db = run_import(csv_file)
        for key, value in zip(runs, (raw_wall, raw_cpu, import_wall, import_cpu), strict=True):
            runs[key].append(value)
        print(
            f"round {round_}: raw executemany {raw_wall:.2f} s ({raw_cpu:.2f} s CPU), "
            f"import-readings {import_wall:.2f} s ({import_cpu:.2f} s CPU)",
            flush=True,
        )
    med = {key: statistics.median(values) for key, values in runs.items()}
    n = len(rows)
    print(f"medians of {args.rounds} rounds, {n:,} rows:")
    print(
        f"  raw executemany : {med['raw wall']:6.2f} s wall {n / med['raw wall']:>10,.0f} rows/s | {med['raw cpu']:6.2f} s CPU"
    )
    print(
        f"  import-readings : {med['import wall']:6.2f} s wall {n / med['import wall']:>10,.0f} rows/s | {med['import cpu']:6.2f} s CPU"
    )
    print(
        f"  ratio import/raw: {med['raw wall'] / med['import wall']:.2f}x wall, "
        f"{med['raw cpu'] / med['import cpu']:.2f}x CPU  (goal >= 0.5x)"
    )
    # Paired figures: each round runs raw and import back to back, so its ratio sees the same load;
    # the fastest round of each is the figure least disturbed by other processes on the machine.
    for kind in ("wall", "cpu"):
        ratios = [r / i for r, i in zip(runs[f"raw {kind}"], runs[f"import {kind}"], strict=True)]
        print(
            f"  per-round ratio ({kind}): median {statistics.median(ratios):.2f}x "
            f"[{', '.join(f'{r:.2f}' for r in ratios)}]; fastest rounds: raw {min(runs[f'raw {kind}']):.2f} s, "
            f"import {min(runs[f'import {kind}']):.2f} s, {min(runs[f'raw {kind}']) / min(runs[f'import {kind}']):.2f}x"
        )
    print(phases(csv_file))
    print(lock_held(csv_file, staged=False))
    print(lock_held(csv_file))
    print(f"db size per million readings: {size_per_million(import_db):.1f} MB (import, with daily roll-ups)")
    print(f"                              {size_per_million(raw_db):.1f} MB (raw, readings only)")

    if args.no_subprocess:
        return
    # The command as an operator runs it, in a fresh process: wall time and that process's peak memory.
    path = fresh_db("bench_import_cli.db")
    # (VmHWM, not ru_maxrss: Linux carries ru_maxrss across exec, so it would report this parent.)
    child = (
        "import sys\n"
        "from lib import cli\n"
        "code = cli.main(sys.argv[1:])\n"
        "peak = [l for l in open('/proc/self/status') if l.startswith('VmHWM')]\n"
        "print('peak RSS', peak[0].split(':')[1].strip() if peak else 'unknown', file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", child, "--db", str(path), "import-readings", str(csv_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    print(
        f"python -m lib.cli import-readings in a new process: exit {done.returncode}, {wall:.2f} s wall, {done.stderr.strip()}"
    )
    print(f"  {done.stdout.strip()}")


if __name__ == "__main__":
    csv.field_size_limit(1 << 20)
    main()
