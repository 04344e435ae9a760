"""Sign in with a mobile number, link connections with an OTP to their registered mobile, remove them.

These are the functions the pages call (``lib/ui/otp_flow.py`` for both OTP flows, ``lib/ui/manage_connection.py``); they hold no
Streamlit code and keep nothing security-relevant in the session: challenges, counters and blocks are
rows in SQLite (``lib/otp.py``), the SMS goes through ``lib/sms.py``, every event is audited.

>>> import re
>>> from lib.config import load_settings
>>> from lib.storage import open_db
>>> from lib import otp, sms
>>> settings = load_settings(env={"METERMITRA_OTP_KEY": "6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"}, secrets_path=None)
>>> quick = otp.Pacer(0)
>>> with open_db(":memory:") as conn:
...     sent = start_sign_in(conn, settings, "98765 43210", lang="en", pacer=quick)
...     code = re.search(r"\\d{3} \\d{3}", sms.recent_outbox(conn)[0]["text"]).group()
...     done = verify_sign_in(conn, settings, sent.challenge_id, sent.subject, code, lang="en")
>>> sent.status, sent.destination_masked, done.status, done.account_id
('sent', '+91 ••••••••10', 'ok', 1)
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lib import audit, i18n, otp, sms
from lib.clock import IST, now_utc, to_ts
from lib.config import Settings
from lib.phone import mask_mobile, normalise_mobile
from lib.text import plain_text

if TYPE_CHECKING:
    from lib.storage import Database

MAX_CONSUMER_ID_INPUT = 32
MAX_NICKNAME_CHARS = 40
_CONSUMER_ID_RE = re.compile(r"[A-Z0-9][A-Z0-9_-]{0,29}")

SendStatus = Literal[
    "sent",
    "invalid_mobile",
    "empty_mobile",
    "invalid_consumer_id",
    "already_linked",
    "cooldown",
    "limited",
    "sms_paused",
]


class _LinkVanished(Exception):
    """Raised inside the consume transaction when the link row could not be written (rolls it back)."""


class AuthConfigurationError(RuntimeError):
    """The OTP key or SMS configuration is unsafe: the app refuses to start a session."""


@dataclass(frozen=True)
class SendOutcome:
    """The answer to "Send OTP" / "Resend OTP". Unknown and real consumer IDs both answer "sent" (a decoy
    masked number for an unknown one), whatever the SMS gateway then does: the SMS is queued, and a
    failed delivery is audited, never answered (issue 13 item 5); a limited request answers what
    happened (issue 14): "cooldown"
    with ``wait_seconds``, "limited" (try later) or "sms_paused" (the day's SMS share is used up)."""

    status: SendStatus
    challenge_id: str | None = None
    destination_masked: str | None = None
    subject: str | None = None  # the normalised mobile or consumer ID, for the verify step
    wait_seconds: int = 0  # "cooldown": when "Resend OTP" works again


@dataclass(frozen=True)
class VerifyOutcome:
    status: otp.Status
    tries_left: int = 0
    account_id: int | None = None
    language: str | None = None
    nickname: str | None = None


# --- startup --------------------------------------------------------------------------------------


def check_startup(conn: Database, settings: Settings, *, key_file: Path | None = None) -> otp.OtpKey:
    """Refuse unsafe configurations with a message an operator can act on; return the OTP key.

    - the SMS gateway checks of ``sms.check_sms_configuration`` (demo outbox + real data, ...);
    - a configured OTP key shorter than 32 bytes;
    - a database with real consumers but no configured key (the generated key file is for local/demo use).
    """
    try:
        sms.check_sms_configuration(conn, settings)
        key = _key(settings, key_file)
    except (sms.SmsConfigurationError, otp.OtpKeyError) as exc:
        raise AuthConfigurationError(str(exc)) from exc
    if key.source == "file" and conn.consumers.holds_real_data():
        raise AuthConfigurationError(
            "Refusing to start: the database holds real consumers but no OTP key is configured. "
            "Set [otp] key in .streamlit/secrets.toml (or METERMITRA_OTP_KEY) to 64 random hex characters."
        )
    return key


def _key(settings: Settings, key_file: Path | None = None) -> otp.OtpKey:
    return otp.load_key(settings, key_file=key_file or otp.KEY_FILE)


# --- input ----------------------------------------------------------------------------------------


def normalise_consumer_id(text: object) -> str | None:
    """A consumer ID as typed (spaces and case ignored), or None when it cannot be one.

    >>> normalise_consumer_id(" 1012 3456 78 "), normalise_consumer_id("demo-101"), normalise_consumer_id("'; DROP")
    ('1012345678', 'DEMO-101', None)
    """
    if not isinstance(text, str) or len(text) > MAX_CONSUMER_ID_INPUT:
        return None
    value = text.replace(" ", "").upper()
    return value if value.isascii() and _CONSUMER_ID_RE.fullmatch(value) else None


def clean_nickname(text: object) -> str | None:
    """A nickname as stored (``lib.text.plain_text``): control and format characters dropped (the
    joiners Hindi needs kept), whitespace collapsed, at most 40 characters.

    >>> clean_nickname("  Ghar \\n (Patna) "), clean_nickname("   "), clean_nickname("घर\u200dX") == "घर\u200dX"
    ('Ghar (Patna)', None, True)
    """
    return plain_text(text, MAX_NICKNAME_CHARS)


# --- sign in --------------------------------------------------------------------------------------


def start_sign_in(
    conn: Database,
    settings: Settings,
    mobile_input: object,
    *,
    lang: str,
    now: dt.datetime | None = None,
    pacer: otp.Pacer | None = None,
    session: str | None = None,
    client: str | None = None,
) -> SendOutcome:
    """ "Send OTP" on the sign-in form: an OTP to the typed mobile. Creates no account (that waits for the OTP).

    ``session`` (the browser session) owns the challenge; ``client`` is its address where the server
    sees one (limits per requester, ``lib.otp``)."""
    if not isinstance(mobile_input, str) or not mobile_input.strip():
        return SendOutcome("empty_mobile")
    mobile = normalise_mobile(mobile_input)
    if mobile is None:
        return SendOutcome("invalid_mobile")
    return _start(
        conn,
        settings,
        "login",
        None,
        lambda: _Target(mobile, mobile, mobile),
        lang=lang,
        now=now,
        pacer=pacer,
        session=session,
        client=client,
    )


def resend_sign_in(
    conn: Database,
    settings: Settings,
    challenge_id: str,
    mobile_e164: str,
    *,
    lang: str,
    now: dt.datetime | None = None,
    pacer: otp.Pacer | None = None,
    session: str | None = None,
    client: str | None = None,
) -> SendOutcome:
    """ "Resend OTP": a new code (the old one dies) once 30 s have passed since this challenge was sent."""
    return _resend(
        conn,
        challenge_id,
        mobile_e164,
        lambda: start_sign_in(
            conn, settings, mobile_e164, lang=lang, now=now, pacer=pacer, session=session, client=client
        ),
        now=now,
    )


def verify_sign_in(
    conn: Database,
    settings: Settings,
    challenge_id: object,
    mobile_e164: str,
    code_input: object,
    *,
    lang: str,
    now: dt.datetime | None = None,
    session: str | None = None,
    client: str | None = None,
) -> VerifyOutcome:
    """ "Verify OTP" on the sign-in form; a first verified sign-in creates the account (language ``lang``).

    ``session`` names the browser session (see ``otp.verify``): its second submission of the code it
    already used answers "ok" for the same account again, without a second ``login_ok`` audit row.
    """
    now = now or now_utc()
    ts = to_ts(now)

    def create(conn: Database, _challenge: otp.Challenge) -> int:
        account_id = conn.accounts.create_account(mobile_e164, language=i18n.normalise_language(lang), now=ts)
        audit.record(conn, "login_ok", account_id=account_id, destination=mobile_e164, now=ts)
        return account_id

    def failed(verdict: otp.Verdict) -> None:
        if verdict.status == "invalid":
            return
        with conn.transaction():
            audit.record(
                conn,
                "login_failed",
                destination=mobile_e164,
                outcome=verdict.status,
                challenge_id=challenge_id if isinstance(challenge_id, str) else None,
                now=ts,
            )

    def signed_in(verdict: otp.Verdict) -> VerifyOutcome:
        account = conn.accounts.account_by_id(verdict.account_id) if verdict.account_id else None
        if account is None:  # a repeat whose account has gone meanwhile: the code is spent
            return VerifyOutcome("used")
        return VerifyOutcome(
            "ok", account_id=int(account["account_id"]), language=str(account.get("language") or lang)
        )

    return _verify(
        conn,
        settings,
        challenge_id,
        code_input,
        purpose="login",
        account_id=None,
        subject=mobile_e164,
        on_success=create,
        on_failure=failed,
        finish=signed_in,
        session=session,
        client=client,
        binding=mobile_e164,
        now=now,
    )


def record_sign_out(conn: Database, account_id: int, *, now: dt.datetime | None = None) -> None:
    """Audit a "Sign out" (the view clears the session)."""
    with conn.transaction():
        audit.record(conn, "sign_out", account_id=account_id, now=to_ts(now or now_utc()))


def account_summary(conn: Database, account_id: object) -> dict[str, str] | None:
    """What the sidebar shows about the signed-in account: its masked mobile and saved language."""
    if not isinstance(account_id, int):
        return None
    account = conn.accounts.account_by_id(account_id)
    if account is None:
        return None
    return {
        "mobile_masked": mask_mobile(account["mobile"]),
        "language": i18n.normalise_language(account["language"]),
    }


# --- link a connection ------------------------------------------------------------------------------


def start_link(
    conn: Database,
    settings: Settings,
    account_id: int,
    consumer_id_input: object,
    *,
    lang: str,
    now: dt.datetime | None = None,
    pacer: otp.Pacer | None = None,
    session: str | None = None,
    client: str | None = None,
) -> SendOutcome:
    """ "Send OTP" under "Add Another Meter": an OTP to the registered mobile of the consumer ID.

    Unknown consumer IDs, IDs linked to other accounts and real ones all answer "sent" with a masked
    number (a stable decoy for unknown IDs) after the same response-time floor; only real ones get an
    SMS, queued in the challenge's transaction, so neither the answer nor its time depends on the SMS
    gateway (issue 13 item 5). An ID already linked to *this* account answers "already_linked" (nothing is sent); a limited
    request answers "cooldown", "limited" or "sms_paused" alike for real and unknown IDs (issue 14).
    """
    typed = normalise_consumer_id(consumer_id_input)
    if typed is None:
        return SendOutcome("invalid_consumer_id")
    if conn.accounts.is_linked(account_id, typed):
        # Its own connection: saying so reveals nothing the account does not already see (issue 14).
        return SendOutcome("already_linked", subject=typed)

    def resolve() -> _Target:
        record = conn.consumers.consumer_record(typed)
        if record is None and isinstance(consumer_id_input, str):
            record = conn.consumers.consumer_record(consumer_id_input.strip())
        consumer_id = record["consumer_id"] if record else typed
        return _link_target(conn, account_id, consumer_id, record)

    return _start(
        conn,
        settings,
        "link",
        account_id,
        resolve,
        lang=lang,
        now=now,
        pacer=pacer,
        session=session,
        client=client,
    )


def resend_link(
    conn: Database,
    settings: Settings,
    account_id: int,
    challenge_id: str,
    consumer_id: str,
    *,
    lang: str,
    now: dt.datetime | None = None,
    pacer: otp.Pacer | None = None,
    session: str | None = None,
    client: str | None = None,
) -> SendOutcome:
    """ "Resend OTP" for a link: like ``resend_sign_in``."""
    return _resend(
        conn,
        challenge_id,
        consumer_id,
        lambda: start_link(
            conn,
            settings,
            account_id,
            consumer_id,
            lang=lang,
            now=now,
            pacer=pacer,
            session=session,
            client=client,
        ),
        now=now,
    )


def pending_link(conn: Database, account_id: int, *, now: dt.datetime | None = None) -> SendOutcome | None:
    """The "Add Another Meter" OTP this account asked for and can still enter, as its "sent" answer, or None.

    The page resumes it after a reload, in a second tab, or on another app server (the challenge belongs to
    the account, ``otp.requester_id``); it looks the same for a real and an unknown consumer ID (a decoy
    challenge resumes like a real one).
    """
    row = conn.otp.newest_live_link(account_id, to_ts(now or now_utc()))
    if row is None:
        return None
    return SendOutcome(
        "sent",
        challenge_id=str(row["challenge_id"]),
        destination_masked=str(row["destination_masked"]),
        subject=str(row["subject"]),
    )


def cancel_link(
    conn: Database, account_id: int, challenge_id: str, *, now: dt.datetime | None = None
) -> None:
    """ "Cancel" under "Add Another Meter": the pending challenge takes no code any more (so it is not
    resumed), whoever's server asked for it; another account's challenge is never touched."""
    ts = to_ts(now or now_utc())
    with conn.transaction():
        row = conn.otp.newest_live_link(account_id, ts)
        if row is not None and row["challenge_id"] == challenge_id:
            conn.otp.kill_open_challenges(
                "link", account_id, str(row["subject"]), ts=ts, reason="cancelled", requester=f"a{account_id}"
            )


def verify_link(
    conn: Database,
    settings: Settings,
    account_id: int,
    challenge_id: object,
    consumer_id: str,
    code_input: object,
    nickname_input: object = None,
    *,
    lang: str,
    now: dt.datetime | None = None,
    session: str | None = None,
    client: str | None = None,
) -> VerifyOutcome:
    """ "Verify OTP" under "Add Another Meter": on the right code the link row and its audit row are written
    in the same transaction that consumes the challenge; then the registered mobile is told by SMS.

    ``session`` names the browser session (see ``otp.verify``): its second submission of the code it
    already used answers "ok" with the link's nickname, writing nothing and sending no second SMS.
    """
    now = now or now_utc()
    ts = to_ts(now)
    made: dict[str, str] = {}

    def link(conn: Database, challenge: otp.Challenge) -> int:
        nickname = clean_nickname(nickname_input) or default_nickname(conn, consumer_id, lang)
        conn.accounts.insert_link(account_id, consumer_id, nickname, now=ts)
        if not conn.accounts.is_linked(account_id, consumer_id):
            raise _LinkVanished  # the consumer left the master meanwhile: roll the consume back
        record = conn.consumers.consumer_record(consumer_id) or {}
        made.update(nickname=nickname, mobile=str(record.get("registered_mobile", "")))
        audit.record(
            conn,
            "link_created",
            account_id=account_id,
            consumer_id=consumer_id,
            destination=challenge.destination_masked,
            challenge_id=challenge.challenge_id,
            now=ts,
        )
        return account_id

    def linked(verdict: otp.Verdict) -> VerifyOutcome:
        if verdict.repeat:
            rows = conn.accounts.linked_connections(account_id)
            nickname = next((str(r["nickname"]) for r in rows if r["consumer_id"] == consumer_id), None)
            if nickname is None:  # removed since the first submission: the code is spent
                return VerifyOutcome("used")
            return VerifyOutcome("ok", account_id=account_id, nickname=nickname)
        _notify_owner(conn, settings, account_id, consumer_id, made.get("mobile", ""), now)
        return VerifyOutcome("ok", account_id=account_id, nickname=made["nickname"])

    target = _link_target(conn, account_id, consumer_id, conn.consumers.consumer_record(consumer_id))
    return _verify(
        conn,
        settings,
        challenge_id,
        code_input,
        purpose="link",
        account_id=account_id,
        subject=consumer_id,
        on_success=link,
        on_failure=None,
        finish=linked,
        session=session,
        client=client,
        owner=target.owner,
        binding=target.binding,
        now=now,
    )


def default_nickname(conn: Database, consumer_id: str, lang: str) -> str:
    """The name of a meter linked without a nickname: the consumer's name on the bill (the consumer master's
    ``name``), else "कनेक्शन …4567" / "Connection …4567" (the consumer ID's last four characters), so
    the household can tell its meters apart; never "Meter 4", which says nothing about which meter."""
    record = conn.consumers.consumer_record(consumer_id) or {}
    name = clean_nickname(record.get("name"))
    if name:
        return name
    return i18n.t("auth_default_nickname", lang, tail=str(consumer_id)[-4:])


def rename_connection(conn: Database, account_id: int, consumer_id: str, nickname_input: object) -> bool:
    """Rename a linked connection; False for an empty nickname or a connection the account has not linked."""
    nickname = clean_nickname(nickname_input)
    if nickname is None or not isinstance(consumer_id, str):
        return False
    return conn.accounts.rename_link(account_id, consumer_id, nickname)


def remove_connection(
    conn: Database, account_id: int, consumer_id: object, *, now: dt.datetime | None = None
) -> bool:
    """ "Remove": delete the link and audit it in one transaction; takes effect on every page at once."""
    if not isinstance(consumer_id, str):
        return False
    ts = to_ts(now or now_utc())
    with conn.transaction():
        removed = conn.accounts.delete_link(account_id, consumer_id)
        if removed:
            audit.record(conn, "link_removed", account_id=account_id, consumer_id=consumer_id, now=ts)
    return removed


# --- internals: one worker each for send, resend and verify, the purpose passed in ----------------


@dataclass(frozen=True)
class _Target:
    """What an OTP is for: the subject, where its code goes (None: unknown, a decoy), what binds the
    challenge to that mobile, and whether the requester is the proven owner (``lib.otp``)."""

    subject: str
    destination: str | None
    binding: str | None
    owner: bool = False


def _link_target(conn: Database, account_id: int, consumer_id: str, record: dict[str, Any] | None) -> _Target:
    """The consumer ID's registered mobile now; the account is its owner when it signed in with it."""
    destination = record["registered_mobile"] if record else None
    if destination is not None and normalise_mobile(destination) != destination:
        destination = None  # no usable mobile on file: behave exactly like an unknown ID
    if destination is None:
        return _Target(consumer_id, None, None)
    account = conn.accounts.account_by_id(account_id) or {}
    binding = f"{destination}|{(record or {}).get('mobile_changed_at') or ''}"
    return _Target(consumer_id, destination, binding, owner=account.get("mobile") == destination)


def _start(
    conn: Database,
    settings: Settings,
    purpose: otp.Purpose,
    account_id: int | None,
    resolve: Callable[[], _Target],
    *,
    lang: str,
    now: dt.datetime | None,
    pacer: otp.Pacer | None,
    session: str | None,
    client: str | None,
) -> SendOutcome:
    """Behind the response-time floor: ``resolve()`` gives the target, then send."""
    with (pacer or otp.Pacer()).floor():
        target = resolve()
        return _send(
            conn, settings, purpose, account_id, target, lang=lang, now=now, session=session, client=client
        )


def _resend(
    conn: Database,
    challenge_id: str,
    subject: str,
    start: Callable[[], SendOutcome],
    *,
    now: dt.datetime | None,
) -> SendOutcome:
    """ "Resend OTP": "cooldown" while the challenge is younger than ``otp.RESEND_COOLDOWN``, else ``start()``."""
    wait = otp.resend_wait_seconds(otp.challenge(conn, challenge_id), now)
    if wait:
        return SendOutcome("cooldown", challenge_id=challenge_id, subject=subject, wait_seconds=wait)
    return start()


def _verify(
    conn: Database,
    settings: Settings,
    challenge_id: object,
    code_input: object,
    *,
    purpose: otp.Purpose,
    account_id: int | None,
    subject: str,
    on_success: Callable[[Database, otp.Challenge], int],
    on_failure: Callable[[otp.Verdict], None] | None,
    finish: Callable[[otp.Verdict], VerifyOutcome],
    session: str | None,
    now: dt.datetime,
    client: str | None = None,
    owner: bool = False,
    binding: str | None = None,
) -> VerifyOutcome:
    """ "Verify OTP": ``on_success`` writes inside the consume, ``finish`` answers an "ok" (first or repeat),
    ``on_failure`` sees every other verdict."""
    try:
        verdict = otp.verify(
            conn,
            _key(settings),
            challenge_id,
            purpose=purpose,
            account_id=account_id,
            subject=subject,
            code_input=code_input,
            now=now,
            on_success=on_success,
            session=session,
            client=client,
            owner=owner,
            binding=binding,
        )
    except _LinkVanished:
        return VerifyOutcome("unknown")
    if verdict.status != "ok":
        if on_failure is not None:
            on_failure(verdict)
        return VerifyOutcome(verdict.status, tries_left=verdict.tries_left)
    return finish(verdict)


def _send(
    conn: Database,
    settings: Settings,
    purpose: otp.Purpose,
    account_id: int | None,
    target: _Target,
    *,
    lang: str,
    now: dt.datetime | None,
    session: str | None,
    client: str | None,
) -> SendOutcome:
    now = now or now_utc()
    ts = to_ts(now)
    key = _key(settings)
    subject, destination = target.subject, target.destination
    kind = f"otp_{purpose}"

    def deliver(conn: Database, challenge_id: str, code: str) -> None:
        """Queue the code's SMS in the issuing transaction: the answer never waits on the gateway, and a
        gateway's failure reaches the audit log, not the page (issue 13 item 5)."""
        if destination is None:
            return
        minutes = otp.CODE_TTL_MINUTES
        shown = otp.format_code(code)
        if purpose == "login":
            text = i18n.t("auth_sms_login", lang, code=shown, minutes=minutes)
        else:
            text = i18n.t("auth_sms_link", lang, code=shown, minutes=minutes, consumer_id=subject)
        sms.queue_sms(
            conn,
            settings,
            destination,
            text,
            kind=kind,
            now=ts,
            challenge_id=challenge_id,
            valid_for=otp.CODE_TTL,
        )

    issued = otp.issue(
        conn,
        key,
        purpose=purpose,
        account_id=account_id,
        subject=subject,
        destination=destination,
        now=now,
        budget_ok=lambda c: sms.budget_left(c, settings, ts, kind=kind) > 0,
        session=session,
        client=client,
        owner=target.owner,
        binding=target.binding,
        deliver=deliver,
    )
    if issued.limited == "cooldown" and issued.reused:
        # A double click: this session's code already went out and still works (issue 10).
        return SendOutcome("sent", issued.challenge_id, issued.destination_masked, subject)
    if issued.limited == "cooldown":
        return SendOutcome(
            "cooldown",
            subject=subject,
            wait_seconds=issued.wait_seconds,
        )
    if issued.limited == "sms_budget":
        return SendOutcome("sms_paused", subject=subject)
    if issued.limited is not None:
        return SendOutcome("limited", subject=subject)
    return SendOutcome("sent", issued.challenge_id, issued.destination_masked, subject)


def _notify_owner(
    conn: Database,
    settings: Settings,
    account_id: int,
    consumer_id: str,
    mobile: str,
    now: dt.datetime,
) -> None:
    """Tell the registered mobile that its connection was linked (no link in the text)."""
    if normalise_mobile(mobile) != mobile:
        return
    owner = conn.accounts.account_by_mobile(mobile)
    lang = i18n.normalise_language(owner["language"] if owner else None)
    account = conn.accounts.account_by_id(account_id) or {}
    text = i18n.t(
        "auth_sms_link_notice",
        lang,
        consumer_id=consumer_id,
        last2=str(account.get("mobile", ""))[-2:],
        date=i18n.format_date(now.astimezone(IST).date(), lang),
    )
    with conn.transaction():  # queued: "Verify OTP" never waits on the gateway either
        sms.queue_sms(conn, settings, mobile, text, kind="link_notice", now=to_ts(now))
