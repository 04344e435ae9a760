"""The time column of a readings file: its timestamp rule as one function, a date column joined to a time
column, and ``--stamp end`` (each reading stored at its interval's start, by its own interval).

Every stamp is read by ``rules.parse_timestamp`` (stored UTC text, ``YYYY-MM-DDTHH:MM:SSZ``, or
``RowProblem``); this module only says which text it is handed and where an end-stamped reading begins.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable
from zoneinfo import ZoneInfo

import numpy as np

from lib.clock import IST, UTC, now_utc, to_ts  # noqa: F401 (IST, now_utc: the doctests)
from lib.importing.report import RowProblem
from lib.importing.rules import parse_timestamp
from lib.importing.write import epoch_seconds

Parse = Callable[[str], str]
"""A file's timestamp rule: CSV text -> stored UTC text; raises ``RowProblem`` for a bad time."""


def stamp_parser(
    zone: ZoneInfo, time_format: str | None, now: dt.datetime, *, end_minutes: float | None = None
) -> Parse:
    """The timestamp rule of this file as one function of the text: ``parse_timestamp``, and with
    ``end_minutes`` (``--stamp end``) ``24:00`` accepted and the reading moved to its interval's start.

    >>> start = stamp_parser(IST, None, now_utc(), end_minutes=30)
    >>> start("2026-11-25 00:00"), start("2026-11-24 24:00")
    ('2026-11-24T18:00:00Z', '2026-11-24T18:00:00Z')

    (00:00 on 25 Nov ends the half hour 23:30-24:00 IST of 24 Nov, which is 18:00 UTC.)
    """
    if end_minutes is None:
        return lambda text: parse_timestamp(text, zone, time_format, now)
    shift = dt.timedelta(minutes=end_minutes)

    def parse_end(text: str) -> str:
        end = parse_timestamp(text, zone, time_format, now, stamp_end=True)
        return to_ts(dt.datetime.strptime(end, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC) - shift)

    return parse_end


def join_date(block: list[list[str]], date_at: int, ts_at: int) -> None:
    """Join a date column and a time-of-day column into the time column in place (``--date-col``); a row
    too short for either is left as it is (the row path reports it).

    >>> block = [["2026-11-24", " 00:30", "0.2"], ["2026-11-24"]]
    >>> join_date(block, 0, 1); block
    [['2026-11-24', '2026-11-24 00:30', '0.2'], ['2026-11-24']]
    """
    for row in block:
        if len(row) > date_at and len(row) > ts_at:
            row[ts_at] = f"{row[date_at].strip()} {row[ts_at].strip()}"


def interval_starts(
    rows: Iterable[list[str]],
    *,
    id_at: int | None,
    ts_at: int,
    date_at: int | None,
    parse: Parse,
) -> dict[str, dict[str, str]]:
    """``--stamp end``: where each reading's interval starts, read from the whole file before the import.

    Returns ``{consumer ID as written, stripped ("" without an ID column): {end ts: start ts}}`` (stored
    UTC text) for every row whose time ``parse`` reads (the others are the import's bad rows). Each meter's
    end stamps are taken in time order and each reading lasts from the one before it (``end_stamp_seconds``),
    so a change of capture period anywhere in the file, or between meters, moves each reading by its own
    interval. One extra pass over the file, only for ``--stamp end``.

    >>> rows = [["m1", "2026-11-25 00:30"], ["m1", "2026-11-25 01:00"], ["m1", "2026-11-25 01:15"]]
    >>> interval_starts(rows, id_at=0, ts_at=1, date_at=None,
    ...                 parse=stamp_parser(IST, None, now_utc(), end_minutes=0))["m1"]
    {'2026-11-24T19:00:00Z': '2026-11-24T18:30:00Z', '2026-11-24T19:30:00Z': '2026-11-24T19:00:00Z', \
'2026-11-24T19:45:00Z': '2026-11-24T19:30:00Z'}
    """
    ends: dict[str, set[str]] = {}
    parsed: dict[str, str | None] = {}
    for row in rows:  # the texts the import reads: a short row is padded, a date joined only when there
        if len(row) <= ts_at:
            continue  # no time: a bad row
        text = row[ts_at]
        if date_at is not None and len(row) > date_at:
            text = f"{row[date_at].strip()} {text.strip()}"
        ts = parsed.get(text, "")
        if ts == "":
            try:
                ts = parsed[text] = parse(text)
            except RowProblem:
                ts = parsed[text] = None
        if ts is not None:
            key = (row[id_at] if len(row) > id_at else "").strip() if id_at is not None else ""
            ends.setdefault(key, set()).add(ts)
    starts: dict[str, dict[str, str]] = {}
    for key, stamps in ends.items():
        ordered = sorted(stamps)
        seconds = np.fromiter(map(epoch_seconds, ordered), dtype=np.int64, count=len(ordered))
        begin = (seconds - end_stamp_seconds(seconds)).tolist()
        starts[key] = {
            end: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))
            for end, at in zip(ordered, begin, strict=True)
        }
    return starts


def end_stamp_seconds(ends: np.ndarray) -> np.ndarray:
    """Each end-stamped reading's interval in seconds, from one meter's sorted, distinct end stamps (Unix s):
    the gap to the reading before; the first reading takes the gap after it, a lone reading 30 minutes. A
    gap longer than both neighbouring readings' gaps is missing data, not a long interval: it takes the
    longer neighbour's. The rule of ``lib.quality.reading_minutes`` for start stamps, mirrored in time.

    >>> end_stamp_seconds(np.array([0, 3600, 7200, 8100, 12600, 13500])).tolist()  # 60 min, then 15
    [3600, 3600, 3600, 900, 900, 900]
    """
    if len(ends) < 2:
        return np.full(len(ends), 1800, dtype=np.int64)
    gaps = np.diff(ends, prepend=2 * ends[0] - ends[1])  # the first takes the gap after it
    big = np.iinfo(np.int64).max
    before = np.concatenate([[-1], gaps[:-1]])  # -1: no neighbour (never longer, never "shorter than")
    after = np.concatenate([gaps[1:], [-1]])
    missing = (gaps > np.where(before < 0, big, before)) & (gaps > np.where(after < 0, big, after))
    missing |= (gaps > before) & (after < 0) & (before >= 0) | (gaps > after) & (before < 0) & (after >= 0)
    return np.where(missing, np.maximum(before, after), gaps)
