"""The tariff simulation (``forecast.simulate``) of an older ``lib/forecast.py`` against the present one, in ONE
process, rounds interleaved: what the low-balance warning and Compare's forecast pay per connection.

    .venv/bin/python bench/bench_simulate_ab.py --db /work/main/bench/results/browser_1000x365.db   # 15 rounds
    .venv/bin/python bench/bench_simulate_ab.py --rev 22975ce --rounds 9 --households 8
    .venv/bin/python bench/bench_simulate_ab.py --profile                     # cProfile of the present module

Inputs, read before timing: (1) the browser benchmark's database (``--db``, 1,000 households of 3 connections ×
365 days; opened READ-ONLY, an SQLite ``mode=ro`` URI, so nothing is written to it, not even a checkpoint):
``--households`` households as the dashboard reads them (``ledger.read_ledger_inputs`` once, then each
connection's ledger, details and arrears cut as ``loaders.connection_simulation`` cuts them), as of
2026-11-25; (2) seeded households in a temporary database: ``tests.factories.seed_household`` (6 connections ×
400 days: healthy, running low, no readings, disconnected) and the demo (``demo.seed_demo``: 3 connections, over
a year of history, net metering, a free-units home; no arrears in its ledger inputs). Cases: **per connection** (``simulate`` of one connection's rows, the
dashboard's call: a new household of 3 pays it 3 times on its first page), **3 at a time** and **12 at a time**
(one call for a household's connections, the group-by path; 12 = four bench households together).

Before timing, every case's summary and path are checked equal between the two modules
(``assert_frame_equal``, exact, dtypes included). A round runs every case once with each module, the order
reversed every other round (ABBA); ``time.process_time`` (CPU). Printed per case: the per-round figures, the
medians (ms a call and ms a connection), new / old and the median of the paired per-round differences, and the
load average before and after: other engineers share the 2 cores, read the ratios.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import pandas as pd  # noqa: E402
import sqlalchemy  # noqa: E402
from revision import module_at  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from lib import demo, forecast, frames, ledger, storage, tariff  # noqa: E402
from lib.storage.engine import Database  # noqa: E402
from tests import factories  # noqa: E402

TODAY = dt.date(2026, 11, 25)  # the bench database's clock and the suite's
DEFAULT_DB = ROOT / "bench" / "results" / "browser_1000x365.db"
BASELINE = "22975ce"  # main before h58 (BENCHMARKS section 4 run 16)

# (rows, details, arrears) of one simulate call
Call = tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]


def baseline_module(revision: str) -> ModuleType:
    """``lib/forecast.py`` as of git ``revision``, loaded as its own module (registered: a dataclass)."""
    return module_at(revision, "lib/forecast.py", "forecast_baseline", register=True)


def read_only(path: Path) -> Database:
    """A connection that cannot write to the SQLite file at ``path`` (the shared benchmark database)."""
    if not path.exists():
        raise SystemExit(f"no database at {path} (give --db; it is only read)")
    engine = sqlalchemy.create_engine(f"sqlite+pysqlite:///file:{path}?mode=ro&uri=true", poolclass=NullPool)
    return Database(engine.connect(), str(path))


def household_calls(conn: Database, account_id: int, today: dt.date) -> tuple[list[Call], Call]:
    """The account's per-connection calls as ``loaders.connection_simulation`` makes them, and one call for
    all of its connections (the account's ledger, details and arrears)."""
    inputs = ledger.read_ledger_inputs(conn, account_id)
    ids = [str(c) for c in inputs.details["consumer_id"]]
    per: list[Call] = []
    for cid in ids:
        rows = ledger.load_ledger(conn, account_id, [cid], today=today, inputs=inputs)
        details = inputs.details[inputs.details["consumer_id"].astype(str) == cid]
        per.append((rows, details, frames.for_connections(inputs.arrears, [cid])))
    whole = ledger.load_ledger(conn, account_id, today=today, inputs=inputs)
    return per, (whole, inputs.details, inputs.arrears)


def together(calls: list[Call]) -> Call:
    """One call for several households' connections (their frames concatenated)."""
    return (
        pd.concat([c[0] for c in calls], ignore_index=True),
        pd.concat([c[1] for c in calls], ignore_index=True),
        pd.concat([c[2] for c in calls], ignore_index=True),
    )


def cases(db: Path, households: int) -> dict[str, list[Call]]:
    """Every case's calls: name → the simulate calls one timing of the case makes."""
    out: dict[str, list[Call]] = {}
    conn = read_only(db)
    try:
        accounts = [
            int(a)
            for (a,) in conn.execute(
                "SELECT DISTINCT account_id FROM links ORDER BY account_id LIMIT :n", {"n": households}
            ).fetchall()
        ]
        read = [household_calls(conn, a, TODAY) for a in accounts]
    finally:
        conn.sa.close()
    out[f"bench db, per connection ({households} households of 3)"] = [c for per, _ in read for c in per]
    out["bench db, 3 at a time"] = [whole for _, whole in read]
    wholes = [whole for _, whole in read]
    out["bench db, 12 at a time"] = [together(wholes[i : i + 4]) for i in range(0, len(wholes) - 3, 4)]
    with tempfile.TemporaryDirectory() as folder:
        with storage.open_db(Path(folder) / "seeded.db") as seeded:
            account = factories.seed_household(seeded, 6, days=400, today=TODAY)
            per, whole = household_calls(seeded, account, TODAY)
        out["seeded 6 x 400 days, per connection"] = per
        out["seeded 6 x 400 days, 6 at a time"] = [whole]
        with storage.open_db(Path(folder) / "demo.db") as demo_db:
            now = dt.datetime.fromisoformat(factories.FIXED_NOW.replace("Z", "+00:00"))
            account = int(demo.seed_demo(demo_db, now=now)["account_id"])
            per, whole = household_calls(demo_db, account, TODAY)
        out["demo (365 days), per connection"] = per
        out["demo, all at a time"] = [whole]
    return out


def run(simulate: Callable, calls: list[Call], book: tariff.TariffBook) -> float:
    """CPU seconds of every call of a case once."""
    started = time.process_time()
    for rows, details, arrears in calls:
        simulate(rows, details, TODAY, arrears=arrears, book=book)
    return time.process_time() - started


def check_equal(old: ModuleType, calls: list[Call], book: tariff.TariffBook) -> None:
    for rows, details, arrears in calls:
        a = old.simulate(rows, details, TODAY, arrears=arrears, book=book)
        b = forecast.simulate(rows, details, TODAY, arrears=arrears, book=book)
        pd.testing.assert_frame_equal(b.summary, a.summary, check_exact=True)
        pd.testing.assert_frame_equal(b.path, a.path, check_exact=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db", type=Path, default=DEFAULT_DB, help="the browser benchmark's database (only read)"
    )
    parser.add_argument("--rev", default=BASELINE, help="git revision of the old lib/forecast.py")
    parser.add_argument("--households", type=int, default=8, help="bench db households (3 connections each)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--profile", action="store_true", help="cProfile the present module once, no timing")
    args = parser.parse_args(argv)
    os.environ["METERMITRA_NOW"] = factories.FIXED_NOW
    book = tariff.load_tariffs()
    print(f"load average before: {os.getloadavg()}", flush=True)
    all_cases = cases(args.db, args.households)
    if args.profile:
        profiler = cProfile.Profile()
        profiler.enable()
        for calls in all_cases.values():
            run(forecast.simulate, calls, book)
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        return
    old = baseline_module(args.rev)
    variants = {"old": old.simulate, "new": forecast.simulate}
    for name, calls in all_cases.items():
        check_equal(old, calls, book)
        connections = sum(c[0]["consumer_id"].nunique() for c in calls)
        times: dict[str, list[float]] = {"old": [], "new": []}
        for variant in variants.values():  # untimed: first calls, caches of the tariff book
            run(variant, calls, book)
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for variant_name in order:
                times[variant_name].append(run(variants[variant_name], calls, book) * 1000 / len(calls))
        old_ms, new_ms = statistics.median(times["old"]), statistics.median(times["new"])
        paired = statistics.median(o - n for o, n in zip(times["old"], times["new"], strict=True))
        per_call = connections / len(calls)
        print(f"{name}: {len(calls)} calls, {connections} connections", flush=True)
        for variant_name in ("old", "new"):
            print(
                f"    {variant_name} ms a call per round: "
                + " ".join(f"{t:.1f}" for t in times[variant_name])
            )
        print(
            f"  old {old_ms:.2f} ms a call ({old_ms / per_call:.2f} a connection), new {new_ms:.2f} ms "
            f"({new_ms / per_call:.2f}), new/old {new_ms / old_ms:.2f}, paired old-new {paired:.2f} ms"
            f"  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )
    print(f"load average after: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
