"""Page benchmark: server CPU per rerun of Compare and Overview (Streamlit AppTest, ``time.process_time``)
with 3 and 12 linked connections, beside a bare Streamlit page that draws one plotly chart of the same
number of points, in the same run, rounds interleaved.

    .venv/bin/python bench/bench_pages.py                 # 3 and 12 connections, 7 rounds
    .venv/bin/python bench/bench_pages.py --connections 3 --rounds 3 --profile "compare hit"

Measured per connection count (each a fresh database under ``bench/results/``, 120 days of half-hourly
readings per connection, recharges, all linked to one account); Compare keeps the period at 30 days
while the metric cycles (balance → units → ₹), so misses and hits are timed apart:

- ``compare miss``: the metric cycles once right after the view caches (figures, and any cache in
  ``loaders.VIEW_CACHES``) are cleared: the first sight of a view, frames warm (3 reruns a round);
- ``compare hit``: the metric cycles again, every view already shown: a cache hit (3 reruns a round);
- ``compare range``: the period changes 30 days → 1 year → 30 days, both views shown before (2 reruns);
- ``compare new data``: one connection's data version moves (a write to it, e.g. an import), then
  Compare reruns: that connection's frames, forecast and figure are recomputed;
- ``overview``: a rerun of the Overview with nothing changed (a widget elsewhere, a refresh);
- ``visit``: a new session (cold session, warm process caches) signed in: its first page (the
  Overview) and a switch to Compare, against ``bare visit``, a new session of the bare app: its first page
  (a title, a line and a small chart) and a switch to its chart page, two script runs as the product's;
- ``household visit``: a new household's first visit, as a crowd session of ``bench_browser.py`` makes it:
  a new session signed in opens Compare directly (one script run), every cache of ``lib.ui.loaders``
  cleared first (the household's connections never seen by this process: frames, ledgers, forecasts,
  views and figures built), against ``bare visit``;
- ``household range``: a new household's first 1-year period, as a new account's browser session makes it:
  every cache of ``lib.ui.loaders`` cleared, a new session signed in opens Compare (30 days; not timed),
  then the period changes to 1 year (timed: the fragment rerun, ``widget_change``): the year's daily
  frames, period calendar, tables, series and figure built for the first time;
- ``household overview`` and ``household switch``: a new household's Overview, then its first Compare, as
  a new account's browser session makes them (the browser times only the switch): every cache of
  ``lib.ui.loaders`` cleared, a new session signed in opens the Overview (its ledgers and simulations built,
  and since issue 15's prepared Compare the first Compare view too), then switches to Compare;
- ``bare``: a rerun of the bare app's chart page: ``st.plotly_chart(go.Figure(...))`` of n × 30 daily points.

A widget change runs what a browser's runs (``widget_change``): on a page with a fragment (Compare's
controls and view since issue 15's run 2) the fragment alone, else the whole script; AppTest by itself
would always run the whole script.

AppTest runs the script in this process, so ``time.process_time`` is the server's CPU for the rerun
(the browser's work is not in it). The SQL statements and database connections of each rerun are
counted (every statement the SQLite driver runs, PRAGMAs and BEGIN included). ``--profile STEP``
profiles the whole script run of that step's timed reruns (cProfile in the script thread) and prints
the top functions per rerun. The goal is printed beside each ratio: ≤ 0.2 s per rerun with 3
connections, at most linear growth to 12, a visit ≤ 1.5× the bare app's. The load average is printed:
the machine is shared. ``--gc-freeze`` freezes the process's imported heap before the first step, as the
server's entry does (``serve.py``, ``lib/ui/heap.py``): run once with it and once without, one after the
other, to see what it saves.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import functools
import gc
import os
import pstats
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from streamlit.runtime.scriptrunner_utils.script_requests import RerunData  # noqa: E402
from streamlit.testing.v1 import AppTest, local_script_runner  # noqa: E402

from lib import storage  # noqa: E402
from lib.clock import IST, to_ts  # noqa: E402

RESULTS = ROOT / "bench" / "results"
NOW = "2026-11-25T06:30:00Z"  # 12:00 IST, the suite's clock
TODAY = dt.date(2026, 11, 25)
DAYS = 120
MOBILE = "+919876500000"

# The bare app has the product's navigation: a first page (``bare.py``, like the Overview: a title, a line of
# text and a small plotly chart, so plotly is loaded as the product's Overview loads it) and
# ``pages/compare.py`` (a metric radio and one plotly chart of n x 30 daily points). A visit of either app
# is its first page and a switch to its chart page: two script runs each.
BARE_APP = """
import numpy as np
import plotly.graph_objects as go
import streamlit as st

st.title("Overview")
st.write("A bare page: no data, no sign-in.")
days = np.arange("2026-10-27", "2026-11-26", dtype="datetime64[D]")
st.plotly_chart(go.Figure(go.Bar(x=days, y=np.ones(len(days)))), key="bare_overview_chart")
"""

BARE_COMPARE_PAGE = """
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


def signed_in(account_id: int, page: str | None, *, first: bool = False) -> AppTest:
    """A new session of ``account_id`` on the Overview, then ``page``; ``first``: on ``page`` directly."""
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = "en"
    if page and first:
        at.switch_page(page)
    at.run()
    if page and not first:
        at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def bare_visit_app(bare_file: Path) -> AppTest:
    """A new session of the bare app: its first page, then a switch to its chart page (as a visit of the
    product opens the Overview, then Compare)."""
    at = AppTest.from_file(str(bare_file), default_timeout=60)
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception, at.exception
    return at


def household_caches() -> list:
    """Every cache of ``lib.ui.loaders`` (``st.cache_data`` / ``st.cache_resource`` functions): cleared,
    the process has never seen the household."""
    from lib.ui import loaders

    return [
        value
        for value in vars(loaders).values()
        if callable(getattr(value, "clear", None)) and hasattr(value, "__wrapped__")
    ]


STEPS = (
    "compare miss",
    "compare hit",
    "compare range",
    "compare new data",
    "overview",
    "visit",
    "household visit",
    "household range",
    "household overview",
    "household switch",
    "bare",
    "bare visit",
)


class Meter:
    """CPU seconds, SQL statements and database connections of timed actions, and (``--profile``) a
    cProfile of the script runs of one step (the script runs in AppTest's own thread)."""

    def __init__(self, profile: str | None) -> None:
        self.statements = 0
        self.connections = 0
        self.profile = profile
        # CPU time of the script thread, not wall time: other engineers load the machine
        self.profiler = cProfile.Profile(time.thread_time) if profile else None
        self.profiled_reruns = 0
        self.active = False
        self._runs = 0
        # Python's own full (generation 2) collections: how many, and their CPU (postScriptGC is off, so
        # these are the ones allocations trigger; a frozen heap makes each cheap: lib/ui/heap.py)
        self.full_collections = 0
        self.full_collection_cpu = 0.0
        self._collection_started = 0.0

        def _collections(phase: str, info: dict) -> None:
            if info["generation"] != 2:
                return
            if phase == "start":
                self._collection_started = time.process_time()
            else:
                self.full_collections += 1
                self.full_collection_cpu += time.process_time() - self._collection_started

        gc.callbacks.append(_collections)
        from sqlalchemy import event
        from sqlalchemy.pool import Pool

        @event.listens_for(Pool, "connect")
        def _count(dbapi_connection, _record) -> None:  # every new DB connection (SQLite has no pool)
            self.connections += 1
            if hasattr(dbapi_connection, "set_trace_callback"):
                dbapi_connection.set_trace_callback(self._statement)

        from streamlit.runtime.scriptrunner.script_runner import ScriptRunner

        run_script = ScriptRunner._run_script
        meter = self

        def _run_script(runner, rerun_data):  # one script run, in the script thread
            meter._runs += 1
            if meter.profiler is None or not meter.active:
                return run_script(runner, rerun_data)
            meter.profiled_reruns += 1
            meter.profiler.enable()
            try:
                return run_script(runner, rerun_data)
            finally:
                meter.profiler.disable()

        ScriptRunner._run_script = _run_script

    def _statement(self, _sql: str) -> None:
        self.statements += 1

    def measure(self, name: str, action) -> tuple[float, int, int, int]:
        """(CPU seconds, statements, connections, script runs) of ``action()``."""
        self.active = self.profile == name
        statements, connections, runs = self.statements, self.connections, self._runs
        started = time.process_time()
        try:
            action()
        finally:
            self.active = False
        return (
            time.process_time() - started,
            self.statements - statements,
            self.connections - connections,
            self._runs - runs,
        )


def widget_change(app: AppTest) -> None:
    """Run what a browser's change of a widget runs: the page's fragment alone when it has one (Compare's
    controls and view, issue 15: the server gets the fragment's id with the change), else the whole script.
    AppTest itself always runs the whole script, so the fragment's id is handed to its script runner."""
    fragments = list(app._fragment_storage._fragments)  # the fragments of the last whole run
    if len(fragments) != 1:
        app.run()
        return
    scoped = functools.partial(RerunData, fragment_id_queue=fragments)
    with mock.patch.object(local_script_runner, "RerunData", scoped):
        app.run()


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def view_caches() -> list:
    """The caches a first sight of a view fills: the figures, and what ``loaders.VIEW_CACHES`` names."""
    from lib.ui import loaders

    return [loaders._cached_figure, *getattr(loaders, "VIEW_CACHES", ())]


def bench(connections: int, rounds: int, meter: Meter) -> dict[str, dict[str, float]]:
    path = RESULTS / f"pages_{connections}.db"
    account_id = seed(path, connections)
    os.environ["METERMITRA_DB"] = str(path)
    bare_file = Path(tempfile.mkdtemp()) / "bare.py"
    bare_file.write_text(BARE_APP)
    (bare_file.parent / "pages").mkdir()
    (bare_file.parent / "pages" / "compare.py").write_text(
        BARE_COMPARE_PAGE.replace("N_CONNECTIONS", str(connections))
    )

    compare = signed_in(account_id, "pages/compare.py")
    overview = signed_in(account_id, None)
    bare = bare_visit_app(bare_file)
    metrics = ["units", "spend", "balance"]  # the default (balance) last: a full cycle changes it 3 times
    times: dict[str, list[float]] = {name: [] for name in STEPS}
    counts: dict[str, list[float]] = {name: [] for name in STEPS}
    opened: dict[str, list[float]] = {name: [] for name in STEPS}

    def rerun(app: AppTest, key: str, value: str) -> None:
        app.radio(key=key).set_value(value)
        widget_change(app)
        assert not app.exception, app.exception

    def timed(name: str, action) -> None:
        seconds, statements, conns, runs = meter.measure(name, action)
        visits = ("visit", "household visit", "bare visit")
        times[name].append(seconds / max(1, runs) if name not in visits else seconds)
        counts[name].append(statements / max(1, runs))
        opened[name].append(conns / max(1, runs))

    def bare_visit() -> None:
        bare_visit_app(bare_file)

    def compare_miss() -> None:
        for cache in view_caches():
            cache.clear()
        for metric in metrics:
            timed("compare miss", lambda metric=metric: rerun(compare, "compare_metric", metric))

    def compare_hit() -> None:
        for metric in metrics:  # every view shown once (no-ops when the miss step came just before)
            rerun(compare, "compare_metric", metric)
        for metric in metrics:
            timed("compare hit", lambda metric=metric: rerun(compare, "compare_metric", metric))

    def compare_range() -> None:
        rerun(compare, "compare_range", "1y")  # both periods' views shown once
        rerun(compare, "compare_range", "30d")
        timed("compare range", lambda: rerun(compare, "compare_range", "1y"))
        timed("compare range", lambda: rerun(compare, "compare_range", "30d"))

    def compare_new_data() -> None:
        with storage.open_db(path, run_migrations=False) as conn, storage.transaction(conn):
            storage.meta.bump_data_version(conn, ["3000000001"])
        timed("compare new data", lambda: compare.run())
        overview.run()  # its frames of that connection again, outside the timed Overview rerun
        assert not compare.exception and not overview.exception, (compare.exception, overview.exception)

    def household_visit() -> None:
        for cache in household_caches():
            cache.clear()
        timed("household visit", lambda: signed_in(account_id, "pages/compare.py", first=True))
        compare.run()  # the page sessions' caches again, outside the timed steps
        overview.run()

    def household_range() -> None:
        for cache in household_caches():
            cache.clear()
        fresh = signed_in(account_id, "pages/compare.py", first=True)  # its 30 days: not timed
        timed("household range", lambda: rerun(fresh, "compare_range", "1y"))
        compare.run()  # the page sessions' caches again, outside the timed steps
        overview.run()

    def household_switch() -> None:
        """A new household's Overview, then its first Compare (the browser benchmark's click on a new
        account): both timed, the Overview untimed in the browser."""
        for cache in household_caches():
            cache.clear()
        fresh: list[AppTest] = []
        timed("household overview", lambda: fresh.append(signed_in(account_id, None)))
        timed("household switch", lambda: fresh[0].switch_page("pages/compare.py").run())
        assert not fresh[0].exception, fresh[0].exception
        compare.run()  # the page sessions' caches again, outside the timed steps
        overview.run()

    for r in range(rounds):
        steps = [
            ("bare", lambda r=r: timed("bare", lambda: rerun(bare, "metric", metrics[r % 3]))),
            ("compare miss", compare_miss),
            ("compare hit", compare_hit),
            ("compare range", compare_range),
            ("compare new data", compare_new_data),
            ("overview", lambda: timed("overview", lambda: overview.run())),
            ("bare visit", lambda: timed("bare visit", bare_visit)),
            ("visit", lambda: timed("visit", lambda: signed_in(account_id, "pages/compare.py"))),
            ("household visit", household_visit),
            ("household range", household_range),
            ("household switch", household_switch),
        ]
        if r % 2:
            steps.reverse()
        for _name, step in steps:
            step()
        assert not compare.exception and not overview.exception, (compare.exception, overview.exception)
    for name, values in times.items():
        print(
            f"  {connections:3d} connections  {name:16s} per round: " + " ".join(f"{v:.3f}" for v in values),
            flush=True,
        )
    return {
        name: {
            "cpu": median(times[name]),
            "statements": median(counts[name]),
            "connections": median(opened[name]),
        }
        for name in STEPS
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--profile", choices=STEPS, default=None, help="cProfile this step's reruns")
    parser.add_argument("--top", type=int, default=40, help="functions listed by --profile")
    parser.add_argument("--profile-out", type=Path, default=None, help="also dump the cProfile stats here")
    parser.add_argument(
        "--gc-freeze",
        action="store_true",
        help="freeze this process's imported heap first, as serve.py does (lib/ui/heap.py); compare a run"
        " with and one without, one after the other",
    )
    args = parser.parse_args(argv)
    if args.gc_freeze:
        import lib.web  # noqa: F401  (serve.py's imports)
        from lib.ui import heap

        heap.freeze_after_imports()
        print(f"gc.freeze(): {gc.get_freeze_count()} objects frozen", flush=True)
    os.environ["METERMITRA_NOW"] = NOW
    os.environ.setdefault("METERMITRA_OTP_KEY", secrets.token_hex(32))  # the frame refuses a weak key
    RESULTS.mkdir(parents=True, exist_ok=True)
    meter = Meter(args.profile)
    print(f"load average before: {os.getloadavg()}", flush=True)
    results = {}
    for n in args.connections:
        results[n] = bench(n, args.rounds, meter)
        print(f"load average after {n} connections: {os.getloadavg()}", flush=True)
    if meter.profiler is not None:
        reruns = max(1, meter.profiled_reruns)
        print(f"\ncProfile of {args.profile!r}: {reruns} script runs; divide the times by {reruns} per rerun")
        stats = pstats.Stats(meter.profiler)
        if args.profile_out:
            stats.dump_stats(args.profile_out)
        stats.sort_stats("cumulative").print_stats(args.top)
        stats.sort_stats("tottime").print_stats(args.top)
    print(
        f"\nPython's full collections (generation 2) in this process: {meter.full_collections},"
        f" {meter.full_collection_cpu:.2f} s of CPU ({gc.get_freeze_count()} objects frozen)"
    )
    print(f"\nserver CPU per rerun, medians of {args.rounds} interleaved rounds (s), SQL statements and")
    print("database connections opened per rerun (medians):")
    for n, res in results.items():
        for name, value in res.items():
            print(
                f"  {n:3d} connections  {name:16s} {value['cpu']:7.3f} s  {value['statements']:6.1f} statements"
                f"  {value['connections']:4.1f} connections"
            )
        for name in ("compare miss", "compare hit", "compare range", "overview"):
            goal = "≤ 0.200 s" if n == 3 else "linear growth"
            print(f"  {n:3d} connections  {name:16s} {res[name]['cpu']:.3f} s   goal {goal}")
        ratio = res["visit"]["cpu"] / res["bare visit"]["cpu"]
        print(f"  {n:3d} connections  visit / bare visit  {ratio:.2f}×   goal ≤ 1.5×")
        ratio = res["household visit"]["cpu"] / res["bare visit"]["cpu"]
        print(f"  {n:3d} connections  household visit / bare visit  {ratio:.2f}×")
        ratio = res["household range"]["cpu"] / res["bare"]["cpu"]
        print(f"  {n:3d} connections  household range / bare rerun  {ratio:.2f}×")
        ratio = res["household switch"]["cpu"] / res["bare"]["cpu"]
        print(f"  {n:3d} connections  household switch / bare rerun  {ratio:.2f}×")
        ratio = res["compare hit"]["cpu"] / res["bare"]["cpu"]
        print(f"  {n:3d} connections  compare hit / bare rerun  {ratio:.2f}×")
    if len(results) > 1:
        small, large = min(results), max(results)
        timed_steps = ("compare miss", "compare hit", "compare range", "overview", "visit")
        for name in (*timed_steps, "household visit", "household range"):
            growth = results[large][name]["cpu"] / results[small][name]["cpu"]
            print(
                f"  growth {small}→{large} connections  {name:16s} {growth:.2f}×   goal ≤ {large / small:.0f}× (linear)"
            )


if __name__ == "__main__":
    main()
