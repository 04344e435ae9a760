"""Page benchmark: server CPU per rerun of Compare and Overview (Streamlit AppTest, ``time.process_time``)
with 3 and 12 linked connections, beside a bare Streamlit page that draws one plotly chart of the same
number of points, in the same run, rounds interleaved.

    .venv/bin/python bench/bench_pages.py                 # 3 and 12 connections, 7 rounds
    .venv/bin/python bench/bench_pages.py --connections 3 --rounds 3 --profile compare

Measured per connection count (each a fresh database under ``bench/results/``, 120 days of half-hourly
readings per connection, recharges, all linked to one account):

- ``compare metric``: a rerun of Compare that changes only the metric (balance → units → ₹ → balance);
- ``compare range``: a rerun that changes the period (30 days ↔ 1 year), new frames from the caches;
- ``overview``: a rerun of the Overview with nothing changed (a widget elsewhere, a refresh);
- ``visit``: a new session (cold session, warm process caches) signing in and opening Compare;
- ``bare``: a rerun of the bare app: ``st.plotly_chart(go.Figure(...))`` of n × 30 daily points.

AppTest runs the script in this process, so ``time.process_time`` is the server's CPU for the rerun
(the browser's work is not in it). The goal is printed beside each ratio: ≤ 0.2 s per rerun with 3
connections, at most linear growth to 12, a visit ≤ 1.5× the bare app's. The load average is printed:
the machine is shared.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import os
import pstats
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from lib import storage  # noqa: E402
from lib.clock import IST, to_ts  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = "2026-11-25T06:30:00Z"  # 12:00 IST, the suite's clock
TODAY = dt.date(2026, 11, 25)
DAYS = 120
MOBILE = "+919876500000"

BARE_APP = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st

n = N_CONNECTIONS
rng = np.random.default_rng(7)
days = np.arange("2026-10-27", "2026-11-26", dtype="datetime64[D]")
st.title("Bare")
st.radio("metric", ["balance", "units", "spend"], key="metric", horizontal=True)
traces = [
    go.Scatter(x=days, y=1000 - np.cumsum(rng.uniform(20, 60, len(days))), mode="lines", name=f"c{i}")
    for i in range(n)
]
st.plotly_chart(go.Figure(data=traces, layout={"title": {"text": "Balance"}}), key="chart")
"""


def seed(path: Path, connections: int) -> int:
    """``connections`` linked connections with DAYS days of readings to TODAY 12:00 IST; the account ID."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    rng = random.Random(connections)
    start = dt.datetime.combine(TODAY - dt.timedelta(days=DAYS - 1), dt.time(), tzinfo=IST)
    intervals = (DAYS - 1) * 48 + 24
    stamps = [to_ts(start + dt.timedelta(minutes=30 * i)) for i in range(intervals)]
    with storage.open_db(path) as conn:
        account_id = storage.accounts.create_account(conn, MOBILE, now="2026-01-01T00:00:00Z")
        for index in range(connections):
            cid = f"30{index + 1:08d}"
            storage.consumers.upsert_consumers(
                conn,
                [
                    {
                        "consumer_id": cid,
                        "name": f"Consumer {cid}",
                        "registered_mobile": MOBILE,
                        "tariff_category": "DS-II",
                        "sanctioned_load_kw": 2.0,
                        "is_demo": 1,
                    }
                ],
            )
            balance, rows, paid = 1500.0, [], []
            for i, ts in enumerate(stamps):
                if i % (30 * 48) == 0 and i:
                    balance += 1000.0
                    paid.append({"consumer_id": cid, "ts": ts, "amount_inr": 1000.0})
                kwh = round(rng.uniform(0.05, 0.35), 3)
                balance -= kwh * 6.0
                rows.append((cid, ts, kwh, round(balance, 2)))
            with storage.transaction(conn):
                storage.accounts.insert_link(
                    conn, account_id, cid, f"Meter {index + 1}", now="2026-01-01T00:00:00Z"
                )
                storage.readings.insert_readings(conn, rows)
                storage.readings.insert_recharges(conn, paid)
                storage.readings.refresh_daily(conn, cid)
                storage.meta.bump_data_version(conn)
    return account_id


def signed_in(account_id: int, page: str | None) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = "en"
    at.run()
    if page:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def cpu(action) -> float:
    started = time.process_time()
    action()
    return time.process_time() - started


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def bench(connections: int, rounds: int, profile: str | None) -> dict[str, float]:
    path = RESULTS / f"pages_{connections}.db"
    account_id = seed(path, connections)
    os.environ["METERMITRA_DB"] = str(path)
    bare_file = Path(tempfile.mkdtemp()) / "bare.py"
    bare_file.write_text(BARE_APP.replace("N_CONNECTIONS", str(connections)))

    compare = signed_in(account_id, "pages/compare.py")
    overview = signed_in(account_id, None)
    bare = AppTest.from_file(str(bare_file), default_timeout=60)
    bare.run()
    metrics = ["units", "spend", "balance"]
    ranges = ["1y", "30d"]
    times: dict[str, list[float]] = {
        k: [] for k in ("compare metric", "compare range", "overview", "visit", "bare", "bare visit")
    }

    def visit() -> None:
        signed_in(account_id, "pages/compare.py")

    def bare_visit() -> None:
        app = AppTest.from_file(str(bare_file), default_timeout=60)
        app.run()

    profiler = cProfile.Profile() if profile else None
    if profiler:  # the script runs in AppTest's own thread: profile the page functions there
        from lib.ui import compare as compare_page
        from lib.ui import frame
        from lib.ui import overview as overview_page

        def profiled(function):
            def wrapper(*args, **kwargs):
                if not active:
                    return function(*args, **kwargs)
                profiler.enable()
                try:
                    return function(*args, **kwargs)
                finally:
                    profiler.disable()

            return wrapper

        active: list[bool] = []
        frame.page = profiled(frame.page)
        compare_page.draw = profiled(compare_page.draw)
        overview_page.draw = profiled(overview_page.draw)
    for r in range(rounds):
        steps = [
            ("bare", lambda r=r: bare.radio(key="metric").set_value(metrics[r % 3]).run()),
            (
                "compare metric",
                lambda r=r: compare.radio(key="compare_metric").set_value(metrics[r % 3]).run(),
            ),
            ("compare range", lambda r=r: compare.radio(key="compare_range").set_value(ranges[r % 2]).run()),
            ("overview", lambda: overview.run()),
            ("bare visit", bare_visit),
            ("visit", visit),
        ]
        if r % 2:
            steps.reverse()
        for name, action in steps:
            if profiler and name.startswith(profile):
                active.append(True)
            times[name].append(cpu(action))
            if profiler:
                active.clear()
        assert not compare.exception and not overview.exception, (compare.exception, overview.exception)
    if profiler:
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(60)
    for name, values in times.items():
        print(
            f"  {connections:3d} connections  {name:15s} per round: " + " ".join(f"{v:.3f}" for v in values)
        )
    return {name: median(values) for name, values in times.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", choices=["compare", "overview", "visit"], default=None)
    args = parser.parse_args(argv)
    os.environ["METERMITRA_NOW"] = NOW
    os.environ.setdefault("METERMITRA_OTP_KEY", "bench-key-" + "0" * 40)
    RESULTS.mkdir(parents=True, exist_ok=True)
    print(f"load average before: {os.getloadavg()}")
    results = {n: bench(n, args.rounds, args.profile) for n in args.connections}
    print(f"load average after: {os.getloadavg()}")
    print(f"\nserver CPU per rerun, medians of {args.rounds} interleaved rounds (s):")
    for n, res in results.items():
        for name, value in res.items():
            print(f"  {n:3d} connections  {name:15s} {value:7.3f}")
        for name in ("compare metric", "compare range", "overview"):
            goal = "≤ 0.200 s" if n == 3 else "linear growth"
            print(f"  {n:3d} connections  {name:15s} {res[name]:.3f} s   goal {goal}")
        print(
            f"  {n:3d} connections  visit / bare visit  {res['visit'] / res['bare visit']:.2f}×   goal ≤ 1.5×"
        )
        print(
            f"  {n:3d} connections  compare metric / bare rerun  {res['compare metric'] / res['bare']:.2f}×"
        )
    if len(results) > 1:
        small, large = min(results), max(results)
        for name in ("compare metric", "compare range", "overview"):
            growth = results[large][name] / results[small][name]
            print(
                f"  growth {small}→{large} connections  {name:15s} {growth:.2f}×   goal ≤ {large / small:.0f}× (linear)"
            )


if __name__ == "__main__":
    main()
