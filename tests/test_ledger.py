"""The ledger: hand-built cases worked out by hand, the demo reconciled to the rupee, arrears, writes."""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest

from lib import audit, auth, demo, ledger, phone, storage, tariff
from lib.clock import now_utc
from tests.factories import imported_connection

TODAY = dt.date(2026, 11, 25)  # the suite's fixed clock (conftest: 2026-11-25 12:00 IST)

# A small tariff for cases the real file does not have (a change in the middle of a month), with no
# fixed charge, duty or rebate so the energy charge can be read off directly.
MID_MONTH_BOOK = """
schema_version = 1
[[version]]
name = "old"
effective_from = 2026-01-01
electricity_duty_percent = 0
prepaid_rebate_per_unit = 0
[version.category.T]
label = "Test"
domestic = false
slabs = [{ upto_units = 100, rate = 4.00 }, { rate = 6.00 }]
fixed_charge_inr = 0
fixed_charge_basis = "per_connection"

[[version]]
name = "new"
effective_from = 2026-03-16
electricity_duty_percent = 0
prepaid_rebate_per_unit = 0
[version.category.T]
label = "Test"
domestic = false
slabs = [{ upto_units = 100, rate = 5.00 }, { rate = 7.00 }]
fixed_charge_inr = 0
fixed_charge_basis = "per_connection"
"""


def _daily(rows: list[tuple], consumer_id: str = "101", nickname: str = "Home") -> pd.DataFrame:
    """A storage.readings.daily_frame-shaped frame from (day, kwh, closing_balance, recharge) tuples."""
    return pd.DataFrame(
        {
            "consumer_id": consumer_id,
            "nickname": nickname,
            "day": pd.to_datetime([r[0] for r in rows]),
            "kwh": [r[1] for r in rows],
            "intervals": [0 if r[1] is None else 48 for r in rows],
            "peak_kwh": [None if r[1] is None else 0.5 for r in rows],
            "closing_balance_inr": [r[2] for r in rows],
            "recharge_inr": [r[3] for r in rows],
        }
    ).astype({"kwh": float, "closing_balance_inr": float, "peak_kwh": float})


def _details(
    category: str, load: float = 1.0, consumer_id: str = "101", nickname: str = "Home"
) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "consumer_id": [consumer_id],
            "nickname": [nickname],
            "tariff_category": [category],
            "sanctioned_load_kw": [load],
        }
    )


def _row(frame: pd.DataFrame, day: str) -> pd.Series:
    return frame[frame["day"] == pd.Timestamp(day)].iloc[0]


# --- arithmetic on hand-built cases ---------------------------------------------------------------------


def test_slab_boundary_inside_a_month():
    # NDS-II, 1 kW, March 2026 (FY2025-26: 0-100 units at 7.79, above at 8.99, no free units).
    # 60 + 30 units on the 1st and 2nd; on the 3rd, 20 units cross 100: 10 x 7.79 + 10 x 8.99 = 167.80.
    # Fixed ₹200 a month over 31 days: accrued 19.35 by the 3rd, 12.90 by the 2nd -> 6.45.
    # Duty 6 % of 174.25 = 10.455 -> 10.46 (half up); rebate 20 x 0.25 = 5.00.
    rows = ledger.build_ledger(
        _daily(
            [
                ("2026-03-01", 60.0, None, 0.0),
                ("2026-03-02", 30.0, None, 0.0),
                ("2026-03-03", 20.0, None, 0.0),
            ]
        ),
        _details("NDS-II"),
        today=TODAY,
    )
    third = _row(rows, "2026-03-03")
    assert (third["energy_inr"], third["fixed_inr"], third["duty_inr"], third["rebate_inr"]) == (
        167.80,
        6.45,
        10.46,
        5.00,
    )
    assert third["deduction_inr"] == 179.71  # 167.80 + 6.45 + 10.46 - 5.00
    assert third["units_month_to_date"] == pytest.approx(110.0)
    # The first day is all in the lower slab: 60 x 7.79.
    assert _row(rows, "2026-03-01")["energy_inr"] == 467.40


def test_tariff_change_in_the_middle_of_a_month_splits_at_that_day():
    book = tariff.parse_tariffs(MID_MONTH_BOOK, name="test.toml")
    rows = ledger.build_ledger(
        _daily([("2026-03-15", 90.0, None, 0.0), ("2026-03-16", 20.0, None, 0.0)]),
        _details("T"),
        today=TODAY,
        book=book,
    )
    # 15th, old tariff: 90 x 4.00 = 360. 16th, new tariff, slabs still counting the month's units:
    # units 91-100 at 5.00 = 50 and 101-110 at 7.00 = 70 -> 120 (not 20 x 5.00 = 100).
    assert _row(rows, "2026-03-15")["energy_inr"] == 360.0
    assert _row(rows, "2026-03-16")["energy_inr"] == 120.0
    assert list(rows["tariff_version"]) == ["old", "new"]
    # No metered balance and no balance entered: unknown (issue 11; it was "estimated" from ₹0: -360, -480).
    assert rows["closing_inr"].isna().all() and rows["balance_inr"].isna().all()
    assert list(rows["status"]) == ["unknown", "unknown"]
    # With the balance the household read on the 15th (₹1,000 at the start of the day): estimated from it.
    anchors = pd.DataFrame({"consumer_id": ["101"], "day": ["2026-03-15"], "balance_inr": [1000.0]})
    rows = ledger.build_ledger(
        _daily([("2026-03-15", 90.0, None, 0.0), ("2026-03-16", 20.0, None, 0.0)]),
        _details("T"),
        anchors=anchors,
        today=TODAY,
        book=book,
    )
    assert list(rows["closing_inr"]) == [640.0, 520.0] and rows["estimated"].all()
    assert list(rows["status"]) == ["estimated", "estimated"] and rows["anchor_inr"].iloc[0] == 1000.0


def test_a_recharge_that_pays_arrears():
    # DS-I (rural, 2.45 a unit; November 2026 stays inside the 125 free units, so no charges at all,
    # except on a day that ends with arrears still owed: the scheme needs arrears cleared first).
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": 1,
                "consumer_id": "101",
                "amount_inr": 700.0,
                "start_day": "2026-11-02",
                "method": "recharge_share",
                "share": 0.5,
                "daily_inr": None,
            }
        ]
    )
    daily = _daily(
        [
            ("2026-11-01", 2.0, 100.0, 0.0),
            # 100 + 1000 - 500 (half the recharge to arrears) - 6.11: ₹200 still owed at the end of
            # the day, so no free units: 2 x 2.45 = 4.90 + fixed 1.34 (40 x 2/30 - 40 x 1/30 to the
            # paisa: 2.67 - 1.33) + duty 6 % of 6.24 = 0.37 - rebate 0.50 = 6.11.
            ("2026-11-02", 2.0, 593.89, 1000.0),
            ("2026-11-03", 2.0, 1393.89, 1000.0),  # + 1000 - 200 (all that was owed); free units again
            ("2026-11-04", 2.0, 1893.89, 500.0),  # paid off: the whole recharge reaches the balance
        ]
    )
    rows = ledger.build_ledger(daily, _details("DS-I"), arrears=arrears, today=TODAY)
    assert list(rows["arrears_inr"]) == [0.0, 500.0, 200.0, 0.0]
    assert list(rows["closing_inr"]) == [100.0, 593.89, 1393.89, 1893.89]
    assert list(rows["free_units_used"]) == [2.0, 0.0, 2.0, 2.0]
    assert list(rows["arrears_outstanding_inr"]) == [0.0, 200.0, 0.0, 0.0]
    assert set(rows["status"].iloc[1:]) == {"ok"}
    status = ledger.arrears_status(arrears, rows, TODAY).iloc[0]
    assert (status["recovered_inr"], status["remaining_inr"]) == (700.0, 0.0)
    assert status["ends_on"] == pd.Timestamp("2026-11-03")


def test_desco_recharge_with_arrears_recovered(shared_data: Path):
    """The real DESCO recharge of 22 Feb 2022: ৳2,970 paid, ৳432.46 of energy bought, VAT ৳141.43;
    the rest went to arrears. Modelled as arrears taken whole from the next recharge, the ledger's
    recharge minus arrears recovery minus VAT is exactly the energy amount DESCO shows."""
    with (shared_data / "desco_prepaid" / "desco_recharge_history_transcribed.csv").open(
        encoding="utf-8"
    ) as handle:
        row = next(r for r in csv.DictReader(handle) if r["rechargeDate"].startswith("2022-02-22"))
    total, vat, energy = float(row["totalAmount"]), float(row["vat"]), float(row["energyAmount"])
    owed = round(total - vat - energy, 2)
    assert owed > energy  # most of that recharge went to arrears
    book = tariff.parse_tariffs(MID_MONTH_BOOK.replace("2026-01-01", "2022-01-01"), name="test.toml")
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": 1,
                "consumer_id": "101",
                "amount_inr": owed,
                "start_day": "2022-02-01",
                "method": "recharge_share",
                "share": 1.0,
                "daily_inr": None,
            }
        ]
    )
    daily = _daily([("2022-02-21", 0.0, 50.0, 0.0), ("2022-02-22", 0.0, None, total)])
    rows = ledger.build_ledger(daily, _details("T"), arrears=arrears, today=TODAY, book=book)
    day = _row(rows, "2022-02-22")
    assert day["arrears_inr"] == owed
    assert round(day["recharge_inr"] - day["arrears_inr"] - vat, 2) == energy
    # The next recharge is not touched: the arrears are paid.
    status = ledger.arrears_status(arrears, rows, dt.date(2022, 2, 23)).iloc[0]
    assert status["remaining_inr"] == 0.0


def test_a_negative_balance_keeps_paying_fixed_charges_until_a_recharge():
    # NDS-II, 2 kW, November 2026 (one slab 7.79; fixed ₹400 a month accrued to the paisa).
    rows = ledger.build_ledger(
        _daily(
            [
                ("2026-11-22", 0.0, 50.0, 0.0),
                ("2026-11-23", 10.0, -44.21, 0.0),
                ("2026-11-24", 0.0, 441.66, 500.0),
            ]
        ),
        _details("NDS-II", load=2.0),
        today=TODAY,
    )
    assert list(rows["status"]) == ["start", "ok", "ok"]
    # 23rd: 10 units x 7.79 = 77.90; fixed 306.67 - 293.33 = 13.34 (400 x 23/30, 400 x 22/30);
    # duty 6 % of 91.24 = 5.47; rebate 2.50; 50 - 94.21 = -44.21 and the meter cuts supply.
    negative = _row(rows, "2026-11-23")
    assert (negative["energy_inr"], negative["fixed_inr"], negative["duty_inr"], negative["rebate_inr"]) == (
        77.90,
        13.34,
        5.47,
        2.50,
    )
    assert negative["closing_inr"] == -44.21
    # 24th: no consumption while cut, fixed 13.33 (320.00 - 306.67) + duty 0.80 = 14.13; -44.21 + 500 - 14.13.
    day = _row(rows, "2026-11-24")
    assert (day["energy_inr"], day["fixed_inr"], day["duty_inr"]) == (0.0, 13.33, 0.80)
    assert day["closing_inr"] == 441.66
    outlook = ledger.balance_outlook(rows.iloc[:2], _details("NDS-II", load=2.0), TODAY)
    assert outlook.iloc[0]["days_left"] == 0.0  # exhausted


def test_a_day_with_no_readings_is_a_gap_not_a_free_day():
    # NDS-II, 1 kW, Nov 2026: fixed 6.67 / 6.66 a day, duty 6 % of it.
    daily = _daily([("2026-11-20", 5.0, 500.0, 0.0), ("2026-11-22", 5.0, 400.0, 0.0)])  # the 21st is missing
    rows = ledger.build_ledger(daily, _details("NDS-II"), today=TODAY)
    gap = _row(rows, "2026-11-21")
    assert math.isnan(gap["units"]) and gap["energy_inr"] == 0.0
    assert gap["fixed_inr"] > 0  # the fixed charge runs on
    assert gap["status"] == "no_readings" and gap["estimated"]
    after = _row(rows, "2026-11-22")
    # The meter's 400 differs from the ledger (which could not count the 21st's units), but the day
    # after a gap is not flagged: its opening balance was not the meter's.
    assert after["status"] == "gap"
    assert ledger.unexplained_deductions(rows).empty


def test_unexplained_deduction_is_flagged_once_with_its_amount():
    # NDS-II, 1 kW: 24th of Nov worked out in the module docstring: 412.86; the meter says 407.86.
    daily = _daily(
        [
            ("2026-11-23", 10.0, 500.0, 0.0),
            ("2026-11-24", 10.0, 407.86, 0.0),
            ("2026-11-25", 2.0, 407.86, 0.0),  # today: not checked
        ]
    )
    rows = ledger.build_ledger(daily, _details("NDS-II"), today=TODAY)
    assert list(rows["status"]) == ["start", "unexplained", "today"]
    flagged = ledger.unexplained_deductions(rows)
    assert list(flagged["difference_inr"]) == [-5.0]
    summary = ledger.unexplained_summary(rows).iloc[0]
    assert (summary["days"], summary["taken_inr"]) == (1, 5.0)


def test_free_units_outlook_projects_the_day_the_allowance_runs_out():
    # DS-II, 1 kW, 10 units a day on 1-10 Nov 2026; today is the 11th. 100 units so far: free units
    # left 25; at 10 a day the month passes 125 on the 13th (110, 120, 130) and ends at 300 units.
    days = [(f"2026-11-{d:02d}", 10.0, None, 0.0) for d in range(1, 11)]
    rows = ledger.build_ledger(_daily(days), _details("DS-II"), today=dt.date(2026, 11, 11))
    [outlook] = ledger.free_units_outlook(rows, _details("DS-II"), dt.date(2026, 11, 11))
    assert outlook.free_units_left == 25.0
    assert outlook.passes_on == dt.date(2026, 11, 13) and not outlook.already_passed
    assert outlook.projected_month_units == 300.0
    # The rest of the month: 175 units over the allowance at 4.12 = 721.00, rebate 43.75; fixed ₹80
    # waived until the 12th, half of the 13th's 2.67 (1.34) then 45.33 for the 14th-30th = 46.67;
    # duty about 6 % of 767.67 = 46.06 -> about ₹769.98 more this month.
    assert outlook.more_this_month_inr == pytest.approx(769.98, abs=0.10)


def test_a_shop_has_no_free_units():
    days = [(f"2026-11-{d:02d}", 10.0, None, 0.0) for d in range(1, 11)]
    rows = ledger.build_ledger(_daily(days), _details("NDS-II"), today=dt.date(2026, 11, 11))
    [outlook] = ledger.free_units_outlook(rows, _details("NDS-II"), dt.date(2026, 11, 11))
    assert (outlook.allowance, outlook.free_units_left, outlook.passes_on) == (0.0, 0.0, None)
    assert rows["free_units_used"].sum() == 0


def test_daily_instalment_arrears_end_date():
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": 7,
                "consumer_id": "101",
                "amount_inr": 1000.0,
                "start_day": "2026-11-20",
                "method": "daily",
                "share": None,
                "daily_inr": 30.0,
            }
        ]
    )
    days = [(f"2026-11-{d:02d}", 1.0, None, 0.0) for d in range(18, 26)]
    rows = ledger.build_ledger(_daily(days), _details("DS-I"), arrears=arrears, today=TODAY)
    assert list(rows["arrears_inr"]) == [0.0, 0.0] + [30.0] * 6
    status = ledger.arrears_status(arrears, rows, TODAY).iloc[0]
    # 20-25 Nov: 6 x 30 = 180 recovered, 820 left: ceil(820 / 30) = 28 more instalments from the
    # 26th (27 of ₹30 and a last one of ₹10), the last on 23 Dec.
    assert (status["recovered_inr"], status["remaining_inr"]) == (180.0, 820.0)
    assert status["ends_on"] == pd.Timestamp("2026-12-23")


def test_recharge_share_arrears_estimate_recharges_left():
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": 3,
                "consumer_id": "101",
                "amount_inr": 2000.0,
                "start_day": "2026-11-01",
                "method": "recharge_share",
                "share": 0.25,
                "daily_inr": None,
            }
        ]
    )
    days = [
        ("2026-11-01", 1.0, None, 0.0),
        ("2026-11-05", 1.0, None, 1000.0),
        ("2026-11-15", 1.0, None, 1000.0),
    ]
    rows = ledger.build_ledger(_daily(days), _details("DS-I"), arrears=arrears, today=dt.date(2026, 11, 16))
    status = ledger.arrears_status(arrears, rows, dt.date(2026, 11, 16)).iloc[0]
    # 2 x 250 recovered, 1500 left: 6 more recharges of ₹1,000 (one every 10 days) -> 60 days.
    assert (status["recovered_inr"], status["remaining_inr"], status["recharges_left"]) == (
        500.0,
        1500.0,
        6.0,
    )
    assert status["ends_on"] == pd.Timestamp("2027-01-15")


def test_adjustment_credits_the_balance():
    adjustments = pd.DataFrame(
        [{"consumer_id": "101", "day": "2026-11-02", "amount_inr": 150.0, "reason": "refund"}]
    )
    rows = ledger.build_ledger(
        _daily([("2026-11-01", 1.0, 100.0, 0.0), ("2026-11-02", 1.0, 250.0, 0.0)]),
        _details("DS-I"),
        adjustments=adjustments,
        today=TODAY,
    )
    assert list(rows["adjustment_inr"]) == [0.0, 150.0]
    assert list(rows["status"]) == ["start", "ok"]


def test_month_parts_add_up_to_the_days():
    days = [(f"2026-10-{d:02d}", 4.0, None, 0.0) for d in range(25, 32)] + [
        (f"2026-11-{d:02d}", 4.0, None, 0.0) for d in range(1, 6)
    ]
    rows = ledger.build_ledger(_daily(days), _details("NDS-II"), today=TODAY)
    parts = ledger.month_parts(rows)
    assert list(parts["days"]) == [7, 5]
    assert parts["deduction_inr"].sum() == pytest.approx(rows["deduction_inr"].sum())
    assert list(parts["units"]) == [28.0, 20.0]


def test_unknown_tariff_category_has_no_ledger_and_is_reported():
    daily = _daily([("2026-11-01", 1.0, 10.0, 0.0)])
    rows = ledger.build_ledger(daily, _details("XX-9"), today=TODAY)
    assert rows.empty
    assert ledger.connections_without_ledger(_details("XX-9"), daily, rows) == ["101"]


# --- the demo data, reconciled to the rupee ---------------------------------------------------------------


@pytest.fixture
def seeded(any_conn) -> int:
    """The demo (four months: enough for slabs, months and the Shop's lapse) for the ledger reads, on each engine."""
    return int(demo.seed_demo(any_conn, now=now_utc(), days=120)["account_id"])


@pytest.fixture
def linked(any_conn) -> int:
    """The demo's consumers and links without its readings, on each engine: the write tests need no more."""
    any_conn.consumers.upsert_consumers(
        {
            "consumer_id": m.consumer_id,
            "name": m.consumer_id,
            "registered_mobile": m.registered_mobile,
            "is_demo": 1,
        }
        for m in demo.DEMO_METERS
    )
    account_id = int(any_conn.accounts.create_account(demo.DEMO_ACCOUNT_MOBILE))
    for consumer_id, nickname in demo.DEMO_LINKED:
        any_conn.accounts.insert_link(account_id, consumer_id, nickname)
    return account_id


def _linked_imported_connection(conn, account_id: int, consumer_id: str = "204500001") -> None:
    """The consumer and link of ``factories.imported_connection``, without its readings (not needed here)."""
    conn.consumers.upsert_consumers(
        [{"consumer_id": consumer_id, "name": "Imported", "registered_mobile": "+919812300000"}]
    )
    conn.accounts.insert_link(account_id, consumer_id, "Godown")


def test_demo_reconciles_to_the_rupee_every_day(conn):
    # A whole year: both tariff versions (the April 2026 slab merge) and the Shop's lapse.
    seeded = int(demo.seed_demo(conn, now=now_utc())["account_id"])
    rows = ledger.load_ledger(conn, seeded, today=TODAY)
    assert set(rows["consumer_id"]) == {cid for cid, _ in demo.DEMO_LINKED}
    checked = rows[~rows["status"].isin(["start", "today"])]
    assert len(checked) > 300 * 3  # a year for each connection
    assert set(checked["status"]) == {"ok"}
    assert checked["difference_inr"].abs().max() < 0.005  # exact to the paisa, so to the rupee
    # Independently of the status: computed closing vs metered closing, day by day.
    full = rows[rows["status"] != "today"]
    assert (full["closing_inr"] - full["metered_closing_inr"]).abs().max() < 1.0
    # The Shop's disconnection episode (balance below zero) is in there and reconciles too.
    shop = rows[rows["consumer_id"] == "DEMO-1002"]
    assert (shop["metered_closing_inr"] < 0).any()
    assert set(rows["tariff_version"]) == {"FY2025-26", "FY2026-27"}


def test_demo_ledger_only_shows_linked_connections(any_conn, seeded):
    conn = any_conn
    unlinked = [cid for cid, _ in demo.DEMO_UNLINKED]
    rows = ledger.load_ledger(conn, seeded, unlinked, today=TODAY)
    assert rows.empty
    other = storage.accounts.create_account(conn, "+919812345678")
    assert ledger.load_ledger(conn, other, today=TODAY).empty


# --- writes ---------------------------------------------------------------------------------------------


def test_add_arrear_checks_the_link_and_the_input(any_conn, linked):
    conn, seeded = any_conn, linked
    with pytest.raises(ledger.LedgerInputError, match="ledger_error_not_linked"):
        ledger.add_arrear(
            conn,
            seeded,
            demo.DEMO_UNLINKED[0][0],
            amount_inr=100,
            start_day=TODAY,
            method="daily",
            daily_inr=10,
        )
    for bad, key in [
        ({"amount_inr": -5, "method": "daily", "daily_inr": 10}, "ledger_error_amount"),
        ({"amount_inr": float("nan"), "method": "daily", "daily_inr": 10}, "ledger_error_amount"),
        ({"amount_inr": 100, "method": "daily", "daily_inr": 0}, "ledger_error_amount"),
        ({"amount_inr": 100, "method": "recharge_share", "share": 1.5}, "ledger_error_share"),
        ({"amount_inr": 100, "method": "lump"}, "ledger_error_method"),
    ]:
        with pytest.raises(ledger.LedgerInputError, match=key):
            ledger.add_arrear(conn, seeded, "DEMO-1001", start_day=TODAY, **bad)
    assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 0
    arrear_id = ledger.add_arrear(
        conn,
        seeded,
        "DEMO-1001",
        amount_inr=300,
        start_day=TODAY,
        method="recharge_share",
        share=0.2,
        note=" bill\nNov ",
    )
    assert storage.ledger.arrears_frame(conn, seeded)["note"].tolist() == ["bill Nov"]
    other = storage.accounts.create_account(conn, "+919812345678")
    assert storage.ledger.arrears_frame(conn, other).empty  # not readable by an account without the link
    assert not ledger.delete_arrear(conn, other, arrear_id)
    assert ledger.delete_arrear(conn, seeded, arrear_id)


def test_arrears_change_the_demo_ledger_from_their_start(any_conn, seeded):
    conn = any_conn
    before = ledger.load_ledger(conn, seeded, ["DEMO-1001"], today=TODAY)
    ledger.add_arrear(
        conn,
        seeded,
        "DEMO-1001",
        amount_inr=90,
        start_day=dt.date(2026, 11, 20),
        method="daily",
        daily_inr=40,
    )
    after = ledger.load_ledger(conn, seeded, ["DEMO-1001"], today=TODAY)
    assert after["arrears_inr"].sum() == 90.0  # 40 + 40 + 10
    assert list(after.loc[after["arrears_inr"] > 0, "day"].dt.day) == [20, 21, 22]
    # The demo meter never took them, so those days are now unexplained (balance higher than expected).
    flagged = ledger.unexplained_deductions(after)
    assert sorted(flagged["day"].dt.day) == [20, 21, 22]
    assert before["arrears_inr"].sum() == 0


def test_adjustment_needs_a_reason_and_a_link(any_conn, linked):
    conn, seeded = any_conn, linked
    with pytest.raises(ledger.LedgerInputError, match="ledger_error_reason"):
        ledger.add_adjustment(conn, seeded, "DEMO-1001", day=TODAY, amount_inr=50, reason="  ")
    with pytest.raises(ledger.LedgerInputError, match="ledger_error_amount"):
        ledger.add_adjustment(conn, seeded, "DEMO-1001", day=TODAY, amount_inr=0, reason="x")
    with pytest.raises(ledger.LedgerInputError, match="ledger_error_not_linked"):
        ledger.add_adjustment(conn, seeded, "DEMO-2001", day=TODAY, amount_inr=5, reason="x")
    ledger.add_adjustment(conn, seeded, "DEMO-1001", day=TODAY, amount_inr=-25.5, reason="meter test fee")
    assert storage.ledger.adjustments_frame(conn, seeded)["amount_inr"].tolist() == [-25.5]


def test_writes_bump_the_data_version(any_conn, linked):
    conn, seeded = any_conn, linked
    version = storage.meta.data_version(conn)
    ledger.add_adjustment(conn, seeded, "DEMO-1001", day=TODAY, amount_inr=5, reason="x")
    assert storage.meta.data_version(conn) != version


def test_ledger_writes_and_deletes_are_audited_in_their_transaction(any_conn, linked, monkeypatch):
    """Arrears and adjustments added and deleted each leave one audit row (who, which connection, which
    entry; never the household's note or reason), written in the write's transaction: a refused delete
    writes none, and a delete whose audit row fails is rolled back (the entry stays)."""
    conn, seeded = any_conn, linked
    member = storage.accounts.create_account(conn, "+919812345678")
    storage.accounts.insert_link(conn, member, "DEMO-1001", "Ghar")
    arrear_id = ledger.add_arrear(
        conn, seeded, "DEMO-1001", amount_inr=300, start_day=TODAY, method="daily", daily_inr=10, note="bill"
    )
    adjustment_id = ledger.add_adjustment(conn, seeded, "DEMO-1001", day=TODAY, amount_inr=-20, reason="fee")
    assert not ledger.delete_arrear(conn, member, arrear_id)  # not the author's: nothing deleted or audited
    assert not ledger.delete_adjustment(conn, member, adjustment_id)

    def broken(*args, **kwargs):
        raise storage.StorageError("audit write failed")

    with monkeypatch.context() as patch:
        patch.setattr(audit, "record", broken)
        with pytest.raises(storage.StorageError):
            ledger.delete_arrear(conn, seeded, arrear_id)
    assert storage.ledger.arrears_frame(conn, seeded)["arrear_id"].tolist() == [arrear_id]
    assert ledger.delete_arrear(conn, seeded, arrear_id, now="2026-11-25T06:30:00Z")
    assert ledger.delete_adjustment(conn, seeded, adjustment_id, now="2026-11-25T06:31:00Z")
    events = ("arrear_added", "adjustment_added", "arrear_deleted", "adjustment_deleted")
    rows = [row for row in reversed(audit.recent(conn, limit=100)) if row["event"] in events]
    assert [(r["event"], r["account_id"], r["consumer_id"], r["reason"]) for r in rows] == [
        ("arrear_added", seeded, "DEMO-1001", f"arrear_id {arrear_id}: 300.00 INR"),
        ("adjustment_added", seeded, "DEMO-1001", f"adjustment_id {adjustment_id}: -20.00 INR"),
        ("arrear_deleted", seeded, "DEMO-1001", f"arrear_id {arrear_id}"),
        ("adjustment_deleted", seeded, "DEMO-1001", f"adjustment_id {adjustment_id}"),
    ]
    assert [r["ts"] for r in rows[2:]] == ["2026-11-25T06:30:00Z", "2026-11-25T06:31:00Z"]
    assert (
        storage.ledger.arrears_frame(conn, seeded).empty
        and storage.ledger.adjustments_frame(conn, seeded).empty
    )


def test_migration_tables_exist(db_path):
    with storage.open_db(db_path) as conn:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"arrears", "adjustments", "alert_rules", "alerts_sent"} <= tables


# --- an imported connection without metered balances -------------------------------------------------------


def test_imported_connection_without_a_balance_is_unknown_until_the_household_enters_one(conn):
    account = storage.accounts.create_account(conn, "+919812300000")
    imported_connection(conn, account)
    rows = ledger.load_ledger(conn, account, today=TODAY)
    # No metered balance, no anchor: unknown (issue 11). It was "estimated" from ₹0 (334.68), which is wrong.
    assert set(rows["status"]) == {"unknown"} and rows["balance_inr"].isna().all()
    details = storage.accounts.connection_details(conn, account)
    assert math.isnan(ledger.balance_outlook(rows, details, TODAY).iloc[0]["balance_inr"])
    # 6 units a day on NDS-II, 1 kW, Nov 2026: 6 x 7.79 = 46.74; fixed 6.67 (22nd), 6.66 (23rd), 6.67 (24th);
    # duty 6 % of 53.41 = 3.20 (3.2046) or of 53.40 = 3.20; rebate 1.50. Deductions 55.11, 55.10, 55.11.
    assert list(rows["deduction_inr"]) == [55.11, 55.10, 55.11]

    # The household reads ₹200.00 in its DISCOM app at the start of the 23rd.
    anchor_id = ledger.add_balance_anchor(
        conn, account, "204500001", day=dt.date(2026, 11, 23), balance_inr=200, today=TODAY
    )
    anchors = storage.anchors.anchors_frame(conn, account)
    assert anchors["anchor_id"].tolist() == [anchor_id]
    daily = storage.readings.daily_frame(conn, account)
    details = storage.accounts.connection_details(conn, account)
    rows = ledger.build_ledger(daily, details, anchors=anchors, today=TODAY)
    assert list(rows["status"]) == ["unknown", "estimated", "estimated"] and rows["estimated"].all()
    # 200 - 55.10 = 144.90 on the 23rd, 144.90 - 55.11 = 89.79 on the 24th (the ₹500 was paid on the 22nd).
    assert list(rows["balance_inr"].iloc[1:]) == [144.90, 89.79]
    outlook = ledger.balance_outlook(rows, details, TODAY).iloc[0]
    assert outlook["estimated"] and outlook["balance_inr"] == 89.79
    # The ledger's estimate already holds the 24th's charges: the forecast starts on the 25th, 55.11 a day
    # (6 units, NDS-II, 1 kW; fixed 6.67 on the 25th): 89.79 - 55.11 = 34.68, then the 26th takes it below.
    assert outlook["run_out_day"] == pd.Timestamp("2026-11-26")


def test_a_balance_anchor_needs_a_link_a_number_and_a_past_day(any_conn):
    conn = any_conn
    account = storage.accounts.create_account(conn, "+919812300000")
    _linked_imported_connection(conn, account)
    stranger = storage.accounts.create_account(conn, "+919812399999")
    for kwargs, key in [
        ({"account_id": stranger, "balance_inr": 10}, "ledger_error_not_linked"),
        ({"account_id": account, "balance_inr": "lots"}, "ledger_error_amount"),
        ({"account_id": account, "balance_inr": math.inf}, "ledger_error_amount"),
        ({"account_id": account, "balance_inr": 20_00_000}, "ledger_error_amount"),
        ({"account_id": account, "balance_inr": 10, "day": dt.date(2026, 11, 26)}, "ledger_error_day"),
    ]:
        args = {"day": dt.date(2026, 11, 23), **kwargs}
        with pytest.raises(ledger.LedgerInputError) as error:
            ledger.add_balance_anchor(conn, consumer_id="204500001", today=TODAY, **args)
        assert str(error.value) == key
    assert not len(storage.anchors.anchors_frame(conn, account))
    # A negative balance is a real reading (meters run below zero), and it can be removed again.
    anchor_id = ledger.add_balance_anchor(
        conn, account, "204500001", day=dt.date(2026, 11, 23), balance_inr=-12.4, today=TODAY
    )
    assert storage.anchors.anchors_frame(conn, account)["balance_inr"].tolist() == [-12.4]
    assert not storage.anchors.delete_anchor(conn, stranger, anchor_id)
    assert storage.anchors.delete_anchor(conn, account, anchor_id)
    assert not len(storage.anchors.anchors_frame(conn, account))


# --- recharges that reach the meter late, and what counts as a complete day (issue 11 section 3) ---------


def _import_case(db: Path, folder: Path, *files: tuple[str, list[str]]) -> None:
    from lib import cli

    assert cli.main(["--db", str(db), "import-consumers", str(folder / "consumers.csv")]) == 0
    for command, args in files:
        assert cli.main(["--db", str(db), command, *args]) == 0, (command, args)


def _case_ledger(db: Path, consumer_id: str, today: dt.date) -> pd.DataFrame:
    with storage.open_db(db) as conn:
        account = storage.accounts.create_account(conn, "+919835099999")
        storage.accounts.insert_link(conn, account, consumer_id, "Home")
        return ledger.load_ledger(conn, account, today=today)


@pytest.fixture
def cases() -> Path:
    """../shared/cases (skipped outside CI when absent, like shared_data)."""
    import os

    folder = SHARED_CASES
    if not folder.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared cases folder is missing: {folder}")
        pytest.skip(f"shared cases not found at {folder}")
    return folder


SHARED_CASES = Path(__file__).resolve().parent.parent.parent / "shared" / "cases"
CASES_TODAY = dt.date(2026, 11, 28)  # cases/README.md: METERMITRA_NOW=2026-11-28T10:00:00+05:30


@pytest.fixture
def cases_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-28T10:00:00+05:30")


def test_case_late_recharge_credit_nets_to_nothing(cases, cases_clock, tmp_path):
    folder = cases / "late-recharge-credit"
    _import_case(
        tmp_path / "c.db",
        folder,
        ("import-readings", [str(folder / "readings.csv")]),
        ("import-recharges", [str(folder / "recharges.csv")]),
    )
    rows = _case_ledger(tmp_path / "c.db", "201000001", CASES_TODAY)
    # Right value: no unexplained deduction (it said "₹500.00 taken beyond the tariff").
    assert not len(ledger.unexplained_deductions(rows)) and not len(ledger.unexplained_summary(rows))
    assert (
        _row(rows, "2026-11-24")["status"] == "pending" and _row(rows, "2026-11-24")["pending_inr"] == 500.0
    )
    assert _row(rows, "2026-11-25")["status"] == "late_credit"
    late = ledger.late_credits(rows)
    assert late[["paid_day", "credited_day", "amount_inr"]].values.tolist() == [
        [pd.Timestamp("2026-11-24"), pd.Timestamp("2026-11-25"), 500.0]
    ]


def test_case_period_change_flags_the_25_rupees_as_when_its_30_minute_days_are_alone(
    cases, cases_clock, tmp_path
):
    folder = cases / "interval-length"
    source = folder / "period_change.csv"
    lines = source.read_text(encoding="utf-8").splitlines(keepends=True)
    alone = tmp_path / "thirty_minute_days.csv"
    alone.write_text(lines[0] + "".join(line for line in lines[1:] if line.split(",")[1] < "2026-11-20"))
    flagged = []
    for name, path in [("alone", alone), ("whole", source)]:
        db = tmp_path / f"{name}.db"
        _import_case(db, folder, ("import-readings", [str(path)]))
        rows = _case_ledger(db, "201000013", CASES_TODAY)
        flagged.append(ledger.unexplained_deductions(rows)[["day", "difference_inr"]].values.tolist())
        summary = ledger.unexplained_summary(rows).iloc[0]
        assert summary["net_inr"] == 25.0 and summary["taken_inr"] == 25.0
        # 30-minute days next to 15-minute ones are complete (it was "incomplete": 48 of 96 readings).
        assert "incomplete" not in set(rows["status"])
    assert flagged[0] == flagged[1] == [[pd.Timestamp("2026-11-17"), -25.0]]


def test_a_recharge_not_on_the_meter_yet_is_pending_not_unexplained():
    # DS-II in November stays inside the 125 free units: no deduction, so only the recharge moves the balance.
    rows = ledger.build_ledger(
        _daily(
            [
                ("2026-11-22", 4.0, 300.0, 0.0),
                ("2026-11-23", 4.0, 300.0, 0.0),
                ("2026-11-24", 4.0, 300.0, 200.0),
            ]
        ),
        _details("DS-II", 2.0),
        today=TODAY,
    )
    assert list(rows["status"]) == ["start", "ok", "pending"] and rows["pending_inr"].iloc[-1] == 200.0
    late = ledger.late_credits(rows)
    assert late["amount_inr"].tolist() == [200.0] and late["credited_day"].isna().all()
    # The same shortfall a week ago, never credited since: unexplained, not pending for ever.
    rows = ledger.build_ledger(
        _daily(
            [
                ("2026-11-14", 4.0, 300.0, 0.0),
                ("2026-11-15", 4.0, 300.0, 200.0),
                ("2026-11-16", 4.0, 300.0, 0.0),
            ]
        ),
        _details("DS-II", 2.0),
        today=TODAY,
    )
    assert list(rows["status"]) == ["start", "unexplained", "ok"] and rows["difference_inr"].iloc[1] == -200.0


def test_a_late_credit_with_an_extra_deduction_still_flags_the_extra():
    # Paid ₹500 on the 23rd, on the meter on the 24th, and the meter also took ₹30 more on the 24th.
    rows = ledger.build_ledger(
        _daily(
            [
                ("2026-11-22", 4.0, 300.0, 0.0),
                ("2026-11-23", 4.0, 300.0, 500.0),
                ("2026-11-24", 4.0, 770.0, 0.0),
            ]
        ),
        _details("DS-II", 2.0),
        today=TODAY,
    )
    assert list(rows["status"]) == ["start", "pending", "unexplained"]
    assert rows["difference_inr"].iloc[1] == 0.0 and rows["difference_inr"].iloc[2] == -30.0
    summary = ledger.unexplained_summary(rows).iloc[0]
    assert summary["net_inr"] == 30.0 and summary["spared_inr"] == 0.0


def test_free_units_are_held_back_while_arrears_are_owed():
    # The same month as test_free_units_outlook_projects_the_day_the_allowance_runs_out, with ₹5,000 of
    # arrears recovered at ₹10 a day from 1 Nov: still owed on the 11th, so no free units at all.
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": 1,
                "consumer_id": "101",
                "amount_inr": 5000.0,
                "start_day": "2026-11-01",
                "method": "daily",
                "share": None,
                "daily_inr": 10.0,
            }
        ]
    )
    days = [(f"2026-11-{d:02d}", 10.0, None, 0.0) for d in range(1, 11)]
    rows = ledger.build_ledger(_daily(days), _details("DS-II"), arrears=arrears, today=dt.date(2026, 11, 11))
    assert rows["free_units_used"].sum() == 0
    assert _row(rows, "2026-11-01")["energy_inr"] == 41.20  # 10 x 4.12, nothing free
    [outlook] = ledger.free_units_outlook(rows, _details("DS-II"), dt.date(2026, 11, 11))
    assert outlook.held_by_arrears and outlook.free_units_left == 0.0
    # Without the scheme the rest of the month (20 days x 10 units) costs more than with it.
    free_rows = ledger.build_ledger(_daily(days), _details("DS-II"), today=dt.date(2026, 11, 11))
    [with_free] = ledger.free_units_outlook(free_rows, _details("DS-II"), dt.date(2026, 11, 11))
    assert outlook.more_this_month_inr > with_free.more_this_month_inr


def test_a_net_metered_connection_is_priced_on_netted_units():
    # NDS-II (no free units), 1 kW, November 2026: 24 Nov imports 10.871 and exports 4.427 kWh (the
    # net-metering case's values): priced on 6.444 kWh; 25 Nov exports more than it imports: nothing billed,
    # the 1 kWh surplus is used on the 26th (3 - 1 = 2 kWh billed).
    daily = _daily(
        [("2026-11-24", 10.871, None, 0.0), ("2026-11-25", 2.0, None, 0.0), ("2026-11-26", 3.0, None, 0.0)]
    )
    daily["export_kwh"] = [4.427, 3.0, 0.0]
    rows = ledger.build_ledger(daily, _details("NDS-II"), today=TODAY)
    assert list(rows["units"]) == [10.871, 2.0, 3.0] and list(rows["export_kwh"]) == [4.427, 3.0, 0.0]
    assert list(rows["billed_units"]) == [6.444, 0.0, 2.0]
    # 6.444 x 7.79 = 50.20; 2 x 7.79 = 15.58; none on the 25th.
    assert list(rows["energy_inr"]) == [50.2, 0.0, 15.58]
    # Without export the same days are priced on import.
    plain = ledger.build_ledger(daily.drop(columns=["export_kwh"]), _details("NDS-II"), today=TODAY)
    assert list(plain["billed_units"]) == [10.871, 2.0, 3.0] and plain["export_kwh"].isna().all()


def test_arrears_and_adjustments_are_the_connections_and_only_their_author_deletes_them(any_conn, seeded):
    """Issue 13 item 7: a second account of the same household sees what the first entered, with the
    author (masked), and cannot delete it; an entry whose author left the connection may be removed."""
    conn = any_conn
    author_mobile = storage.accounts.account_by_id(conn, seeded)["mobile"]
    member = storage.accounts.create_account(conn, "+919812345678")
    storage.accounts.insert_link(conn, member, "DEMO-1001", "Ghar")
    stranger = storage.accounts.create_account(conn, "+919812345679")
    arrear_id = ledger.add_arrear(
        conn, seeded, "DEMO-1001", amount_inr=300, start_day=TODAY, method="daily", daily_inr=10
    )
    adjustment_id = ledger.add_adjustment(conn, seeded, "DEMO-1001", day=TODAY, amount_inr=-20, reason="fee")

    for frame, key in (
        (storage.ledger.arrears_frame(conn, member), "arrear_id"),
        (storage.ledger.adjustments_frame(conn, member), "adjustment_id"),
    ):
        seen = ledger.with_authors(frame, member)
        assert seen[key].tolist() == [arrear_id if key == "arrear_id" else adjustment_id]
        assert seen[["author", "author_masked", "can_delete"]].values.tolist() == [
            ["other", phone.mask_mobile(author_mobile), False]
        ]
    assert ledger.with_authors(storage.ledger.arrears_frame(conn, seeded), seeded)["author"].tolist() == [
        "you"
    ]
    # Neither the other member nor a stranger can delete them; the author can.
    assert not ledger.delete_arrear(conn, member, arrear_id)
    assert not ledger.delete_adjustment(conn, member, adjustment_id)
    assert not ledger.delete_adjustment(conn, stranger, adjustment_id)
    assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 1
    assert conn.execute("SELECT count(*) FROM adjustments").fetchone()[0] == 1
    assert ledger.delete_adjustment(conn, seeded, adjustment_id)
    assert storage.ledger.adjustments_frame(conn, member).empty

    # The author removes the connection: the entry stays the connection's, shown without a mobile, and
    # the member who still follows it may now remove it (a stranger still may not).
    assert auth.remove_connection(conn, seeded, "DEMO-1001")
    seen = ledger.with_authors(storage.ledger.arrears_frame(conn, member), member)
    assert seen[["author", "author_masked", "can_delete"]].values.tolist() == [["former", None, True]]
    assert not ledger.delete_arrear(conn, stranger, arrear_id)
    assert ledger.delete_arrear(conn, member, arrear_id)
    assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 0
