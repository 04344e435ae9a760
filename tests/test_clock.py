"""The app clock and the IST/UTC conversions every stored timestamp goes through."""

import datetime as dt

import pytest

from lib import clock


def test_fixed_clock_from_the_environment(monkeypatch):
    monkeypatch.setenv("METERMITRA_NOW", "2026-03-01T00:10:00+05:30")
    assert clock.now_utc() == dt.datetime(2026, 2, 28, 18, 40, tzinfo=dt.UTC)
    assert clock.today_ist() == dt.date(2026, 3, 1)


def test_a_fixed_clock_without_zone_is_read_as_ist(monkeypatch):
    monkeypatch.setenv("METERMITRA_NOW", "2026-01-01T00:00:00")
    assert clock.to_ts(clock.now_utc()) == "2025-12-31T18:30:00Z"


def test_round_trip_of_stored_text():
    moment = dt.datetime(2026, 7, 15, 23, 45, tzinfo=clock.IST)
    text = clock.to_ts(moment)
    assert text == "2026-07-15T18:15:00Z"
    assert clock.from_ts(text) == moment


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        clock.to_ts(dt.datetime(2026, 1, 1))


def test_a_reading_at_23_45_ist_belongs_to_that_ist_day():
    start, end = clock.ist_day_bounds(dt.date(2026, 7, 15))
    reading = clock.to_ts(dt.datetime(2026, 7, 15, 23, 45, tzinfo=clock.IST))
    assert start <= reading < end
