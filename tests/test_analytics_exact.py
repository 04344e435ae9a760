"""lib.analytics' period calendar without the merge (issue 15, h55) against the merge it replaced
(tests/analytics_reference.py, the copy at main 6ae0d9e): the same frames to the last bit, dtypes, column
order and index included, over gaps, connections without rows, consumer IDs not in ``daily``, nicknames
from both sources, extra columns (export_kwh and others of every dtype), empty input, one day, bounds
outside the data, IST month ends, shuffled rows, other day units, odd frames, and the cases the merge
still answers (no rows, a connection's day twice, zoned days or bounds)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from lib import analytics
from tests import analytics_reference as reference

TODAY = pd.Timestamp("2026-11-25")


def _household(rng: np.random.Generator, *, unit: str = "us", extras: bool = True) -> pd.DataFrame:
    """A random household's daily frame as ``storage.readings.daily_frame`` gives it (text IDs, days in
    ``unit``), 0-5 connections with gaps, unknown balances, recharges, rows shuffled or not."""
    frames = []
    for index in range(int(rng.integers(0, 6))):
        cid = str(int(rng.integers(10**9, 10**10)))
        days = int(rng.integers(1, 90))
        end = TODAY - pd.Timedelta(days=int(rng.integers(0, 40)))
        day = pd.date_range(end - pd.Timedelta(days=days - 1), end, freq="D")
        keep = rng.random(len(day)) > rng.choice([0.0, 0.1, 0.5])
        day = day[keep]
        n = len(day)
        if not n:
            continue
        balance = 500 - np.cumsum(rng.uniform(0, 40, n))
        balance[rng.random(n) < 0.1] = np.nan
        part = pd.DataFrame(
            {
                "consumer_id": cid,
                "nickname": rng.choice(["Home", "Shop", "घर", f"=Meter {index}"]),
                "day": day.as_unit(unit),
                "kwh": np.where(rng.random(n) < 0.1, np.nan, rng.uniform(0, 9, n).round(3)),
                "intervals": rng.integers(0, 49, n),
                "peak_kwh": rng.uniform(0, 1, n),
                "closing_balance_inr": balance.round(2),
                "recharge_inr": np.where(rng.random(n) < 0.05, 500.0, 0.0),
            }
        )
        if extras:
            part["export_kwh"] = [None] * n if rng.random() < 0.5 else rng.uniform(0, 3, n)
            part["minutes"] = 1440.0
            part["peak_kw"] = rng.uniform(0, 2, n)
            part["readings"] = rng.integers(0, 48, n)  # an int column: float once a gap is filled
            part["flag"] = rng.random(n) < 0.5  # a bool column: object once a gap is filled
            part["note"] = pd.Series(rng.choice(["a", "b"], n), dtype="str")
        frames.append(part)
    if not frames:
        return analytics.empty_daily()
    daily = pd.concat(frames, ignore_index=True)
    if rng.random() < 0.5:
        daily = daily.sample(frac=1.0, random_state=int(rng.integers(0, 1000))).reset_index(drop=True)
    return daily


def _bounds(rng: np.random.Generator) -> tuple[dt.date | None, dt.date | None]:
    choice = rng.integers(0, 6)
    last = (TODAY - pd.Timedelta(days=int(rng.integers(-5, 60)))).date()  # may lie after the data
    first = last - dt.timedelta(days=int(rng.integers(0, 150)))  # may lie before it; 0: one day
    if choice == 0:
        return None, None
    if choice == 1:
        return first, None
    if choice == 2:
        return None, last
    return first, last


def _same(new: pd.DataFrame, old: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(new, old, check_exact=True, check_index_type=True, check_column_type=True)
    assert list(new.columns) == list(old.columns)
    assert type(new.index) is type(old.index)


def test_fill_calendar_is_the_merge_on_random_households():
    rng = np.random.default_rng(55)
    by_position = 0
    for _ in range(150):
        daily = _household(rng, unit=str(rng.choice(["s", "us", "ns"])), extras=bool(rng.random() < 0.7))
        first, last = _bounds(rng)
        present = list(pd.unique(daily["consumer_id"].astype(str)))
        extra = [str(c) for c in rng.integers(10**9, 10**10, int(rng.integers(0, 3)))]  # IDs not in daily
        ids = ([*present[::2], *extra] if rng.random() < 0.7 else None) or None
        names = {cid: f"Name {i}" for i, cid in enumerate((ids or [])[::2])} if rng.random() < 0.7 else None
        _same(
            analytics.fill_calendar(daily, first, last, ids, names),
            reference.fill_calendar(daily, first, last, ids, names),
        )
        _same(analytics.with_deductions(daily), reference._deductions(reference.fill_calendar(daily)))
        position = analytics._calendar_by_position(daily, first, last, ids, names, sort_ids=False)
        by_position += position is not None
    assert by_position > 100  # the new path answered most (not the merge it falls back on)


def test_period_calendar_is_the_merge_on_random_households():
    rng = np.random.default_rng(56)
    for _ in range(60):
        daily = _household(rng, unit=str(rng.choice(["s", "us", "ns"])), extras=bool(rng.random() < 0.7))
        last = (TODAY - pd.Timedelta(days=int(rng.integers(-5, 60)))).date()
        first = last - dt.timedelta(days=int(rng.integers(0, 400)))
        if rng.random() < 0.7:  # as the page loads it: from the day before the period
            daily = daily[(daily["day"] >= pd.Timestamp(first) - pd.Timedelta(days=1))]
            daily = daily[daily["day"] <= pd.Timestamp(last)].reset_index(drop=True)
        present = list(pd.unique(daily["consumer_id"].astype(str)))
        extra = [str(c) for c in rng.integers(10**9, 10**10, int(rng.integers(0, 3)))]
        ids = [*present, *extra] if rng.random() < 0.8 else None
        names = {cid: f"Name {i}" for i, cid in enumerate((ids or [])[::2])}
        new = analytics.period_calendar(daily, first, last, ids, names)
        old = reference.period_calendar(daily, first, last, ids, names)
        _same(new, old)
        for metric in analytics.METRICS:  # what the page reads of it
            for granularity in analytics.GRANULARITIES:
                _same(
                    analytics.compare_series(
                        daily, metric, granularity, first, last, ids, names, calendar=new
                    ),
                    analytics.compare_series(
                        daily, metric, granularity, first, last, ids, names, calendar=old
                    ),
                )
        _same(
            analytics._shares_calendar(daily, new, first, last),
            reference._shares_calendar(daily, old, first, last),
        )
        _same(
            analytics.household_shares(daily, first, last, calendar=new),
            analytics.household_shares(daily, first, last, calendar=old),
        )
        _same(
            analytics.household_shares(daily, first, last, calendar=new),
            analytics.household_shares(daily, first, last),
        )


def _two_meters() -> pd.DataFrame:
    rows = []
    for cid, nick, days in (("202", "Shop", ["2026-10-30", "2026-10-31", "2026-11-02"]), ("101", "Home", [])):
        for i, day in enumerate(days):
            rows.append((cid, nick, pd.Timestamp(day), 2.0 + i, 48, 0.2, 100.0 - 10 * i, 0.0))
    rows.append(("101", "Home", pd.Timestamp("2026-11-01"), 3.0, 48, 0.3, 50.0, 20.0))
    daily = pd.DataFrame(rows, columns=list(analytics.DAILY_COLUMNS))
    daily["day"] = daily["day"].astype("datetime64[us]")
    return daily


@pytest.mark.parametrize(
    ("first", "last", "ids", "names"),
    [
        (None, None, None, None),
        (dt.date(2026, 10, 31), dt.date(2026, 10, 31), None, None),  # one day, an IST month end
        (dt.date(2026, 10, 1), dt.date(2026, 11, 30), ["101", "303"], {"303": "Pump"}),  # month ends
        (dt.date(2025, 1, 1), dt.date(2025, 1, 31), ["101"], None),  # bounds before all the data
        (dt.date(2027, 2, 1), dt.date(2027, 2, 28), None, {"101": "Ghar"}),  # after it
        (dt.date(2026, 11, 2), dt.date(2026, 11, 1), None, None),  # first after last: no days
        ("2026-10-31", "2026-11-01", ["999"], {"999": "New"}),  # text bounds
        (dt.date(2026, 11, 1), None, ["404"], None),  # an ID without rows and an open end: no block
    ],
)
def test_fill_and_period_calendar_on_hand_made_cases(first, last, ids, names):
    daily = _two_meters()
    _same(
        analytics.fill_calendar(daily, first, last, ids, names),
        reference.fill_calendar(daily, first, last, ids, names),
    )
    if first is not None and last is not None:
        new = analytics.period_calendar(daily, first, last, ids, names)
        old = reference.period_calendar(daily, first, last, ids, names)
        _same(new, old)
        assert analytics._in_own_span(daily, new, last) is not None  # numpy, not the group-by
        _same(
            analytics._shares_calendar(daily, new, first, last),
            reference._shares_calendar(daily, old, first, last),
        )


@pytest.mark.parametrize(
    ("daily", "by_merge"),
    [
        (analytics.empty_daily(), True),  # no rows at all
        (_two_meters().iloc[0:0], True),  # no rows, the store's day unit
        (pd.concat([_two_meters(), _two_meters().iloc[[1]]], ignore_index=True), True),  # a day twice
        (_two_meters().assign(day=_two_meters()["day"].dt.tz_localize("Asia/Kolkata")), True),  # tz-aware
        (_two_meters().assign(consumer_id=[202, 202, 202, 101]), False),  # integer IDs: made text
        (_two_meters().assign(day=_two_meters()["day"] + pd.Timedelta(hours=1)), False),  # off midnight
        (_two_meters().assign(intervals=[48] * 4, closing_balance_inr=[1, 2, 3, 4]), False),  # int balances
        (_two_meters().set_axis([10, 5, 7, 3]), False),  # a filtered frame's labels
        (_two_meters().set_axis([1, 1, 2, 2]), False),  # labels twice
        (_two_meters().assign(export_kwh=[None, 1.5, None, None], readings=[1, 2, 3, 4]), False),  # extras
    ],
)
def test_odd_frames_give_the_merge_s_calendar_by_either_path(daily, by_merge):
    """Frames the store does not make: the same calendar as the merge, by positions where they can
    answer, by the merge itself (``by_merge``) where they cannot (no rows, a day twice, zoned days)."""
    for first, last, ids in (
        (None, None, None),
        (dt.date(2026, 10, 29), dt.date(2026, 11, 3), ["101", "77"]),
    ):
        positions = analytics._calendar_by_position(daily, first, last, ids, {"77": "Far"}, sort_ids=False)
        assert (positions is None) == by_merge
        try:
            expected = reference.fill_calendar(daily, first, last, ids, {"77": "Far"})
        except Exception as error:  # the old code's error is the new code's
            with pytest.raises(type(error)):
                analytics.fill_calendar(daily, first, last, ids, {"77": "Far"})
            continue
        _same(analytics.fill_calendar(daily, first, last, ids, {"77": "Far"}), expected)
        if first is not None:
            new = analytics.period_calendar(daily, first, last, ids, {"77": "Far"})
            old = reference.period_calendar(daily, first, last, ids, {"77": "Far"})
            _same(new, old)
            _same(
                analytics._shares_calendar(daily, new, first, last),
                reference._shares_calendar(daily, old, first, last),
            )


def test_a_zoned_bound_and_one_shot_ids_are_the_merge_s_too():
    """A bound with a time zone raises as the merge does (not a calendar of gaps at 18:30); the
    ``consumer_ids`` may be any iterable, read once (the connection without rows is kept)."""
    daily = _two_meters()
    zoned = pd.Timestamp("2026-10-30", tz="Asia/Kolkata")
    for first, last in ((zoned, dt.date(2026, 11, 2)), (zoned, zoned + pd.Timedelta(days=3))):
        with pytest.raises((TypeError, ValueError)) as old_error:
            reference.fill_calendar(daily, first, last)
        with pytest.raises(old_error.type):
            analytics.fill_calendar(daily, first, last)
    ids = ["101", "202", "303"]
    twice = pd.concat([daily, daily.iloc[[1]]], ignore_index=True)  # a day twice: the merge answers
    for frame in (daily, twice):
        first, last = dt.date(2026, 10, 30), dt.date(2026, 11, 2)
        _same(
            analytics.fill_calendar(frame, first, last, iter(ids)),
            reference.fill_calendar(frame, first, last, ids),
        )
        _same(
            analytics.period_calendar(frame, first, last, iter(ids)),
            reference.period_calendar(frame, first, last, ids),
        )


def test_the_shares_cut_by_group_by_where_numpy_cannot():
    """A stored day missing (NaT): the shares' cut falls back to the group-by, with main's rows."""
    daily = _two_meters()
    calendar = analytics.period_calendar(daily, dt.date(2026, 10, 30), dt.date(2026, 11, 2), ["303"])
    odd = daily.assign(day=daily["day"].where(daily.index != 3))
    assert analytics._in_own_span(odd, calendar, dt.date(2026, 11, 2)) is None
    _same(
        analytics._shares_calendar(odd, calendar, dt.date(2026, 10, 30), dt.date(2026, 11, 2)),
        reference._shares_calendar(odd, calendar, dt.date(2026, 10, 30), dt.date(2026, 11, 2)),
    )


def test_period_calendar_skips_the_sort_only_when_nothing_would_move():
    """The calendar comes out in (consumer_id, day) order without the sort: IDs given out of order,
    the rows shuffled; the deductions' first row of each connection has no previous day."""
    daily = _two_meters().sample(frac=1.0, random_state=3)
    calendar = analytics.period_calendar(daily, dt.date(2026, 10, 30), dt.date(2026, 11, 2), ["303", "101"])
    assert calendar["consumer_id"].tolist() == ["101"] * 4 + ["202"] * 4 + ["303"] * 4
    deductions = calendar["deduction_inr"].fillna(-1.0).tolist()
    assert deductions == [-1.0] * 4 + [-1.0, 10.0, -1.0, -1.0] + [-1.0] * 4  # 202: 100 - 90 on the 31st
    _same(
        calendar,
        reference.period_calendar(daily, dt.date(2026, 10, 30), dt.date(2026, 11, 2), ["303", "101"]),
    )
