"""The ledger: where every rupee of a prepaid balance went, per connection and IST day.

For each connection and day: opening balance, recharges, the day's deduction split into energy charge,
fixed charge, electricity duty and prepaid rebate (all from :mod:`lib.tariff`, never computed here),
arrears recovery and other adjustments, and the closing balance. Where the meter reports a balance, the
ledger's closing is set beside it and a day whose difference is over ₹1 is flagged "unexplained"; where
it does not (an imported file), the balance is the ledger's own and marked estimated.

>>> import datetime as dt
>>> import pandas as pd
>>> daily = pd.DataFrame({"consumer_id": ["101"] * 2, "nickname": ["Home"] * 2,
...     "day": pd.to_datetime(["2026-11-23", "2026-11-24"]), "kwh": [10.0, 10.0], "intervals": [48, 48],
...     "peak_kwh": [0.5, 0.5], "closing_balance_inr": [500.0, 420.0], "recharge_inr": [0.0, 0.0]})
>>> details = pd.DataFrame({"consumer_id": ["101"], "nickname": ["Home"],
...     "tariff_category": ["NDS-II"], "sanctioned_load_kw": [1.0]})
>>> rows = build_ledger(daily, details, today=dt.date(2026, 11, 25))
>>> rows[["energy_inr", "fixed_inr", "duty_inr", "rebate_inr", "closing_inr"]].iloc[1].tolist()
[77.9, 6.67, 5.07, 2.5, 412.86]
>>> rows["status"].tolist(), float(rows["difference_inr"].iloc[1])
(['start', 'unexplained'], 7.14)

(NDS-II in November 2026: 10 units × ₹7.79 = 77.90; ₹200 a month spread over 30 days = 6.67 on the
24th; duty 6 % of 84.57 = 5.07; rebate 10 × 0.25 = 2.50; 500 − 77.90 − 6.67 − 5.07 + 2.50 = 412.86, but
the meter says 420.00: ₹7.14 more than the tariff explains is left, so the day is flagged.)

Writes (arrears and adjustments a household enters from its bill) check the link first and keep their
SQL here, the module that owns those tables; reads go through :mod:`lib.store`'s authorized functions.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from lib import analytics, audit, tariff
from lib.clock import today_ist
from lib.frames import for_connections
from lib.phone import mask_mobile

if TYPE_CHECKING:
    from lib.storage import Database

UNEXPLAINED_THRESHOLD_INR = 1.0  # a day whose metered and computed closing differ by more is flagged
# The 125-unit scheme: "a connection in arrears must clear them first" (bihar-tariff-notes.md; the tariff
# file leaves this to the ledger). A day that ends with arrears outstanding gets no free units.
FREE_UNITS_NEED_ARREARS_CLEARED = True

# Status of a day's check, metered against computed closing balance.
STATUSES = (
    "ok",
    "unexplained",
    "start",
    "gap",
    "incomplete",
    "today",
    "estimated",
    "no_readings",
    "unknown",
    "pending",
    "late_credit",
)
# A recharge may reach the meter's balance hours after its payment, on the same or a later IST day:
# the days in between are "pending", the day it arrives "late_credit" (issue 11: credits that reach the
# meter late are common). Up to this many days after the payment day.
LATE_CREDIT_MAX_DAYS = 3
# Flagged days closer than this many days apart form one episode; what the meter took and gave back
# within an episode nets out in :func:`unexplained_summary`.
EPISODE_GAP_DAYS = 3
# Readings in a whole IST day at the usual capture periods (60, 30, 15, 10, 5 minutes): the fallback
# for "complete day" when the daily frame has no ``minutes`` column (minutes of the day covered).
MINUTES_PER_DAY = 24 * 60
STANDARD_READINGS_PER_DAY = frozenset(MINUTES_PER_DAY // m for m in (60, 30, 15, 10, 5))

LEDGER_COLUMNS = (
    "consumer_id",
    "nickname",
    "day",
    "units",
    "intervals",
    "export_kwh",
    "billed_units",
    "opening_inr",
    "recharge_inr",
    "energy_inr",
    "fixed_inr",
    "duty_inr",
    "rebate_inr",
    "arrears_inr",
    "adjustment_inr",
    "deduction_inr",
    "closing_inr",
    "metered_closing_inr",
    "difference_inr",
    "balance_inr",
    "estimated",
    "status",
    "pending_inr",
    "late_credit_inr",
    "anchor_inr",
    "free_units_used",
    "units_month_to_date",
    "arrears_outstanding_inr",
    "tariff_version",
)

# The parts of a deduction, in the order a waterfall shows them, with the sign they have on the balance.
PARTS: tuple[tuple[str, int], ...] = (
    ("recharge_inr", +1),
    ("energy_inr", -1),
    ("fixed_inr", -1),
    ("duty_inr", -1),
    ("rebate_inr", +1),
    ("arrears_inr", -1),
    ("adjustment_inr", +1),
)

ARREAR_METHODS = ("recharge_share", "daily")


class LedgerInputError(ValueError):
    """Bad arrears/adjustment input; ``str(error)`` is a catalog key the page shows in the user's language."""


# --- building the ledger --------------------------------------------------------------------------


def build_ledger(
    daily: pd.DataFrame,
    details: pd.DataFrame,
    *,
    arrears: pd.DataFrame | None = None,
    adjustments: pd.DataFrame | None = None,
    anchors: pd.DataFrame | None = None,
    today: dt.date | None = None,
    book: tariff.TariffBook | None = None,
) -> pd.DataFrame:
    """One row per connection per IST day, from its first to its last day with data (``LEDGER_COLUMNS``).

    ``daily`` is :func:`lib.storage.readings.daily_frame` (whole history: slabs count the month's units;
    an optional ``minutes`` column, the minutes of the day its readings cover, decides "complete"; an
    optional ``export_kwh`` column, rooftop solar export, is netted against import by
    :func:`lib.tariff.net_billed_units` and the day is priced on ``billed_units``),
    ``details`` :func:`lib.storage.accounts.connection_details` (tariff category and sanctioned load),
    ``arrears`` / ``adjustments`` :func:`lib.storage.ledger.arrears_frame` / :func:`lib.storage.ledger.adjustments_frame`,
    ``anchors`` balances the household typed in (:func:`lib.storage.anchors.anchors_frame`: consumer_id,
    day, balance_inr = the balance at the start of that IST day, before its recharges and deduction).

    Money leaving the balance is positive in energy/fixed/duty/arrears; rebate, recharge and adjustment
    are positive when they add to it: ``closing = opening + recharge − energy − fixed − duty + rebate −
    arrears + adjustment`` (``deduction_inr`` is everything but the recharge). The opening balance is
    the meter's closing of the day before when known, else an entered balance (anchor) for that day,
    else the ledger's own closing, else (first day) derived from the meter; so each day is checked on
    its own and one bad day does not flag every day after it. A connection that reports no balance and
    has no anchor has an unknown balance (NaN, status ``unknown``), never an estimate from ₹0.

    ``status``: ``ok`` / ``unexplained`` (metered vs computed closing off by more than ₹1),
    ``start`` (first day: opening derived from the meter), ``gap`` (the day before had no metered
    balance, so the check is not exact), ``incomplete`` (the day's readings do not cover all its
    minutes), ``today`` (the day is not over: meters deduct a day's charges on its last reading, so
    today's charges so far are shown but not yet taken from the metered balance), ``estimated``
    (no metered balance: ``balance_inr`` is the ledger's, forward from an anchor), ``unknown`` (no
    metered balance and nothing to estimate from), ``no_readings``, ``pending`` (a recharge was paid
    but had not reached the meter by the day's end: ``pending_inr``) and ``late_credit`` (the day a
    pending recharge reached the meter: ``late_credit_inr``); see :func:`late_credits`. A day whose
    difference is explained by a late credit is not unexplained. A connection whose tariff category is
    not in the tariff file has no rows (see :func:`connections_without_ledger`).
    """
    book = book or tariff.load_tariffs()
    today = today or today_ist()
    parts: list[pd.DataFrame] = []
    if not len(daily):
        return empty_ledger()
    facts = _Facts(details)
    for cid, calendar_of in _connections(daily):
        if cid not in facts:
            continue
        days = calendar_of()
        category, load_kw = facts.of(cid)
        try:
            parts.append(
                _ledger_of(
                    days,
                    category,
                    load_kw,
                    _rows_of(arrears, cid),
                    _rows_of(adjustments, cid),
                    _rows_of(anchors, cid),
                    today,
                    book,
                )
            )
        except tariff.TariffError:
            continue  # no tariff for this category (or these days): listed by connections_without_ledger
    if not parts:
        return empty_ledger()
    if len(parts) == 1:
        return parts[0]  # built in LEDGER_COLUMNS' order with a 0..n-1 index: what the concat would give
    return pd.concat(parts, ignore_index=True)[list(LEDGER_COLUMNS)]


class _Facts:
    """Each connection's tariff category and sanctioned load from ``details``, read as ``build_ledger``
    always read them (``details.set_index(consumer_id as text).loc[cid]``, then ``str`` / ``float``): by
    position from two column lists when the IDs are unique, else through that ``loc``."""

    def __init__(self, details: pd.DataFrame) -> None:
        column = details["consumer_id"]
        # Text IDs as they are (astype(str) leaves them, and a missing one NaN); others through astype(str).
        ids = column.tolist() if isinstance(column.dtype, pd.StringDtype) else column.astype(str).tolist()
        self.rows: dict[str, int] | None = None
        self.facts: pd.DataFrame | None = None
        wanted = ("tariff_category", "sanctioned_load_kw")
        once = all(list(details.columns).count(name) == 1 for name in wanted)  # a column twice: main's loc
        if len(set(ids)) == len(ids) and once:
            self.rows = {cid: i for i, cid in enumerate(ids)}
            self.categories = details["tariff_category"].tolist()
            self.loads = details["sanctioned_load_kw"].tolist()
        else:
            self.facts = details.set_index(details["consumer_id"].astype(str))

    def __contains__(self, cid: str) -> bool:
        return cid in self.rows if self.rows is not None else cid in cast(pd.DataFrame, self.facts).index

    def of(self, cid: str) -> tuple[str, float]:
        if self.rows is not None:
            i = self.rows[cid]
            return str(self.categories[i]), float(self.loads[i])
        fact = cast(pd.DataFrame, self.facts).loc[cid]
        return str(fact["tariff_category"]), float(cast(float, fact["sanctioned_load_kw"]))


def _calendar(own: pd.DataFrame) -> pd.DataFrame:
    """One connection's daily rows in day order, one per IST day from its first to its last: an absent
    day is a row of NaN (``analytics.fill_calendar``'s gaps, for the columns the ledger reads)."""
    own = own.sort_values("day", kind="stable").reset_index(drop=True)
    days = pd.date_range(own["day"].iloc[0], own["day"].iloc[-1], freq="D")
    if len(days) == len(own):
        return own
    if own["day"].duplicated().any():  # not a stored daily frame: fill_calendar keeps every row
        return analytics.fill_calendar(own).sort_values("day", kind="stable").reset_index(drop=True)
    filled = own.set_index("day").reindex(days).rename_axis("day").reset_index()
    filled["consumer_id"] = own["consumer_id"].iloc[0]
    filled["nickname"] = own["nickname"].iloc[0]
    return filled


def empty_ledger() -> pd.DataFrame:
    """A ledger with its columns and no rows."""
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in LEDGER_COLUMNS})
    for column in ("consumer_id", "nickname", "status", "tariff_version"):
        frame[column] = frame[column].astype(object)
    frame["day"] = pd.to_datetime(frame["day"])
    frame["estimated"] = frame["estimated"].astype(bool)
    return frame


def connections_without_ledger(details: pd.DataFrame, daily: pd.DataFrame, ledger: pd.DataFrame) -> list[str]:
    """Consumer IDs that have data but no ledger rows (their tariff is not in the tariff file)."""
    with_data = set(daily["consumer_id"].astype(str)) if len(daily) else set()
    done = set(ledger["consumer_id"].astype(str)) if len(ledger) else set()
    return [cid for cid in details["consumer_id"].astype(str) if cid in with_data and cid not in done]


# What _rows_of gives for no entries (read only: the ledger only takes its length and its rows).
_NO_ROWS = pd.DataFrame()


def _rows_of(frame: pd.DataFrame | None, consumer_id: str) -> pd.DataFrame:
    if frame is None or not len(frame):
        return _NO_ROWS
    return frame[frame["consumer_id"].astype(str) == consumer_id]


def _paise(value: float) -> int:
    return int(round(float(value) * 100))


def complete_days(intervals: Sequence[int], minutes: Sequence[float] | None = None) -> list[bool]:
    """Which days have readings covering the whole IST day (issue 11: minutes covered, not a count).

    With ``minutes`` (minutes of each day its readings cover: readings × their interval length), a day
    is complete when they reach 24 hours. Without it (an old database), a day is complete when its
    reading count is that of a whole day at a usual capture period (24, 48, 96, 144 or 288) or at least
    the connection's largest count; so 30-minute days stay complete next to 15-minute ones.

    >>> complete_days([48, 96, 47, 96, 0])
    [True, True, False, True, False]
    >>> complete_days([48, 90], minutes=[1440, 1350])
    [True, False]
    """
    if minutes is not None:
        return [float(m) >= MINUTES_PER_DAY - 1e-6 for m in minutes]
    counts = [int(n) for n in intervals]
    most = max(counts, default=0)
    return [n > 0 and (n in STANDARD_READINGS_PER_DAY or n >= most) for n in counts]


# The dtype pandas gives a column of Python text (pandas 3: "str"), for text columns built ready-typed.
_TEXT: Any = pd.Series(["x"]).dtype
# The columns the ledger reads from a daily frame; ``minutes`` and ``export_kwh`` are optional.
_DAILY_NEEDS = ("consumer_id", "nickname", "day", "kwh", "intervals", "closing_balance_inr", "recharge_inr")
_EXACT_INT = 2**53  # integers below this are exact as floats


@dataclass(frozen=True)
class _Days:
    """One connection's calendar (one entry per IST day from its first to its last day with data, in day
    order; a day without a row: NaN kWh, balance and export, no recharge, 0 intervals) as the arrays the
    ledger reads. Built by :func:`_calendars` from a daily frame's columns by position, or by
    :func:`_days_of` from the calendar frame of :func:`_calendar`."""

    consumer_id: str
    nickname: Any  # the first day's nickname as the frame holds it
    stamps: np.ndarray  # datetime64[D]
    priced_days: Any  # the days as tariff.day_charges_columns is given them
    recharge: np.ndarray  # ₹ (float), 0 where none
    kwh: np.ndarray  # float, NaN where no row
    intervals: np.ndarray  # int64, 0 where no row
    complete: np.ndarray  # bool: complete_days
    export: np.ndarray  # float, NaN where none
    metered: np.ndarray  # closing_balance_inr (float, NaN where none)


def _days_of(days: pd.DataFrame) -> _Days:
    """The arrays of a calendar frame (``_calendar``'s), read as ``_connection_ledger`` always read them."""
    intervals = days["intervals"].fillna(0).astype(int).to_numpy()
    complete = complete_days(
        intervals.tolist(), days["minutes"].fillna(0).tolist() if "minutes" in days.columns else None
    )
    return _Days(
        consumer_id=str(days["consumer_id"].iloc[0]),
        nickname=days["nickname"].iloc[0],
        stamps=days["day"].to_numpy().astype("datetime64[D]"),
        priced_days=days["day"],
        recharge=days["recharge_inr"].fillna(0.0).to_numpy(dtype=float),
        kwh=days["kwh"].to_numpy(dtype=float),
        intervals=intervals,
        complete=np.array(complete, dtype=bool),
        export=(
            days["export_kwh"].to_numpy(dtype=float)
            if "export_kwh" in days.columns
            else np.full(len(days), math.nan)
        ),
        metered=days["closing_balance_inr"].to_numpy(dtype=float),
    )


def _connections(daily: pd.DataFrame) -> Iterator[tuple[str, Callable[[], _Days]]]:
    """(consumer_id, its calendar when asked) of each connection of ``daily``, in order of first
    appearance: :func:`_calendars` when it answers, else the group-by and :func:`_calendar` per group."""
    calendars = _calendars(daily)
    if calendars is not None:
        for days in calendars:
            yield days.consumer_id, lambda days=days: days  # type: ignore[misc]
        return
    for cid, own in daily.groupby(daily["consumer_id"].astype(str), sort=False):
        yield str(cid), lambda own=own: _days_of(_calendar(own))  # type: ignore[misc]


def _calendars(daily: pd.DataFrame) -> list[_Days] | None:
    """Each connection's :class:`_Days` straight from ``daily``'s columns by position: no group-by, no
    sort of the frame, no reindex (the same arrays as ``_days_of(_calendar(own))`` of each group of
    ``daily.groupby(consumer_id as text, sort=False)``; tests/test_ledger_exact.py).

    Each column is converted once (``to_numpy(dtype=float)``, as the calendar frame's columns were read)
    and each row put at its day's place: whole days since the connection's first day. None (the caller
    then takes the group-by and the frames) where positions cannot answer: a column the ledger reads
    missing or twice, IDs that are not pandas text or missing, days that are not tz-naive datetime64 at
    midnight, a connection's day twice, numbers that are not plain numpy ints or floats (``export_kwh``
    may also be objects: None), interval counts that are not finite or too large for a float, or a
    conversion that raises (the frames' path then raises it).
    """
    names = set(daily.columns)
    if len(names) != len(daily.columns) or not set(_DAILY_NEEDS) <= names:
        return None
    col = {name: daily[name] for name in (*_DAILY_NEEDS, "minutes", "export_kwh") if name in names}
    ids = col["consumer_id"]
    day = col["day"]
    if not isinstance(ids.dtype, pd.StringDtype):
        return None
    if not isinstance(day.dtype, np.dtype) or day.dtype.kind != "M":
        return None
    values = day.to_numpy()
    whole = values.astype("datetime64[D]")
    if np.isnat(values).any() or (whole != values).any():
        return None
    numbers = [c for c in ("kwh", "intervals", "closing_balance_inr", "recharge_inr", "minutes") if c in col]
    if any(not isinstance(col[c].dtype, np.dtype) or col[c].dtype.kind not in "if" for c in numbers):
        return None  # plain numpy numbers only: not nullable (pd.NA), boolean or object columns
    has_export = "export_kwh" in col
    export_dtype = col["export_kwh"].dtype if has_export else None
    if export_dtype is not None and (
        not isinstance(export_dtype, np.dtype) or export_dtype.kind not in "ifO"
    ):
        return None
    codes, uniques = pd.factorize(ids, sort=False)  # connections in order of first appearance (group-by's)
    if (codes < 0).any():
        return None  # a missing ID: the group-by leaves its rows out
    intervals_raw = col["intervals"].to_numpy()
    if intervals_raw.dtype.kind == "f" and np.isinf(intervals_raw).any():
        return None  # NaN is a missing count (0); an infinite one the frames' astype refuses
    if len(intervals_raw) and np.nanmax(np.abs(intervals_raw), initial=0) >= _EXACT_INT:
        return None  # a gap makes the calendar frame's counts floats: exact only below 2**53
    try:
        kwh = col["kwh"].to_numpy(dtype=float)
        metered = col["closing_balance_inr"].to_numpy(dtype=float)
        recharge = col["recharge_inr"].to_numpy(dtype=float)
        minutes = col["minutes"].to_numpy(dtype=float) if "minutes" in col else None
        export = col["export_kwh"].to_numpy(dtype=float) if has_export else None
    except (TypeError, ValueError):
        return None
    intervals = (
        np.where(np.isnan(intervals_raw), 0, intervals_raw)
        if intervals_raw.dtype.kind == "f"
        else intervals_raw
    )
    intervals = intervals.astype(np.int64)
    by_connection = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes))
    day_number = whole.astype(np.int64)
    nicknames = col["nickname"]
    out: list[_Days] = []
    start = 0
    for k, end in enumerate(ends.tolist()):
        rows = by_connection[start:end]
        start = end
        rows = rows[np.argsort(day_number[rows], kind="stable")]  # day order, as the stable sort_values
        numbers_of = day_number[rows]
        if (numbers_of[1:] == numbers_of[:-1]).any():
            return None  # a day twice: fill_calendar keeps both rows
        first = int(numbers_of[0])
        n = int(numbers_of[-1]) - first + 1
        place = numbers_of - first

        def grid(
            column: np.ndarray, fill: float, rows: np.ndarray = rows, place: np.ndarray = place, n: int = n
        ) -> np.ndarray:
            out_column = np.full(n, fill)
            out_column[place] = column[rows]
            return out_column

        counts = np.zeros(n, dtype=np.int64)
        counts[place] = intervals[rows]
        if minutes is not None:
            complete = grid(minutes, 0.0) >= MINUTES_PER_DAY - 1e-6  # NaN (fillna(0)) is not complete
        else:
            complete = np.array(complete_days(counts.tolist()), dtype=bool)
        paid = grid(recharge, 0.0)
        stamps = np.arange(first, first + n).astype("datetime64[D]")
        out.append(
            _Days(
                consumer_id=str(uniques[k]),
                nickname=nicknames.iloc[int(rows[0])],
                stamps=stamps,
                priced_days=stamps,
                recharge=np.where(np.isnan(paid), 0.0, paid),
                kwh=grid(kwh, math.nan),
                intervals=counts,
                complete=complete,
                export=grid(export, math.nan) if export is not None else np.full(n, math.nan),
                metered=grid(metered, math.nan),
            )
        )
    return out


def _connection_ledger(
    days: pd.DataFrame,
    category: str,
    load_kw: float,
    arrears: pd.DataFrame,
    adjustments: pd.DataFrame,
    anchors: pd.DataFrame,
    today: dt.date,
    book: tariff.TariffBook,
) -> pd.DataFrame:
    """One connection's ledger rows from its calendar frame (``days``: calendar-filled daily rows, in day
    order): :func:`_ledger_of` of its arrays (:func:`_days_of`)."""
    return _ledger_of(_days_of(days), category, load_kw, arrears, adjustments, anchors, today, book)


def _ledger_of(
    days: _Days,
    category: str,
    load_kw: float,
    arrears: pd.DataFrame,
    adjustments: pd.DataFrame,
    anchors: pd.DataFrame,
    today: dt.date,
    book: tariff.TariffBook,
) -> pd.DataFrame:
    """One connection's ledger rows (``days``: its calendar, :class:`_Days`).

    What does not depend on the day before is worked out as columns: the units priced, the month's units
    so far, every part of the deduction (:func:`lib.tariff.day_charges_columns`: one tariff lookup per
    segment, exact, equal to ``day_charges`` day by day), recharges, arrears, adjustments in paise. One
    loop over the days carries what is sequential: opening from the day before, closing and status; then
    late credits (:func:`_match_late_credits`). The frame is built once from arrays of its final dtypes.
    tests/test_ledger_exact.py checks it against the per-day path (``tests/ledger_reference.py``) and
    against main's build before this one (``main_build_ledger``) on the shared cases, the demo and
    generated connections.
    """
    stamps = days.stamps
    n = len(stamps)
    day_list: list[dt.date] = stamps.tolist()
    recharge_p = np.rint(days.recharge * 100).astype(np.int64)
    recharge = recharge_p.tolist()
    if len(arrears):
        recharge_by_day = dict(zip(day_list, recharge, strict=True))
        recovery = arrears_recovery(arrears, recharge_by_day, day_list)
        outstanding = arrears_outstanding(arrears, recharge_by_day, day_list)
        owed = np.array([outstanding.get(day, 0) for day in day_list], dtype=np.int64)
        arrears_p = np.array([recovery.get(day, 0) for day in day_list], dtype=np.int64)
    else:  # what the two give for no arrears: nothing recovered, nothing owed
        owed = np.zeros(n, dtype=np.int64)
        arrears_p = np.zeros(n, dtype=np.int64)
    adjust: dict[dt.date, int] = {}
    for _, row in adjustments.iterrows():
        key = dt.date.fromisoformat(str(row["day"])[:10])
        adjust[key] = adjust.get(key, 0) + _paise(row["amount_inr"])
    anchor: dict[dt.date, int] = {}  # the last one entered for a day wins
    for _, row in anchors.iterrows():
        anchor[dt.date.fromisoformat(str(row["day"])[:10])] = _paise(row["balance_inr"])
    intervals = days.intervals
    kwh = days.kwh
    export = days.export
    has_readings = ~np.isnan(kwh) & (intervals > 0)
    units = np.where(has_readings, kwh, 0.0)
    if (export > 0).any():  # net-metered: price the netted units
        net = tariff.net_billed_units(
            zip(day_list, np.nan_to_num(kwh).tolist(), np.nan_to_num(export).tolist(), strict=True), book=book
        )
        units = np.array([d.billed_kwh for d in net], dtype=float)
    # The month's units so far, summed in day order as floats (each day's tariff quantizes them).
    month = stamps.astype("datetime64[M]").astype(np.int64)
    starts = np.flatnonzero(np.r_[True, month[1:] != month[:-1]]).tolist() + [n]
    to_date = np.empty(n)
    for start, end in zip(starts, starts[1:], strict=False):
        to_date[start:end] = np.cumsum(units[start:end])
    before = np.r_[0.0, to_date[:-1]]
    before[starts[:-1]] = 0.0
    charges = tariff.day_charges_columns(
        category,
        days.priced_days,
        units,
        units_before=before,
        sanctioned_load_kw=load_kw,
        free_units_held=(owed > 0) if FREE_UNITS_NEED_ARREARS_CLEARED else None,
        book=book,
    )
    energy, fixed, duty, rebate = (charges[f"{part}_paise"] for part in ("energy", "fixed", "duty", "rebate"))
    adjust_p = (
        np.array([adjust.get(day, 0) for day in day_list], dtype=np.int64)
        if adjust
        else np.zeros(n, np.int64)
    )
    deduction_p = energy + fixed + duty - rebate + arrears_p - adjust_p
    metered_raw = days.metered
    metered_known = ~np.isnan(metered_raw)
    metered_p = np.rint(np.nan_to_num(metered_raw) * 100)
    balances = _balances_numpy(
        stamps, recharge_p, deduction_p, metered_known, metered_p, anchor, has_readings, days.complete, today
    ) or _balances_loop(
        day_list,
        recharge_p,
        deduction_p,
        metered_known,
        metered_p,
        anchor,
        has_readings,
        days.complete,
        today,
    )
    statuses, difference = balances.statuses, balances.difference
    late_columns: dict[str, Any] = {
        "recharge_inr": recharge_p / 100,
        "status": statuses,
        "difference_inr": difference,
        "pending_inr": [0.0] * n,
        "late_credit_inr": [0.0] * n,
    }
    if "unexplained" in statuses:  # nothing to match otherwise: _match_late_credits changes nothing
        _match_late_credits(late_columns, day_list, today)
    columns: dict[str, Any] = {
        "consumer_id": _text_column(days.consumer_id, n),
        "nickname": _text_column(days.nickname, n),
        "day": stamps.astype("datetime64[s]"),  # the unit pd.Timestamp(date) has
        "units": np.where(has_readings, kwh, math.nan),
        "intervals": intervals.astype(np.int64),
        "export_kwh": export,
        "billed_units": units,
        "opening_inr": balances.opening,
        "recharge_inr": late_columns["recharge_inr"],
        "energy_inr": _inr(energy),
        "fixed_inr": _inr(fixed),
        "duty_inr": _inr(duty),
        "rebate_inr": _inr(rebate),
        "arrears_inr": arrears_p / 100,
        "adjustment_inr": adjust_p / 100,
        "deduction_inr": _inr(deduction_p),
        "closing_inr": balances.closing,
        "metered_closing_inr": balances.metered,
        "difference_inr": np.array(late_columns["difference_inr"], dtype=float),
        "balance_inr": balances.balance,
        "estimated": ~metered_known,
        "status": pd.array(late_columns["status"], dtype=_TEXT),
        "pending_inr": np.array(late_columns["pending_inr"], dtype=float),
        "late_credit_inr": np.array(late_columns["late_credit_inr"], dtype=float),
        "anchor_inr": _rupees_column([anchor.get(day) for day in day_list])
        if anchor
        else np.full(n, math.nan),
        "free_units_used": charges["free_units_used"],
        "units_month_to_date": to_date,
        "arrears_outstanding_inr": owed / 100,
        "tariff_version": charges["version"],
    }
    return pd.DataFrame(columns)


@dataclass(frozen=True)
class _Balances:
    """The sequential part of one connection's ledger: ₹ columns (NaN where unknown) and, as lists for
    :func:`_match_late_credits`, each day's status and metered − computed difference."""

    opening: np.ndarray
    closing: np.ndarray
    metered: np.ndarray
    balance: np.ndarray
    statuses: list[str]
    difference: list[float]


def _balances_loop(
    day_list: list[dt.date],
    recharge_p: np.ndarray,
    deduction_p: np.ndarray,
    metered_known: np.ndarray,
    metered_p: np.ndarray,
    anchor: dict[dt.date, int],
    has_readings: np.ndarray,
    complete_array: np.ndarray,
    today: dt.date,
) -> _Balances:
    """Openings, closings and statuses day by day in Python integers (paise): each day's opening is the
    day before's metered closing, else an anchor for the day, else the day before's computed closing, else
    (first day) derived from the meter; a connection with none of them has unknown balances."""
    recharge = recharge_p.tolist()
    deduction = deduction_p.tolist()
    metered_list: list[int | None] = [
        int(p) if known else None for known, p in zip(metered_known.tolist(), metered_p.tolist(), strict=True)
    ]
    has_list = has_readings.tolist()
    complete = complete_array.tolist()
    openings: list[int | None] = []
    closings: list[int | None] = []
    statuses: list[str] = []
    previous_metered: int | None = None
    previous_closing: int | None = None
    for i, day in enumerate(day_list):
        metered = metered_list[i]
        opening: int | None
        if previous_metered is not None:
            opening = previous_metered
        elif day in anchor:
            opening = anchor[day]  # the household's own reading of the balance beats an estimate
        elif previous_closing is not None:
            opening = previous_closing
        elif metered is not None:
            opening = metered - recharge[i] + deduction[i]  # first day: derived from the meter
        else:
            opening = None  # no balance known at all: unknown, not an estimate from ₹0
        closing = None if opening is None else opening + recharge[i] - deduction[i]
        if metered is None and not has_list[i]:
            status = "no_readings"
        elif metered is None:
            status = "estimated" if closing is not None else "unknown"
        elif day >= today:
            status = "today"
        elif i == 0:
            status = "start"
        elif not complete[i]:
            status = "incomplete"
        elif previous_metered is None:
            status = "gap"
        elif closing is not None and abs(metered - closing) > UNEXPLAINED_THRESHOLD_INR * 100:
            status = "unexplained"
        else:
            status = "ok"
        openings.append(opening)
        closings.append(closing)
        statuses.append(status)
        previous_metered = metered
        previous_closing = closing
    difference = [
        (m - c) / 100 if m is not None and c is not None and s != "today" else math.nan
        for m, c, s in zip(metered_list, closings, statuses, strict=True)
    ]
    return _Balances(
        opening=_rupees_column(openings),
        closing=_rupees_column(closings),
        metered=_rupees_column(metered_list),
        balance=_rupees_column(
            [m if m is not None else c for m, c in zip(metered_list, closings, strict=True)]
        ),
        statuses=statuses,
        difference=difference,
    )


_STATUS_TEXTS = np.array(STATUSES, dtype=object)
_NO_READINGS, _UNEXPLAINED = STATUSES.index("no_readings"), STATUSES.index("unexplained")


def _balances_numpy(
    stamps: np.ndarray,
    recharge_p: np.ndarray,
    deduction_p: np.ndarray,
    metered_known: np.ndarray,
    metered_p: np.ndarray,
    anchor: dict[dt.date, int],
    has_readings: np.ndarray,
    complete: np.ndarray,
    today: dt.date,
) -> _Balances | None:
    """:func:`_balances_loop`'s result with int64 arrays instead of the loop, or None (the loop answers)
    when a sum of paise could reach 2**52 (int64 and float64 then no longer give the loop's exact
    integers and quotients), the deduction is not int64 (the tariff priced days one by one) or ``today``
    is not a plain date, or the rows are not one per consecutive day (a day twice, or a noon row: the
    frames' calendar keeps them, and the loop finds each anchor by its date, not by its row).

    The day's opening is reset where the day before has a metered closing, else where an anchor is, and,
    on the first day with a metered closing before any reset, to that closing less the day's net; between
    resets it carries the day before's closing: ``reset value + net of the days since`` (a prefix sum).
    The statuses follow the loop's order of tests (:data:`STATUSES` by position, then their texts).
    """
    n = len(stamps)
    if deduction_p.dtype != np.int64 or type(today) is not dt.date:
        return None  # object paise; or a datetime / Timestamp "today" (the loop's comparison decides)
    if n > 1 and bool((np.diff(stamps.astype(np.int64)) != 1).any()):
        return None  # not a row per day: an anchor's row is not its day's offset from the first (review)
    anchored = np.zeros(n, dtype=bool)
    anchor_p = np.zeros(n, dtype=np.int64)
    if anchor:
        day_numbers = stamps.astype(np.int64)
        first_day = int(day_numbers[0])
        for day, paise in anchor.items():
            k = (day - dt.date(1970, 1, 1)).days - first_day
            if 0 <= k < n:
                if abs(paise) >= _EXACT_INT:
                    return None
                anchored[k], anchor_p[k] = True, paise
    net = recharge_p - deduction_p
    biggest = float(np.abs(net.astype(float)).sum()) + float(np.abs(metered_p).max(initial=0.0))
    biggest += float(np.abs(anchor_p).max(initial=0)) + float(
        np.abs(deduction_p.astype(float)).max(initial=0.0)
    )
    if biggest >= 2.0**52:
        return None
    metered = metered_p.astype(np.int64)
    before_metered = np.r_[False, metered_known[:-1]]
    reset = before_metered | anchored
    value = np.where(before_metered, np.r_[0, metered[:-1]], anchor_p)
    starts = np.flatnonzero(reset | metered_known)
    if len(starts):
        first = int(starts[0])
        if not reset[first]:  # the first metered closing before any other: derived from the meter
            reset[first] = True
            value[first] = metered[first] - net[first]
    else:
        first = n
    prefix = np.r_[0, np.cumsum(net)[:-1]]  # net of the days before each day
    last = np.maximum.accumulate(np.where(reset, np.arange(n), 0))
    known = np.arange(n) >= first
    opening_p = (value - prefix)[last] + prefix
    closing_p = opening_p + net
    index = np.arange(n)
    code = np.select(
        [
            ~metered_known & ~has_readings,
            ~metered_known & known,
            ~metered_known,
            stamps >= np.datetime64(today, "D"),
            index == 0,
            ~complete,
            ~before_metered,
            np.abs(metered - closing_p) > UNEXPLAINED_THRESHOLD_INR * 100,
        ],
        [
            _NO_READINGS,
            STATUSES.index("estimated"),
            STATUSES.index("unknown"),
            STATUSES.index("today"),
            STATUSES.index("start"),
            STATUSES.index("incomplete"),
            STATUSES.index("gap"),
            _UNEXPLAINED,
        ],
        STATUSES.index("ok"),
    )
    shown = metered_known & known & (code != STATUSES.index("today"))
    opening = np.where(known, opening_p / 100, math.nan)
    closing = np.where(known, closing_p / 100, math.nan)
    metered_inr = np.where(metered_known, metered / 100, math.nan)
    return _Balances(
        opening=opening,
        closing=closing,
        metered=metered_inr,
        balance=np.where(metered_known, metered_inr, closing),
        statuses=_STATUS_TEXTS[code].tolist(),
        difference=np.where(shown, (metered - closing_p) / 100, math.nan).tolist(),
    )


def _text_column(value: Any, n: int) -> Any:
    """``[value] * n`` as a frame infers it: typed as pandas text up front for text, else that list."""
    if type(value) is str:
        return pd.array([value] * n, dtype=_TEXT)
    return [value] * n


def _rupees(paise: int | None) -> float:
    return math.nan if paise is None else paise / 100


def _rupees_column(paise: list[int | None]) -> np.ndarray:
    """₹ from paise, NaN for None (``paise / 100`` of each, as :func:`_rupees`)."""
    return np.array([math.nan if p is None else p / 100 for p in paise], dtype=float)


def _inr(paise: np.ndarray) -> np.ndarray:
    """₹ from a paise column: int64 (exact below 2**53) or, past it, Python ints divided one by one."""
    if paise.dtype == object:
        return np.array([p / 100 for p in paise], dtype=float)
    return paise / 100


def _match_late_credits(columns: dict[str, Any], day_list: list[dt.date], today: dt.date) -> None:
    """Explain days that lack a recharge paid that day by the later day the meter shows it (in place).

    Day *i* had a recharge *R* and its metered closing is *R* short of the ledger's; a day *j* within
    ``LATE_CREDIT_MAX_DAYS`` after it (the days between checked and in order) shows about *R* more than
    the ledger's (between *R*/2 and 3*R*/2, so a deduction the meter got wrong that day too stays visible):
    days *i..j−1* are ``pending`` (``pending_inr`` = *R*) and day *j* is ``late_credit``
    (``late_credit_inr`` = *R*); what is left of each difference after *R* stays, and is flagged when
    over ₹1. A recharge of the last few days not yet on the meter (no contradicting day since) is pending.
    ``columns``: the ledger's columns of one connection (``recharge_inr``, ``status``, ``difference_inr``,
    ``pending_inr``, ``late_credit_inr`` as lists are read and changed).
    """
    limit = UNEXPLAINED_THRESHOLD_INR * 100
    status: list[str] = columns["status"]
    difference: list[float] = columns["difference_inr"]
    pending: list[float] = columns["pending_inr"]
    late: list[float] = columns["late_credit_inr"]
    recharge = columns["recharge_inr"]
    count = len(status)
    for i in range(count):
        if status[i] != "unexplained":
            continue
        paid = _paise(recharge[i])
        if paid <= 0 or abs(_paise(difference[i]) + paid) > limit:
            continue  # no recharge, or not the recharge missing (or not only it)
        credit_day: int | None = None
        between_ok = True
        for j in range(i + 1, min(count, i + 1 + LATE_CREDIT_MAX_DAYS)):
            if status[j] == "unexplained" and paid / 2 <= _paise(difference[j]) <= paid * 3 / 2:
                credit_day = j
                break
            if status[j] not in ("ok", "today"):
                between_ok = False
                break
        if credit_day is None:
            recent = (today - day_list[i]).days <= LATE_CREDIT_MAX_DAYS
            if not (between_ok and recent):
                continue
            last = count  # still on its way: pending up to the last day
        else:
            last = credit_day
        for k in range(i, last):
            pending[k] = round(pending[k] + paid / 100, 2)
            if status[k] in ("ok", "unexplained"):
                status[k] = "pending"
        difference[i] = (_paise(difference[i]) + paid) / 100
        if abs(_paise(difference[i])) > limit:
            status[i] = "unexplained"
        if credit_day is not None:
            late[credit_day] = round(late[credit_day] + paid / 100, 2)
            difference[credit_day] = (_paise(difference[credit_day]) - paid) / 100
            status[credit_day] = (
                "late_credit" if abs(_paise(difference[credit_day])) <= limit else "unexplained"
            )


def late_credits(ledger: pd.DataFrame) -> pd.DataFrame:
    """Recharges that reached the meter's balance on a later IST day than they were paid.

    Columns: consumer_id, nickname, paid_day, credited_day (NaT: not on the meter yet), amount_inr.

    >>> daily = pd.DataFrame({"consumer_id": "101", "nickname": "Home",
    ...     "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03"]), "kwh": 2.0, "intervals": 48,
    ...     "peak_kwh": 0.1, "closing_balance_inr": [100.0, 100.0, 600.0], "recharge_inr": [0.0, 500.0, 0.0]})
    >>> details = pd.DataFrame({"consumer_id": ["101"], "nickname": ["Home"],
    ...     "tariff_category": ["DS-II"], "sanctioned_load_kw": [2.0]})
    >>> rows = build_ledger(daily, details, today=dt.date(2026, 11, 25))
    >>> rows["status"].tolist()
    ['start', 'pending', 'late_credit']
    >>> late_credits(rows)[["paid_day", "credited_day", "amount_inr"]].to_dict("records")
    [{'paid_day': Timestamp('2026-11-02 00:00:00'), 'credited_day': Timestamp('2026-11-03 00:00:00'), 'amount_inr': 500.0}]

    (DS-II within the 125 free units costs nothing, so the ₹500 paid on the 2nd is short on the 2nd's
    metered closing and shows on the 3rd's: one late credit, nothing unexplained.)
    """
    columns = ["consumer_id", "nickname", "paid_day", "credited_day", "amount_inr"]
    out: list[list[Any]] = []
    if not len(ledger):
        return pd.DataFrame(columns=columns)
    for cid, own in ledger.groupby("consumer_id", sort=False):
        own = own.sort_values("day")
        run_start: pd.Timestamp | None = None
        row: Any  # itertuples rows: attribute types come from the frame's columns
        for row in own.itertuples(index=False):
            if row.pending_inr > 0 and run_start is None:
                run_start = row.day
            if row.late_credit_inr > 0:
                out.append(
                    [str(cid), row.nickname, run_start or row.day, row.day, float(row.late_credit_inr)]
                )
                run_start = None
            elif row.pending_inr <= 0:
                run_start = None
        if run_start is not None:
            pending = own[own["day"] == run_start].iloc[0]
            out.append([str(cid), pending["nickname"], run_start, pd.NaT, float(pending["pending_inr"])])
    return pd.DataFrame(out, columns=columns)


# --- arrears ----------------------------------------------------------------------------------------


def arrears_recovery(
    arrears: pd.DataFrame, recharge_paise: dict[dt.date, int], days: Sequence[dt.date]
) -> dict[dt.date, int]:
    """Paise recovered towards arrears on each of ``days`` (the ledger's calendar of one connection).

    ``recharge_share``: ``share`` of every recharge from ``start_day`` on (DESCO-style: the energy
    bought is what is left); ``daily``: ``daily_inr`` every day from ``start_day``; each until its amount
    is paid. Days before the ledger's first day still count for daily instalments (what was already paid).

    >>> a = pd.DataFrame([{"arrear_id": 1, "amount_inr": 700.0, "start_day": "2026-11-01",
    ...     "method": "recharge_share", "share": 0.5, "daily_inr": None}])
    >>> d = [dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    >>> arrears_recovery(a, {d[0]: 100000, d[1]: 100000}, d)
    {datetime.date(2026, 11, 2): 50000, datetime.date(2026, 11, 3): 20000}
    """
    out: dict[dt.date, int] = {}
    if arrears is None or not len(arrears) or not len(days):
        return out
    for _, row in arrears.sort_values(["start_day", "arrear_id"]).iterrows():
        for day, paid in _schedule_of(row, recharge_paise, days[-1]):
            out[day] = out.get(day, 0) + paid
    first = days[0]
    return {day: paid for day, paid in sorted(out.items()) if day >= first}


def arrears_outstanding(
    arrears: pd.DataFrame, recharge_paise: dict[dt.date, int], days: Sequence[dt.date]
) -> dict[dt.date, int]:
    """Paise of arrears still owed at the end of each of ``days`` (only arrears already started count).

    >>> a = pd.DataFrame([{"arrear_id": 1, "amount_inr": 100.0, "start_day": "2026-11-02",
    ...     "method": "daily", "share": None, "daily_inr": 60.0}])
    >>> d = [dt.date(2026, 11, 1), dt.date(2026, 11, 2), dt.date(2026, 11, 3)]
    >>> arrears_outstanding(a, {}, d)
    {datetime.date(2026, 11, 1): 0, datetime.date(2026, 11, 2): 4000, datetime.date(2026, 11, 3): 0}
    """
    out = dict.fromkeys(days, 0)
    if arrears is None or not len(arrears) or not len(days):
        return out
    for _, row in arrears.iterrows():
        start = dt.date.fromisoformat(str(row["start_day"])[:10])
        left = _paise(row["amount_inr"])
        paid = dict(_schedule_of(row, recharge_paise, days[-1]))
        for day in sorted(paid):
            if day < days[0]:
                left -= paid[day]
        for day in days:
            if day < start:
                continue
            left -= paid.get(day, 0)
            out[day] += max(0, left)
    return out


def _schedule_of(row: Any, recharge_paise: dict[dt.date, int], until: dt.date) -> list[tuple[dt.date, int]]:
    """(day, paise) recovered for one arrear from its start day through ``until``."""
    remaining = _paise(row["amount_inr"])
    start = dt.date.fromisoformat(str(row["start_day"])[:10])
    paid: list[tuple[dt.date, int]] = []
    if row["method"] == "daily":
        step = _paise(row["daily_inr"])
        day = start
        while remaining > 0 and day <= until and step > 0:
            take = min(remaining, step)
            paid.append((day, take))
            remaining -= take
            day += dt.timedelta(days=1)
    else:
        share = float(row["share"])
        for day in sorted(recharge_paise):
            if day < start or day > until or remaining <= 0:
                continue
            take = min(remaining, int(round(recharge_paise[day] * share)))
            if take > 0:
                paid.append((day, take))
                remaining -= take
    return paid


def arrears_status(arrears: pd.DataFrame, ledger: pd.DataFrame, today: dt.date | None = None) -> pd.DataFrame:
    """Each arrear: what was owed, what is recovered, what remains and when it should end.

    Columns: arrear_id, consumer_id, nickname, amount_inr, method, share, daily_inr, recovered_inr,
    remaining_inr, ends_on (date, NaT when unknown), recharges_left (for a share of recharges: how
    many more recharges of the usual size pay it off; NaN otherwise), typical_recharge_inr.
    A share of recharges ends after about ``remaining / (share × usual recharge)`` recharges; with the
    usual gap between recharges that gives a date. A daily instalment (today's already taken) ends
    ``ceil(remaining / instalment)`` days after today.
    """
    columns = [
        "arrear_id",
        "consumer_id",
        "nickname",
        "amount_inr",
        "method",
        "share",
        "daily_inr",
        "note",
        "recovered_inr",
        "remaining_inr",
        "ends_on",
        "recharges_left",
        "typical_recharge_inr",
    ]
    if arrears is None or not len(arrears):
        return pd.DataFrame(columns=columns)
    today = today or today_ist()
    rows = []
    for _, row in arrears.iterrows():
        cid = str(row["consumer_id"])
        own = ledger[ledger["consumer_id"].astype(str) == cid] if len(ledger) else ledger
        last = max(today, own["day"].max().date()) if len(own) else today
        recharges = {
            ts.date(): _paise(amount)
            for ts, amount in zip(own["day"], own["recharge_inr"], strict=True)
            if amount > 0 and ts.date() <= today
        }
        recovered = sum(p for d, p in _schedule_of(row, recharges, min(last, today)))
        remaining = _paise(row["amount_inr"]) - recovered
        nickname = own["nickname"].iloc[0] if len(own) else cid
        typical = float(np.median(list(recharges.values()))) / 100 if recharges else math.nan
        ends_on: Any = pd.NaT
        recharges_left = math.nan
        if remaining <= 0:
            paid_days = [d for d, _ in _schedule_of(row, recharges, today)]
            ends_on = pd.Timestamp(paid_days[-1]) if paid_days else pd.NaT
        elif row["method"] == "daily":
            ends_on = pd.Timestamp(today + dt.timedelta(days=math.ceil(remaining / _paise(row["daily_inr"]))))
        elif not math.isnan(typical) and typical > 0:
            recharges_left = float(math.ceil(remaining / 100 / (float(row["share"]) * typical)))
            gaps = np.diff(sorted(d.toordinal() for d in recharges))
            if len(gaps):
                ends_on = pd.Timestamp(
                    today + dt.timedelta(days=int(recharges_left * float(np.median(gaps))))
                )
        rows.append(
            [
                row["arrear_id"],
                cid,
                nickname,
                float(row["amount_inr"]),
                row["method"],
                row.get("share"),
                row.get("daily_inr"),
                row.get("note"),
                recovered / 100,
                max(0, remaining) / 100,
                ends_on,
                recharges_left,
                typical,
            ]
        )
    return pd.DataFrame(rows, columns=columns)


# --- what the household asks ----------------------------------------------------------------------


def unexplained_deductions(ledger: pd.DataFrame) -> pd.DataFrame:
    """Days whose metered closing differs from the ledger's by more than ₹1, newest first.

    Columns: consumer_id, nickname, day, difference_inr (negative: more was taken than the tariff
    explains), metered_closing_inr, closing_inr.
    """
    columns = ["consumer_id", "nickname", "day", "difference_inr", "metered_closing_inr", "closing_inr"]
    if not len(ledger):
        return pd.DataFrame(columns=columns)
    flagged = ledger[ledger["status"] == "unexplained"]
    return flagged.sort_values("day", ascending=False)[columns].reset_index(drop=True)


def unexplained_summary(ledger: pd.DataFrame) -> pd.DataFrame:
    """Per connection: how many days were flagged and what the meter took net (what to take to the office).

    Flagged days less than ``EPISODE_GAP_DAYS`` apart form one episode, and within an episode what the
    meter took beyond the tariff is netted against what it took less (a deduction made one day and given
    back the next is not ₹X "taken"). Columns: consumer_id, nickname, days, episodes, total_inr (sum of
    the differences: negative = taken), net_inr (the same with the sign of "taken": positive = taken
    beyond the tariff), taken_inr (sum over episodes that took more, positive), spared_inr (sum over
    episodes that took less), first_day, last_day. A connection whose episodes all net to less than ₹1
    has no row.

    >>> rows = pd.DataFrame({"consumer_id": "1", "nickname": "Home", "status": "unexplained",
    ...     "day": pd.to_datetime(["2026-11-02", "2026-11-03", "2026-11-20"]),
    ...     "difference_inr": [-40.0, 40.0, -25.0], "metered_closing_inr": 0.0, "closing_inr": 0.0})
    >>> unexplained_summary(rows)[["days", "episodes", "net_inr", "taken_inr", "spared_inr"]].to_dict("records")
    [{'days': 3, 'episodes': 2, 'net_inr': 25.0, 'taken_inr': 25.0, 'spared_inr': 0.0}]
    """
    columns = [
        "consumer_id",
        "nickname",
        "days",
        "episodes",
        "total_inr",
        "net_inr",
        "taken_inr",
        "spared_inr",
        "first_day",
        "last_day",
    ]
    flagged = unexplained_deductions(ledger)
    if not len(flagged):
        return pd.DataFrame(columns=columns)
    out: list[list[Any]] = []
    for cid, own in flagged.groupby("consumer_id", sort=False):
        own = own.sort_values("day")
        episode = (own["day"].diff().dt.days.fillna(EPISODE_GAP_DAYS) >= EPISODE_GAP_DAYS).cumsum()
        nets = [_paise(v) for v in own.groupby(episode)["difference_inr"].sum()]
        taken = sum(-n for n in nets if n < -UNEXPLAINED_THRESHOLD_INR * 100)
        spared = sum(n for n in nets if n > UNEXPLAINED_THRESHOLD_INR * 100)
        if not taken and not spared:
            continue
        total = _paise(own["difference_inr"].sum())
        out.append(
            [
                str(cid),
                own["nickname"].iloc[0],
                int(len(own)),
                int(len(nets)),
                total / 100,
                -total / 100,
                taken / 100,
                spared / 100,
                own["day"].min(),
                own["day"].max(),
            ]
        )
    return pd.DataFrame(out, columns=columns)


def month_parts(ledger: pd.DataFrame) -> pd.DataFrame:
    """Spend per connection per calendar month, split into its parts (the Compare page's bars).

    Columns: consumer_id, nickname, month (first day, datetime), units, recharge_inr, energy_inr,
    fixed_inr, duty_inr, rebate_inr, arrears_inr, adjustment_inr, deduction_inr, days.
    """
    sums = ["units", *[p for p, _ in PARTS], "deduction_inr"]
    columns = ["consumer_id", "nickname", "month", *sums, "days"]
    if not len(ledger):
        return pd.DataFrame(columns=columns)
    frame = ledger.assign(month=ledger["day"].dt.to_period("M").dt.start_time)
    grouped = frame.groupby(["consumer_id", "month"], sort=True)
    out = grouped[sums].sum(min_count=0).round(2)
    out["units"] = grouped["units"].sum(min_count=1)
    out["nickname"] = grouped["nickname"].first()
    out["days"] = grouped["day"].count().astype(int)
    return out.reset_index()[columns]


def period_steps(
    ledger: pd.DataFrame, consumer_id: str, first_day: dt.date, last_day: dt.date
) -> dict[str, Any]:
    """The waterfall of one connection over ``first_day..last_day``: opening, each part, closing.

    Returns ``{"opening_inr", "closing_inr", "metered_closing_inr" (NaN when none), "estimated",
    "parts": [(column, signed ₹), ...], "units", "days"}``; ``parts`` follow ``PARTS`` with the sign
    they have on the balance. Empty (``{}``) when the connection has no rows in the period.
    """
    own = ledger[
        (ledger["consumer_id"].astype(str) == str(consumer_id))
        & (ledger["day"] >= pd.Timestamp(first_day))
        & (ledger["day"] <= pd.Timestamp(last_day))
    ].sort_values("day")
    if not len(own):
        return {}
    parts = [(column, round(sign * float(own[column].sum()), 2)) for column, sign in PARTS]
    last = own.iloc[-1]
    return {
        "opening_inr": float(own["opening_inr"].iloc[0]),
        "closing_inr": float(last["closing_inr"]),
        "metered_closing_inr": float(last["metered_closing_inr"]),
        "estimated": bool(last["estimated"]),
        "parts": parts,
        "units": float(own["units"].sum(min_count=1)) if own["units"].notna().any() else math.nan,
        "days": len(own),
    }


@dataclass(frozen=True)
class FreeUnitsOutlook:
    """This month's free units of one connection and where the month is heading at the current pace."""

    consumer_id: str
    nickname: str
    allowance: float  # free units a month (0: not eligible, e.g. a shop)
    units_so_far: float  # this month, today's readings included
    free_units_left: float
    pace_units_per_day: float  # NaN when there is no recent complete day
    projected_month_units: float
    passes_on: dt.date | None  # the day the month's units pass the allowance (past or projected)
    already_passed: bool
    more_this_month_inr: float  # deductions expected for the rest of the month at this pace
    held_by_arrears: bool = False  # arrears are owed: no free units until they are cleared


def free_units_outlook(
    ledger: pd.DataFrame,
    details: pd.DataFrame,
    today: dt.date | None = None,
    *,
    book: tariff.TariffBook | None = None,
) -> list[FreeUnitsOutlook]:
    """Per connection with ledger rows: free units left this month, projected month-end units and cost.

    The pace is the average of this month's complete days (before today), or of the last 7 complete
    days when this month has fewer than 3. The rest of the month (today included) is charged day by
    day through :func:`lib.tariff.charges_for_days`, so slabs, the allowance and fixed charges apply
    exactly as the meter would apply them ("at this pace Home will pass 125 units on the 24th; about
    ₹110 more this month"). While arrears are owed, the projection has no free units (``held_by_arrears``).
    """
    today = today or today_ist()
    book = book or tariff.load_tariffs()
    facts = details.set_index(details["consumer_id"].astype(str))
    first = pd.Timestamp(today.replace(day=1))
    end = today.replace(day=calendar.monthrange(today.year, today.month)[1])
    out: list[FreeUnitsOutlook] = []
    if not len(ledger):
        return out
    for cid, own in ledger.groupby("consumer_id", sort=False):
        cid = str(cid)
        if cid not in facts.index:
            continue
        category = str(facts.loc[cid, "tariff_category"])
        load = float(cast(float, facts.loc[cid, "sanctioned_load_kw"]))
        try:
            allowance = float(tariff.tariff_for(category, today, book=book).free_units_per_month)
        except tariff.TariffError:
            continue
        month = own[(own["day"] >= first) & (own["day"] <= pd.Timestamp(today))]
        so_far = float(month["units"].sum()) if len(month) else 0.0
        complete = month[(month["day"] < pd.Timestamp(today)) & month["units"].notna()]
        before_today = float(complete["units"].sum()) if len(complete) else 0.0
        if len(complete) >= 3:
            pace = float(complete["units"].mean())
        else:
            recent = own[(own["day"] < pd.Timestamp(today)) & own["units"].notna()].tail(7)
            pace = float(recent["units"].mean()) if len(recent) else math.nan
        remaining_days = (end - today).days + 1
        projected = before_today + (pace * remaining_days if not math.isnan(pace) else 0.0)
        passes_on: dt.date | None = None
        already = False
        if allowance > 0:
            crossed = month[month["units_month_to_date"] > allowance]
            if len(crossed):
                passes_on, already = crossed["day"].iloc[0].date(), True
                if passes_on == today:
                    already = False
            elif not math.isnan(pace) and pace > 0 and projected > allowance:
                days_needed = math.floor((allowance - before_today) / pace)  # whole days still within
                passes_on = today + dt.timedelta(days=max(0, days_needed))
        last = own[own["day"] <= pd.Timestamp(today)].tail(1)
        held = bool(
            FREE_UNITS_NEED_ARREARS_CLEARED
            and allowance > 0
            and len(last)
            and float(last["arrears_outstanding_inr"].iloc[0]) > 0
        )
        more = math.nan
        if not math.isnan(pace):
            rest = [(today + dt.timedelta(days=i), round(pace, 3)) for i in range(remaining_days)]
            rest_book = dataclasses.replace(book, free_units=()) if held else book
            try:
                charges = tariff.charges_for_days(
                    category, rest, sanctioned_load_kw=load, units_before=before_today, book=rest_book
                )
                more = round(sum(c.total for c in charges), 2)
            except tariff.TariffError:
                more = math.nan
        out.append(
            FreeUnitsOutlook(
                consumer_id=cid,
                nickname=str(own["nickname"].iloc[0]),
                allowance=allowance,
                units_so_far=round(so_far, 3),
                free_units_left=0.0 if held else tariff.free_units_left(category, today, so_far, book=book),
                pace_units_per_day=pace,
                projected_month_units=round(projected, 1),
                passes_on=passes_on,
                already_passed=already,
                more_this_month_inr=more,
                held_by_arrears=held,
            )
        )
    return out


def balance_outlook(
    ledger: pd.DataFrame,
    details: pd.DataFrame,
    today: dt.date | None = None,
    *,
    arrears: pd.DataFrame | None = None,
    book: tariff.TariffBook | None = None,
) -> pd.DataFrame:
    """Per connection: latest balance (metered or estimated), burn, days of balance left and run-out day.

    The tariff simulation of :func:`lib.forecast.run_out` (its columns, ``estimated`` among them: the
    latest balance is the ledger's, not the meter's); ``details`` gives each connection's tariff category
    and sanctioned load, ``arrears`` (:func:`lib.storage.ledger.arrears_frame`) the instalments still to come.
    """
    from lib import forecast  # forecast builds on this module's arrears schedule

    return forecast.run_out(ledger, details, today or today_ist(), arrears=arrears, book=book)


# --- reading it for an account ----------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerInputs:
    """What a ledger needs beside the daily rows, read for an account: :func:`lib.storage.accounts.connection_details`
    (all its active connections), :func:`lib.storage.ledger.arrears_frame`,
    :func:`lib.storage.ledger.adjustments_frame` and :func:`lib.storage.anchors.anchors_frame` (all its
    connections' entries, or ``consumer_ids``'). Read by :func:`read_ledger_inputs`; the dashboard reads them
    once per run for all of an account's connections and hands them to :func:`load_ledger` per connection."""

    details: pd.DataFrame
    arrears: pd.DataFrame
    adjustments: pd.DataFrame
    anchors: pd.DataFrame

    def of(self, consumer_ids: Sequence[str]) -> LedgerInputs:
        """The inputs of ``consumer_ids`` only: what :func:`read_ledger_inputs` reads for them (the details
        stay the account's, as :func:`load_ledger` always passed them)."""
        return LedgerInputs(
            details=self.details,
            arrears=for_connections(self.arrears, consumer_ids),
            adjustments=for_connections(self.adjustments, consumer_ids),
            anchors=for_connections(self.anchors, consumer_ids),
        )


def read_ledger_inputs(
    conn: Database,
    account_id: int,
    consumer_ids: Sequence[str] | None = None,
    *,
    details: pd.DataFrame | None = None,
) -> LedgerInputs:
    """The :class:`LedgerInputs` of the account's linked connections (all of them, or ``consumer_ids``):
    four authorized reads, three when ``details`` (the account's
    :func:`lib.storage.accounts.connection_details`, already read; never changed by a ledger or forecast)
    is given. Raises ``storage.StorageError`` when the database cannot be read."""
    return LedgerInputs(
        details=conn.accounts.connection_details(account_id) if details is None else details,
        arrears=conn.ledger.arrears_frame(account_id, consumer_ids),
        adjustments=conn.ledger.adjustments_frame(account_id, consumer_ids),
        anchors=conn.anchors.anchors_frame(account_id, consumer_ids),
    )


def load_ledger(
    conn: Database,
    account_id: int,
    consumer_ids: Sequence[str] | None = None,
    *,
    today: dt.date | None = None,
    book: tariff.TariffBook | None = None,
    inputs: LedgerInputs | None = None,
) -> pd.DataFrame:
    """The ledger of the account's linked connections (all of them, or ``consumer_ids``), whole history.

    Only authorized reads (:mod:`lib.store`): an unlinked or stale connection has no rows. ``inputs``: the
    account's :class:`LedgerInputs` already read for all its connections (:func:`read_ledger_inputs`
    without ``consumer_ids``): then only the daily rows are read, and ``consumer_ids``' entries are cut
    from them as the storage reads cut them (the same ledger). Raises ``storage.StorageError`` when the
    database cannot be read, ``tariff.TariffError`` when the tariff file cannot be.

    >>> from lib.storage.engine import open_db
    >>> with open_db(":memory:") as conn:
    ...     _ = conn.consumers.upsert_consumers([{"consumer_id": "101", "name": "A",
    ...         "registered_mobile": "+919876543210", "tariff_category": "DS-II", "sanctioned_load_kw": 1.0}])
    ...     account = conn.accounts.create_account("+919876543210", now="2026-01-01T00:00:00Z")
    ...     conn.accounts.insert_link(account, "101", "Home", now="2026-01-01T00:00:00Z")
    ...     day = [("101", f"2026-11-23T{h:02d}:{m:02d}:00Z", 0.25, 300.0) for h in range(24) for m in (0, 30)]
    ...     _ = conn.readings.insert_readings(day)
    ...     conn.readings.refresh_daily("101")
    ...     inputs = read_ledger_inputs(conn, account)
    ...     rows = load_ledger(conn, account, ["101"], today=dt.date(2026, 11, 25), inputs=inputs)
    ...     again = load_ledger(conn, account, ["101"], today=dt.date(2026, 11, 25))
    >>> rows.equals(again), rows["units"].tolist()  # 0.25 kWh a half hour: 37 of them before IST midnight
    (True, [9.25, 2.75])
    """
    if inputs is None:
        inputs = read_ledger_inputs(conn, account_id, consumer_ids)
    elif consumer_ids is not None:
        inputs = inputs.of(consumer_ids)
    daily = conn.readings.daily_frame(account_id, consumer_ids)
    return build_ledger(
        daily,
        inputs.details,
        arrears=inputs.arrears,
        adjustments=inputs.adjustments,
        anchors=inputs.anchors,
        today=today,
        book=book,
    )


# --- writes: arrears and adjustments entered by the household ---------------------------------------

MAX_AMOUNT_INR = 10_00_000.0  # ₹10 lakh: anything larger is a typing mistake
MAX_NOTE_CHARS = 200


def add_arrear(
    conn: Database,
    account_id: int,
    consumer_id: str,
    *,
    amount_inr: float,
    start_day: dt.date,
    method: str,
    share: float | None = None,
    daily_inr: float | None = None,
    note: str | None = None,
    now: str | None = None,
) -> int:
    """Record arrears of a linked connection and how they are recovered; returns the ``arrear_id``.

    ``method="recharge_share"`` with ``share`` in (0, 1] (e.g. 0.25 = a quarter of every recharge), or
    ``method="daily"`` with ``daily_inr`` > 0. Raises :class:`LedgerInputError` (a catalog key) for bad
    input or a connection the account does not follow. The arrear and its ``arrear_added`` audit row
    (who, which connection, the amount; never the note) are written in one transaction.

    >>> from lib.storage.engine import open_db
    >>> with open_db(":memory:") as conn:
    ...     _ = conn.consumers.upsert_consumers([{"consumer_id": "101", "name": "A", "registered_mobile": "+919876543210"}])
    ...     account = conn.accounts.create_account("+919876543210", now="2026-01-01T00:00:00Z")
    ...     conn.accounts.insert_link(account, "101", "Home", now="2026-01-01T00:00:00Z")
    ...     add_arrear(conn, account, "101", amount_inr=1200, start_day=dt.date(2026, 11, 1),
    ...                method="daily", daily_inr=40, now="2026-11-25T06:30:00Z")
    1
    """
    amount = _valid_amount(amount_inr)
    if method not in ARREAR_METHODS:
        raise LedgerInputError("ledger_error_method")
    if method == "recharge_share":
        if share is None or not (0 < float(share) <= 1):
            raise LedgerInputError("ledger_error_share")
        share, daily_inr = float(share), None
    else:
        daily_inr = _valid_amount(daily_inr)
        share = None
    if not isinstance(start_day, dt.date):
        raise LedgerInputError("ledger_error_day")
    note = _clean_note(note)
    with conn.transaction():  # the arrear and its audit row together
        arrear_id = conn.ledger.insert_arrear(
            account_id,
            consumer_id,
            amount_inr=amount,
            start_day=start_day.isoformat(),
            method=method,
            share=share,
            daily_inr=daily_inr,
            note=note,
            now=now,
        )
        if arrear_id is not None:
            reason = f"arrear_id {arrear_id}: {amount:.2f} INR"
            audit.record(
                conn, "arrear_added", account_id=account_id, consumer_id=consumer_id, reason=reason, now=now
            )
    if arrear_id is None:
        raise LedgerInputError("ledger_error_not_linked")
    return arrear_id


def delete_arrear(conn: Database, account_id: int, arrear_id: int, *, now: str | None = None) -> bool:
    """Remove an arrear the account entered, with an ``arrear_deleted`` audit row in the same transaction
    (``now``: its UTC time text, default the clock's); False (nothing deleted, nothing audited) when it is
    not the account's to delete. The rule (issue 13 item 7, :mod:`lib.storage.ledger`): arrears and
    adjustments belong to the connection, every account that follows it sees them with their author, and
    only the author deletes one, unless the author no longer follows the connection."""
    with conn.transaction():
        consumer_id = conn.ledger.delete_arrear(account_id, arrear_id)
        if consumer_id is not None:
            reason = f"arrear_id {int(arrear_id)}"
            audit.record(
                conn, "arrear_deleted", account_id=account_id, consumer_id=consumer_id, reason=reason, now=now
            )
    return consumer_id is not None


def delete_adjustment(conn: Database, account_id: int, adjustment_id: int, *, now: str | None = None) -> bool:
    """Remove an adjustment the account entered, audited (``adjustment_deleted``) as :func:`delete_arrear`
    audits; False when it may not (the rule of :func:`delete_arrear`; nothing deleted or audited)."""
    with conn.transaction():
        consumer_id = conn.ledger.delete_adjustment(account_id, adjustment_id)
        if consumer_id is not None:
            reason = f"adjustment_id {int(adjustment_id)}"
            audit.record(
                conn,
                "adjustment_deleted",
                account_id=account_id,
                consumer_id=consumer_id,
                reason=reason,
                now=now,
            )
    return consumer_id is not None


AUTHOR_KINDS = ("you", "other", "former")


def with_authors(entries: pd.DataFrame, account_id: int) -> pd.DataFrame:
    """``entries`` (:func:`lib.storage.ledger.arrears_frame` / ``adjustments_frame``) with who entered
    each one, as the account reading them may see it, and whether it may delete it.

    Adds: author ("you"; "other": another account that follows the connection; "former": an author who
    no longer follows it, whose mobile is not shown), author_masked (``+91 ••••••••10`` for "other",
    else None), can_delete (True for "you" and "former", the rule of :func:`delete_arrear`).

    >>> e = pd.DataFrame({"created_by": [7, 8, 9], "author_follows": [1, 1, 0],
    ...     "author_mobile": ["+919876543210", "+919812345678", "+919811111111"]})
    >>> with_authors(e, 7)[["author", "author_masked", "can_delete"]].values.tolist()
    [['you', None, True], ['other', '+91 ••••••••78', False], ['former', None, True]]
    """
    out = entries.copy()
    kinds: list[str] = []
    masked: list[str | None] = []
    for created_by, follows, mobile in zip(
        out["created_by"], out["author_follows"], out["author_mobile"], strict=True
    ):
        if pd.notna(created_by) and int(created_by) == int(account_id):
            kinds.append("you")
            masked.append(None)
        elif bool(follows) and isinstance(mobile, str):
            kinds.append("other")
            masked.append(mask_mobile(mobile))
        else:
            kinds.append("former")
            masked.append(None)
    out["author"] = kinds
    out["author_masked"] = pd.Series(masked, index=out.index, dtype=object)
    out["can_delete"] = [kind != "other" for kind in kinds]
    return out


def add_adjustment(
    conn: Database,
    account_id: int,
    consumer_id: str,
    *,
    day: dt.date,
    amount_inr: float,
    reason: str,
    now: str | None = None,
) -> int:
    """Record a one-off change to a linked connection's balance (+ credit, − debit) with an
    ``adjustment_added`` audit row in the same transaction; returns its id. Raises
    :class:`LedgerInputError` as :func:`add_arrear` does."""
    try:
        amount = float(amount_inr)
    except (TypeError, ValueError) as error:
        raise LedgerInputError("ledger_error_amount") from error
    if not math.isfinite(amount) or amount == 0 or abs(amount) > MAX_AMOUNT_INR:
        raise LedgerInputError("ledger_error_amount")
    if not isinstance(day, dt.date):
        raise LedgerInputError("ledger_error_day")
    cleaned = _clean_note(reason)
    if not cleaned:
        raise LedgerInputError("ledger_error_reason")
    with conn.transaction():  # the adjustment and its audit row together
        adjustment_id = conn.ledger.insert_adjustment(
            account_id,
            consumer_id,
            day=day.isoformat(),
            amount_inr=round(amount, 2),
            reason=cleaned,
            now=now,
        )
        if adjustment_id is not None:
            audit.record(
                conn,
                "adjustment_added",
                account_id=account_id,
                consumer_id=consumer_id,
                reason=f"adjustment_id {adjustment_id}: {amount:+.2f} INR",  # the household's text stays out
                now=now,
            )
    if adjustment_id is None:
        raise LedgerInputError("ledger_error_not_linked")
    return adjustment_id


def _valid_amount(value: Any) -> float:
    try:
        amount = float(value)
    except (TypeError, ValueError) as error:
        raise LedgerInputError("ledger_error_amount") from error
    if not math.isfinite(amount) or amount <= 0 or amount > MAX_AMOUNT_INR:
        raise LedgerInputError("ledger_error_amount")
    return round(amount, 2)


def _clean_note(text: str | None) -> str | None:
    if text is None:
        return None
    cleaned = " ".join(str(text).split())[:MAX_NOTE_CHARS]
    return cleaned or None


# --- a balance the household typed in ---------------------------------------------------------------


def add_balance_anchor(
    conn: Database,
    account_id: int,
    consumer_id: str,
    *,
    day: dt.date,
    balance_inr: float,
    today: dt.date | None = None,
    now: str | None = None,
) -> int:
    """Record the balance a linked connection had at the start of IST ``day`` (from the DISCOM app or SMS).

    The ledger estimates forward from it, marked estimated (a metered balance always wins). A negative
    balance is allowed (a meter may run below zero); returns the anchor's id. Raises
    :class:`LedgerInputError` (a catalog key) for a day in the future, an amount that is not a number or
    beyond ±₹10 lakh, or a connection the account does not follow.
    """
    try:
        amount = float(balance_inr)
    except (TypeError, ValueError) as error:
        raise LedgerInputError("ledger_error_amount") from error
    if not math.isfinite(amount) or abs(amount) > MAX_AMOUNT_INR:
        raise LedgerInputError("ledger_error_amount")
    if not isinstance(day, dt.date) or day > (today or today_ist()):
        raise LedgerInputError("ledger_error_day")
    anchor_id = conn.anchors.insert_anchor(
        account_id, consumer_id, day.isoformat(), round(amount, 2), now=now
    )
    if anchor_id is None:
        raise LedgerInputError("ledger_error_not_linked")
    return anchor_id
