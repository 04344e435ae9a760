"""Row rules of every import, each written once and used by the row-by-row path and the clean-chunk path.

A rule either answers for one value (``parse_timestamp``, ``parse_money``) and raises ``RowProblem`` with a
code, or is a comparison that works the same on one float and on a numpy array (``kwh_in_range``,
``balance_in_range``): the row path calls it on a float, the clean-chunk path on a whole column.

>>> import numpy as np
>>> kwh_in_range(0.25, 100.0), bool(kwh_in_range(float("nan"), 100.0))
(True, False)
>>> kwh_in_range(np.array([0.0, -1.0, 101.0]), 100.0).tolist()
[True, False, False]
>>> [parse_money(text) for text in ("₹412.15", "-₹12.40", "₹-12.40", "−₹12.40", "Rs. -12.40", "(₹12.40)")]
[412.15, -12.4, -12.4, -12.4, -12.4, -12.4]
>>> [parse_money(text) for text in ("12.40 Dr", "12.40 Cr", "1,23,456.50", "₹१,२३,४५६.५०", "INR 5")]
[-12.4, 12.4, 123456.5, 123456.5, 5.0]

Sources of the limits: ``MAX_KWH_PER_READING`` (100 kWh in 30 minutes is a steady 200 kW, far beyond any LT
connection), ``PLAUSIBLE_LOAD_FACTOR`` (a household draws at most a few times its sanctioned load for minutes;
ten times over a whole interval is a wrong unit or a cumulative column, see ``check_plausible``).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import unicodedata
from array import array
from bisect import bisect_left
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lib.clock import IST, UTC, now_utc, to_ts  # noqa: F401 (IST: the doctests)
from lib.importing.report import ImportFailed, RowProblem
from lib.phone import is_demo_mobile, normalise_mobile

MAX_KWH_PER_READING = 100.0
MAX_BALANCE_INR = 10_000_000.0
MAX_RECHARGE_INR = 1_000_000.0
MAX_SANCTIONED_LOAD_KW = 1_000.0
PLAUSIBLE_LOAD_FACTOR = 10.0
EARLIEST = dt.datetime(2000, 1, 1, tzinfo=UTC)
FUTURE_SLACK = dt.timedelta(days=1)
TEXT_LIMITS = {"name": 100, "tariff_category": 20, "division": 60, "meter_serial": 40}

_ISO_SHAPE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}([ T]\d{1,2}(:\d{1,2}){1,2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TIME_PART = re.compile(r"[ T](\d{1,2}):(\d{1,2})(:\d{1,2})?(\.\d+)?(Z|[+-]\d{2}:?\d{2})?$")

Number = TypeVar("Number")


# --- energy and money: one comparison for a float and for a numpy column ---------------------------


def kwh_in_range(kwh: Any, limit: float) -> Any:
    """True where ``0 <= kwh <= limit`` (NaN fails): a bool for a float, a bool array for an array."""
    return (kwh >= 0.0) & (kwh <= limit)


def balance_in_range(balance: Any) -> Any:
    """True where ``-MAX_BALANCE_INR <= balance <= MAX_BALANCE_INR`` (NaN, i.e. no balance, fails)."""
    return (balance >= -MAX_BALANCE_INR) & (balance <= MAX_BALANCE_INR)


def number(text: str) -> float:
    """A plain number, or ``RowProblem`` (missing_value, not_a_number, not_finite)."""
    value = text.strip()
    if not value:
        raise RowProblem("missing_value")
    return _finite(value)


def _finite(value: str) -> float:
    """``float(value)`` for a finite number, else ``RowProblem`` not_a_number / not_finite (the rule
    :func:`number` and :func:`parse_money` share).

    >>> _finite("12.5"), _finite("-0")
    (12.5, -0.0)
    >>> for text in ("abc", "inf", "nan"):
    ...     try:
    ...         _finite(text)
    ...     except RowProblem as problem:
    ...         print(problem.code)
    not_a_number
    not_finite
    not_finite
    """
    try:
        result = float(value)
    except ValueError:
        raise RowProblem("not_a_number") from None
    if not math.isfinite(result):
        raise RowProblem("not_finite")
    return result


_DEVANAGARI_DIGITS = str.maketrans("०१२३४५६७८९", "0123456789")
_MONEY_NOISE = re.compile(r"(₹|\bINR\b|\bRs\.?|\s|,|\u00a0|\u202f)", re.IGNORECASE)
_DR_CR = re.compile(r"\s*(?<![a-z])(dr|cr)\.?\s*$", re.IGNORECASE)  # "12.40 Dr", "12.40DR"


def parse_money(text: str) -> float:
    """Rupees written in any common way, or ``RowProblem``: ``₹412.15``, ``-₹12.40``, ``₹-12.40``, ``−₹12.40``
    (Unicode minus), ``Rs. -12.40``, ``(₹12.40)`` (accountants' negative), ``12.40 Dr`` or ``12.40DR`` (debit,
    negative) / ``Cr`` (credit), ``1,23,456.50`` (Indian grouping), and Devanagari digits: everything
    ``lib.i18n.format_money`` prints.
    """
    value = text.strip()
    if not value:
        raise RowProblem("missing_value")
    sign = 1.0
    found = _DR_CR.search(value)
    if found:
        sign = -1.0 if found.group(1).lower() == "dr" else 1.0
        value = value[: found.start()]
    if value.startswith("(") and value.endswith(")"):
        sign, value = -sign, value[1:-1]
    value = _MONEY_NOISE.sub("", value.translate(_DEVANAGARI_DIGITS)).replace("\u2212", "-")
    if value.startswith("-"):
        sign, value = -sign, value[1:]
    elif value.startswith("+"):
        value = value[1:]
    if not value or value[0] in "+-" or not (value[0].isdigit() or value[0] == "."):
        raise RowProblem("not_a_number")
    return sign * _finite(value)


def balance_value(text: str) -> float | None:
    """A balance cell: a number in any money form (``parse_money``), None when blank; ``RowProblem`` else."""
    try:
        return float(text)
    except ValueError:
        if not text.strip():
            return None
        return parse_money(text)


def balance_problem(balance: float) -> RowProblem:
    """Why a parsed balance is refused (NaN or beyond ±``MAX_BALANCE_INR``)."""
    if math.isnan(balance):
        return RowProblem("not_finite")
    return RowProblem("absurd_balance", limit=f"{MAX_BALANCE_INR:,.0f}")


def kwh_problem(text: str, limit: float, *, register: bool = False, scale: float = 1.0) -> RowProblem:
    """Why ``text`` is not an acceptable energy value (the row path's explanation)."""
    try:
        value = number(text)
    except RowProblem as problem:
        return problem
    if value < 0:
        return RowProblem("negative_register" if register else "negative_kwh")
    return RowProblem("absurd_kwh", limit=f"{limit / scale:g}" if scale != 1.0 else f"{limit:g}")


def looks_like_wh(column: str) -> bool:
    """True when a column name says Wh but not kWh: ``looks_like_wh("Active energy Wh (1)") is True``."""
    name = column.lower()
    return "wh" in name and "kwh" not in name


def register_width(previous: float, register_max: float | None = None) -> float:
    """The register's width: ``register_max``, else the next power of ten above ``previous`` (99999.9 -> 100000).

    >>> register_width(99999.9), register_width(4321.0), register_width(5.0, 10000.0)
    (100000.0, 10000.0, 10000.0)
    """
    if register_max:
        return float(register_max)
    return float(10 ** len(str(int(previous)))) if previous >= 1 else 10.0


def register_step(
    previous: float, reading: float, max_kwh: float, register_max: float | None = None
) -> tuple[float, int] | None:
    """The energy between two register readings and whether the register rolled over, or None when
    ``reading`` is off the series (a drop that is no rollover, or a jump beyond ``max_kwh``).

    A rollover: the previous reading is in the top tenth of the register's width and the energy across
    the wrap is within ``max_kwh`` (99999.9 -> 0.2 is 0.3 kWh).

    >>> register_step(4321.0, 4321.4, 100.0)
    (0.4, 0)
    >>> register_step(99999.9, 0.2, 100.0)
    (0.3, 1)
    >>> register_step(4321.0, 0.0, 100.0) is None, register_step(4321.0, 8715.0, 100.0) is None
    (True, True)
    """
    if reading >= previous:
        energy = round(reading - previous, 6)
        return (energy, 0) if energy <= max_kwh else None
    width = register_width(previous, register_max)
    energy = round(width - previous + reading, 6)
    if previous >= 0.9 * width and 0 <= energy <= max_kwh:
        return energy, 1
    return None


# --- consumers ------------------------------------------------------------------------------------


def consumer_id_ok(value: str) -> bool:
    """At most 40 characters, none of them a control or format character (NUL, ESC, the bidi overrides
    that make an ID read as another, zero-width characters: Unicode categories Cc/Cf/...; issue 13 item 13).

    >>> consumer_id_ok("101234567"), consumer_id_ok("DEMO-1001"), consumer_id_ok("10\\u202e1"), consumer_id_ok("1\\x00")
    (True, True, False, False)
    """
    if not 0 < len(value) <= 40 or _CONTROL.search(value):
        return False
    return value.isascii() or not any(unicodedata.category(ch)[0] == "C" for ch in value)


def consumer_problem(value: str, *, kind: str = "consumer") -> RowProblem:
    """Why a consumer ID (or meter serial, ``kind="meter-serial"``) of a row is refused."""
    if not value:
        return RowProblem("missing_value")
    if not consumer_id_ok(value):
        return RowProblem("consumer_id_format")
    return RowProblem("unknown_meter_serial" if kind == "meter-serial" else "unknown_consumer")


def consumer_row_problem(values: dict[str, str]) -> tuple[str, RowProblem] | None:
    """The first (column, problem) of one consumer master row, or None."""
    for column in ("consumer_id", "name", "registered_mobile"):
        if not values[column]:
            return column, RowProblem("missing_value")
    if not consumer_id_ok(values["consumer_id"]):
        return "consumer_id", RowProblem("consumer_id_format")
    for column, limit in TEXT_LIMITS.items():
        if len(values.get(column, "")) > limit:
            return column, RowProblem("name_too_long", limit=limit)
    mobile = normalise_mobile(values["registered_mobile"])
    if mobile is None or is_demo_mobile(mobile):  # the demo range is no real consumer's mobile
        return "registered_mobile", RowProblem("bad_mobile")
    load = values.get("sanctioned_load_kw")
    if load:
        try:
            value = number(load)
        except RowProblem as problem:
            return "sanctioned_load_kw", problem
        if not 0 < value <= MAX_SANCTIONED_LOAD_KW:
            return "sanctioned_load_kw", RowProblem("bad_load", limit=f"{MAX_SANCTIONED_LOAD_KW:g}")
    return None


# --- time -----------------------------------------------------------------------------------------


def zone_for(name: str) -> ZoneInfo:
    """The IANA zone ``name`` or ``ImportFailed`` with a clear message."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ImportFailed("unknown_zone", zone=name) from None


def parse_timestamp(
    text: str,
    zone: ZoneInfo,
    time_format: str | None = None,
    now: dt.datetime | None = None,
    *,
    stamp_end: bool = False,
) -> str:
    """Stored UTC text for a timestamp, or ``RowProblem`` with the reason.

    ``stamp_end``: the file stamps each interval at its end, so ``24:00`` is accepted (the end of that
    day); the caller moves the reading to its interval's start (``interval_start``).

    >>> parse_timestamp("2026-11-24 23:45", IST)
    '2026-11-24T18:15:00Z'
    >>> parse_timestamp("2026-11-24 24:00", IST, stamp_end=True)
    '2026-11-24T18:30:00Z'
    >>> parse_timestamp("0001-01-01T00:00:00", IST)  # a common "no date": a bad row, not an OverflowError
    Traceback (most recent call last):
    ...
    lib.importing.report.RowProblem: before 2000-01-01: a meter clock that was reset?
    >>> parse_timestamp("2013-10-27 01:30", ZoneInfo("Europe/London"))
    Traceback (most recent call last):
    ...
    lib.importing.report.RowProblem: ambiguous in Europe/London (the hour repeated when clocks go back); give an offset
    """
    value = text.strip()
    if not value:
        raise RowProblem("missing_value")
    extra = dt.timedelta()
    if stamp_end and ("24:00" in value):
        part = _TIME_PART.search(value)
        if part and part.group(1) == "24" and part.group(2) == "00" and not (part.group(3) or "").strip(":0"):
            value = value[: part.start(1)] + "00" + value[part.end(1) :]
            extra = dt.timedelta(days=1)
    if time_format:
        try:
            moment = dt.datetime.strptime(value, time_format)
        except ValueError:
            raise RowProblem("time_pattern", pattern=time_format) from None
    else:
        try:
            moment = dt.datetime.fromisoformat(value)
        except ValueError as error:
            if _ISO_SHAPE.match(value):
                part = _TIME_PART.search(value)
                if part and (int(part.group(1)) > 23 or int(part.group(2)) > 59):
                    raise RowProblem("time_bad_hour", part=part.group(0).strip()) from None
                raise RowProblem("time_impossible", error=str(error)) from None
            raise RowProblem("time_format") from None
    try:  # 0001-01-01 ("no date") or 9999-12-31 24:00 fall off the calendar in UTC: a bad row (issue 13)
        moment = moment + extra
        if moment.tzinfo is None:
            early = moment.replace(tzinfo=zone)
            late = moment.replace(tzinfo=zone, fold=1)
            if early.utcoffset() != late.utcoffset():
                if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) == moment:
                    raise RowProblem("time_ambiguous", zone=zone.key)
                raise RowProblem("time_missing_hour", zone=zone.key)
            moment = early
        utc = moment.astimezone(UTC)
    except OverflowError:
        raise RowProblem("time_too_old" if moment.year < EARLIEST.year else "time_future") from None
    if utc < EARLIEST:
        raise RowProblem("time_too_old")
    if utc > (now or now_utc()) + FUTURE_SLACK:
        raise RowProblem("time_future")
    return to_ts(utc)


# --- the order and duplicate rule -----------------------------------------------------------------


class Seen:
    """One consumer's timestamps already in this file: a sorted list (plus their line numbers) while
    the file is in time order, O(1) per row, and a dict for rows that arrive out of order.

    The rule "same consumer and timestamp twice: the second is a bad row" for both paths.
    """

    __slots__ = ("consumer_id", "extra", "lines", "times")

    def __init__(self, consumer_id: str) -> None:
        self.consumer_id = consumer_id
        self.times: list[str] = []
        self.lines = array("q")
        self.extra: dict[str, int] = {}

    def add_out_of_order(self, ts: str, line: int) -> int:
        """Record a ``ts`` not after the latest one; returns the line that already had it (0 when new)."""
        times = self.times
        at = bisect_left(times, ts)
        if at < len(times) and times[at] == ts:
            return self.lines[at]
        earlier = self.extra.get(ts)
        if earlier:
            return earlier
        self.extra[ts] = line
        return 0

    def forget(self, ts: str) -> None:
        """Undo the recording of a row rejected later (it must not shadow a good row)."""
        if self.times and self.times[-1] == ts:
            self.times.pop()
            self.lines.pop()
        elif ts in self.extra:
            del self.extra[ts]
        else:
            at = bisect_left(self.times, ts)
            if at < len(self.times) and self.times[at] == ts:
                del self.times[at]
                del self.lines[at]

    def span(self) -> tuple[str, str] | None:
        """First and last timestamp recorded, or None."""
        if not self.times:
            return None
        first = min(self.times[0], min(self.extra)) if self.extra else self.times[0]
        return first, self.times[-1]
