"""Ledger inputs: arrears and adjustments an account entered (tables of migration 0003_ledger).

Reads and writes take the signed-in ``account_id`` and check the link in SQL; the rules for what may
be entered (amounts, methods, notes) are :mod:`lib.ledger`'s, which calls the writes below.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pandas as pd

from lib.storage.accounts import ALLOWED as _ALLOWED
from lib.storage.accounts import is_linked
from lib.storage.engine import now_ts as _now_ts
from lib.storage.engine import raises_storage_error, transaction
from lib.storage.meta import bump_data_version

# --- ledger: arrears and adjustments (tables of migration 0003_ledger) ----------------------------


@raises_storage_error
def arrears_frame(
    conn: sqlite3.Connection, account_id: int, consumer_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Arrears entered for the account's linked connections, oldest start first.

    Columns: arrear_id, consumer_id, amount_inr, start_day (IST date text), method
    ("recharge_share" / "daily"), share, daily_inr, note, created_at.
    """
    frame = pd.read_sql_query(
        f"""
        WITH {_ALLOWED}
        SELECT ar.arrear_id, ar.consumer_id, ar.amount_inr, ar.start_day, ar.method, ar.share,
               ar.daily_inr, ar.note, ar.created_at
        FROM arrears ar JOIN allowed a ON a.consumer_id = ar.consumer_id
        ORDER BY ar.consumer_id, ar.start_day, ar.arrear_id
        """,
        conn,
        params={"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = frame[frame["consumer_id"].isin(list(consumer_ids))].reset_index(drop=True)
    return frame


@raises_storage_error
def adjustments_frame(
    conn: sqlite3.Connection, account_id: int, consumer_ids: Sequence[str] | None = None
) -> pd.DataFrame:
    """Balance adjustments of the account's linked connections: consumer_id, day, amount_inr (+ credit), reason."""
    frame = pd.read_sql_query(
        f"""
        WITH {_ALLOWED}
        SELECT ad.adjustment_id, ad.consumer_id, ad.day, ad.amount_inr, ad.reason
        FROM adjustments ad JOIN allowed a ON a.consumer_id = ad.consumer_id
        ORDER BY ad.consumer_id, ad.day, ad.adjustment_id
        """,
        conn,
        params={"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = frame[frame["consumer_id"].isin(list(consumer_ids))].reset_index(drop=True)
    return frame


# --- writes (each in its own transaction; the link is checked under the write lock) ----------------


@raises_storage_error
def insert_arrear(
    conn: sqlite3.Connection,
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
    with transaction(conn):
        if not is_linked(conn, account_id, consumer_id):
            return None
        cursor = conn.execute(
            "INSERT INTO arrears (consumer_id, amount_inr, start_day, method, share, daily_inr, note, "
            "created_by, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (consumer_id, amount_inr, start_day, method, share, daily_inr, note, account_id, _now_ts(now)),
        )
        bump_data_version(conn, [consumer_id])
    return int(cursor.lastrowid or 0)


@raises_storage_error
def delete_arrear(conn: sqlite3.Connection, account_id: int, arrear_id: int) -> bool:
    """Remove an arrear of a connection the account follows; False when there is no such arrear for it."""
    with transaction(conn):
        row = conn.execute(
            "SELECT consumer_id FROM arrears WHERE arrear_id = ?", (int(arrear_id),)
        ).fetchone()
        if row is None or not is_linked(conn, account_id, row[0]):
            return False
        conn.execute("DELETE FROM arrears WHERE arrear_id = ?", (int(arrear_id),))
        bump_data_version(conn, [row[0]])
    return True


@raises_storage_error
def insert_adjustment(
    conn: sqlite3.Connection,
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
    with transaction(conn):
        if not is_linked(conn, account_id, consumer_id):
            return None
        cursor = conn.execute(
            "INSERT INTO adjustments (consumer_id, day, amount_inr, reason, created_by, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (consumer_id, day, amount_inr, reason, account_id, _now_ts(now)),
        )
        bump_data_version(conn, [consumer_id])
    return int(cursor.lastrowid or 0)
