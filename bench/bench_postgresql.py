"""PostgreSQL benchmarks (issue 12), each against a baseline measured in the same run, on a throwaway cluster.

    .venv/bin/python bench/bench_postgresql.py                      # everything, full size (about 35 minutes on 2 shared vCPUs)
    .venv/bin/python bench/bench_postgresql.py --only import --profile
    .venv/bin/python bench/bench_postgresql.py --rows 20000 --connections 20 --days 30 \\
        --rounds 1 --query-rounds 3 --parallel-rows 5000 --signins 10        # smoke test, a few seconds

1. **import**: ``import-readings`` of ``--rows`` readings (``bench/bench_import.py``'s CSV: 100 consumers,
   half hours from 2026-01-01 IST) through ``lib.cli.main`` in this process into a fresh PostgreSQL database,
   beside a bare ``COPY`` of the same already-parsed rows (stored form) into the same ``readings`` table (same
   columns, key, monthly partitions and foreign key: a second copy of the same template database), in one
   transaction. Rounds interleaved (the order flips every round), medians; ratio COPY-time/import-time (goal
   >= 0.5x). ``--profile``: one more import under cProfile, split into parse / insert / roll-up.
2. **query**: one connection's year (``--days`` x 48 readings) from ``--connections`` connections into a
   DataFrame through ``storage.readings.readings_frame`` (an account linked to 10 of them) vs a bare indexed
   SELECT with psycopg (``fetchall``): goal <= 1.5x; the same two on SQLite (``bench/bench_query.py``'s
   database: same consumers, stamps and values, reused when present). PostgreSQL is loaded with COPY.
3. **parallel**: four ``python -m lib.cli import-readings`` processes of four different files (``--parallel-rows``
   each, different consumers) into one database at once, vs one process of one such file: aggregate rows/s.
4. **sign-in**: ``auth.start_sign_in`` + ``auth.verify_sign_in`` (outbox gateway, no response floor, a new
   mobile each time, so each creates its account) by 4 threads with a connection each, and by 1, on
   PostgreSQL and SQLite: sign-ins per second.
5. **size**: bytes per million readings: ``pg_total_relation_size`` of every partition of ``readings``
   (heap, TOAST, indexes) and the SQLite file after ``wal_checkpoint(TRUNCATE)``.

The cluster (``tests/postgres.py``) is durable by default (``fsync``, ``synchronous_commit`` and
``full_page_writes`` on, PostgreSQL's defaults otherwise), as SQLite runs with ``synchronous=FULL``;
``--no-fsync`` uses the test suite's settings. Client CPU is this process's (``time.process_time``), server
CPU the postmaster's and its children's (``/proc``). Every figure is printed with the load average.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import io
import os
import pstats
import random
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_import  # noqa: E402
import bench_query  # noqa: E402
import psycopg  # noqa: E402

from lib import auth, cli, otp, storage  # noqa: E402
from lib.clock import to_ts  # noqa: E402
from lib.config import load_settings  # noqa: E402
from lib.storage import engine  # noqa: E402
from tests import postgres  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TICK = os.sysconf("SC_CLK_TCK")
COLUMNS = "consumer_id, ts, kwh, balance_inr"


def load() -> str:
    return "load {:.1f} {:.1f} {:.1f}".format(*os.getloadavg())


def say(text: str) -> None:
    print(f"{text}  [{load()}]", flush=True)


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- the cluster -------------------------------------------------------------------------------------


class Server:
    """The throwaway cluster, its server CPU counter and a few admin helpers."""

    def __init__(self, durable: bool) -> None:
        started = time.perf_counter()
        self.cluster = postgres.start(databases=(), durable=durable)
        self.durable = durable
        with psycopg.connect(self.cluster.admin_url, autocommit=True) as conn:
            version = conn.execute("SHOW server_version").fetchone()[0]
            settings = dict(
                conn.execute(
                    "SELECT name, setting FROM pg_settings WHERE name IN "
                    "('fsync', 'synchronous_commit', 'full_page_writes', 'shared_buffers', 'max_wal_size')"
                ).fetchall()
            )
        say(
            f"PostgreSQL {version} throwaway cluster in {time.perf_counter() - started:.1f} s: "
            + ", ".join(f"{k}={v}" for k, v in sorted(settings.items()))
        )

    def postmaster(self) -> int:
        return int((self.cluster.folder / "data" / "postmaster.pid").read_text().split()[0])

    def cpu(self) -> float:
        """Seconds of CPU the server has used: the postmaster with its reaped children, plus live children."""
        pid = self.postmaster()
        total = 0
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            # fields[0] is field 3 (state): ppid 4, utime 14, stime 15, cutime 16, cstime 17
            if int(entry) == pid:
                total += sum(int(f) for f in fields[11:15])
            elif int(fields[1]) == pid:
                total += int(fields[11]) + int(fields[12])
        return total / TICK

    def admin(self, sql: str) -> None:
        with psycopg.connect(self.cluster.admin_url, autocommit=True) as conn:
            conn.execute(sql)

    def create(self, name: str, template: str | None = None) -> str:
        self.admin(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else ""))
        return self.cluster.url(name)

    def drop(self, name: str) -> None:
        engine.dispose(self.cluster.url(name))
        self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def stop(self) -> None:
        engine.dispose_all()
        self.cluster.stop()


def readings_size(url: str) -> tuple[int, int]:
    """(bytes of readings with every partition, TOAST and index; readings) of one PostgreSQL database."""
    with psycopg.connect(url, autocommit=True) as conn:
        size = conn.execute(
            "SELECT sum(pg_total_relation_size(relid)) FROM pg_partition_tree('readings')"
        ).fetchone()[0]
        count = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
    return int(size or 0), int(count)


def per_million(size: int, count: int) -> str:
    return f"{size / 1e6:,.1f} MB for {count:,} readings = {size / max(count, 1):.1f} B/reading, " + (
        f"{size / max(count, 1):.1f} MB per million"
    )


def month_bounds(first: dt.datetime, last: dt.datetime) -> tuple[str, str]:
    """ensure_months' arguments for UTC stamps first..last (a day of margin each side: IST days)."""
    return to_ts(first - dt.timedelta(days=1)), to_ts(last + dt.timedelta(days=1))


# --- 1. import vs COPY ---------------------------------------------------------------------------------


def import_template(server: Server, prefixes: list[str], per_consumer: int) -> str:
    """A migrated database with the bench's consumers (100 per prefix) and the months of their readings."""
    name = f"imp_template_{'_'.join(prefixes)}"
    server.drop(name)
    url = server.create(name)
    last = bench_import.START + dt.timedelta(minutes=30 * per_consumer)
    with storage.open_db(url) as conn:
        conn.readings.ensure_months(*month_bounds(bench_import.START, last))
        with storage.transaction(conn):
            storage.consumers.upsert_consumers(
                conn,
                [
                    {
                        "consumer_id": f"{prefix}{c:05d}",
                        "name": f"Bench {prefix} {c}",
                        "registered_mobile": f"+919876{k}{c:05d}"[:13],
                    }
                    for k, prefix in enumerate(prefixes)
                    for c in range(bench_import.CONSUMERS)
                ],
            )
    engine.dispose(url)
    return name


def run_import(url: str, csv_file: Path, server: Server) -> tuple[float, float, float]:
    """Wall, client CPU and server CPU seconds of ``import-readings`` (lib.cli.main in this process)."""
    out, err = io.StringIO(), io.StringIO()
    server_cpu = server.cpu()
    wall, cpu = time.perf_counter(), time.process_time()
    code = cli.main(["--db", url, "import-readings", str(csv_file)], out=out, err=err)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    server_cpu = server.cpu() - server_cpu
    if code != 0:
        raise SystemExit(f"import failed ({code}): {err.getvalue()[-2000:]}")
    engine.dispose(url)
    return wall, cpu, server_cpu


def run_copy(url: str, rows: list[tuple[Any, ...]], server: Server) -> tuple[float, float, float]:
    """Wall, client CPU and server CPU seconds of one bare COPY of the parsed rows, in one transaction."""
    with psycopg.connect(url) as conn:  # not autocommit: one transaction, committed on leaving the block
        server_cpu = server.cpu()
        wall, cpu = time.perf_counter(), time.process_time()
        with conn.cursor() as cursor, cursor.copy(f"COPY readings ({COLUMNS}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        conn.commit()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        server_cpu = server.cpu() - server_cpu
    return wall, cpu, server_cpu


def bench_import_vs_copy(server: Server, args: argparse.Namespace) -> str | None:
    csv_file, rows = bench_import.generate(args.rows)
    say(f"import: {len(rows):,} readings, {csv_file.stat().st_size / 1e6:.1f} MB CSV ({csv_file.name})")
    template = import_template(server, ["1012"], args.rows // bench_import.CONSUMERS)
    kinds = ("copy", "import", "nofk")
    runs: dict[str, list[float]] = {f"{w} {k}": [] for w in kinds for k in ("wall", "cpu", "srv")}
    kept: str | None = None
    for round_ in range(1, args.rounds + 1):
        names = {"copy": f"imp_copy_{round_}", "import": f"imp_cli_{round_}", "nofk": f"imp_nofk_{round_}"}
        urls = {kind: server.create(name, template) for kind, name in names.items()}
        with psycopg.connect(urls["nofk"], autocommit=True) as conn:  # the same table without its foreign key
            conn.execute("ALTER TABLE readings DROP CONSTRAINT IF EXISTS readings_consumer_id_fkey")
        order = kinds[round_ % 3 :] + kinds[: round_ % 3]  # who goes first rotates
        for kind in order:
            if kind in ("copy", "nofk"):
                figures = run_copy(urls[kind], rows, server)
            else:
                figures = run_import(urls["import"], csv_file, server)
            for key, value in zip(("wall", "cpu", "srv"), figures, strict=True):
                runs[f"{kind} {key}"].append(value)
        say(
            f"round {round_} ({' then '.join(order)}): COPY {runs['copy wall'][-1]:.2f} s wall "
            f"({runs['copy cpu'][-1]:.2f} s client + {runs['copy srv'][-1]:.2f} s server CPU), import-readings "
            f"{runs['import wall'][-1]:.2f} s ({runs['import cpu'][-1]:.2f} s client + "
            f"{runs['import srv'][-1]:.2f} s server CPU); ratio {runs['copy wall'][-1] / runs['import wall'][-1]:.2f}x; "
            f"COPY without the foreign key {runs['nofk wall'][-1]:.2f} s ({runs['nofk cpu'][-1]:.2f} s client + "
            f"{runs['nofk srv'][-1]:.2f} s server CPU)"
        )
        server.drop(names["copy"])
        server.drop(names["nofk"])
        if kept:
            server.drop(kept)
        kept = names["import"]
    n = len(rows)
    med = {key: median(values) for key, values in runs.items()}
    ratios = [c / i for c, i in zip(runs["copy wall"], runs["import wall"], strict=True)]
    cpu_ratio = (med["copy cpu"] + med["copy srv"]) / (med["import cpu"] + med["import srv"])
    say(
        f"import medians of {args.rounds}, {n:,} rows: COPY {med['copy wall']:.2f} s wall = {n / med['copy wall']:,.0f} "
        f"rows/s; import-readings {med['import wall']:.2f} s = {n / med['import wall']:,.0f} rows/s; "
        f"RATIO COPY/import {med['copy wall'] / med['import wall']:.2f}x wall (per round "
        f"{', '.join(f'{r:.2f}' for r in ratios)}), {cpu_ratio:.2f}x client+server CPU (goal >= 0.5x); "
        f"COPY without the foreign key readings -> consumers {med['nofk wall']:.2f} s wall, "
        f"{med['nofk srv']:.2f} s server CPU (with it {med['copy srv']:.2f} s): with/without "
        f"{med['copy wall'] / med['nofk wall']:.2f}x wall"
    )
    if args.profile:
        url = server.create("imp_profile", template)
        say(profile_import(url, csv_file))
        server.drop("imp_profile")
    if kept:
        size, count = readings_size(server.cluster.url(kept))
        say(f"size, PostgreSQL, after import-readings: {per_million(size, count)}")
        server.drop(kept)
    server.drop(template)
    return None


def profile_import(url: str, csv_file: Path) -> str:
    """One import under cProfile, with the two storage write functions timed (wall): the split."""
    spent = {"insert_readings": 0.0, "refresh_daily": 0.0}
    originals = {name: getattr(storage.readings, name) for name in spent}

    def timed(name: str) -> Callable[..., Any]:
        def call(*a: Any, **k: Any) -> Any:
            start = time.perf_counter()
            try:
                return originals[name](*a, **k)
            finally:
                spent[name] += time.perf_counter() - start

        return call

    for name in spent:
        setattr(storage.readings, name, timed(name))
    profiler = cProfile.Profile()
    try:
        start = time.perf_counter()
        profiler.enable()
        code = cli.main(["--db", url, "import-readings", str(csv_file)], out=io.StringIO(), err=io.StringIO())
        profiler.disable()
        wall = time.perf_counter() - start
    finally:
        for name, original in originals.items():
            setattr(storage.readings, name, original)
    engine.dispose(url)
    if code != 0:
        raise SystemExit("profiled import failed")
    RESULTS.mkdir(parents=True, exist_ok=True)
    report = io.StringIO()
    stats = pstats.Stats(profiler, stream=report).sort_stats("cumulative")
    stats.print_stats(40)
    stats.sort_stats("tottime").print_stats(25)
    (RESULTS / "pg_import_profile.txt").write_text(report.getvalue())
    rest = wall - sum(spent.values())
    return (
        f"import split under cProfile (wall): {wall:.2f} s = parse/validate/commit {rest:.2f} s + "
        f"insert_readings (COPY) {spent['insert_readings']:.2f} s + "
        f"refresh_daily {spent['refresh_daily']:.2f} s; profile in bench/results/pg_import_profile.txt"
    )


# --- 2. one connection's year ---------------------------------------------------------------------------


def query_rows(consumers: int, days: int):
    """bench_query's rows, consumer by consumer (its generator's random sequence): (cid, [(ts, kwh, balance)])."""
    stamps = [to_ts(bench_query.START + dt.timedelta(minutes=30 * i)) for i in range(days * 48)]
    rng = random.Random(17)
    for c in range(consumers):
        balance = 5000.0
        rows = []
        for ts in stamps:
            kwh = round(rng.random() * 0.8, 3)
            balance = round(balance - kwh * 7.42, 2)
            rows.append((ts, kwh, balance))
        yield bench_query.consumer_id(c), rows


def setup_accounts(conn: storage.Database, consumers: int) -> None:
    with storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn,
            [
                {
                    "consumer_id": bench_query.consumer_id(c),
                    "name": f"Bench {c}",
                    "registered_mobile": f"+9197{c:08d}",
                }
                for c in range(consumers)
            ],
        )
        account_id = storage.accounts.create_account(conn, "+910000000001", now="2026-01-01T00:00:00Z")
        for c in bench_query.followed(consumers):
            storage.accounts.insert_link(
                conn, account_id, bench_query.consumer_id(c), f"Meter {c}", now="2026-01-01T00:00:00Z"
            )


def build_query_databases(server: Server, args: argparse.Namespace) -> tuple[str, Path]:
    """The PostgreSQL database (COPY, timed) and the SQLite one (bench_query's file, reused when complete)."""
    name = f"query_{args.connections}x{args.days}"
    server.drop(name)
    url = server.create(name)
    first = bench_query.START
    last = first + dt.timedelta(days=args.days)
    with storage.open_db(url) as conn:
        made = conn.readings.ensure_months(*month_bounds(first, last))
        setup_accounts(conn, args.connections)
    engine.dispose(url)
    path = bench_query.db_file(args.connections, args.days)
    sqlite_ready = False
    if path.exists():
        with storage.open_db(path) as conn:
            sqlite_ready = storage.meta.get_meta(conn, "bench_complete") == "1"
    sqlite = None
    if not sqlite_ready:
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        RESULTS.mkdir(parents=True, exist_ok=True)
        sqlite = storage.connect(path)
        storage.migrate(sqlite)
        sqlite.execute("PRAGMA synchronous=OFF")  # generation only, as bench_query does
        setup_accounts(sqlite, args.connections)
    spent = {"generate": 0.0, "copy": 0.0, "sqlite": 0.0}
    batch = 50
    pending: list[str] = []
    with psycopg.connect(url, autocommit=True) as pg:

        def flush() -> None:
            start = time.perf_counter()
            with (
                pg.transaction(),
                pg.cursor() as cursor,
                cursor.copy(f"COPY readings ({COLUMNS}) FROM STDIN") as copy,
            ):
                for block in pending:
                    copy.write(block)
            spent["copy"] += time.perf_counter() - start
            pending.clear()

        started = time.perf_counter()
        clock = time.perf_counter()
        for index, (cid, rows) in enumerate(query_rows(args.connections, args.days)):
            pending.append("".join(f"{cid}\t{ts}\t{kwh!r}\t{balance!r}\n" for ts, kwh, balance in rows))
            spent["generate"] += time.perf_counter() - clock
            if sqlite is not None:
                clock = time.perf_counter()
                with storage.transaction(sqlite):
                    sqlite.raw.executemany(
                        f"INSERT INTO readings ({COLUMNS}) VALUES (?, ?, ?, ?)", [(cid, *r) for r in rows]
                    )
                spent["sqlite"] += time.perf_counter() - clock
            if len(pending) == batch:
                flush()
            if index % 200 == 199:
                say(
                    f"  loaded {index + 1} of {args.connections} connections ({time.perf_counter() - started:.0f} s)"
                )
            clock = time.perf_counter()
        if pending:
            flush()
        clock = time.perf_counter()
        pg.execute("VACUUM (ANALYZE) readings")
        vacuum = time.perf_counter() - clock
    total = args.connections * args.days * 48
    say(
        f"query database: {total:,} readings, {len(made)} monthly partitions made; PostgreSQL COPY load {spent['copy']:.1f} s "
        f"({total / max(spent['copy'], 1e-9):,.0f} rows/s, {batch} connections per COPY and transaction) + VACUUM ANALYZE "
        f"{vacuum:.1f} s; generating the rows in Python {spent['generate']:.1f} s"
        + (
            f"; SQLite executemany load {spent['sqlite']:.1f} s (synchronous=OFF)"
            if sqlite is not None
            else f"; SQLite: {path.name} reused"
        )
    )
    if sqlite is not None:
        storage.meta.set_meta(sqlite, "bench_complete", "1")
        sqlite.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        sqlite.close()
    return url, path


def bench_query_year(server: Server, args: argparse.Namespace) -> None:
    url, path = build_query_databases(server, args)
    lo, hi = to_ts(bench_query.START), to_ts(bench_query.START + dt.timedelta(days=args.days))
    bare_sql = f"SELECT {COLUMNS} FROM readings WHERE consumer_id = %s AND ts >= %s AND ts < %s ORDER BY ts"
    pg = storage.connect(url)
    lite = storage.connect(path)
    bare_pg = psycopg.connect(url, autocommit=True)
    # The cheapest read of the same rows: psycopg's binary cursor, the timestamptz as float seconds (what
    # readings_frame does before building columns); "pg bare" fetches the columns as stored (ts a datetime).
    epoch_sql = (
        "SELECT date_part('epoch', ts), kwh, balance_inr FROM readings "
        "WHERE consumer_id = %s AND ts >= %s::timestamptz AND ts < %s::timestamptz ORDER BY ts"
    )
    bare_epoch = bare_pg.cursor(binary=True)
    account_pg = storage.accounts.account_by_mobile(pg, "+910000000001")["account_id"]
    account_lite = storage.accounts.account_by_mobile(lite, "+910000000001")["account_id"]
    targets = [bench_query.consumer_id(c) for c in bench_query.followed(args.connections)]
    runs: dict[str, Callable[[str], Any]] = {
        "pg frame": lambda cid: storage.readings.readings_frame(pg, account_pg, cid, lo, hi),
        "pg bare": lambda cid: bare_pg.execute(bare_sql, (cid, lo, hi)).fetchall(),
        "pg bare epoch": lambda cid: bare_epoch.execute(epoch_sql, (cid, lo, hi)).fetchall(),
        "sqlite frame": lambda cid: storage.readings.readings_frame(lite, account_lite, cid, lo, hi),
        "sqlite bare": lambda cid: bench_query.bare_select(lite.raw, cid, lo, hi),
    }
    for cid in targets[:2]:  # warm the code paths (and psycopg's prepared statements)
        for _ in range(6):
            for run in runs.values():
                run(cid)
    times: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    n_rows = 0
    for i in range(args.query_rounds):
        cid = targets[i % len(targets)]
        sizes = set()
        order = names[i % len(names) :] + names[: i % len(names)]  # who goes first rotates
        for name in order:
            start = time.perf_counter()
            result = runs[name](cid)
            times[name].append(time.perf_counter() - start)
            sizes.add(len(result))
        if len(sizes) != 1:
            raise SystemExit(f"row counts differ: {sizes}")
        n_rows = sizes.pop()
    med = {name: median(values) * 1000 for name, values in times.items()}
    pg_ratios = [f / b for f, b in zip(times["pg frame"], times["pg bare"], strict=True)]
    epoch_ratios = [f / b for f, b in zip(times["pg frame"], times["pg bare epoch"], strict=True)]
    say(
        f"query, {n_rows:,} rows per read, medians of {args.query_rounds}: PostgreSQL bare SELECT+fetchall "
        f"{med['pg bare']:.1f} ms, readings_frame {med['pg frame']:.1f} ms, RATIO {med['pg frame'] / med['pg bare']:.2f}x "
        f"(per-round median {median(pg_ratios):.2f}x; goal <= 1.5x); vs the binary epoch SELECT "
        f"{med['pg bare epoch']:.1f} ms: {med['pg frame'] / med['pg bare epoch']:.2f}x (per-round median "
        f"{median(epoch_ratios):.2f}x) | SQLite bare {med['sqlite bare']:.1f} ms, "
        f"readings_frame {med['sqlite frame']:.1f} ms, {med['sqlite frame'] / med['sqlite bare']:.2f}x | "
        f"readings_frame PostgreSQL/SQLite {med['pg frame'] / med['sqlite frame']:.2f}x"
    )
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for i in range(10):
            storage.readings.readings_frame(pg, account_pg, targets[i % len(targets)], lo, hi)
        profiler.disable()
        report = io.StringIO()
        pstats.Stats(profiler, stream=report).sort_stats("tottime").print_stats(20)
        (RESULTS / "pg_query_profile.txt").write_text(report.getvalue())
        with psycopg.connect(url, autocommit=True) as conn:
            plan = conn.execute(
                "EXPLAIN (ANALYZE, BUFFERS) SELECT date_part('epoch', ts), kwh "
                "FROM readings WHERE consumer_id = %s AND ts >= %s AND ts < %s ORDER BY ts",
                (targets[0], lo, hi),
            ).fetchall()
        (RESULTS / "pg_query_plan.txt").write_text("\n".join(row[0] for row in plan))
    bare_epoch.close()
    bare_pg.close()
    pg.close()
    lite.close()
    engine.dispose(url)
    size, count = readings_size(url)
    say(f"size, PostgreSQL, {args.connections} x {args.days} days loaded by COPY: {per_million(size, count)}")
    with storage.open_db(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = conn.execute("SELECT count(*) FROM readings").scalar()
    say(
        f"size, SQLite file after wal_checkpoint(TRUNCATE), same readings: {per_million(path.stat().st_size, count)}"
    )
    if not args.keep:
        server.drop(f"query_{args.connections}x{args.days}")


# --- 3. four imports at once ---------------------------------------------------------------------------

PARALLEL_PREFIXES = ["2012", "3012", "4012", "5012"]


def parallel_files(rows: int) -> list[Path]:
    """Four CSV files of ``rows`` readings each, bench_import's file with the consumer IDs' prefix changed."""
    source, _ = bench_import.generate(rows)
    files = []
    for prefix in PARALLEL_PREFIXES:
        path = RESULTS / f"readings_{rows}_{prefix}.csv"
        if not path.exists():
            with (
                source.open(encoding="utf-8") as src,
                path.with_suffix(".tmp").open("w", encoding="utf-8") as dst,
            ):
                dst.write(src.readline())
                for line in src:
                    dst.write(prefix + line[4:])
            path.with_suffix(".tmp").replace(path)
        files.append(path)
    return files


def import_processes(url: str, files: list[Path], waits: dict[str, int] | None = None) -> float:
    """Wall seconds until every ``python -m lib.cli import-readings`` process (one per file) has finished;
    ``waits`` counts, every 0.25 s, the active backends and those waiting for a lock (do the imports queue?)."""
    done = threading.Event()

    def sample() -> None:
        with psycopg.connect(url, autocommit=True) as conn:
            while not done.wait(0.25):
                active, locked = conn.execute(
                    "SELECT count(*) FILTER (WHERE state = 'active'), count(*) FILTER (WHERE wait_event_type = 'Lock') "
                    "FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()"
                ).fetchone()
                waits["active"] = waits.get("active", 0) + active
                waits["lock"] = waits.get("lock", 0) + locked

    sampler = threading.Thread(target=sample) if waits is not None else None
    if sampler:
        sampler.start()
    start = time.perf_counter()
    processes = [
        subprocess.Popen(
            [sys.executable, "-m", "lib.cli", "--db", url, "import-readings", str(path)],
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        for path in files
    ]
    for process in processes:
        _, err = process.communicate()
        if process.returncode != 0:
            raise SystemExit(f"import process failed ({process.returncode}): {err[-2000:]}")
    wall = time.perf_counter() - start
    done.set()
    if sampler:
        sampler.join()
    return wall


def bench_parallel(server: Server, args: argparse.Namespace) -> None:
    files = parallel_files(args.parallel_rows)
    template = import_template(server, PARALLEL_PREFIXES, args.parallel_rows // bench_import.CONSUMERS)
    one: list[float] = []
    four: list[float] = []
    waits: dict[str, int] = {}
    n = args.parallel_rows
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "lib.cli", "--help"], cwd=ROOT, capture_output=True, check=True)
    say(
        f"parallel: {n:,} readings per file; python -m lib.cli --help (start-up alone): {time.perf_counter() - started:.2f} s"
    )
    for round_ in range(1, args.parallel_rounds + 1):
        order = ("one", "four") if round_ % 2 else ("four", "one")
        for kind in order:
            name = f"par_{kind}_{round_}"
            url = server.create(name, template)
            if kind == "one":
                one.append(import_processes(url, files[:1]))
            else:
                four.append(import_processes(url, files, waits))
            server.drop(name)
        say(
            f"parallel round {round_}: one process {n:,} rows in {one[-1]:.2f} s = {n / one[-1]:,.0f} rows/s; "
            f"four processes {4 * n:,} rows in {four[-1]:.2f} s = {4 * n / four[-1]:,.0f} rows/s"
        )
    rate_one, rate_four = n / median(one), 4 * n / median(four)
    say(
        f"parallel medians of {args.parallel_rounds}: one process {rate_one:,.0f} rows/s, four processes "
        f"{rate_four:,.0f} rows/s aggregate = {rate_four / rate_one:.2f}x one process ({os.cpu_count()} CPUs); "
        f"backends waiting for a lock in {waits.get('lock', 0)} of {waits.get('active', 0)} active samples"
    )
    server.drop(template)


# --- 4. sign-ins ------------------------------------------------------------------------------------------

OTP_KEY = "6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"
OUTBOX_CODE = "SELECT text FROM sms_outbox WHERE destination = :destination ORDER BY sms_id DESC LIMIT 1"


def sign_ins(target: str, clients: int, per_client: int, series: int) -> float:
    """Sign-ins per second: ``clients`` threads, each with its own connection, each signing in
    ``per_client`` new mobiles (send, read the SMS from the outbox as the phone would, verify)."""
    settings = load_settings(
        env={"METERMITRA_OTP_KEY": OTP_KEY, "METERMITRA_SMS_DAILY_BUDGET": "100000000"}, secrets_path=None
    )
    pacer = otp.Pacer(0)  # no 1.5 s response floor: the work only
    errors: list[str] = []
    barrier = threading.Barrier(clients + 1)

    def client(index: int) -> None:
        conn = storage.connect(target)
        try:
            barrier.wait()
            for i in range(per_client):
                mobile = f"+9198{series:02d}{index}{i:05d}"
                session = f"bench-{series}-{index}-{i}"
                sent = auth.start_sign_in(conn, settings, mobile, lang="en", pacer=pacer, session=session)
                if sent.status != "sent":
                    errors.append(f"send {mobile}: {sent.status}")
                    return
                text = conn.execute(OUTBOX_CODE, {"destination": sent.subject}).scalar()
                code = "".join(ch for ch in text if ch.isdigit())[:6]
                done = auth.verify_sign_in(
                    conn, settings, sent.challenge_id, sent.subject, code, lang="en", session=session
                )
                if done.status != "ok":
                    errors.append(f"verify {mobile}: {done.status}")
                    return
        except Exception as error:  # noqa: BLE001 - reported below
            errors.append(repr(error))
        finally:
            conn.close()

    threads = [threading.Thread(target=client, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    barrier.wait()
    start = time.perf_counter()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - start
    if errors:
        raise SystemExit(f"sign-in failed on {target[:40]}: {errors[:3]}")
    return clients * per_client / wall


def bench_signins(server: Server, args: argparse.Namespace) -> None:
    url = server.create("signin")
    path = RESULTS / "bench_signin.db"
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    for target in (url, str(path)):
        with storage.open_db(target):
            pass
    rates: dict[str, list[float]] = {f"{e} {c}": [] for e in ("pg", "sqlite") for c in (1, 4)}
    series = 0
    for round_ in range(1, args.signin_rounds + 1):
        engines = [("pg", url), ("sqlite", str(path))]
        if round_ % 2 == 0:
            engines.reverse()
        for name, target in engines:
            for clients in (4, 1):
                series += 1
                per_client = args.signins if clients == 4 else args.signins * 2
                rates[f"{name} {clients}"].append(sign_ins(target, clients, per_client, series))
        say(
            f"sign-in round {round_}: "
            + ", ".join(f"{key} client(s) {values[-1]:.1f}/s" for key, values in rates.items())
        )
    med = {key: median(values) for key, values in rates.items()}
    say(
        f"sign-ins per second (send + verify, medians of {args.signin_rounds}): PostgreSQL 4 clients "
        f"{med['pg 4']:.1f}/s (1 client {med['pg 1']:.1f}/s), SQLite 4 clients {med['sqlite 4']:.1f}/s "
        f"(1 client {med['sqlite 1']:.1f}/s); PostgreSQL/SQLite at 4 clients {med['pg 4'] / med['sqlite 4']:.2f}x"
    )
    server.drop("signin")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="import,query,parallel,signin", help="comma-separated sections")
    parser.add_argument("--rows", type=int, default=1_000_000, help="readings of the import benchmark")
    parser.add_argument("--rounds", type=int, default=5, help="import rounds")
    parser.add_argument(
        "--profile", action="store_true", help="one more import (and 10 reads) under cProfile"
    )
    parser.add_argument("--connections", type=int, default=1000, help="connections of the query database")
    parser.add_argument("--days", type=int, default=365, help="days of the query database")
    parser.add_argument("--query-rounds", type=int, default=41)
    parser.add_argument(
        "--parallel-rows", type=int, default=500_000, help="readings per file of the parallel import"
    )
    parser.add_argument("--parallel-rounds", type=int, default=2)
    parser.add_argument(
        "--signins", type=int, default=100, help="sign-ins per client (4 clients; 1 client twice as many)"
    )
    parser.add_argument("--signin-rounds", type=int, default=3)
    parser.add_argument(
        "--no-fsync", action="store_true", help="the test suite's cluster settings (fsync off)"
    )
    parser.add_argument(
        "--keep", action="store_true", help="keep the query database (until the cluster stops)"
    )
    args = parser.parse_args()
    sections = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = sections - {"import", "query", "parallel", "signin"}
    if unknown:
        parser.error(f"unknown sections: {', '.join(sorted(unknown))}")
    reason = postgres.missing_reason()
    if reason:
        raise SystemExit(f"no PostgreSQL: {reason}")
    say(f"bench_postgresql: {' '.join(sys.argv[1:]) or '(defaults)'}; {os.cpu_count()} CPUs")
    server = Server(durable=not args.no_fsync)
    try:
        if "import" in sections:
            bench_import_vs_copy(server, args)
        if "query" in sections:
            bench_query_year(server, args)
        if "parallel" in sections:
            bench_parallel(server, args)
        if "signin" in sections:
            bench_signins(server, args)
    finally:
        server.stop()


if __name__ == "__main__":
    main()
