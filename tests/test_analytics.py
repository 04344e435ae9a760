"""lib.analytics on small hand-computed fixtures: a gap, a recharge, a disconnection, a month boundary
and an IST midnight boundary. Every expected number below is worked out by hand in the comment beside it."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd
import pytest

from lib import analytics, forecast, ledger, storage
from lib.clock import IST, UTC
from tests.factories import add_consumer, add_readings

NaN = math.nan


def frame(cid: str, nickname: str, rows: list[tuple]) -> pd.DataFrame:
    """Daily rows like ``storage.readings.daily_frame``: (day, kwh, closing balance, recharge[, peak_kwh])."""
    records = []
    for row in rows:
        day, kwh, closing, recharge = row[:4]
        peak = row[4] if len(row) > 4 else (None if kwh is None else kwh / 48)
        records.append(
            {
                "consumer_id": cid,
                "nickname": nickname,
                "day": pd.Timestamp(day),
                "kwh": NaN if kwh is None else float(kwh),
                "intervals": 0 if kwh is None else 48,
                "peak_kwh": NaN if peak is None else float(peak),
                "closing_balance_inr": NaN if closing is None else float(closing),
                "recharge_inr": float(recharge),
            }
        )
    return pd.DataFrame(records)


def same(left: list[float], right: list[float]) -> bool:
    return len(left) == len(right) and all(
        (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b) for a, b in zip(left, right, strict=True)
    )


# A gap on the 3rd (no row at all), a recharge of ₹100 on the 5th.
HOME = frame(
    "101",
    "Home",
    [
        ("2026-11-01", 5.0, 200.0, 0),
        ("2026-11-02", 4.0, 180.0, 0),  # deduction 200 - 180 = 20
        # 2026-11-03 missing
        ("2026-11-04", 6.0, 150.0, 0),  # unknown: the 3rd has no closing balance
        ("2026-11-05", 3.0, 230.0, 100),  # 150 + 100 - 230 = 20
        ("2026-11-06", 2.0, 220.0, 0),  # 10
    ],
)


def test_fill_calendar_keeps_a_gap_as_nan_not_zero():
    filled = analytics.fill_calendar(HOME)
    gap = filled[filled["day"] == pd.Timestamp("2026-11-03")].iloc[0]
    assert len(filled) == 6
    assert math.isnan(gap["kwh"]) and math.isnan(gap["closing_balance_inr"])
    assert gap["intervals"] == 0 and gap["recharge_inr"] == 0


def test_fill_calendar_adds_connections_without_rows():
    filled = analytics.fill_calendar(HOME, "2026-11-05", "2026-11-06", ["101", "202"], {"202": "Shop"})
    assert filled.groupby("consumer_id")["nickname"].first().to_dict() == {"101": "Home", "202": "Shop"}
    assert filled[filled["consumer_id"] == "202"]["kwh"].isna().all()


def test_deductions_exclude_recharges_and_stay_unknown_across_a_gap():
    deductions = analytics.with_deductions(HOME)["deduction_inr"].tolist()
    assert same(deductions, [NaN, 20.0, NaN, NaN, 20.0, 10.0])


def test_runs_out_first_order():
    forecast = pd.DataFrame(
        {
            "consumer_id": ["a", "b", "c", "d", "e"],
            "nickname": ["A", "B", "C", "D", "E"],
            "days_left": [5.0, NaN, 0.0, math.inf, 2.5],
        }
    )
    assert analytics.runs_out_first(forecast)["consumer_id"].tolist() == ["c", "e", "a", "d", "b"]


def test_consumption_by_week_and_month_across_a_month_boundary():
    # Fri 30 Oct .. Mon 2 Nov 2026; 31 Oct is missing.
    daily = frame(
        "101",
        "Home",
        [
            ("2026-10-30", 3.0, 50, 0),
            ("2026-10-31", None, None, 0),
            ("2026-11-01", 4.0, 30, 0),
            ("2026-11-02", 5.0, 20, 0),
        ],
    )
    weekly = analytics.consumption(daily, "week")
    assert weekly["period"].dt.strftime("%Y-%m-%d").tolist() == ["2026-10-26", "2026-11-02"]
    assert weekly["kwh"].tolist() == [7.0, 5.0]  # 3 + (gap) + 4; Monday 2 Nov alone
    assert weekly["days_with_data"].tolist() == [2, 1]
    monthly = analytics.consumption(daily, "month")
    assert monthly["kwh"].tolist() == [3.0, 9.0]
    assert monthly["days"].tolist() == [2, 2]


def test_a_period_with_no_readings_is_nan():
    daily = frame("101", "Home", [("2026-10-30", 3.0, 50, 0), ("2026-11-02", 5.0, 20, 0)])
    daily = daily[daily["day"] != pd.Timestamp("2026-11-02")]
    daily = pd.concat([daily, frame("101", "Home", [("2026-11-10", 1.0, 10, 0)])])
    weekly = analytics.consumption(daily, "week").set_index("period")["kwh"]
    assert math.isnan(weekly[pd.Timestamp("2026-11-02")])  # 2-8 Nov: nothing at all


def test_compare_series_metrics():
    # Range 4-6 Nov, data loaded from the 1st so the 4th's neighbours are known.
    first, last = dt.date(2026, 11, 4), dt.date(2026, 11, 6)
    balance = analytics.compare_series(HOME, "balance", "day", first, last)
    assert balance["value"].tolist() == [150.0, 230.0, 220.0]
    assert balance["recharge_inr"].tolist() == [0.0, 100.0, 0.0]
    spend = analytics.compare_series(HOME, "spend", "day", first, last)
    assert same(spend["value"].tolist(), [NaN, 20.0, 10.0])
    units = analytics.compare_series(HOME, "units", "month", dt.date(2026, 11, 1), last)
    assert units["value"].tolist() == [20.0]  # 5 + 4 + (gap) + 6 + 3 + 2
    balance_month = analytics.compare_series(HOME, "balance", "month", dt.date(2026, 11, 1), last)
    assert balance_month["value"].tolist() == [220.0]
    with pytest.raises(ValueError):
        analytics.compare_series(HOME, "volts", "day")  # type: ignore[arg-type]


def test_compare_series_keeps_connections_without_data():
    series = analytics.compare_series(
        HOME, "units", "day", dt.date(2026, 11, 5), dt.date(2026, 11, 6), ["101", "202"], {"202": "Shop"}
    )
    shop = series[series["consumer_id"] == "202"]
    assert shop["nickname"].tolist() == ["Shop", "Shop"] and shop["value"].isna().all()


def test_choose_granularity_bounds_points():
    today = dt.date(2026, 11, 25)
    assert analytics.choose_granularity(today - dt.timedelta(days=29), today) == "day"
    assert analytics.choose_granularity(today - dt.timedelta(days=364), today) == "week"
    assert analytics.choose_granularity(today - dt.timedelta(days=4 * 365), today) == "month"


CUT = frame(
    "303",
    "Pump",
    [
        ("2026-11-10", 4.0, 20.0, 0),
        ("2026-11-11", 2.0, -4.0, 0),  # ran out during the day: grace, still consuming
        ("2026-11-12", 0.0, -4.0, 0),  # cut
        ("2026-11-13", 0.0, -6.0, 0),  # cut
        # 14th: no data (gap) ends the episode
        ("2026-11-15", 0.0, None, 0),  # cut (balance not reported: the last known one counts)
        ("2026-11-16", 3.0, 96.0, 100),  # recharged, supply back
        ("2026-11-17", 0.0, 96.0, 0),  # no consumption but balance positive: not a cut
    ],
)


def test_disconnection_episodes():
    episodes = analytics.disconnection_episodes(CUT)
    assert episodes[["start", "end", "days", "ongoing"]].values.tolist() == [
        [pd.Timestamp("2026-11-12"), pd.Timestamp("2026-11-13"), 2, False],
        [pd.Timestamp("2026-11-15"), pd.Timestamp("2026-11-15"), 1, False],
    ]


def test_ongoing_disconnection_is_flagged():
    episodes = analytics.disconnection_episodes(CUT[CUT["day"] <= pd.Timestamp("2026-11-13")])
    assert episodes["ongoing"].tolist() == [True]


def test_month_to_date_bounds_on_short_months():
    assert analytics.month_to_date_bounds(dt.date(2026, 11, 25)) == (
        dt.date(2026, 11, 1),
        dt.date(2026, 11, 24),
        dt.date(2026, 10, 1),
        dt.date(2026, 10, 24),
    )
    # 31 May: 1-30 May against 1-30 April; 31 March: February has only 28 days.
    assert analytics.month_to_date_bounds(dt.date(2026, 5, 31))[3] == dt.date(2026, 4, 30)
    assert analytics.month_to_date_bounds(dt.date(2026, 3, 31))[3] == dt.date(2026, 2, 28)


def test_month_to_date_per_connection_and_household():
    # Today 3 Dec: this month = 1-2 Dec; last month = 1-2 Nov.
    home = frame(
        "101",
        "Home",
        [
            ("2026-10-31", 1.0, 100, 0),
            ("2026-11-01", 2.0, 90, 0),  # spend 10
            ("2026-11-02", 3.0, 75, 0),  # 15
            ("2026-11-03", 9.0, 20, 0),  # outside the compared days
            ("2026-11-30", 1.0, 200, 0),
            ("2026-12-01", 4.0, 180, 0),  # 20
            ("2026-12-02", 5.0, 170, 0),  # 10
            ("2026-12-03", 7.0, 160, 0),  # today: not over yet
        ],
    )
    shop = frame("202", "Shop", [("2026-12-01", 6.0, 50, 0), ("2026-12-02", None, None, 0)])
    months = analytics.month_to_date(pd.concat([home, shop]), dt.date(2026, 12, 3))
    rows = months.set_index(months["consumer_id"].fillna("household"))
    assert rows.loc["101", ["kwh_this", "kwh_last", "spend_this", "spend_last"]].tolist() == [
        9.0,
        5.0,
        30.0,
        25.0,
    ]
    assert rows.loc["202", "kwh_this"] == 6.0 and math.isnan(rows.loc["202", "kwh_last"])
    assert rows.loc["202", "days_this"] == 1  # the 2nd is a gap
    assert rows.loc["household", ["kwh_this", "kwh_last", "spend_this", "spend_last"]].tolist() == [
        15.0,
        5.0,
        30.0,
        25.0,
    ]


def test_household_shares():
    home = frame("101", "Home", [("2026-11-01", 3.0, 100, 0), ("2026-11-02", 3.0, 70, 0)])  # 6 kWh, ₹30
    shop = frame("202", "Shop", [("2026-11-01", 6.0, 100, 0), ("2026-11-02", 12.0, 10, 0)])  # 18 kWh, ₹90
    shares = analytics.household_shares(pd.concat([home, shop])).set_index("consumer_id")
    assert shares.loc["101", "kwh_share"] == pytest.approx(0.25)
    assert shares.loc["202", "spend_share"] == pytest.approx(0.75)
    only_second = analytics.household_shares(pd.concat([home, shop]), dt.date(2026, 11, 2)).set_index(
        "consumer_id"
    )
    assert only_second.loc["101", "kwh"] == 3.0 and only_second.loc["202", "spend_inr"] == 90.0


def test_peak_demand_against_sanctioned_load():
    daily = frame("101", "Home", [("2026-11-01", 5.0, 10, 0, 0.4), ("2026-11-02", 5.0, 5, 0, 0.9)])
    details = pd.DataFrame({"consumer_id": ["101"], "sanctioned_load_kw": [1.5]})
    peak = analytics.peak_demand(daily, details).iloc[0]
    assert peak["peak_kw"] == pytest.approx(1.8)  # 0.9 kWh in 30 minutes
    assert peak["peak_day"] == pd.Timestamp("2026-11-02")
    assert peak["load_ratio"] == pytest.approx(1.2) and peak["over_sanctioned"]


def test_hour_of_day_profile_splits_at_ist_midnight():
    # 18:00Z Fri 20 Nov = 23:30 IST Friday (a weekday); 18:30Z = 00:00 IST Saturday (weekend).
    readings = pd.DataFrame(
        {
            "ts": pd.to_datetime(
                ["2026-11-20T17:30:00Z", "2026-11-20T18:00:00Z", "2026-11-20T18:30:00Z"], utc=True
            ),
            "kwh": [0.2, 0.3, 0.5],
        }
    )
    profile = analytics.hour_of_day_profile(readings).set_index(["day_type", "hour"])["kwh"]
    assert profile[("weekday", 23)] == pytest.approx((0.2 + 0.3) / 2 * 2)  # mean interval × 2 per hour
    assert profile[("weekend", 0)] == pytest.approx(1.0)
    assert len(profile) == 2


def test_units_on_a_missing_day_is_nan():
    assert math.isnan(analytics.units_on(HOME, dt.date(2026, 11, 3))["101"])
    assert analytics.units_on(HOME, dt.date(2026, 11, 4))["101"] == 6.0


def test_overview_cards_from_the_store_across_ist_midnight(conn):
    add_consumer(conn, "111", tariff_category="DS-II")
    add_consumer(conn, "222", tariff_category="DS-II")
    account = storage.accounts.create_account(conn, "+919876500000", now="2026-01-01T00:00:00Z")
    storage.accounts.insert_link(conn, account, "111", "Home", now="2026-01-01T00:00:00Z")
    storage.accounts.insert_link(conn, account, "222", "Shop", now="2026-01-01T00:01:00Z")
    # Home: 1 kWh every half hour at ₹6 from 00:00 IST 22 Nov to 11:30 IST 25 Nov: ₹288 a day.
    start = dt.datetime(2026, 11, 22, tzinfo=IST)
    add_readings(conn, "111", start, [1.0] * (3 * 48 + 24), balance=2000.0, recharges={60: 500.0})
    # Shop: starts at 23:30 IST on the 23rd (18:00Z): that half hour belongs to the 23rd, the rest to the 24th.
    add_readings(conn, "222", dt.datetime(2026, 11, 23, 18, 0, tzinfo=UTC), [0.5] * 49, balance=100.0)
    details = storage.accounts.connection_details(conn, account)
    daily = storage.readings.daily_frame(conn, account)
    recharges = storage.readings.recharges_frame(conn, account)
    today = dt.date(2026, 11, 25)
    outlook = forecast.run_out(ledger.build_ledger(daily, details, today=today), details, today)
    cards = analytics.overview_cards(details, daily, recharges, today, forecast=outlook).set_index(
        "consumer_id"
    )
    home, shop = cards.loc["111"], cards.loc["222"]
    # Home: 2000 + 500 - 168 × 6 = 1492 now; complete days 23, 24 lose 288 each (recharge excluded).
    assert home["balance_inr"] == pytest.approx(1492.0)
    assert home["burn_7_inr"] == pytest.approx(288.0)
    # Days left and the run-out day are the tariff forecast's, not balance ÷ burn.
    expected = outlook.set_index("consumer_id").loc["111"]
    assert home["days_left"] == expected["days_left"] and home["run_out_day"] == expected["run_out_day"]
    assert home["yesterday_kwh"] == 48.0
    assert home["last_recharge_inr"] == 500.0 and not home["low"]
    # Shop: 0.5 kWh on the 23rd, 24 kWh (48 × 0.5) on the 24th: 100 - 3 - 144 = -47 at the end of the 24th.
    assert shop["yesterday_kwh"] == 24.0
    assert shop["balance_inr"] == pytest.approx(-47.0)
    assert shop["days_left"] == 0.0 and shop["warn"]
    assert list(cards.index) == ["222", "111"]  # the one that runs out first on top


def test_overview_card_of_a_connection_without_readings():
    details = pd.DataFrame({"consumer_id": ["101", "909"], "nickname": ["Home", "New"]})
    empty_recharges = pd.DataFrame(columns=["consumer_id", "ts", "amount_inr"])
    outlook = pd.DataFrame(
        {
            "consumer_id": ["101"],
            "balance_inr": [220.0],
            "balance_day": [pd.Timestamp("2026-11-06")],
            "burn_7_inr": [50 / 3],
            "burn_30_inr": [50 / 3],
            "days_left": [41.5],
            "run_out_day": [pd.Timestamp("2026-12-17")],
        }
    )
    cards = analytics.overview_cards(details, HOME, empty_recharges, dt.date(2026, 11, 6), forecast=outlook)
    cards = cards.set_index("consumer_id")
    assert not cards.loc["909", "has_readings"] and math.isnan(cards.loc["909", "balance_inr"])
    assert cards.loc["101", "days_left"] == 41.5
    assert cards.loc["101", "run_out_day"] == pd.Timestamp("2026-12-17")
    assert list(cards.index) == ["101", "909"]


def test_estimated_month_cost_by_tariff_category():
    # 24 complete days of November at 6 kWh = 144 kWh -> 180 kWh over 30 days (DS-II, 2 kW, FY2026-27):
    # 125 free; 55 × ₹4.12 = 226.60; rebate 55 × 0.25 = 13.75; fixed ₹160/month waived until the
    # allowance runs out on the 21st (1 of its 6 units charged: 1/6 of ₹5.33 = 0.89) then 9 × 5.33 = 48.00
    # (to the paisa 48.89 in all); duty 6 % of each day's charge = 16.50. Total 226.60 + 48.89 + 16.50 - 13.75.
    days = [(f"2026-11-{d:02d}", 6.0, 100.0, 0) for d in range(1, 25)]
    details = pd.DataFrame(
        {
            "consumer_id": ["101", "202"],
            "nickname": ["Home", "Odd"],
            "tariff_category": ["DS-II", "XX-9"],
            "sanctioned_load_kw": [2.0, 1.0],
        }
    )
    daily = pd.concat([frame("101", "Home", days), frame("202", "Odd", days)])
    estimates = analytics.estimated_month_cost(details, daily, dt.date(2026, 11, 25)).set_index("consumer_id")
    home = estimates.loc["101"]
    assert home["projected_units"] == pytest.approx(180.0)
    assert home["energy_inr"] == pytest.approx(226.6) and home["rebate_inr"] == pytest.approx(13.75)
    assert home["fixed_inr"] == pytest.approx(48.89)
    assert home["estimated_inr"] == pytest.approx(226.6 + 48.89 + 16.5 - 13.75)
    assert not estimates.loc["202", "tariff_known"] and math.isnan(estimates.loc["202", "estimated_inr"])
    by_category = analytics.cost_by_category(estimates.reset_index()).set_index("tariff_category")
    assert by_category.loc["DS-II", "estimated_inr"] == pytest.approx(home["estimated_inr"])
    assert math.isnan(by_category.loc["XX-9", "estimated_inr"])


def _random_household(rng: np.random.Generator, today: pd.Timestamp) -> tuple[pd.DataFrame, list[str]]:
    """1–5 connections, each with its own span of days around ``today`` (some before the range, some none
    at all), random gaps, missing balances and recharges: daily frames like ``daily_frame``."""
    frames, ids = [], []
    for index in range(int(rng.integers(1, 6))):
        cid = f"10{index}"
        ids.append(cid)
        start = today - pd.Timedelta(days=int(rng.integers(0, 90)))
        length = int(rng.integers(0, 80))
        days = [start + pd.Timedelta(days=d) for d in range(length) if rng.random() > 0.15]
        rows = []
        for day in days:
            kwh = None if rng.random() < 0.05 else round(float(rng.uniform(0, 12)), 3)
            closing = None if rng.random() < 0.1 else round(float(rng.uniform(-50, 900)), 2)
            recharge = 500.0 if rng.random() < 0.05 else 0.0
            rows.append((day, kwh, closing, recharge))
        frames.append(frame(cid, f"Meter {index}", rows) if rows else analytics.empty_daily())
    return pd.concat(frames, ignore_index=True), ids


def test_one_period_calendar_gives_the_same_series_and_shares():
    """The Compare page fills one calendar per period (``period_calendar``) for every metric's series and
    the shares; on 25 random households each frame equals the one computed from ``daily`` alone."""
    rng = np.random.default_rng(15)
    today = pd.Timestamp("2026-11-25")
    for _ in range(25):
        daily, ids = _random_household(rng, today)
        last = (today - pd.Timedelta(days=int(rng.integers(0, 20)))).date()
        first = last - dt.timedelta(days=int(rng.integers(0, 60)))
        daily = daily[(daily["day"] >= pd.Timestamp(first) - pd.Timedelta(days=1))]
        daily = daily[daily["day"] <= pd.Timestamp(last)].reset_index(drop=True)
        names = {cid: f"Meter {i}" for i, cid in enumerate(ids)}
        calendar = analytics.period_calendar(daily, first, last, ids, names)
        for metric in analytics.METRICS:
            for granularity in analytics.GRANULARITIES:
                alone = analytics.compare_series(daily, metric, granularity, first, last, ids, names)
                shared = analytics.compare_series(
                    daily, metric, granularity, first, last, ids, names, calendar=calendar
                )
                pd.testing.assert_frame_equal(shared, alone, check_exact=True)
        # The units fallback: a subset of the calendar's connections, ones with readings (as the page).
        some = list(pd.unique(daily.loc[daily["intervals"] > 0, "consumer_id"]))[:2]
        own = daily[daily["consumer_id"].isin(some)]
        if some:
            pd.testing.assert_frame_equal(
                analytics.compare_series(own, "units", "day", first, last, some, names, calendar=calendar),
                analytics.compare_series(own, "units", "day", first, last, some, names),
                check_exact=True,
            )
        pd.testing.assert_frame_equal(
            analytics.household_shares(daily, first, last, calendar=calendar),
            analytics.household_shares(daily, first, last),
            check_exact=True,
        )


def _episodes_on_a_filled_calendar(daily: pd.DataFrame) -> pd.DataFrame:
    """disconnection_episodes as it was before issue 15's numpy pass (h48): fill_calendar, then per
    connection a pandas ffill and a group-by of the runs. Kept verbatim as the reference."""
    columns = ["consumer_id", "nickname", "start", "end", "days", "ongoing"]
    frame = analytics.fill_calendar(daily) if len(daily) else daily
    if not len(frame):
        return pd.DataFrame(columns=columns)
    rows = []
    for cid, group in frame.groupby("consumer_id", sort=False):
        group = group.sort_values("day").reset_index(drop=True)
        balance = group["closing_balance_inr"].ffill()
        cut = (group["intervals"] > 0) & (group["kwh"].fillna(np.inf) <= analytics.ZERO_KWH) & (balance <= 0)
        last_data_day = group.loc[group["intervals"] > 0, "day"].max()
        run_id = (cut != cut.shift()).cumsum()
        for _, run in group[cut].groupby(run_id[cut]):
            start, end = run["day"].iloc[0], run["day"].iloc[-1]
            rows.append([cid, run["nickname"].iloc[0], start, end, len(run), bool(end == last_data_day)])
    return pd.DataFrame(rows, columns=columns)


def _cut_household(rng: np.random.Generator, n: int) -> pd.DataFrame:
    """``n`` connections of stored daily rows with balances that run out, cuts, gaps, unreported
    balances, days with readings but no kWh, recharges that bring supply back; link order shuffled."""
    parts = []
    for k in range(n):
        days = pd.date_range(
            pd.Timestamp("2026-09-01") + pd.Timedelta(days=int(rng.integers(0, 40))),
            periods=int(rng.integers(1, 60)),
        )
        days = days[rng.random(len(days)) > 0.1] if len(days) > 2 else days  # missing days (gaps)
        m = len(days)
        kwh = np.where(rng.random(m) < 0.45, 0.0, np.round(rng.uniform(0.1, 9.0, m), 3))
        kwh[rng.random(m) < 0.05] = np.nan
        balance = np.round(np.cumsum(rng.normal(-8.0, 25.0, m)) + rng.uniform(-30, 60), 2)
        balance[rng.random(m) < 0.15] = np.nan
        intervals = np.where(rng.random(m) < 0.08, 0, 48)
        parts.append(
            pd.DataFrame(
                {
                    "consumer_id": f"9{k:03d}",
                    "nickname": f"Meter {k}",
                    "day": days,
                    "kwh": kwh,
                    "intervals": intervals,
                    "peak_kwh": 0.5,
                    "closing_balance_inr": balance,
                    "recharge_inr": 0.0,
                }
            )
        )
    order = rng.permutation(n)
    return pd.concat([parts[i] for i in order], ignore_index=True)


@pytest.mark.parametrize("seed", range(40))
def test_episodes_equal_the_filled_calendar_version(seed):
    daily = _cut_household(
        np.random.default_rng(9100 + seed), int(np.random.default_rng(seed).integers(1, 13))
    )
    expected = _episodes_on_a_filled_calendar(daily)
    pd.testing.assert_frame_equal(analytics.disconnection_episodes(daily), expected, check_exact=True)
    shuffled = daily.sample(frac=1.0, random_state=seed, ignore_index=True)  # rows in any order
    got = analytics.disconnection_episodes(shuffled)
    firsts = list(dict.fromkeys(shuffled["consumer_id"]))  # connections in order of first appearance
    pd.testing.assert_frame_equal(got, _episodes_on_a_filled_calendar(shuffled), check_exact=True)
    assert list(dict.fromkeys(got["consumer_id"])) == [c for c in firsts if c in set(got["consumer_id"])]


def test_episodes_of_the_demo_and_stored_frames_equal_the_filled_calendar_version(tmp_path):
    from lib import demo

    with storage.open_db(tmp_path / "demo.db") as conn:
        account = demo.seed_demo(conn, now=dt.datetime(2026, 11, 25, 6, 30, tzinfo=UTC), days=120)[
            "account_id"
        ]
        found = 0
        for first, last in (
            ("2026-08-01", "2026-11-25"),
            ("2026-10-25", "2026-11-25"),
            ("2026-11-20", "2026-11-25"),
            ("2026-11-24", "2026-11-24"),
        ):
            daily = storage.readings.daily_frame(conn, account, None, first, last)
            expected = _episodes_on_a_filled_calendar(daily)
            pd.testing.assert_frame_equal(analytics.disconnection_episodes(daily), expected, check_exact=True)
            found += len(expected)
    assert found, "the demo's 120 days have an episode"
    seen = pd.concat(
        [
            _episodes_on_a_filled_calendar(_cut_household(np.random.default_rng(9100 + s), 6))
            for s in range(40)
        ]
    )
    assert seen["ongoing"].any() and not seen["ongoing"].all() and (seen["days"] > 1).any()
