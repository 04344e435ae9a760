"""A new household's first Compare view, what it computes besides reads and the chart, with ``lib/analytics.py``
and Compare's ``csv_bytes`` at an older revision against the present ones, in ONE process (issue 15, h60).

    .venv/bin/python bench/bench_view_ab.py --rev 22975ce                     # 3 and 12 connections, 21 rounds
    .venv/bin/python bench/bench_view_ab.py --rev 22975ce --connections 12 --rounds 9 --db PATH

What ``lib/ui/compare.py``'s ``_build_period`` and ``_build_view`` compute once per household, period and data
version (cold for a new household, cached after): ``disconnection_episodes``, ``period_calendar``,
``household_shares`` (given the calendar), ``peak_demand`` of the period's rows, ``compare_series`` of the
metric (balance) and its CSV (``csv_bytes``, Hindi). Inputs: bench_browser's database
(``bench/results/browser_1000x365.db``, opened read-only; ``--db`` another path), the households of accounts
200, 201, ... (3 connections each; 12 connections are four of them), each connection's daily rows read as
``loaders.connection_daily`` reads them, from the day the page loads (``load_from``) to the last day of the
period: 30 days (the first Compare, daily points) and 1 year (the first 1-year period, weekly points), today
2026-11-25. Before timing, every result of the old code is checked equal to the new one's (frames exactly, the
CSV bytes). Then rounds alternate the order (old, new / new, old); each part is timed by
``time.process_time`` around one call. Printed: per part and in all, the medians, new/old, the median of the
paired per-round differences, and the load average.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
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

from lib import analytics, storage  # noqa: E402
from lib.storage.engine import Database  # noqa: E402
from lib.ui import compare  # noqa: E402

TODAY = dt.date(2026, 11, 25)
DB = ROOT / "bench" / "results" / "browser_1000x365.db"
PARTS = ("episodes", "period_calendar", "household_shares", "peak_demand", "compare_series", "csv_bytes")


def household(db: Path, connections: int, choice: str, first_account: int) -> dict:
    """The Compare inputs of ``connections`` connections (accounts of 3 from ``first_account``) for the period
    ``choice`` of ``compare.RANGES``: daily, details, selected, names, first, last, granularity."""
    engine = sqlalchemy.create_engine(f"sqlite+pysqlite:///file:{db}?mode=ro&uri=true")
    conn = Database(engine.connect(), str(db))
    try:
        first, last, _ = compare.range_days(choice, TODAY)
        load_from = min(first - dt.timedelta(days=1), last - dt.timedelta(days=31))
        details, frames = [], []
        account = first_account
        while sum(len(d) for d in details) < connections:
            own = storage.accounts.connection_details(conn, account)
            own = own.iloc[: connections - sum(len(d) for d in details)]
            details.append(own)
            for cid in own["consumer_id"]:
                frames.append(storage.readings.daily_frame(conn, account, [cid], str(load_from), str(last)))
            account += 1
    finally:
        conn.close()
        engine.dispose()
    details_frame = pd.concat(details, ignore_index=True)
    selected = list(details_frame["consumer_id"])
    granularity, _ = compare.effective_granularity("auto", first, last, len(selected))
    return {
        "daily": pd.concat(frames, ignore_index=True),
        "details": details_frame,
        "selected": selected,
        "names": dict(zip(selected, details_frame["nickname"].astype(str), strict=True)),
        "first": first,
        "last": last,
        "granularity": granularity,
    }


def view(module: ModuleType, csv_bytes: Callable, h: dict, times: dict[str, float] | None = None) -> dict:
    """The view's parts with ``module`` as ``lib.analytics`` and ``csv_bytes``; their CPU seconds in ``times``."""
    daily, first, last, selected, names = h["daily"], h["first"], h["last"], h["selected"], h["names"]
    out: dict = {}

    def timed(name: str, call: Callable[[], object]) -> object:
        started = time.process_time()
        out[name] = call()
        if times is not None:
            times[name] = time.process_time() - started
        return out[name]

    timed("episodes", lambda: module.disconnection_episodes(daily))
    calendar = timed("period_calendar", lambda: module.period_calendar(daily, first, last, selected, names))
    in_range = daily[(daily["day"] >= pd.Timestamp(first)) & (daily["day"] <= pd.Timestamp(last))]
    timed("household_shares", lambda: module.household_shares(daily, first, last, calendar=calendar))
    timed("peak_demand", lambda: module.peak_demand(in_range, h["details"]))
    series = timed(
        "compare_series",
        lambda: module.compare_series(
            daily, "balance", h["granularity"], first, last, selected, names, calendar=calendar
        ),
    )
    timed("csv_bytes", lambda: csv_bytes(series, "balance", "hi"))
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rev", required=True, help="the git revision of the old lib/analytics.py and compare.py"
    )
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--periods", nargs="*", default=["30d", "1y"])
    parser.add_argument("--rounds", type=int, default=21)
    parser.add_argument("--db", type=Path, default=DB)
    parser.add_argument("--first-account", type=int, default=200)
    args = parser.parse_args(argv)
    old_analytics = module_at(args.rev, "lib/analytics.py", "lib.analytics_old", register=True)
    old_compare = module_at(args.rev, "lib/ui/compare.py", "lib.ui.compare_old", register=True)
    variants = {"old": (old_analytics, old_compare.csv_bytes), "new": (analytics, compare.csv_bytes)}
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in args.connections:
        for choice in args.periods:
            h = household(args.db, n, choice, args.first_account)
            old, new = view(*variants["old"], h), view(*variants["new"], h)
            for part in PARTS:  # the same results before any timing
                if part == "csv_bytes":
                    assert old[part] == new[part], part
                else:
                    pd.testing.assert_frame_equal(
                        new[part], old[part], check_exact=True, check_index_type=True
                    )
            times: dict[str, dict[str, list[float]]] = {name: {p: [] for p in PARTS} for name in variants}
            for r in range(args.rounds):
                for name in ("old", "new") if r % 2 == 0 else ("new", "old"):
                    one: dict[str, float] = {}
                    view(*variants[name], h, one)
                    for part in PARTS:
                        times[name][part].append(one[part])
            label = f"{n:3d} conn. {choice:>3}, {len(h['daily'])} daily rows, {h['granularity']}"
            print(label, flush=True)
            rows = [*PARTS, "all"]
            for name in variants:
                times[name]["all"] = [
                    sum(parts) for parts in zip(*(times[name][p] for p in PARTS), strict=True)
                ]
            for part in rows:
                o, w = statistics.median(times["old"][part]), statistics.median(times["new"][part])
                paired = statistics.median(
                    a - b for a, b in zip(times["old"][part], times["new"][part], strict=True)
                )
                print(
                    f"    {part:17s} old {o * 1000:7.2f} ms  new {w * 1000:7.2f} ms  new/old {w / o:5.2f}"
                    f"  paired old - new {paired * 1000:6.2f} ms"
                )
            print(f"    per round, all, old: {' '.join(f'{v * 1000:.1f}' for v in times['old']['all'])}")
            print(f"    per round, all, new: {' '.join(f'{v * 1000:.1f}' for v in times['new']['all'])}")
            print(f"    load {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
