"""Query benchmark: one connection's year of 30-minute readings into a pandas DataFrame
(``storage.readings.readings_frame``, with its link check), from a database of 1,000 connections x 1 year,
beside a bare indexed SELECT of the same rows, in the same run.

    .venv/bin/python bench/bench_query.py                 # 1,000 x 365 days = 17,520,000 readings
    .venv/bin/python bench/bench_query.py --consumers 100 --rounds 5

The database is generated once with raw ``executemany`` into ``bench/results/`` (git-ignored) and
reused (``--regenerate`` to rebuild). One account follows 10 connections spread over the key space;
each round reads the next of them, so SQLite's own page cache is cold for that connection (the OS
cache is warm, as on a running server). Reported: medians, the ratio frame/bare (goal <= 1.5), the
split of the frame time, and the database size per million readings.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402

from lib import storage  # noqa: E402
from lib.clock import UTC, to_ts  # noqa: E402

RESULTS = ROOT / "bench" / "results"
START = dt.datetime(2025, 11, 25, 18, 30, tzinfo=UTC)  # 2025-11-26 00:00 IST
FOLLOWED = 10


def db_file(consumers: int, days: int) -> Path:
    return RESULTS / f"query_{consumers}x{days}.db"


def consumer_id(index: int) -> str:
    return f"2040{index:06d}"


def generate(path: Path, consumers: int, days: int) -> None:
    """Fill ``path`` with ``consumers`` x ``days`` x 48 readings (raw executemany, in batches)."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    conn = storage.connect(path)
    storage.migrate(conn)
    conn.execute("PRAGMA synchronous=OFF")  # generation only; the measured reads are unaffected
    stamps = [to_ts(START + dt.timedelta(minutes=30 * i)) for i in range(days * 48)]
    rng = random.Random(17)
    started = time.perf_counter()
    with storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn,
            [
                {"consumer_id": consumer_id(c), "name": f"Bench {c}", "registered_mobile": f"+9197{c:08d}"}
                for c in range(consumers)
            ],
        )
        account_id = storage.accounts.create_account(conn, "+910000000001", now="2026-01-01T00:00:00Z")
        for c in followed(consumers):
            storage.accounts.insert_link(
                conn, account_id, consumer_id(c), f"Meter {c}", now="2026-01-01T00:00:00Z"
            )
    for c in range(consumers):
        cid = consumer_id(c)
        balance = 5000.0
        rows = []
        for ts in stamps:
            kwh = round(rng.random() * 0.8, 3)
            balance = round(balance - kwh * 7.42, 2)
            rows.append((cid, ts, kwh, balance))
        with storage.transaction(conn):
            conn.executemany(
                "INSERT INTO readings (consumer_id, ts, kwh, balance_inr) VALUES (?, ?, ?, ?)", rows
            )
        if c % 100 == 99:
            print(
                f"  generated {c + 1} of {consumers} connections ({time.perf_counter() - started:.0f} s)",
                flush=True,
            )
    storage.meta.set_meta(conn, "bench_complete", "1")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


def followed(consumers: int) -> list[int]:
    step = max(consumers // FOLLOWED, 1)
    return [min(step // 2 + i * step, consumers - 1) for i in range(min(FOLLOWED, consumers))]


def bare_select(conn, cid: str, lo: str, hi: str) -> list:
    """The baseline: the same rows as plain tuples (no row factory), straight from the primary key."""
    cursor = conn.cursor()
    cursor.row_factory = None
    return cursor.execute(
        "SELECT consumer_id, ts, kwh, balance_inr FROM readings "
        "WHERE consumer_id = ? AND ts >= ? AND ts < ? ORDER BY ts",
        (cid, lo, hi),
    ).fetchall()


def old_frame(conn, account_id: int, cid: str, lo: str, hi: str) -> pd.DataFrame:
    """readings_frame as it was before commit 'storage.readings.readings_frame: numeric columns' (for the record)."""
    frame = pd.read_sql_query(
        f"WITH {storage.accounts.ALLOWED} SELECT r.consumer_id, r.ts, r.kwh, r.balance_inr FROM readings r "
        "WHERE r.consumer_id = :consumer_id AND r.consumer_id IN (SELECT consumer_id FROM allowed) "
        "AND r.ts >= :lo AND r.ts < :hi ORDER BY r.ts",
        conn,
        params={"account_id": account_id, "consumer_id": cid, "lo": lo, "hi": hi},
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--consumers", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=41)
    parser.add_argument("--regenerate", action="store_true")
    args = parser.parse_args()

    path = db_file(args.consumers, args.days)
    ready = False
    if path.exists() and not args.regenerate:
        with storage.open_db(path) as conn:
            ready = storage.meta.get_meta(conn, "bench_complete") == "1"
    if not ready:
        print(f"generating {path.name}: {args.consumers} connections x {args.days} days x 48 readings")
        started = time.perf_counter()
        generate(path, args.consumers, args.days)
        print(f"  done in {time.perf_counter() - started:.0f} s")

    lo, hi = to_ts(START), to_ts(START + dt.timedelta(days=args.days))
    with storage.open_db(path) as conn:
        total = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        account_id = storage.accounts.account_by_mobile(conn, "+910000000001")["account_id"]
        targets = [consumer_id(c) for c in followed(args.consumers)]
        for cid in targets[:2]:  # warm up the code paths
            storage.readings.readings_frame(conn, account_id, cid, lo, hi)
            bare_select(conn, cid, lo, hi)
        times: dict[str, list[float]] = {"frame": [], "bare": [], "old": []}
        runs = {
            "frame": lambda cid: storage.readings.readings_frame(conn, account_id, cid, lo, hi),
            "bare": lambda cid: bare_select(conn, cid, lo, hi),
        }
        for i in range(args.rounds):
            cid = targets[i % len(targets)]
            sizes = set()
            for name in ("frame", "bare") if i % 2 == 0 else ("bare", "frame"):  # alternate who goes first
                start = time.perf_counter()
                result = runs[name](cid)
                times[name].append(time.perf_counter() - start)
                sizes.add(len(result))
            if len(sizes) != 1:
                raise SystemExit(f"row counts differ: {sizes}")
            n_rows = sizes.pop()
        for i in range(args.rounds):  # the implementation before this benchmark, for the record
            start = time.perf_counter()
            old_frame(conn, account_id, targets[i % len(targets)], lo, hi)
            times["old"].append(time.perf_counter() - start)
    size = os.path.getsize(path)
    frame_s, bare_s, old_s = (statistics.median(times[k]) for k in ("frame", "bare", "old"))
    print(
        f"database: {total:,} readings, {size / 1e9:.2f} GB, {size / total * 1e6 / 1e6:.1f} MB per million readings"
    )
    print(f"rows per query: {n_rows:,} (one connection, {args.days} days)")
    print(f"bare indexed SELECT, fetchall of tuples : {bare_s * 1000:7.1f} ms (median of {args.rounds})")
    print(f"storage.readings.readings_frame                    : {frame_s * 1000:7.1f} ms")
    print(f"ratio frame/bare                        : {frame_s / bare_s:.2f}x  (goal <= 1.5x)")
    print(f"(before: read_sql_query + to_datetime   : {old_s * 1000:7.1f} ms, {old_s / bare_s:.2f}x)")


if __name__ == "__main__":
    main()
