"""The ``sessions`` table: one row per signed-in browser (issue 14 section 2). The rules (idle timeout,
absolute lifetime, the keyed hashes) are in ``lib/sessions.py``; this module only reads and writes rows.

A row is created at sign-in with the MAC of a one-time hand-off; the cookie route swaps that for the
MAC of the cookie's token (:func:`claim_handoff`); every run of a signed-in page touches it; sign-out,
idle, lifetime or a camp reset end it.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     account = storage.accounts.create_account(conn, "+910000000001", now="2026-11-25T06:00:00Z")
...     sid = create(conn, account_id=account, handoff_mac="h1", handoff_expires_at="2026-11-25T06:31:00Z",
...                  now="2026-11-25T06:30:00Z")
...     claimed = claim_handoff(conn, "h1", "t1", now="2026-11-25T06:30:10Z")
...     again = claim_handoff(conn, "h1", "t2", now="2026-11-25T06:30:11Z")
...     claimed == sid, again, by_token(conn, "t1")["account_id"] == account
(True, None, True)
"""

from __future__ import annotations

from typing import Any

from lib.storage import dialect
from lib.storage.engine import Conn, raises_storage_error

_COLUMNS = (
    "session_id, account_id, created_at, last_seen_at, ended_at, end_reason,"
    " CAST(token_mac IS NOT NULL AS INTEGER) AS handed_off"
)


@raises_storage_error
def create(conn: Conn, *, account_id: int, handoff_mac: str, handoff_expires_at: str, now: str) -> int:
    """A new live session of ``account_id`` waiting for its hand-off; returns its ``session_id``."""
    return int(
        conn.execute(
            "INSERT INTO sessions (account_id, handoff_mac, handoff_expires_at, created_at, last_seen_at)"
            " VALUES (:account_id, :handoff_mac, :handoff_expires_at, :now, :now) RETURNING session_id",
            {
                "account_id": account_id,
                "handoff_mac": handoff_mac,
                "handoff_expires_at": handoff_expires_at,
                "now": now,
            },
        ).scalar_one()
    )


@raises_storage_error
def claim_handoff(conn: Conn, handoff_mac: str, token_mac: str, *, now: str) -> int | None:
    """Use a hand-off once: a live session whose hand-off is ``handoff_mac`` and not expired at ``now``
    gets ``token_mac`` (and loses the hand-off). Returns its ``session_id``, or None (unknown, used,
    expired or ended)."""
    row = conn.execute(
        "UPDATE sessions SET token_mac = :token_mac, handoff_mac = NULL, handoff_expires_at = NULL"
        " WHERE handoff_mac = :handoff_mac AND handoff_expires_at > :now AND ended_at IS NULL AND token_mac IS NULL"
        " RETURNING session_id",
        {"token_mac": token_mac, "handoff_mac": handoff_mac, "now": now},
    ).fetchone()
    return int(row[0]) if row is not None else None


@raises_storage_error
def by_token(conn: Conn, token_mac: str) -> dict[str, Any] | None:
    """The session whose cookie token has MAC ``token_mac``: ``{session_id, account_id, created_at,
    last_seen_at, ended_at, end_reason, handed_off}``, or None."""
    row = (
        conn.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE token_mac = :token_mac", {"token_mac": token_mac}
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


@raises_storage_error
def by_id(conn: Conn, session_id: int) -> dict[str, Any] | None:
    """The session ``session_id`` (same columns as :func:`by_token`), or None."""
    row = (
        conn.execute(
            f"SELECT {_COLUMNS} FROM sessions WHERE session_id = :session_id", {"session_id": session_id}
        )
        .mappings()
        .first()
    )
    return dict(row) if row is not None else None


@raises_storage_error
def touch(conn: Conn, session_id: int, *, now: str) -> None:
    """Record activity on a live session (the idle timeout counts from ``last_seen_at``)."""
    conn.execute(
        f"UPDATE sessions SET last_seen_at = {dialect.greatest(conn, 'last_seen_at', ':now')} "
        "WHERE session_id = :session_id AND ended_at IS NULL",
        {"now": now, "session_id": session_id},
    )


@raises_storage_error
def end(conn: Conn, session_id: int, *, reason: str, now: str) -> bool:
    """End a live session (its token and hand-off stop working); whether it was live."""
    result = conn.execute(
        "UPDATE sessions SET ended_at = :now, end_reason = :reason, token_mac = NULL, handoff_mac = NULL"
        " WHERE session_id = :session_id AND ended_at IS NULL",
        {"now": now, "reason": reason, "session_id": session_id},
    )
    return bool(result.rowcount > 0)


@raises_storage_error
def end_all(conn: Conn, *, reason: str, now: str) -> int:
    """End every live session (a camp reset); how many were live."""
    result = conn.execute(
        "UPDATE sessions SET ended_at = :now, end_reason = :reason, token_mac = NULL, handoff_mac = NULL"
        " WHERE ended_at IS NULL",
        {"now": now, "reason": reason},
    )
    return int(result.rowcount)


@raises_storage_error
def purge_ended(conn: Conn, *, before: str) -> int:
    """Delete sessions that ended before ``before``; how many went."""
    return int(
        conn.execute(
            "DELETE FROM sessions WHERE ended_at IS NOT NULL AND ended_at < :before", {"before": before}
        ).rowcount
    )
