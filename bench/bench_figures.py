"""Figure build benchmark: CPU to build Compare's monthly-spend figure (``ledger_panels.monthly_spend_figure``)
now against the same function at a baseline git revision (default: the last make_subplots build), in the
same run, rounds interleaved, with 3 and 12 connections (the parts of bench_pages' seeded households).

    .venv/bin/python bench/bench_figures.py                      # 3 and 12 connections, 7 rounds
    .venv/bin/python bench/bench_figures.py --baseline main --rounds 3

Each round builds every variant (en / hi with Devanagari digits, desktop / phone) once with each
implementation, order alternating; the figure's ``to_dict()`` (what ``st.plotly_chart`` sends) is timed
apart. ``time.process_time``: other engineers load the machine; the load average is printed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_pages  # noqa: E402
import pandas as pd  # noqa: E402
from revision import module_at  # noqa: E402

from lib import i18n, ledger, storage  # noqa: E402
from lib.ui import ledger_panels  # noqa: E402

BASELINE = "119302a"  # main before the monthly-spend figure was built as data (make_subplots)
VARIANTS = (("en", None, False), ("en", 1, False), ("hi", None, True), ("hi", 1, True))


def baseline_module(revision: str):
    """``lib/ui/ledger_panels.py`` as of git ``revision``, loaded as its own module."""
    return module_at(revision, "lib/ui/ledger_panels.py", "ledger_panels_baseline")


def shown_parts(connections: int) -> pd.DataFrame:
    """The months Compare shows (the last 6) of a seeded household of ``connections`` connections."""
    path = bench_pages.RESULTS / f"figures_{connections}.db"
    account_id = bench_pages.seed(path, connections)
    with storage.open_db(path, run_migrations=False) as conn:
        ids = [str(c) for c in storage.accounts.connection_details(conn, account_id)["consumer_id"]]
        rows = ledger.load_ledger(conn, account_id, ids, today=bench_pages.TODAY)
    parts = ledger.month_parts(rows)
    first = (pd.Timestamp(bench_pages.TODAY).to_period("M") - (ledger_panels.COMPARE_MONTHS - 1)).start_time
    return parts[parts["month"] >= first]


def build_all(build, parts: pd.DataFrame) -> tuple[float, float]:
    """(build CPU, to_dict CPU) in seconds for every variant once."""
    built = dumped = 0.0
    for lang, columns, digits in VARIANTS:
        i18n.use_devanagari_digits(digits)
        started = time.process_time()
        fig = build(parts, lang, columns=columns)
        middle = time.process_time()
        fig.to_dict()
        built += middle - started
        dumped += time.process_time() - middle
    i18n.use_devanagari_digits(False)
    return built / len(VARIANTS), dumped / len(VARIANTS)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--connections", type=int, nargs="*", default=[3, 12])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE, help="git revision of the baseline build")
    args = parser.parse_args(argv)
    os.environ["METERMITRA_NOW"] = bench_pages.NOW
    bench_pages.RESULTS.mkdir(parents=True, exist_ok=True)
    before = baseline_module(args.baseline).monthly_spend_figure
    now = ledger_panels.monthly_spend_figure
    print(f"load average before: {os.getloadavg()}", flush=True)
    for n in args.connections:
        parts = shown_parts(n)
        build_all(before, parts)  # warm both (imports, Babel's first patterns)
        build_all(now, parts)
        times: dict[str, list[tuple[float, float]]] = {"baseline": [], "now": []}
        for r in range(args.rounds):
            order = [("baseline", before), ("now", now)]
            for name, build in order if r % 2 == 0 else order[::-1]:
                times[name].append(build_all(build, parts))
        for name, values in times.items():
            print(
                f"  {n:3d} connections  {name:8s} build per round: " + " ".join(f"{b:.4f}" for b, _ in values)
            )
        build = {name: statistics.median(b for b, _ in values) for name, values in times.items()}
        dump = {name: statistics.median(d for _, d in values) for name, values in times.items()}
        print(
            f"  {n:3d} connections  monthly spend figure: build {build['baseline']:.4f} s ({args.baseline})"
            f" -> {build['now']:.4f} s now, {build['now'] / build['baseline']:.2f}x;"
            f" to_dict {dump['baseline']:.4f} -> {dump['now']:.4f} s  (load {os.getloadavg()[0]:.1f})",
            flush=True,
        )


if __name__ == "__main__":
    main()
