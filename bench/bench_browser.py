"""Browser benchmark (issue 15): the product in headless chromium beside a bare Streamlit app that draws a plotly
chart of the same number of points, measured in the same run with the rounds interleaved.

    .venv/bin/python bench/bench_browser.py                       # all three parts (45+ min at load 15-45; --sessions 10 for less)
    .venv/bin/python bench/bench_browser.py --quick               # 100 connections x 60 days, 2 rounds, 5 sessions (~10 min)
    .venv/bin/python bench/bench_browser.py --only click --rounds 3

1. **click**: Overview → Compare (the sidebar link clicked) until the Compare chart is drawn and Streamlit is
   idle, and a widget change (period 30 days → 1 year) until the chart is redrawn; the bare app's page switch
   and period radio measured the same way; medians of ``--rounds`` interleaved rounds (the order reversed
   every other round), each round a new tab (a new Streamlit session) of each app; the server's CPU of each
   of the two actions apart (``switch / period``). Goal ≤ 1.5×. A round whose click sends no rerun to the
   server within 5 s (:class:`LostClick`) or times out is that row's error: counted in the report and left
   out of the medians.
2. **concurrent**: ``--sessions`` browser contexts in one chromium (20 by default) open the app at once
   (each its own account, signed in by a server-side session cookie made beforehand: see below) and go to
   Compare; the time until every one of them shows its chart and is idle, against the bare app's sessions
   opening its chart page the same way (``--crowd-rounds``, 1 by default: a round of 20 takes minutes under
   load); errors (a timeout, an exception box, a console error) counted, and a crowd with one is not
   settled (infinite). Both apps alike: each server had one warm-up visit of the same pages first, each
   crowd has a chromium of its own (closed whole afterwards, its process group killed if closing hangs)
   and starts once both servers are quiet, and all its sessions share one deadline.
   Goal ≤ 1.2×, 0 errors; the bare app's own slowdown from 1 to N sessions is printed beside it.
3. **rss**: a fresh product server, ``--rss-sessions`` sessions (10) each opening Compare for its own
   account of 3 connections, kept open; then ``ps -o rss`` of the server process. Goal ≤ 500 MB.

The database (``bench/results/browser_<N>x<D>.db``, git-ignored, built once and reused): ``--connections``
connections (1,000) with ``--days`` days (365) of half-hourly readings up to the suite's clock (2026-11-25
12:00 IST) and a recharge a month; accounts follow 3 connections each. Ten template connections are
generated in Python; the others are copies of a template's rows made in SQL (``INSERT … SELECT``), then
each connection's ``daily`` rows come from the same copy, so building 17.5 M readings takes minutes, not an
hour. The product server is ``streamlit run serve.py`` as ``tests/browser/harness.py`` starts it (not camp
mode, no demo: the database has consumers; SMS to the outbox; the suite's fixed clock).

Signing in: every session carries a cookie of a server-side session (``lib.sessions.start`` + ``claim``, made
in this process with the server's OTP key), so the page signs it in the way a reload does. The OTP sign-in
itself is not timed: its "Send OTP" answer waits a deliberate 1.5 s floor (issue 13 item 5), which the bare
app has no counterpart for, and 20 sign-ins from one client would hit the per-client OTP limit.

Every figure is printed with the load average (``os.getloadavg``): the 2 cores are shared.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lib import storage  # noqa: E402
from lib.clock import IST, to_ts  # noqa: E402

RESULTS = ROOT / "bench" / "results"
TODAY = dt.date(2026, 11, 25)
TEMPLATES = 10
PER_ACCOUNT = 3
CREATED = "2026-01-01T00:00:00Z"


def load() -> str:
    """The 1-minute load average, for every printed figure."""
    return f"load {os.getloadavg()[0]:.1f}"


# --- the database -------------------------------------------------------------------------------------


def consumer_id(index: int) -> str:
    return f"31{index:08d}"


def account_mobile(index: int) -> str:
    return f"+91987{index:07d}"


def db_file(connections: int, days: int) -> Path:
    return RESULTS / f"browser_{connections}x{days}.db"


def _columns(conn: Any, table: str) -> list[str]:
    return [str(row[1]) for row in conn.execute(f"PRAGMA table_info({table})").fetchall()]


def build(path: Path, connections: int, days: int) -> None:
    """Fill ``path`` with ``connections`` connections of ``days`` days of readings, accounts of 3 each."""
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    start = dt.datetime.combine(TODAY - dt.timedelta(days=days - 1), dt.time(), tzinfo=IST)
    intervals = (days - 1) * 48 + 24  # to 12:00 IST today
    stamps = [to_ts(start + dt.timedelta(minutes=30 * i)) for i in range(intervals)]
    with storage.open_db(path) as conn:
        conn.execute("PRAGMA synchronous=OFF")  # generation only; the server opens it as usual
        accounts = (connections + PER_ACCOUNT - 1) // PER_ACCOUNT
        with storage.transaction(conn):
            storage.consumers.upsert_consumers(
                conn,
                [
                    {
                        "consumer_id": consumer_id(c),
                        "name": f"Consumer {c}",
                        "registered_mobile": account_mobile(c // PER_ACCOUNT),
                        "tariff_category": "DS-II",
                        "sanctioned_load_kw": 2.0,
                        # Demo consumers: the server runs with the outbox gateway, which refuses a
                        # database of real consumers (issue 13 item 12).
                        "is_demo": 1,
                    }
                    for c in range(connections)
                ],
            )
            for a in range(accounts):
                account_id = storage.accounts.create_account(conn, account_mobile(a), now=CREATED)
                for c in range(a * PER_ACCOUNT, min((a + 1) * PER_ACCOUNT, connections)):
                    storage.accounts.insert_link(
                        conn, account_id, consumer_id(c), f"Meter {c % PER_ACCOUNT + 1}", now=CREATED
                    )
        for c in range(min(TEMPLATES, connections)):
            rng = random.Random(c)
            cid = consumer_id(c)
            balance, rows, paid = 1500.0, [], []
            scale = rng.uniform(0.6, 1.4)
            for i, ts in enumerate(stamps):
                if i % (30 * 48) == 0 and i:  # a monthly recharge of about the month's use
                    amount = round(1750.0 * scale, -1)
                    balance += amount
                    paid.append({"consumer_id": cid, "ts": ts, "amount_inr": amount})
                kwh = round(rng.uniform(0.05, 0.35) * scale, 3)
                balance -= kwh * 6.0
                rows.append((cid, ts, kwh, round(balance, 2)))
            with storage.transaction(conn):
                storage.readings.insert_readings(conn, rows)
                storage.readings.insert_recharges(conn, paid)
                storage.readings.refresh_daily(conn, cid)
        copies = {
            table: [col for col in _columns(conn, table) if col not in ("consumer_id", "recharge_id")]
            for table in ("readings", "recharges", "daily")
        }
        for c in range(TEMPLATES, connections):
            with storage.transaction(conn):
                for table, cols in copies.items():
                    names = ", ".join(cols)
                    conn.execute(
                        f"INSERT INTO {table} (consumer_id, {names}) "  # noqa: S608 (table names from PRAGMA)
                        f"SELECT :cid, {names} FROM {table} WHERE consumer_id = :template",
                        {"cid": consumer_id(c), "template": consumer_id(c % TEMPLATES)},
                    )
            if c % 100 == 99:
                print(f"  built {c + 1} of {connections} connections ({time.perf_counter() - started:.0f} s)")
        with storage.transaction(conn):
            storage.meta.bump_data_version(conn)
            storage.meta.set_meta(conn, "bench_browser_complete", f"v2 {connections}x{days}")
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"  database built in {time.perf_counter() - started:.0f} s ({load()})")


def ensure_db(connections: int, days: int, rebuild: bool) -> Path:
    path = db_file(connections, days)
    if path.exists() and not rebuild:
        with storage.open_db(path) as conn:
            if storage.meta.get_meta(conn, "bench_browser_complete") == f"v2 {connections}x{days}":
                return path
    print(f"building {path.name}: {connections} connections x {days} days x 48 readings ({load()})")
    build(path, connections, days)
    return path


def session_cookies(path: Path, accounts: list[int], env: dict[str, str]) -> list[str]:
    """A live server-side session per account (``lib.sessions.start`` + ``claim``, the suite's clock and the
    server's OTP key), each account speaking English; the cookie token of each, in order."""
    from lib import config, otp, sessions
    from tests.browser.harness import FIXED_NOW

    key = otp.load_key(config.load_settings(env=env, secrets_path=None))
    now = dt.datetime.fromisoformat(FIXED_NOW.replace("Z", "+00:00"))
    tokens = []
    with storage.open_db(path, run_migrations=False) as conn:
        for index in accounts:
            account = storage.accounts.account_by_mobile(conn, account_mobile(index))
            if account is None:
                raise SystemExit(f"no account {index} in {path.name}: use more --connections")
            storage.accounts.set_account_language(conn, int(account["account_id"]), "en")
            started = sessions.start(conn, key, int(account["account_id"]), now=now)
            token = sessions.claim(conn, key, started.handoff, now=now)
            assert token is not None
            tokens.append(token)
    return tokens


# --- the bare app -------------------------------------------------------------------------------------

BARE_APP = '''
"""The bare app of bench/bench_browser.py: an Overview page of text and a Compare page with a period radio and
one plotly chart whose traces have the point counts of the product's Compare chart (BARE_POINTS)."""
import json
import os

import numpy as np
import plotly.graph_objects as go
import streamlit as st

POINTS = json.loads(os.environ["BARE_POINTS"])  # {"30d": [points per trace], "1y": [...]}


def overview():
    # The product's Overview draws plotly charts too, so plotly.js is loaded before the switch to Compare.
    st.title("Overview")
    st.write("A bare page: no data, no sign-in.")
    days = np.arange("2026-10-27", "2026-11-26", dtype="datetime64[D]")
    st.plotly_chart(go.Figure(go.Bar(x=days, y=np.ones(len(days)))), key="bare_overview_chart")


def compare():
    st.title("Compare")
    period = st.radio("Period", ["30d", "1y"], key="period", horizontal=True)
    rng = np.random.default_rng(7)
    traces = []
    for i, n in enumerate(POINTS[period]):
        days = np.arange(np.datetime64("2026-11-25") - n + 1, np.datetime64("2026-11-26"), dtype="datetime64[D]")
        traces.append(go.Scatter(x=days, y=1000 - np.cumsum(rng.uniform(20, 60, n)), mode="lines", name=f"c{i}"))
    st.plotly_chart(go.Figure(data=traces, layout={"title": {"text": "Balance"}}), key="bare_chart")


# Like the product's sidebar language switch: a radio on every page (Streamlit loads each widget's code on
# its first use, so the product's Overview has loaded the radio before the switch to Compare).
st.sidebar.radio("Language", ["हिन्दी", "English"], index=1, key="lang")
st.navigation([st.Page(overview, title="Overview", default=True), st.Page(compare, title="Compare")]).run()
'''


@dataclass
class Server:
    """A streamlit server process on a free port of 127.0.0.1 (``url``, ``pid`` for ``ps``)."""

    url: str
    process: subprocess.Popen[bytes]
    log_path: Path

    @property
    def pid(self) -> int:
        return int(self.process.pid)

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far (``/proc/PID/stat``), seconds."""
        return _stat_cpu(Path(f"/proc/{self.pid}/stat"))

    def main_thread_cpu(self) -> float:
        """CPU seconds of the server's main thread alone (``/proc/PID/task/PID/stat``): Streamlit's event
        loop (HTTP, the frontend's files, websockets, sending each run's messages); the rest of
        :meth:`cpu_seconds` is other threads: the script runs' (each run has its own, ended ones
        included) and the worker pools they use (Arrow's, for instance)."""
        return _stat_cpu(Path(f"/proc/{self.pid}/task/{self.pid}/stat"))

    def rss_mb(self) -> float:
        """Resident memory of the server process (``ps -o rss``), in MB (10^6 bytes)."""
        out = subprocess.run(  # noqa: S603
            ["/bin/ps", "-o", "rss=", "-p", str(self.pid)], capture_output=True, text=True, check=True
        )
        return int(out.stdout.strip()) * 1024 / 1e6


def _stat_cpu(stat: Path) -> float:
    """utime + stime of a ``/proc`` stat file, in seconds."""
    fields = stat.read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def bare_server(work_dir: Path, points: dict[str, list[int]]) -> Iterator[Server]:
    """``streamlit run bare.py`` with the harness's flags, its traces ``points``."""
    from tests.browser.harness import free_port

    work_dir.mkdir(parents=True, exist_ok=True)
    script = work_dir / "bare.py"
    script.write_text(BARE_APP)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("METERMITRA_")}
    env.update(BARE_POINTS=_json(points), PYTHONUNBUFFERED="1")
    log_path = work_dir / "bare.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (fixed argv)
            [
                sys.executable,
                "-m",
                "streamlit",
                "run",
                str(script),
                "--server.address",
                "127.0.0.1",
                "--server.port",
                str(port),
                "--server.headless",
                "true",
                "--server.fileWatcherType",
                "none",
                "--browser.gatherUsageStats",
                "false",
            ],
            cwd=work_dir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = Server(f"http://127.0.0.1:{port}/", process, log_path)
    try:
        _wait_healthy(server)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@contextlib.contextmanager
def product_server(
    work_dir: Path, db_path: Path, extra_env: dict[str, str] | None = None
) -> Iterator[tuple[Server, dict[str, str]]]:
    """The dashboard as the browser journeys start it (``serve.py``, fixed clock, outbox), on ``db_path``,
    ``extra_env`` added to its environment; yields the server and its environment (for the session key)."""
    from tests.browser.harness import AppServer, server_env

    with AppServer.start(work_dir, database=str(db_path), env=extra_env) as app:
        yield Server(app.url, app.process, app.log_path), server_env(db_path, camp=False)


def _json(value: Any) -> str:
    import json

    return json.dumps(value)


def _wait_healthy(server: Server, timeout: float = 60.0) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"streamlit exited: {server.log_path.read_text(errors='replace')[-2000:]}")
        try:
            with urllib.request.urlopen(server.url + "_stcore/health", timeout=2) as response:  # noqa: S310
                if response.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.1)  # the socket is not listening yet
    raise TimeoutError("bare streamlit not healthy")


# --- the browser ----------------------------------------------------------------------------------------

# On top of the harness's run watch (tests/browser/harness.py: every change of the script state, counted
# and time-stamped): when the pointer went down (the click's start), and a 10 ms poll that stamps when the
# target chart first showed the wanted number of points (plotly's own per-trace ``_length`` of the drawn
# figure, so a chart still showing the old period does not count). Times are performance.now() of the page.
_WATCH = """
window.__mmPress = null;
document.addEventListener("pointerdown", () => { window.__mmPress = performance.now(); }, true);
window.__mmChart = TARGET;
window.__mmPoints = (sel) => {
  const gd = document.querySelector(sel + " .js-plotly-plot");
  if (!gd || !gd._fullLayout || !gd._fullData || !gd.querySelector(".main-svg")) return -1;
  return gd._fullData.reduce((n, trace) => n + (trace._length || 0), 0);
};
window.__mmTraces = (sel) => {
  const gd = document.querySelector(sel + " .js-plotly-plot");
  return gd && gd._fullData ? gd._fullData.map((trace) => trace._length || 0) : [];
};
setInterval(() => {
  const target = window.__mmChart;
  if (!target) return;
  const n = window.__mmPoints(target.sel);
  const ok = n > target.lo && n <= target.hi;
  if (ok && target.at === null) target.at = performance.now();
  if (!ok) target.at = null;
}, 10);
"""
# Done: a run started after ``before`` changes (the harness's run watch: the websocket's run messages and
# the script-state attribute), the app idle and connected, the chart drawn, and nothing changed for
# ``quiet`` ms (a rerun right after a run is part of the same action).
_DONE = """([before, quiet]) => {
  const app = document.querySelector("[data-testid='stApp']");
  const target = window.__mmChart;
  if (!app || !target || target.at === null || window.__mmStateChanges <= before) return false;
  if (window.__mmRunning) return false;
  if (app.getAttribute("data-test-script-state") !== "notRunning") return false;
  if (app.getAttribute("data-test-connection-state") !== "CONNECTED") return false;
  return performance.now() - Math.max(window.__mmLastChange, target.at) >= quiet;
}"""
QUIET_MS = 300
SESSION_TIMEOUT_MS = 180_000
CROWD_TIMEOUT_MS = 900_000  # 20 sessions at load 35-40 took up to 530 s
INFINITY = 1e12


@dataclass
class Target:
    """The chart that shows an action is done: its CSS selector and the open-closed range of its points."""

    sel: str
    lo: float = 0
    hi: float = INFINITY

    def js(self) -> str:
        return _json({"sel": self.sel, "lo": self.lo, "hi": self.hi, "at": None})


@dataclass
class App:
    """One side of the comparison: its server, the chart's selector and the words on its links and radio."""

    name: str
    server: Server
    chart: str
    compare_link: str
    period_label: str
    year_option: str
    compare_path: str
    cookies: Callable[[int], list[str]] | None = None  # n -> session tokens (the product)
    errors: list[str] = field(default_factory=list)


def new_tab(browser: Any, app: App, token: str | None, target: Target | None) -> Any:
    from tests.browser.harness import _RUN_WATCH, DEVICES

    context = browser.new_context(**DEVICES["desktop"], locale="en-IN")
    context.set_default_timeout(SESSION_TIMEOUT_MS)
    context.add_init_script(_RUN_WATCH + _WATCH.replace("TARGET", target.js() if target else "null"))
    if token is not None:
        from lib.sessions import COOKIE_NAME

        context.add_cookies([{"name": COOKIE_NAME, "value": token, "url": app.server.url}])
    page = context.new_page()
    page.on("console", lambda m: _console(app, m))
    page.on("pageerror", lambda e: app.errors.append(f"pageerror: {e}"))
    return page


def _console(app: App, message: Any) -> None:
    """A console error counts, except the bare app's missing favicon (it has none) and Streamlit's own probe
    for its base path when a page is opened by its URL (``/compare/_stcore/host-config`` and ``…/health``
    answer 404, then the frontend uses ``/``), which both apps get."""
    url = str((message.location or {}).get("url", ""))
    probe = url.endswith(("/_stcore/host-config", "/_stcore/health")) and f"/{app.compare_path}/" in url
    if message.type == "error" and not probe and not (app.name == "bare" and url.endswith("favicon.png")):
        app.errors.append(f"console: {message.text} ({url})")


def wait_done(page: Any, before: int, timeout_ms: float = SESSION_TIMEOUT_MS) -> dict[str, float]:
    """Wait for :data:`_DONE`; the page's times of the press, the chart, the last state change (ms)."""
    page.wait_for_function(_DONE, arg=[before, QUIET_MS], polling=20, timeout=timeout_ms)
    return dict(
        page.evaluate(
            """() => ({press: window.__mmPress, chart: window.__mmChart.at, last: window.__mmLastChange,
                       origin: performance.timeOrigin})"""
        )
    )


class LostClick(RuntimeError):
    """A click after which the page sent no rerun to the server within ``LOST_CLICK_MS``."""


def timed_click(page: Any, locator: Any, target: Target, timeout_ms: float = SESSION_TIMEOUT_MS) -> float:
    """Seconds from the pointer going down on ``locator`` to the target chart drawn and the app idle.

    Raises :class:`LostClick` when the frontend sent no ``rerun_script`` BackMsg within the harness's
    ``LOST_CLICK_MS`` (the click was not taken: never seen in BENCHMARKS.md section 6's "Lost clicks",
    but a round reports it as its error instead of waiting ``timeout_ms``)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    from tests.browser.harness import LOST_CLICK_MS

    before = int(page.evaluate("window.__mmStateChanges"))
    reruns = int(page.evaluate("window.__mmReruns"))
    page.evaluate(f"() => {{ window.__mmChart = {target.js()}; window.__mmPress = null; }}")
    locator.click()
    try:
        page.wait_for_function("(sent) => window.__mmReruns > sent", arg=reruns, timeout=LOST_CLICK_MS)
    except PlaywrightTimeout as error:
        raise LostClick(
            f"a lost click: no rerun sent to the server {LOST_CLICK_MS / 1000:.0f} s after it"
        ) from error
    times = wait_done(page, before, timeout_ms)
    if times["press"] is None:
        raise RuntimeError("the click was not seen by the page")
    return (max(times["chart"], times["last"]) - times["press"]) / 1000


def first_load(page: Any, url: str) -> None:
    from tests.browser.harness import FIRST_LOAD_QUIET_MS, IDLE

    page.goto(url)
    page.wait_for_selector(IDLE)
    # Idle, quiet, and every plotly chart of the page drawn (plotly.js is loaded lazily by the first chart:
    # the timed switch must not pay for the page before it).
    page.wait_for_function(
        """(quiet) => performance.now() - window.__mmLastChange >= quiet
          && [...document.querySelectorAll("[data-testid='stPlotlyChart']")].every(
               (chart) => chart.querySelector(".js-plotly-plot .main-svg"))""",
        arg=FIRST_LOAD_QUIET_MS,
        polling=50,
    )


def compare_link(page: Any, app: App) -> Any:
    return page.get_by_test_id("stSidebar").get_by_role("link", name=app.compare_link, exact=True)


def year_radio(page: Any, app: App) -> Any:
    group = page.get_by_test_id("stRadio").filter(
        has=page.get_by_test_id("stWidgetLabel").get_by_text(app.period_label, exact=True)
    )
    return group.get_by_text(app.year_option, exact=True)


def exceptions(page: Any) -> int:
    return int(page.get_by_test_id("stException").count())


def chart_points(browser: Any, app: App, token: str | None) -> dict[str, list[int]]:
    """Points per trace of ``app``'s Compare chart for 30 days and 1 year, read in a warm-up visit (the
    Overview, the Compare link, the period 1 year): each server has run every page once before a figure
    is taken (the first run of a script pays for its imports)."""
    page = new_tab(browser, app, token, None)
    first_load(page, app.server.url)
    timed_click(page, compare_link(page, app), Target(app.chart))
    short = list(page.evaluate("(sel) => window.__mmTraces(sel)", app.chart))
    timed_click(page, year_radio(page, app), Target(app.chart, lo=sum(short)))
    year = list(page.evaluate("(sel) => window.__mmTraces(sel)", app.chart))
    page.context.close()
    if sum(year) <= sum(short):
        raise RuntimeError(f"the 1-year chart has no more points than the 30-day one: {year} vs {short}")
    return {"30d": short, "1y": year}


def click_round(browser: Any, app: App, token: str | None, mid: float) -> tuple[float, float, float, float]:
    """One visit: the Overview, then (timed) the Compare link and (timed) the period 30 days → 1 year;
    also the server's CPU seconds for each of the two (read when the action is done: its runs over and
    the app quiet)."""
    page = new_tab(browser, app, token, None)
    try:
        first_load(page, app.server.url)
        cpu = app.server.cpu_seconds()
        switch = timed_click(page, compare_link(page, app), Target(app.chart, hi=mid))
        between = app.server.cpu_seconds()
        period = timed_click(page, year_radio(page, app), Target(app.chart, lo=mid))
        after = app.server.cpu_seconds()
        if exceptions(page):
            app.errors.append(f"exception box on {app.name}'s Compare")
        return switch, period, between - cpu, after - between
    finally:
        page.context.close()


def bench_click(browser: Any, bare: App, product: App, rounds: int, mid: float) -> dict[str, Any]:
    """Interleaved rounds of bare / product (a new account each round: its connections' caches cold) /
    product (the same account every round: caches warm)."""
    tokens = product.cookies(rounds + 1) if product.cookies else []
    warm = tokens[0]
    times: dict[str, list[tuple[float, float, float, float]]] = {
        "bare": [],
        "product, new account": [],
        "product, warm": [],
    }
    for r in range(rounds):
        steps: list[tuple[str, Callable[[], tuple[float, float, float, float]]]] = [
            ("bare", lambda: click_round(browser, bare, None, mid)),
            ("product, new account", lambda r=r: click_round(browser, product, tokens[r + 1], mid)),
            ("product, warm", lambda: click_round(browser, product, warm, mid)),
        ]
        if r % 2:
            steps.reverse()
        got: dict[str, str] = {}
        for name, step in steps:
            try:
                times[name].append(step())
                v = times[name][-1]
                got[name] = f"{v[0]:.3f}/{v[1]:.3f} s (server CPU {v[2]:.2f}/{v[3]:.2f} s)"
            except Exception as error:  # noqa: BLE001 (a lost click or a timeout: this round's error, counted)
                ROUND_ERRORS[name].append(
                    f"round {r + 1}: {type(error).__name__}: {str(error).splitlines()[0]}"
                )
                got[name] = f"ERROR {ROUND_ERRORS[name][-1]}"
        print(
            f"  click round {r + 1}: " + "  ".join(f"{n} {g}" for n, g in got.items()) + f"  ({load()})",
            flush=True,
        )
    return times


# Errors of the click rounds per row (a lost click, a timeout), counted in the report.
ROUND_ERRORS: dict[str, list[str]] = {"bare": [], "product, new account": [], "product, warm": []}


@dataclass
class Crowd:
    """``n`` sessions opening the Compare page at once: when each was done (s after the start), errors."""

    n: int
    done: list[float]
    errors: list[str]
    server_cpu: float  # seconds of the server process from the start until every session was done
    loop_cpu: float  # of which its main thread (the event loop); the rest ran the scripts (and their pools)

    @property
    def settle(self) -> float:
        """When the last session was done (s); infinite when one never was (a timeout, an exception)."""
        return max(self.done) if len(self.done) == self.n else float("inf")


def crowd(browser: Any, app: App, n: int, mid: float) -> Crowd:
    """``n`` contexts of ``browser`` (a chromium of this crowd's own: :func:`crowd_browser`, which also
    closes them) open ``app``'s Compare page at the same moment (each its own session, the product's each
    signed in by its own account's cookie); wait for every chart and an idle app, all sessions against one
    deadline (``CROWD_TIMEOUT_MS`` after the start)."""
    tokens: list[str | None] = list(app.cookies(n)) if app.cookies else [None] * n
    pages = [new_tab(browser, app, tokens[i], Target(app.chart, hi=mid)) for i in range(n)]
    for page in pages:
        page.goto("about:blank")
    url = app.server.url + app.compare_path
    errors_before = len(app.errors)
    cpu, loop = app.server.cpu_seconds(), app.server.main_thread_cpu()
    start_ms = time.time() * 1000

    def left() -> float:
        return max(start_ms + CROWD_TIMEOUT_MS - time.time() * 1000, 1000)

    for page in pages:  # navigations started in the page, so no goto waits for the one before
        page.evaluate("(url) => { setTimeout(() => { window.location.href = url; }, 0); }", url)
    done: list[float] = []
    errors: list[str] = []
    for i, page in enumerate(pages):
        try:
            page.wait_for_url(url + "*", timeout=left())
            times = wait_done(page, 0, left())
            done.append((times["origin"] + max(times["chart"], times["last"]) - start_ms) / 1000)
            if exceptions(page):
                errors.append(f"session {i}: exception box")
        except Exception as error:  # noqa: BLE001 (a failed session is counted, not fatal)
            errors.append(f"session {i}: {type(error).__name__}: {str(error).splitlines()[0]}")
    cpu, loop = app.server.cpu_seconds() - cpu, app.server.main_thread_cpu() - loop
    errors += app.errors[errors_before:]
    result = Crowd(n, done, errors, cpu, loop)
    print(
        f"  {app.name} x{n}: settled {result.settle:.2f} s ({len(done)} of {n} done), server CPU {cpu:.2f} s"
        f" (event loop {loop:.2f} s, scripts {cpu - loop:.2f} s), errors {len(errors)}  ({load()})",
        flush=True,
    )
    return result


CLOSE_TIMEOUT_S = 60.0  # closing 20 contexts hung for minutes in playwright at load 35-48


def _chromium_mains() -> set[int]:
    """The chromium main processes (no ``--type=``) among this process's descendants (``/proc``)."""
    procs: dict[int, tuple[int, list[bytes]]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            procs[int(entry.name)] = (ppid, (entry / "cmdline").read_bytes().split(b"\0"))
        except (OSError, IndexError, ValueError):  # gone meanwhile
            continue
    mine, grown = {os.getpid()}, True
    while grown:
        new = {pid for pid, (ppid, _) in procs.items() if ppid in mine} - mine
        mine |= new
        grown = bool(new)
    return {
        pid
        for pid in mine
        if pid in procs
        and Path(procs[pid][1][0].decode(errors="replace")).name == "chromium"
        and not any(arg.startswith(b"--type=") for arg in procs[pid][1])
    }


def _kill_group(pid: int) -> bool:
    """SIGKILL the process group of chromium ``pid`` (its own group: playwright starts it detached), only
    if that process is still the chromium this script started; whether it was killed."""
    try:
        if Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0].split(b"/")[-1] != b"chromium":
            return False
        if os.getpgid(pid) != pid:
            return False
        os.killpg(pid, signal.SIGKILL)
    except (OSError, ProcessLookupError):
        return False
    return True


@contextlib.contextmanager
def crowd_browser(browser_type: Any) -> Iterator[Any]:
    """A chromium of one crowd's own (launched as the journeys launch theirs), so every crowd of either app
    starts from a fresh browser with nothing of the crowd before it. At the end the whole browser is closed
    (not context by context); if that takes over ``CLOSE_TIMEOUT_S``, its process group is killed (the
    figures are printed before)."""
    from tests.browser.harness import launch_options

    before = _chromium_mains()
    browser = browser_type.launch(**launch_options())
    started = _chromium_mains() - before
    try:
        yield browser
    finally:
        closed = threading.Event()
        killed: list[int] = []

        def watchdog() -> None:
            if not closed.wait(CLOSE_TIMEOUT_S):
                killed.extend(pid for pid in started if _kill_group(pid))

        guard = threading.Thread(target=watchdog, name="bench-close-watchdog", daemon=True)
        guard.start()
        began = time.monotonic()
        try:
            browser.close()
        except Exception as error:  # noqa: BLE001 (a killed browser's close raises; the run goes on)
            print(f"  closing the browser: {type(error).__name__}: {str(error).splitlines()[0]}")
        finally:
            closed.set()
            guard.join()
        seconds = time.monotonic() - began
        if killed:
            print(f"  the browser did not close in {CLOSE_TIMEOUT_S:.0f} s: process group {killed} killed")
        elif seconds > 5:
            print(f"  closing the browser took {seconds:.0f} s ({load()})")


def wait_server_quiet(server: Server, *, cpu_share: float = 0.05, timeout: float = 60.0) -> None:
    """Wait (at most ``timeout`` s) until ``server`` used under ``cpu_share`` of a core over one second: the
    sessions of the crowd before have been cleaned up, so no crowd pays for another's end."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        before = server.cpu_seconds()
        time.sleep(1.0)  # a measuring window, not a wait for a state
        if server.cpu_seconds() - before < cpu_share:
            return


def bench_crowd(
    browser_type: Any, bare: App, product: App, n: int, rounds: int, mid: float
) -> dict[str, list[Crowd]]:
    """Interleaved rounds of 1 and ``n`` sessions of each app (order reversed every other round), each crowd
    in a chromium of its own, started once both servers are quiet."""
    results: dict[str, list[Crowd]] = {f"{a} {k}": [] for a in ("bare", "product") for k in (1, n)}
    for r in range(rounds):
        steps = [("bare", bare, 1), ("product", product, 1), ("bare", bare, n), ("product", product, n)]
        if r % 2:
            steps.reverse()
        for name, app, k in steps:
            for server in (bare.server, product.server):
                wait_server_quiet(server)
            with crowd_browser(browser_type) as browser:
                result = crowd(browser, app, k, mid)
            results[f"{name} {k}"].append(result)
            print(
                f"  crowd round {r + 1}: {name} x{k}: settled {result.settle:.2f} s"
                f" (first {min(result.done, default=float('nan')):.2f} s, {len(result.done)} of {k} done), server CPU {result.server_cpu:.2f} s,"
                f" errors {len(result.errors)}"
                f"  ({load()})",
                flush=True,
            )
            for error in result.errors[:5]:
                print(f"    {error}")
    return results


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def token_source(path: Path, env: dict[str, str], first: int, limit: int) -> Callable[[int], list[str]]:
    """Session cookies for the next ``n`` accounts not used yet (each session its own household)."""
    state = {"next": first}

    def take(n: int) -> list[str]:
        start = state["next"]
        if start + n > limit:
            raise SystemExit(f"only {limit} accounts in {path.name}: use more --connections")
        state["next"] += n
        return session_cookies(path, list(range(start, start + n)), env)

    return take


def main(argv: list[str] | None = None) -> None:  # noqa: PLR0915 (one report, in order)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=5, help="click rounds (medians)")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions")
    parser.add_argument("--crowd-rounds", type=int, default=1)
    parser.add_argument("--rss-sessions", type=int, default=10)
    parser.add_argument("--only", choices=["click", "crowd", "rss"], nargs="*", default=None)
    parser.add_argument("--rebuild", action="store_true", help="build the database again")
    parser.add_argument(
        "--product-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="added to the product server's environment (repeatable), e.g."
        " STREAMLIT_RUNNER_POST_SCRIPT_GC=true to run with a config option changed",
    )
    parser.add_argument(
        "--quick", action="store_true", help="100 connections x 60 days, 2 rounds, 5 sessions"
    )
    args = parser.parse_args(argv)
    if args.quick:
        args.connections, args.days, args.rounds = 100, 60, 2
        args.sessions, args.crowd_rounds, args.rss_sessions = 5, 1, 5
    parts = set(args.only or ["click", "crowd", "rss"])
    product_env = dict(item.split("=", 1) for item in args.product_env)
    from lib import i18n
    from lib.ui.compare import RANGE_KEYS
    from tests.browser.harness import browser_missing_reason, launch_chromium

    if reason := browser_missing_reason():
        raise SystemExit(f"cannot run: {reason}")
    print(f"bench_browser: {' '.join(sys.argv[1:]) or '(defaults)'}  ({load()}, {os.cpu_count()} CPUs)")
    path = ensure_db(args.connections, args.days, args.rebuild)
    accounts = (args.connections + PER_ACCOUNT - 1) // PER_ACCOUNT
    work = Path(tempfile.mkdtemp(prefix="mm-bench-browser-"))
    report: list[str] = []

    def product_app(server: Server, env: dict[str, str], first_account: int) -> App:
        return App(
            "product",
            server,
            ".st-key-compare_chart",
            i18n.t("nav_compare", "en"),
            i18n.t("compare_range", "en"),
            i18n.t(RANGE_KEYS["1y"], "en"),
            "compare",
            cookies=token_source(path, env, first_account, accounts),
        )

    def bare_app(server: Server) -> App:
        return App("bare", server, ".st-key-bare_chart", "Compare", "Period", "1y", "compare")

    with launch_chromium() as pool, product_server(work / "product", path, product_env) as (server, env):
        browser = pool.browser
        product = product_app(server, env, 0)
        points = chart_points(browser, product, product.cookies(1)[0])
        mid = (sum(points["30d"]) + sum(points["1y"])) / 2
        print(f"product Compare chart: points per trace 30 days {points['30d']}, 1 year {points['1y']}")
        print(f"product server RSS after one visit: {server.rss_mb():.0f} MB")
        with bare_server(work / "bare", points) as bare_srv:
            bare = bare_app(bare_srv)
            if chart_points(browser, bare, None) != points:  # the same warm-up visit as the product's
                raise RuntimeError("the bare app's Compare chart has not the product's points per trace")
            if "click" in parts:
                print(f"\n1. click -> chart, {args.rounds} interleaved rounds ({load()})")
                times = bench_click(browser, bare, product, args.rounds, mid)
                base = times["bare"]
                for name, values in times.items():
                    if not values or not base:
                        line = f"  {name:22s} no round finished: {ROUND_ERRORS[name][:3]}"
                        report.append(line)
                        print(line)
                        continue
                    switch, period, cpu_switch, cpu_period = (
                        median([v[i] for v in values]) for i in range(4)
                    )
                    line = (
                        f"  {name:22s} Overview -> Compare {switch:.3f} s, 30 days -> 1 year {period:.3f} s,"
                        f" server CPU {cpu_switch:.2f} s / {cpu_period:.2f} s"
                    )
                    if name != "bare":
                        base_switch, base_period, base_cpu_switch, base_cpu_period = (
                            median([v[i] for v in base]) for i in range(4)
                        )
                        line += (
                            f"\n  {'':22s} ratio {switch / base_switch:.2f}x / {period / base_period:.2f}x"
                            f"   goal <= 1.5x   (server CPU {cpu_switch / base_cpu_switch:.2f}x"
                            f" / {cpu_period / base_cpu_period:.2f}x)"
                        )
                    report.append(line)
                    print(line)
                report.append(
                    f"  (click: {load()}; rounds with an error (lost click, timeout), left out of the medians: "
                    + ", ".join(f"{n} {len(e)} of {args.rounds}" for n, e in ROUND_ERRORS.items())
                    + f"; page errors: product {product.errors[:3]}, bare {bare.errors[:3]})"
                )
            if "crowd" in parts:
                print(
                    f"\n2. {args.sessions} sessions at once, {args.crowd_rounds} interleaved rounds ({load()})"
                )
                crowds = bench_crowd(
                    browser.browser_type, bare, product, args.sessions, args.crowd_rounds, mid
                )
                n = args.sessions
                settle = {k: median([c.settle for c in v]) for k, v in crowds.items()}
                errors = {k: sum(len(c.errors) for c in v) for k, v in crowds.items()}
                cpu = {k: median([c.server_cpu for c in v]) for k, v in crowds.items()}
                loop = {k: median([c.loop_cpu for c in v]) for k, v in crowds.items()}
                for key in crowds:
                    line = (
                        f"  {key:12s} settled (median) {settle[key]:.2f} s, server CPU {cpu[key]:.2f} s"
                        f" (event loop {loop[key]:.2f} s, scripts {cpu[key] - loop[key]:.2f} s),"
                        f" errors {errors[key]}"
                    )
                    report.append(line)
                    print(line)
                lines = [
                    f"  product x{n} / bare x{n}: {settle[f'product {n}'] / settle[f'bare {n}']:.2f}x   goal <= 1.2x;"
                    f" errors {errors[f'product {n}']}   goal 0",
                    f"  product x1 / bare x1: {settle['product 1'] / settle['bare 1']:.2f}x",
                    f"  server CPU, product x{n} / bare x{n}: {cpu[f'product {n}'] / cpu[f'bare {n}']:.2f}x"
                    f" ({cpu[f'product {n}'] / n:.2f} s vs {cpu[f'bare {n}'] / n:.2f} s a session)",
                    f"  bare app's own slowdown 1 -> {n}: {settle[f'bare {n}'] / settle['bare 1']:.2f}x;"
                    f" product's 1 -> {n}: {settle[f'product {n}'] / settle['product 1']:.2f}x",
                    f"  (crowd: {load()})",
                ]
                report += lines
                print("\n".join(lines))
    if "rss" in parts:
        k = args.rss_sessions
        print(
            f"\n3. server RSS, {k} sessions on {args.connections} connections x {args.days} days ({load()})"
        )
        with launch_chromium() as pool, product_server(work / "rss", path, product_env) as (server, env):
            product = product_app(server, env, accounts - k)
            started = server.rss_mb()
            with crowd_browser(pool.browser.browser_type) as browser:
                result = crowd(browser, product, k, INFINITY)
                after = server.rss_mb()  # the sessions still open
            lines = [
                f"  product server RSS: at start {started:.0f} MB, after {k} sessions on Compare {after:.0f} MB"
                f"   goal <= 500 MB; sessions settled in {result.settle:.2f} s, errors {len(result.errors)}",
                f"  (rss: {load()})",
            ]
            report += lines
            print("\n".join(lines), flush=True)
    print("\nsummary:")
    print("\n".join(report))


if __name__ == "__main__":
    main()
