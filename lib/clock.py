"""One clock for the whole app, so tests and camp demos can fix "now".

>>> import os
>>> os.environ["METERMITRA_NOW"] = "2026-11-25T06:30:00Z"
>>> now_utc().isoformat()
'2026-11-25T06:30:00+00:00'
>>> del os.environ["METERMITRA_NOW"]

Timestamps are stored as UTC text in one format, ``YYYY-MM-DDTHH:MM:SSZ``, so that string
comparison is time comparison. Days shown to users are India Standard Time days.
"""

from __future__ import annotations

import datetime as dt
import os
from zoneinfo import ZoneInfo

IST = ZoneInfo("Asia/Kolkata")
UTC = dt.UTC
TS_FORMAT = "%Y-%m-%dT%H:%M:%SZ"


def now_utc() -> dt.datetime:
    """The current time in UTC, or the fixed time in ``METERMITRA_NOW`` (ISO 8601) when set."""
    fixed = os.environ.get("METERMITRA_NOW")
    if fixed:
        value = dt.datetime.fromisoformat(fixed.replace("Z", "+00:00"))
        if value.tzinfo is None:
            value = value.replace(tzinfo=IST)
        return value.astimezone(UTC)
    return dt.datetime.now(UTC)


def to_ts(value: dt.datetime) -> str:
    """Format an aware datetime as stored text: ``to_ts(datetime(2026,1,1,tzinfo=UTC)) == '2026-01-01T00:00:00Z'``."""
    if value.tzinfo is None:
        raise ValueError("naive datetime: give a timezone")
    return value.astimezone(UTC).strftime(TS_FORMAT)


def from_ts(text: str) -> dt.datetime:
    """Parse stored text back into an aware UTC datetime."""
    return dt.datetime.strptime(text, TS_FORMAT).replace(tzinfo=UTC)


def today_ist(now: dt.datetime | None = None) -> dt.date:
    """The IST calendar date of ``now`` (default: the app clock)."""
    return (now or now_utc()).astimezone(IST).date()


def ist_day_bounds(day: dt.date) -> tuple[str, str]:
    """Stored-text UTC bounds [start, end) of one IST calendar day.

    >>> ist_day_bounds(dt.date(2026, 1, 1))
    ('2025-12-31T18:30:00Z', '2026-01-01T18:30:00Z')
    """
    start = dt.datetime.combine(day, dt.time(), tzinfo=IST)
    return to_ts(start), to_ts(start + dt.timedelta(days=1))
