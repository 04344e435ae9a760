"""The SMS tables: ``sms_log`` (every attempt on any gateway, without the text; the daily budget counts
it), ``sms_outbox`` (the demo gateway's messages, shown on the camp's phone) and ``sms_queue`` (the http
gateway's messages waiting for the sender; deleted once delivered, failed or expired). The rules (which
gateway, the budget, auditing, the sender's lease) are in ``lib/sms.py``; the budget check and the log row
share the caller's ``transaction`` so two senders cannot both take the last SMS of the day, and a claim is
taken in a transaction so two senders never deliver the same message.

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

from lib.storage import dialect
from lib.storage.engine import Conn, raises_storage_error


@raises_storage_error
def count_attempts(
    conn: Conn,
    start: str,
    end: str,
    kinds: tuple[str, ...] | None = None,
    exclude: tuple[str, ...] = (),
) -> int:
    """SMS attempts logged with ``start <= ts < end`` (stored UTC text), on every gateway; only those of
    ``kinds`` when given, never those of ``exclude`` (the budget's shares, ``lib/sms.py``)."""
    sql = "SELECT count(*) FROM sms_log WHERE ts >= :start AND ts < :end"
    params: dict[str, str] = {"start": start, "end": end}
    if kinds is not None:
        names = [f"kind_{n}" for n in range(len(kinds))]
        # An empty list counts nothing (``IN ()`` is not SQL on PostgreSQL).
        sql += f" AND kind IN ({', '.join(':' + name for name in names)})" if kinds else " AND 1 = 0"
        params.update(zip(names, kinds, strict=True))
    if exclude:
        names = [f"exclude_{n}" for n in range(len(exclude))]
        sql += f" AND kind NOT IN ({', '.join(':' + name for name in names)})"
        params.update(zip(names, exclude, strict=True))
    return int(conn.execute(sql, params).scalar_one())


@raises_storage_error
def log_attempt(conn: Conn, *, ts: str, gateway: str, kind: str, destination_masked: str) -> int:
    """Log one attempt as not (yet) delivered; returns its ``sms_log_id`` for ``finish_attempt``."""
    return int(
        conn.execute(
            "INSERT INTO sms_log (ts, gateway, kind, destination_masked, ok) "
            "VALUES (:ts, :gateway, :kind, :destination_masked, 0) RETURNING sms_log_id",
            {"ts": ts, "gateway": gateway, "kind": kind, "destination_masked": destination_masked},
        ).scalar_one()
    )


@raises_storage_error
def finish_attempt(conn: Conn, log_id: int, *, ok: bool, message_id: str | None, error: str | None) -> None:
    """Record how a logged attempt ended (gateway message ID or the operator's error text)."""
    conn.execute(
        "UPDATE sms_log SET ok = :ok, message_id = :message_id, error = :error WHERE sms_log_id = :log_id",
        {"ok": int(ok), "message_id": message_id, "error": error, "log_id": log_id},
    )


@raises_storage_error
def add_to_outbox(conn: Conn, *, ts: str, destination: str, text: str, kind: str) -> int:
    """Store one message of the outbox gateway; returns its ``sms_id``."""
    return int(
        conn.execute(
            "INSERT INTO sms_outbox (ts, destination, text, kind) VALUES (:ts, :destination, :text, :kind) "
            "RETURNING sms_id",
            {"ts": ts, "destination": destination, "text": text, "kind": kind},
        ).scalar_one()
    )


@raises_storage_error
def recent_outbox(conn: Conn, limit: int = 10) -> list[dict[str, Any]]:
    """The newest outbox messages first: ``[{"ts", "destination", "text", "kind"}, ...]``."""
    rows = (
        conn.execute(
            "SELECT ts, destination, text, kind FROM sms_outbox ORDER BY sms_id DESC LIMIT :limit",
            {"limit": int(limit)},
        )
        .mappings()
        .all()
    )
    return [dict(row) for row in rows]


@raises_storage_error
def enqueue(
    conn: Conn,
    *,
    log_id: int,
    queued_at: str,
    expires_at: str,
    destination: str,
    text: str,
    kind: str,
    challenge_id: str | None,
) -> int:
    """Queue one message of the http gateway for the sender; returns its ``queue_id``."""
    queue_id = conn.execute(
        "INSERT INTO sms_queue (sms_log_id, queued_at, expires_at, destination, text, kind, challenge_id) "
        "VALUES (:log_id, :queued_at, :expires_at, :destination, :text, :kind, :challenge_id) RETURNING queue_id",
        {
            "log_id": log_id,
            "queued_at": queued_at,
            "expires_at": expires_at,
            "destination": destination,
            "text": text,
            "kind": kind,
            "challenge_id": challenge_id,
        },
    ).scalar_one()
    return int(queue_id)


@raises_storage_error
def queued_count(conn: Conn) -> int:
    """Messages in the queue, claimed or not (a cheap look before a sender takes the write lock)."""
    return int(conn.execute("SELECT count(*) FROM sms_queue").scalar_one())


@raises_storage_error
def claim_queued(
    conn: Conn, *, now: str, stale_before: str, claim: str, queue_id: int | None = None
) -> dict[str, Any] | None:
    """Inside the caller's transaction: take the oldest message nobody holds (or whose holder's claim is
    older than ``stale_before``), or the one ``queue_id``, for the claim token ``claim``.

    Returns the row (``queue_id, sms_log_id, queued_at, expires_at, destination, text, kind,
    challenge_id``) or None when there is nothing to take."""
    sql = (
        "SELECT queue_id, sms_log_id, queued_at, expires_at, destination, text, kind, challenge_id "
        "FROM sms_queue WHERE (claimed_at IS NULL OR claimed_at < :stale_before)"
    )
    params: dict[str, Any] = {"stale_before": stale_before}
    if queue_id is not None:
        sql += " AND queue_id = :queue_id"
        params["queue_id"] = queue_id
    # PostgreSQL: two senders on two servers each take a different message (SQLite: the write lock).
    sql += " ORDER BY queue_id LIMIT 1" + dialect.for_update(conn, skip_locked=True)
    row = conn.execute(sql, params).mappings().first()
    if row is None:
        return None
    conn.execute(
        "UPDATE sms_queue SET claimed_at = :now, claimed_by = :claim WHERE queue_id = :queue_id",
        {"now": now, "claim": claim, "queue_id": row["queue_id"]},
    )
    return dict(row)


@raises_storage_error
def finish_queued(conn: Conn, queue_id: int, claim: str) -> bool:
    """Delete a delivered (or failed, or expired) message if the claim ``claim`` still holds it; False
    when another sender took it over meanwhile (that sender reports it)."""
    cursor = conn.execute(
        "DELETE FROM sms_queue WHERE queue_id = :queue_id AND claimed_by = :claim",
        {"queue_id": queue_id, "claim": claim},
    )
    return int(cursor.rowcount) == 1


@raises_storage_error
def reserve_budget(conn: Conn, day: str, share: str, cap: int) -> int | None:
    """Count one more SMS of ``share`` on IST ``day`` if fewer than ``cap`` are counted; returns the new
    count, or None when the cap is reached (nothing counted). One conditional upsert on a counter row
    (migration ``0013_counters``): concurrent senders on any number of servers never pass the cap.

    >>> from lib import storage
    >>> with storage.open_db(":memory:") as conn:
    ...     [reserve_budget(conn, "2026-11-25", "signin", 2) for _ in range(3)], budget_used(conn, "2026-11-25", "signin")
    ([1, 2, None], 2)
    """
    return conn.execute(
        "INSERT INTO sms_budget (day, share, sent) SELECT :day, :share, 1 WHERE :cap > 0 "
        "ON CONFLICT (day, share) DO UPDATE SET sent = sms_budget.sent + 1 WHERE sms_budget.sent < :cap "
        "RETURNING sent",
        {"day": day, "share": share, "cap": int(cap)},
    ).scalar()


@raises_storage_error
def release_budget(conn: Conn, day: str, share: str) -> None:
    """Take back one SMS counted by :func:`reserve_budget` (another share's cap refused the send)."""
    conn.execute(
        "UPDATE sms_budget SET sent = sent - 1 WHERE day = :day AND share = :share AND sent > 0",
        {"day": day, "share": share},
    )


@raises_storage_error
def budget_used(conn: Conn, day: str, share: str) -> int:
    """SMS counted against ``share`` (or ``'all'``) on IST ``day``."""
    value = conn.execute(
        "SELECT sent FROM sms_budget WHERE day = :day AND share = :share", {"day": day, "share": share}
    ).scalar()
    return int(value or 0)
