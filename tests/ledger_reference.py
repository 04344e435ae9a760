"""The ledger's per-day path as it was before issue 15's vectorised day pricing: the reference the
ledger's exact-equality tests (tests/test_ledger_exact.py) and the benchmark (bench/bench_ledger.py)
compare :func:`lib.ledger.build_ledger` with. ``analytics.fill_calendar`` over all connections, then per
connection one ``tariff.day_charges`` call and one row dict per day, then ``_match_late_credits`` over
the row dicts. Kept verbatim (only names and imports changed).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from typing import Any, cast

import pandas as pd

from lib import analytics, ledger, tariff
from lib.clock import today_ist
from lib.ledger import (
    FREE_UNITS_NEED_ARREARS_CLEARED,
    LATE_CREDIT_MAX_DAYS,
    UNEXPLAINED_THRESHOLD_INR,
    _paise,
    _rupees,
    arrears_outstanding,
    arrears_recovery,
    complete_days,
)


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
