"""The period calendar as it was before issue 15's merge-free fill (h55): the reference
tests/test_analytics_exact.py compares :func:`lib.analytics.fill_calendar`, :func:`lib.analytics.period_calendar`,
``_shares_calendar`` and what reads them with. A copy of ``fill_calendar``, ``_deductions``, ``period_calendar``
and ``_shares_calendar`` of ``lib/analytics.py`` at main 6ae0d9e (docstrings shortened, nothing else changed): a
left merge of the per-connection date grid with the daily rows on consumer_id and day, then a sort and a group-by
shift; each connection's span by a group-by and two maps of the text IDs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import pandas as pd

from lib.analytics import DAILY_COLUMNS, _ts, empty_daily


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
