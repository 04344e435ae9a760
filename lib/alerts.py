"""Low-balance alerts: a rule per account, the warning on every page, and at most one SMS a day per connection.

A connection is low (:func:`is_low`, the one answer the Overview card, the banner on every page and
the SMS all use) when its balance is exhausted, it has fewer than ``min_days_left`` days of balance
left (default 3) or its balance is below ``min_balance_inr`` (default ₹100). Balances come from the
ledger (the meter's balance, or the ledger's estimate for a connection that reports none) and days left
from the tariff simulation (:func:`lib.forecast.run_out` via :func:`lib.ledger.balance_outlook`): free
units from the 1st, slabs, fixed charge, duty, rebate and arrears, not a straight line. Only the account's linked, active connections are ever read
(:mod:`lib.storage`, which also holds the rule and the SMS log: :mod:`lib.storage.alerts`).

>>> rule = AlertRule(min_days_left=3, min_balance_inr=100)
>>> import pandas as pd
>>> outlook = pd.DataFrame({"consumer_id": ["1", "2"], "nickname": ["Home", "Shop"],
...     "balance_inr": [250.0, 900.0], "days_left": [2.5, 12.0], "estimated": [False, False]})
>>> [(a.nickname, a.reason) for a in low_balances(outlook, rule)]
[('Home', 'days')]
>>> sms_text(low_balances(outlook, rule)[0], "en")
'MeterMitra: Home has about 2 days of balance left (₹250.00). Please recharge in time.'

The SMS carries the nickname and days left, never a link (TRAI blocks unregistered URLs, and a
message with a link teaches people to tap links in SMS). ``send_low_balance_alerts`` is what
``python -m lib.cli send-alerts`` runs from a scheduler: idempotent for an IST day.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pandas as pd

from lib import analytics, i18n, ledger, sms, tariff
from lib.clock import from_ts, now_utc, to_ts, today_ist
from lib.config import Settings

if TYPE_CHECKING:
    from lib.storage import Database

DEFAULT_MIN_DAYS_LEFT = analytics.LOW_DAYS_LEFT  # the Overview's "low" too
DEFAULT_MIN_BALANCE_INR = 100.0
MAX_MIN_DAYS_LEFT = 60.0
MAX_MIN_BALANCE_INR = 100_000.0
SMS_KIND = "low_balance"
NICKNAME_SMS_CHARS = 24


class AlertRuleError(ValueError):
    """A rule value out of range; ``str(error)`` is a catalog key the page shows."""


@dataclass(frozen=True)
class AlertRule:
    """When to warn an account: fewer than ``min_days_left`` days, or below ``min_balance_inr`` ₹."""

    min_days_left: float = DEFAULT_MIN_DAYS_LEFT
    min_balance_inr: float = DEFAULT_MIN_BALANCE_INR
    sms_enabled: bool = True


@dataclass(frozen=True)
class LowBalance:
    """One linked connection that needs a recharge soon."""

    consumer_id: str
    nickname: str
    balance_inr: float
    days_left: float  # NaN when the daily deduction is not known yet; 0 when exhausted
    estimated: bool  # the balance is the ledger's estimate, not the meter's
    reason: str  # "exhausted", "days" or "balance"


# --- the rule ---------------------------------------------------------------------------------------


def alert_rule(conn: Database, account_id: int) -> AlertRule:
    """The account's rule (the defaults when it never set one); ``StorageError`` when it cannot be read."""
    row = conn.alerts.alert_rule_row(account_id)
    return AlertRule() if row is None else AlertRule(*row)


def set_alert_rule(
    conn: Database,
    account_id: int,
    *,
    min_days_left: float,
    min_balance_inr: float,
    sms_enabled: bool = True,
    now: str | None = None,
) -> AlertRule:
    """Save the account's rule; :class:`AlertRuleError` (catalog key) for a value out of range.

    >>> from lib import storage
    >>> with storage.open_db(":memory:") as conn:
    ...     account = conn.accounts.create_account("+919876543210", now="2026-01-01T00:00:00Z")
    ...     set_alert_rule(conn, account, min_days_left=5, min_balance_inr=200, now="2026-11-25T06:30:00Z")
    AlertRule(min_days_left=5.0, min_balance_inr=200.0, sms_enabled=True)
    """
    try:
        days, rupees = float(min_days_left), float(min_balance_inr)
    except (TypeError, ValueError) as error:
        raise AlertRuleError("alerts_error_rule") from error
    if not (math.isfinite(days) and 0 <= days <= MAX_MIN_DAYS_LEFT):
        raise AlertRuleError("alerts_error_days")
    if not (math.isfinite(rupees) and 0 <= rupees <= MAX_MIN_BALANCE_INR):
        raise AlertRuleError("alerts_error_balance")
    rule = AlertRule(round(days, 1), round(rupees, 2), bool(sms_enabled))
    conn.alerts.upsert_alert_rule(
        account_id,
        min_days_left=rule.min_days_left,
        min_balance_inr=rule.min_balance_inr,
        sms_enabled=rule.sms_enabled,
        now=now or to_ts(now_utc()),
    )
    return rule


# --- which connections are low ------------------------------------------------------------------------


def is_low(balance_inr: float, days_left: float | None, rule: AlertRule) -> str | None:
    """Is this connection low? Why under ``rule`` ("exhausted", "days" or "balance"), or None when not.

    ``balance_inr`` is the latest balance, metered or the ledger's estimate (NaN when nothing is known:
    never low); ``days_left`` the days of balance left at the recent deduction (NaN or None when the
    deduction is not known yet, ``inf`` when nothing is being deducted). Exhausted (₹0 or less) comes
    first, then fewer than ``rule.min_days_left`` days, then a balance below ``rule.min_balance_inr``:

    >>> rule = AlertRule(min_days_left=3, min_balance_inr=100)
    >>> is_low(250.0, 2.5, rule), is_low(80.0, 12.0, rule), is_low(-5.0, math.nan, rule)
    ('days', 'balance', 'exhausted')
    >>> is_low(900.0, 12.0, rule), is_low(math.nan, 1.0, rule), is_low(150.0, math.inf, rule)
    (None, None, None)
    """
    balance = float(balance_inr)
    if math.isnan(balance):
        return None
    days = math.nan if days_left is None else float(days_left)
    if balance <= 0:
        return "exhausted"
    if not math.isnan(days) and days < rule.min_days_left:
        return "days"
    if balance < rule.min_balance_inr:
        return "balance"
    return None


_URGENCY = {"exhausted": 0, "days": 1, "balance": 2}


def low_balances(outlook: pd.DataFrame, rule: AlertRule) -> list[LowBalance]:
    """The connections of ``outlook`` (:func:`lib.ledger.balance_outlook`) that :func:`is_low` under the rule.

    Most urgent first (exhausted, then fewest days left), ties in the outlook's order. A connection
    with no known balance is never "low": nothing is known about it.
    """
    found: list[tuple[int, float, int, LowBalance]] = []
    row: Any  # itertuples rows: attribute types come from the frame's columns
    for position, row in enumerate(outlook.itertuples(index=False)):
        reason = is_low(row.balance_inr, row.days_left, rule)
        if reason is None:
            continue
        balance = float(row.balance_inr)
        days = float(row.days_left) if row.days_left is not None else math.nan
        alert = LowBalance(
            consumer_id=str(row.consumer_id),
            nickname=str(row.nickname),
            balance_inr=balance,
            days_left=0.0 if reason == "exhausted" else days,
            estimated=bool(getattr(row, "estimated", False)),
            reason=reason,
        )
        found.append((_URGENCY[reason], days if not math.isnan(days) else math.inf, position, alert))
    return [alert for *_, alert in sorted(found, key=lambda item: item[:3])]


def ledger_low_balances(
    ledger_rows: pd.DataFrame,
    details: pd.DataFrame,
    rule: AlertRule,
    today: dt.date,
    *,
    arrears: pd.DataFrame | None = None,
    book: tariff.TariffBook | None = None,
) -> list[LowBalance]:
    """Low connections of a ledger (:func:`lib.ledger.load_ledger`) on IST ``today``, most urgent first.

    Days left come from the tariff simulation (:func:`lib.forecast.run_out`, through
    :func:`lib.ledger.balance_outlook`): what the banner on every page, the Overview cards and the SMS
    job all ask.
    """
    outlook = ledger.balance_outlook(ledger_rows, details, today, arrears=arrears, book=book)
    return low_balances(outlook, rule)


def account_low_balances(conn: Database, account_id: int, *, now: str | None = None) -> list[LowBalance]:
    """Low connections of one account under its rule, from its own ledger (authorized reads only)."""
    today = today_ist(from_ts(now)) if now else today_ist()
    rule = alert_rule(conn, account_id)
    book = tariff.load_tariffs()
    rows = ledger.load_ledger(conn, account_id, today=today, book=book)
    details = conn.accounts.connection_details(account_id)
    arrears = conn.ledger.arrears_frame(account_id)
    return ledger_low_balances(rows, details, rule, today, arrears=arrears, book=book)


# --- the SMS --------------------------------------------------------------------------------------------

_LINKISH = re.compile(r"(?i)https?|www|[./:@\\]")


def sms_nickname(nickname: str) -> str:
    """The nickname as it may appear in an SMS: nothing that reads as a link, at most 24 characters.

    >>> sms_nickname("bit.ly/win-prize"), sms_nickname("घर")
    ('bit ly win-prize', 'घर')
    """
    cleaned = " ".join(_LINKISH.sub(" ", nickname).split())
    return cleaned[:NICKNAME_SMS_CHARS].strip() or "-"


def sms_text(alert: LowBalance, lang: str) -> str:
    """The alert SMS in the account's language: nickname, days left, balance; no link."""
    values: dict[str, Any] = {
        "nickname": sms_nickname(alert.nickname),
        "balance": i18n.format_money(alert.balance_inr, lang),
    }
    if alert.reason == "exhausted":
        key = "alerts_sms_exhausted"
    elif not math.isfinite(alert.days_left):
        key = "alerts_sms_low_balance"
    else:
        values["days"] = max(0, math.floor(alert.days_left))
        key = "alerts_sms_days_left"
    return i18n.t(key, lang, **values)


@dataclass(frozen=True)
class AlertRun:
    """What one ``send-alerts`` run did."""

    accounts: int = 0
    sent: int = 0
    already_sent: int = 0
    failed: int = 0
    sms_off: int = 0


class AlertsBusy(RuntimeError):
    """Another ``send-alerts`` of the same shard is running (it holds the lease)."""


# How long one run may hold its lease; a run that dies leaves it to expire (a new run starts after that).
LEASE = dt.timedelta(hours=1)
# Accounts read per batch (the job streams a DISCOM's accounts instead of loading them all).
BATCH = 500


def send_low_balance_alerts(
    conn: Database,
    settings: Settings,
    *,
    now: str | None = None,
    shard: tuple[int, int] = (0, 1),
    holder: str | None = None,
) -> AlertRun:
    """SMS every account about its low connections, at most once per account, connection and IST day.

    Safe to run again (a scheduler every hour, two runs at once): a connection's alert is reserved in
    ``alerts_sent`` under the write lock before the SMS goes, so a second run skips it; a failed send
    is retried by the next run the same day. Accounts only ever hear about their own active links.

    One run per shard at a time (issue 12): the run holds the lease ``send-alerts:<i>/<n>`` (a ``meta`` row,
    so it works across servers on PostgreSQL) and raises :class:`AlertsBusy` at once when another run
    holds it. ``shard=(i, n)``: only accounts with ``account_id % n == i``; accounts are read ``BATCH`` at a time.
    """
    ts = now or to_ts(now_utc())
    index, count = shard
    if not 0 <= index < count:
        raise ValueError(f"shard {index}/{count}: need 0 <= i < n")
    lease = f"send-alerts:{index}/{count}"
    holder = holder or f"{os.getpid()}-{secrets.token_hex(4)}"
    until = to_ts(from_ts(ts) + LEASE)
    if not conn.meta.take_lease(lease, holder, now=ts, until=until):
        raise AlertsBusy(lease)
    try:
        return _send_all(conn, settings, ts, shard)
    finally:
        conn.meta.release_lease(lease, holder)


def _accounts(conn: Database, shard: tuple[int, int]) -> Iterator[dict[str, Any]]:
    after = 0
    while True:
        batch = conn.accounts.accounts_with_active_links(after=after, limit=BATCH, shard=shard)
        yield from batch
        if len(batch) < BATCH:
            return
        after = int(batch[-1]["account_id"])


def _send_all(conn: Database, settings: Settings, ts: str, shard: tuple[int, int]) -> AlertRun:
    day = today_ist(from_ts(ts)).isoformat()
    counts = {"accounts": 0, "sent": 0, "already_sent": 0, "failed": 0, "sms_off": 0}
    for account in _accounts(conn, shard):
        account_id = int(account["account_id"])
        counts["accounts"] += 1
        alerts = account_low_balances(conn, account_id, now=ts)
        if not alerts:
            continue
        if not alert_rule(conn, account_id).sms_enabled:
            counts["sms_off"] += len(alerts)
            continue
        lang = i18n.normalise_language(account["language"])
        for alert in alerts:
            text = sms_text(alert, lang)
            if not _reserve(conn, account_id, alert, day, ts):
                counts["already_sent"] += 1
                continue
            try:
                result = sms.send_sms(conn, settings, account["mobile"], text, kind=SMS_KIND, now=ts)
            except Exception as error:  # noqa: BLE001 - mark the reservation failed so a later run retries
                result = sms.SendResult(ok=False, gateway=settings.sms_gateway, error=type(error).__name__)
            if not result.ok:
                conn.alerts.mark_alert_failed(account_id, alert.consumer_id, day)
                counts["failed"] += 1
            else:
                counts["sent"] += 1
    return AlertRun(**counts)


def _reserve(conn: Database, account_id: int, alert: LowBalance, day: str, ts: str) -> bool:
    """Claim today's alert for (account, connection); False when it was sent already (or is being sent)."""
    days_left = None if math.isnan(alert.days_left) or math.isinf(alert.days_left) else alert.days_left
    return conn.alerts.reserve_alert(
        account_id,
        alert.consumer_id,
        day=day,
        ts=ts,
        days_left=days_left,
        balance_inr=alert.balance_inr,
    )


def alerts_sent_on(conn: Database, account_id: int, day: str) -> list[dict[str, Any]]:
    """The account's alert log of one IST day (``YYYY-MM-DD``): consumer_id, sent_at, days_left, outcome."""
    return conn.alerts.alerts_sent_on(account_id, day)
