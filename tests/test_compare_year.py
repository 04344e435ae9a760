"""Compare's periods cut from the household's year (issue 15: ``compare._period_of_year``) against the
period read and filled on its own (``compare._read_period``'s way): the same daily frame, calendar rows,
episodes and connections with readings, and from them the same series of every metric and granularity,
shares, peaks, units given back and CSV bytes, on random households (1, 3 and 12 connections, every period
the page offers, random selections) and on stored households of both engines (the read's own dtypes)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from lib import analytics, config, i18n, storage
from lib.ui import compare, loaders
from lib.ui.context import PageContext
from tests.factories import household, imported_connection
from tests.test_analytics_view_exact import TODAY, _household, _period, _same


def _in_link_order(whole: pd.DataFrame, ids: list[str], lo: dt.date, hi: dt.date) -> pd.DataFrame:
    """What ``loaders.household_frame`` of ``connection_daily`` gives: each connection's stored days in
    ``lo..hi``, the connections in link order, a fresh index."""
    rows = whole[(whole["day"] >= pd.Timestamp(lo)) & (whole["day"] <= pd.Timestamp(hi))]
    parts = [rows[rows["consumer_id"] == cid] for cid in ids]  # ids in link order
    parts = [part for part in parts if len(part)]
    if not parts:
        return whole.iloc[0:0].reset_index(drop=True)
    return pd.concat(parts, ignore_index=True)


def _same_outputs(
    cut: compare._Period,
    read: compare._Period,
    selected: list[str],
    names: dict[str, str],
    details: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    granularities: tuple[str, ...] = analytics.GRANULARITIES,
) -> None:
    _same(cut.daily, read.daily)
    _same(cut.calendar.reset_index(drop=True), read.calendar.reset_index(drop=True))
    _same(cut.episodes.reset_index(drop=True), read.episodes.reset_index(drop=True))
    assert cut.with_readings == read.with_readings
    for granularity in granularities:
        for metric in analytics.METRICS:
            series = [
                analytics.compare_series(
                    period.daily, metric, granularity, first, last, selected, names, calendar=period.calendar
                )
                for period in (cut, read)
            ]
            _same(*series)
            assert compare.csv_bytes(series[0], metric, "hi") == compare.csv_bytes(series[1], metric, "hi")
    _same(
        analytics.household_shares(cut.daily, first, last, calendar=cut.calendar),
        analytics.household_shares(read.daily, first, last, calendar=read.calendar),
    )
    shown = details[details["consumer_id"].isin(selected)]
    _same(
        analytics.peak_demand(compare._in_period(cut.daily, first, last), shown),
        analytics.peak_demand(compare._in_period(read.daily, first, last), shown),
    )
    _same(analytics.net_energy(cut.daily, first, last), analytics.net_energy(read.daily, first, last))


def test_a_period_cut_from_the_year_is_the_period_read_on_random_households():
    rng = np.random.default_rng(28)
    year_first, year_last, _ = compare.range_days(compare.YEAR_RANGE, TODAY)
    cut_count = empty = 0
    for _ in range(30):
        whole, details = _household(rng, int(rng.choice([1, 3, 12])))
        ids = list(details["consumer_id"])  # link order
        names = dict(zip(ids, details["nickname"], strict=True))
        year_daily = _in_link_order(whole, ids, compare._load_from(year_first, year_last), year_last)
        year = compare._Year(
            year_daily, analytics.period_calendar(year_daily, year_first, year_last, ids, names)
        )
        for choice in [*compare.RANGE_KEYS, "custom", "custom"]:
            first, last = _period(rng, str(choice))
            if not (
                first >= year_first
                and compare._load_from(first, last) >= compare._load_from(year_first, year_last)
            ):
                continue  # outside the year: read (tests below)
            keep = rng.random(len(ids)) < 0.7
            in_link_order = [cid for cid, kept in zip(ids, keep, strict=True) if kept] or ids[:1]
            # the page's selection in link order; any order must answer the same (the calendar sorts)
            selected = in_link_order[::-1] if rng.random() < 0.3 else in_link_order
            daily = _in_link_order(whole, in_link_order, compare._load_from(first, last), last)
            cut = compare._period_of_year(year, selected, first, last)
            if not len(daily):
                assert cut is None  # the read answers a period without a stored day
                empty += 1
                continue
            shown_names = {cid: names[cid] for cid in selected}
            read = compare._period_parts(
                daily, analytics.period_calendar(daily, first, last, selected, shown_names), first, last
            )
            assert cut is not None
            granularity = str(rng.choice(analytics.GRANULARITIES))
            _same_outputs(cut, read, selected, shown_names, details, first, last, (granularity,))
            cut_count += 1
    assert cut_count >= 80 and empty >= 1


def _context(db_path: Path, account_id: int) -> PageContext:
    return PageContext(settings=config.Settings(db_path=db_path), lang="en", account_id=account_id, t=i18n.t)


@pytest.mark.both_engines
@pytest.mark.parametrize("connections", [3, 6])
def test_a_period_cut_from_the_year_is_the_period_read_from_the_store(db_path, connections, monkeypatch):
    """The stored households (the demo's 120 days; six with a shop, one without readings, one cut off), an
    imported meter without a balance: every preset period and custom ones (inside the year, reaching
    before it, ending before today) of every connection alone and of all together. Periods outside the
    year are read, and the year is read once for all of them."""
    account_id = household(db_path, connections)
    with storage.open_db(db_path) as conn:
        imported_connection(conn, account_id)
    ctx = _context(db_path, account_id)
    for cache in loaders.VIEW_CACHES:
        cache.clear()
    home = loaders._read_household(ctx)
    today = dt.date(2026, 11, 25)
    monkeypatch.setattr(compare.clock, "today_ist", lambda: today)
    ids = list(home.details["consumer_id"])
    names = dict(zip(ids, home.details["nickname"].astype(str), strict=True))
    built_years: list[compare._Year] = []
    cuts: list[compare._Period | None] = []
    year_type, cut_of = compare._Year, compare._period_of_year
    monkeypatch.setattr(compare, "_Year", lambda *a: built_years.append(year_type(*a)) or built_years[-1])
    monkeypatch.setattr(compare, "_period_of_year", lambda *a: cuts.append(cut_of(*a)) or cuts[-1])
    customs = [
        (dt.date(2026, 11, 23), dt.date(2026, 11, 23)),  # one day of the imported meter
        (dt.date(2026, 9, 1), dt.date(2026, 10, 15)),  # ends before today
        (dt.date(2025, 1, 1), dt.date(2026, 11, 25)),  # starts before the year: read
        (dt.date(2025, 11, 26), dt.date(2025, 12, 10)),  # its burn window reaches before the year: read
    ]
    periods = [compare.range_days(choice, today)[:2] for choice in compare.RANGE_KEYS if choice != "custom"]
    for first, last in [*periods, *customs]:
        for selected in [ids, *([cid] for cid in ids)]:
            shown = {cid: names[cid] for cid in selected}
            before = len(cuts)
            built = compare._build_period(ctx, home, selected, shown, first, last)
            read = compare._read_period(ctx, home.keys_of(selected), selected, shown, first, last)
            granularity = compare.effective_granularity("auto", first, last, len(selected))[0]
            _same_outputs(built, read, selected, shown, home.details, first, last, (granularity,))
            outside = compare._load_from(first, last) < compare._load_from(
                *compare.range_days("1y", today)[:2]
            )
            assert len(cuts) == before + (not outside)  # the year answers every period inside it
            if cuts[before:] and cuts[-1] is not None:
                assert built is cuts[-1]
    assert len(built_years) == 1  # read and filled once for every period and selection
    assert sum(cut is not None for cut in cuts) >= 4 * (len(ids) + 1)


@pytest.mark.parametrize("unit", ["s", "ms", "us", "ns"])
def test_the_days_of_a_period_are_pandas_own_comparison(unit):
    """``compare._days_between`` (numpy for stored days) answers as the pandas comparison it replaced:
    days at midnight and at a time of day, NaT, days before 1970, in every unit, and object days."""
    days = pd.to_datetime(
        [
            "2026-11-01",
            "2026-11-02 00:00",
            "2026-11-02 23:59",
            "2026-11-03",
            None,
            "1969-12-31",
            "2026-11-04",
        ],
        format="mixed",
    ).as_unit(unit)
    for frame in (pd.DataFrame({"day": days}), pd.DataFrame({"day": pd.Series(list(days), dtype=object)})):
        for first, last in [
            (dt.date(2026, 11, 2), dt.date(2026, 11, 3)),
            (dt.date(1969, 12, 31), dt.date(2026, 11, 1)),
            (dt.date(2026, 11, 5), dt.date(2026, 11, 9)),
        ]:
            expected = (frame["day"] >= pd.Timestamp(first)) & (frame["day"] <= pd.Timestamp(last))
            answer = compare._days_between(frame, first, last)
            assert answer.tolist() == expected.tolist()
            assert answer.flags.writeable  # a mask the caller may narrow in place
