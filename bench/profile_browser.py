"""Where the browser's time goes on Compare (issue 15): the renderer's CPU per action, per part of the page.

    .venv/bin/python bench/profile_browser.py                      # every variant, 3 interleaved rounds
    .venv/bin/python bench/profile_browser.py --rounds 5 --variants full no_tables no_profile

One headless chromium (Debian's, launched as the browser journeys launch it) opens, in a new tab (a new
Streamlit session) each round, the Overview and then (timed) clicks the sidebar's Compare link, then (timed)
changes the period 30 days → 1 year (a fragment rerun), as ``bench/bench_browser.py`` does (its helpers:
the run watch, the chart's point counts, the server-side session cookie). For each action it reads, before
and after, the page's renderer counters over CDP (``Performance.enable`` + ``Performance.getMetrics``):

- ``TaskDuration`` (all the renderer main thread's work), ``ScriptDuration`` (JavaScript),
  ``LayoutDuration`` and ``RecalcStyleDuration``, in seconds;
- the CPU seconds of every chromium process (``/proc``: the renderer's other threads, the GPU and browser
  processes too) and of the app server;
- the websocket bytes the page received (a counting ``WebSocket`` subclass put in by an init script);
- the wall time from the pointer going down until the chart shows the period's points and Streamlit is
  idle for 300 ms (bench_browser's ``timed_click``; the 300 ms of quiet are not counted).

Attribution: every **variant** is the product with one part taken away, each its own server started from a
throw-away serve script in ``bench/results/profile/`` that patches the part out when its module is first
imported (nothing in ``lib/`` knows about it): ``no_tables`` (the shares and peak tables), ``no_profile``
(the hour-of-day expander), ``no_monthly_spend`` (the monthly-spend chart), ``no_banner`` (the low-balance
warning), ``no_demo_phone`` (the local demo's on-screen phone), ``no_html`` (every ``st.html``: the
sidebar's scripts and the phone CSS), ``bare_page`` (all of these at once), ``st_table`` / ``md_table`` (the two
tables drawn with ``st.table`` / as Markdown tables instead of ``st.dataframe``: historical, section 7 runs 6-7;
since h50 the tables are Markdown and both equal ``full``), ``no_keypad_observer`` / ``no_sidebar_scripts``
(the frame's literal scripts), ``no_page_menu``, ``one_chart`` (the Compare chart alone), ``plain_chart_config``
(the Compare chart's points as plain lines in plotly's defaults) and ``no_download`` (the CSV button).
The ``*_net`` columns take away the harness's own polling (the same page idle under the same polls,
:func:`idle_rates`); each round also measures a fresh load of Compare in a new session (:func:`fresh_load`:
the 20-session crowd's unit). The cost of a part = full − variant. The bare
app of bench_browser (one plotly chart of the same points) is the floor. Rounds are interleaved (the order
reversed every other round); medians are printed with the load average: the 2 cores are shared.

The database is ``bench/results/browser_1000x365.db`` (bench_browser's; copy it from /work/benchdb, never
link it: the servers write sessions into it). Every variant's account is warm (its caches filled by a
first visit); ``full, new account`` takes an account never seen each round.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_browser as bb  # noqa: E402

PROFILE_DIR = bb.RESULTS / "profile"

# What each variant takes away: (module, attribute) replaced by a no-op once the module is imported.
_NOOP = "noop"
VARIANTS: dict[str, list[tuple[str, str, str]]] = {
    "full": [],
    "no_tables": [("lib.ui.compare", "_draw_tables", _NOOP)],
    "no_profile": [("lib.ui.compare", "_draw_profile", _NOOP)],
    "no_monthly_spend": [("lib.ui.ledger_panels", "draw_monthly_spend", _NOOP)],
    "no_banner": [("lib.ui.chrome", "draw_low_balance_warning", _NOOP)],
    "no_demo_phone": [("lib.ui.chrome", "draw_demo_chrome", _NOOP)],
    "no_html": [("streamlit", "html", _NOOP)],
    "bare_page": [
        ("lib.ui.compare", "_draw_tables", _NOOP),
        ("lib.ui.compare", "_draw_profile", _NOOP),
        ("lib.ui.ledger_panels", "draw_monthly_spend", _NOOP),
        ("lib.ui.chrome", "draw_low_balance_warning", _NOOP),
        ("lib.ui.chrome", "draw_demo_chrome", _NOOP),
        ("streamlit", "html", _NOOP),
    ],
    "st_table": [("lib.ui.compare", "st", "st_table")],
    # the two tables as Markdown (no Arrow); since h50 the product draws them so itself (then md_table = full)
    "md_table": [("lib.ui.compare", "st", "md_table")],
    # The sidebar's two literal scripts (the cookie script carries data and stays).
    "no_keypad_observer": [("lib.ui.frame", "_NUMERIC_KEYPAD_SCRIPT", "empty_script")],
    "no_sidebar_scripts": [
        ("lib.ui.frame", "_NUMERIC_KEYPAD_SCRIPT", "empty_script"),
        ("lib.ui.frame", "_SIDEBAR_CLOSER_SCRIPT", "empty_script"),
    ],
    "no_page_menu": [("lib.ui.frame", "_draw_page_menu", _NOOP)],  # the phone page menu's CSS + links
    "one_chart": [  # the Compare chart alone below the controls
        ("lib.ui.compare", "_draw_tables", _NOOP),
        ("lib.ui.compare", "_draw_profile", _NOOP),
        ("lib.ui.ledger_panels", "draw_monthly_spend", _NOOP),
    ],
    # The Compare chart's traces (same points) as plain lines in plotly's default layout and config, as the
    # bare app draws its chart: no theme, hover template, fonts, disconnection shapes, forecast fill, markers.
    "plain_chart_config": [
        ("lib.charts", "compare_figure", "plain_figure"),
        ("lib.ui.widgets", "chart_config", "default_config"),
    ],
    "no_download": [("lib.ui.downloads", "csv_download", _NOOP)],  # the CSV button (its bytes every run)
}

SERVE = '''
"""A throw-away serve script of bench/profile_browser.py: the product with PATCHES applied (variant VARIANT)."""
import importlib.abc
import importlib.machinery
import sys

sys.path.insert(0, ROOT)

import streamlit as st  # noqa: E402

PATCHES = PATCH_LIST


def noop(*args, **kwargs):
    return None


class _TableStreamlit:
    """``streamlit`` with ``dataframe`` drawn as ``st.table`` (the same frame, no index)."""

    def __getattr__(self, name):
        return getattr(st, name)

    def dataframe(self, data, **kwargs):
        return st.table(data, hide_index=True)


class _MarkdownStreamlit:
    """``streamlit`` with ``dataframe`` drawn as one Markdown (GFM) table: no Arrow, no data grid."""

    def __getattr__(self, name):
        return getattr(st, name)

    def dataframe(self, data, **kwargs):
        def cell(value):
            return str(value).replace("|", "\\\\|")

        lines = ["| " + " | ".join(cell(c) for c in data.columns) + " |", "|" + "---|" * len(data.columns)]
        lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in data.itertuples(index=False)]
        return st.markdown("\\n".join(lines))


def default_config():
    return {}


def plain_figure(original):
    """``original`` (a figure builder) drawing the same traces' points as plain lines in plotly's defaults."""
    import plotly.graph_objects as go

    def build(*args, **kwargs):
        fig = original(*args, **kwargs)
        traces = [
            go.Scatter(x=trace.x, y=trace.y, mode="lines", name=trace.name)
            for trace in fig.data
            if getattr(trace, "x", None) is not None
        ]
        return go.Figure(data=traces, layout={"title": {"text": "Balance"}})

    return build


REPLACEMENTS = {
    "noop": noop,
    "st_table": _TableStreamlit(),
    "md_table": _MarkdownStreamlit(),
    "empty_script": "<script></script>",
    "default_config": default_config,
}
WRAPPERS = {"plain_figure": plain_figure}


def _apply(module):
    for name, attr, what in PATCHES:
        if name == module.__name__:
            if what in WRAPPERS:
                setattr(module, attr, WRAPPERS[what](getattr(module, attr)))
            else:
                setattr(module, attr, REPLACEMENTS[what])


class _Hook(importlib.abc.MetaPathFinder):
    """Patch a module right after its first import (inside the Streamlit runtime, as the product imports it)."""

    def find_spec(self, fullname, path, target=None):
        if fullname not in {name for name, _, _ in PATCHES}:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        run = spec.loader.exec_module

        def exec_module(module):
            run(module)
            _apply(module)

        spec.loader.exec_module = exec_module
        return spec


_apply(st)
sys.meta_path.insert(0, _Hook())

from lib import web  # noqa: E402

app = st.App(DASHBOARD, routes=web.ROUTES)

if __name__ == "__main__":
    app.run()
'''


@contextlib.contextmanager
def variant_server(
    variant: str, db_path: Path, root: Path = ROOT, label: str | None = None
) -> Iterator[tuple[bb.Server, dict[str, str]]]:
    """``streamlit run`` of a throw-away serve script (the product of checkout ``root`` with ``variant``'s
    parts taken away) as ``tests/browser/harness.py`` starts the product (not camp mode, the suite's clock,
    outbox)."""
    from tests.browser.harness import free_port, server_env

    work = PROFILE_DIR / (label or variant)
    work.mkdir(parents=True, exist_ok=True)
    link = work / ".streamlit"  # the product's config: Streamlit reads it beside the main script
    if not link.exists():
        link.symlink_to(root / ".streamlit")
    script = work / "serve.py"
    script.write_text(
        SERVE.replace("PATCH_LIST", repr(VARIANTS[variant]))
        .replace("VARIANT", variant)
        .replace("DASHBOARD", repr(str(root / "dashboard.py")))
        .replace("ROOT", repr(str(root)))
    )
    env = server_env(db_path, camp=False)
    port = free_port()
    log_path = work / "streamlit.log"
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
            cwd=root,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    server = bb.Server(f"http://127.0.0.1:{port}/", process, log_path)
    try:
        bb._wait_healthy(server)  # noqa: SLF001 (bench_browser's own helper)
        yield server, env
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def chromium_cpu() -> float:
    """CPU seconds (user + system) of every chromium process below this one (``/proc``)."""
    total = 0.0
    procs: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                procs[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    mine, grown = {os.getpid()}, True
    while grown:
        new = {pid for pid, ppid in procs.items() if ppid in mine} - mine
        mine |= new
        grown = bool(new)
    for pid in mine - {os.getpid()}:
        try:
            if b"chromium" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[0]:
                total += bb._stat_cpu(Path(f"/proc/{pid}/stat"))  # noqa: SLF001
        except (OSError, IndexError, ValueError):
            continue
    return total


METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
# ``*_net``: the action's renderer task / script time and chromium CPU less the harness's own share (the
# page's 10 ms chart poll and Playwright's 20 ms ``wait_for_function`` poll), measured on the same page
# idle under the same polls (:func:`idle_rates`) and scaled by the measured window's length.
NET = ("task_net", "script_net", "chromium_net")
COLUMNS = ("wall", *METRICS, "chromium", "server", "ws_kb", *NET)
IDLE_WINDOW_MS = 2_000


# Counts the bytes of every websocket message the page receives (Streamlit's protobuf deltas). CDP's own
# ``Network.enable`` on a second session stopped the run watch from seeing the page switch's runs.
_WS_COUNT = """
window.__mmWsBytes = 0;
const NativeWebSocket = window.WebSocket;
window.WebSocket = class extends NativeWebSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener("message", (event) => {
      const data = event.data;
      window.__mmWsBytes += data.byteLength || data.size || data.length || 0;
    });
  }
};
"""


class Probe:
    """The CDP counters of one page (renderer metrics) and the websocket bytes it received."""

    def __init__(self, page: Any) -> None:
        self.page = page
        page.context.add_init_script(_WS_COUNT)
        self.cdp = page.context.new_cdp_session(page)
        self.cdp.send("Performance.enable")

    def snapshot(self, server: bb.Server) -> dict[str, float]:
        got = {m["name"]: float(m["value"]) for m in self.cdp.send("Performance.getMetrics")["metrics"]}
        values = {name: got.get(name, 0.0) for name in METRICS}
        values["chromium"] = chromium_cpu()
        values["server"] = server.cpu_seconds()
        values["ws_kb"] = float(self.page.evaluate("window.__mmWsBytes || 0")) / 1000
        return values


ACTION_TIMEOUT_MS = 30_000
ACTIONS = ("switch", "period", "load")  # a lost action costs this, not bench_browser's 180 s


def timed_click(page: Any, locator: Any, target: bb.Target) -> float:
    """bench_browser's ``timed_click`` with a shorter timeout: seconds from the pointer going down to the
    target chart drawn and the app idle; a click that sent no rerun to the server raises ``bb.LostClick``
    (reported as the round's failure; never seen since the run watch reads the websocket, BENCHMARKS.md
    section 6, "Lost clicks")."""
    return bb.timed_click(page, locator, target, ACTION_TIMEOUT_MS)


def chart_points(browser: Any, app: bb.App, token: str | None) -> dict[str, list[int]]:
    """bench_browser's warm-up visit (points per trace of the 30-day and 1-year charts) with this
    script's :func:`timed_click`."""
    page = bb.new_tab(browser, app, token, None)
    try:
        bb.first_load(page, app.server.url)
        timed_click(page, bb.compare_link(page, app), bb.Target(app.chart))
        short = list(page.evaluate("(sel) => window.__mmTraces(sel)", app.chart))
        timed_click(page, bb.year_radio(page, app), bb.Target(app.chart, lo=sum(short)))
        year = list(page.evaluate("(sel) => window.__mmTraces(sel)", app.chart))
    finally:
        page.context.close()
    return {"30d": short, "1y": year}


def idle_rates(page: Any, probe: Probe, server: bb.Server) -> dict[str, float]:
    """Per second of wall time, what the page costs idle while the harness polls as it does during an
    action (the page's 10 ms chart poll runs always; Playwright's ``wait_for_function`` at 20 ms here on a
    condition never true): renderer task and script seconds, chromium CPU seconds."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    before, start = probe.snapshot(server), time.perf_counter()
    with contextlib.suppress(PlaywrightTimeout):
        page.wait_for_function("() => false", polling=20, timeout=IDLE_WINDOW_MS)
    after, span = probe.snapshot(server), time.perf_counter() - start
    return {
        "TaskDuration": (after["TaskDuration"] - before["TaskDuration"]) / span,
        "ScriptDuration": (after["ScriptDuration"] - before["ScriptDuration"]) / span,
        "chromium": (after["chromium"] - before["chromium"]) / span,
    }


def with_net(out: dict[str, float], span: float, idle: dict[str, float]) -> dict[str, float]:
    """``out`` with the ``*_net`` columns: each figure less ``idle``'s rate over the ``span`` seconds."""
    for net, name in zip(NET, ("TaskDuration", "ScriptDuration", "chromium"), strict=True):
        out[net] = out[name] - idle[name] * span
    return out


def measured(
    page: Any, probe: Probe, server: bb.Server, locator: Any, target: bb.Target
) -> tuple[dict[str, float], float]:
    """One timed click: every counter's difference over it (``wall`` from the pointer down), and the
    seconds between the two snapshots (the window the idle rates are scaled by)."""
    before, start = probe.snapshot(server), time.perf_counter()
    wall = timed_click(page, locator, target)
    after, span = probe.snapshot(server), time.perf_counter() - start
    out = {name: after[name] - before[name] for name in before}
    out["wall"] = wall
    return out, span


def fresh_load(browser: Any, app: bb.App, token: str | None, mid: float) -> dict[str, float]:
    """The crowd's unit: a new tab (a new session) opens ``app``'s Compare page by its URL; counters from
    before the navigation until the 30-day chart is drawn and the app idle and quiet (``wall``: from the
    navigation's start). The renderer counters are those of the page's target across the navigation."""
    page = bb.new_tab(browser, app, token, bb.Target(app.chart, hi=mid))
    try:
        probe = Probe(page)
        before, start = probe.snapshot(app.server), time.perf_counter()
        page.goto(app.server.url + app.compare_path)
        times = bb.wait_done(page, 0, ACTION_TIMEOUT_MS)
        after, span = probe.snapshot(app.server), time.perf_counter() - start
        out = {name: after[name] - before[name] for name in before}
        out["wall"] = float(max(times["chart"], times["last"])) / 1000
        if bb.exceptions(page):
            app.errors.append(f"exception box on {app.name}'s Compare (fresh load)")
        return with_net(out, span, idle_rates(page, probe, app.server))
    finally:
        page.context.close()


def one_round(browser: Any, app: bb.App, token: str | None, mid: float) -> dict[str, dict[str, float]]:
    """A new tab: the Overview, then the Compare link and the period 30 days → 1 year, each measured, then
    the same page idle under the harness's polls (subtracted as ``*_net``); then a fresh load of Compare
    in another new tab (:func:`fresh_load`)."""
    page = bb.new_tab(browser, app, token, None)
    try:
        probe = Probe(page)
        bb.first_load(page, app.server.url)
        switch, switch_span = measured(
            page, probe, app.server, bb.compare_link(page, app), bb.Target(app.chart, hi=mid)
        )
        period, period_span = measured(
            page, probe, app.server, bb.year_radio(page, app), bb.Target(app.chart, lo=mid)
        )
        if bb.exceptions(page):
            app.errors.append(f"exception box on {app.name}'s Compare")
        idle = idle_rates(page, probe, app.server)
    finally:
        page.context.close()
    load = fresh_load(browser, app, token, mid)
    return {
        "switch": with_net(switch, switch_span, idle),
        "period": with_net(period, period_span, idle),
        "load": load,
    }


@dataclass
class Side:
    """One measured row: its app and the account it signs in with (None: a new account each round)."""

    name: str
    app: bb.App
    token: str | None


def main(argv: list[str] | None = None) -> None:  # noqa: PLR0915 (one report, in order)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", nargs="*", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument(
        "--before",
        type=Path,
        default=None,
        help="a checkout of the code before (e.g. `git archive main | tar -x -C bench/results/main_tree`):"
        " the variants are served from it, and this worktree's product is the row 'after'",
    )
    args = parser.parse_args(argv)
    from lib import i18n
    from lib.ui.compare import RANGE_KEYS
    from tests.browser.harness import browser_missing_reason, launch_chromium

    if reason := browser_missing_reason():
        raise SystemExit(f"cannot run: {reason}")
    variants = ["full"] + [v for v in args.variants if v != "full"]
    print(f"profile_browser: {' '.join(sys.argv[1:]) or '(defaults)'}  ({bb.load()}, {os.cpu_count()} CPUs)")
    path = bb.ensure_db(args.connections, args.days, rebuild=False)
    accounts = (args.connections + bb.PER_ACCOUNT - 1) // bb.PER_ACCOUNT
    work = Path(tempfile.mkdtemp(prefix="mm-profile-browser-"))
    with contextlib.ExitStack() as stack:
        pool = stack.enter_context(launch_chromium())
        browser = pool.browser
        tokens: Callable[[int], list[str]] | None = None
        sides: list[Side] = []
        mid = 0.0
        points: dict[str, list[int]] = {}
        before = args.before.resolve() if args.before is not None else None
        servers = [(variant, before or ROOT, variant) for variant in variants]
        if args.before is not None:
            servers.append(("full", ROOT, "after"))
        for variant, root, label in servers:
            server, env = stack.enter_context(variant_server(variant, path, root, label))
            if tokens is None:
                tokens = bb.token_source(path, env, 0, accounts)
            app = bb.App(
                label,
                server,
                ".st-key-compare_chart",
                i18n.t("nav_compare", "en"),
                i18n.t("compare_range", "en"),
                i18n.t(RANGE_KEYS["1y"], "en"),
                "compare",
                cookies=tokens,
            )
            warm = tokens(1)[0]
            seen = chart_points(browser, app, warm)  # the warm-up visit fills this account's caches
            points = points or seen  # the floor draws the full variant's points (others differ by markers)
            sides.append(Side(label, app, warm))
            if label == "full":
                sides.append(Side("full, new account", app, None))
            print(f"  {label}: server up ({root.name}), warm visit done ({bb.load()})", flush=True)
        mid = (sum(points["30d"]) + sum(points["1y"])) / 2
        bare_srv = stack.enter_context(bb.bare_server(work / "bare", points))
        bare = bb.App("bare", bare_srv, ".st-key-bare_chart", "Compare", "Period", "1y", "compare")
        try:  # the bare server's warm-up visit (its first run pays for its imports)
            if chart_points(browser, bare, None) != points:
                raise RuntimeError("the bare app's chart has not the product's points per trace")
        except Exception as error:  # noqa: BLE001 (the rounds check the points again through their targets)
            print(f"  bare warm-up visit: {str(error).splitlines()[0]} ({bb.load()})", flush=True)
        sides.insert(0, Side("bare", bare, None))
        results: dict[str, list[dict[str, dict[str, float]]]] = {side.name: [] for side in sides}
        for r in range(args.rounds):
            order = sides if r % 2 == 0 else list(reversed(sides))
            for side in order:
                token = side.token
                if side.app.cookies is not None and token is None:
                    token = side.app.cookies(1)[0]
                try:
                    results[side.name].append(one_round(browser, side.app, token, mid))
                    got = results[side.name][-1]
                    print(  # every measurement as it comes: a run stopped early still tells something
                        f"  round {r + 1}: {side.name:18s} "
                        + "  ".join(
                            f"{action} wall {got[action]['wall']:.3f} task {got[action]['TaskDuration']:.3f}"
                            f" (net {got[action]['task_net']:.3f}) script {got[action]['ScriptDuration']:.3f}"
                            f" chromium {got[action]['chromium']:.2f} (net {got[action]['chromium_net']:.2f})"
                            f" ws {got[action]['ws_kb']:.0f} kB"
                            for action in ACTIONS
                        )
                        + f"  ({bb.load()})",
                        flush=True,
                    )
                except Exception as error:  # noqa: BLE001 (a lost round is reported, the others still count)
                    print(f"  round {r + 1}: {side.name} failed: {str(error).splitlines()[0]} ({bb.load()})")
            if not results["full"] or not results["bare"]:
                continue
            full = results["full"][-1]
            print(
                f"  round {r + 1}: full {full['switch']['wall']:.3f}/{full['period']['wall']:.3f} s,"
                f" bare {results['bare'][-1]['switch']['wall']:.3f}/{results['bare'][-1]['period']['wall']:.3f} s"
                f"  ({bb.load()})",
                flush=True,
            )
        errors = [e for side in sides for e in side.app.errors]
    report(results, args.rounds)
    print(f"  errors: {errors[:5] or 'none'}  ({bb.load()})")


def report(results: dict[str, list[dict[str, dict[str, float]]]], rounds: int) -> None:
    """Medians per row and action, and each part's cost (full − variant) beside the bare app's."""
    titles = {
        "switch": "Overview -> Compare",
        "period": "period 30 days -> 1 year",
        "load": "fresh load of /compare (new session)",
    }
    for action, title in titles.items():
        med = {
            name: {c: statistics.median(r[action][c] for r in runs) for c in COLUMNS}
            for name, runs in results.items()
            if runs
        }
        lost = {name: rounds - len(runs) for name, runs in results.items() if len(runs) < rounds}
        if lost:
            print(f"  rounds lost (timeouts), left out of the medians: {lost}")
        print(f"\n{title}: medians of {rounds} rounds (seconds; ws_kb: websocket kB received)")
        head = "  ".join(f"{c:>12s}" for c in COLUMNS)
        print(f"  {'row':20s}{head}")
        for name, values in med.items():
            print(f"  {name:20s}" + "  ".join(f"{values[c]:12.3f}" for c in COLUMNS))
        full = med["full"]
        print(f"  {'cost of a part':20s}(full - variant; bare: full - bare)")
        for name, values in med.items():
            if name in ("full", "full, new account", "after"):
                continue
            print(f"  {name:20s}" + "  ".join(f"{full[c] - values[c]:12.3f}" for c in COLUMNS))
        bare = med["bare"]
        if "after" in med:
            after = med["after"]
            print(
                f"  after / full (before): wall {after['wall'] / full['wall']:.2f}x,"
                f" renderer task net {_ratio(after, full, 'task_net')},"
                f" chromium CPU net {_ratio(after, full, 'chromium_net')};"
                f" after / bare: wall {after['wall'] / bare['wall']:.2f}x,"
                f" task net {_ratio(after, bare, 'task_net')}, chromium net {_ratio(after, bare, 'chromium_net')}"
            )
        print(
            f"  full / bare: wall {full['wall'] / bare['wall']:.2f}x,"
            f" renderer task net {_ratio(full, bare, 'task_net')},"
            f" chromium CPU net {_ratio(full, bare, 'chromium_net')}"
        )


def _ratio(top: dict[str, float], bottom: dict[str, float], column: str) -> str:
    return f"{top[column] / bottom[column]:.2f}x" if bottom[column] > 0 else "n/a"


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s, {bb.load()})")
