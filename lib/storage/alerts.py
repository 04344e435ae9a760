"""Low-balance alerts: each account's rule and the log of alert SMS (tables of migration 0004).

The rule (when to warn) and the decision (which connection is low) are :mod:`lib.alerts`'; here are
the rows. ``reserve_alert`` is what makes ``send-alerts`` safe to run twice: the day's row for an
account and connection is claimed under the write lock before the SMS goes.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     account = storage.accounts.create_account(conn, "+919876543210", now="2026-01-01T00:00:00Z")
...     before = alert_rule_row(conn, account)
...     upsert_alert_rule(conn, account, min_days_left=5.0, min_balance_inr=200.0, sms_enabled=True,
...                       now="2026-11-25T06:30:00Z")
...     before, alert_rule_row(conn, account)
(None, (5.0, 200.0, True))
"""

from __future__ import annotations

from typing import Any

from lib.storage.accounts import is_linked
from lib.storage.engine import Conn, raises_storage_error, transaction
from lib.storage.engine import now_ts as _now_ts


@raises_storage_error
def alert_rule_row(conn: Conn, account_id: int) -> tuple[float, float, bool] | None:
    """(min_days_left, min_balance_inr ₹, sms_enabled) the account saved, or None when it never set one."""
    row = conn.execute(
        "SELECT min_days_left, min_balance_inr, sms_enabled FROM alert_rules WHERE account_id = :account_id",
        {"account_id": account_id},
    ).fetchone()
    return None if row is None else (float(row[0]), float(row[1]), bool(row[2]))


@raises_storage_error
def upsert_alert_rule(
    conn: Conn,
    account_id: int,
    *,
    min_days_left: float,
    min_balance_inr: float,
    sms_enabled: bool,
    now: str | None = None,
) -> None:
    """Save the account's rule (values already checked by :func:`lib.alerts.set_alert_rule`), in its own
    transaction."""
    with transaction(conn):
        conn.execute(
            "INSERT INTO alert_rules (account_id, min_days_left, min_balance_inr, sms_enabled, updated_at) "
            "VALUES (:account_id, :min_days_left, :min_balance_inr, :sms_enabled, :now) "
            "ON CONFLICT (account_id) DO UPDATE SET "
            "min_days_left = excluded.min_days_left, min_balance_inr = excluded.min_balance_inr, "
            "sms_enabled = excluded.sms_enabled, updated_at = excluded.updated_at",
            {
                "account_id": account_id,
                "min_days_left": min_days_left,
                "min_balance_inr": min_balance_inr,
                "sms_enabled": int(sms_enabled),
                "now": _now_ts(now),
            },
        )


@raises_storage_error
def reserve_alert(
    conn: Conn,
    account_id: int,
    consumer_id: str,
    *,
    day: str,
    ts: str,
    days_left: float | None,
    balance_inr: float,
) -> bool:
    """Claim the alert of (account, connection, IST ``day``); False when it was sent already (or is being
    sent by another run) or the account no longer follows the connection. A send that failed earlier the
    same day is claimed again (its row goes back to ``sent``)."""
    values = {
        "account_id": account_id,
        "consumer_id": consumer_id,
        "day": day,
        "ts": ts,
        "days_left": days_left,
        "balance_inr": balance_inr,
    }
    with transaction(conn):
        if not is_linked(conn, account_id, consumer_id):
            return False
        inserted = conn.execute(
            "INSERT INTO alerts_sent (account_id, consumer_id, day, sent_at, days_left, balance_inr, outcome) "
            "VALUES (:account_id, :consumer_id, :day, :ts, :days_left, :balance_inr, 'sent') "
            "ON CONFLICT (account_id, consumer_id, day) DO NOTHING",
            values,
        ).rowcount
        if inserted:
            return True
        retried = conn.execute(
            "UPDATE alerts_sent SET outcome = 'sent', sent_at = :ts, days_left = :days_left, "
            "balance_inr = :balance_inr "
            "WHERE account_id = :account_id AND consumer_id = :consumer_id AND day = :day AND outcome = 'failed'",
            values,
        ).rowcount
        return bool(retried)


@raises_storage_error
def mark_alert_failed(conn: Conn, account_id: int, consumer_id: str, day: str) -> None:
    """The SMS of a reserved alert did not go: a later run the same day retries it."""
    with transaction(conn):
        conn.execute(
            "UPDATE alerts_sent SET outcome = 'failed' "
            "WHERE account_id = :account_id AND consumer_id = :consumer_id AND day = :day",
            {"account_id": account_id, "consumer_id": consumer_id, "day": day},
        )


@raises_storage_error
def alerts_sent_on(conn: Conn, account_id: int, day: str) -> list[dict[str, Any]]:
    """The account's alert log of one IST day (``YYYY-MM-DD``): consumer_id, sent_at, days_left,
    balance_inr, outcome."""
    rows = (
        conn.execute(
            "SELECT consumer_id, sent_at, days_left, balance_inr, outcome FROM alerts_sent "
            "WHERE account_id = :account_id AND day = :day ORDER BY consumer_id",
            {"account_id": account_id, "day": day},
        )
        .mappings()
        .all()
    )
    return [dict(r) for r in rows]
