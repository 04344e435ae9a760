"""The Overview's server CPU with an older ``lib/ui/overview.py`` against the present one, in ONE process.

    .venv/bin/python bench/bench_overview_ab.py --rev 75d8eee          # 3 and 12 connections, 20 rounds
    .venv/bin/python bench/bench_overview_ab.py --rev 75d8eee --connections 12 --rounds 10

For a change that touches only the Overview's module (issue 15, h49: the connection cards as Markdown), two
bench_pages.py runs one after the other could not tell a 10 ms saving from the load on the shared cores
(per-process medians moved ±20 %). Here the old module (``git show REV:lib/ui/overview.py``, loaded under
another name) and the present one are swapped in turn into one AppTest session (``sys.modules`` and
``lib.ui.overview``, which ``dashboard.py`` imports on every run; the old module's cached views get keys of
their own), so both are timed under the same load, the order alternating every round (ABBA):

- ``rerun``: four reruns of the Overview with nothing changed (the median of their mean per round);
- ``visit``: a new session signed in: the Overview, then a switch to Compare (bench_pages.py's ``visit``);
- ``bare visit``: bench_pages.py's bare app (its first page, then its chart page), once a round.

Process CPU (``time.process_time``: AppTest runs the script in a thread of this process). It uses
bench_pages.py's databases (``bench/results/pages_{n}.db``, seeded when missing) and its apps; printed:
the medians, new/old, the median of the paired per-round differences, the elements of the page's main
area (markdown + metric + caption) and the load average. Every other module is the present one: the
comparison is only valid for a change confined to ``lib/ui/overview.py``.
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages as bp  # noqa: E402
from revision import module_at  # noqa: E402

import lib.ui  # noqa: E402
from lib import storage  # noqa: E402
from lib.ui import loaders  # noqa: E402
from lib.ui import overview as present  # noqa: E402


def old_module(rev: str) -> ModuleType:
    """``lib/ui/overview.py`` as of git ``rev``, imported as ``lib.ui.overview_old``; its cached views under
    names of their own (``old_`` + name), since its cached ``_View`` has other fields."""
    module = module_at(rev, "lib/ui/overview.py", "lib.ui.overview_old", register=True)

    class _Loaders:
        def __getattr__(self, name: str) -> Any:
            return getattr(loaders, name)

        def cached_view(self, ctx, build, name, *args, **kwargs):  # noqa: ANN001, ANN202
            return loaders.cached_view(ctx, build, "old_" + name, *args, **kwargs)

    module.loaders = _Loaders()  # type: ignore[attr-defined]
    return module


def use(module: ModuleType) -> None:
    """Make ``module`` the Overview that ``dashboard.py`` imports on its next run."""
    sys.modules["lib.ui.overview"] = module
    lib.ui.overview = module  # type: ignore[attr-defined]


def bare_app(connections: int) -> Path:
    bare_file = Path(tempfile.mkdtemp()) / "bare.py"
    bare_file.write_text(bp.BARE_APP)
    (bare_file.parent / "pages").mkdir()
    (bare_file.parent / "pages" / "compare.py").write_text(
        bp.BARE_COMPARE_PAGE.replace("N_CONNECTIONS", str(connections))
    )
    return bare_file


def elements(at: Any) -> int:
    return len(list(at.main.markdown)) + len(list(at.main.metric)) + len(list(at.main.caption))


def bench(connections: int, rounds: int, modules: dict[str, ModuleType]) -> None:
    path = bp.RESULTS / f"pages_{connections}.db"
    if not path.exists():
        bp.seed(path, connections)
    with storage.open_db(path) as conn:
        account_id = conn.execute("SELECT account_id FROM accounts").fetchone()[0]
    os.environ["METERMITRA_DB"] = str(path)
    bare_file = bare_app(connections)
    bp.bare_visit_app(bare_file)
    app = bp.signed_in(account_id, None)
    counts = {}
    for name, module in modules.items():  # each module's views built once, outside the timing
        use(module)
        app.run()
        bp.signed_in(account_id, "pages/compare.py")
        counts[name] = elements(app)
    times: dict[tuple[str, str], list[float]] = {
        (name, step): [] for name in modules for step in ("rerun", "visit")
    }
    bare: list[float] = []
    for r in range(rounds):
        order = list(modules) if r % 2 == 0 else list(reversed(modules))
        for name in order:
            use(modules[name])
            started = time.process_time()
            for _ in range(4):
                app.run()
            times[(name, "rerun")].append((time.process_time() - started) / 4)
            assert not app.exception, app.exception
        for name in order:
            use(modules[name])
            started = time.process_time()
            bp.signed_in(account_id, "pages/compare.py")
            times[(name, "visit")].append(time.process_time() - started)
        started = time.process_time()
        bp.bare_visit_app(bare_file)
        bare.append(time.process_time() - started)
    median = {key: statistics.median(values) for key, values in times.items()}
    bare_median = statistics.median(bare)
    print(f"{connections} connections, {rounds} rounds; main-area markdown+metric+caption: {counts}")
    for step in ("rerun", "visit"):
        old, new = median[("old", step)], median[("new", step)]
        paired = statistics.median(
            a - b for a, b in zip(times[("old", step)], times[("new", step)], strict=True)
        )
        print(
            f"  {step:5s} old {old * 1000:6.1f} ms  new {new * 1000:6.1f} ms  new/old {new / old:.2f}"
            f"  paired old-new {paired * 1000:5.1f} ms"
        )
    print(
        f"  bare visit {bare_median * 1000:.1f} ms: visit/bare visit old"
        f" {median[('old', 'visit')] / bare_median:.2f}×, new {median[('new', 'visit')] / bare_median:.2f}×"
    )
    print(f"  load average {os.getloadavg()}", flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rev", required=True, help="the git revision of the old lib/ui/overview.py")
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args(argv)
    os.environ["METERMITRA_NOW"] = bp.NOW
    os.environ.setdefault("METERMITRA_OTP_KEY", secrets.token_hex(32))
    bp.RESULTS.mkdir(parents=True, exist_ok=True)
    modules = {"old": old_module(args.rev), "new": present}
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in args.connections:
        bench(n, args.rounds, modules)


if __name__ == "__main__":
    main()
