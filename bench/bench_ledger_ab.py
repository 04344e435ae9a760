"""One connection's ledger with ``lib/ledger.py`` at a past revision against this checkout's, in ONE process
(issue 15, h59): what a new household's first page pays per connection (``loaders.connection_ledger``:
``ledger.load_ledger`` of one connection given its account's inputs read once).

    .venv/bin/python bench/bench_ledger_ab.py --rev 22975ce                     # 1 / 3 / 12 connections, 9 rounds
    .venv/bin/python bench/bench_ledger_ab.py --rev 22975ce --connections 3 --rounds 5 --db PATH

The baseline is ``git show REV:lib/ledger.py`` loaded as ``lib.ledger_old`` (bench/revision.py ``module_at``);
every other module is this checkout's, so it is valid for a change confined to ``lib/ledger.py``. Data: the
browser benchmark's database (1,000 connections × 365 days of half-hourly readings; accounts of 3), opened
read-only (``file:…?mode=ro``: never written; ``--db``, default ``bench/results/browser_1000x365.db``). "N
connections": the first N linked connections in account order, each read and built as the dashboard does.
Two things are timed for each, the variants alternating every round (ABBA): ``build_ledger`` of the
connection's pre-read frames (daily rows, details, arrears, adjustments, anchors) and ``load_ledger`` (the
daily read from SQLite included, the account's inputs given). Before timing, every connection's ledger by the
two modules is checked equal (``assert_frame_equal``, exact). ``time.process_time`` (CPU) per connection;
printed: medians of the rounds, new/old, the median of the paired per-round differences and the load average.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import statistics
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402
from revision import module_at  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from lib import ledger as present  # noqa: E402
from lib import tariff  # noqa: E402
from lib.storage.engine import Database  # noqa: E402

DB = ROOT / "bench" / "results" / "browser_1000x365.db"
TODAY = dt.date(2026, 11, 25)  # the bench database's clock


def old_module(rev: str) -> ModuleType:
    """``lib/ledger.py`` as of git ``rev``, imported as ``lib.ledger_old`` (registered: its dataclasses)."""
    return module_at(rev, "lib/ledger.py", "lib.ledger_old", register=True)


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[Database]:
    """A :class:`Database` on ``path`` opened read-only (SQLite ``mode=ro``): the benchmark writes nothing."""
    engine = create_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    connection = engine.connect()
    try:
        yield Database(connection, str(path))
    finally:
        connection.close()
        engine.dispose()


def connections(conn: Database, count: int) -> list[tuple[int, str]]:
    rows = conn.execute(
        "SELECT account_id, consumer_id FROM links ORDER BY account_id, consumer_id LIMIT :n", {"n": count}
    ).fetchall()
    return [(int(a), str(c)) for a, c in rows]


def frames_of(conn: Database, account_id: int, cid: str, inputs: Any) -> dict[str, pd.DataFrame]:
    mine = inputs.of([cid])
    return {
        "daily": conn.readings.daily_frame(account_id, [cid]),
        "details": mine.details,
        "arrears": mine.arrears,
        "adjustments": mine.adjustments,
        "anchors": mine.anchors,
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rev", default="22975ce", help="the baseline revision of lib/ledger.py")
    parser.add_argument("--db", type=Path, default=DB)
    parser.add_argument("--connections", type=int, nargs="+", default=[1, 3, 12])
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args(argv)
    if not args.db.exists():
        parser.error(f"no database at {args.db} (bench_browser.py seeds it)")
    old = old_module(args.rev)
    variants: dict[str, ModuleType] = {"old": old, "new": present}
    book = tariff.load_tariffs()
    print(f"baseline lib/ledger.py at {args.rev}; load before {os.getloadavg()}")
    with read_only(args.db) as conn:
        largest = connections(conn, max(args.connections))
        accounts = sorted({a for a, _ in largest})
        inputs = {name: {a: m.read_ledger_inputs(conn, a) for a in accounts} for name, m in variants.items()}
        frames = [frames_of(conn, a, cid, inputs["new"][a]) for a, cid in largest]
        for (a, cid), f in zip(largest, frames, strict=True):  # the same ledger by both, before timing
            built = {n: m.build_ledger(**f, today=TODAY, book=book) for n, m in variants.items()}
            pd.testing.assert_frame_equal(built["new"], built["old"], check_exact=True)
            loaded = {
                n: m.load_ledger(conn, a, [cid], today=TODAY, book=book, inputs=inputs[n][a])
                for n, m in variants.items()
            }
            pd.testing.assert_frame_equal(loaded["new"], loaded["old"], check_exact=True)
            pd.testing.assert_frame_equal(loaded["new"], built["new"], check_exact=True)
        print(f"{len(largest)} connections: old and new ledgers equal (build and load, exact)")
        for count in args.connections:
            chosen = list(zip(largest[:count], frames[:count], strict=True))
            times: dict[tuple[str, str], list[float]] = {
                (w, n): [] for w in ("build", "load") for n in variants
            }
            for number in range(args.rounds):
                order = ["old", "new"] if number % 2 == 0 else ["new", "old"]
                for name in order:
                    module = variants[name]
                    started = time.process_time()
                    for _, f in chosen:
                        module.build_ledger(**f, today=TODAY, book=book)
                    times[("build", name)].append((time.process_time() - started) / count)
                    started = time.process_time()
                    for (a, cid), _ in chosen:
                        module.load_ledger(conn, a, [cid], today=TODAY, book=book, inputs=inputs[name][a])
                    times[("load", name)].append((time.process_time() - started) / count)
            load = os.getloadavg()[0]
            for what in ("build", "load"):
                old_t, new_t = times[(what, "old")], times[(what, "new")]
                paired = statistics.median(o - n for o, n in zip(old_t, new_t, strict=True))
                print(
                    f"{count:>3} connection(s), {what}_ledger per connection: old {statistics.median(old_t) * 1000:.2f} ms,"
                    f" new {statistics.median(new_t) * 1000:.2f} ms, new/old {statistics.median(new_t) / statistics.median(old_t):.2f},"
                    f" paired old-new {paired * 1000:.2f} ms; rounds old {' '.join(f'{t * 1000:.1f}' for t in old_t)}"
                    f" | new {' '.join(f'{t * 1000:.1f}' for t in new_t)}  (load {load:.2f})"
                )
    print(f"load after {os.getloadavg()}")


if __name__ == "__main__":
    main()
