"""Import benchmark: 1,000,000 readings from CSV through ``import-readings``, beside plain
``sqlite3.executemany`` of the same rows into an identical table, in the same run.

    .venv/bin/python bench/bench_import.py            # 1,000,000 rows, 3 rounds
    .venv/bin/python bench/bench_import.py --rows 200000 --rounds 1

The CSV (100 consumers x 10,000 half hours, canonical columns, IST timestamps without offset, sorted
by consumer and time like a meter-data export) is generated once into ``bench/results/`` (git-ignored)
and reused. Each round imports it into a fresh database file with ``lib.cli.main(["import-readings",
...])`` (the command's whole path: CSV parsing, validation, the write, the daily roll-ups of every
touched day, one transaction), and separately ``executemany``-inserts the already-parsed rows
(stored form: UTC text, floats) into the same schema with the same pragmas in one transaction.
Reported: medians, rows/s, the ratio import/raw (goal >= 0.5), and the database size per million
readings. Finally the CLI is run once as a subprocess for its wall time and peak memory.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import io
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import cli, db, store  # noqa: E402
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
    with db.open_db(path) as conn, db.transaction(conn):
        store.upsert_consumers(
            conn,
            [
                {"consumer_id": f"1012{c:05d}", "name": f"Bench {c}", "registered_mobile": f"+9198765{c:05d}"}
                for c in range(CONSUMERS)
            ],
        )
    return path


def run_import(csv_file: Path) -> tuple[float, Path]:
    path = fresh_db("bench_import_cli.db")
    out, err = io.StringIO(), io.StringIO()
    start = time.perf_counter()
    code = cli.main(["--db", str(path), "import-readings", str(csv_file)], out=out, err=err)
    elapsed = time.perf_counter() - start
    if code != 0:
        raise SystemExit(f"import failed: {err.getvalue()}")
    return elapsed, path


def run_raw(rows: list[tuple[str, str, float, float]]) -> tuple[float, Path]:
    path = fresh_db("bench_import_raw.db")
    conn = db.connect(path)
    start = time.perf_counter()
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany("INSERT INTO readings (consumer_id, ts, kwh, balance_inr) VALUES (?, ?, ?, ?)", rows)
    conn.execute("COMMIT")
    elapsed = time.perf_counter() - start
    conn.close()
    return elapsed, path


def size_per_million(path: Path) -> float:
    conn = db.connect(path)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    readings = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    conn.close()
    return os.path.getsize(path) / readings * 1_000_000 / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    t0 = time.perf_counter()
    csv_file, rows = generate(args.rows)
    print(
        f"data: {len(rows):,} rows, {csv_file.stat().st_size / 1e6:.1f} MB CSV ({time.perf_counter() - t0:.1f} s)"
    )
    imports, raws = [], []
    for round_ in range(1, args.rounds + 1):
        raw_s, raw_db = run_raw(rows)
        import_s, import_db = run_import(csv_file)
        raws.append(raw_s)
        imports.append(import_s)
        print(f"round {round_}: raw executemany {raw_s:.2f} s, import-readings {import_s:.2f} s")
    raw_s, import_s = statistics.median(raws), statistics.median(imports)
    n = len(rows)
    print(f"raw executemany : {raw_s:6.2f} s  {n / raw_s:>10,.0f} rows/s (median of {args.rounds})")
    print(f"import-readings : {import_s:6.2f} s  {n / import_s:>10,.0f} rows/s (median of {args.rounds})")
    print(f"ratio import/raw: {raw_s / import_s:.2f}x  (goal >= 0.5x)")
    print(
        f"db size per million readings: {size_per_million(import_db):.1f} MB (import, with daily roll-ups), "
    )
    print(f"                              {size_per_million(raw_db):.1f} MB (raw, readings only)")

    path = fresh_db("bench_import_cli.db")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "lib.cli", "--db", str(path), "import-readings", str(csv_file)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(
        f"subprocess `python -m lib.cli import-readings`: exit {done.returncode}, {wall:.2f} s wall, peak RSS {peak_mb:.0f} MB"
    )
    print(f"  {done.stdout.strip()}")


if __name__ == "__main__":
    csv.field_size_limit(1 << 20)
    main()
