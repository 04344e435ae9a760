"""Operator reads of one connection, without an account (the command line's ``check-connection``).

The dashboard never calls these: its reads take the signed-in account and check the link. An operator
on the server already holds the whole database, so these read one consumer ID directly; every frame has
the columns of its account-checked twin, with the consumer's name as ``nickname``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd

from lib.storage import dialect
from lib.storage.engine import Conn


def consumer_details(conn: Conn, consumer_id: str) -> pd.DataFrame:
    """One row (or none): consumer_id, nickname (the consumer's name), name, tariff_category,
    sanctioned_load_kw, division, meter_serial."""
    return conn.frame(
        "SELECT consumer_id, name AS nickname, name, tariff_category, sanctioned_load_kw, division, meter_serial "
        "FROM consumers WHERE consumer_id = :cid",
        {"cid": consumer_id},
    )


def consumer_daily_frame(
    conn: Conn, consumer_id: str, first_day: dt.date | None = None, last_day: dt.date | None = None
) -> pd.DataFrame:
    """Daily roll-ups of one connection, columns of :func:`lib.storage.readings.daily_frame`, plus any of
    ``minutes`` and ``export_kwh`` the ``daily`` table has."""
    have = set(dialect.column_names(conn, "daily"))
    extra = "".join(f", d.{c}" for c in ("minutes", "export_kwh") if c in have)
    frame = conn.frame(
        "SELECT d.consumer_id, c.name AS nickname, d.day, d.kwh, d.intervals, d.peak_kwh, "
        f"d.closing_balance_inr, d.recharge_inr{extra} "
        "FROM daily d JOIN consumers c ON c.consumer_id = d.consumer_id "
        "WHERE d.consumer_id = :cid AND d.day BETWEEN :lo AND :hi ORDER BY d.day",
        _range(consumer_id, first_day, last_day),
    )
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def consumer_readings_frame(
    conn: Conn, consumer_id: str, first_day: dt.date | None = None, last_day: dt.date | None = None
) -> pd.DataFrame:
    """Readings of one connection in IST days ``first_day..last_day``: consumer_id, ts (UTC datetimes), kwh,
    balance_inr, plus any of ``interval_minutes`` and ``export_kwh`` the ``readings`` table has."""
    have = set(dialect.column_names(conn, "readings"))
    extra = "".join(f", {c}" for c in ("interval_minutes", "export_kwh") if c in have)
    frame = conn.frame(
        f"SELECT consumer_id, {dialect.ts_text(conn, 'ts')} AS ts, kwh, balance_inr{extra} FROM readings "
        "WHERE consumer_id = :cid AND ts >= :lo_ts AND ts < :hi_ts ORDER BY ts",
        _range(consumer_id, first_day, last_day),
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def consumer_recharges_frame(conn: Conn, consumer_id: str) -> pd.DataFrame:
    """Recharges of one connection, oldest first: consumer_id, ts (UTC), amount_inr, mode, reference, kind, status."""
    frame = conn.frame(
        "SELECT consumer_id, ts, amount_inr, mode, reference, kind, status FROM recharges "
        "WHERE consumer_id = :cid ORDER BY ts",
        {"cid": consumer_id},
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def _range(consumer_id: str, first_day: dt.date | None, last_day: dt.date | None) -> dict[str, Any]:
    lo = first_day.isoformat() if first_day else "0000-01-01"
    hi = last_day.isoformat() if last_day else "9999-12-31"
    # IST days as UTC text bounds (India keeps +05:30): [lo 00:00 IST, hi + 1 day 00:00 IST).
    lo_ts = f"{(first_day - dt.timedelta(days=1)).isoformat()}T18:30:00Z" if first_day else dialect.TS_MIN
    hi_ts = f"{last_day.isoformat()}T18:30:00Z" if last_day else dialect.TS_MAX
    return {"cid": consumer_id, "lo": lo, "hi": hi, "lo_ts": lo_ts, "hi_ts": hi_ts}
