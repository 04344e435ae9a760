"""A new household's first 1-year period with an older ``lib/analytics.py`` against the present one, in ONE
process (bench_pages.py's ``household range`` step, both variants under the same load).

    .venv/bin/python bench/bench_range_ab.py --rev 6ae0d9e                  # 3 and 12 connections, 15 rounds
    .venv/bin/python bench/bench_range_ab.py --rev 6ae0d9e --connections 12 --rounds 9

Two bench_pages.py runs one after the other could not tell a 20-30 ms saving from the load on the shared
cores (issue 15, h55: the same code's median moved 0.12-0.18 s between runs). Here the Compare page's
``analytics`` (the module ``lib/ui/compare.py`` calls for the period's calendar, episodes, shares, peaks and
series) is, in turn, ``git show REV:lib/analytics.py`` (loaded as ``lib.analytics_old``) and the present
module, the order alternating every round (ABBA). Each timed action: every cache of ``lib.ui.loaders``
cleared, a new session signed in opens Compare at 30 days (not timed), then the period changes to 1 year
(timed: the fragment rerun, bench_pages.py's ``widget_change``). Process CPU (``time.process_time``: AppTest
runs the script in a thread of this process); bench_pages.py's databases (``bench/results/pages_{n}.db``,
seeded when missing). Printed: the medians, new/old, the median of the paired per-round differences and the
load average. Every other module is the present one: valid only for a change confined to ``lib/analytics.py``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages as bp  # noqa: E402
from revision import module_at  # noqa: E402

from lib import analytics as present  # noqa: E402
from lib.ui import compare  # noqa: E402


def old_module(rev: str) -> ModuleType:
    """``lib/analytics.py`` as of git ``rev``, imported as ``lib.analytics_old``."""
    return module_at(rev, "lib/analytics.py", "lib.analytics_old", register=True)


def household_range(account_id: int) -> float:
    """CPU seconds of a new household's change of Compare's period, 30 days → 1 year (the fragment)."""
    for cache in bp.household_caches():
        cache.clear()
    app = bp.signed_in(account_id, "pages/compare.py", first=True)
    app.radio(key="compare_range").set_value("1y")
    started = time.process_time()
    bp.widget_change(app)
    seconds = time.process_time() - started
    assert not app.exception, app.exception
    assert app.session_state["compare_range"] == "1y"
    return seconds


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True, help="the git revision of the old lib/analytics.py")
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args(argv)
    os.environ["METERMITRA_NOW"] = bp.NOW
    os.environ.setdefault("METERMITRA_OTP_KEY", secrets.token_hex(32))
    bp.RESULTS.mkdir(parents=True, exist_ok=True)
    variants = {"old": old_module(args.rev), "new": present}
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in args.connections:
        path = bp.RESULTS / f"pages_{n}.db"
        account_id = bp.seed(path, n)
        os.environ["METERMITRA_DB"] = str(path)
        times: dict[str, list[float]] = {"old": [], "new": []}
        for name in ("old", "new"):  # one untimed action each: imports, plotly's validators
            compare.analytics = variants[name]
            household_range(account_id)
        for r in range(args.rounds):
            order = ("old", "new") if r % 2 == 0 else ("new", "old")
            for name in order:
                compare.analytics = variants[name]
                times[name].append(household_range(account_id))
        compare.analytics = present
        old, new = statistics.median(times["old"]), statistics.median(times["new"])
        paired = statistics.median(a - b for a, b in zip(times["old"], times["new"], strict=True))
        for name in ("old", "new"):
            print(f"  {n:3d} connections  {name}  per round: " + " ".join(f"{v:.3f}" for v in times[name]))
        print(
            f"  {n:3d} connections  household range  old {old:.3f} s  new {new:.3f} s  new/old {new / old:.2f}"
            f"  paired old - new {paired * 1000:.1f} ms   load {os.getloadavg()}",
            flush=True,
        )


if __name__ == "__main__":
    main()
