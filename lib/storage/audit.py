"""The audit table: append rows, read the newest, count events (the rules are in ``lib/audit.py``).

The table refuses UPDATE and DELETE (triggers of the ``0002_auth`` migration); this module has no
function that tries either. Fields arrive already cleaned and masked by ``lib.audit``.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     append(conn, {"ts": "2026-11-25T06:30:00Z", "event": "sign_out", "account_id": 7})
...     count(conn, "sign_out", {"account_id": 7}), recent(conn, limit=1)[0]["event"]
(1, 'sign_out')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lib.storage.engine import Conn, raises_storage_error

COLUMNS = (
    "ts",
    "event",
    "account_id",
    "consumer_id",
    "destination_masked",
    "challenge_id",
    "outcome",
    "reason",
    "gateway_ref",
)
# Columns a count may match exactly (``count(conn, "otp_sent", {"account_id": 3})``).
MATCH_COLUMNS = frozenset({"account_id", "consumer_id", "challenge_id", "outcome", "reason"})


@raises_storage_error
def append(conn: Conn, row: Mapping[str, Any]) -> None:
    """Insert one audit row (keys from ``COLUMNS``; missing ones are NULL). No transaction of its own."""
    conn.execute(
        "INSERT INTO audit (ts, event, account_id, consumer_id, destination_masked, challenge_id, "
        "outcome, reason, gateway_ref) VALUES (:ts, :event, :account_id, :consumer_id, :destination_masked, "
        ":challenge_id, :outcome, :reason, :gateway_ref)",
        {column: row.get(column) for column in COLUMNS},
    )


@raises_storage_error
def recent(
    conn: Conn, *, limit: int = 50, event: str | None = None, account_id: int | None = None
) -> list[dict[str, Any]]:
    """The newest rows first (every column of ``audit``), optionally of one event or one account."""
    where: list[str] = []
    params: dict[str, object] = {"limit": int(limit)}
    if event is not None:
        where.append("event = :event")
        params["event"] = event
    if account_id is not None:
        where.append("account_id = :account_id")
        params["account_id"] = account_id
    clause = ("WHERE " + " AND ".join(where)) if where else ""
    rows = (
        conn.execute(f"SELECT * FROM audit {clause} ORDER BY audit_id DESC LIMIT :limit", params)
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]


@raises_storage_error
def count(conn: Conn, event: str, match: Mapping[str, Any] | None = None) -> int:
    """How many rows of ``event`` whose columns equal ``match`` (``IS``: None matches NULL).

    Raises ``ValueError`` for a column outside ``MATCH_COLUMNS``.
    """
    match = dict(match or {})
    unknown = set(match) - MATCH_COLUMNS
    if unknown:
        raise ValueError(f"cannot filter audit on {sorted(unknown)}")
    # Column names come from MATCH_COLUMNS only (checked above); values are binds.
    clause = "".join(f" AND {column} IS NOT DISTINCT FROM :{column}" for column in match)
    return int(
        conn.execute(
            f"SELECT count(*) FROM audit WHERE event = :event{clause}", {**match, "event": event}
        ).scalar_one()
    )


@raises_storage_error
def exists_between(conn: Conn, event: str, start: str, end: str) -> bool:
    """Whether an ``event`` row has ``start <= ts < end`` (stored UTC text)."""
    row = conn.execute(
        "SELECT 1 FROM audit WHERE event = :event AND ts >= :start AND ts < :end LIMIT 1",
        {"event": event, "start": start, "end": end},
    ).fetchone()
    return row is not None


@raises_storage_error
def exists_between_reason(conn: Conn, event: str, start: str, end: str, reason: str) -> bool:
    """Whether an ``event`` row with this ``reason`` has ``start <= ts < end`` (audit once a day per reason)."""
    row = conn.execute(
        "SELECT 1 FROM audit WHERE event = :event AND ts >= :start AND ts < :end AND reason = :reason LIMIT 1",
        {"event": event, "start": start, "end": end, "reason": reason},
    ).fetchone()
    return row is not None
