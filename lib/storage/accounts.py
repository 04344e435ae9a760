"""Accounts and links: who signed in, which connections each account linked.

Every read of a connection's data takes the signed-in ``account_id`` and checks the link *in SQL*
(the ``ALLOWED`` CTE below): a forged consumer ID, query parameter or widget value returns nothing.
A link is active only while the consumer's registered mobile is the one the OTP was sent to.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     _ = storage.consumers.upsert_consumers(
...         conn, [{"consumer_id": "101", "name": "Asha", "registered_mobile": "+919876543210"}]
...     )
...     account_id = create_account(conn, "+919876543210", now="2026-01-01T00:00:00Z")
...     insert_link(conn, account_id, "101", "Home", now="2026-01-01T00:00:00Z")
...     [c["nickname"] for c in linked_connections(conn, account_id)]
['Home']
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from lib.storage.engine import Conn, raises_storage_error, transaction
from lib.storage.engine import now_ts as _now_ts
from lib.storage.meta import bump_data_version

ALLOWED = """
allowed AS (
    SELECT l.consumer_id, l.nickname
    FROM links l JOIN consumers c ON c.consumer_id = l.consumer_id
    WHERE l.account_id = :account_id AND l.mobile_at_link = c.registered_mobile
)"""


# --- accounts ---------------------------------------------------------------------------------


def account_by_mobile(conn: Conn, mobile_e164: str) -> dict[str, Any] | None:
    row = (
        conn.execute("SELECT * FROM accounts WHERE mobile = :mobile", {"mobile": mobile_e164})
        .mappings()
        .first()
    )
    return dict(row) if row else None


def account_by_id(conn: Conn, account_id: int) -> dict[str, Any] | None:
    row = (
        conn.execute("SELECT * FROM accounts WHERE account_id = :account_id", {"account_id": account_id})
        .mappings()
        .first()
    )
    return dict(row) if row else None


def create_account(
    conn: Conn,
    mobile_e164: str,
    *,
    language: str = "hi",
    display_name: str | None = None,
    now: str | None = None,
) -> int:
    """Create (or find) the account for a verified mobile; returns its ``account_id``."""
    conn.execute(
        "INSERT INTO accounts (mobile, display_name, language, created_at) "
        "VALUES (:mobile, :display_name, :language, :now) ON CONFLICT (mobile) DO NOTHING",
        {"mobile": mobile_e164, "display_name": display_name, "language": language, "now": _now_ts(now)},
    )
    return int(
        conn.execute(
            "SELECT account_id FROM accounts WHERE mobile = :mobile", {"mobile": mobile_e164}
        ).scalar_one()
    )


@raises_storage_error
def set_account_language(conn: Conn, account_id: int, language: str) -> None:
    conn.execute(
        "UPDATE accounts SET language = :language WHERE account_id = :account_id",
        {"language": language, "account_id": account_id},
    )


# --- links ------------------------------------------------------------------------------------


def insert_link(
    conn: Conn,
    account_id: int,
    consumer_id: str,
    nickname: str,
    *,
    now: str | None = None,
) -> None:
    """Link a connection to an account (no transaction of its own: the OTP consume wraps it).

    Re-linking (after a registered-mobile change) refreshes the proof and keeps the nickname given now.
    """
    conn.execute(
        """
        INSERT INTO links (account_id, consumer_id, nickname, linked_at, mobile_at_link)
        SELECT :account_id, consumer_id, :nickname, :now, registered_mobile FROM consumers
        WHERE consumer_id = :consumer_id
        ON CONFLICT (account_id, consumer_id) DO UPDATE SET
            nickname = excluded.nickname, linked_at = excluded.linked_at,
            mobile_at_link = excluded.mobile_at_link
        """,
        {"account_id": account_id, "nickname": nickname, "now": _now_ts(now), "consumer_id": consumer_id},
    )
    bump_data_version(conn, [consumer_id])


def is_linked(conn: Conn, account_id: int, consumer_id: str) -> bool:
    """Whether ``account_id`` may read ``consumer_id`` now (active link)."""
    row = conn.execute(
        f"WITH {ALLOWED} SELECT 1 FROM allowed WHERE consumer_id = :consumer_id",
        {"account_id": account_id, "consumer_id": consumer_id},
    ).fetchone()
    return row is not None


@raises_storage_error
def linked_connections(conn: Conn, account_id: int) -> list[dict[str, Any]]:
    """Every connection the account follows, in the order linked, with ``active`` False when stale.

    Stale = the consumer's registered mobile changed after the link: the row is listed (so the
    household can re-verify or remove it) but its data is not readable.
    """
    rows = conn.execute(
        """
        SELECT l.consumer_id, l.nickname, l.linked_at, c.name, c.tariff_category,
               c.sanctioned_load_kw, c.division, c.meter_serial,
               (l.mobile_at_link = c.registered_mobile) AS active
        FROM links l JOIN consumers c ON c.consumer_id = l.consumer_id
        WHERE l.account_id = :account_id
        ORDER BY l.linked_at, l.consumer_id
        """,
        {"account_id": account_id},
    ).mappings()
    return [{**row, "active": bool(row["active"])} for row in rows]


def rename_link(conn: Conn, account_id: int, consumer_id: str, nickname: str) -> bool:
    """Change a nickname; False when the account has no such link."""
    with transaction(conn):
        cur = conn.execute(
            "UPDATE links SET nickname = :nickname WHERE account_id = :account_id AND consumer_id = :consumer_id",
            {"nickname": nickname, "account_id": account_id, "consumer_id": consumer_id},
        )
        if cur.rowcount:
            bump_data_version(conn, [consumer_id])
    return cur.rowcount == 1


def delete_link(conn: Conn, account_id: int, consumer_id: str) -> bool:
    """Remove a link (no transaction of its own, so the caller can audit in the same one)."""
    cur = conn.execute(
        "DELETE FROM links WHERE account_id = :account_id AND consumer_id = :consumer_id",
        {"account_id": account_id, "consumer_id": consumer_id},
    )
    if cur.rowcount:
        bump_data_version(conn, [consumer_id])
    return cur.rowcount == 1


@raises_storage_error
def connection_details(conn: Conn, account_id: int) -> pd.DataFrame:
    """Linked, active connections with tariff facts (one row each, in link order)."""
    return conn.frame(
        f"""
        WITH {ALLOWED}
        SELECT c.consumer_id, a.nickname, c.name, c.tariff_category, c.sanctioned_load_kw,
               c.division, c.meter_serial, l.linked_at
        FROM allowed a
        JOIN consumers c ON c.consumer_id = a.consumer_id
        JOIN links l ON l.consumer_id = a.consumer_id AND l.account_id = :account_id
        ORDER BY l.linked_at, c.consumer_id
        """,
        {"account_id": account_id},
    )


def accounts_with_active_links(
    conn: Conn, *, after: int = 0, limit: int | None = None, shard: tuple[int, int] = (0, 1)
) -> list[dict[str, Any]]:
    """Accounts that follow at least one connection with an active link (for the alert job): account_id,
    mobile, language; ordered by account_id.

    ``after`` and ``limit`` page through them (account_id > after, at most ``limit``), so the job streams
    a DISCOM's accounts in batches; ``shard=(i, n)`` keeps the accounts with ``account_id % n == i``, so n
    copies of the job on different servers share the work without overlap (``send-alerts --shard i/n``).
    """
    index, count = shard
    rows = conn.execute(
        """
        SELECT ac.account_id, ac.mobile, ac.language
        FROM accounts ac
        WHERE ac.account_id > :after AND ac.account_id % :count = :index
          AND EXISTS (SELECT 1 FROM links l JOIN consumers c
                        ON c.consumer_id = l.consumer_id AND c.registered_mobile = l.mobile_at_link
                      WHERE l.account_id = ac.account_id)
        ORDER BY ac.account_id
        LIMIT :limit
        """,
        {"after": after, "count": count, "index": index, "limit": 2**62 if limit is None else limit},
    ).mappings()
    return [dict(row) for row in rows]
