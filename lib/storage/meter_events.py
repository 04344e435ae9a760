"""Meter events a register import detected (migration ``0007_meter_events``): replacements, glitches, rollovers.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     _ = conn.execute("INSERT INTO consumers (consumer_id, name, registered_mobile) VALUES ('201000001', 'K', '+919835011111')")
...     event = {"consumer_id": "201000001", "ts": "2026-11-20T06:30:00Z", "kind": "replacement",
...              "line": 26, "detail": "4326.3 -> 8715"}
...     added = insert_meter_events(conn, [event, event])
...     frame = consumer_meter_events(conn, "201000001")
>>> added, frame[["kind", "line", "detail"]].values.tolist(), str(frame["ts"].iloc[0])
(1, [['replacement', 26, '4326.3 -> 8715']], '2026-11-20 06:30:00+00:00')
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from lib.frames import for_connections
from lib.storage.accounts import ALLOWED as _ALLOWED
from lib.storage.engine import Conn

METER_EVENT_KINDS = ("replacement", "glitch", "rollover")
_COLUMNS = ["consumer_id", "ts", "kind", "line", "detail"]


def insert_meter_events(conn: Conn, events: Sequence[Mapping[str, Any]]) -> int:
    """Store events (consumer_id, ts as UTC text, kind of ``METER_EVENT_KINDS``, line, detail) not stored
    yet; one per consumer, time and kind, so re-importing a file adds none. Returns rows added (no
    transaction of its own: the import's)."""
    added = 0
    for event in events:  # a handful per file: one statement each, so each insert's own rowcount is exact
        added += conn.execute(
            "INSERT INTO meter_events (consumer_id, ts, kind, line, detail) "
            "VALUES (:consumer_id, :ts, :kind, :line, :detail) ON CONFLICT DO NOTHING",
            {"line": None, "detail": None, **event},
        ).rowcount
    return added


def consumer_meter_events(
    conn: Conn, consumer_id: str, first_day: dt.date | None = None, last_day: dt.date | None = None
) -> pd.DataFrame:
    """Operator read (no account): one connection's events in IST days ``first_day..last_day``, oldest
    first. Columns: consumer_id, ts (UTC datetimes), kind, line, detail."""
    lo = f"{(first_day - dt.timedelta(days=1)).isoformat()}T18:30:00Z" if first_day else "0000"
    hi = f"{last_day.isoformat()}T18:30:00Z" if last_day else "9999"
    frame = conn.frame(
        "SELECT consumer_id, ts, kind, line, detail FROM meter_events "
        "WHERE consumer_id = :consumer_id AND ts >= :lo AND ts < :hi ORDER BY ts, kind",
        {"consumer_id": consumer_id, "lo": lo, "hi": hi},
    )
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame


def meter_events_frame(
    conn: Conn, account_id: int, consumer_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Events of the account's linked connections (optionally only ``consumer_ids``), oldest first.

    Columns: consumer_id, ts (UTC datetimes), kind, line, detail. Unlinked IDs are silently absent.
    """
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT e.consumer_id, e.ts, e.kind, e.line, e.detail
        FROM meter_events e JOIN allowed a ON a.consumer_id = e.consumer_id
        ORDER BY e.ts, e.kind
        """,
        {"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = for_connections(frame, consumer_ids)
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    return frame
