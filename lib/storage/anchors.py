"""Balance anchors: a balance the household typed in ("balance on <date>"), table of migration 0005.

A connection whose meter data carries no balance has an unknown balance until an anchor gives the
ledger a starting point (:func:`lib.ledger.build_ledger` estimates forward from it). Writes check the
link in SQL, in the same statement that inserts, so a forged consumer ID writes nothing:

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     _ = storage.consumers.upsert_consumers(
...         conn, [{"consumer_id": "101", "name": "Asha", "registered_mobile": "+919876543210"}])
...     account = storage.accounts.create_account(conn, "+919876543210", now="2026-01-01T00:00:00Z")
...     storage.accounts.insert_link(conn, account, "101", "Home", now="2026-01-01T00:00:00Z")
...     mine = insert_anchor(conn, account, "101", "2026-11-20", 412.5, now="2026-11-25T06:30:00Z")
...     forged = insert_anchor(conn, account, "999", "2026-11-20", 412.5, now="2026-11-25T06:30:00Z")
...     mine, forged, anchors_frame(conn, account)[["consumer_id", "day", "balance_inr"]].values.tolist()
(1, None, [['101', '2026-11-20', 412.5]])
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lib.frames import for_connections
from lib.storage.accounts import ALLOWED as _ALLOWED
from lib.storage.engine import Conn, transaction
from lib.storage.engine import now_ts as _now_ts
from lib.storage.meta import bump_data_version


def insert_anchor(
    conn: Conn, account_id: int, consumer_id: str, day: str, balance_inr: float, *, now: str | None = None
) -> int | None:
    """Store the balance at the start of IST day ``day`` (YYYY-MM-DD) of a linked connection.

    Returns the new ``anchor_id``, or None when the account has no active link to ``consumer_id``.
    Values are checked by the caller (:func:`lib.ledger.add_balance_anchor`); the table's CHECK
    refuses a balance beyond ±₹10 lakh.
    """
    with transaction(conn):
        anchor_id = conn.execute(
            f"WITH {_ALLOWED} INSERT INTO balance_anchors (consumer_id, day, balance_inr, created_by, created_at) "
            "SELECT consumer_id, :day, :balance, :account_id, :now FROM allowed WHERE consumer_id = :consumer_id "
            "RETURNING anchor_id",
            {
                "account_id": account_id,
                "consumer_id": consumer_id,
                "day": day,
                "balance": balance_inr,
                "now": now or _now_ts(),
            },
        ).scalar_one_or_none()
        if anchor_id is None:
            return None
        bump_data_version(conn, [consumer_id])
        return int(anchor_id)


def delete_anchor(conn: Conn, account_id: int, anchor_id: int) -> bool:
    """Remove an anchor of a connection the account follows; False when there is no such anchor for it."""
    with transaction(conn):
        deleted = conn.execute(
            f"WITH {_ALLOWED} DELETE FROM balance_anchors WHERE anchor_id = :anchor_id "
            "AND consumer_id IN (SELECT consumer_id FROM allowed) RETURNING anchor_id",
            {"account_id": account_id, "anchor_id": int(anchor_id)},
        ).fetchall()
        if len(deleted) != 1:
            return False
        bump_data_version(conn)
        return True


def anchors_frame(conn: Conn, account_id: int, consumer_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Anchors of the account's linked connections, in the order entered per day.

    Columns: anchor_id, consumer_id, day (IST date text), balance_inr, created_at.
    """
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT b.anchor_id, b.consumer_id, b.day, b.balance_inr, b.created_at
        FROM balance_anchors b JOIN allowed a ON a.consumer_id = b.consumer_id
        ORDER BY b.consumer_id, b.day, b.anchor_id
        """,
        {"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = for_connections(frame, consumer_ids)
    return frame


def consumer_anchors_frame(conn: Conn, consumer_id: str) -> pd.DataFrame:
    """Operator read (CLI, no account): one connection's anchors, columns as :func:`anchors_frame`."""
    return conn.frame(
        "SELECT anchor_id, consumer_id, day, balance_inr, created_at FROM balance_anchors "
        "WHERE consumer_id = :consumer_id ORDER BY day, anchor_id",
        {"consumer_id": consumer_id},
    )
