"""Where the product server's CPU goes when sessions arrive at once (issue 15, BENCHMARKS.md §6).

    .venv/bin/python bench/profile_crowd.py --sessions 20            # the crowd of bench_browser.py, profiled
    .venv/bin/python bench/profile_crowd.py --sessions 20 --top 60 --out bench/results/crowd.prof

The crowd of ``bench_browser.py`` (``--sessions`` new households, each its own account of 3 connections
signed in by its server-side session cookie, opening the bookmarked ``/compare`` at the same moment in a
chromium of its own) on the same database (``bench/results/browser_1000x365.db``), against a product server
started with ``bench/profile_site`` on its path: every script run is profiled on its own thread (cProfile
timed by ``time.thread_time``: the run's own CPU, not its wait for the GIL). After one warm-up visit (not
counted), it prints for the crowd's runs:

- the server's CPU (``/proc``): all of it, its main thread (Streamlit's event loop: HTTP, websockets, the
  frontend's files, sending the runs' messages) and the rest (the script runs and their worker pools);
- the script runs' CPU split by phase of a session's start: the frame (``lib.ui.frame.page``: settings,
  first start, the cookie's session check and sign-in state, sidebar and chrome, the low-balance warning,
  each apart) and the Compare page's body (``lib.ui.compare.draw``), per session;
- the functions with the most CPU (cumulative and own), ``--top`` of each.

Profiling slows the runs (cProfile's hooks): read the split, not the absolute figures, and take timings
from ``bench_browser.py``. The load average is printed: the machine is shared.
"""

from __future__ import annotations

import argparse
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_browser as bb  # noqa: E402

# (label, file suffix, function name) of the phases of a run whose cumulative CPU is printed.
PHASES = [
    ("frame.page (all of the frame)", "lib/ui/frame.py", "page"),
    ("  settings()", "lib/ui/frame.py", "settings"),
    ("  first start (cached)", "lib/ui/frame.py", "_start_or_refuse"),
    ("  session cookie: check / resume", "lib/ui/frame.py", "_follow_server_session"),
    ("    sessions.resume", "lib/sessions.py", "resume"),
    ("    sessions.check", "lib/sessions.py", "check"),
    ("    otp.load_key", "lib/otp.py", "load_key"),
    ("    storage.connect_or_raise", "lib/storage/engine.py", "connect_or_raise"),
    ("  account box (signin)", "lib/ui/frame.py", "_account_chrome"),
    ("  demo / camp chrome", "lib/ui/frame.py", "_camp_chrome"),
    ("  low-balance warning", "lib/ui/frame.py", "_low_balance_warning"),
    ("compare.draw (the page's body)", "lib/ui/compare.py", "draw"),
    ("  controls", "lib/ui/compare.py", "_controls"),
    ("  view (cached per data version)", "lib/ui/compare.py", "_build_view"),
    ("  tables (cached per data version)", "lib/ui/compare.py", "_tables"),
    ("  chart", "lib/ui/compare.py", "_draw_chart"),
    ("  export", "lib/ui/compare.py", "_draw_export"),
    ("overview.draw", "lib/ui/overview.py", "draw"),
    ("st.plotly_chart", "streamlit/elements/plotly_chart.py", "plotly_chart"),
]


def cumulative(stats: pstats.Stats, suffix: str, name: str) -> tuple[float, int]:
    """Cumulative seconds and primitive calls of the functions ``name`` in files ending with ``suffix``
    (the outermost calls only: recursion is counted once by cProfile's cumulative time)."""
    seconds, calls = 0.0, 0
    for (filename, _line, function), (primitive, _total, _own, cum, _callers) in stats.stats.items():  # type: ignore[attr-defined]
        if function == name and filename.endswith(suffix):
            seconds += cum
            calls += primitive
    return seconds, calls


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, default=1000)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--sessions", type=int, default=20)
    parser.add_argument("--first-account", type=int, default=200, help="the crowd's first account")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--out", type=Path, default=None, help="also write the merged stats here")
    args = parser.parse_args(argv)
    from lib import i18n
    from lib.ui.compare import RANGE_KEYS
    from tests.browser.harness import launch_chromium

    path = bb.ensure_db(args.connections, args.days, rebuild=False)
    accounts = (args.connections + bb.PER_ACCOUNT - 1) // bb.PER_ACCOUNT
    work = Path(tempfile.mkdtemp(prefix="mm-profile-crowd-"))
    runs = work / "runs"
    runs.mkdir()
    extra = {
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(ROOT / "bench" / "profile_site"), os.environ.get("PYTHONPATH")])
        ),
        "METERMITRA_BENCH_PROFILE": str(runs),
    }
    print(f"profile_crowd: {args.sessions} sessions ({bb.load()})", flush=True)
    with launch_chromium() as pool, bb.product_server(work / "product", path, extra) as (server, env):
        app = bb.App(
            "product",
            server,
            ".st-key-compare_chart",
            i18n.t("nav_compare", "en"),
            i18n.t("compare_range", "en"),
            i18n.t(RANGE_KEYS["1y"], "en"),
            "compare",
            cookies=bb.token_source(path, env, args.first_account, accounts),
        )
        points = bb.chart_points(pool.browser, app, app.cookies(1)[0])  # the warm-up visit
        mid = (sum(points["30d"]) + sum(points["1y"])) / 2
        bb.wait_server_quiet(server)
        for stale in runs.iterdir():  # the warm-up's runs
            stale.unlink()
        with bb.crowd_browser(pool.browser.browser_type) as browser:
            result = bb.crowd(browser, app, args.sessions, mid)
        time.sleep(1.0)  # the last run's stats file is written as the run ends
        files = sorted(runs.iterdir())
    if not files:
        raise SystemExit("no script run was profiled: is bench/profile_site on the server's path?")
    stats = pstats.Stats(*map(str, files))
    own = sum(entry[2] for entry in stats.stats.values())  # type: ignore[attr-defined]
    n = args.sessions
    print(
        f"\nserver CPU for the crowd: {result.server_cpu:.2f} s ({result.server_cpu / n:.3f} s a session); main"
        f" thread (event loop) {result.loop_cpu:.2f} s, other threads {result.server_cpu - result.loop_cpu:.2f} s"
    )
    print(f"script runs profiled: {len(files)} ({len(files) / n:.1f} a session), their own CPU {own:.2f} s")
    print(f"settled {result.settle:.2f} s, errors {len(result.errors)} {result.errors[:3]}  ({bb.load()})\n")
    print(f"{'phase':40s} {'CPU s':>8s} {'a session':>10s} {'calls':>6s}")
    for label, suffix, name in PHASES:
        seconds, calls = cumulative(stats, suffix, name)
        print(f"{label:40s} {seconds:8.2f} {seconds / n:10.3f} {calls:6d}")
    if args.out:
        stats.dump_stats(str(args.out))
    stats.sort_stats("cumulative").print_stats(args.top)
    stats.sort_stats("tottime").print_stats(args.top)


if __name__ == "__main__":
    main()
