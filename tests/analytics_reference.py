"""The period calendar as it was before issue 15's merge-free fill (h55): the reference
tests/test_analytics_exact.py compares :func:`lib.analytics.fill_calendar`, :func:`lib.analytics.period_calendar`,
``_shares_calendar`` and what reads them with. A copy of ``fill_calendar``, ``_deductions``, ``period_calendar``
and ``_shares_calendar`` of ``lib/analytics.py`` at main 6ae0d9e (docstrings shortened, nothing else changed): a
left merge of the per-connection date grid with the daily rows on consumer_id and day, then a sort and a group-by
shift; each connection's span by a group-by and two maps of the text IDs.

Compare's view as it was before h60 (the reference of tests/test_analytics_view_exact.py): ``_per_period``,
``compare_series``, ``peak_demand`` and ``household_shares`` of ``lib/analytics.py`` at main 22975ce (docstrings
shortened, nothing else changed): the daily rows sorted, group-bys on the text consumer IDs, a copy, ``idxmax``,
``set_index`` and ``map``. They read this module's ``period_calendar`` and ``_shares_calendar`` (equal to main's:
tests/test_analytics_exact.py) and the helpers h60 left as they were from :mod:`lib.analytics`.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence

import pandas as pd

from lib.analytics import (
    DAILY_COLUMNS,
    METRICS,
    Granularity,
    Metric,
    _calendar_of,
    _deductions_between,
    _ts,
    empty_daily,
    period_start,
)


def fill_calendar(
    daily: pd.DataFrame,
    first_day: dt.date | str | None = None,
    last_day: dt.date | str | None = None,
    consumer_ids: Sequence[str] | None = None,
    nicknames: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The copy at main 6ae0d9e."""
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


def _deductions(frame: pd.DataFrame) -> pd.DataFrame:
    """``with_deductions`` on a frame already passed through :func:`fill_calendar`."""
    if not len(frame):
        return frame.assign(deduction_inr=pd.Series(dtype="float64"))
    frame = frame.sort_values(["consumer_id", "day"]).reset_index(drop=True)
    previous = frame.groupby("consumer_id", sort=False)["closing_balance_inr"].shift(1)
    frame["deduction_inr"] = previous + frame["recharge_inr"] - frame["closing_balance_inr"]
    return frame


def period_calendar(
    daily: pd.DataFrame,
    first_day: dt.date,
    last_day: dt.date,
    consumer_ids: Sequence[str] | None = None,
    nicknames: dict[str, str] | None = None,
) -> pd.DataFrame:
    """The copy at main 6ae0d9e."""
    # One calendar from the earliest loaded day (for the first day's deduction) to the range's end.
    lo = min(_ts(first_day), daily["day"].min()) if len(daily) else _ts(first_day)
    frame = _deductions(fill_calendar(daily, lo, last_day, consumer_ids, nicknames))
    return frame[frame["day"] >= _ts(first_day)]


def _shares_calendar(
    daily: pd.DataFrame, calendar: pd.DataFrame, first_day: dt.date, last_day: dt.date
) -> pd.DataFrame:
    """The rows of ``calendar`` that :func:`with_deductions` of ``daily`` cut to the range would have:
    each connection's own first..last day of ``daily`` inside ``first_day..last_day`` (the same rows, so
    the sums are the same to the last bit: pandas sums a group with gaps in another order)."""
    if not len(daily):
        return calendar.iloc[0:0]
    spans = daily.groupby(daily["consumer_id"].astype(str))["day"].agg(["min", "max"])
    cids = calendar["consumer_id"].astype(str)
    lo = cids.map(spans["min"])
    hi = cids.map(spans["max"])
    days = calendar["day"]
    return calendar[(days >= lo) & (days <= hi) & (days <= _ts(last_day))]


def _per_period(frame: pd.DataFrame, granularity: Granularity, how: dict[str, str]) -> pd.DataFrame:
    columns = ["consumer_id", "nickname", "period", *how, "days_with_data", "days", "recharge_inr"]
    if not len(frame):
        return pd.DataFrame(columns=columns)
    if granularity == "day":  # one row per day already (after fill_calendar): no grouping needed
        daily = frame.sort_values(["consumer_id", "day"])
        out = daily.assign(
            period=daily["day"],
            days_with_data=daily["kwh"].notna().astype(int),
            days=1,
        )
        return out[columns].reset_index(drop=True)
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
    """The copy at main 22975ce."""
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


def peak_demand(daily: pd.DataFrame, details: pd.DataFrame) -> pd.DataFrame:
    """The copy at main 22975ce."""
    columns = [
        "consumer_id",
        "nickname",
        "peak_kw",
        "peak_day",
        "sanctioned_load_kw",
        "load_ratio",
        "over_sanctioned",
    ]
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


def household_shares(
    daily: pd.DataFrame,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    *,
    calendar: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The copy at main 22975ce."""
    columns = ["consumer_id", "nickname", "kwh", "kwh_share", "spend_inr", "spend_share"]
    if calendar is not None and first_day is not None and last_day is not None:
        frame = _shares_calendar(daily, calendar, first_day, last_day)
    else:
        frame = _deductions_between(daily, first_day, last_day)
    if not len(frame):
        return pd.DataFrame(columns=columns)
    grouped = frame.groupby("consumer_id", sort=False)
    nickname = grouped["nickname"].first()
    if calendar is not None:  # named as with_deductions(daily) names them: daily's first row
        firsts = daily.drop_duplicates("consumer_id")
        names = dict(zip(firsts["consumer_id"].astype(str), firsts["nickname"], strict=True))
        nickname = nickname.index.to_series().map(names)
    out = pd.DataFrame(
        {
            "nickname": nickname,
            "kwh": grouped["kwh"].sum(min_count=1),
            "spend_inr": grouped["deduction_inr"].sum(min_count=1),
        }
    ).reset_index()
    for column, share in (("kwh", "kwh_share"), ("spend_inr", "spend_share")):
        total = out[column].sum(min_count=1)
        out[share] = out[column] / total if total and not math.isnan(total) else math.nan
    return out[columns]
