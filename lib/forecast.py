"""When does each meter run out? The balance run forward day by day through the tariff.

A straight line (balance ÷ last week's burn) is wrong around every month's turn: on 1 Dec a domestic
connection is back inside its 125 free units (energy, fixed charge and duty waived, bihar-tariff-notes.md)
and deducts nothing for weeks, while a shop pays every day. So :func:`run_out` simulates the coming days
as the meter will charge them (:mod:`lib.tariff`'s rules, the same ones :func:`lib.tariff.day_charges`
applies to one day):

- **expected units** of each coming day = the recent level (mean kWh of the last ``LEVEL_DAYS`` complete
  days) × a weekday factor (the last ``WEEKDAY_DAYS`` complete days: a shop closed on Sundays) × a season
  factor (with about a year of history: that calendar month last year against the level's own days a year
  ago, or against the level itself when those days are not in the history);
- **price** of each day: slabs and the free allowance counted over the calendar month (restarting on the
  1st, today's month starting from its units so far), the fixed charge accrued per day, waived inside the
  allowance, duty on energy + fixed, the prepaid rebate, each part rounded to the paisa (half up);
- **arrears**: instalments of a daily recovery keep coming (:func:`lib.ledger.arrears_recovery`, no future
  recharges assumed), and no free units while arrears are owed (``ledger.FREE_UNITS_NEED_ARREARS_CLEARED``);
- the run-out day is the first day whose closing balance is at or below ₹0 (the meter deducts a day's
  charges on its last reading and cuts supply after it).

Vectorised: one numpy pass per connection over the whole horizon (a cumulative sum over a day table priced
by :func:`lib.tariff.day_charges_columns`, the ledger's exact integer rule), one tariff lookup per tariff
segment, not per day. The expected units and the month's running units are worked out on day numbers with
numpy and give pandas' floats bit for bit (its means summed in its order, its cumulative sums
Kahan-compensated: :func:`_running_sums`; the weekday and month means are pandas' own group-by:
:func:`_group_means`); inputs that are not whole distinct dates or finite kWh go through the pandas version (tests/test_forecast_exact.py compares both with main's).
Pure: frames in, frames out; no Streamlit, no SQL.

>>> import datetime as dt, pandas as pd
>>> days = pd.date_range("2026-11-01", "2026-11-29")
>>> ledger_rows = pd.DataFrame({"consumer_id": "101", "nickname": "Shop", "day": days, "units": 6.0,
...     "intervals": 48, "status": "ok", "balance_inr": 900.0, "estimated": False,
...     "recharge_inr": 0.0, "deduction_inr": 62.0, "arrears_outstanding_inr": 0.0})
>>> details = pd.DataFrame({"consumer_id": ["101"], "tariff_category": ["NDS-II"],
...     "sanctioned_load_kw": [2.0]})
>>> row = run_out(ledger_rows, details, dt.date(2026, 11, 30)).iloc[0]
>>> row["run_out_day"].date().isoformat(), round(float(row["days_left"]), 2)
('2026-12-14', 14.57)

(NDS-II, 2 kW, 6 kWh a day: 30 Nov costs 6 × 7.79 = 46.74 + fixed 400/30 = 13.33 + duty 3.60 − rebate
1.50 = 62.17; a December day ₹400/31 = 12.90 or 12.91 fixed, so 61.72 or 61.73. ₹900 − 62.17 leaves
₹776.11 after 1 Dec and ₹35.43 after 13 Dec, which 14 Dec's ₹61.73 takes below zero: the balance of the
end of 29 Nov lasts 14 + 35.43 / 61.73 = 14.57 days and runs out on 14 Dec. Straight-line would be similar
here; the difference is at the free units of a home, see tests/test_forecast.py.)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, cast

import numpy as np
import pandas as pd

from lib import ledger, tariff

HORIZON_DAYS = 366  # a connection still above ₹0 after this many days "does not run out" (days_left inf)
LEVEL_DAYS = 28  # complete days behind the recent level of use
MIN_LEVEL_DAYS = 3  # fewer complete days than this: no forecast (NaN)
WEEKDAY_DAYS = 56  # complete days behind the weekday factors (8 of each weekday)
MIN_WEEKDAY_SAMPLES = 2  # each weekday needs this many days in the window, else no weekday factors
SEASON_HISTORY_DAYS = 330  # history needed for season factors (about a year)
SEASON_CLIP = (0.25, 4.0)  # a season factor outside this is a data problem, not a season

# kWh a day at or beyond this go to pandas' expected units (no compensated sum of 366 days can overflow).
_KWH_LIMIT = 1e12
# Statuses whose units are not a whole day's use: today's part, a day with missing readings, none at all.
_PARTIAL = frozenset({"today", "incomplete", "no_readings"})

SUMMARY_COLUMNS = (
    "consumer_id",
    "nickname",
    "balance_inr",
    "balance_day",
    "estimated",
    "burn_7_inr",
    "burn_30_inr",
    "expected_kwh_per_day",
    "next_30_inr",
    "days_left",
    "run_out_day",
)
PATH_COLUMNS = ("consumer_id", "day", "units", "deduction_inr", "closing_inr")


@dataclasses.dataclass(frozen=True)
class Forecast:
    """:func:`simulate`'s answer: ``summary`` (one row per connection, :data:`SUMMARY_COLUMNS`) and
    ``path`` (one row per connection per simulated IST day, :data:`PATH_COLUMNS`)."""

    summary: pd.DataFrame
    path: pd.DataFrame


def run_out(
    ledger_rows: pd.DataFrame,
    details: pd.DataFrame,
    today: dt.date,
    *,
    arrears: pd.DataFrame | None = None,
    book: tariff.TariffBook | None = None,
    horizon_days: int = HORIZON_DAYS,
) -> pd.DataFrame:
    """Per connection: when its balance runs out if it is used as usual and not recharged.

    ``ledger_rows`` is :func:`lib.ledger.build_ledger` (whole history, for the season and the month's units
    so far), ``details`` :func:`lib.storage.accounts.connection_details` (``tariff_category``,
    ``sanctioned_load_kw``), ``arrears`` :func:`lib.storage.ledger.arrears_frame` (optional: without it,
    arrears owed now keep the free units held for the whole horizon). Columns (:data:`SUMMARY_COLUMNS`):
    consumer_id, nickname, balance_inr (latest known, metered or the ledger's estimate: ``estimated``),
    balance_day (its IST day), burn_7_inr / burn_30_inr (₹ a day actually deducted over the last 7 / 30
    complete days, recharges excluded), expected_kwh_per_day (mean of the next 30 simulated days),
    next_30_inr (₹ the next 30 days will deduct), days_left (from the balance's moment: 0 when exhausted,
    inf when it lasts beyond ``horizon_days``, NaN when too little is known), run_out_day (Timestamp of the
    first day that ends at or below ₹0; NaT when never or unknown). Rows keep the ledger's order.
    Raises :class:`lib.tariff.TariffError` only when the tariff file cannot be read.
    """
    return simulate(
        ledger_rows, details, today, arrears=arrears, book=book, horizon_days=horizon_days
    ).summary


def simulate(
    ledger_rows: pd.DataFrame,
    details: pd.DataFrame,
    today: dt.date,
    *,
    arrears: pd.DataFrame | None = None,
    book: tariff.TariffBook | None = None,
    horizon_days: int = HORIZON_DAYS,
) -> Forecast:
    """:func:`run_out` with the simulated days too (``path``: the chart's dashed projection).

    ``path`` rows run from the first day not yet in the balance until the run-out day (or the horizon):
    consumer_id, day (Timestamp), units (expected kWh), deduction_inr (what the meter will take that day),
    closing_inr (the balance after it).
    """
    book = book or tariff.load_tariffs()
    summaries: list[dict] = []
    paths: list[pd.DataFrame] = []
    if len(ledger_rows):
        facts = {  # the details' values as they are: _one converts them where the old row lookup did
            str(cid): (category, load)
            for cid, category, load in zip(
                details["consumer_id"], details["tariff_category"], details["sanctioned_load_kw"], strict=True
            )
        }
        for cid, own in _connections(ledger_rows):
            if not _in_day_order(own):
                own = own.sort_values("day")
            own_arrears = None
            if arrears is not None and len(arrears):
                own_arrears = arrears[arrears["consumer_id"].astype(str) == cid]
            summary, path = _one(own, cid, facts.get(cid), today, own_arrears, book, horizon_days)
            summaries.append(summary)
            if path is not None:
                paths.append(path)
    summary_frame = _summary_frame(summaries)
    if summary_frame is None:  # no row, or values of other types: as the records always were
        summary_frame = pd.DataFrame(summaries, columns=list(SUMMARY_COLUMNS))
        summary_frame["estimated"] = summary_frame["estimated"].astype(bool)
        for column in ("balance_day", "run_out_day"):
            summary_frame[column] = pd.to_datetime(summary_frame[column])
    if len(paths) == 1:
        path_frame = paths[0]  # built by _one with a fresh RangeIndex: what concat would copy
    elif paths:
        path_frame = pd.concat(paths, ignore_index=True)
    else:
        path_frame = _EMPTY_PATH.copy()
    return Forecast(summary=summary_frame, path=path_frame)


# A simulation without a path (every balance exhausted or unknown): built once (its astype costs ~3 ms).
_EMPTY_PATH = pd.DataFrame({c: pd.Series(dtype="float64") for c in PATH_COLUMNS}).astype(
    {"consumer_id": object, "day": "datetime64[ns]"}
)


# The dtype pandas gives text (``str``, Arrow-backed, in pandas 3): the path's consumer_id column is built
# in it, as a text scalar broadcast by ``DataFrame`` was.
_TEXT: Any = pd.Series([""]).dtype
_DATETIMES = ("balance_day", "run_out_day")


def _summary_frame(rows: list[dict]) -> pd.DataFrame | None:
    """The summary of ``rows`` (:func:`_one`'s dicts) built from typed columns: the frame that
    ``DataFrame(rows)`` with ``estimated`` as bool and the days through ``pd.to_datetime`` gives, without
    its per-column type inference. Only for the types :func:`_one` writes (text IDs and nicknames, Python
    floats and bools, tz-naive Timestamps of one unit or NaT); otherwise None (the caller builds it the
    old way: an empty summary, a nickname that is not text, Timestamps of several units)."""
    if not rows:
        return None
    columns: dict[str, object] = {}
    for name in SUMMARY_COLUMNS:
        values = [row[name] for row in rows]
        if name in ("consumer_id", "nickname"):
            if not all(type(v) is str for v in values):
                return None
            columns[name] = values  # inferred as DataFrame(rows) infers it: all text
        elif name == "estimated":
            if not all(type(v) is bool for v in values):
                return None
            columns[name] = np.array(values, dtype=bool)
        elif name in _DATETIMES:
            stamps = [v for v in values if v is not pd.NaT]
            if not all(type(v) is pd.Timestamp and v.tz is None for v in stamps):
                return None
            units = {v.unit for v in stamps} or {"s"}  # pandas' unit of all NaT
            if len(units) > 1:
                return None
            unit = units.pop()
            columns[name] = np.array(
                [np.datetime64("NaT", unit) if v is pd.NaT else v.asm8 for v in values],
                dtype=f"datetime64[{unit}]",
            )
        else:
            if not all(type(v) is float for v in values):
                return None
            columns[name] = np.array(values, dtype=float)
    return pd.DataFrame(columns, columns=list(SUMMARY_COLUMNS))


def _in_day_order(own: pd.DataFrame) -> bool:
    """True when ``own``'s days (tz-naive datetime64, no NaT) strictly increase: ``sort_values("day")``
    would move no row."""
    day = own["day"].to_numpy()
    if day.dtype.kind != "M" or np.isnat(day).any():
        return False
    return bool((day[1:] > day[:-1]).all())


def _connections(ledger_rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``ledger_rows`` by connection (consumer_id as text), in order of first appearance: what
    ``groupby(..., sort=False)`` yields; one connection (the dashboard's per-connection call) as it is."""
    column = ledger_rows["consumer_id"]
    if column.dtype == _TEXT:  # already text (astype(str) keeps every value): compared as numpy objects
        values = column.to_numpy()
        first = values[0]
        if type(first) is str and bool((values == first).all()):
            return [(first, ledger_rows)]
    ids = column.astype(str)
    first = ids.iloc[0]
    if bool((ids == first).all()):
        return [(first, ledger_rows)]
    return [(str(cid), own) for cid, own in ledger_rows.groupby(ids, sort=False)]


def runs_out_first(summary: pd.DataFrame) -> pd.DataFrame:
    """``summary`` ordered by what runs out first: exhausted, then the earliest run-out; unknown last.

    Ties keep the input order (link order). See :func:`lib.analytics.runs_out_first`.
    """
    from lib import analytics

    return analytics.runs_out_first(summary)


# --- one connection ----------------------------------------------------------------------------------


def _one(
    own: pd.DataFrame,
    cid: str,
    fact: tuple[object, object] | None,
    today: dt.date,
    arrears: pd.DataFrame | None,
    book: tariff.TariffBook,
    horizon_days: int,
) -> tuple[dict, pd.DataFrame | None]:
    """One connection (``own``: its ledger rows in day order; ``fact``: its details' tariff category and
    sanctioned kW, None when it has no details): its summary row and simulated days. The row filters are numpy masks over the
    columns read once (what the balance lost, the burn windows, the latest balance, the month's units);
    the means and sums stay pandas' on the same values in the same order, so the figures are exactly
    those of the frame filters it replaced (tests/test_forecast_exact.py)."""
    today_ts = pd.Timestamp(today)
    nickname = own["nickname"].iloc[0]
    row: dict = dict.fromkeys(SUMMARY_COLUMNS, math.nan)
    row.update(consumer_id=cid, nickname=nickname, balance_day=pd.NaT, run_out_day=pd.NaT, estimated=False)
    day = own["day"].to_numpy()
    today_day = np.datetime64(today_ts)
    past = day <= today_day
    units_all = own["units"].to_numpy(dtype=float, na_value=math.nan)
    complete = past & (day < today_day) & ~_partial(own["status"]) & ~np.isnan(units_all)
    # What the balance actually lost each day (recharges excluded), as analytics.with_deductions does.
    balances = own["balance_inr"].to_numpy(dtype=float, na_value=math.nan)
    recharged = own["recharge_inr"].fillna(0.0).to_numpy(dtype=float)
    lost = np.concatenate(([math.nan], balances[:-1])) + recharged - balances
    consecutive = np.concatenate(([False], np.diff(day) == np.timedelta64(1, "D")))
    lost = np.where(consecutive, lost, math.nan)
    counted = np.flatnonzero(complete & ~np.isnan(lost))
    if len(counted):
        deductions, days_of = lost[counted], day[counted]
        last_complete = days_of.max()
        for span_days, column in ((7, "burn_7_inr"), (30, "burn_30_inr")):
            window = deductions[days_of > last_complete - np.timedelta64(span_days, "D")]
            row[column] = _mean(window) if len(window) else math.nan
    known = np.flatnonzero(past & ~np.isnan(balances))
    if not len(known):
        return row, None
    latest = int(known[-1])
    balance = float(balances[latest])
    balance_day = pd.Timestamp(own["day"].iloc[latest])
    estimated = bool(own["estimated"].iloc[latest]) if "estimated" in own.columns else False
    row.update(balance_inr=balance, balance_day=balance_day, estimated=estimated)
    if balance <= 0:
        row.update(days_left=0.0, run_out_day=balance_day)
        return row, None
    if fact is None:
        return row, None
    units = units_all[complete]
    if len(units) < MIN_LEVEL_DAYS:
        return row, None
    # The meter's balance of an unfinished day is before that day's deduction; a ledger estimate is after.
    start = balance_day if (balance_day == today_ts and not estimated) else balance_day + pd.Timedelta(days=1)
    days = pd.date_range(start, periods=horizon_days, freq="D")
    expected = _expected_units(day[complete], units, days)
    if expected is None:  # days that are not whole distinct dates, or kWh not finite: pandas answers
        history = pd.Series(units, index=pd.Index(day[complete], name="day"), name="units")
        expected = _expected_units_pandas(history, days)
    month_start = start.replace(day=1)
    in_month = past & (day >= np.datetime64(month_start)) & (day < np.datetime64(start))
    units_before = float(np.nan_to_num(units_all[in_month], nan=0.0).sum())  # pandas' Series.sum: the same
    held, recovery = _arrears_plan(own, arrears, days, today)
    category, load_kw = fact
    try:
        deduction = _price(
            str(category), float(cast(float, load_kw)), days, expected, units_before, held, book
        )
    except tariff.TariffError:
        return row, None  # no tariff for this category on these days: nothing to forecast with
    deduction = deduction + recovery
    closing = np.round(balance - np.cumsum(deduction), 2)
    row["expected_kwh_per_day"] = float(expected[:30].mean())
    row["next_30_inr"] = float(np.round(deduction[:30].sum(), 2))
    gone = np.flatnonzero(closing <= 0)
    if len(gone):
        k = int(gone[0])
        before = balance if k == 0 else float(closing[k - 1])
        fraction = before / float(deduction[k]) if deduction[k] > 0 else 1.0
        offset = (start - balance_day).days - (1 if start > balance_day else 0)
        row["days_left"] = float(offset + k + fraction)
        row["run_out_day"] = days[k]
        stop = k + 1
    else:
        row["days_left"] = math.inf
        stop = len(days)
    path = pd.DataFrame(
        {
            "consumer_id": pd.array([cid] * stop, dtype=_TEXT),
            "day": days[:stop],
            "units": expected[:stop],
            "deduction_inr": np.round(deduction[:stop], 2),
            "closing_inr": closing[:stop],
        }
    )
    return row, path


def _partial(status: pd.Series) -> np.ndarray:
    """Which rows' status is in :data:`_PARTIAL`: ``status.isin(_PARTIAL)``, by a set lookup per value
    for text (a missing status is not partial either way)."""
    if status.dtype == _TEXT:
        return np.array([value in _PARTIAL for value in status.to_numpy()], dtype=bool)
    return status.isin(_PARTIAL).to_numpy()


def _expected_units(
    history_day: np.ndarray, history_units: np.ndarray, days: pd.DatetimeIndex
) -> np.ndarray | None:
    """kWh expected on each of ``days``: level × weekday factor × season factor, to the watt-hour.

    ``history_day`` / ``history_units``: the complete days (datetime64) and their kWh (float), in day
    order. The rule of the module docstring, computed on whole day numbers with numpy and exactly
    :func:`_expected_units_pandas`'s floats: the level and the season's year-ago reference are pandas'
    ``Series.mean`` (one numpy sum over the values in order, NaN counted as 0 in the sum and not in the
    count), the weekday and month means are pandas' own group-by means (:func:`_group_means`: how pandas
    sums depends on the keys' order), a year ago is ``DateOffset(years=1)`` (29 Feb → 28 Feb).
    Returns None (the caller asks :func:`_expected_units_pandas`) when the days are not whole distinct
    dates in increasing order (tz-aware, a time of day, a day twice), a kWh is not finite (or beyond
    :data:`_KWH_LIMIT`), or there is no day to forecast. tests/test_forecast_exact.py compares both on random and hand-made histories.

    >>> week = np.arange("2026-11-01", "2026-11-29", dtype="datetime64[D]").astype("datetime64[s]")
    >>> kwh = np.where((week.astype("datetime64[D]").astype(np.int64) + 3) % 7 == 6, 2.0, 9.0)  # Sundays 2
    >>> _expected_units(week, kwh, pd.date_range("2026-11-29", periods=3)).tolist()
    [2.0, 9.0, 9.0]

    (28 days at a level of (24 × 9 + 4 × 2) / 28 = 8.0 kWh; weekday means 9 and 2 over a mean of means
    (6 × 9 + 2) / 7 = 8.0: Sunday's factor 0.25 and the others' 1.125, so 8.0 × 0.25 = 2.0 on Sunday 29 Nov
    and 8.0 × 1.125 = 9.0 on the Monday and Tuesday after; no season with four weeks of history.)
    """
    if history_day.dtype.kind != "M" or not len(history_day) or not len(days) or days.tz is not None:
        return None
    whole = history_day.astype("datetime64[D]")
    future = days.to_numpy()
    ahead = future.astype("datetime64[D]")
    if (whole != history_day).any() or (ahead != future).any():
        return None  # a time of day (or NaT): pandas compares timestamps, not dates
    numbers = whole.astype(np.int64)  # days since 1970-01-01
    if not (np.diff(numbers) > 0).all() or not (np.abs(history_units) < _KWH_LIMIT).all():
        return None  # a day twice; NaN, infinite or absurd kWh (a sum that could overflow)
    last = int(numbers[-1])
    recent = history_units[np.searchsorted(numbers, last - LEVEL_DAYS, side="right") :]
    level = float(_mean(recent))
    weekday = np.ones(7)
    first_of_window = np.searchsorted(numbers, last - WEEKDAY_DAYS, side="right")
    window, window_days = history_units[first_of_window:], numbers[first_of_window:]
    means, counts = _group_means(_weekday(window_days), window, 7)
    if (counts > 0).all() and (counts >= MIN_WEEKDAY_SAMPLES).all() and _mean(window) > 0:
        weekday = means / float(_mean(means))
    season = np.ones(13)  # by calendar month 1..12
    if last - int(numbers[0]) >= SEASON_HISTORY_DAYS:
        first_of_year = np.searchsorted(numbers, last - 365, side="right")
        by_month, in_month = _group_means(_month(numbers[first_of_year:]), history_units[first_of_year:], 13)
        recent_days = numbers[len(numbers) - len(recent) :]
        then = _values_on(numbers, history_units, _year_before(recent_days))
        found = ~np.isnan(then)
        if int(found.sum()) * 2 >= len(recent):  # pandas' then.mean(): NaN as 0 in the sum, not counted
            reference = float(np.where(found, then, 0.0).sum() / np.float64(found.sum()))
        else:
            reference = level
        if not math.isnan(reference) and reference > 0:
            months = np.flatnonzero(in_month)
            season[months] = np.clip(by_month[months] / reference, *SEASON_CLIP)
    ahead_numbers = ahead.astype(np.int64)
    factors = weekday[_weekday(ahead_numbers)] * season[_month(ahead_numbers)]
    return np.round(level * factors, 3)


def _mean(values: np.ndarray) -> float:
    """pandas' ``Series.mean`` of float64 values without NaN (nanops: one numpy sum over the values in
    order, divided by the count as float64), without building a Series."""
    return float(values.sum() / np.float64(len(values)))


def _group_means(keys: np.ndarray, values: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray]:
    """(mean, count) of ``values`` (float64, finite) by integer key 0 .. size − 1, by pandas' own group-by
    mean of the same values in the same row order, as the old code's ``Series.groupby(...).mean()``: pandas
    chooses how it sums (``np.add.reduceat`` when the keys come in order, a Kahan-compensated sum per group
    otherwise), and the two differ in the last bit, which can move a rounded expected kWh and a run-out day
    (found in review: a year of history inside one calendar year). A key without values has mean NaN and
    count 0.

    >>> means, counts = _group_means(np.array([1, 1, 3]), np.array([0.1, 0.2, 0.3]), 4)
    >>> means.tolist()[1:], counts.tolist()
    ([0.15000000000000002, nan, 0.3], [0, 2, 0, 1])
    """
    grouped = pd.Series(values, copy=False).groupby(keys, sort=True)
    found = grouped.mean()
    means = np.full(size, math.nan)
    counts = np.zeros(size, dtype=np.int64)
    at = found.index.to_numpy(dtype=np.int64)
    means[at] = found.to_numpy(dtype=np.float64)
    counts[at] = grouped.count().to_numpy(dtype=np.int64)
    return means, counts


def _weekday(day_numbers: np.ndarray) -> np.ndarray:
    """Monday 0 .. Sunday 6 of days counted from 1970-01-01 (a Thursday), pandas' ``day_of_week``."""
    return (day_numbers + 3) % 7


def _month(day_numbers: np.ndarray) -> np.ndarray:
    """Calendar month 1..12 of days counted from 1970-01-01."""
    return day_numbers.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _year_before(day_numbers: np.ndarray) -> np.ndarray:
    """The same date a year earlier, as ``- pd.DateOffset(years=1)`` gives it (29 Feb → 28 Feb)."""
    days = day_numbers.astype("datetime64[D]")
    month = days.astype("datetime64[M]")
    then = month - np.timedelta64(12, "M")
    month_length = (
        (then + np.timedelta64(1, "M")).astype("datetime64[D]") - then.astype("datetime64[D]")
    ).astype(np.int64)
    day_of_month = np.minimum((days - month.astype("datetime64[D]")).astype(np.int64), month_length - 1)
    return then.astype("datetime64[D]").astype(np.int64) + day_of_month


def _values_on(numbers: np.ndarray, values: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    """``values`` at the day numbers ``wanted`` (NaN where there is none): ``Series.reindex`` of a
    history indexed by distinct increasing ``numbers``."""
    at = np.minimum(np.searchsorted(numbers, wanted), len(numbers) - 1)
    return np.where(numbers[at] == wanted, values[at], math.nan)


def _expected_units_pandas(history: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """:func:`_expected_units` by pandas (the version before it, kept for what it cannot answer).
    ``history``: the complete days' kWh (float), indexed by their day, in day order."""
    last = history.index.max()
    recent = history[history.index > last - pd.Timedelta(days=LEVEL_DAYS)]
    level = float(recent.mean())
    weekday = np.ones(7)
    window = history[history.index > last - pd.Timedelta(days=WEEKDAY_DAYS)]
    by_weekday = window.groupby(window.index.day_of_week).agg(["mean", "count"])
    if len(by_weekday) == 7 and (by_weekday["count"] >= MIN_WEEKDAY_SAMPLES).all() and window.mean() > 0:
        weekday = by_weekday["mean"].to_numpy() / float(by_weekday["mean"].mean())
    season = np.ones(13)  # by calendar month 1..12
    if (last - history.index.min()).days >= SEASON_HISTORY_DAYS:
        year = history[history.index > last - pd.Timedelta(days=365)]
        by_month = year.groupby(year.index.month).mean()
        then = history.reindex(recent.index - pd.DateOffset(years=1))
        # The level's days a year ago measure this year's growth; without them (a year of history that
        # starts after them), last year's months are taken as they were.
        reference = then.mean() if then.notna().sum() * 2 >= len(recent) else level
        if not math.isnan(reference) and reference > 0:
            for month, value in by_month.items():
                season[int(month)] = float(np.clip(value / reference, *SEASON_CLIP))
    factors = weekday[days.day_of_week.to_numpy()] * season[days.month.to_numpy()]
    return np.round(level * factors, 3)


def _arrears_plan(
    own: pd.DataFrame, arrears: pd.DataFrame | None, days: pd.DatetimeIndex, today: dt.date
) -> tuple[np.ndarray, np.ndarray]:
    """(free units held on each day, ₹ of arrears recovered each day) over the simulated days."""
    held = np.zeros(len(days), dtype=bool)
    recovery = np.zeros(len(days))
    if not ledger.FREE_UNITS_NEED_ARREARS_CLEARED and arrears is None:
        return held, recovery
    owed_now = float(own["arrears_outstanding_inr"].iloc[-1]) if len(own) else 0.0
    if arrears is None or not len(arrears):
        if owed_now > 0 and ledger.FREE_UNITS_NEED_ARREARS_CLEARED:
            held[:] = True
        return held, recovery
    recharges = own[own["recharge_inr"].fillna(0) > 0]
    paid = {
        d.date(): int(round(v * 100))
        for d, v in zip(recharges["day"], recharges["recharge_inr"], strict=True)
    }
    first = min(pd.Timestamp(own["day"].min()).date(), days[0].date())
    calendar_days = [first + dt.timedelta(days=i) for i in range((days[-1].date() - first).days + 1)]
    taken = ledger.arrears_recovery(arrears, paid, calendar_days)
    outstanding = ledger.arrears_outstanding(arrears, paid, calendar_days)
    future = [d.date() for d in days]
    recovery = np.array([taken.get(d, 0) / 100 for d in future])
    if ledger.FREE_UNITS_NEED_ARREARS_CLEARED:
        held = np.array([outstanding.get(d, 0) > 0 for d in future], dtype=bool)
    return held, recovery


# --- pricing a day table ---------------------------------------------------------------------------------


def _price(
    category: str,
    load_kw: float,
    days: pd.DatetimeIndex,
    units: np.ndarray,
    units_before: float,
    held: np.ndarray,
    book: tariff.TariffBook,
) -> np.ndarray:
    """₹ the meter deducts on each of ``days`` for ``units`` kWh (energy + fixed + duty − rebate).

    ``units_before``: kWh already used in the first day's month before it; ``held``: days without free
    units (arrears owed). The month's units so far restart on each 1st; each day is priced by
    :func:`lib.tariff.day_charges_columns` (the ledger's own rule, exact to the paisa, one tariff lookup
    per segment of days under the same version, free-units scheme and hold).
    """
    if len(days) and days.tz is None:
        month = days.to_numpy().astype("datetime64[M]")
        starts = np.concatenate(([True], month[1:] != month[:-1]))
        groups = np.cumsum(starts)
        used_to = _running_sums(units, starts)
    else:  # no day (pandas raises) or tz-aware days: as before
        months = days.year * 12 + days.month
        starts = np.r_[True, months[1:] != months[:-1]]
        groups = np.cumsum(starts)
        used_to = pd.Series(units).groupby(groups).cumsum().to_numpy()
    used_to = used_to + np.where(groups == 1, units_before, 0.0)
    before = np.maximum(used_to - units, 0.0)
    charges = tariff.day_charges_columns(
        category,
        days,
        units,
        units_before=before,
        sanctioned_load_kw=load_kw,
        free_units_held=held,
        book=book,
    )
    return np.asarray(charges["total_paise"], dtype=np.int64) / 100


def _running_sums(values: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """The running sum of ``values`` restarting where ``starts`` is True: pandas' group-by ``cumsum`` of
    consecutive groups (its Cython ``group_cumsum``: Kahan-compensated, a NaN left out of the sum and
    NaN itself), which ``np.cumsum`` does not equal in the last bit.

    >>> _running_sums(np.array([0.1, 0.2, 0.3, 5.0, math.nan, 1.0]), np.array([1, 0, 0, 1, 0, 0], bool)).tolist()
    [0.1, 0.30000000000000004, 0.6, 5.0, nan, 6.0]

    (``np.cumsum`` gives 0.6000000000000001 for the third: the compensation carries the 2**-54 lost in 0.1 + 0.2.)
    """
    out = []
    total = compensation = 0.0
    for value, start in zip(values.tolist(), starts.tolist(), strict=True):
        if start:
            total = compensation = 0.0
        if value == value:
            y = value - compensation
            t = total + y
            compensation = t - total - y
            total = t
            out.append(t)
        else:
            out.append(math.nan)
    return np.array(out, dtype=float)
