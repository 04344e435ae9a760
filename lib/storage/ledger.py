"""Ledger inputs: arrears and adjustments an account entered (tables of migration 0003_ledger)."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

import pandas as pd

from lib.storage.accounts import ALLOWED as _ALLOWED

# --- ledger: arrears and adjustments (tables of migration 0003_ledger; writes in lib.ledger) ----


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
