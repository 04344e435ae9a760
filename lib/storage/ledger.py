"""Ledger inputs: arrears and adjustments a household entered (tables of migration 0003_ledger).

Reads and writes take the signed-in ``account_id`` and check the link in SQL; the rules for what may
be entered (amounts, methods, notes) are :mod:`lib.ledger`'s, which calls the writes below.

Whose they are (issue 13 item 7): an arrear or adjustment belongs to the *connection* (the meter
deducts it whoever typed it in), so every account that follows the connection sees it, with its author
(``created_by``, ``author_mobile``). Only the author may delete it, unless the author no longer follows
the connection (link removed, registered mobile changed, account gone: ``author_follows`` 0); then any
account that follows it may, so no entry is left that nobody can remove.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import pandas as pd

from lib.frames import for_connections
from lib.storage.accounts import ALLOWED as _ALLOWED
from lib.storage.accounts import is_linked
from lib.storage.engine import Conn, raises_storage_error, transaction
from lib.storage.engine import now_ts as _now_ts
from lib.storage.meta import bump_data_version

# Whether the author of entry ``e`` (an arrear or adjustment) still follows its connection: an active
# link, the same test as ``ALLOWED``.
_AUTHOR_FOLLOWS = """EXISTS (
        SELECT 1 FROM links l JOIN consumers c ON c.consumer_id = l.consumer_id
        WHERE l.account_id = e.created_by AND l.consumer_id = e.consumer_id
          AND l.mobile_at_link = c.registered_mobile)"""
_AUTHOR_COLUMNS = (
    f"e.created_by, au.mobile AS author_mobile, CAST({_AUTHOR_FOLLOWS} AS INTEGER) AS author_follows"
)

# --- ledger: arrears and adjustments (tables of migration 0003_ledger) ----------------------------


@raises_storage_error
def arrears_frame(conn: Conn, account_id: int, consumer_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Arrears of the account's linked connections, whoever entered them, oldest start first.

    Columns: arrear_id, consumer_id, amount_inr, start_day (IST date text), method
    ("recharge_share" / "daily"), share, daily_inr, note, created_at, created_by (the author's
    account_id; missing once that account is gone), author_mobile (E.164, missing likewise: mask it before
    showing it), author_follows (1 while the author follows the connection, else 0).
    """
    return _entries(
        conn,
        account_id,
        consumer_ids,
        "arrears",
        "e.arrear_id, e.consumer_id, e.amount_inr, e.start_day, e.method, e.share, e.daily_inr, e.note, "
        "e.created_at",
        "e.consumer_id, e.start_day, e.arrear_id",
    )


@raises_storage_error
def adjustments_frame(conn: Conn, account_id: int, consumer_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Balance adjustments of the account's linked connections, whoever entered them.

    Columns: adjustment_id, consumer_id, day (IST date text), amount_inr (+ credit, − debit), reason,
    created_at, and the author columns of :func:`arrears_frame` (created_by, author_mobile,
    author_follows).
    """
    return _entries(
        conn,
        account_id,
        consumer_ids,
        "adjustments",
        "e.adjustment_id, e.consumer_id, e.day, e.amount_inr, e.reason, e.created_at",
        "e.consumer_id, e.day, e.adjustment_id",
    )


def _entries(
    conn: Conn,
    account_id: int,
    consumer_ids: Sequence[str] | None,
    table: str,
    columns: str,
    order: str,
) -> pd.DataFrame:
    """The entries of ``table`` (arrears or adjustments, aliased ``e``) on the connections the account
    follows, whoever entered them: ``columns`` then the author columns, in ``order``; only
    ``consumer_ids``' when given. The one read both entry frames share (the visibility rule above)."""
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT {columns}, {_AUTHOR_COLUMNS}
        FROM {table} e JOIN allowed a ON a.consumer_id = e.consumer_id
        LEFT JOIN accounts au ON au.account_id = e.created_by
        ORDER BY {order}
        """,
        {"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = for_connections(frame, consumer_ids)
    return frame


# --- writes (in the caller's transaction, else each in its own; the link is checked under the write lock)


def _write_transaction(conn: Conn) -> contextlib.AbstractContextManager[object]:
    """The caller's open transaction (``lib.ledger`` audits the write in it), else one of the write's own."""
    return contextlib.nullcontext(conn) if conn.in_transaction else transaction(conn)


@raises_storage_error
def insert_arrear(
    conn: Conn,
    account_id: int,
    consumer_id: str,
    *,
    amount_inr: float,
    start_day: str,
    method: str,
    share: float | None,
    daily_inr: float | None,
    note: str | None,
    now: str | None = None,
) -> int | None:
    """Store an arrear already checked by :func:`lib.ledger.add_arrear`; its ``arrear_id``, or None when
    the account does not follow ``consumer_id`` (nothing is written). ``start_day`` is an IST date text."""
    with _write_transaction(conn):
        if not is_linked(conn, account_id, consumer_id):
            return None
        arrear_id = conn.execute(
            "INSERT INTO arrears (consumer_id, amount_inr, start_day, method, share, daily_inr, note, "
            "created_by, created_at) VALUES (:consumer_id, :amount_inr, :start_day, :method, :share, "
            ":daily_inr, :note, :account_id, :now) RETURNING arrear_id",
            {
                "consumer_id": consumer_id,
                "amount_inr": amount_inr,
                "start_day": start_day,
                "method": method,
                "share": share,
                "daily_inr": daily_inr,
                "note": note,
                "account_id": account_id,
                "now": _now_ts(now),
            },
        ).scalar_one()
        bump_data_version(conn, [consumer_id])
    return int(arrear_id)


@raises_storage_error
def delete_arrear(conn: Conn, account_id: int, arrear_id: int) -> str | None:
    """Remove an arrear of a connection the account follows, if the account entered it or its author no
    longer follows the connection: the arrear's ``consumer_id``; None otherwise (nothing is deleted)."""
    return _delete_entry(conn, account_id, "arrears", "arrear_id", arrear_id)


@raises_storage_error
def delete_adjustment(conn: Conn, account_id: int, adjustment_id: int) -> str | None:
    """Remove an adjustment under the rule of :func:`delete_arrear`: its ``consumer_id``, or None when the
    account may not (nothing is deleted)."""
    return _delete_entry(conn, account_id, "adjustments", "adjustment_id", adjustment_id)


def _delete_entry(conn: Conn, account_id: int, table: str, key: str, entry_id: int) -> str | None:
    """The one delete rule of this module's docstring. ``table``/``key`` are this module's literals."""
    with _write_transaction(conn):
        row = (
            conn.execute(
                f"""
            WITH {_ALLOWED}
            SELECT e.consumer_id, e.created_by, CAST({_AUTHOR_FOLLOWS} AS INTEGER) AS author_follows
            FROM {table} e JOIN allowed a ON a.consumer_id = e.consumer_id
            WHERE e.{key} = :entry_id
            """,
                {"account_id": account_id, "entry_id": int(entry_id)},
            )
            .mappings()
            .first()
        )
        if row is None or (row["created_by"] != account_id and row["author_follows"]):
            return None
        conn.execute(f"DELETE FROM {table} WHERE {key} = :entry_id", {"entry_id": int(entry_id)})
        bump_data_version(conn, [row["consumer_id"]])
    return str(row["consumer_id"])


@raises_storage_error
def insert_adjustment(
    conn: Conn,
    account_id: int,
    consumer_id: str,
    *,
    day: str,
    amount_inr: float,
    reason: str,
    now: str | None = None,
) -> int | None:
    """Store a balance adjustment (+ credit, − debit) checked by :func:`lib.ledger.add_adjustment`; its
    ``adjustment_id``, or None when the account does not follow ``consumer_id``."""
    with _write_transaction(conn):
        if not is_linked(conn, account_id, consumer_id):
            return None
        adjustment_id = conn.execute(
            "INSERT INTO adjustments (consumer_id, day, amount_inr, reason, created_by, created_at) "
            "VALUES (:consumer_id, :day, :amount_inr, :reason, :account_id, :now) RETURNING adjustment_id",
            {
                "consumer_id": consumer_id,
                "day": day,
                "amount_inr": amount_inr,
                "reason": reason,
                "account_id": account_id,
                "now": _now_ts(now),
            },
        ).scalar_one()
        bump_data_version(conn, [consumer_id])
    return int(adjustment_id)
