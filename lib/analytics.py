"""The household's questions, answered from the store's frames: pandas in, pandas out, no Streamlit.

Every function takes frames read through :mod:`lib.store` (``daily_frame``, ``readings_frame``,
``recharges_frame``, ``connection_details``) and returns a frame or a plain value. Days are IST
calendar days (the ``day`` column of ``daily``). Missing data stays missing: a day without readings
is a gap (``NaN``), never a zero, and sums over periods with no data at all are ``NaN`` too.

>>> import pandas as pd
>>> daily = pd.DataFrame({
...     "consumer_id": ["101"] * 3, "nickname": ["Home"] * 3,
...     "day": pd.to_datetime(["2026-11-22", "2026-11-23", "2026-11-24"]),
...     "kwh": [4.0, 5.0, 6.0], "intervals": [48, 48, 48], "peak_kwh": [0.3, 0.4, 0.5],
...     "closing_balance_inr": [100.0, 80.0, 160.0], "recharge_inr": [0.0, 0.0, 100.0]})
>>> with_deductions(daily)["deduction_inr"].tolist()
[nan, 20.0, 20.0]

When a balance runs out is not answered here but by :func:`lib.forecast.run_out`, which runs the
coming days through the tariff (a straight line is wrong whenever the free units restart on the 1st).
"""

from __future__ import annotations

import calendar
import datetime as dt
import math
from collections.abc import Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd

from lib import tariff

Granularity = Literal["day", "week", "month"]
Metric = Literal["balance", "units", "spend"]

GRANULARITIES: tuple[Granularity, ...] = ("day", "week", "month")
METRICS: tuple[Metric, ...] = ("balance", "units", "spend")

LOW_DAYS_LEFT = 3.0  # the overview warns below this many days of balance left
ZERO_KWH = 1e-9  # a day's energy at or below this counts as "no consumption"

DAILY_COLUMNS = (
    "consumer_id",
    "nickname",
    "day",
    "kwh",
    "intervals",
    "peak_kwh",
    "closing_balance_inr",
    "recharge_inr",
)


def _ts(day: dt.date | pd.Timestamp | str) -> pd.Timestamp:
    return pd.Timestamp(day).normalize()


def empty_daily() -> pd.DataFrame:
    """A daily frame with the store's columns and no rows."""
    frame = pd.DataFrame({column: pd.Series(dtype="float64") for column in DAILY_COLUMNS})
    frame["consumer_id"] = frame["consumer_id"].astype(str)
    frame["nickname"] = frame["nickname"].astype(str)
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


# --- calendar and deductions ------------------------------------------------------------------


def fill_calendar(
    daily: pd.DataFrame,
    first_day: dt.date | str | None = None,
    last_day: dt.date | str | None = None,
    consumer_ids: Sequence[str] | None = None,
    nicknames: dict[str, str] | None = None,
) -> pd.DataFrame:
    """One row per connection per IST day from ``first_day`` to ``last_day``; absent days are gaps.

    A gap has ``kwh`` and ``closing_balance_inr`` NaN, ``intervals`` 0 and ``recharge_inr`` 0.
    ``consumer_ids`` adds connections that have no rows at all (all gaps). Without bounds, each
    connection spans its own first to last day.

    >>> daily = pd.DataFrame({"consumer_id": ["1", "1"], "nickname": ["Home", "Home"],
    ...     "day": pd.to_datetime(["2026-01-01", "2026-01-03"]), "kwh": [2.0, 3.0], "intervals": [48, 48],
    ...     "peak_kwh": [0.2, 0.3], "closing_balance_inr": [50.0, 40.0], "recharge_inr": [0.0, 0.0]})
    >>> fill_calendar(daily)["kwh"].tolist()
    [2.0, nan, 3.0]
    """
    consumer_ids = None if consumer_ids is None else list(consumer_ids)  # read by either path
    filled = _calendar_by_position(daily, first_day, last_day, consumer_ids, nicknames, sort_ids=False)
    if filled is not None:
        return filled[0]
    return _fill_calendar_merge(daily, first_day, last_day, consumer_ids, nicknames)


def _calendar_by_position(
    daily: pd.DataFrame,
    first_day: dt.date | str | None,
    last_day: dt.date | str | None,
    consumer_ids: Sequence[str] | None,
    nicknames: dict[str, str] | None,
    *,
    sort_ids: bool,
) -> tuple[pd.DataFrame, np.ndarray] | None:
    """:func:`fill_calendar` without a merge (issue 15): each stored row is put into the calendar by its
    position (its connection's block offset plus its day's offset from the block's first day), one
    ``reindex`` of the rows' columns; with ``sort_ids`` the connections' blocks come in consumer_id order
    (the order :func:`_deductions` sorts into). Returns (the frame, each block's first row), or None when
    the merge must answer: two rows of one connection and day (the merge keeps both), a day or ID
    missing, days not tz-naive numpy datetimes, a bound with a time zone, ``consumer_ids`` not all text,
    a column the calendar needs absent. The same frame as the merge, dtypes included
    (tests/test_analytics_exact.py, against tests/analytics_reference.py: a change to either calendar
    changes that reference copy too).
    """
    if not len(daily):  # the merge of no rows: rare (a household without data), not worth a second path
        return None
    if _has_zone(first_day) or _has_zone(last_day):  # the merge raises on a zoned bound: so must this
        return None
    consumer_ids = None if consumer_ids is None else list(consumer_ids)  # read twice below (any iterable)
    if any(column not in daily.columns for column in DAILY_COLUMNS):
        return None
    day_dtype = daily["day"].dtype
    if not (isinstance(day_dtype, np.dtype) and day_dtype.kind == "M"):
        return None
    if consumer_ids is not None and not all(isinstance(cid, str) for cid in consumer_ids):
        return None
    cids = daily["consumer_id"].astype(str)
    if cids.dtype != _TEXT or cids.isna().any():
        return None
    day_values = daily["day"].to_numpy()
    if np.isnat(day_values).any():
        return None
    codes, uniques = pd.factorize(cids)
    present = [str(cid) for cid in uniques]
    ids = list(dict.fromkeys([*present, *(consumer_ids or [])]))
    if sort_ids:
        ids = sorted(ids)
    lows = np.full(len(present), np.iinfo(np.int64).max, dtype=np.int64)
    highs = np.full(len(present), np.iinfo(np.int64).min, dtype=np.int64)
    stamps = day_values.view(np.int64)
    np.minimum.at(lows, codes, stamps)
    np.maximum.at(highs, codes, stamps)
    code_of = {cid: code for code, cid in enumerate(present)}
    blocks: list[tuple[str, pd.DatetimeIndex]] = []
    for cid in ids:
        code = code_of.get(cid)
        span_lo = pd.Timestamp(lows.view(day_dtype)[code]) if code is not None else None
        span_hi = pd.Timestamp(highs.view(day_dtype)[code]) if code is not None else None
        lo = _ts(first_day) if first_day is not None else span_lo
        hi = _ts(last_day) if last_day is not None else span_hi
        if lo is None or hi is None or lo > hi:
            continue
        blocks.append((cid, pd.date_range(lo, hi, freq="D")))
    if not blocks:
        return None
    # The merge's key column: the grid's days in the finest unit of the grid and of the stored days, or
    # of the grid alone when no stored row is in it (pandas keeps the left key's dtype then)
    grid_units = [str(days.unit) for _, days in blocks]
    unit = _finest([*grid_units, str(daily["day"].dt.unit)])
    grid_dtype = np.dtype(f"datetime64[{unit}]")
    lengths = np.array([len(days) for _, days in blocks], dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    size = int(lengths.sum())
    grid_days = np.concatenate([days.to_numpy().astype(grid_dtype) for _, days in blocks])
    # Each stored row's place: its block's start + whole days from the block's first day
    block_of_code = np.full(len(present), -1, dtype=np.int64)
    for index, (cid, _) in enumerate(blocks):
        if cid in code_of:
            block_of_code[code_of[cid]] = index
    block = block_of_code[codes]
    stored = day_values.astype(grid_dtype).view(np.int64)
    first_stamp = grid_days.view(np.int64)[starts]
    one_day = np.timedelta64(1, "D").astype(f"timedelta64[{unit}]").astype(np.int64)
    in_block = block >= 0
    safe_block = np.where(in_block, block, 0)
    offset = stored - first_stamp[safe_block]
    step, rest = np.divmod(offset, one_day)
    matched = in_block & (rest == 0) & (step >= 0) & (step < lengths[safe_block])
    position = starts[safe_block] + step
    where = position[matched]
    if len(np.unique(where)) != len(where):
        return None  # one connection and day twice: the merge keeps every row
    if not len(where):
        grid_days = grid_days.astype(f"datetime64[{_finest(grid_units)}]")
    values = [column for column in daily.columns if column not in ("consumer_id", "day", "nickname")]
    rows = daily[values] if matched.all() else daily.loc[matched, values]
    frame = rows.set_axis(pd.Index(where)).reindex(pd.RangeIndex(size))
    block_ids = pd.Series([cid for cid, _ in blocks], dtype=_TEXT).array
    frame.insert(0, "consumer_id", cast(Any, block_ids.take(np.repeat(np.arange(len(blocks)), lengths))))
    frame.insert(1, "day", grid_days)
    names = dict(nicknames or {})
    first_rows = np.unique(codes, return_index=True)[1]
    for cid, nick in zip(present, daily["nickname"].iloc[first_rows], strict=True):
        names.setdefault(cid, nick)
    frame["nickname"] = frame["consumer_id"].map(names)
    frame["intervals"] = frame["intervals"].fillna(0).astype(int)
    frame["recharge_inr"] = frame["recharge_inr"].fillna(0.0)
    extras = [c for c in frame.columns if c not in DAILY_COLUMNS]
    return frame[[*DAILY_COLUMNS, *extras]], starts


def _has_zone(bound: dt.date | str | None) -> bool:
    """Whether a calendar bound carries a time zone (the merge of naive days with it raises).

    >>> _has_zone(dt.date(2026, 11, 1)), _has_zone(pd.Timestamp("2026-11-01", tz="Asia/Kolkata"))
    (False, True)
    """
    return bound is not None and _ts(bound).tzinfo is not None


def _finest(units: list[str]) -> str:
    """The finest of numpy datetime units ("s", "ms", "us", "ns")."""
    return max(units, key=_UNITS.index)


_UNITS = ("s", "ms", "us", "ns")


_TEXT = pd.Series(["x"]).dtype  # the text dtype pandas gives a column of str (pandas 3: Arrow-backed "str")


def _fill_calendar_merge(
    daily: pd.DataFrame,
    first_day: dt.date | str | None,
    last_day: dt.date | str | None,
    consumer_ids: Sequence[str] | None,
    nicknames: dict[str, str] | None,
) -> pd.DataFrame:
    """:func:`fill_calendar` by a merge of the per-connection date grid with the rows: every case."""
    cids = daily["consumer_id"].astype(str)
    ids = list(dict.fromkeys([*pd.unique(cids), *(consumer_ids or [])]))
    names = dict(nicknames or {})
    firsts = daily.drop_duplicates("consumer_id")
    for cid, nick in zip(firsts["consumer_id"].astype(str), firsts["nickname"], strict=True):
        names.setdefault(cid, nick)
    spans = daily.groupby(cids)["day"].agg(["min", "max"]) if len(daily) else None
    grids: list[pd.DataFrame] = []
    for cid in ids:
        span = spans.loc[cid] if spans is not None and cid in spans.index else None
        lo = _ts(first_day) if first_day is not None else (span["min"] if span is not None else None)
        hi = _ts(last_day) if last_day is not None else (span["max"] if span is not None else None)
        if lo is None or hi is None or lo > hi:
            continue
        grids.append(pd.DataFrame({"consumer_id": cid, "day": pd.date_range(lo, hi, freq="D")}))
    if not grids:
        return empty_daily()
    grid = pd.concat(grids, ignore_index=True)
    rows = daily.assign(consumer_id=cids).drop(columns=["nickname"])
    frame = grid.merge(rows, on=["consumer_id", "day"], how="left", sort=False)
    frame["nickname"] = frame["consumer_id"].map(names)
    frame["intervals"] = frame["intervals"].fillna(0).astype(int)
    frame["recharge_inr"] = frame["recharge_inr"].fillna(0.0)
    extras = [c for c in frame.columns if c not in DAILY_COLUMNS]
    return frame[[*DAILY_COLUMNS, *extras]]


def with_deductions(daily: pd.DataFrame) -> pd.DataFrame:
    """Add ``deduction_inr``: what the balance lost that day, recharges excluded.

    deduction = yesterday's closing balance + today's recharges - today's closing balance. It is
    NaN when either closing balance is unknown (a gap), so a missing day never looks free.
    """
    return _deductions(fill_calendar(daily) if len(daily) else empty_daily())


def _deductions(frame: pd.DataFrame) -> pd.DataFrame:
    """``with_deductions`` on a frame already passed through :func:`fill_calendar`."""
    if not len(frame):
        return frame.assign(deduction_inr=pd.Series(dtype="float64"))
    frame = frame.sort_values(["consumer_id", "day"]).reset_index(drop=True)
    previous = frame.groupby("consumer_id", sort=False)["closing_balance_inr"].shift(1)
    frame["deduction_inr"] = previous + frame["recharge_inr"] - frame["closing_balance_inr"]
    return frame


# --- runs out first (the forecast itself is :func:`lib.forecast.run_out`, a tariff simulation) -------


def runs_out_first(forecast: pd.DataFrame) -> pd.DataFrame:
    """Order connections by what runs out first: exhausted, then fewest days left; unknown last.

    Ties keep the input order (link order).
    """
    if not len(forecast):
        return forecast
    key = forecast["days_left"].astype(float).fillna(math.inf).replace(math.inf, 1e12)
    unknown = forecast["days_left"].isna().astype(int)
    ordered = forecast.assign(_unknown=unknown, _key=key, _pos=range(len(forecast)))
    ordered = ordered.sort_values(["_unknown", "_key", "_pos"], kind="stable")
    return ordered.drop(columns=["_unknown", "_key", "_pos"]).reset_index(drop=True)


# --- consumption by period ----------------------------------------------------------------------


def period_start(days: pd.Series, granularity: Granularity) -> pd.Series:
    """The first IST day of each day's period: the day, its Monday, or the 1st of its month."""
    days = pd.to_datetime(days)
    if granularity == "day":
        return days
    if granularity == "week":
        return days - pd.to_timedelta(days.dt.day_of_week, unit="D")
    if granularity == "month":
        return days.dt.to_period("M").dt.start_time
    raise ValueError(f"unknown granularity {granularity!r}")


def consumption(daily: pd.DataFrame, granularity: Granularity = "day") -> pd.DataFrame:
    """Units (kWh) per connection per IST day, week (Monday first) or month.

    Columns: consumer_id, nickname, period, kwh (NaN when the period has no readings at all),
    days_with_data, days (calendar days of the period inside the data range).
    """
    frame = fill_calendar(daily) if len(daily) else daily
    return _per_period(frame, granularity, {"kwh": "sum"})[
        ["consumer_id", "nickname", "period", "kwh", "days_with_data", "days"]
    ]


def _per_period(frame: pd.DataFrame, granularity: Granularity, how: dict[str, str]) -> pd.DataFrame:
    columns = ["consumer_id", "nickname", "period", *how, "days_with_data", "days", "recharge_inr"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    if granularity == "day":  # one row per day already (after fill_calendar): no grouping needed
        in_order = _days_in_order(frame, columns)
        if in_order is not None:
            return in_order
        daily = frame.sort_values(["consumer_id", "day"])
        out = daily.assign(
            period=daily["day"],
            days_with_data=daily["kwh"].notna().astype(int),
            days=1,
        )
        return out[columns].reset_index(drop=True)
    by_code = _periods_by_code(frame, granularity, how, columns)
    if by_code is not None:
        return by_code
    frame = frame.assign(period=period_start(frame["day"], granularity), has=frame["kwh"].notna())
    grouped = frame.groupby(["consumer_id", "period"], sort=True)
    out = pd.DataFrame(
        {
            "nickname": grouped["nickname"].first(),
            "days_with_data": grouped["has"].sum().astype(int),
            "days": grouped["day"].count().astype(int),
            "recharge_inr": grouped["recharge_inr"].sum(),
        }
    )
    for column, agg in how.items():
        if agg == "sum":
            out[column] = grouped[column].sum(min_count=1)
        elif agg == "last":
            out[column] = grouped[column].last()
        else:  # pragma: no cover - programming error
            raise ValueError(agg)
    return out.reset_index()[columns]


def _periods_by_code(
    frame: pd.DataFrame, granularity: Granularity, how: dict[str, str], columns: list[str]
) -> pd.DataFrame | None:
    """:func:`_per_period`'s weeks or months by a group-by on one integer key, not on the text IDs and the
    periods (issue 15): the IDs and the period starts factorized sorted (the order the two-key group-by
    sorts them in), the key ``id code × periods + period code`` (sorted: the same group order); each
    column aggregated alone by pandas' own kernels over the same rows in the same order, so the same
    values to the last bit. None when it cannot answer so (IDs not text, an ID or period missing, repeated
    column names): the two-key group-by answers then. The same frame (tests/test_analytics_view_exact.py)."""
    if not frame.columns.is_unique or not isinstance(frame["consumer_id"].dtype, pd.StringDtype):
        return None
    period = period_start(frame["day"], granularity)
    codes, ids = pd.factorize(frame["consumer_id"], sort=True)
    period_codes, periods = pd.factorize(period, sort=True)
    if (codes < 0).any() or (period_codes < 0).any():
        return None
    key = codes.astype(np.int64) * len(periods) + period_codes
    parts = {column: frame[column].array for column in ("nickname", "day", "recharge_inr", *how)}
    grouped = pd.DataFrame({**parts, "has": frame["kwh"].notna().to_numpy()}).groupby(key, sort=True)
    values: dict[str, Any] = {
        "nickname": grouped["nickname"].first().array,
        "days_with_data": grouped["has"].sum().astype(int).to_numpy(),
        "days": grouped["day"].count().astype(int).to_numpy(),
        "recharge_inr": grouped["recharge_inr"].sum().array,  # its dtype kept (a nullable one too)
    }
    for column, agg in how.items():
        if agg == "sum":
            values[column] = grouped[column].sum(min_count=1).array
        elif agg == "last":
            values[column] = grouped[column].last().array
        else:  # pragma: no cover - programming error
            raise ValueError(agg)
    keys = np.unique(key)
    values["consumer_id"] = ids.take(keys // len(periods))
    values["period"] = periods.take(keys % len(periods))
    return pd.DataFrame({column: values[column] for column in columns})


def _days_in_order(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame | None:
    """:func:`_per_period`'s daily rows of a frame already in (consumer_id, day) order (a period
    calendar: issue 15): its columns taken as they are, no sort (a stable sort would move no row), no
    ``assign`` and no second selection. None when the order is not plain to see (an ID or day missing,
    IDs not text, days not numpy datetimes, a day not after the one before it): the sort answers then.
    The same frame (tests/test_analytics_view_exact.py)."""
    if not frame.columns.is_unique:
        return None
    ids, days = frame["consumer_id"], frame["day"]
    if not isinstance(ids.dtype, pd.StringDtype) or not (
        isinstance(days.dtype, np.dtype) and days.dtype.kind == "M"
    ):
        return None
    codes = pd.factorize(ids, sort=True)[0]
    stamps = days.to_numpy()
    if (codes < 0).any() or np.isnat(stamps).any():
        return None
    same_id = codes[1:] == codes[:-1]
    if (codes[1:] < codes[:-1]).any() or (same_id & (stamps[1:] <= stamps[:-1])).any():
        return None
    values = {
        "period": days.array,
        "days_with_data": frame["kwh"].notna().astype(int).to_numpy(),
        "days": np.ones(len(frame), dtype=np.int64),
    }
    return pd.DataFrame(
        {column: values[column] if column in values else frame[column].array for column in columns}
    )


def period_calendar(
    daily: pd.DataFrame,
    first_day: dt.date,
    last_day: dt.date,
    consumer_ids: Sequence[str] | None = None,
    nicknames: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The filled calendar of IST days ``first_day..last_day`` with each day's ``deduction_inr``: what
    :func:`compare_series` and :func:`household_shares` of the same period both read, worked out once
    (the Compare page hands it to both, and to every metric of the period: issue 15).

    One row per connection (of ``daily`` and ``consumer_ids``) per day, sorted by consumer_id and day;
    the :func:`fill_calendar` columns (gaps NaN, nicknames from ``nicknames`` first, then ``daily``) and
    ``deduction_inr`` (:func:`with_deductions`). The calendar starts at the earliest loaded day, so give
    ``daily`` from the day before ``first_day``: the first day's deduction is then known.

    >>> daily = pd.DataFrame({"consumer_id": ["1"] * 3, "nickname": ["Home"] * 3,
    ...     "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-04"]), "kwh": [2.0, 3.0, 1.0],
    ...     "intervals": [48] * 3, "peak_kwh": [0.2] * 3, "closing_balance_inr": [50.0, 32.0, 20.0],
    ...     "recharge_inr": [0.0] * 3})
    >>> calendar = period_calendar(daily, dt.date(2026, 11, 2), dt.date(2026, 11, 4))
    >>> calendar["day"].dt.day.tolist(), calendar["deduction_inr"].tolist()
    ([2, 3, 4], [18.0, nan, nan])
    """
    # One calendar from the earliest loaded day (for the first day's deduction) to the range's end.
    lo = min(_ts(first_day), daily["day"].min()) if len(daily) else _ts(first_day)
    consumer_ids = None if consumer_ids is None else list(consumer_ids)  # read by either path
    filled = _calendar_by_position(daily, lo, last_day, consumer_ids, nicknames, sort_ids=True)
    if filled is None:
        frame = _deductions(_fill_calendar_merge(daily, lo, last_day, consumer_ids, nicknames))
    else:
        frame = _deductions_in_order(*filled)
    return frame[frame["day"] >= _ts(first_day)]


def _deductions_in_order(frame: pd.DataFrame, starts: np.ndarray) -> pd.DataFrame:
    """:func:`_deductions` of a calendar already in (consumer_id, day) order, one row per connection and
    day, each connection's block starting at ``starts`` (:func:`_calendar_by_position` with ``sort_ids``):
    no sort (it would not move a row), the previous day's balance by one shift of the column, none at a
    block's start. The same float operations in the same order as the group-by's shift."""
    closing, recharge = frame["closing_balance_inr"], frame["recharge_inr"]
    if closing.dtype != np.float64 or recharge.dtype != np.float64:
        return _deductions(frame)
    balances = closing.to_numpy()
    previous = np.empty(len(balances), dtype=np.float64)
    previous[1:] = balances[:-1]
    previous[starts] = np.nan
    frame["deduction_inr"] = pd.Series(previous, index=frame.index) + recharge - closing
    return frame


def _calendar_of(calendar: pd.DataFrame, ids: Sequence[str]) -> pd.DataFrame:
    """The rows of ``calendar`` (:func:`period_calendar`) of the connections ``ids`` (all: no copy)."""
    wanted = set(ids)
    present = calendar["consumer_id"].astype(str)
    if wanted.issuperset(pd.unique(present)):
        return calendar
    return calendar[present.isin(wanted)]


def _deductions_between(
    daily: pd.DataFrame, first_day: dt.date | None, last_day: dt.date | None
) -> pd.DataFrame:
    """``with_deductions(daily)`` limited to the days from ``first_day`` to ``last_day`` (each bound
    inclusive, ``None`` = open): the days as stored, no calendar filled. Columns as ``with_deductions``."""
    frame = with_deductions(daily)
    if first_day is not None:
        frame = frame[frame["day"] >= _ts(first_day)]
    if last_day is not None:
        frame = frame[frame["day"] <= _ts(last_day)]
    return frame


def compare_series(
    daily: pd.DataFrame,
    metric: Metric,
    granularity: Granularity,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    consumer_ids: Sequence[str] | None = None,
    nicknames: dict[str, str] | None = None,
    *,
    calendar: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """What the Compare page plots: one value per connection per period of ``first_day..last_day``.

    ``metric``: "balance" (closing balance at the end of the period: its last known one),
    "units" (kWh used) or "spend" (₹ deducted from the balance, recharges excluded). Give
    ``daily`` from the day before ``first_day`` so the first day's deduction is known.
    ``consumer_ids`` keeps connections without data (all NaN) in the result. ``calendar``: the
    :func:`period_calendar` of ``daily`` for the same days, built once for several series and the
    shares (with ``consumer_ids`` covering these); the result is the same as without it.
    Columns: consumer_id, nickname, period, value, recharge_inr, days_with_data, days.
    """
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    if calendar is not None and first_day is not None and last_day is not None:
        ids = list(dict.fromkeys([*pd.unique(daily["consumer_id"].astype(str)), *(consumer_ids or [])]))
        frame = _calendar_of(calendar, ids)
    elif first_day is not None and last_day is not None:
        frame = period_calendar(daily, first_day, last_day, consumer_ids, nicknames)
    else:
        frame = _deductions_between(daily, first_day, last_day)
    source = {"balance": "closing_balance_inr", "units": "kwh", "spend": "deduction_inr"}[metric]
    how = {source: "last" if metric == "balance" else "sum"}
    out = _per_period(frame, granularity, how).rename(columns={source: "value"})
    out["value"] = out["value"].astype(float)
    return out[["consumer_id", "nickname", "period", "value", "recharge_inr", "days_with_data", "days"]]


def choose_granularity(first_day: dt.date, last_day: dt.date) -> Granularity:
    """The finest granularity that keeps a chart readable and its JSON small.

    >>> choose_granularity(dt.date(2026, 1, 1), dt.date(2026, 3, 31))
    'day'
    >>> choose_granularity(dt.date(2025, 11, 26), dt.date(2026, 11, 25))
    'week'
    """
    span = (last_day - first_day).days + 1
    if span <= 120:
        return "day"
    if span <= 3 * 366:
        return "week"
    return "month"


# --- hour-of-day profile and peak demand --------------------------------------------------------


def hour_of_day_profile(readings: pd.DataFrame) -> pd.DataFrame:
    """Average kWh per IST hour of day, separately for weekdays and weekends (Saturday, Sunday).

    ``readings`` is :func:`lib.storage.readings.readings_frame` (``ts`` UTC, ``kwh`` per interval). The
    interval length is taken from the data (median step), so a missing half hour lowers nothing.
    Columns: day_type ("weekday" / "weekend"), hour (0-23), kwh, days.
    """
    columns = ["day_type", "hour", "kwh", "days"]
    if not len(readings):
        return pd.DataFrame(columns=columns)
    ts = pd.to_datetime(readings["ts"], utc=True).dt.tz_convert("Asia/Kolkata")
    steps = ts.sort_values().diff().dropna()
    step_minutes = steps.median().total_seconds() / 60 if len(steps) else 30.0
    per_hour = 60.0 / step_minutes if step_minutes > 0 else 2.0
    frame = pd.DataFrame(
        {
            "day_type": np.where(ts.dt.day_of_week >= 5, "weekend", "weekday"),
            "hour": ts.dt.hour,
            "date": ts.dt.date,
            "kwh": readings["kwh"].to_numpy(),
        }
    )
    grouped = frame.groupby(["day_type", "hour"])
    out = pd.DataFrame({"kwh": grouped["kwh"].mean() * per_hour, "days": grouped["date"].nunique()})
    return out.reset_index()[columns]


# The columns of :func:`peak_demand`, in order (its fast path builds them by position).
PEAK_COLUMNS = [
    "consumer_id",
    "nickname",
    "peak_kw",
    "peak_day",
    "sanctioned_load_kw",
    "load_ratio",
    "over_sanctioned",
]


def peak_demand(daily: pd.DataFrame, details: pd.DataFrame) -> pd.DataFrame:
    """The largest demand in kW per connection against its sanctioned load.

    kW = a reading's kWh ÷ that reading's own interval in hours (``daily["peak_kw"]``, from
    ``refresh_daily``, which gives each reading the interval ``lib.quality.reading_minutes`` gives it; issue 11: a 15-minute reading of 0.45 kWh is 1.8 kW, an hourly 1.5 kWh is 1.5 kW).
    A daily frame without ``peak_kw`` (an older roll-up) falls back to ``peak_kwh`` over 30 minutes.
    Columns: consumer_id, nickname, peak_kw, peak_day, sanctioned_load_kw, load_ratio (peak ÷
    sanctioned), over_sanctioned.
    """
    columns = PEAK_COLUMNS
    fast = _peaks_by_position(daily, details, columns)
    if fast is not None:
        return fast
    daily = daily.copy()
    fallback = daily["peak_kwh"] * 2.0
    daily["peak_kw"] = daily["peak_kw"].fillna(fallback) if "peak_kw" in daily.columns else fallback
    known = daily[daily["peak_kw"].notna()]
    if not len(known):
        return pd.DataFrame(columns=columns)
    top = known.loc[known.groupby("consumer_id")["peak_kw"].idxmax()]
    loads = details.set_index("consumer_id")["sanctioned_load_kw"].astype(float)
    out = pd.DataFrame(
        {
            "consumer_id": top["consumer_id"].to_numpy(),
            "nickname": top["nickname"].to_numpy(),
            "peak_kw": top["peak_kw"].astype(float).to_numpy(),
            "peak_day": top["day"].to_numpy(),
        }
    )
    out["sanctioned_load_kw"] = out["consumer_id"].map(loads)
    out["load_ratio"] = out["peak_kw"] / out["sanctioned_load_kw"]
    out["over_sanctioned"] = out["load_ratio"] > 1.0
    return out[columns]


def _peaks_by_position(daily: pd.DataFrame, details: pd.DataFrame, columns: list[str]) -> pd.DataFrame | None:
    """:func:`peak_demand` in numpy on row positions (issue 15): the consumer IDs factorized once (sorted,
    as the group-by sorts them), each connection's largest kW and its first row (``idxmax``: the first
    of equal maxima), the sanctioned load by the details' row of the ID; no copy, group-by, ``loc``,
    ``set_index`` or ``map`` of text IDs. None when it cannot answer as the group-by does (the IDs not
    text or missing, kW columns not float64, labels repeated, the details' IDs repeated or not text): the
    group-by answers then (also when ``details`` has no ``consumer_id``: main reads it only once a kW is
    known). The same frame (tests/test_analytics_view_exact.py).
    """
    if "consumer_id" not in details.columns:
        return None
    ids, names = daily["consumer_id"], details["consumer_id"]
    peak_kwh = daily["peak_kwh"]
    peak_kw = daily["peak_kw"] if "peak_kw" in daily.columns else None
    if (
        not isinstance(ids.dtype, pd.StringDtype)
        or not isinstance(names.dtype, pd.StringDtype)
        or peak_kwh.dtype != np.float64
        or (peak_kw is not None and peak_kw.dtype != np.float64)
        or not daily.index.is_unique
        or not names.is_unique
        or names.isna().any()
    ):
        return None
    codes, uniques = pd.factorize(ids, sort=True)
    if (codes < 0).any():
        return None
    fallback = peak_kwh.to_numpy() * 2.0
    kw = fallback if peak_kw is None else np.where(np.isnan(own := peak_kw.to_numpy()), fallback, own)
    rows = np.flatnonzero(~np.isnan(kw))
    if not len(rows):
        return pd.DataFrame(columns=columns)
    known_codes, known_kw = codes[rows], kw[rows]
    highest = np.full(len(uniques), -np.inf)
    np.maximum.at(highest, known_codes, known_kw)
    at_max = known_kw == highest[known_codes]
    top = rows[at_max][np.unique(known_codes[at_max], return_index=True)[1]]  # first of each, ID order
    row_of = {cid: row for row, cid in enumerate(names.to_numpy())}
    loads = np.append(details["sanctioned_load_kw"].astype(float).to_numpy(), np.nan)  # -1: not found
    consumer_ids = ids.to_numpy()[top]
    peak = kw[top]
    sanctioned = loads[[row_of.get(cid, -1) for cid in consumer_ids]]
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # pandas' division warns of none
        ratio = peak / sanctioned
    out = {
        "consumer_id": consumer_ids,
        "nickname": daily["nickname"].to_numpy()[top],
        "peak_kw": peak,
        "peak_day": daily["day"].to_numpy()[top],
        "sanctioned_load_kw": sanctioned,
        "load_ratio": ratio,
        "over_sanctioned": ratio > 1.0,
    }
    return pd.DataFrame({column: out[column] for column in columns})


# --- balance, recharges, disconnections ---------------------------------------------------------


def disconnection_episodes(daily: pd.DataFrame) -> pd.DataFrame:
    """Runs of whole IST days with the balance exhausted (<= ₹0) and no consumption.

    A day counts when it has readings, they add up to zero kWh and the day's balance (or the last
    one before it, when the meter stops reporting it) is at or below zero. A gap ends an episode:
    what happened on a day without data is unknown. Columns: consumer_id, nickname, start, end,
    days, ongoing (the episode reaches the connection's last day with data). ``daily`` has at most one
    row per connection and day (a stored daily frame); connections in order of first appearance.

    Worked out on each connection's stored days in day order, numpy over the columns (no calendar
    filled: a missing day breaks a run as a filled gap did, and the balance carried over it is the last
    one before it); the same rows as the filled-calendar version (tests/test_analytics.py).

    >>> daily = pd.DataFrame({"consumer_id": ["1"] * 4, "nickname": ["Home"] * 4,
    ...     "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-03", "2026-11-05"]),
    ...     "kwh": [2.0, 0.0, 0.0, 0.0], "intervals": [48] * 4, "closing_balance_inr": [3.0, -1.0, None, -1.0]})
    >>> episodes = disconnection_episodes(daily)
    >>> episodes["start"].dt.day.tolist(), episodes["days"].tolist(), episodes["ongoing"].tolist()
    ([2, 5], [2, 1], [False, True])
    """
    columns = ["consumer_id", "nickname", "start", "end", "days", "ongoing"]
    if not len(daily):
        return pd.DataFrame(columns=columns)
    cids = daily["consumer_id"].astype(str)
    codes, uniques = pd.factorize(cids)
    first_rows = np.unique(codes, return_index=True)[1]
    nicknames = daily["nickname"].to_numpy(dtype=object)[
        first_rows
    ]  # each connection's first, as fill_calendar
    day_values = daily["day"].to_numpy()
    order = np.lexsort((day_values, codes))
    codes, day_values = codes[order], day_values[order]
    days = daily["day"].iloc[order].reset_index(drop=True)
    intervals = daily["intervals"].to_numpy(dtype=float, na_value=0.0)[order]
    kwh = daily["kwh"].to_numpy(dtype=float, na_value=math.nan)[order]
    balance = daily["closing_balance_inr"].to_numpy(dtype=float, na_value=math.nan)[order]
    bounds = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1], True])
    rows = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=False):
        known = np.where(np.isnan(balance[lo:hi]), -1, np.arange(hi - lo))
        carried = np.maximum.accumulate(known)  # the balance of the day, else the last one before it
        own_balance = np.where(carried >= 0, balance[lo:hi][np.maximum(carried, 0)], math.nan)
        has_data = intervals[lo:hi] > 0
        cut = has_data & (np.where(np.isnan(kwh[lo:hi]), np.inf, kwh[lo:hi]) <= ZERO_KWH) & (own_balance <= 0)
        if not cut.any():
            continue
        last_data = int(np.flatnonzero(has_data)[-1])
        # A run: cut days one calendar day apart (a missing day ends it, as a filled gap did)
        step = np.diff(day_values[lo:hi]) == np.timedelta64(1, "D")
        joined = np.r_[False, cut[1:] & cut[:-1] & step]
        starts = np.flatnonzero(cut & ~joined)
        ends = np.flatnonzero(cut & ~np.r_[joined[1:], False])
        code = codes[lo]
        for start, end in zip(starts.tolist(), ends.tolist(), strict=True):
            rows.append(
                [
                    str(uniques[code]),
                    nicknames[code],
                    days.iloc[lo + start],
                    days.iloc[lo + end],
                    int((day_values[lo + end] - day_values[lo + start]) // np.timedelta64(1, "D")) + 1,
                    end == last_data,
                ]
            )
    return pd.DataFrame(rows, columns=columns)


def last_recharges(recharges: pd.DataFrame) -> pd.DataFrame:
    """The latest recharge per connection: consumer_id, ts (UTC), amount_inr."""
    if not len(recharges):
        return pd.DataFrame(columns=["consumer_id", "ts", "amount_inr"])
    latest = recharges.sort_values("ts").groupby("consumer_id").tail(1)
    return latest[["consumer_id", "ts", "amount_inr"]].reset_index(drop=True)


def units_on(daily: pd.DataFrame, day: dt.date) -> pd.Series:
    """kWh per connection on one IST day (NaN when that day has no readings)."""
    own = daily[daily["day"] == _ts(day)].set_index("consumer_id")["kwh"]
    return own.reindex(pd.Index(daily["consumer_id"].unique(), name="consumer_id"))


# --- months, shares --------------------------------------------------------------------------------


def month_to_date(daily: pd.DataFrame, today: dt.date) -> pd.DataFrame:
    """This month's complete days against the same days of last month, per connection and household.

    This month = the 1st to yesterday (today is not over yet); last month = the 1st to the same day
    of the month (or its last day, when shorter). Units are kWh, spend is ₹ deducted from the
    balance. A connection with no data in a month has NaN there; the household row (consumer_id
    ``None``) adds up what is known. Columns: consumer_id, nickname, kwh_this, kwh_last,
    spend_this, spend_last, days_this, days_last, first_this, last_this, first_last, last_last.
    """
    this_first, this_last, last_first, last_last = month_to_date_bounds(today)
    frame = with_deductions(daily)
    rows = []

    def sums(group: pd.DataFrame, lo: dt.date, hi: dt.date | None) -> tuple[float, float, int]:
        if hi is None:
            return math.nan, math.nan, 0
        part = group[(group["day"] >= _ts(lo)) & (group["day"] <= _ts(hi))]
        kwh = part["kwh"].sum(min_count=1)
        spend = part["deduction_inr"].sum(min_count=1)
        return float(kwh), float(spend), int(part["kwh"].notna().sum())

    for cid, group in frame.groupby("consumer_id", sort=False):
        k_this, s_this, d_this = sums(group, this_first, this_last)
        k_last, s_last, d_last = sums(group, last_first, last_last)
        rows.append([cid, group["nickname"].iloc[0], k_this, k_last, s_this, s_last, d_this, d_last])
    columns = [
        "consumer_id",
        "nickname",
        "kwh_this",
        "kwh_last",
        "spend_this",
        "spend_last",
        "days_this",
        "days_last",
    ]
    out = pd.DataFrame(rows, columns=columns)
    if len(out):
        total: list[Any] = [None, None]
        for column in columns[2:6]:
            total.append(float(out[column].sum(min_count=1)))
        total += [int(out["days_this"].max()), int(out["days_last"].max())]
        out = pd.concat([out, pd.DataFrame([total], columns=columns)], ignore_index=True)
    out["first_this"], out["last_this"] = this_first, this_last
    out["first_last"], out["last_last"] = last_first, last_last
    return out


def month_to_date_bounds(today: dt.date) -> tuple[dt.date, dt.date | None, dt.date, dt.date | None]:
    """(first, last) of this month's complete days and of the same days last month.

    >>> month_to_date_bounds(dt.date(2026, 3, 31))
    (datetime.date(2026, 3, 1), datetime.date(2026, 3, 30), datetime.date(2026, 2, 1), datetime.date(2026, 2, 28))
    >>> month_to_date_bounds(dt.date(2026, 3, 1))[1] is None
    True
    """
    this_first = today.replace(day=1)
    last_month_end = this_first - dt.timedelta(days=1)
    last_first = last_month_end.replace(day=1)
    if today.day == 1:
        return this_first, None, last_first, None
    this_last = today - dt.timedelta(days=1)
    last_last = last_first.replace(day=min(this_last.day, last_month_end.day))
    return this_first, this_last, last_first, last_last


def net_energy(daily: pd.DataFrame, first_day: dt.date, last_day: dt.date) -> pd.DataFrame:
    """Import, export and net kWh of each net-metered connection over IST days ``first_day..last_day``.

    ``daily`` is :func:`lib.storage.readings.daily_frame` (``kwh`` = energy drawn from the grid,
    ``export_kwh`` = energy a rooftop plant sent to it, NaN where the meter has no export channel). Only
    connections with an export reading in the range appear; a frame without ``export_kwh`` gives none.
    ``net_kwh`` = import − export (negative: more sent than drawn), the kWh the netting rule of
    ``../shared/docs/bihar-tariff-notes.md`` bills within the month. Columns: consumer_id, nickname,
    import_kwh, export_kwh, net_kwh.

    >>> d = pd.DataFrame({"consumer_id": ["1", "1", "2"], "nickname": ["Roof", "Roof", "Shop"],
    ...     "day": pd.to_datetime(["2026-11-01", "2026-11-02", "2026-11-01"]),
    ...     "kwh": [4.0, 3.5, 2.0], "export_kwh": [6.0, 1.0, float("nan")]})
    >>> net_energy(d, dt.date(2026, 11, 1), dt.date(2026, 11, 30)).to_dict("records")
    [{'consumer_id': '1', 'nickname': 'Roof', 'import_kwh': 7.5, 'export_kwh': 7.0, 'net_kwh': 0.5}]
    """
    columns = ["consumer_id", "nickname", "import_kwh", "export_kwh", "net_kwh"]
    if "export_kwh" not in daily.columns or not len(daily):
        return pd.DataFrame(columns=columns)
    days = daily[(daily["day"] >= _ts(first_day)) & (daily["day"] <= _ts(last_day))]
    metered = days.groupby("consumer_id", sort=False)["export_kwh"].transform(lambda s: s.notna().any())
    days = days[metered.astype(bool)]
    if not len(days):
        return pd.DataFrame(columns=columns)
    grouped = days.groupby(["consumer_id", "nickname"], sort=False)
    out = pd.DataFrame(
        {
            "import_kwh": grouped["kwh"].sum(min_count=1).astype(float),
            "export_kwh": grouped["export_kwh"].sum(min_count=1).astype(float),
        }
    ).reset_index()
    out["net_kwh"] = (out["import_kwh"].fillna(0.0) - out["export_kwh"].fillna(0.0)).round(3)
    return out[columns]


def household_shares(
    daily: pd.DataFrame,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    *,
    calendar: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """Each connection's share of the household's units and spend over ``first_day..last_day``.

    Deductions are computed before the range is cut, so give ``daily`` from the day before.
    ``calendar``: the :func:`period_calendar` of ``daily`` for the same days (both bounds given), the one
    :func:`compare_series` read, so that the calendar is filled once; the result is the same as without
    it (only connections with days in the range count, named as in ``daily``).
    Columns: consumer_id, nickname, kwh, kwh_share, spend_inr, spend_share (shares 0..1; NaN
    when the household total is unknown or zero).
    """
    columns = ["consumer_id", "nickname", "kwh", "kwh_share", "spend_inr", "spend_share"]
    if calendar is not None and first_day is not None and last_day is not None:
        sums = _shares_by_code(daily, calendar, last_day)
        if sums is not None:
            if not len(sums["kwh"]):
                return pd.DataFrame(columns=columns)
            for column, share in (("kwh", "kwh_share"), ("spend_inr", "spend_share")):
                sums[share] = _share_of(sums[column])
            return pd.DataFrame({column: sums[column] for column in columns})
    out = _shares_by_group(daily, first_day, last_day, calendar)
    if not len(out):
        return pd.DataFrame(columns=columns)
    for column, share in (("kwh", "kwh_share"), ("spend_inr", "spend_share")):
        total = out[column].sum(min_count=1)
        out[share] = out[column] / total if total and not math.isnan(total) else math.nan
    return out[columns]


def _share_of(values: np.ndarray) -> np.ndarray:
    """Each value's share of their total (NaN when it is unknown or zero): :func:`household_shares`' rule,
    the total by pandas' own ``sum(min_count=1)`` of the column, as there."""
    total = pd.Series(values).sum(min_count=1)
    if not total or math.isnan(total):
        return np.full(len(values), math.nan)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):  # pandas' division warns of none
        return values / total


def _shares_by_group(
    daily: pd.DataFrame, first_day: dt.date | None, last_day: dt.date | None, calendar: pd.DataFrame | None
) -> pd.DataFrame:
    """:func:`household_shares`' sums per connection (consumer_id, nickname, kwh, spend_inr) by a group-by
    on the text IDs: what answers when :func:`_shares_by_code` cannot (no rows: an empty frame)."""
    if calendar is not None and first_day is not None and last_day is not None:
        frame = _shares_calendar(daily, calendar, first_day, last_day)
    else:
        frame = _deductions_between(daily, first_day, last_day)
    if not len(frame):
        return frame.iloc[0:0]
    grouped = frame.groupby("consumer_id", sort=False)
    nickname = grouped["nickname"].first()
    if calendar is not None:  # named as with_deductions(daily) names them: daily's first row
        firsts = daily.drop_duplicates("consumer_id")
        names = dict(zip(firsts["consumer_id"].astype(str), firsts["nickname"], strict=True))
        nickname = nickname.index.to_series().map(names)
    return pd.DataFrame(
        {
            "nickname": nickname,
            "kwh": grouped["kwh"].sum(min_count=1),
            "spend_inr": grouped["deduction_inr"].sum(min_count=1),
        }
    ).reset_index()


def _shares_by_code(daily: pd.DataFrame, calendar: pd.DataFrame, last_day: dt.date) -> dict[str, Any] | None:
    """:func:`household_shares`' sums of a period calendar before its shares (issue 15): the calendar's
    rows inside each connection's own span (:func:`_in_own_span`) summed by a group-by on integer codes of
    the consumer IDs (factorized once, in order of first appearance: ``sort=False``'s group order), not on
    the text IDs of a copied selection of every column; each connection named by its first row of
    ``daily``. pandas' group sum runs the same kernel over the same rows in the same order, so the sums
    are the same to the last bit. The columns consumer_id, nickname, kwh, spend_inr (empty when no day is
    in a span). None when it cannot answer so (the numpy span cannot; IDs or nicknames not text; the
    summed columns not float64): :func:`_shares_by_group` answers then. The same frame
    (tests/test_analytics_view_exact.py)."""
    cal_ids, daily_ids = calendar["consumer_id"], daily["consumer_id"]
    kwh, spend = calendar["kwh"], calendar["deduction_inr"]
    if (
        not len(daily)
        or not isinstance(cal_ids.dtype, pd.StringDtype)
        or not isinstance(daily_ids.dtype, pd.StringDtype)
        or kwh.dtype != np.float64
        or spend.dtype != np.float64
    ):
        return None
    mask = _in_own_span(daily, calendar, last_day)
    if mask is None:
        return None
    rows = np.flatnonzero(mask)
    if not len(rows):
        return {"kwh": rows}
    codes, ids = pd.factorize(cal_ids.to_numpy()[rows])
    daily_codes, daily_uniques = pd.factorize(daily_ids)
    if (codes < 0).any() or (daily_codes < 0).any():
        return None
    first_rows = np.unique(daily_codes, return_index=True)[1]
    nicknames = daily["nickname"].to_numpy()[first_rows]
    names = dict(zip(daily_uniques, nicknames, strict=True))
    named = [names.get(cid) for cid in ids]
    if not all(isinstance(name, str) for name in named):
        return None
    # One column at a time, as the group-by on the text IDs sums them: a two-column frame's group sum
    # was seen to differ in the last bit (its compensated sum runs over the 2-D block).
    grouped = pd.DataFrame({"kwh": kwh.to_numpy()[rows], "spend_inr": spend.to_numpy()[rows]}).groupby(codes)
    return {
        "consumer_id": pd.Index(ids, dtype=cal_ids.dtype),
        "nickname": pd.Series(named, dtype=str).array,
        "kwh": grouped["kwh"].sum(min_count=1).to_numpy(),
        "spend_inr": grouped["spend_inr"].sum(min_count=1).to_numpy(),
    }


def _shares_calendar(
    daily: pd.DataFrame, calendar: pd.DataFrame, first_day: dt.date, last_day: dt.date
) -> pd.DataFrame:
    """The rows of ``calendar`` that :func:`with_deductions` of ``daily`` cut to the range would have:
    each connection's own first..last day of ``daily`` inside ``first_day..last_day`` (the same rows, so
    the sums are the same to the last bit: pandas sums a group with gaps in another order)."""
    if not len(daily):
        return calendar.iloc[0:0]
    mask = _in_own_span(daily, calendar, last_day)
    if mask is not None:
        return calendar[mask]
    spans = daily.groupby(daily["consumer_id"].astype(str))["day"].agg(["min", "max"])
    cids = calendar["consumer_id"].astype(str)
    lo = cids.map(spans["min"])
    hi = cids.map(spans["max"])
    days = calendar["day"]
    return calendar[(days >= lo) & (days <= hi) & (days <= _ts(last_day))]


def _in_own_span(daily: pd.DataFrame, calendar: pd.DataFrame, last_day: dt.date) -> np.ndarray | None:
    """:func:`_shares_calendar`'s row mask in numpy (issue 15): each calendar row's day against its
    connection's first and last stored day (a minimum and maximum per connection, no group-by, no
    map of text IDs) and ``last_day``; None when the days are not numpy datetimes, ``last_day`` has a
    time zone, or a stored day or ID is missing (the group-by answers then). The same rows (tests/test_analytics_exact.py)."""
    kinds = (daily["day"].dtype, calendar["day"].dtype)
    if not all(isinstance(kind, np.dtype) and kind.kind == "M" for kind in kinds) or _has_zone(last_day):
        return None
    cids = daily["consumer_id"].astype(str)
    day_values = daily["day"].to_numpy()
    if cids.isna().any() or np.isnat(day_values).any():
        return None
    unit = f"datetime64[{_finest([str(daily['day'].dt.unit), str(calendar['day'].dt.unit)])}]"
    codes, uniques = pd.factorize(cids)
    stamps = day_values.astype(unit).view(np.int64)
    lows = np.full(len(uniques), np.iinfo(np.int64).max, dtype=np.int64)
    highs = np.full(len(uniques), np.iinfo(np.int64).min, dtype=np.int64)
    np.minimum.at(lows, codes, stamps)
    np.maximum.at(highs, codes, stamps)
    own = pd.Index(uniques).get_indexer(calendar["consumer_id"].astype(str))
    days = calendar["day"].to_numpy().astype(unit).view(np.int64)
    end = np.array([_ts(last_day).to_datetime64()]).astype(unit).view(np.int64)[0]
    known = own >= 0
    at = np.where(known, own, 0)
    return (
        known
        & ~np.isnat(calendar["day"].to_numpy())
        & (days >= lows[at])
        & (days <= highs[at])
        & (days <= end)
    )


# --- the overview in one call -------------------------------------------------------------------


def overview_cards(
    details: pd.DataFrame,
    daily: pd.DataFrame,
    recharges: pd.DataFrame,
    today: dt.date,
    *,
    forecast: pd.DataFrame,
    episodes: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per linked connection for the Overview, ordered by what runs out first.

    ``details`` is :func:`lib.storage.accounts.connection_details` (link order); ``daily`` should cover at
    least the last 31 days; ``recharges`` is :func:`lib.storage.readings.recharges_frame`; ``forecast`` is
    :func:`lib.forecast.run_out` (balance, burn, days left and run-out day come from it, so the card, the
    order, the chart and the warnings tell one story). Columns: consumer_id, nickname, has_readings,
    balance_inr, balance_day, burn_7_inr, burn_30_inr, days_left, run_out_day, yesterday_kwh,
    last_recharge_ts, last_recharge_inr, supply_cut, cut_since, low (fewer than ``LOW_DAYS_LEFT`` days),
    warn. ``episodes`` (:func:`disconnection_episodes`) is worked out from ``daily`` unless given (the
    dashboard passes its per-connection cached ones).
    """
    ids = details["consumer_id"].astype(str).tolist()
    nicknames = dict(zip(ids, details["nickname"], strict=True))
    forecast = forecast.assign(consumer_id=forecast["consumer_id"].astype(str)).set_index("consumer_id")
    yesterday = units_on(daily, today - dt.timedelta(days=1)) if len(daily) else pd.Series(dtype=float)
    latest = last_recharges(recharges).set_index("consumer_id")
    if episodes is None:
        episodes = disconnection_episodes(daily)
    ongoing = episodes[episodes["ongoing"]].set_index("consumer_id") if len(episodes) else None
    rows = []
    for cid in ids:
        own = daily[daily["consumer_id"] == cid]
        has = bool(len(own) and (own["intervals"] > 0).any())
        f: Any = forecast.loc[cid] if cid in forecast.index else None
        cut_since: Any = ongoing.loc[cid, "start"] if ongoing is not None and cid in ongoing.index else pd.NaT
        if isinstance(cut_since, pd.Series):  # pragma: no cover - one ongoing episode per connection
            cut_since = cut_since.iloc[-1]
        days_left = float(f["days_left"]) if f is not None else math.nan
        balance = float(f["balance_inr"]) if f is not None else math.nan
        supply_cut = bool(pd.notna(cut_since))
        low = bool(not math.isnan(days_left) and days_left < LOW_DAYS_LEFT)
        rows.append(
            {
                "consumer_id": cid,
                "nickname": nicknames[cid],
                "has_readings": has,
                "balance_inr": balance,
                "balance_day": f["balance_day"] if f is not None else pd.NaT,
                "burn_7_inr": float(f["burn_7_inr"]) if f is not None else math.nan,
                "burn_30_inr": float(f["burn_30_inr"]) if f is not None else math.nan,
                "days_left": days_left,
                "run_out_day": f["run_out_day"] if f is not None else pd.NaT,
                "yesterday_kwh": float(yesterday.get(cid, math.nan)),
                "last_recharge_ts": latest.loc[cid, "ts"] if cid in latest.index else pd.NaT,
                "last_recharge_inr": float(cast(float, latest.loc[cid, "amount_inr"]))
                if cid in latest.index
                else math.nan,
                "supply_cut": supply_cut,
                "cut_since": cut_since,
                "low": low,
                "warn": bool(supply_cut or low or (not math.isnan(balance) and balance <= 0)),
            }
        )
    cards = pd.DataFrame(rows)
    if not len(cards):
        return cards
    return runs_out_first(cards)


# --- tariff -------------------------------------------------------------------------------------


def estimated_month_cost(
    details: pd.DataFrame,
    daily: pd.DataFrame,
    today: dt.date,
    *,
    book: tariff.TariffBook | None = None,
) -> pd.DataFrame:
    """This month's estimated cost per connection from its tariff category, at this month's pace so far.

    The pace is the kWh of this month's complete days with readings divided by those days; the month
    is then costed by :func:`lib.tariff.month_cost` (the same tariff file the demo data use), free
    units, slabs, fixed charge, duty and rebate included. NaN when a connection has no readings this
    month or its category is not in the tariff file (``tariff_known`` False). Columns:
    consumer_id, nickname, tariff_category, units_so_far, days_with_data, projected_units,
    free_units_used, energy_inr, fixed_inr, duty_inr, rebate_inr, estimated_inr, tariff_known.
    """
    this_first, this_last, _, _ = month_to_date_bounds(today)
    days_in_month = calendar.monthrange(this_first.year, this_first.month)[1]
    rows = []
    for _, connection in details.iterrows():
        cid = str(connection["consumer_id"])
        own = daily[daily["consumer_id"].astype(str) == cid]
        if this_last is not None:
            own = own[(own["day"] >= _ts(this_first)) & (own["day"] <= _ts(this_last))]
            known = own[own["kwh"].notna()]
        else:
            known = own.iloc[0:0]
        units = float(known["kwh"].sum()) if len(known) else math.nan
        projected = units / len(known) * days_in_month if len(known) else math.nan
        row = {
            "consumer_id": cid,
            "nickname": connection["nickname"],
            "tariff_category": connection["tariff_category"],
            "units_so_far": units,
            "days_with_data": len(known),
            "projected_units": projected,
            "free_units_used": math.nan,
            "energy_inr": math.nan,
            "fixed_inr": math.nan,
            "duty_inr": math.nan,
            "rebate_inr": math.nan,
            "estimated_inr": math.nan,
            "tariff_known": True,
        }
        if not math.isnan(projected):
            try:
                cost = tariff.month_cost(
                    str(connection["tariff_category"]),
                    round(projected, 3),
                    month=this_first,
                    sanctioned_load_kw=float(connection["sanctioned_load_kw"]),
                    book=book,
                )
            except tariff.TariffError:
                row["tariff_known"] = False
            else:
                row.update(
                    free_units_used=cost.free_units_used,
                    energy_inr=cost.energy_charge,
                    fixed_inr=cost.fixed_charge,
                    duty_inr=cost.duty,
                    rebate_inr=cost.rebate,
                    estimated_inr=cost.total,
                )
        rows.append(row)
    return pd.DataFrame(rows)


def cost_by_category(estimates: pd.DataFrame) -> pd.DataFrame:
    """:func:`estimated_month_cost` added up per tariff category: tariff_category, connections,
    projected_units, estimated_inr (NaN when no connection of the category has an estimate)."""
    if not len(estimates):
        return pd.DataFrame(columns=["tariff_category", "connections", "projected_units", "estimated_inr"])
    grouped = estimates.groupby("tariff_category", sort=True)
    return pd.DataFrame(
        {
            "connections": grouped["consumer_id"].count(),
            "projected_units": grouped["projected_units"].sum(min_count=1),
            "estimated_inr": grouped["estimated_inr"].sum(min_count=1),
        }
    ).reset_index()
