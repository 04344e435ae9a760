"""A new household's Overview → Compare switch, server CPU, main's code path and this one in one process
(issue 15, BENCHMARKS.md section 4 run 12).

    .venv/bin/python bench/bench_switch_ab.py --connections 3 12 --rounds 20

What a browser's new account does (``bench_browser.py``'s click row): a new session of a household whose
caches are cold opens the Overview, then switches to Compare; the switch is timed (``time.process_time``
around AppTest's run: the script runs in this process). ``household visit`` is bench_pages' step of the
same name (caches cleared, a new session opens Compare directly: the crowd's unit). Every cache of
``lib.ui.loaders`` is cleared before each round's session. As bench_pages: the suite's clock
(``METERMITRA_NOW``); as the server (``serve.py``): the imported heap frozen first (``lib/ui/heap.py``), else a
full collection (~0.2 s in this process) landing inside one path's timed runs decides the medians
(``--no-gc-freeze`` to see it).

The two code paths differ only in the changes toggled in place: with ``--old run12`` (the default)
``old`` builds the Compare figure validated (``go.Figure(data, layout)``, main's ``compare_figure``) and
reads the forecast and projected days through ``st.cache_data`` copies of the shared simulation's frames
(main's ``connection_forecast`` / ``connection_projection`` / ``connection_outlook`` before run 19, defined
here as they were); with ``--old copies`` only the copies differ (run 19: the warning, the Overview and
Compare read the simulation's own frames); ``new`` is this checkout. Rounds alternate ABBA, so
the load moves both alike; the script prints medians, the paired difference and the load average. Uses
bench_pages' databases (``bench/results/pages_N.db``; run bench_pages once to make them).
"""

from __future__ import annotations

import argparse
import gc
import os
import secrets
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages as bp  # noqa: E402
import plotly.graph_objects as go  # noqa: E402
import streamlit as st  # noqa: E402

from lib import charts  # noqa: E402
from lib.ui import loaders  # noqa: E402

_copy = st.cache_data(show_spinner=False, max_entries=loaders.PER_CONNECTION_ENTRIES, ttl=loaders.TTL_SECONDS)


@_copy
def copied_forecast(_ctx, db: str, account_id: int, key: loaders.ConnKey, today: str):
    """Main's ``connection_forecast`` / ``connection_outlook`` before run 19: a copy of the summary."""
    return loaders.connection_simulation(_ctx, db, account_id, key, today).summary


@_copy
def copied_projection(_ctx, db: str, account_id: int, key: loaders.ConnKey, today: str):
    """Main's ``connection_projection`` before run 19: a copy of the simulated days."""
    return loaders.connection_simulation(_ctx, db, account_id, key, today).path


NEW = {
    (charts, "built_figure"): charts.built_figure,
    (loaders, "shared_forecast"): loaders.shared_forecast,
    (loaders, "shared_projection"): loaders.shared_projection,
}
COPIES = {
    (loaders, "shared_forecast"): copied_forecast,
    (loaders, "shared_projection"): copied_projection,
}
OLD_PATHS = {
    "run12": {(charts, "built_figure"): lambda data, layout: go.Figure(data=data, layout=layout), **COPIES},
    "copies": {**NEW, **COPIES},
}


def use(path: dict) -> None:
    for (module, name), value in path.items():
        setattr(module, name, value)


def cold() -> None:
    for cache in bp.household_caches():
        cache.clear()
    copied_forecast.clear()
    copied_projection.clear()


def switch(account_id: int) -> float:
    cold()
    at = bp.signed_in(account_id, None)  # the household's Overview (not timed)
    started = time.process_time()
    at.switch_page("pages/compare.py").run()
    seconds = time.process_time() - started
    assert not at.exception, at.exception
    return seconds


def household_visit(account_id: int) -> float:
    cold()
    started = time.process_time()
    bp.signed_in(account_id, "pages/compare.py", first=True)
    return time.process_time() - started


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--old", choices=sorted(OLD_PATHS), default="run12", help="what the old path undoes")
    parser.add_argument("--no-gc-freeze", action="store_true", help="do not freeze the imported heap first")
    args = parser.parse_args(argv)
    old_path = OLD_PATHS[args.old]
    os.environ["METERMITRA_NOW"] = bp.NOW
    os.environ.setdefault("METERMITRA_OTP_KEY", secrets.token_hex(32))
    if not args.no_gc_freeze:
        import lib.web  # noqa: F401  (serve.py's imports)
        from lib.ui import heap

        heap.freeze_after_imports()
        print(f"gc.freeze(): {gc.get_freeze_count()} objects frozen", flush=True)
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in args.connections:
        path = bp.RESULTS / f"pages_{n}.db"
        if not path.exists():
            raise SystemExit(f"no {path}: run bench/bench_pages.py --connections {n} --rounds 1 first")
        os.environ["METERMITRA_DB"] = str(path)
        account_id = 1
        use(NEW)
        switch(account_id)  # imports and first runs, not counted
        times: dict[tuple[str, str], list[float]] = {}
        for r in range(args.rounds):
            order = (
                [("old", old_path), ("new", NEW)] if r % 4 in (0, 3) else [("new", NEW), ("old", old_path)]
            )
            for label, path_ in order:
                use(path_)
                times.setdefault(("switch", label), []).append(switch(account_id))
                times.setdefault(("household visit", label), []).append(household_visit(account_id))
        use(NEW)
        for step in ("switch", "household visit"):
            old, new = times[(step, "old")], times[(step, "new")]
            paired = statistics.median(o - w for o, w in zip(old, new, strict=True))
            print(
                f"  {n:3d} connections  {step:16s} old {statistics.median(old):.3f} s  new "
                f"{statistics.median(new):.3f} s  new/old {statistics.median(new) / statistics.median(old):.2f}"
                f"  paired old-new {paired * 1000:.1f} ms  (medians of {args.rounds})",
                flush=True,
            )
        print(f"load average after {n} connections: {os.getloadavg()}", flush=True)


if __name__ == "__main__":
    main()
