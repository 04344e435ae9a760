"""Compare's view in lib.analytics after h60 (issue 15) against main's code before it (tests/analytics_reference.py,
the copy at main 22975ce): ``household_shares`` given the period calendar, ``peak_demand``, ``compare_series`` and
``disconnection_episodes``' inputs, the same frames to the last bit (values, dtypes, column order, index) on random
households of 1, 3 and 12 connections over every period of the Compare page (7 days, 30 days, 3 months, 1 year and
custom ranges) and every metric and granularity, plus hand-made edge cases; and which path answered (the numpy one
for the store's frames, the group-by one for what it cannot answer)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lib import analytics
from lib.ui import compare
from tests import analytics_reference as reference

TODAY = dt.date(2026, 11, 25)
PEAK_COLUMNS = analytics.PEAK_COLUMNS


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=True, check_index_type=True, check_column_type=True)
    assert list(new.columns) == list(old.columns)
    assert type(new.index) is type(old.index)


def _household(rng: np.random.Generator, connections: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(daily, details) of a random household as the store gives them (``daily_frame``: text IDs ordered by
    consumer_id and day, days in ``us``; ``connection_details``): gaps, a connection without rows, zero-use
    days at a balance at or below zero, net-metered connections, ties in the day's peak, peak_kw missing on
    some days (the roll-up's fallback to peak_kwh), recharges, unknown balances and sanctioned loads."""
    frames, details = [], []
    for index in range(connections):
        cid = str(int(rng.integers(10**9, 10**10)))
        nickname = str(rng.choice(["Home", "Shop", "घर", f"=Meter {index}", "Pump, 2"]))
        details.append((cid, nickname, float(rng.choice([1.0, 2.0, 5.0, np.nan]))))
        if rng.random() < 0.1:  # linked, no rows at all
            continue
        days = int(rng.integers(1, 400))
        end = pd.Timestamp(TODAY) - pd.Timedelta(days=int(rng.integers(0, 30)))
        day = pd.date_range(end - pd.Timedelta(days=days - 1), end, freq="D")
        day = day[rng.random(len(day)) > rng.choice([0.0, 0.05, 0.3])]
        n = len(day)
        if not n:
            continue
        balance = 400 - np.cumsum(rng.uniform(0, 30, n)) + 500 * (np.arange(n) // 60)
        balance[rng.random(n) < 0.05] = np.nan
        kwh = rng.uniform(0, 9, n).round(3)
        kwh[rng.random(n) < 0.1] = 0.0  # zero-use days
        kwh[balance <= 0] = 0.0  # cut off
        peak = rng.choice([0.25, 0.5, 0.75, 1.0], n)  # few values: ties in the peak
        peak_kw = peak * 2.0
        peak_kw[rng.random(n) < 0.1] = np.nan  # the fallback to peak_kwh
        metered = rng.random() < 0.3
        frames.append(
            pd.DataFrame(
                {
                    "consumer_id": cid,
                    "nickname": nickname,
                    "day": day.as_unit("us"),
                    "kwh": np.where(rng.random(n) < 0.03, np.nan, kwh),
                    "intervals": np.where(kwh > 0, 48, rng.choice([0, 48], n)),
                    "peak_kwh": np.where(rng.random(n) < 0.03, np.nan, peak),
                    "closing_balance_inr": balance.round(2),
                    "recharge_inr": np.where(rng.random(n) < 0.05, 500.0, 0.0),
                    "export_kwh": rng.uniform(0, 4, n).round(3) if metered else [None] * n,
                    "minutes": 1440.0,
                    "peak_kw": peak_kw,
                }
            )
        )
    details_frame = pd.DataFrame(details, columns=["consumer_id", "nickname", "sanctioned_load_kw"])
    if not frames:
        return analytics.empty_daily(), details_frame
    daily = pd.concat(frames, ignore_index=True).sort_values(["consumer_id", "day"], ignore_index=True)
    return daily, details_frame


def _period(rng: np.random.Generator, choice: str) -> tuple[dt.date, dt.date]:
    custom = None
    if choice == "custom":
        last = TODAY - dt.timedelta(days=int(rng.integers(0, 90)))
        custom = (last - dt.timedelta(days=int(rng.integers(0, 500))), last)
    first, last, _ = compare.range_days(choice, TODAY, custom)
    return first, last


def test_the_view_is_main_s_on_random_households():
    rng = np.random.default_rng(60)
    answered = {"shares": 0, "peaks": 0, "days": 0, "weeks": 0}
    cases = 0
    for _ in range(50):
        connections = int(rng.choice([1, 3, 12]))
        whole, details = _household(rng, connections)
        for choice in rng.choice(list(compare.RANGE_KEYS), 3, replace=False):
            cases += 1
            first, last = _period(rng, str(choice))
            load_from = min(first - dt.timedelta(days=1), last - dt.timedelta(days=31))
            daily = whole[(whole["day"] >= pd.Timestamp(load_from)) & (whole["day"] <= pd.Timestamp(last))]
            daily = daily.reset_index(drop=True)  # household_frame's concat: a fresh index
            selected = list(details["consumer_id"])
            names = dict(zip(selected, details["nickname"], strict=True))
            calendar = analytics.period_calendar(daily, first, last, selected, names)
            in_range = daily[(daily["day"] >= pd.Timestamp(first)) & (daily["day"] <= pd.Timestamp(last))]
            _same(
                analytics.household_shares(daily, first, last, calendar=calendar),
                reference.household_shares(daily, first, last, calendar=calendar),
            )
            _same(analytics.peak_demand(in_range, details), reference.peak_demand(in_range, details))
            answered["shares"] += analytics._shares_by_code(daily, calendar, last) is not None
            answered["peaks"] += analytics._peaks_by_position(in_range, details, PEAK_COLUMNS) is not None
            for metric in analytics.METRICS:  # the day and one other granularity (all over the cases)
                for granularity in ("day", str(rng.choice(["week", "month"]))):
                    args = (daily, metric, granularity, first, last, selected, names)
                    _same(
                        analytics.compare_series(*args, calendar=calendar),
                        reference.compare_series(*args, calendar=calendar),
                    )
            answered["days"] += analytics._days_in_order(calendar, ["consumer_id", "day"]) is not None
            weeks = analytics._periods_by_code(calendar, "week", {"kwh": "sum"}, ["consumer_id", "period"])
            answered["weeks"] += weeks is not None
    assert cases >= 150
    # The store's frames are answered by the new paths (an empty daily frame or calendar goes the old way).
    assert min(answered.values()) >= 0.9 * cases, answered


def _meters() -> tuple[pd.DataFrame, pd.DataFrame]:
    daily = pd.DataFrame(
        {
            "consumer_id": ["202", "202", "202", "101", "101"],
            "nickname": ["Shop", "Shop", "Shop", "Home", "Home"],
            "day": pd.to_datetime(
                ["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-01", "2026-11-02"]
            ).as_unit("us"),
            "kwh": [1.0, 0.0, 2.0, 3.0, np.nan],
            "intervals": [48, 48, 48, 48, 0],
            "peak_kwh": [0.5, 0.75, 0.75, 0.25, np.nan],
            "closing_balance_inr": [90.0, 80.0, 70.0, 50.0, np.nan],
            "recharge_inr": [0.0, 0.0, 0.0, 0.0, 0.0],
            "peak_kw": [1.0, np.nan, 1.5, 0.5, np.nan],
        }
    )
    details = pd.DataFrame(
        {
            "consumer_id": ["101", "202", "303"],
            "nickname": ["Home", "Shop", "Pump"],
            "sanctioned_load_kw": [1.0, 2.0, 3.0],
        }
    )
    return daily, details


@pytest.mark.parametrize(
    ("change", "numpy"),
    [
        (lambda d, s: (d, s), True),  # a tie: 202's 1.5 kW on the 2nd (peak_kwh × 2) and the 3rd: the first
        (lambda d, s: (d.drop(columns=["peak_kw"]), s), True),  # an older roll-up: peak_kwh × 2
        (lambda d, s: (d.assign(peak_kw=np.nan, peak_kwh=np.nan), s), True),  # no peak known: no rows
        (lambda d, s: (d.iloc[0:0], s), True),  # no rows
        (lambda d, s: (d, s.iloc[[0]]), True),  # a connection without details: NaN load
        (lambda d, s: (d, s.iloc[0:0]), True),  # no details at all
        (lambda d, s: (d.assign(peak_kw=[np.inf, 1.0, 1.0, 0.5, np.nan]), s), True),  # infinite kW
        (
            lambda d, s: (d.assign(peak_kw=[-0.0, 0.0, 0.0, 0.0, np.nan], peak_kwh=0.0), s),
            True,
        ),  # signed zeros
        (lambda d, s: (d.set_axis([3, 3, 4, 5, 6]), s), False),  # labels twice: loc takes both rows
        (
            lambda d, s: (
                d.assign(consumer_id=[202, 202, 202, 101, 101]),
                s.assign(consumer_id=[101, 202, 303]),
            ),
            False,
        ),
        (lambda d, s: (d.assign(peak_kw=pd.array([1.0, None, 1.5, 0.5, None], dtype="Float64")), s), False),
        (lambda d, s: (d.assign(consumer_id=["202", "202", None, "101", "101"]), s), False),  # an ID missing
        (
            lambda d, s: (d, s.assign(sanctioned_load_kw=["1", "2.5", None])),
            True,
        ),  # text loads: astype(float)
    ],
)
def test_peak_demand_on_hand_made_cases(change, numpy):
    daily, details = change(*_meters())
    assert (analytics._peaks_by_position(daily, details, PEAK_COLUMNS) is not None) == numpy
    _same(analytics.peak_demand(daily, details), reference.peak_demand(daily, details))
    if numpy and len(daily) == 5 and "peak_kw" in daily and daily["peak_kw"].iloc[2] == 1.5:
        peaks = analytics.peak_demand(daily, details)  # the first of the tied maxima, IDs sorted
        assert peaks["consumer_id"].tolist() == ["101", "202"]
        assert peaks["peak_day"].dt.day.tolist() == [1, 2]


def test_peak_demand_raises_as_main_for_repeated_details():
    daily, details = _meters()
    twice = pd.concat([details, details.iloc[[0]]], ignore_index=True)
    assert analytics._peaks_by_position(daily, twice, PEAK_COLUMNS) is None
    with pytest.raises(Exception) as old_error:
        reference.peak_demand(daily, twice)
    with pytest.raises(old_error.type):
        analytics.peak_demand(daily, twice)


@pytest.mark.parametrize(
    ("first", "last", "ids"),
    [
        (dt.date(2026, 11, 2), dt.date(2026, 11, 3), ["101", "202", "303"]),  # 303: no rows, no share
        (dt.date(2026, 11, 1), dt.date(2026, 11, 1), ["202", "101"]),  # one day
        (dt.date(2026, 12, 1), dt.date(2026, 12, 5), ["101", "202"]),  # after the data: no share
        (dt.date(2026, 10, 1), dt.date(2026, 10, 5), ["101"]),  # before it
    ],
)
def test_shares_and_series_on_hand_made_cases(first, last, ids):
    daily, _ = _meters()
    for frame in (daily, daily.assign(nickname=daily["nickname"].where(daily.index != 3))):  # a name missing
        calendar = analytics.period_calendar(frame, first, last, ids)
        _same(
            analytics.household_shares(frame, first, last, calendar=calendar),
            reference.household_shares(frame, first, last, calendar=calendar),
        )
        for metric in analytics.METRICS:
            for granularity in analytics.GRANULARITIES:
                args = (frame, metric, granularity, first, last, ids)
                _same(
                    analytics.compare_series(*args, calendar=calendar),
                    reference.compare_series(*args, calendar=calendar),
                )
                _same(analytics.compare_series(*args), reference.compare_series(*args))


def test_the_shares_take_the_group_by_where_codes_cannot():
    """A nickname missing in daily's first row, integer IDs, a day missing: the text group-by answers."""
    daily, _ = _meters()
    first, last = dt.date(2026, 11, 1), dt.date(2026, 11, 3)
    calendar = analytics.period_calendar(daily, first, last)
    assert analytics._shares_by_code(daily, calendar, last) is not None
    unnamed = daily.assign(nickname=daily["nickname"].where(daily.index != 3))
    odd_day = daily.assign(day=daily["day"].where(daily.index != 4))
    integer_ids = daily.assign(consumer_id=[202, 202, 202, 101, 101])
    for frame in (unnamed, odd_day, integer_ids):
        own = analytics.period_calendar(frame, first, last) if frame is not odd_day else calendar
        assert analytics._shares_by_code(frame, own, last) is None
        _same(
            analytics.household_shares(frame, first, last, calendar=own),
            reference.household_shares(frame, first, last, calendar=own),
        )


def test_the_daily_series_sorts_where_the_order_is_not_plain():
    """Rows out of order, a day twice, a missing day or ID: ``_days_in_order`` declines and the sort answers;
    weeks and months by integer codes unless a day or ID is missing (the two-key group-by then)."""
    daily, _ = _meters()
    columns = ["consumer_id", "nickname", "period", "kwh", "days_with_data", "days", "recharge_inr"]
    assert analytics._days_in_order(daily, columns) is None  # 202 before 101
    ordered = daily.sort_values(["consumer_id", "day"], ignore_index=True)
    assert analytics._days_in_order(ordered, columns) is not None
    twice = pd.concat([ordered, ordered.iloc[[1]]]).sort_values(["consumer_id", "day"], kind="stable")
    no_day = ordered.assign(day=ordered["day"].where(ordered.index != 2))
    no_id = ordered.assign(consumer_id=ordered["consumer_id"].where(ordered.index != 0))
    for frame in (daily, ordered, twice, no_day, no_id, ordered.set_axis([9, 8, 7, 6, 5])):
        for granularity in analytics.GRANULARITIES:  # weeks and months: by codes, or the two-key group-by
            for how in ({"kwh": "sum"}, {"closing_balance_inr": "last"}):
                _same(
                    analytics._per_period(frame, granularity, how),
                    reference._per_period(frame, granularity, how),
                )
    for frame, by_code in ((daily, True), (twice, True), (no_day, False), (no_id, False)):
        assert (analytics._periods_by_code(frame, "month", {"kwh": "sum"}, columns) is not None) == by_code
    assert analytics._days_in_order(twice, columns) is None
    assert analytics._days_in_order(no_day, columns) is None
    assert analytics._days_in_order(no_id, columns) is None


def test_the_shares_sum_each_column_alone_to_the_last_bit():
    """A year of unrounded kWh and ₹ (as the store's roll-ups hold them), a few balances unknown: the shares' sums are the text
    group-by's bit for bit; summed as one two-column frame they would not be (asserted, so this case can
    tell the two apart)."""
    rng = np.random.default_rng(0)
    first, last = TODAY - dt.timedelta(days=364), TODAY
    day = pd.date_range(pd.Timestamp(first) - pd.Timedelta(days=1), pd.Timestamp(last), freq="D").as_unit(
        "us"
    )
    frames = []
    for cid in ("3100000001", "3100000002", "3100000003"):
        n = len(day)
        frames.append(
            pd.DataFrame(
                {
                    "consumer_id": cid,
                    "nickname": f"Meter {cid[-1]}",
                    "day": day,
                    "kwh": rng.uniform(0, 20, n),
                    "intervals": 48,
                    "peak_kwh": rng.uniform(0, 1, n),
                    "closing_balance_inr": np.where(  # a few unknown: NaN deductions
                        rng.random(n) < 0.02, np.nan, 5000 - np.cumsum(rng.uniform(0, 13, n))
                    ),
                    "recharge_inr": 0.0,
                }
            )
        )
    daily = pd.concat(frames, ignore_index=True)
    calendar = analytics.period_calendar(daily, first, last)
    assert analytics._shares_by_code(daily, calendar, last) is not None
    new = analytics.household_shares(daily, first, last, calendar=calendar)
    _same(new, reference.household_shares(daily, first, last, calendar=calendar))
    rows = reference._shares_calendar(daily, calendar, first, last)
    codes = pd.factorize(rows["consumer_id"])[0]
    block = {
        "kwh": rows["kwh"].to_numpy(),
        "deduction_inr": rows["deduction_inr"].to_numpy(),
    }  # one 2-D block
    together = pd.DataFrame(block).groupby(codes).sum(min_count=1)
    differs = (together["kwh"].to_numpy() != new["kwh"].to_numpy()) | (
        together["deduction_inr"].to_numpy() != new["spend_inr"].to_numpy()
    )
    assert differs.any()


def _review_daily() -> pd.DataFrame:
    return pd.DataFrame(
        {"consumer_id": ["1", "1"], "nickname": ["Home"] * 2,
         "day": pd.to_datetime(["2026-12-31", "2027-01-01"]).as_unit("us"),
         "kwh": [1.0, 2.0], "intervals": [48, 48], "peak_kwh": [0.5, 0.5], "closing_balance_inr": [10.0, 9.0],
         "recharge_inr": pd.array([0.0, 500.0], dtype="Float64")}
    )  # fmt: skip


def test_review_cases_of_h60_are_main_s():
    """Review of h60: a nullable recharge column keeps its dtype in weeks and months; details without a
    consumer_id and no kW known give main's empty peaks; a zero sanctioned load or infinite sums divide
    without a RuntimeWarning, as pandas' division did."""
    import warnings

    daily = _review_daily()
    first, last = dt.date(2026, 12, 28), dt.date(2027, 1, 3)
    calendar = analytics.period_calendar(daily, first, last, ["1"])
    for granularity in ("week", "month"):
        for given in (calendar, None):
            _same(
                analytics.compare_series(daily, "units", granularity, first, last, ["1"], calendar=given),
                reference.compare_series(daily, "units", granularity, first, last, ["1"], calendar=given),
            )
    no_kw = daily.assign(peak_kwh=np.nan)
    _same(analytics.peak_demand(no_kw, pd.DataFrame()), reference.peak_demand(no_kw, pd.DataFrame()))
    zero_load = pd.DataFrame({"consumer_id": ["1"], "nickname": ["Home"], "sanctioned_load_kw": [0.0]})
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = analytics.peak_demand(daily, zero_load)
        huge = daily.assign(kwh=[np.inf, 1.0])
        huge_calendar = analytics.period_calendar(huge, first, last, ["1"])
        shares = analytics.household_shares(huge, first, last, calendar=huge_calendar)
    _same(got, reference.peak_demand(daily, zero_load))
    _same(shares, reference.household_shares(huge, first, last, calendar=huge_calendar))
