"""Compare figure benchmark: CPU of ``charts.compare_figure`` now against the same function at a baseline
git revision (``lib/charts.py`` of that revision loaded as its own module), in one process, rounds
interleaved (order reversed every other round), on bench_pages' seeded households (3 and 12 connections).

    .venv/bin/python bench/bench_compare_figure.py                         # 3 and 12 connections, 7 rounds
    .venv/bin/python bench/bench_compare_figure.py --profile --connections 12   # where the time goes (now)

A round builds every case once with each implementation: metric (balance, units, spend) × granularity
(day, week, month) × en / hi / hi with Devanagari digits × 30 days / 1 year, side by side in 3 columns
with the forecast, projection and cuts, as Compare draws them. Each pair of figures is checked equal
(``to_json``) before timing. ``time.process_time``; the load average is printed.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages  # noqa: E402
from revision import module_at  # noqa: E402

from lib import analytics, charts, forecast, i18n, ledger, storage  # noqa: E402

LANGS = (("en", False), ("hi", False), ("hi", True))


def baseline_module(revision: str):
    """``lib/charts.py`` as of git ``revision``, loaded as its own module."""
    return module_at(revision, "lib/charts.py", "charts_baseline")


def cases(connections: int) -> list[tuple[bool, dict]]:
    """(Devanagari digits, compare_figure's arguments) of every case of a seeded household."""
    path = bench_pages.RESULTS / f"compare_figure_{connections}.db"
    account = bench_pages.seed(path, connections)
    today = bench_pages.TODAY
    with storage.open_db(path) as conn:
        details = conn.accounts.connection_details(account)
        daily = storage.readings.daily_frame(
            conn, account, None, str(today - dt.timedelta(days=400)), str(today)
        )
        outlook = forecast.simulate(ledger.load_ledger(conn, account, today=today), details, today)
    ids = [str(cid) for cid in details["consumer_id"]]
    episodes = analytics.disconnection_episodes(daily)
    out = []
    for days in (30, 365):
        first = today - dt.timedelta(days=days - 1)
        for metric in analytics.METRICS:
            for granularity in ("day", "week", "month"):
                series = analytics.compare_series(daily, metric, granularity, first, today, ids)
                for lang, digits in LANGS:
                    args = dict(
                        metric=metric,
                        granularity=granularity,
                        lang=lang,
                        colours=charts.connection_colours(ids),
                        layout="side_by_side",
                        columns=3,
                        shared_y=True,
                        forecast=outlook.summary,
                        projection=outlook.path,
                        episodes=episodes,
                        first_day=first,
                        last_day=today,
                        today=today,
                    )
                    out.append((digits, {"series": series, **args}))
    return out


def build_all(build, all_cases) -> dict[int, float]:
    """CPU seconds to build every case once, by period length (30 / 365 days)."""
    spent: dict[int, float] = {30: 0.0, 365: 0.0}
    for digits, args in all_cases:
        i18n.use_devanagari_digits(digits)
        days = (args["last_day"] - args["first_day"]).days + 1
        started = time.process_time()
        build(**args)
        spent[days] += time.process_time() - started
    i18n.use_devanagari_digits(False)
    return spent


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument(
        "--baseline",
        default="6f8ea79",
        help="git revision of the baseline compare_figure (default: main before h57's change, BENCHMARKS run 15)",
    )
    parser.add_argument("--profile", action="store_true", help="cProfile this checkout's build, no timing")
    args = parser.parse_args(argv)
    os.environ["METERMITRA_NOW"] = bench_pages.NOW
    bench_pages.RESULTS.mkdir(parents=True, exist_ok=True)
    before = baseline_module(args.baseline).compare_figure
    now = charts.compare_figure
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in args.connections:
        all_cases = cases(n)
        per = len(all_cases) // 2
        if args.profile:
            build_all(now, all_cases)
            profiler = cProfile.Profile()
            profiler.enable()
            build_all(now, all_cases)
            profiler.disable()
            print(f"--- {n} connections, {len(all_cases)} figures")
            pstats.Stats(profiler).sort_stats("tottime").print_stats(30)
            continue
        for digits, case in all_cases:  # the same figure, byte for byte
            i18n.use_devanagari_digits(digits)
            assert before(**case).to_json() == now(**case).to_json()
        i18n.use_devanagari_digits(False)
        times: dict[str, list[dict[int, float]]] = {"baseline": [], "now": []}
        for r in range(args.rounds):
            order = [("baseline", before), ("now", now)]
            for name, build in order if r % 2 == 0 else order[::-1]:
                times[name].append(build_all(build, all_cases))
        for days in (30, 365):
            median = {
                name: statistics.median(t[days] for t in values) / per * 1000
                for name, values in times.items()
            }
            for name, values in times.items():
                print(
                    f"  {n:3d} conn. {days:3d} days {name:8s} ms a figure per round: "
                    + " ".join(f"{t[days] / per * 1000:.1f}" for t in values)
                )
            print(
                f"  {n:3d} connections, {days} days: compare_figure {median['baseline']:.1f} ms ({args.baseline})"
                f" -> {median['now']:.1f} ms now, {median['now'] / median['baseline']:.2f}x"
                f"  (load {os.getloadavg()[0]:.1f})",
                flush=True,
            )


if __name__ == "__main__":
    main()
