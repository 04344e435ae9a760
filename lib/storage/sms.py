"""The SMS tables: ``sms_log`` (every attempt on any gateway, without the text; the daily budget counts
it) and ``sms_outbox`` (the demo gateway's messages, shown on the camp's phone). The rules (which gateway,
the budget, auditing) are in ``lib/sms.py``; the budget check and the log row share the caller's
``transaction`` so two senders cannot both take the last SMS of the day.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     log_id = log_attempt(conn, ts="2026-11-25T06:30:00Z", gateway="outbox", kind="test",
...                          destination_masked="+91 ••••••••10")
...     outbox_id = add_to_outbox(conn, ts="2026-11-25T06:30:00Z", destination="+919876543210",
...                               text="Hello", kind="test")
...     finish_attempt(conn, log_id, ok=True, message_id=f"outbox-{outbox_id}", error=None)
...     count_attempts(conn, "2026-11-24T18:30:00Z", "2026-11-25T18:30:00Z"), recent_outbox(conn)[0]["text"]
(1, 'Hello')
"""

from __future__ import annotations

from typing import Any

from lib.storage.boundary import guarded
from lib.storage.engine import Conn


@guarded
def count_attempts(
    conn: Conn,
    start: str,
    end: str,
    kinds: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> int:
    """SMS attempts logged with ``start <= ts < end`` (stored UTC text), on every gateway; only those of
    ``kinds`` when given, never those of ``exclude`` (the budget's shares, ``lib/sms.py``)."""
    sql = "SELECT count(*) FROM sms_log WHERE ts >= ? AND ts < ?"
    params: list[str] = [start, end]
    if kinds is not None:
        sql += f" AND kind IN ({', '.join('?' * len(kinds))})"
        params += kinds
    if exclude:
        sql += f" AND kind NOT IN ({', '.join('?' * len(exclude))})"
        params += exclude
    row = conn.execute(sql, params).fetchone()
    return int(row[0])


@guarded
def log_attempt(conn: Conn, *, ts: str, gateway: str, kind: str, destination_masked: str) -> int:
    """Log one attempt as not (yet) delivered; returns its ``sms_log_id`` for ``finish_attempt``."""
    cursor = conn.execute(
        "INSERT INTO sms_log (ts, gateway, kind, destination_masked, ok) VALUES (?, ?, ?, ?, 0)",
        (ts, gateway, kind, destination_masked),
    )
    return int(cursor.lastrowid or 0)


@guarded
def finish_attempt(conn: Conn, log_id: int, *, ok: bool, message_id: str | None, error: str | None) -> None:
    """Record how a logged attempt ended (gateway message ID or the operator's error text)."""
    conn.execute(
        "UPDATE sms_log SET ok = ?, message_id = ?, error = ? WHERE sms_log_id = ?",
        (int(ok), message_id, error, log_id),
    )


@guarded
def add_to_outbox(conn: Conn, *, ts: str, destination: str, text: str, kind: str) -> int:
    """Store one message of the outbox gateway; returns its ``sms_id``."""
    cursor = conn.execute(
        "INSERT INTO sms_outbox (ts, destination, text, kind) VALUES (?, ?, ?, ?)",
        (ts, destination, text, kind),
    )
    return int(cursor.lastrowid or 0)


@guarded
def recent_outbox(conn: Conn, limit: int = 10) -> list[dict[str, Any]]:
    """The newest outbox messages first: ``[{"ts", "destination", "text", "kind"}, ...]``."""
    rows = conn.execute(
        "SELECT ts, destination, text, kind FROM sms_outbox ORDER BY sms_id DESC LIMIT ?", (int(limit),)
    ).fetchall()
    return [dict(row) for row in rows]
