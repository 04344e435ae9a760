"""Ledger inputs: arrears and adjustments an account entered (tables of migration 0003_ledger).

Reads and writes take the signed-in ``account_id`` and check the link in SQL; the rules for what may
be entered (amounts, methods, notes) are :mod:`lib.ledger`'s, which calls the writes below.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from lib.storage.accounts import ALLOWED as _ALLOWED
from lib.storage.accounts import is_linked
from lib.storage.engine import Conn, raises_storage_error, transaction
from lib.storage.engine import now_ts as _now_ts
from lib.storage.meta import bump_data_version

# --- ledger: arrears and adjustments (tables of migration 0003_ledger) ----------------------------


@raises_storage_error
def arrears_frame(conn: Conn, account_id: int, consumer_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Arrears entered for the account's linked connections, oldest start first.

    Columns: arrear_id, consumer_id, amount_inr, start_day (IST date text), method
    ("recharge_share" / "daily"), share, daily_inr, note, created_at.
    """
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT ar.arrear_id, ar.consumer_id, ar.amount_inr, ar.start_day, ar.method, ar.share,
               ar.daily_inr, ar.note, ar.created_at
        FROM arrears ar JOIN allowed a ON a.consumer_id = ar.consumer_id
        ORDER BY ar.consumer_id, ar.start_day, ar.arrear_id
        """,
        {"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = frame[frame["consumer_id"].isin(list(consumer_ids))].reset_index(drop=True)
    return frame


@raises_storage_error
def adjustments_frame(conn: Conn, account_id: int, consumer_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Balance adjustments of the account's linked connections: consumer_id, day, amount_inr (+ credit), reason."""
    frame = conn.frame(
        f"""
        WITH {_ALLOWED}
        SELECT ad.adjustment_id, ad.consumer_id, ad.day, ad.amount_inr, ad.reason
        FROM adjustments ad JOIN allowed a ON a.consumer_id = ad.consumer_id
        ORDER BY ad.consumer_id, ad.day, ad.adjustment_id
        """,
        {"account_id": account_id},
    )
    if consumer_ids is not None:
        frame = frame[frame["consumer_id"].isin(list(consumer_ids))].reset_index(drop=True)
    return frame


# --- writes (each in its own transaction; the link is checked under the write lock) ----------------


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
    with transaction(conn):
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
def delete_arrear(conn: Conn, account_id: int, arrear_id: int) -> bool:
    """Remove an arrear of a connection the account follows; False when there is no such arrear for it."""
    with transaction(conn):
        row = conn.execute(
            "SELECT consumer_id FROM arrears WHERE arrear_id = :arrear_id", {"arrear_id": int(arrear_id)}
        ).fetchone()
        if row is None or not is_linked(conn, account_id, row[0]):
            return False
        conn.execute("DELETE FROM arrears WHERE arrear_id = :arrear_id", {"arrear_id": int(arrear_id)})
        bump_data_version(conn, [row[0]])
    return True


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
    with transaction(conn):
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
