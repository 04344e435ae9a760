"""lib.quality: data-quality facts per connection, on hand-built readings and on ../shared/cases."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from lib import cli, ledger, quality, storage

pytestmark = pytest.mark.both_engines  # every db_path/conn test on SQLite and on PostgreSQL (issue 12)

SHARED_CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "cases"


@pytest.fixture
def cases(monkeypatch: pytest.MonkeyPatch) -> Path:
    """../shared/cases with the cases' clock (cases/README.md); skipped outside CI when absent."""
    if not SHARED_CASES.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared cases folder is missing: {SHARED_CASES}")
        pytest.skip(f"shared cases not found at {SHARED_CASES}")
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-28T10:00:00+05:30")
    return SHARED_CASES


def _readings(
    start: str, minutes: list[int], kwh: list[float], balance: list[float] | None = None
) -> pd.DataFrame:
    ts = pd.Timestamp(start, tz="Asia/Kolkata").tz_convert("UTC")
    stamps, at = [], ts
    for step in minutes:
        stamps.append(at)
        at = at + pd.Timedelta(minutes=step)
    return pd.DataFrame(
        {
            "ts": stamps,
            "kwh": kwh,
            "balance_inr": balance if balance is not None else [float("nan")] * len(kwh),
        }
    )


def test_peak_is_energy_over_each_readings_own_interval():
    # Two hourly readings then 15-minute ones: 1.0 kWh in an hour is 1 kW, 0.4 kWh in 15 minutes is 1.6 kW.
    readings = _readings("2026-11-24 00:00", [60, 60, 15, 15, 15], [1.0, 0.9, 0.4, 0.1, 0.1])
    assert quality.peak_demand(readings) == (1.6, "2026-11-24T02:00:00+05:30")
    facts = quality.interval_facts(readings)
    assert facts["interval_minutes"] == 15  # the most common; one day only, so no change by day


def test_an_interval_change_is_reported_with_its_day():
    day1 = _readings("2026-11-19 00:00", [30] * 48, [0.2] * 48)
    day2 = _readings("2026-11-20 00:00", [15] * 96, [0.1] * 96)
    facts = quality.interval_facts(pd.concat([day1, day2], ignore_index=True))
    assert facts == {"interval_minutes": 15, "changes": [{"date": "2026-11-20", "from": 30, "to": 15}]}


def test_a_recharge_credited_hours_later_is_a_late_credit_and_a_prompt_one_is_not():
    readings = _readings("2026-11-24 20:00", [60] * 6, [0.2] * 6, [100.0, 100.0, 100.0, 100.0, 600.0, 600.0])
    paid_late = pd.DataFrame(
        {"ts": [pd.Timestamp("2026-11-24 20:10", tz="Asia/Kolkata")], "amount_inr": [500.0]}
    )
    assert quality.late_credits(readings, paid_late) == [
        {
            "paid_at": "2026-11-24T20:10:00+05:30",
            "credited_at": "2026-11-25T00:00:00+05:30",
            "amount_inr": 500.0,
        }
    ]
    paid_prompt = pd.DataFrame(
        {"ts": [pd.Timestamp("2026-11-24 23:10", tz="Asia/Kolkata")], "amount_inr": [500.0]}
    )
    assert quality.late_credits(readings, paid_prompt) == []


def _import(db: Path, folder: Path, command: str, *args: str) -> None:
    assert cli.main(["--db", str(db), "import-consumers", str(folder / "consumers.csv")]) == 0
    assert cli.main(["--db", str(db), command, *args]) == 0


@pytest.mark.parametrize(
    ("name", "consumer_id", "peak"), [("fifteen_minute", "201000011", 1.8), ("hourly", "201000012", 1.5)]
)
def test_case_interval_length_peaks(cases, tmp_path, name, consumer_id, peak):
    folder = cases / "interval-length"
    db = tmp_path / "c.db"
    _import(db, folder, "import-readings", str(folder / f"{name}.csv"))
    with storage.open_db(db) as conn:
        details = storage.operator.consumer_details(conn, consumer_id)
        readings = storage.operator.consumer_readings_frame(conn, consumer_id)
        daily = storage.operator.consumer_daily_frame(conn, consumer_id)
        recharges = storage.operator.consumer_recharges_frame(conn, consumer_id)
    rows = ledger.build_ledger(daily, details)
    facts = quality.connection_quality(consumer_id, details, readings, recharges, rows)
    # Right values (cases/README.md): 1.80 and 1.50 kW, neither over the 2 kW sanctioned load.
    assert (
        facts["peak_kw"] == peak and facts["sanctioned_load_kw"] == 2.0 and not facts["over_sanctioned_load"]
    )
    assert facts["interval_minutes"] == (15 if name == "fifteen_minute" else 60)
    assert facts["days_with_gaps"] == []


# --- the pages' data-quality line (issue 11 section 3) -------------------------------------------


def test_summary_counts_gaps_by_minutes_covered_when_the_daily_frame_has_them():
    import datetime as dt

    daily = pd.DataFrame(
        {
            "consumer_id": ["7"] * 4 + ["8"],
            "day": pd.to_datetime(["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-25", "2026-11-24"]),
            "kwh": [5.0, 5.0, 5.0, 1.0, None],  # 8: recharges only, no readings: no line
            "intervals": [48, 72, 96, 20, 0],  # 30 min, then 30+15 min (whole day), then 15 min
            "minutes": [1440.0, 1440.0, 1440.0, 300.0, 0.0],
        }
    )
    events = pd.DataFrame({"consumer_id": ["7", "7", "9"], "kind": ["replacement", "rollover", "glitch"]})
    rows = pd.DataFrame({"consumer_id": ["7", "7"], "late_credit_inr": [0.0, 500.0]})
    summary = quality.connection_summaries(daily, rows, events, today=dt.date(2026, 11, 25))
    assert summary.to_dict("records") == [
        {
            "consumer_id": "7",
            "interval_minutes": 15,
            "days": 3,  # today (25 Nov) is still running: not judged
            "days_with_gaps": 0,
            "replacements": 1,
            "glitches": 0,
            "rollovers": 1,
            "late_credits": 1,
        }
    ]
    # Without minutes the count decides: 72 readings is no whole day at one capture period.
    without = quality.connection_summaries(
        daily.drop(columns="minutes"), None, None, today=dt.date(2026, 11, 25)
    )
    assert without.iloc[0][["interval_minutes", "days_with_gaps", "late_credits"]].tolist() == [30, 1, 0]
    assert quality.connection_summaries(daily.iloc[:0], None, None, today=dt.date(2026, 11, 25)).empty


def test_summary_of_the_late_credit_case_counts_its_late_recharge(cases, tmp_path):
    import datetime as dt
    import io

    folder = cases / "late-recharge-credit"
    db = str(tmp_path / "q.db")
    for command, name in [
        ("import-consumers", "consumers"),
        ("import-readings", "readings"),
        ("import-recharges", "recharges"),
    ]:
        assert cli.main(["--db", db, command, str(folder / f"{name}.csv")], out=io.StringIO()) == 0
    with storage.open_db(db) as conn:
        daily = storage.operator.consumer_daily_frame(conn, "201000001")
        details = storage.operator.consumer_details(conn, "201000001")
    rows = ledger.build_ledger(daily, details, today=dt.date(2026, 11, 28))
    summary = quality.connection_summaries(daily, rows, None, today=dt.date(2026, 11, 28))
    assert summary.iloc[0][["interval_minutes", "days", "days_with_gaps", "late_credits"]].tolist() == [
        60,
        27,
        0,
        1,
    ]
