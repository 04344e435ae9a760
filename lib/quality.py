"""Data-quality facts of one connection: why a number may be off (issue 11 sections 3 and 4).

What the readings, recharges and the ledger know about one connection over a period: the capture
interval and its changes, days whose readings do not cover the day, peak demand against the sanctioned
load, import and export energy, recharges that reached the meter late, and the days the meter took more
or less than the tariff explains. Plain pandas in, a dict out (:func:`connection_quality`), the shape of
``python -m lib.cli check-connection --json``; :func:`quality_lines` says the same in a few lines.

>>> import datetime as dt
>>> readings = pd.DataFrame({"ts": pd.date_range("2026-11-23 18:30", periods=96, freq="15min", tz="UTC"),
...     "kwh": [0.1] * 95 + [0.45], "balance_inr": float("nan")})
>>> intervals = interval_facts(readings)
>>> intervals["interval_minutes"], intervals["changes"]
(15, [])
>>> peak_demand(readings)
(1.8, '2026-11-24T23:45:00+05:30')

(A 15-minute reading of 0.45 kWh is 0.45 ÷ 0.25 h = 1.8 kW, at 23:45 IST.)
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, cast

import pandas as pd

from lib import ledger as ledger_mod
from lib.clock import IST

# A recharge that shows on the meter this long after its payment is a late credit.
LATE_CREDIT_AFTER = dt.timedelta(hours=2)
LATE_CREDIT_WITHIN = dt.timedelta(days=ledger_mod.LATE_CREDIT_MAX_DAYS)


def _ist(ts: pd.Timestamp) -> str:
    return ts.tz_convert(IST).isoformat(timespec="seconds")


def reading_minutes(readings: pd.DataFrame) -> pd.Series:
    """Each reading's interval length in minutes: the stored ``interval_minutes`` when there is one, else
    the gap to the next reading (readings are stamped at their interval's start). A gap longer than both
    neighbouring readings' gaps is missing data, not a long interval: it takes the longer neighbour's. The
    last reading takes the gap before it.

    >>> ts = pd.to_datetime(["2026-11-24 00:00", "2026-11-24 01:00", "2026-11-24 02:00", "2026-11-24 02:15",
    ...     "2026-11-24 03:30", "2026-11-24 03:45"], utc=True)
    >>> reading_minutes(pd.DataFrame({"ts": ts})).tolist()
    [60.0, 60.0, 15.0, 15.0, 15.0, 15.0]
    """
    if "interval_minutes" in readings.columns and readings["interval_minutes"].notna().all():
        return readings["interval_minutes"].astype(float).reset_index(drop=True)
    ts = readings["ts"].reset_index(drop=True)
    gaps = (ts.shift(-1) - ts).dt.total_seconds() / 60
    gaps = gaps.fillna(gaps.shift(1)).fillna(30.0)
    before, after = gaps.shift(1), gaps.shift(-1)
    neighbour = pd.concat([before, after], axis=1).max(axis=1)
    missing = (gaps > before.fillna(math.inf)) & (gaps > after.fillna(math.inf))
    missing |= (gaps > before) & after.isna() | (gaps > after) & before.isna()
    return gaps.where(~missing, neighbour)


def interval_facts(readings: pd.DataFrame) -> dict[str, Any]:
    """``{"interval_minutes": the most common (int), "changes": [{"date", "from", "to"}, ...]}`` where a
    change is the first IST day whose most common interval differs from the day before's."""
    if not len(readings):
        return {"interval_minutes": None, "changes": []}
    minutes = reading_minutes(readings)
    day = readings["ts"].reset_index(drop=True).dt.tz_convert(IST).dt.date
    per_day = minutes.groupby(day).agg(lambda m: m.mode().iloc[0])
    changes = []
    for (_, before), (when, after) in zip(per_day.items(), list(per_day.items())[1:], strict=False):
        if before != after:
            changes.append({"date": cast(dt.date, when).isoformat(), "from": int(before), "to": int(after)})
    return {"interval_minutes": int(minutes.mode().iloc[0]), "changes": changes}


def peak_demand(readings: pd.DataFrame) -> tuple[float | None, str | None]:
    """Largest demand in kW (a reading's energy ÷ its own interval length) and when, in IST."""
    if not len(readings):
        return None, None
    kw = readings["kwh"].reset_index(drop=True) / (reading_minutes(readings) / 60)
    at = int(cast(int, kw.idxmax()))
    return round(float(kw.iloc[at]), 3), _ist(readings["ts"].reset_index(drop=True).iloc[at])


def late_credits(readings: pd.DataFrame, recharges: pd.DataFrame) -> list[dict[str, Any]]:
    """Recharges whose amount showed on the metered balance ``LATE_CREDIT_AFTER`` or more after payment.

    The credit time is the first reading after the payment whose balance rose by at least half the amount
    over the reading before (a day's deduction may land on the same reading). Entries: paid_at and
    credited_at (IST), amount_inr. A recharge never seen on the balance within ``LATE_CREDIT_WITHIN`` is
    not listed here (the ledger flags it).
    """
    out: list[dict[str, Any]] = []
    metered = readings[readings["balance_inr"].notna()].reset_index(drop=True)
    if not len(metered) or not len(recharges):
        return out
    rises = metered["balance_inr"].diff()
    row: Any  # itertuples rows: attribute types come from the frame's columns
    for row in recharges.itertuples(index=False):
        if getattr(row, "kind", "recharge") != "recharge" or row.amount_inr <= 0:
            continue
        window = (metered["ts"] >= row.ts) & (metered["ts"] <= row.ts + LATE_CREDIT_WITHIN)
        hits = metered[window & (rises >= row.amount_inr / 2)]
        if not len(hits):
            continue
        credited = hits["ts"].iloc[0]
        if credited - row.ts >= LATE_CREDIT_AFTER:
            out.append(
                {"paid_at": _ist(row.ts), "credited_at": _ist(credited), "amount_inr": float(row.amount_inr)}
            )
    return out


def event_times(events: pd.DataFrame, kind: str) -> list[str]:
    """IST times (ISO 8601, +05:30) of the stored meter events of ``kind`` (``storage.meter_events`` frame:
    ts as UTC datetimes, kind), oldest first.

    >>> events = pd.DataFrame({"ts": pd.to_datetime(["2026-11-20T06:30:00Z"], utc=True), "kind": ["replacement"]})
    >>> event_times(events, "replacement"), event_times(events, "glitch")
    (['2026-11-20T12:00:00+05:30'], [])
    """
    if not len(events):
        return []
    return [_ist(ts) for ts in sorted(events.loc[events["kind"] == kind, "ts"])]


def connection_quality(
    consumer_id: str,
    details: pd.DataFrame,
    readings: pd.DataFrame,
    recharges: pd.DataFrame,
    rows: pd.DataFrame,
    *,
    meter_replacements: list[str] | None = None,
    glitches: list[str] | None = None,
) -> dict[str, Any]:
    """Everything known about one connection's data over a period, as ``check-connection --json`` prints it.

    ``details``: one row with sanctioned_load_kw; ``readings``: ts (UTC), kwh, balance_inr and optional
    export_kwh / interval_minutes; ``recharges``: ts, amount_inr (optional kind); ``rows``: its ledger
    (:func:`lib.ledger.build_ledger`) over the same days. ``meter_replacements`` / ``glitches``: IST times
    of the events the importer reported, when known.

    Keys: consumer_id, interval_minutes, interval_changes, days, days_with_gaps (IST dates whose readings do
    not cover the day), peak_kw, peak_at (IST), sanctioned_load_kw, over_sanctioned_load, import_kwh,
    export_kwh, meter_replacements, glitches, late_credits, unexplained ([{date, amount_inr}], positive =
    taken beyond the tariff), unexplained_net_inr.
    """
    load = float(details["sanctioned_load_kw"].iloc[0]) if len(details) else math.nan
    intervals = interval_facts(readings)
    peak_kw, peak_at = peak_demand(readings)
    export = float(readings["export_kwh"].fillna(0).sum()) if "export_kwh" in readings.columns else 0.0
    gaps: list[str] = []
    if len(rows):
        has = rows["units"].notna()
        minutes = None
        if len(readings):
            covered = (
                reading_minutes(readings)
                .groupby(readings["ts"].reset_index(drop=True).dt.tz_convert(IST).dt.date)
                .sum()
            )
            minutes = [float(covered.get(d.date(), 0.0)) for d in rows["day"]]
        complete = ledger_mod.complete_days(rows["intervals"].fillna(0).astype(int).tolist(), minutes)
        gaps = [
            d.date().isoformat()
            for d, ok, h in zip(rows["day"], complete, has, strict=True)
            if not (ok and h)
        ]
    flagged = rows[rows["status"] == "unexplained"].sort_values("day") if len(rows) else rows
    unexplained = (
        [
            {"date": d.date().isoformat(), "amount_inr": round(-float(diff), 2)}
            for d, diff in zip(flagged["day"], flagged["difference_inr"], strict=True)
        ]
        if len(flagged)
        else []
    )
    return {
        "consumer_id": str(consumer_id),
        "interval_minutes": intervals["interval_minutes"],
        "interval_changes": intervals["changes"],
        "days": int(len(rows)),
        "days_with_gaps": gaps,
        "peak_kw": peak_kw,
        "peak_at": peak_at,
        "sanctioned_load_kw": None if math.isnan(load) else load,
        "over_sanctioned_load": bool(peak_kw is not None and not math.isnan(load) and peak_kw > load),
        "import_kwh": round(float(readings["kwh"].sum()), 3) if len(readings) else 0.0,
        "export_kwh": round(export, 3),
        "meter_replacements": list(meter_replacements or []),
        "glitches": list(glitches or []),
        "late_credits": late_credits(readings, recharges),
        "unexplained": unexplained,
        "unexplained_net_inr": round(sum(u["amount_inr"] for u in unexplained), 2),
    }


def quality_lines(facts: dict[str, Any]) -> list[str]:
    """The same facts in a few lines of plain text for an operator's terminal (English, like the CLI)."""
    changes = ", ".join(f"{c['from']} -> {c['to']} min from {c['date']}" for c in facts["interval_changes"])
    lines = [
        f"consumer {facts['consumer_id']}: {facts['days']} days, readings every {facts['interval_minutes']} min"
        + (f" ({changes})" if changes else ""),
        f"days with gaps: {len(facts['days_with_gaps'])}"
        + (
            f" ({', '.join(facts['days_with_gaps'][:10])}{' ...' if len(facts['days_with_gaps']) > 10 else ''})"
            if facts["days_with_gaps"]
            else ""
        ),
        f"peak {facts['peak_kw']} kW at {facts['peak_at']}; sanctioned load {facts['sanctioned_load_kw']} kW"
        + (" - OVER the sanctioned load" if facts["over_sanctioned_load"] else ""),
        f"energy: import {facts['import_kwh']} kWh, export {facts['export_kwh']} kWh",
        f"meter replacements: {len(facts['meter_replacements'])}, glitches: {len(facts['glitches'])}",
    ]
    for late in facts["late_credits"]:
        lines.append(
            f"late credit: Rs {late['amount_inr']:.2f} paid {late['paid_at']}, on the meter {late['credited_at']}"
        )
    if facts["unexplained"]:
        days = ", ".join(f"{u['date']} {u['amount_inr']:+.2f}" for u in facts["unexplained"])
        lines.append(
            f"unexplained (+ = taken beyond the tariff): {days}; net Rs {facts['unexplained_net_inr']:.2f}"
        )
    else:
        lines.append("unexplained: none")
    return lines


SUMMARY_COLUMNS = (
    "consumer_id",
    "interval_minutes",
    "days",
    "days_with_gaps",
    "replacements",
    "glitches",
    "rollovers",
    "late_credits",
)


def connection_summaries(
    daily: pd.DataFrame,
    ledger_rows: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    *,
    today: dt.date,
) -> pd.DataFrame:
    """The data-quality line of each connection (Overview cards, Ledger page), from what the pages load.

    ``daily``: the daily roll-ups (``storage.readings.daily_frame``: consumer_id, day, kwh, intervals and,
    when the database has it, ``minutes`` covered); ``ledger_rows``: :func:`lib.ledger.build_ledger` rows
    (for ``late_credit_inr``); ``events``: ``storage.meter_events`` frame (consumer_id, kind). Days are IST
    days from a connection's first day with readings to its last, before ``today`` (today is still
    running). Columns (``SUMMARY_COLUMNS``), one row per consumer_id of ``daily`` that has readings:
    interval_minutes (the most common capture interval, int), days, days_with_gaps (days whose readings
    do not cover the day, or with none), replacements, glitches, rollovers (register events the imports
    detected), late_credits (recharges that reached the meter on a later day).

    >>> daily = pd.DataFrame({"consumer_id": "1", "day": pd.to_datetime(["2026-11-20", "2026-11-21",
    ...     "2026-11-23", "2026-11-24"]), "kwh": 5.0, "intervals": [96, 90, 96, 96]})
    >>> events = pd.DataFrame({"consumer_id": ["1"], "kind": ["glitch"]})
    >>> connection_summaries(daily, None, events, today=dt.date(2026, 11, 25)).iloc[0].to_dict()
    ... # doctest: +NORMALIZE_WHITESPACE
    {'consumer_id': '1', 'interval_minutes': 15, 'days': 5, 'days_with_gaps': 2, 'replacements': 0,
     'glitches': 1, 'rollovers': 0, 'late_credits': 0}

    (21 Nov has 90 of 96 quarter hours, 22 Nov none: two days with gaps out of five.)
    """
    out: list[dict[str, Any]] = []
    if not len(daily):
        return pd.DataFrame({c: pd.Series(dtype="object") for c in SUMMARY_COLUMNS})
    for cid, own in daily.groupby(daily["consumer_id"].astype(str), sort=False):
        read = own[own["kwh"].notna() & (own["intervals"].fillna(0) > 0)].sort_values("day")
        read = read[read["day"].dt.date < today]
        if not len(read):
            continue
        minutes = read["minutes"].astype(float) if "minutes" in read.columns else None
        if minutes is not None and minutes.notna().all():
            per_reading = (minutes / read["intervals"].astype(float)).round()
            interval = int(per_reading.mode().iloc[0])
        else:
            minutes = None
            counts = read["intervals"].astype(int)
            usual = counts[counts.isin(ledger_mod.STANDARD_READINGS_PER_DAY)]
            interval = int(
                round(ledger_mod.MINUTES_PER_DAY / (usual.mode().iloc[0] if len(usual) else counts.max()))
            )
        complete = ledger_mod.complete_days(
            read["intervals"].astype(int).tolist(), None if minutes is None else minutes.tolist()
        )
        first, last = read["day"].iloc[0].date(), read["day"].iloc[-1].date()
        days = (last - first).days + 1
        gaps = days - sum(complete)
        kinds = (
            events.loc[events["consumer_id"].astype(str) == cid, "kind"].value_counts()
            if events is not None and len(events)
            else pd.Series(dtype=int)
        )
        late = 0
        if ledger_rows is not None and len(ledger_rows) and "late_credit_inr" in ledger_rows.columns:
            mine = ledger_rows[ledger_rows["consumer_id"].astype(str) == cid]
            late = int((mine["late_credit_inr"].fillna(0) > 0).sum())
        out.append(
            {
                "consumer_id": cid,
                "interval_minutes": interval,
                "days": days,
                "days_with_gaps": int(gaps),
                "replacements": int(kinds.get("replacement", 0)),
                "glitches": int(kinds.get("glitch", 0)),
                "rollovers": int(kinds.get("rollover", 0)),
                "late_credits": late,
            }
        )
    return pd.DataFrame(out, columns=list(SUMMARY_COLUMNS))
