"""SMS delivery: one small interface, two gateways chosen by configuration (``[sms] gateway``).

- ``outbox``: every message becomes a row of the ``sms_outbox`` table. The default for local and camp
  use; camp mode shows the newest rows on screen as the phone (``recent_outbox``).
- ``http``: a production gateway for India's DLT rules. A JSON POST to ``[sms.http] url`` with the API
  key from secrets, the DLT entity ID, the template ID of the message kind and the sender ID (header);
  a bounded timeout and a bounded number of retries (stdlib ``urllib``, no extra dependency).

>>> from lib.config import load_settings
>>> from lib.storage import open_db
>>> settings = load_settings(env={"METERMITRA_SMS_GATEWAY": "outbox"}, secrets_path=None)
>>> with open_db(":memory:") as conn:
...     result = send_sms(conn, settings, "+919876543210", "Hello", kind="test", now="2026-11-25T06:30:00Z")
...     result.ok, recent_outbox(conn)[0]["text"]
(True, 'Hello')

Every attempt on any gateway is counted in ``sms_log`` (without the text) against the daily budget
(``[sms] daily_budget``), split into shares so that no one use can drain the others (issue 13 item 3):
sign-in OTPs 40 %, linking (OTPs and link notices) 30 %, alerts and everything else 30 % (``SHARES``).
At half the budget an alert is audited; when a share is used up its sends stop, and that is audited
once a day per share (``sms_budget_exhausted``). Only Indian mobile numbers (+91) are ever sent to.

The outbox gateway is a demo: ``check_sms_configuration`` refuses it with a database that holds real
consumers, and refuses the http gateway in camp mode (a demo instance loads no SMS credentials).

**No page waits on the gateway** (issue 13 item 5): a page queues its message with ``queue_sms`` in the
transaction that opens the OTP challenge (``lib.auth``), so its answer and its time are the same whatever
the gateway does; with the outbox gateway the message is in the outbox at once, with the http gateway
it waits in ``sms_queue`` for a sender, ``deliver_queued``: a thread in each dashboard process
(``run_sender``, started by ``lib.ui.frame``) or ``python -m lib.cli send-outbox``. A sender claims one
message at a time (a claim older than ``CLAIM_LEASE`` is taken over: its sender died), never sends one
past its ``expires_at`` (an OTP's challenge is dead by then), deletes the row when done (the text holds
the OTP; ``sms_log`` keeps the outcome) and audits each failed or expired message once
(``sms_failed``). Nothing is retried after that: the user's "Resend OTP" asks for a new code.
``send_sms`` (the command line's alerts) queues and delivers at once, and answers what happened.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lib import audit
from lib.clock import IST, from_ts, ist_day_bounds, now_utc, to_ts
from lib.config import Settings
from lib.phone import is_demo_mobile, mask_mobile

if TYPE_CHECKING:
    from lib.storage import Database

log = logging.getLogger(__name__)

GATEWAYS = ("outbox", "http")
DEFAULT_TIMEOUT_SECONDS = 4.0
DEFAULT_RETRIES = 1
MAX_TIMEOUT_SECONDS = 10.0
MAX_RETRIES = 3
RETRY_BACKOFF_SECONDS = 0.5
MAX_TEXT_CHARS = 480  # three SMS segments; DLT templates are shorter
# How long a queued message may wait for a sender unless its caller says (an OTP: its challenge's lifetime).
DEFAULT_VALID_FOR = dt.timedelta(days=1)
# A sender's claim on a queued message; an older claim is taken over (its sender died mid-delivery). Longer
# than the slowest delivery: (MAX_RETRIES + 1) timeouts of MAX_TIMEOUT_SECONDS and the back-offs between.
CLAIM_LEASE = dt.timedelta(minutes=2)
SENDER_POLL_SECONDS = 2.0
HTTP_REQUIRED = ("url", "api_key", "entity_id", "sender_id")
# Message kinds that must each have their DLT template ID (other kinds may use [sms.http] template_id).
TEMPLATE_KINDS = ("otp_login", "otp_link", "link_notice")
_INDIAN_MOBILE = re.compile(r"\+91[6-9][0-9]{9}")
# The daily budget's shares (fractions of ``[sms] daily_budget``) and the message kinds of each.
SHARES: dict[str, float] = {"signin": 0.4, "link": 0.3, "alerts": 0.3}
_SHARE_KINDS: dict[str, tuple[str, ...]] = {"signin": ("otp_login",), "link": ("otp_link", "link_notice")}


def share_of(kind: str) -> str:
    """The budget share a message kind draws on.

    >>> share_of("otp_login"), share_of("link_notice"), share_of("low_balance")
    ('signin', 'link', 'alerts')
    """
    return next((share for share, kinds in _SHARE_KINDS.items() if kind in kinds), "alerts")


def share_budget(settings: Settings, share: str) -> int:
    """The daily cap of one share: ``share_budget(settings, "signin") == 400`` for a budget of 1000."""
    return int(settings.sms_daily_budget * SHARES[share])


class SmsConfigurationError(RuntimeError):
    """The SMS configuration is unsafe or incomplete; the app refuses to start a session with it."""


@dataclass(frozen=True)
class SendResult:
    """What happened to one message. ``error`` is for operators (audit), never shown to users."""

    ok: bool
    gateway: str
    message_id: str | None = None
    error: str | None = None
    attempts: int = 1
    queue_id: int | None = None  # queued for the sender (``ok``: accepted, not yet delivered)


@dataclass(frozen=True)
class DeliveryRun:
    """What one ``deliver_queued`` pass did: messages delivered, failed at the gateway, expired unsent."""

    sent: int = 0
    failed: int = 0
    expired: int = 0


def check_sms_configuration(conn: Database, settings: Settings) -> None:
    """Raise ``SmsConfigurationError`` (with a message an operator can act on) when the SMS setup is unsafe.

    >>> from lib.config import load_settings
    >>> from lib.storage.engine import open_db
    >>> with open_db(":memory:") as conn:
    ...     check_sms_configuration(conn, load_settings(env={}, secrets_path=None))  # outbox, no real data
    """
    gateway = settings.sms_gateway
    if gateway not in GATEWAYS:
        raise SmsConfigurationError(
            f"Unknown SMS gateway {gateway!r}: set METERMITRA_SMS_GATEWAY or [sms] gateway to 'outbox' or 'http'."
        )
    if gateway == "outbox" and conn.consumers.holds_real_data():
        raise SmsConfigurationError(
            "Refusing to start: the database holds real (non-demo) consumers, but SMS go to the demo outbox. "
            'Configure the production gateway ([sms] gateway = "http" in .streamlit/secrets.toml) '
            "or point METERMITRA_DB at a demo database."
        )
    if gateway == "http":
        if settings.camp_mode:
            raise SmsConfigurationError(
                "Refusing to start: camp mode must not use the production SMS gateway. "
                "Unset METERMITRA_SMS_GATEWAY / [sms] gateway for the camp laptop."
            )
        http = settings.sms_http
        missing = [
            name
            for name in HTTP_REQUIRED
            if not str(http.get(name) or "").strip() or str(http.get(name)).startswith("REPLACE-WITH")
        ]
        if missing:
            raise SmsConfigurationError(
                "The http SMS gateway needs [sms.http] " + ", ".join(missing) + " in .streamlit/secrets.toml."
            )
        templates = http.get("templates") or {}
        no_template = [kind for kind in TEMPLATE_KINDS if not str(templates.get(kind) or "").strip()]
        no_template += [
            kind for kind in TEMPLATE_KINDS if str(templates.get(kind, "")).startswith("REPLACE-WITH")
        ]
        if no_template:
            raise SmsConfigurationError(
                "The http SMS gateway needs a DLT template ID for "
                + ", ".join(sorted(set(no_template)))
                + " under [sms.http.templates] in .streamlit/secrets.toml."
            )
        if not str(http["url"]).startswith("https://") and not _is_loopback(str(http["url"])):
            raise SmsConfigurationError("[sms.http] url must use https:// (the API key travels with it).")


def send_sms(
    conn: Database,
    settings: Settings,
    destination_e164: str,
    text: str,
    *,
    kind: str,
    now: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> SendResult:
    """Send ``text`` to an Indian mobile now and answer what happened; never raises for delivery problems.

    For the command line (``send-alerts``), which may wait: it queues the message (``queue_sms``) and, on
    the http gateway, delivers it at once (``deliver_queued``). A page never calls this: it queues. Call it
    outside any open transaction. Raises ``storage.StorageError`` only when the database itself fails.
    """
    ts = now or to_ts(now_utc())
    with conn.transaction():
        queued = queue_sms(conn, settings, destination_e164, text, kind=kind, now=ts)
    if queued.queue_id is None:
        return queued
    delivered = _deliver_one(conn, settings, now, sleep, queued.queue_id)
    if delivered is None:  # another sender took it at once; it reports the outcome
        return queued
    return delivered


def queue_sms(
    conn: Database,
    settings: Settings,
    destination_e164: str,
    text: str,
    *,
    kind: str,
    now: str | None = None,
    challenge_id: str | None = None,
    valid_for: dt.timedelta = DEFAULT_VALID_FOR,
) -> SendResult:
    """Inside the caller's transaction: take the message's place in today's budget and hand it on, never
    waiting on a network. Outbox gateway: the message is in the outbox (``ok``, delivered). Http gateway:
    it is queued for the sender (``ok`` with ``queue_id``; ``deliver_queued`` sends it unless
    ``valid_for`` has passed). A refusal (not an Indian mobile, empty or over-long text, outbox with real
    data) is ``ok`` False and audited (``sms_failed``); a used-up budget share is ``ok`` False (audited once
    a day as ``sms_budget_exhausted``). Raises ``storage.StorageError`` when the database fails.

    ``challenge_id``: the OTP challenge the message carries (named in the audit row of a failure).

    >>> from lib.config import load_settings
    >>> from lib.storage import open_db
    >>> http = load_settings(env={"METERMITRA_SMS_GATEWAY": "http"}, secrets_path=None)
    >>> with open_db(":memory:") as conn, conn.transaction():
    ...     queued = queue_sms(conn, http, "+919876543210", "123 456", kind="otp_login", now="2026-11-25T06:30:00Z")
    ...     queued.ok, queued.queue_id, conn.sms.queued_count(), recent_outbox(conn)
    (True, 1, 1, [])
    """
    ts = now or to_ts(now_utc())
    gateway = settings.sms_gateway
    refused = None
    # Real Indian mobiles only; the demo range (lib.phone, no phone can have it) only into the outbox.
    demo_ok = gateway == "outbox" and is_demo_mobile(destination_e164)
    if not demo_ok and not _INDIAN_MOBILE.fullmatch(destination_e164 or ""):
        refused = "destination is not an Indian mobile"
    elif not text or len(text) > MAX_TEXT_CHARS:
        refused = "empty or over-long text"
    elif gateway not in GATEWAYS:
        refused = f"unknown gateway {gateway!r}"
    if refused is not None:
        audit.record(conn, "sms_failed", challenge_id=challenge_id, reason=f"{kind}: {refused}", now=ts)
        return SendResult(ok=False, gateway=gateway, error=refused, attempts=0)
    log_id = _reserve_budget(conn, settings, gateway, kind, mask_mobile(destination_e164), ts)
    if log_id is None:
        return SendResult(ok=False, gateway=gateway, error="daily SMS budget exhausted", attempts=0)
    if gateway == "outbox":
        if conn.consumers.holds_real_data():
            result = SendResult(ok=False, gateway=gateway, error="outbox refused: database holds real data")
            audit.record(
                conn,
                "sms_failed",
                destination=destination_e164,
                challenge_id=challenge_id,
                reason=f"{kind}: {result.error}",
                now=ts,
            )
        else:
            message_id = conn.sms.add_to_outbox(ts=ts, destination=destination_e164, text=text, kind=kind)
            result = SendResult(ok=True, gateway=gateway, message_id=f"outbox-{message_id}")
        _finish_log(conn, log_id, result)
        return result
    queue_id = conn.sms.enqueue(
        log_id=log_id,
        queued_at=ts,
        expires_at=to_ts(from_ts(ts) + valid_for),
        destination=destination_e164,
        text=text,
        kind=kind,
        challenge_id=challenge_id,
    )
    _WAKE.set()  # this process's sender: its claim waits for this transaction's commit, then sees the row
    return SendResult(ok=True, gateway=gateway, attempts=0, queue_id=queue_id)


def deliver_queued(
    conn: Database,
    settings: Settings,
    *,
    now: str | None = None,
    limit: int = 100,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryRun:
    """The sender: deliver up to ``limit`` queued messages through the http gateway, oldest first.

    Call it outside any open transaction (it waits for the network between its own short transactions).
    Each message is claimed, sent (``_send_http``: bounded timeout and retries), then deleted with its
    ``sms_log`` row finished; a failed or expired one (``expires_at`` passed: an OTP nobody can use any
    more) is audited once as ``sms_failed`` and not retried. Several senders (processes) may run at
    once: a message is delivered by one of them. Raises ``storage.StorageError`` when the database fails.
    """
    counts = {"sent": 0, "failed": 0, "expired": 0}
    for _ in range(limit):
        result = _deliver_one(conn, settings, now, sleep, None)
        if result is None:
            break
        if result.ok:
            counts["sent"] += 1
        elif result.error == EXPIRED:
            counts["expired"] += 1
        else:
            counts["failed"] += 1
    return DeliveryRun(**counts)


def wake_sender() -> None:
    """Wake this process's ``run_sender`` now (it also wakes by itself every ``SENDER_POLL_SECONDS``)."""
    _WAKE.set()


def run_sender(
    open_db: Callable[[], AbstractContextManager[Database]],
    settings: Callable[[], Settings],
    *,
    stop: threading.Event,
    poll_seconds: float = SENDER_POLL_SECONDS,
) -> None:
    """Deliver the queue until ``stop`` is set: at once when this process queued a message, else every
    ``poll_seconds`` (messages other processes queued). ``open_db()`` opens a connection per pass,
    ``settings()`` gives the current settings (only the http gateway queues). A failing pass (database
    locked or gone) is logged and the next one tries again: the sender never stops on an error.
    """
    woken = True
    while not stop.is_set():
        _WAKE.clear()  # a message queued during this pass wakes the next one at once
        try:
            current = settings()
            if current.sms_gateway == "http":
                with open_db() as conn:
                    if woken or conn.sms.queued_count():
                        deliver_queued(conn, current)
        except Exception:  # noqa: BLE001 - a sender thread must outlive a bad moment; the next pass retries
            log.exception("SMS sender: a delivery pass failed")
        woken = _WAKE.wait(poll_seconds)


def recent_outbox(conn: Database, limit: int = 10) -> list[dict[str, Any]]:
    """The newest outbox messages first: ``[{"ts", "destination", "text", "kind"}, ...]`` (the camp phone)."""
    return conn.sms.recent_outbox(limit)


def sent_today(conn: Database, now: str | None = None, share: str | None = None) -> int:
    """SMS attempts so far on the current IST day (all gateways), of one ``share`` or of all."""
    start, end = ist_day_bounds(from_ts(now or to_ts(now_utc())).astimezone(IST).date())
    if share is None:
        return conn.sms.count_attempts(start, end)
    if share in _SHARE_KINDS:
        return conn.sms.count_attempts(start, end, kinds=_SHARE_KINDS[share])
    others = tuple(kind for kinds in _SHARE_KINDS.values() for kind in kinds)
    return conn.sms.count_attempts(start, end, exclude=others)


def budget_left(
    conn: Database, settings: Settings, now: str | None = None, *, kind: str | None = None
) -> int:
    """How many more SMS today: of the whole budget, or (``kind`` given) of that kind's share (the counter
    rows that every send reserves against, migration ``0013_counters``)."""
    day = from_ts(now or to_ts(now_utc())).astimezone(IST).date().isoformat()
    total = max(0, settings.sms_daily_budget - conn.sms.budget_used(day, "all"))
    if kind is None:
        return total
    share = share_of(kind)
    return min(total, max(0, share_budget(settings, share) - conn.sms.budget_used(day, share)))


# --- internals ----------------------------------------------------------------------------------

EXPIRED = "expired before delivery"
# Set when this process queues a message (or on ``wake_sender``); ``run_sender`` waits on it.
_WAKE = threading.Event()


def _deliver_one(
    conn: Database,
    settings: Settings,
    now: str | None,
    sleep: Callable[[float], None],
    queue_id: int | None,
) -> SendResult | None:
    """Claim one queued message (the oldest, or ``queue_id``), send it, finish it; None: nothing to claim."""
    ts = now or to_ts(now_utc())
    claim = secrets.token_hex(8)
    with conn.transaction():
        row = conn.sms.claim_queued(
            now=ts, stale_before=to_ts(from_ts(ts) - CLAIM_LEASE), claim=claim, queue_id=queue_id
        )
    if row is None:
        return None
    if str(row["expires_at"]) <= ts:
        result = SendResult(ok=False, gateway="http", error=EXPIRED, attempts=0)
    elif settings.sms_gateway != "http":
        error = f"queued for the http gateway, now {settings.sms_gateway!r}"
        result = SendResult(ok=False, gateway="http", error=error, attempts=0)
    else:
        try:
            result = _send_http(
                settings.sms_http, str(row["destination"]), str(row["text"]), str(row["kind"]), sleep=sleep
            )
        except Exception as error:  # noqa: BLE001 - a broken configuration fails this message, audited
            result = SendResult(ok=False, gateway="http", error=f"gateway error: {type(error).__name__}")
    done = now or to_ts(now_utc())
    with conn.transaction():
        if conn.sms.finish_queued(int(row["queue_id"]), claim):
            _finish_log(conn, int(row["sms_log_id"]), result)
            if not result.ok:
                audit.record(
                    conn,
                    "sms_failed",
                    destination=str(row["destination"]),
                    challenge_id=row["challenge_id"],
                    reason=f"{row['kind']}: {result.error}",
                    now=done,
                )
    return result


def _reserve_budget(
    conn: Database, settings: Settings, gateway: str, kind: str, masked: str, ts: str
) -> int | None:
    """Inside the caller's transaction: log this attempt against today's budget and its share (its log
    id), or refuse (None) and audit the exhausted share once a day."""
    budget = settings.sms_daily_budget
    share = share_of(kind)
    day = from_ts(ts).astimezone(IST).date().isoformat()
    # The share's counter first, then the whole day's: each a conditional upsert on its row (issue 12), so
    # the caps hold with concurrent senders on many servers; a refusal by the second gives the first back.
    used = None
    if conn.sms.reserve_budget(day, share, share_budget(settings, share)) is not None:
        used = conn.sms.reserve_budget(day, "all", budget)
        if used is None:
            conn.sms.release_budget(day, share)
    if used is None:
        reason = f"{share} share of the daily budget {budget} used up"
        if not conn.audit.exists_between_reason("sms_budget_exhausted", *_today(ts), reason):
            audit.record(conn, "sms_budget_exhausted", reason=reason, now=ts)
        return None
    used -= 1  # sent before this one
    log_id = conn.sms.log_attempt(ts=ts, gateway=gateway, kind=kind, destination_masked=masked)
    if used + 1 >= budget / 2 and not _audited_today(conn, "sms_budget_half", ts):
        audit.record(conn, "sms_budget_half", reason=f"{used + 1} of {budget} SMS used today", now=ts)
    return log_id


def _finish_log(conn: Database, log_id: int, result: SendResult) -> None:
    conn.sms.finish_attempt(
        log_id, ok=result.ok, message_id=audit.clean(result.message_id), error=audit.clean(result.error)
    )


def _today(ts: str) -> tuple[str, str]:
    return ist_day_bounds(from_ts(ts).astimezone(IST).date())


def _audited_today(conn: Database, event: str, ts: str) -> bool:
    start, end = _today(ts)
    return conn.audit.exists_between(event, start, end)


def _is_loopback(url: str) -> bool:
    return url.startswith(
        ("http://127.0.0.1:", "http://127.0.0.1/", "http://localhost:", "http://localhost/")
    )


def _send_http(
    http: Mapping[str, Any],
    destination_e164: str,
    text: str,
    kind: str,
    *,
    sleep: Callable[[float], None],
) -> SendResult:
    """POST one message; retry on network errors, timeouts and HTTP 5xx, never on 4xx."""
    templates = http.get("templates") or {}
    payload = {
        "sender": http.get("sender_id"),
        "to": destination_e164.removeprefix("+"),
        "message": text,
        "dlt_entity_id": http.get("entity_id"),
        "dlt_template_id": templates.get(kind) or http.get("template_id"),
    }
    body = json.dumps(payload).encode()
    header = str(http.get("api_key_header") or "Authorization")
    key = str(http.get("api_key") or "")
    headers = {
        "Content-Type": "application/json",
        header: f"Bearer {key}" if header.lower() == "authorization" else key,
    }
    timeout = min(float(http.get("timeout_seconds", DEFAULT_TIMEOUT_SECONDS)), MAX_TIMEOUT_SECONDS)
    retries = max(0, min(int(http.get("retries", DEFAULT_RETRIES)), MAX_RETRIES))
    error = "not sent"
    for attempt in range(1, retries + 2):
        request = urllib.request.Request(str(http["url"]), data=body, headers=headers, method="POST")  # noqa: S310
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (https enforced)
                raw = response.read(65536)
            reply = _json_or_empty(raw)
            if str(reply.get("status", "ok")).lower() in {"error", "failed", "failure"}:
                code = reply.get("error_code") or reply.get("code") or "unknown"
                # DLT rejections (template mismatch, header not registered, ...) are an operator problem.
                return SendResult(
                    ok=False,
                    gateway="http",
                    error=f"gateway refused: DLT/error code {code}",
                    attempts=attempt,
                )
            message_id = reply.get("message_id") or reply.get("id") or reply.get("request_id")
            return SendResult(
                ok=True, gateway="http", message_id=str(message_id) if message_id else None, attempts=attempt
            )
        except urllib.error.HTTPError as exc:
            error = f"HTTP {exc.code}"
            if exc.code < 500:
                return SendResult(ok=False, gateway="http", error=error, attempts=attempt)
        except (TimeoutError, urllib.error.URLError, OSError) as exc:
            error = f"network: {type(exc).__name__}"
        if attempt <= retries:
            sleep(RETRY_BACKOFF_SECONDS * attempt)
    return SendResult(ok=False, gateway="http", error=error, attempts=retries + 1)


def _json_or_empty(raw: bytes) -> dict[str, Any]:
    try:
        value = json.loads(raw.decode("utf-8", "replace") or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}
