"""The append-only audit trail of sign-in, OTP, SMS and linking events, and of the ledger entries a
household adds and deletes (arrears, adjustments).

One row per event, UTC time, who (account), what (consumer ID), where (masked destination). Never the
OTP, never the key, never a full mobile number: destinations are masked here, and free text is
stripped of control characters (no log injection). The table refuses UPDATE and DELETE (triggers in
the ``0002_auth`` migration). The rows live in ``lib.storage.audit``; this module keeps the rules.

>>> from lib.storage.engine import open_db
>>> with open_db(":memory:") as conn:
...     record(conn, "link_created", account_id=7, consumer_id="101", destination="+919876543210",
...            now="2026-11-25T06:30:00Z")
...     row = recent(conn, limit=1)[0]
>>> row["event"], row["destination_masked"], row["ts"]
('link_created', '+91 ••••••••10', '2026-11-25T06:30:00Z')
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from lib.clock import now_utc, to_ts
from lib.phone import mask_mobile

if TYPE_CHECKING:
    from lib.storage import Database

EVENTS = frozenset(
    {
        "login_ok",
        "login_failed",
        "sign_out",
        "otp_sent",
        "otp_failed",
        "otp_dead",
        "otp_reuse",
        "otp_expired",
        "rate_limited",
        "link_created",
        "link_removed",
        "sms_sent",
        "sms_failed",
        "sms_budget_half",
        "sms_budget_exhausted",
        "arrear_added",
        "arrear_deleted",
        "adjustment_added",
        "adjustment_deleted",
    }
)

MAX_FIELD_CHARS = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_E164 = re.compile(r"\+?\d{10,15}")


def clean(value: object, *, limit: int = MAX_FIELD_CHARS, mask_numbers: bool = True) -> str | None:
    """Text safe for one audit field: control characters (CR, LF, NUL, ...) become spaces, long text is cut,
    and anything that looks like a full phone number is masked.

    >>> clean("bad\\r\\nevent=login_ok")
    'bad  event=login_ok'
    >>> clean("call 9876543210")
    'call ••••••••10'
    """
    if value is None:
        return None
    text = _CONTROL.sub(" ", str(value))[:limit]
    if not mask_numbers:
        return text
    return _E164.sub(lambda m: "•" * (len(m.group()) - 2) + m.group()[-2:], text)


def record(
    conn: Database,
    event: str,
    *,
    account_id: int | None = None,
    consumer_id: str | None = None,
    destination: str | None = None,
    challenge_id: str | None = None,
    outcome: str | None = None,
    reason: str | None = None,
    gateway_ref: str | None = None,
    now: str | None = None,
) -> None:
    """Append one audit row (no transaction of its own: callers put it in theirs).

    ``destination`` is a full E.164 mobile or an already masked one; only the masked form is stored.
    Raises ``ValueError`` for an event outside ``EVENTS``, ``storage.StorageError`` when the write fails.
    """
    if event not in EVENTS:
        raise ValueError(f"unknown audit event {event!r}")
    masked = None
    if destination:
        masked = destination if "•" in destination else mask_mobile(destination)
    conn.audit.append(
        {
            "ts": now or to_ts(now_utc()),
            "event": event,
            "account_id": account_id,
            "consumer_id": clean(consumer_id, limit=40, mask_numbers=False),
            "destination_masked": clean(masked, limit=20, mask_numbers=False),
            "challenge_id": clean(challenge_id, limit=64, mask_numbers=False),
            "outcome": clean(outcome),
            "reason": clean(reason),
            "gateway_ref": clean(gateway_ref),
        },
    )


def recent(
    conn: Database,
    *,
    limit: int = 50,
    event: str | None = None,
    account_id: int | None = None,
) -> list[dict[str, Any]]:
    """The newest audit rows first (dicts of every ``audit`` column), optionally of one event or one
    account (operators and tests)."""
    return conn.audit.recent(limit=limit, event=event, account_id=account_id)


def count(conn: Database, event: str, **match: Any) -> int:
    """How many rows of ``event`` (optionally matching columns exactly): ``count(conn, "otp_sent", account_id=3)``.

    Raises ``ValueError`` for a column that cannot be matched.
    """
    return conn.audit.count(event, match)
