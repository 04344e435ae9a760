"""Ledger benchmark: CPU to build one connection's whole-history ledger (``ledger.build_ledger``), the
vectorised day pricing (``tariff.day_charges_columns``, issue 15) against the per-day path it replaced
(``tests/ledger_reference.py``: ``fill_calendar``, then one ``tariff.day_charges`` call and one row dict per
day), in the same run, rounds interleaved (order reversed every other round), medians.

    .venv/bin/python bench/bench_ledger.py                            # 40 connections, 7 rounds
    .venv/bin/python bench/bench_ledger.py --connections 20 --rounds 3

Data: the browser benchmark's database (1,000 connections × 365 days of half-hourly readings), copied
from ``/work/benchdb/browser_1000x365.db`` into ``bench/results/`` when missing (never linked: a benchmark
never writes to the shared copy), or ``--db PATH``. Each connection's frames (daily roll-ups, details,
arrears, adjustments, anchors) are read once before timing; a round builds every connection's ledger once
with each path, and the two frames are checked equal (``assert_frame_equal``, exact) in the first round, so
both do the same work. Also timed apart: the day pricing alone (all of a connection's days through
``day_charges_columns`` against a ``day_charges`` call per day). ``time.process_time`` (CPU): other engineers
load the 2 cores, so the load average is printed before and after; read the ratio, not the seconds.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from lib import ledger, storage, tariff  # noqa: E402
from tests import ledger_reference  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SOURCE_DB = Path("/work/benchdb/browser_1000x365.db")
TODAY = dt.date(2026, 11, 25)  # the bench database's clock


def load_frames(path: Path, connections: int) -> list[dict[str, pd.DataFrame]]:
    """Each of the first ``connections`` linked connections' ledger inputs, as ``load_ledger`` reads them."""
    out: list[dict[str, pd.DataFrame]] = []
    with storage.open_db(path, run_migrations=False) as conn:
        links = conn.execute(
            "SELECT account_id, consumer_id FROM links ORDER BY account_id, consumer_id LIMIT :n",
            {"n": connections},
        ).fetchall()
        for account_id, consumer_id in links:
            ids = [str(consumer_id)]
            out.append(
                {
                    "daily": conn.readings.daily_frame(account_id, ids),
                    "details": conn.accounts.connection_details(account_id),
                    "arrears": conn.ledger.arrears_frame(account_id, ids),
                    "adjustments": conn.ledger.adjustments_frame(account_id, ids),
                    "anchors": conn.anchors.anchors_frame(account_id, ids),
                }
            )
    return out


def build_all(build, frames: list[dict[str, pd.DataFrame]], book: tariff.TariffBook) -> tuple[float, list]:
    """CPU seconds per connection to build every connection's ledger with ``build``, and the ledgers."""
    start = time.process_time()
    built = [
        build(
            f["daily"],
            f["details"],
            arrears=f["arrears"],
            adjustments=f["adjustments"],
            anchors=f["anchors"],
            today=TODAY,
            book=book,
        )
        for f in frames
    ]
    return (time.process_time() - start) / len(frames), built


def pricing_inputs(frames: list[dict[str, pd.DataFrame]], book: tariff.TariffBook) -> list[tuple]:
    """(category, load, days, units, units before) of each connection, as the ledger prices them."""
    inputs = []
    for f, rows in zip(
        frames, [ledger.build_ledger(**_kw(f), today=TODAY, book=book) for f in frames], strict=True
    ):
        fact = (
            f["details"]
            .set_index(f["details"]["consumer_id"].astype(str))
            .loc[str(rows["consumer_id"].iloc[0])]
        )
        units = rows["billed_units"].to_numpy()
        before = rows["units_month_to_date"].to_numpy() - units
        before = np.maximum(np.where(rows["day"].dt.day.to_numpy() == 1, 0.0, before), 0.0)
        inputs.append(
            (str(fact["tariff_category"]), float(fact["sanctioned_load_kw"]), rows["day"], units, before)
        )
    return inputs


def _kw(f: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    return {"daily": f["daily"], "details": f["details"], "arrears": f["arrears"],
            "adjustments": f["adjustments"], "anchors": f["anchors"]}  # fmt: skip


def price_columns(inputs: list[tuple], book: tariff.TariffBook) -> float:
    start = time.process_time()
    for category, load, days, units, before in inputs:
        tariff.day_charges_columns(
            category, days, units, units_before=before, sanctioned_load_kw=load, book=book
        )
    return (time.process_time() - start) / len(inputs)


def price_per_day(inputs: list[tuple], book: tariff.TariffBook) -> float:
    start = time.process_time()
    for category, load, days, units, before in inputs:
        for day, kwh, so_far in zip(days, units, before, strict=True):
            tariff.day_charges(
                category, day.date(), kwh, units_before=so_far, sanctioned_load_kw=load, book=book
            )
    return (time.process_time() - start) / len(inputs)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=RESULTS / SOURCE_DB.name)
    parser.add_argument("--connections", type=int, default=40)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args(argv)
    if not args.db.exists():
        if args.db != RESULTS / SOURCE_DB.name or not SOURCE_DB.exists():
            parser.error(f"no database at {args.db}")
        RESULTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE_DB, args.db)  # a copy, never a link
    print(f"load before: {os.getloadavg()[0]:.2f} (1-minute average)")
    book = tariff.load_tariffs()
    frames = load_frames(args.db, args.connections)
    days = sum(len(f["daily"]) for f in frames)
    print(f"{len(frames)} connections, {days / len(frames):.0f} days each on average, {args.rounds} rounds")
    inputs = pricing_inputs(frames, book)
    paths = {"vectorised": ledger.build_ledger, "per-day": ledger_reference.per_day_build_ledger}
    pricing = {"vectorised": price_columns, "per-day": price_per_day}
    times: dict[str, list[float]] = {f"ledger {name}": [] for name in paths}
    times.update({f"pricing {name}": [] for name in pricing})
    for number in range(args.rounds):
        order = list(paths) if number % 2 == 0 else list(reversed(paths))
        built = {}
        for name in order:
            seconds, built[name] = build_all(paths[name], frames, book)
            times[f"ledger {name}"].append(seconds)
            seconds = pricing[name](inputs, book)
            times[f"pricing {name}"].append(seconds)
        if number == 0:
            for new, old in zip(built["vectorised"], built["per-day"], strict=True):
                pd.testing.assert_frame_equal(new, old, check_exact=True)
            print("round 1: the two paths' ledgers are equal (assert_frame_equal, exact)")
        print(
            f"round {number + 1}: ledger {times['ledger vectorised'][-1] * 1000:.1f} vs "
            f"{times['ledger per-day'][-1] * 1000:.1f} ms, pricing {times['pricing vectorised'][-1] * 1000:.2f} vs "
            f"{times['pricing per-day'][-1] * 1000:.1f} ms per connection"
        )
    median = {name: statistics.median(values) for name, values in times.items()}
    print()
    print("| CPU per connection (median) | vectorised | per-day | per-day ÷ vectorised |")
    print("|---|---|---|---|")
    for what in ("ledger", "pricing"):
        new, old = median[f"{what} vectorised"], median[f"{what} per-day"]
        label = "build_ledger (whole history)" if what == "ledger" else "day pricing alone"
        print(f"| {label} | {new * 1000:.2f} ms | {old * 1000:.2f} ms | **{old / new:.1f}×** |")
    print(f"load after: {os.getloadavg()[0]:.2f} (1-minute average)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
