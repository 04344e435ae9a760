"""lib.forecast: the run-out day from a day-by-day tariff simulation, checked against lib.tariff's own
day-by-day arithmetic (charges_for_days) and on the demo household of 30 Nov 2026 (issue 14 §1)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from lib import analytics, demo, forecast, ledger, storage, tariff


def ledger_rows(
    cid: str,
    first: str,
    last: str,
    units: float | list[float],
    balance: float,
    *,
    nickname: str = "Home",
    owed: float = 0.0,
) -> pd.DataFrame:
    """Ledger-like rows (the columns lib.forecast reads): ``units`` a day, the balance ``balance`` on the
    last day, ₹10 a day more on each earlier day (so the burn is ₹10 a day)."""
    days = pd.date_range(first, last)
    n = len(days)
    per_day = units if isinstance(units, list) else [units] * n
    return pd.DataFrame(
        {
            "consumer_id": cid,
            "nickname": nickname,
            "day": days,
            "units": per_day,
            "intervals": 48,
            "status": "ok",
            "balance_inr": [balance + 10.0 * (n - 1 - i) for i in range(n)],
            "estimated": False,
            "recharge_inr": 0.0,
            "deduction_inr": 10.0,
            "arrears_outstanding_inr": owed,
        }
    )


def details(cid: str, category: str, load: float) -> pd.DataFrame:
    return pd.DataFrame(
        {"consumer_id": [cid], "nickname": ["x"], "tariff_category": [category], "sanctioned_load_kw": [load]}
    )


def reference(category: str, load: float, path: pd.DataFrame, units_before: float) -> list[float]:
    """lib.tariff's own day-by-day charges for the simulated days (the slow, exact reference)."""
    days = [(d.date(), float(u)) for d, u in zip(path["day"], path["units"], strict=True)]
    charges = tariff.charges_for_days(category, days, sanctioned_load_kw=load, units_before=units_before)
    return [c.total for c in charges]


# --- the demo household on 30 Nov 2026 -----------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_outlook() -> pd.DataFrame:
    conn = storage.connect(":memory:")
    storage.migrate(conn)
    summary = demo.seed_demo(conn, now=dt.datetime(2026, 11, 30, 6, 30, tzinfo=dt.UTC))
    today = dt.date(2026, 11, 30)
    account = summary["account_id"]
    rows = ledger.load_ledger(conn, account, today=today)
    outlook = forecast.run_out(
        rows, conn.accounts.connection_details(account), today, arrears=conn.ledger.arrears_frame(account)
    )
    conn.close()
    return outlook


def test_demo_on_30_november_the_shop_runs_out_first_not_home(demo_outlook):
    ordered = analytics.runs_out_first(demo_outlook)
    assert ordered["nickname"].tolist() == ["Shop", "Home", "Village home"]
    by_name = demo_outlook.set_index("nickname")
    # The Shop (NDS-II, no free units) pays every day: about 17 Dec.
    shop = by_name.loc["Shop"]["run_out_day"]
    assert pd.Timestamp("2026-12-14") <= shop <= pd.Timestamp("2026-12-20")
    # Home (DS-II) is inside its 125 free units again from 1 Dec, with winter's low use: late March 2027,
    # where balance ÷ last week's burn said 8 Dec.
    home = by_name.loc["Home"]
    assert pd.Timestamp("2027-03-10") <= home["run_out_day"] <= pd.Timestamp("2027-04-05")
    assert home["days_left"] > 90 and home["burn_7_inr"] > 0
    assert home["balance_inr"] / home["burn_7_inr"] < 10  # the straight line's wrong answer
    # The village home (DS-I, well under 125 units in winter) deducts nothing for a year.
    assert math.isinf(by_name.loc["Village home"]["days_left"])
    assert pd.isna(by_name.loc["Village home"]["run_out_day"])


# --- against lib.tariff, day by day ---------------------------------------------------------------------


def test_a_ds1_village_home_under_125_units_never_runs_out():
    rows = ledger_rows("301", "2026-10-01", "2026-11-29", 3.0, 40.0, nickname="Village home")
    result = forecast.simulate(rows, details("301", "DS-I", 1.0), dt.date(2026, 11, 30))
    row = result.summary.iloc[0]
    assert math.isinf(row["days_left"]) and pd.isna(row["run_out_day"])
    # 3 kWh a day is at most 93 units a month: energy, fixed charge and duty all waived, every day.
    assert (result.path["deduction_inr"] == 0).all()
    assert len(result.path) == forecast.HORIZON_DAYS


def test_a_slab_crossing_mid_month_is_priced_as_the_meter_prices_it():
    # NDS-II in FY2025-26 had two slabs (7.79 up to 100 units, 8.99 above): at 6 kWh a day March 2026
    # crosses 100 units on the 17th, and 1 April brings FY2026-27's single slab.
    rows = ledger_rows("201", "2026-02-01", "2026-03-04", 6.0, 5000.0, nickname="Shop")
    result = forecast.simulate(rows, details("201", "NDS-II", 2.0), dt.date(2026, 3, 5))
    path = result.path
    assert path["day"].iloc[0] == pd.Timestamp("2026-03-05")
    expected = reference("NDS-II", 2.0, path, units_before=4 * 6.0)
    assert path["deduction_inr"].tolist() == pytest.approx(expected, abs=0.005)
    march = path[path["day"].dt.month == 3].set_index(path[path["day"].dt.month == 3]["day"].dt.day)
    assert march.loc[18, "deduction_inr"] > march.loc[16, "deduction_inr"]  # the dearer slab from unit 101
    # The run-out day is where the exact running balance first reaches ₹0.
    running = 5000.0 - np.cumsum(expected)
    first_gone = path["day"].iloc[int(np.flatnonzero(running <= 0)[0])]
    assert result.summary.iloc[0]["run_out_day"] == first_gone


def test_an_nds_connection_pays_every_day_and_its_days_left_count_from_the_balance():
    rows = ledger_rows("202", "2026-10-01", "2026-11-29", 6.0, 900.0, nickname="Shop")
    row = forecast.run_out(rows, details("202", "NDS-II", 2.0), dt.date(2026, 11, 30)).iloc[0]
    # 30 Nov 62.17, then 61.72/61.73 a day in December: ₹35.43 left before 14 Dec (see the module doctest).
    assert row["run_out_day"] == pd.Timestamp("2026-12-14")
    assert row["days_left"] == pytest.approx(14 + 35.43 / 61.73, abs=0.01)
    assert row["burn_7_inr"] == pytest.approx(10.0)  # what the balance actually lost (the rows' ₹10 a day)
    assert row["next_30_inr"] == pytest.approx(62.17 + 29 * 61.72, abs=0.2)


def test_free_units_restart_on_the_first_of_the_month():
    # DS-II, 2 kW, 6 kWh a day: November is past its 125 units (charged), December starts free again.
    rows = ledger_rows("101", "2026-10-01", "2026-11-29", 6.0, 3000.0)
    path = forecast.simulate(rows, details("101", "DS-II", 2.0), dt.date(2026, 11, 30)).path
    by_day = path.set_index("day")["deduction_inr"]
    assert by_day[pd.Timestamp("2026-11-30")] > 0
    free_days = by_day[pd.Timestamp("2026-12-01") : pd.Timestamp("2026-12-20")]
    assert (free_days == 0).all()  # 20 × 6 = 120 units: inside the allowance
    assert by_day[pd.Timestamp("2026-12-22")] > 0  # the 21st reaches 126: charged from there
    expected = reference("DS-II", 2.0, path.iloc[:62], units_before=29 * 6.0)
    assert path["deduction_inr"].iloc[:62].tolist() == pytest.approx(expected, abs=0.005)


def test_a_shop_closed_on_sundays_expects_less_on_sundays():
    days = pd.date_range("2026-09-28", "2026-11-29")  # 28 Sep is a Monday
    use = [1.0 if d.day_of_week == 6 else 8.0 for d in days]
    rows = ledger_rows("202", "2026-09-28", "2026-11-29", use, 2000.0, nickname="Shop")
    path = forecast.simulate(rows, details("202", "NDS-II", 1.0), dt.date(2026, 11, 30)).path
    sundays = path[path["day"].dt.day_of_week == 6]["units"]
    weekdays = path[path["day"].dt.day_of_week < 6]["units"]
    assert sundays.max() < 2.0 < 7.0 < weekdays.min()


def test_daily_arrears_are_recovered_and_hold_the_free_units_until_cleared():
    # ₹300 of arrears at ₹30 a day from 25 Nov: 25-29 Nov paid 150, 150 left = 30 Nov to 4 Dec.
    rows = ledger_rows("101", "2026-10-01", "2026-11-29", 3.0, 2000.0, owed=150.0)
    arrears = pd.DataFrame(
        [
            {
                "arrear_id": 1,
                "consumer_id": "101",
                "amount_inr": 300.0,
                "start_day": "2026-11-25",
                "method": "daily",
                "share": None,
                "daily_inr": 30.0,
            }
        ]
    )
    path = forecast.simulate(
        rows, details("101", "DS-II", 2.0), dt.date(2026, 11, 30), arrears=arrears
    ).path.set_index("day")
    # 1-3 Dec: arrears still owed at the day's end, so no free units: 3 × 4.12 + fixed + duty − rebate + 30.
    held = path.loc[pd.Timestamp("2026-12-02"), "deduction_inr"]
    without_scheme = dataclasses.replace(tariff.load_tariffs(), free_units=())
    no_free = tariff.day_charges(
        "DS-II", dt.date(2026, 12, 2), 3.0, units_before=3.0, sanctioned_load_kw=2.0, book=without_scheme
    )
    assert held == pytest.approx(30.0 + no_free.total, abs=0.02) and no_free.total > 0
    # 4 Dec pays the last ₹30 and ends with nothing owed: free units again; 5 Dec costs nothing.
    assert path.loc[pd.Timestamp("2026-12-05"), "deduction_inr"] == 0.0
    assert path.loc[pd.Timestamp("2026-12-04"), "deduction_inr"] == pytest.approx(30.0, abs=0.01)


def test_without_the_arrears_frame_owed_arrears_keep_the_free_units_held():
    rows = ledger_rows("101", "2026-10-01", "2026-11-29", 3.0, 2000.0, owed=150.0)
    path = forecast.simulate(rows, details("101", "DS-II", 2.0), dt.date(2026, 11, 30)).path
    assert (path["deduction_inr"].iloc[1:40] > 0).all()


def test_an_exhausted_balance_has_no_days_left_and_too_little_history_is_unknown():
    gone = forecast.run_out(
        ledger_rows("1", "2026-11-20", "2026-11-29", 5.0, -12.0),
        details("1", "NDS-II", 1.0),
        dt.date(2026, 11, 30),
    ).iloc[0]
    assert gone["days_left"] == 0.0 and gone["run_out_day"] == pd.Timestamp("2026-11-29")
    short = forecast.run_out(
        ledger_rows("1", "2026-11-28", "2026-11-29", 5.0, 500.0),
        details("1", "NDS-II", 1.0),
        dt.date(2026, 11, 30),
    ).iloc[0]
    assert math.isnan(short["days_left"]) and pd.isna(short["run_out_day"])
    assert short["balance_inr"] == 500.0


def test_today_with_a_metered_balance_is_still_to_be_deducted():
    rows = ledger_rows("1", "2026-10-01", "2026-11-30", 6.0, 900.0)
    rows.loc[rows.index[-1], "status"] = "today"  # the meter's balance now, before today's deduction
    rows.loc[rows.index[-1], "units"] = 2.0  # today's part so far: not the day's use
    path = forecast.simulate(rows, details("1", "NDS-II", 2.0), dt.date(2026, 11, 30)).path
    assert path["day"].iloc[0] == pd.Timestamp("2026-11-30")
    assert path["units"].iloc[0] == pytest.approx(6.0)


@pytest.mark.parametrize("category", ["KJ", "DS-I", "DS-II", "NDS-I", "NDS-II"])
def test_each_simulated_day_is_priced_by_day_charges(category):
    """The forecast prices by the ledger's own rule (tariff.day_charges_columns): each simulated day equals
    ``tariff.day_charges`` of its units and the month's units before it, month restarts, a version change
    (1 Apr 2026), the arrears hold and a fractional load included (issue 15: one rule in one place)."""
    rng = np.random.default_rng(11)
    book = tariff.load_tariffs()
    no_free = dataclasses.replace(book, free_units=())
    days = pd.date_range("2026-02-20", periods=120)
    units = np.round(rng.gamma(2.0, 3.0, len(days)), 3)
    held = np.zeros(len(days), dtype=bool)
    held[10:40] = True
    prices = forecast._price(category, 0.75, days, units, 37.5, held, book)
    so_far, month = 37.5, days[0].month
    for day, kwh, hold, price in zip(days, units, held, prices, strict=True):
        if day.month != month:
            so_far, month = 0.0, day.month
        c = tariff.day_charges(
            category,
            day.date(),
            kwh,
            units_before=so_far,
            sanctioned_load_kw=0.75,
            book=no_free if hold else book,
        )
        assert price == c.total, (day, kwh, so_far)
        so_far += kwh
