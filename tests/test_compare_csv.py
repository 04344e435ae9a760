"""Compare's CSV download after h60 (issue 15: the days, cells and values without a per-row Timestamp, csv_cell or
pd.isna) against main's ``csv_bytes`` (tests/compare_reference.py, the copy at main 22975ce): the same bytes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lib import analytics
from lib.ui import compare
from tests import compare_reference as reference
from tests.test_analytics_view_exact import _household, _period


def test_the_csv_is_main_s_on_random_households():
    rng = np.random.default_rng(61)
    cases = 0
    for _ in range(50):
        daily, details = _household(rng, int(rng.choice([1, 3, 12])))
        selected = list(details["consumer_id"])
        names = dict(zip(selected, details["nickname"], strict=True))
        for choice in rng.choice(list(compare.RANGE_KEYS), 3, replace=False):
            first, last = _period(rng, str(choice))
            calendar = analytics.period_calendar(daily, first, last, selected, names)
            cases += 1
            granularity, lang = str(rng.choice(analytics.GRANULARITIES)), str(rng.choice(["en", "hi"]))
            for metric in analytics.METRICS:
                series = analytics.compare_series(
                    daily, metric, granularity, first, last, selected, names, calendar=calendar
                )
                assert compare.csv_bytes(series, metric, lang) == reference.csv_bytes(series, metric, lang)
    assert cases >= 150


def _series() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "consumer_id": ["101", "101", "=202", "=202"],
            "nickname": ["Home", "Home", "=HYPERLINK()", "@Shop"],
            "period": pd.to_datetime(
                ["2026-11-01", "2026-11-02", "1969-12-31 23:00", "1800-03-01 05:00"], format="ISO8601"
            ).as_unit("us"),
            "value": [1.005, np.nan, -0.0, 1e16],
            "recharge_inr": [0.0, 500.0, np.nan, 2.675],
            "days_with_data": [1, 0, 1, 1],
            "days": [1, 1, 1, 1],
        }
    )


@pytest.mark.parametrize(
    "change",
    [
        lambda s: s,  # formula guards, NaN, -0.0, big values, days before 1970 with a time of day
        lambda s: s.iloc[0:0],  # no rows
        lambda s: s.assign(period=s["period"].dt.tz_localize("Asia/Kolkata")),  # zoned: per row
        lambda s: s.assign(period=s["period"].astype("datetime64[s]")),
        lambda s: s.assign(period=[dt.date(2026, 11, 1)] * 4),  # dates as objects: per row
        lambda s: s.assign(nickname=pd.Series([1, 1.0, True, None], dtype=object)),  # equal keys: per row
        lambda s: s.assign(nickname=s["nickname"].where(s.index != 1)),  # a name missing
        lambda s: s.assign(value=pd.array([1.0, None, 2.675, 3], dtype="Float64")),  # nullable: per value
        lambda s: s.assign(value=[1, 2, 3, 4]),  # integers
    ],
)
def test_the_csv_is_main_s_on_hand_made_series(change):
    series = change(_series())
    for metric in analytics.METRICS:
        for lang in ("en", "hi"):
            assert compare.csv_bytes(series, metric, lang) == reference.csv_bytes(series, metric, lang)


def test_the_csv_days_come_from_numpy_only_for_plain_days():
    series = _series()
    assert compare._iso_days(series["period"]) == ["2026-11-01", "2026-11-02", "1969-12-31", "1800-03-01"]
    with_nat = series.assign(period=series["period"].where(series.index != 0))  # per row: "NaT", as main
    assert compare._iso_days(with_nat["period"])[0] == "NaT"
    for metric in analytics.METRICS:
        assert compare.csv_bytes(with_nat, metric, "en") == reference.csv_bytes(with_nat, metric, "en")


def test_the_csv_days_at_the_edges_of_each_unit_are_main_s():
    """Review of h60: the first day of the nanosecond range (numpy's cast to days wraps around there to
    2262), days before 1970 with a time, and the last days of years 1 and 9999 in seconds."""
    series = _series().iloc[:1]
    for unit, day in (("ns", "1677-09-22"), ("ns", "1677-09-21T12:00"), ("ns", "1969-12-31T23:59"),
                      ("us", "1677-09-22"), ("s", "0001-01-01T05:00"), ("s", "9999-12-31T23:59")):  # fmt: skip
        one = series.assign(period=pd.Series(np.array([day], dtype=f"datetime64[{unit}]")))
        for metric in ("units", "balance"):
            assert compare.csv_bytes(one, metric, "en") == reference.csv_bytes(one, metric, "en"), (unit, day)
