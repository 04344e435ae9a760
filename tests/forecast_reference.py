"""The run-out simulation as it was before issue 15's numpy expected units and pricing (h58): the reference
tests/test_forecast_exact.py compares :func:`lib.forecast.simulate` with. A copy of ``lib/forecast.py`` at
main 22975ce (its module docstring and doctest left out, nothing else changed). That version was itself
tested equal to the one before h48's numpy row masks (main 75d8eee, this file's previous content).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import cast

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
            own = own.sort_values("day")
            own_arrears = None
            if arrears is not None and len(arrears):
                own_arrears = arrears[arrears["consumer_id"].astype(str) == cid]
            summary, path = _one(own, cid, facts.get(cid), today, own_arrears, book, horizon_days)
            summaries.append(summary)
            if path is not None:
                paths.append(path)
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


def _connections(ledger_rows: pd.DataFrame) -> list[tuple[str, pd.DataFrame]]:
    """``ledger_rows`` by connection (consumer_id as text), in order of first appearance: what
    ``groupby(..., sort=False)`` yields; one connection (the dashboard's per-connection call) as it is."""
    ids = ledger_rows["consumer_id"].astype(str)
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
    complete = past & (day < today_day) & ~own["status"].isin(_PARTIAL).to_numpy() & ~np.isnan(units_all)
    # What the balance actually lost each day (recharges excluded), as analytics.with_deductions does.
    balances = own["balance_inr"].to_numpy(dtype=float, na_value=math.nan)
    recharged = own["recharge_inr"].fillna(0.0).to_numpy(dtype=float)
    lost = np.r_[math.nan, balances[:-1]] + recharged - balances
    consecutive = np.r_[False, np.diff(day) == np.timedelta64(1, "D")]
    lost = np.where(consecutive, lost, math.nan)
    counted = np.flatnonzero(complete & ~np.isnan(lost))
    if len(counted):
        deductions, days_of = lost[counted], day[counted]
        last_complete = days_of.max()
        for span_days, column in ((7, "burn_7_inr"), (30, "burn_30_inr")):
            window = deductions[days_of > last_complete - np.timedelta64(span_days, "D")]
            row[column] = float(pd.Series(window).mean()) if len(window) else math.nan
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
    history = pd.Series(units, index=pd.Index(day[complete], name="day"), name="units")
    expected = _expected_units(history, days)
    month_start = start.replace(day=1)
    in_month = past & (day >= np.datetime64(month_start)) & (day < np.datetime64(start))
    units_before = float(pd.Series(np.nan_to_num(units_all[in_month], nan=0.0)).sum())
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
            "consumer_id": cid,
            "day": days[:stop],
            "units": expected[:stop],
            "deduction_inr": np.round(deduction[:stop], 2),
            "closing_inr": closing[:stop],
        }
    )
    return row, path


def _expected_units(history: pd.Series, days: pd.DatetimeIndex) -> np.ndarray:
    """kWh expected on each of ``days``: level × weekday factor × season factor, to the watt-hour.
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
    month = days.year * 12 + days.month
    starts = np.r_[True, month[1:] != month[:-1]]
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
