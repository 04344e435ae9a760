"""The ledger's per-day path as it was before issue 15's vectorised day pricing: the reference the
ledger's exact-equality tests (tests/test_ledger_exact.py) and the benchmark (bench/bench_ledger.py)
compare :func:`lib.ledger.build_ledger` with. ``analytics.fill_calendar`` over all connections, then per
connection one ``tariff.day_charges`` call and one row dict per day, then ``_match_late_credits`` over
the row dicts. Kept verbatim (only names and imports changed).

Below it, main's own ``build_ledger`` / ``load_ledger`` at 22975ce (``main_build_ledger``,
``main_load_ledger``): the reference of h59's numpy calendar and typed frame (issue 15, run 17).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from lib import analytics, ledger, tariff
from lib.clock import today_ist
from lib.ledger import (
    FREE_UNITS_NEED_ARREARS_CLEARED,
    LATE_CREDIT_MAX_DAYS,
    LEDGER_COLUMNS,
    UNEXPLAINED_THRESHOLD_INR,
    LedgerInputs,
    _paise,
    _rupees,
    arrears_outstanding,
    arrears_recovery,
    complete_days,
    empty_ledger,
    read_ledger_inputs,
)

if TYPE_CHECKING:
    from lib.storage import Database


def per_day_connection_ledger(
    days: pd.DataFrame,
    category: str,
    load_kw: float,
    arrears: pd.DataFrame,
    adjustments: pd.DataFrame,
    anchors: pd.DataFrame,
    today: dt.date,
    book: tariff.TariffBook,
) -> pd.DataFrame:
    day_list = [ts.date() for ts in days["day"]]
    recharge = [_paise(x) for x in days["recharge_inr"].fillna(0.0)]
    recharge_by_day = dict(zip(day_list, recharge, strict=True))
    recovery = arrears_recovery(arrears, recharge_by_day, day_list)
    outstanding = arrears_outstanding(arrears, recharge_by_day, day_list)
    no_free_book = dataclasses.replace(book, free_units=())
    adjust: dict[dt.date, int] = {}
    for _, row in adjustments.iterrows():
        key = dt.date.fromisoformat(str(row["day"])[:10])
        adjust[key] = adjust.get(key, 0) + _paise(row["amount_inr"])
    anchor: dict[dt.date, int] = {}  # the last one entered for a day wins
    for _, row in anchors.iterrows():
        anchor[dt.date.fromisoformat(str(row["day"])[:10])] = _paise(row["balance_inr"])
    intervals = days["intervals"].fillna(0).astype(int).to_numpy()
    complete = complete_days(
        intervals.tolist(), days["minutes"].fillna(0).tolist() if "minutes" in days.columns else None
    )
    # Plain lists: per-row pandas indexing would dominate the loop.
    kwh_list = days["kwh"].astype(float).tolist()
    export_list = (
        days["export_kwh"].astype(float).tolist() if "export_kwh" in days.columns else [math.nan] * len(days)
    )
    billed_list: list[float] | None = None
    if any(e > 0 for e in export_list if not math.isnan(e)):  # net-metered: price the netted units
        net = tariff.net_billed_units(
            [
                (d, 0.0 if math.isnan(k) else k, 0.0 if math.isnan(e) else e)
                for d, k, e in zip(day_list, kwh_list, export_list, strict=True)
            ],
            book=book,
        )
        billed_list = [n.billed_kwh for n in net]
    metered_list = days["closing_balance_inr"].astype(float).tolist()
    consumer_id, nickname = str(days["consumer_id"].iloc[0]), days["nickname"].iloc[0]

    rows: list[dict[str, Any]] = []
    month: tuple[int, int] | None = None
    so_far = 0.0
    previous_metered: int | None = None
    previous_closing: int | None = None
    for i, day in enumerate(day_list):
        if (day.year, day.month) != month:
            month, so_far = (day.year, day.month), 0.0
        kwh = kwh_list[i]
        has_readings = bool(pd.notna(kwh)) and intervals[i] > 0
        units = float(kwh) if has_readings else 0.0
        if billed_list is not None:
            units = billed_list[i]
        owed = outstanding.get(day, 0)
        day_book = no_free_book if owed > 0 and FREE_UNITS_NEED_ARREARS_CLEARED else book
        charge = tariff.day_charges(
            category, day, units, units_before=so_far, sanctioned_load_kw=load_kw, book=day_book
        )
        so_far += units
        energy, fixed, duty, rebate = (
            _paise(charge.energy_charge),
            _paise(charge.fixed_charge),
            _paise(charge.duty),
            _paise(charge.rebate),
        )
        arrears_p = recovery.get(day, 0)
        adjust_p = adjust.get(day, 0)
        deduction = energy + fixed + duty - rebate + arrears_p - adjust_p
        metered_raw = metered_list[i]
        metered = _paise(metered_raw) if pd.notna(metered_raw) else None

        opening: int | None
        if previous_metered is not None:
            opening = previous_metered
        elif day in anchor:
            opening = anchor[day]  # the household's own reading of the balance beats an estimate
        elif previous_closing is not None:
            opening = previous_closing
        elif metered is not None:
            opening = metered - recharge[i] + deduction  # first day: derived from the meter
        else:
            opening = None  # no balance known at all: unknown, not an estimate from ₹0
        closing = None if opening is None else opening + recharge[i] - deduction

        if metered is None and not has_readings:
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
        shown = metered if metered is not None else closing
        rows.append(
            {
                "consumer_id": consumer_id,
                "nickname": nickname,
                "day": pd.Timestamp(day),
                "units": float(kwh) if has_readings else math.nan,
                "intervals": int(intervals[i]),
                "export_kwh": export_list[i],
                "billed_units": units,
                "opening_inr": _rupees(opening),
                "recharge_inr": recharge[i] / 100,
                "energy_inr": energy / 100,
                "fixed_inr": fixed / 100,
                "duty_inr": duty / 100,
                "rebate_inr": rebate / 100,
                "arrears_inr": arrears_p / 100,
                "adjustment_inr": adjust_p / 100,
                "deduction_inr": deduction / 100,
                "closing_inr": _rupees(closing),
                "metered_closing_inr": _rupees(metered),
                "difference_inr": (metered - closing) / 100
                if metered is not None and closing is not None and status != "today"
                else math.nan,
                "balance_inr": _rupees(shown),
                "estimated": metered is None,
                "status": status,
                "pending_inr": 0.0,
                "late_credit_inr": 0.0,
                "anchor_inr": _rupees(anchor.get(day)),
                "free_units_used": charge.free_units_used,
                "units_month_to_date": so_far,
                "arrears_outstanding_inr": owed / 100,
                "tariff_version": charge.version,
            }
        )
        previous_metered = metered
        previous_closing = closing
    _match_late_credits_rows(rows, today)
    return pd.DataFrame(rows)


def _match_late_credits_rows(rows: list[dict[str, Any]], today: dt.date) -> None:
    """Explain days that lack a recharge paid that day by the later day the meter shows it (in place).

    Day *i* had a recharge *R* and its metered closing is *R* short of the ledger's; a day *j* within
    ``LATE_CREDIT_MAX_DAYS`` after it (the days between checked and in order) shows about *R* more than
    the ledger's (between *R*/2 and 3*R*/2, so a deduction the meter got wrong that day too stays visible):
    days *i..j−1* are ``pending`` (``pending_inr`` = *R*) and day *j* is ``late_credit``
    (``late_credit_inr`` = *R*); what is left of each difference after *R* stays, and is flagged when
    over ₹1. A recharge of the last few days not yet on the meter (no contradicting day since) is pending.
    """
    limit = UNEXPLAINED_THRESHOLD_INR * 100
    for i, row in enumerate(rows):
        paid = _paise(row["recharge_inr"])
        if paid <= 0 or row["status"] != "unexplained":
            continue
        if abs(_paise(row["difference_inr"]) + paid) > limit:
            continue  # not the recharge missing (or not only it)
        credit_day: int | None = None
        between_ok = True
        for j in range(i + 1, min(len(rows), i + 1 + LATE_CREDIT_MAX_DAYS)):
            later = rows[j]
            if (
                later["status"] == "unexplained"
                and paid / 2 <= _paise(later["difference_inr"]) <= paid * 3 / 2
            ):
                credit_day = j
                break
            if later["status"] not in ("ok", "today"):
                between_ok = False
                break
        if credit_day is None:
            recent = (today - row["day"].date()).days <= LATE_CREDIT_MAX_DAYS
            if not (between_ok and recent):
                continue
            last = len(rows)  # still on its way: pending up to the last day
        else:
            last = credit_day
        for k in range(i, last):
            rows[k]["pending_inr"] = round(rows[k]["pending_inr"] + paid / 100, 2)
            if rows[k]["status"] in ("ok", "unexplained"):
                rows[k]["status"] = "pending"
        row["difference_inr"] = (_paise(row["difference_inr"]) + paid) / 100
        if abs(_paise(row["difference_inr"])) > limit:
            row["status"] = "unexplained"
        if credit_day is not None:
            credit = rows[credit_day]
            credit["late_credit_inr"] = round(credit["late_credit_inr"] + paid / 100, 2)
            credit["difference_inr"] = (_paise(credit["difference_inr"]) - paid) / 100
            credit["status"] = (
                "late_credit" if abs(_paise(credit["difference_inr"])) <= limit else "unexplained"
            )


def per_day_build_ledger(
    daily: pd.DataFrame,
    details: pd.DataFrame,
    *,
    arrears: pd.DataFrame | None = None,
    adjustments: pd.DataFrame | None = None,
    anchors: pd.DataFrame | None = None,
    today: dt.date | None = None,
    book: tariff.TariffBook | None = None,
) -> pd.DataFrame:
    """``lib.ledger.build_ledger`` as it was: ``analytics.fill_calendar`` then the per-day path."""
    book = book or tariff.load_tariffs()
    today = today or today_ist()
    parts: list[pd.DataFrame] = []
    if not len(daily):
        return ledger.empty_ledger()
    facts = details.set_index(details["consumer_id"].astype(str))
    filled = analytics.fill_calendar(daily)
    extra = [c for c in ("minutes", "export_kwh") if c in daily.columns]
    if extra:
        indexed = daily.assign(consumer_id=daily["consumer_id"].astype(str)).set_index(["consumer_id", "day"])
        keys = pd.MultiIndex.from_arrays([filled["consumer_id"].astype(str), filled["day"]])
        for column in extra:
            filled[column] = indexed[column].reindex(keys).to_numpy()
    for cid, own in filled.groupby("consumer_id", sort=False):
        cid = str(cid)
        if cid not in facts.index:
            continue
        fact = facts.loc[cid]
        try:
            parts.append(
                per_day_connection_ledger(
                    own.sort_values("day").reset_index(drop=True),
                    str(fact["tariff_category"]),
                    float(cast(float, fact["sanctioned_load_kw"])),
                    ledger._rows_of(arrears, cid),
                    ledger._rows_of(adjustments, cid),
                    ledger._rows_of(anchors, cid),
                    today,
                    book,
                )
            )
        except tariff.TariffError:
            continue  # no tariff for this category (or these days): listed by connections_without_ledger
    if not parts:
        return ledger.empty_ledger()
    return pd.concat(parts, ignore_index=True)[list(ledger.LEDGER_COLUMNS)]


# --- main at 22975ce -------------------------------------------------------------------------------
# ``build_ledger`` and ``load_ledger`` as main had them before h59's numpy calendar and frame (issue 15): a
# group-by of the daily rows, each connection's calendar a reindexed frame, ``_connection_ledger`` reading
# that frame's columns and building its result from lists. Kept verbatim (only names changed: ``main_``);
# tests/test_ledger_exact.py and bench/bench_ledger.py compare today's ``lib.ledger`` with it.


def main_build_ledger(
    daily: pd.DataFrame,
    details: pd.DataFrame,
    *,
    arrears: pd.DataFrame | None = None,
    adjustments: pd.DataFrame | None = None,
    anchors: pd.DataFrame | None = None,
    today: dt.date | None = None,
    book: tariff.TariffBook | None = None,
) -> pd.DataFrame:
    """``lib.ledger.build_ledger`` of main at 22975ce (its docstring is in lib/ledger.py)."""
    book = book or tariff.load_tariffs()
    today = today or today_ist()
    parts: list[pd.DataFrame] = []
    if not len(daily):
        return empty_ledger()
    facts = details.set_index(details["consumer_id"].astype(str))
    for cid, own in daily.groupby(daily["consumer_id"].astype(str), sort=False):
        cid = str(cid)
        if cid not in facts.index:
            continue
        fact = facts.loc[cid]
        try:
            parts.append(
                main_connection_ledger(
                    main_calendar(own),
                    str(fact["tariff_category"]),
                    float(cast(float, fact["sanctioned_load_kw"])),
                    main_rows_of(arrears, cid),
                    main_rows_of(adjustments, cid),
                    main_rows_of(anchors, cid),
                    today,
                    book,
                )
            )
        except tariff.TariffError:
            continue  # no tariff for this category (or these days): listed by connections_without_ledger
    if not parts:
        return empty_ledger()
    return pd.concat(parts, ignore_index=True)[list(LEDGER_COLUMNS)]


def main_calendar(own: pd.DataFrame) -> pd.DataFrame:
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


def main_rows_of(frame: pd.DataFrame | None, consumer_id: str) -> pd.DataFrame:
    if frame is None or not len(frame):
        return pd.DataFrame()
    return frame[frame["consumer_id"].astype(str) == consumer_id]


def main_connection_ledger(
    days: pd.DataFrame,
    category: str,
    load_kw: float,
    arrears: pd.DataFrame,
    adjustments: pd.DataFrame,
    anchors: pd.DataFrame,
    today: dt.date,
    book: tariff.TariffBook,
) -> pd.DataFrame:
    """One connection's ledger rows (``days``: its calendar-filled daily rows, in day order).

    What does not depend on the day before is worked out as columns: the units priced, the month's units
    so far, every part of the deduction (:func:`lib.tariff.day_charges_columns`: one tariff lookup per
    segment, exact, equal to ``day_charges`` day by day), recharges, arrears, adjustments in paise. One
    loop over the days carries what is sequential: opening from the day before, closing and status; then
    late credits (:func:`_match_late_credits`). tests/test_ledger_exact.py checks the frame against the
    per-day path it replaced (``tests/ledger_reference.py``) on the shared cases, the demo and generated
    connections.
    """
    n = len(days)
    stamps = days["day"].to_numpy().astype("datetime64[D]")
    day_list: list[dt.date] = stamps.tolist()
    recharge_p = np.rint(days["recharge_inr"].fillna(0.0).to_numpy(dtype=float) * 100).astype(np.int64)
    recharge = recharge_p.tolist()
    recharge_by_day = dict(zip(day_list, recharge, strict=True))
    recovery = arrears_recovery(arrears, recharge_by_day, day_list)
    outstanding = arrears_outstanding(arrears, recharge_by_day, day_list)
    adjust: dict[dt.date, int] = {}
    for _, row in adjustments.iterrows():
        key = dt.date.fromisoformat(str(row["day"])[:10])
        adjust[key] = adjust.get(key, 0) + _paise(row["amount_inr"])
    anchor: dict[dt.date, int] = {}  # the last one entered for a day wins
    for _, row in anchors.iterrows():
        anchor[dt.date.fromisoformat(str(row["day"])[:10])] = _paise(row["balance_inr"])
    intervals = days["intervals"].fillna(0).astype(int).to_numpy()
    complete = complete_days(
        intervals.tolist(), days["minutes"].fillna(0).tolist() if "minutes" in days.columns else None
    )
    kwh = days["kwh"].to_numpy(dtype=float)
    export = (
        days["export_kwh"].to_numpy(dtype=float) if "export_kwh" in days.columns else np.full(n, math.nan)
    )
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
    owed = np.array([outstanding.get(day, 0) for day in day_list], dtype=np.int64)
    charges = tariff.day_charges_columns(
        category,
        days["day"],
        units,
        units_before=before,
        sanctioned_load_kw=load_kw,
        free_units_held=(owed > 0) if FREE_UNITS_NEED_ARREARS_CLEARED else None,
        book=book,
    )
    energy, fixed, duty, rebate = (charges[f"{part}_paise"] for part in ("energy", "fixed", "duty", "rebate"))
    arrears_p = np.array([recovery.get(day, 0) for day in day_list], dtype=np.int64)
    adjust_p = np.array([adjust.get(day, 0) for day in day_list], dtype=np.int64)
    deduction_p = energy + fixed + duty - rebate + arrears_p - adjust_p
    deduction = deduction_p.tolist()
    metered_raw = days["closing_balance_inr"].to_numpy(dtype=float)
    metered_list: list[int | None] = [
        None if math.isnan(m) else int(p)
        for m, p in zip(metered_raw.tolist(), np.rint(np.nan_to_num(metered_raw) * 100).tolist(), strict=True)
    ]
    has_list = has_readings.tolist()

    # The sequential part: each day's opening is the day before's metered or computed closing.
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
    columns: dict[str, Any] = {
        "consumer_id": [str(days["consumer_id"].iloc[0])] * n,
        "nickname": [days["nickname"].iloc[0]] * n,
        "day": stamps.astype("datetime64[s]"),  # the unit pd.Timestamp(date) has
        "units": np.where(has_readings, kwh, math.nan),
        "intervals": intervals.astype(np.int64),
        "export_kwh": export,
        "billed_units": units,
        "opening_inr": main_rupees_column(openings),
        "recharge_inr": recharge_p / 100,
        "energy_inr": main_inr(energy),
        "fixed_inr": main_inr(fixed),
        "duty_inr": main_inr(duty),
        "rebate_inr": main_inr(rebate),
        "arrears_inr": arrears_p / 100,
        "adjustment_inr": adjust_p / 100,
        "deduction_inr": main_inr(deduction_p),
        "closing_inr": main_rupees_column(closings),
        "metered_closing_inr": main_rupees_column(metered_list),
        "difference_inr": difference,
        "balance_inr": main_rupees_column(
            [m if m is not None else c for m, c in zip(metered_list, closings, strict=True)]
        ),
        "estimated": np.array([m is None for m in metered_list], dtype=bool),
        "status": statuses,
        "pending_inr": [0.0] * n,
        "late_credit_inr": [0.0] * n,
        "anchor_inr": main_rupees_column([anchor.get(day) for day in day_list]),
        "free_units_used": charges["free_units_used"],
        "units_month_to_date": to_date,
        "arrears_outstanding_inr": owed / 100,
        "tariff_version": charges["version"],
    }
    main_match_late_credits(columns, day_list, today)
    return pd.DataFrame(columns)


def main_rupees_column(paise: list[int | None]) -> np.ndarray:
    """₹ from paise, NaN for None (``paise / 100`` of each, as :func:`_rupees`)."""
    return np.array([math.nan if p is None else p / 100 for p in paise], dtype=float)


def main_inr(paise: np.ndarray) -> np.ndarray:
    """₹ from a paise column: int64 (exact below 2**53) or, past it, Python ints divided one by one."""
    if paise.dtype == object:
        return np.array([p / 100 for p in paise], dtype=float)
    return paise / 100


def main_match_late_credits(columns: dict[str, Any], day_list: list[dt.date], today: dt.date) -> None:
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


def main_load_ledger(
    conn: Database,
    account_id: int,
    consumer_ids: Sequence[str] | None = None,
    *,
    today: dt.date | None = None,
    book: tariff.TariffBook | None = None,
    inputs: LedgerInputs | None = None,
) -> pd.DataFrame:
    """``lib.ledger.load_ledger`` of main at 22975ce (its docstring and doctest are in lib/ledger.py)."""
    if inputs is None:
        inputs = read_ledger_inputs(conn, account_id, consumer_ids)
    elif consumer_ids is not None:
        inputs = inputs.of(consumer_ids)
    daily = conn.readings.daily_frame(account_id, consumer_ids)
    return main_build_ledger(
        daily,
        inputs.details,
        arrears=inputs.arrears,
        adjustments=inputs.adjustments,
        anchors=inputs.anchors,
        today=today,
        book=book,
    )
