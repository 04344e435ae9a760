"""One-time passwords: issue a challenge, verify a code once, and keep every limit in SQLite.

The policy (issue 3; ``../shared/docs/research/otp-security.md`` section 7):

- 6 digits from ``secrets``; only ASCII digits are accepted ("१२३४५६" and full-width digits are refused),
  spaces between digits are ignored, input over 32 characters is refused before any processing;
- stored only as HMAC-SHA256 over (challenge, purpose, account, subject, code) keyed by a secret that never
  sits in the database (``load_key``), compared with ``hmac.compare_digest``;
- valid 5 minutes (``expires_at > now``), single use: the consume is a conditional UPDATE inside
  ``BEGIN IMMEDIATE``, in the same transaction as the caller's link/account row and the audit row;
- a double submit is one success (issue 10): the consume records the browser session that made it (an
  HMAC of the session token) and the account it signed in or linked; while the code is still valid, the
  *same* session sending the *same* right code again gets that success back ("ok", ``repeat=True``:
  nothing is written twice), any other session or code gets "used";
- 5 wrong tries kill the challenge; a resend kills the old challenge but keeps the failure count;
- abuse (issue 13): a challenge belongs to its *requester* (the browser session that asked for it, or the
  account for a link): another session's code is "unknown" to it and costs nothing, and no request is ever
  handed another requester's challenge. Limits slow the requester before they touch the target:
  at most 3 sends per (requester, subject) in 15 minutes, 5 an hour, 10 a day, and 30 s between sends;
  10 consecutive failures of one requester on one subject block that requester for an hour, 20 for a day;
  one client address gets at most ``CLIENT_GUESSES_PER_DAY`` wrong codes and ``CLIENT_LOGIN_SENDS_PER_DAY``
  sign-in sends a rolling day; an account may start linking at most 10 distinct consumer IDs
  (20 challenges) a day. The target itself (a consumer ID or a sign-in mobile) takes at most
  ``TARGET_GUESSES_PER_DAY`` = 20 wrong codes a rolling day and ``TARGET_MAX_CONSECUTIVE`` = 100 in a row,
  whatever the number of accounts (P(success) <= 20/10**6 a day, NIST SP 800-63B 5.2.2), and at most
  ``TARGET_SENDS_PER_DAY`` link sends a day (SMS flood guard of a registered mobile). The target lock-out is a rolling window that
  frees itself (no fixed block), and it never stops the proven owner: an account signed in with the
  consumer ID's registered mobile (``owner=True``) links its own connection whatever strangers did;
- a challenge is bound to the mobile it was sent to (``binding``: the registered mobile and when it last
  changed): if it changed before "Verify OTP" (even A -> B -> A) the code is dead and a new OTP is needed;
- an unknown consumer ID gets a stable decoy ``+91 ••••••••NN`` derived from the key (decoys hide only
  whether a consumer ID exists; a limited request is told it is limited, issue 14).

>>> import datetime as dt
>>> from lib.storage import open_db
>>> key = OtpKey(secret=bytes(range(32)), kid="test", source="configured")
>>> t0 = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
>>> with open_db(":memory:") as conn:
...     issued = issue(conn, key, purpose="login", account_id=None, subject="+919876543210",
...                    destination="+919876543210", now=t0)
...     wrong = verify(conn, key, issued.challenge_id, purpose="login", account_id=None,
...                    subject="+919876543210", code_input="not it", now=t0)
...     right = verify(conn, key, issued.challenge_id, purpose="login", account_id=None,
...                    subject="+919876543210", code_input=issued.code, now=t0, session="tab-1")
...     again = verify(conn, key, issued.challenge_id, purpose="login", account_id=None,
...                    subject="+919876543210", code_input=issued.code, now=t0, session="tab-1")
...     other = verify(conn, key, issued.challenge_id, purpose="login", account_id=None,
...                    subject="+919876543210", code_input=issued.code, now=t0, session="tab-2")
>>> issued.destination_masked, wrong.status, right.status, (again.status, again.repeat), other.status
('+91 ••••••••10', 'invalid', 'ok', ('ok', True), 'used')
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import os
import re
import secrets
import stat
import tempfile
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lib import audit
from lib.clock import from_ts, now_utc, to_ts
from lib.config import ROOT, Settings
from lib.phone import mask_mobile

if TYPE_CHECKING:
    from lib.storage import Database

CODE_DIGITS = 6
CODE_TTL_MINUTES = 5  # what the SMS and the OTP step tell the user: "valid for 5 minutes"
CODE_TTL = dt.timedelta(minutes=CODE_TTL_MINUTES)
MAX_ATTEMPTS = 5
MAX_INPUT_CHARS = 32
RESEND_COOLDOWN = dt.timedelta(seconds=30)
SEND_WINDOWS: tuple[tuple[dt.timedelta, int], ...] = (
    (dt.timedelta(minutes=15), 3),
    (dt.timedelta(hours=1), 5),
    (dt.timedelta(days=1), 10),
)
ACCOUNT_DISTINCT_CONSUMERS_PER_DAY = 10
ACCOUNT_LINK_CHALLENGES_PER_DAY = 20
# (consecutive failures reached, block for): the largest threshold reached applies.
FAILURE_BLOCKS: tuple[tuple[int, dt.timedelta], ...] = (
    (20, dt.timedelta(days=1)),
    (10, dt.timedelta(hours=1)),
)
# Per target (consumer ID or sign-in mobile), across every account and session (issue 13 item 1).
GUESS_WINDOW = dt.timedelta(days=1)
TARGET_GUESSES_PER_DAY = 20
TARGET_MAX_CONSECUTIVE = 100
TARGET_SENDS_PER_DAY = 20
# Per client address, where the server sees one (issue 13 items 2 and 3).
CLIENT_GUESSES_PER_DAY = 10
CLIENT_LOGIN_SENDS_PER_DAY = 20
MIN_KEY_BYTES = 32
MIN_KEY_DISTINCT_BYTES = 16
KEY_FILE = ROOT / "data" / ".otp_key"
# Every "Send OTP" answer takes at least this long, whatever happened behind it (no timing oracle).
# Tests set it to 0 or pass a Pacer with a fake sleep.
RESPONSE_FLOOR_SECONDS = 1.5

Purpose = Literal["login", "link"]
Status = Literal["ok", "invalid", "wrong", "dead", "expired", "used", "blocked", "unknown"]
Requester = str | None

_CODE_RE = re.compile(r"[0-9]{6}")
_CHALLENGE_ID_RE = re.compile(r"[0-9a-f]{32}")


class OtpKeyError(RuntimeError):
    """The OTP key is missing, too short or unsafely stored: the app fails closed."""


@dataclass(frozen=True)
class OtpKey:
    """The HMAC key for OTP codes and decoys; ``kid`` names it on each challenge row (rotation).

    ``previous`` holds the retired keys by kid (``[otp] previous_keys``): a challenge issued before a
    rotation is verified with the key that made it (``for_kid``), never answered "wrong" for a right code.
    """

    secret: bytes = field(repr=False)
    kid: str
    source: Literal["configured", "file"]
    previous: Mapping[str, bytes] = field(default_factory=dict, repr=False)

    def for_kid(self, kid: str) -> OtpKey | None:
        """The key named ``kid`` (this one or a retired one), or None when it is not configured any more."""
        if kid == self.kid:
            return self
        secret = self.previous.get(kid)
        return None if secret is None else OtpKey(secret=secret, kid=kid, source=self.source)


@dataclass(frozen=True)
class Challenge:
    challenge_id: str
    purpose: str
    account_id: int | None
    subject: str
    destination_masked: str
    has_code: bool
    kid: str
    created_at: str
    expires_at: str
    attempts: int
    consumed_at: str | None
    dead_at: str | None
    dead_reason: str | None


@dataclass(frozen=True)
class Issued:
    """The answer to a send request. ``code`` is None when nothing may be sent (decoy or limited)."""

    challenge_id: str
    destination_masked: str
    code: str | None = field(repr=False)
    limited: str | None = None  # the limit that applied ("cooldown", "sends_per_15min", "sms_budget", ...)
    reused: bool = (
        False  # a limit applied and this requester's live challenge (its code still valid) came back
    )
    wait_seconds: int = 0  # "cooldown": seconds until this requester may ask again


@dataclass(frozen=True)
class Verdict:
    """The answer to a code. ``account_id``: what ``on_success`` returned (the account signed in or
    linked); ``repeat``: "ok" for the session's second submission of a code it already used."""

    status: Status
    tries_left: int = 0
    challenge: Challenge | None = None
    account_id: int | None = None
    repeat: bool = False


# --- the key ------------------------------------------------------------------------------------


def load_key(settings: Settings, *, key_file: Path = KEY_FILE) -> OtpKey:
    """The OTP key: ``settings.otp_key`` (env ``METERMITRA_OTP_KEY`` or secrets ``[otp] key``; hex or text),
    else, for local and demo use, a random key generated on first start into ``key_file`` (mode 0600).

    A configured key shorter than 32 bytes, or a key file others can read, raises ``OtpKeyError``.
    """
    if settings.otp_key not in (None, ""):
        secret = _checked_key(str(settings.otp_key), "The configured OTP key")
        previous = {}
        for old in settings.otp_previous_keys:
            old_secret = _checked_key(str(old), "A previous OTP key ([otp] previous_keys)")
            previous[_kid(old_secret)] = old_secret
        return OtpKey(secret=secret, kid=_kid(secret), source="configured", previous=previous)
    return _file_key(key_file)


def _checked_key(text: str, what: str) -> bytes:
    """The key's bytes, or ``OtpKeyError`` when it is short or obviously not random.

    >>> len(_checked_key("6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba", "k"))
    32
    >>> _checked_key("password" * 4, "The key")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    lib.otp.OtpKeyError: The key does not look random (7 distinct bytes in 32); generate one with: ...
    """
    secret = _decode_key(text)
    if len(secret) < MIN_KEY_BYTES:
        raise OtpKeyError(
            f"{what} is {len(secret)} bytes; at least {MIN_KEY_BYTES} are needed "
            "(set [otp] key in .streamlit/secrets.toml or METERMITRA_OTP_KEY to 64 hex characters)."
        )
    distinct = len(set(secret))
    if distinct < MIN_KEY_DISTINCT_BYTES or len(zlib.compress(secret)) < len(secret) // 2:
        raise OtpKeyError(
            f"{what} does not look random ({distinct} distinct bytes in {len(secret)}); generate one with: "
            'python -c "import secrets; print(secrets.token_hex(32))"'
        )
    return secret


def _decode_key(text: str) -> bytes:
    """64+ hex characters are the key's bytes; any other text is its UTF-8 (it must then look random)."""
    text = text.strip()
    if len(text) >= 2 * MIN_KEY_BYTES and len(text) % 2 == 0 and re.fullmatch(r"[0-9a-fA-F]+", text):
        return bytes.fromhex(text)
    return text.encode("utf-8")


def _kid(secret: bytes) -> str:
    return hmac.new(secret, b"metermitra-otp-kid", hashlib.sha256).hexdigest()[:8]


def _file_key(path: Path) -> OtpKey:
    """The local key file, created on first start atomically: the key is written to a private temporary
    file and hard-linked into place, so a process that starts at the same moment sees either no file or
    the whole key, never an empty one (issue 13 item 6: 40 parallel first starts all get the same key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        fd, tmp = tempfile.mkstemp(prefix=".otp_key.", dir=path.parent)
        try:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_hex(MIN_KEY_BYTES) + "\n")
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):
                os.link(tmp, path)  # atomic, and never replaces a key another process made first
        finally:
            os.unlink(tmp)
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise OtpKeyError(f"{path} is readable by others (mode {mode:o}); run: chmod 600 {path}")
    secret = _decode_key(path.read_text().strip())
    if len(secret) < MIN_KEY_BYTES:
        raise OtpKeyError(
            f"{path} holds a key shorter than {MIN_KEY_BYTES} bytes; delete it to make a new one."
        )
    return OtpKey(secret=secret, kid=_kid(secret), source="file")


# --- codes --------------------------------------------------------------------------------------


def generate_code() -> str:
    """Six random decimal digits, zero-padded (``'004217'`` is a valid code)."""
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def format_code(code: str) -> str:
    """How the SMS shows a code: ``format_code('004217') == '004 217'``."""
    return f"{code[:3]} {code[3:]}"


def normalise_code(raw: object) -> str | None:
    """The six ASCII digits typed, or None. Spaces are ignored; nothing else is.

    >>> normalise_code("12 34 56"), normalise_code("१२३४५६"), normalise_code("１２３４５６")
    ('123456', None, None)
    """
    if not isinstance(raw, str) or len(raw) > MAX_INPUT_CHARS:
        return None
    text = raw.replace(" ", "")
    return text if _CODE_RE.fullmatch(text) else None


def code_mac(
    key: OtpKey, challenge_id: str, purpose: str, account_id: int | None, subject: str, code: str
) -> str:
    """HMAC-SHA256 over the code and everything it is bound to (an unambiguous JSON list)."""
    message = json.dumps(["v1", challenge_id, purpose, account_id, subject, code], separators=(",", ":"))
    return hmac.new(key.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def decoy_mask(key: OtpKey, subject: str) -> str:
    """The stable masked number shown for a consumer ID that has no registered mobile on file."""
    digest = hmac.new(key.secret, b"decoy\x00" + subject.encode("utf-8"), hashlib.sha256).digest()
    return "+91 " + "•" * 8 + f"{int.from_bytes(digest[:4], 'big') % 100:02d}"


def session_mac(key: OtpKey, challenge_id: str, session: str) -> str:
    """What the challenge stores of the browser session that consumed it (an HMAC, never the token)."""
    message = json.dumps(["session-v1", challenge_id, session], separators=(",", ":"))
    return hmac.new(key.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


def failure_scope(purpose: str, account_id: int | None, subject: str, requester: Requester = None) -> str:
    """The key of a requester's consecutive-failure counter: one (session, sign-in mobile), or one
    (account, consumer ID). A stranger's failures block the stranger, never the mobile's owner."""
    if purpose == "login":
        return f"login:{requester or '-'}:{subject}"
    return f"link:{account_id}:{subject}"


def target_scope(purpose: str, subject: str) -> str:
    """The key of the target's counters, whoever guesses: ``target_scope("link", "101") == "target:link:101"``."""
    return f"target:{purpose}:{subject}"


def requester_id(key: OtpKey, purpose: str, account_id: int | None, session: str | None) -> Requester:
    """Who asks: for a link the account (``'a<id>'``); for a sign-in an HMAC of the browser session
    (never the token itself), or None outside a browser (the CLI, tests)."""
    if purpose == "link" and account_id is not None:
        return f"a{account_id}"
    if not session:
        return None
    return hmac.new(key.secret, b"requester\x00" + session.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def destination_mac(key: OtpKey, challenge_id: str, binding: str) -> str:
    """What a challenge keeps of the mobile it was sent to (and when that mobile last changed)."""
    message = json.dumps(["dest-v1", challenge_id, binding], separators=(",", ":"))
    return hmac.new(key.secret, message.encode("utf-8"), hashlib.sha256).hexdigest()


# --- the response-time floor --------------------------------------------------------------------


class Pacer:
    """Makes a block of code take at least ``floor_seconds`` (default: ``RESPONSE_FLOOR_SECONDS``).

    >>> slept = []
    >>> ticks = iter([10.0, 10.2])
    >>> with Pacer(1.5, sleep=slept.append, clock=lambda: next(ticks)).floor():
    ...     pass
    >>> slept
    [1.3]
    """

    def __init__(
        self,
        floor_seconds: float | None = None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.floor_seconds = floor_seconds
        self.sleep = sleep
        self.clock = clock

    @contextlib.contextmanager
    def floor(self) -> Iterator[None]:
        floor = RESPONSE_FLOOR_SECONDS if self.floor_seconds is None else self.floor_seconds
        start = self.clock()
        try:
            yield
        finally:
            left = floor - (self.clock() - start)
            if left > 0:
                self.sleep(round(left, 6))


# --- issuing ------------------------------------------------------------------------------------


def issue(
    conn: Database,
    key: OtpKey,
    *,
    purpose: Purpose,
    account_id: int | None,
    subject: str,
    destination: str | None,
    now: dt.datetime | None = None,
    budget_ok: Callable[[Database], bool] | None = None,
    session: str | None = None,
    client: str | None = None,
    owner: bool = False,
    binding: str | None = None,
    deliver: Callable[[Database, str, str], object] | None = None,
) -> Issued:
    """Open a challenge for ``subject`` (sign-in mobile or consumer ID) whose code goes to ``destination``.

    ``session`` (the browser session) and ``client`` (its address, where the server sees one) name the
    requester: the challenge belongs to it and the requester's limits apply first. ``owner``: the account
    asking is signed in with the consumer ID's registered mobile (the target's own limits do not stop it).
    ``binding``: the registered mobile and when it last changed (``verify`` needs the same).

    ``destination`` None (unknown consumer ID) makes a decoy: the same answer, the same limits burnt,
    nothing to send. When a limit applies, this requester's live challenge is returned again
    (``reused``) or else a challenge that takes no code; ``Issued.code`` is None and ``Issued.limited``
    names the limit ("cooldown", "sends_per_15min", ..., "target_guesses", "sms_budget").
    ``deliver(conn, challenge_id, code)`` runs inside the issuing transaction for a new code (never for a
    decoy or a limited request): it queues the SMS (``lib.sms.queue_sms``), so the challenge and its
    message commit together and no answer waits on a gateway (issue 13 item 5); an exception it raises
    rolls both back. Raises ``storage.StorageError`` when the database fails (nothing is then issued).
    """
    now = now or now_utc()
    ts = to_ts(now)
    masked = mask_mobile(destination) if destination else decoy_mask(key, subject)
    requester = requester_id(key, purpose, account_id, session)
    with conn.transaction():
        conn.otp.lock_subjects(_lock_subjects(purpose, account_id, subject, client))
        limited = _limit_reason(conn, purpose, account_id, subject, now, requester, client, owner)
        # Decoys check the budget too: an unknown consumer ID must not answer differently when SMS pause.
        if limited is None and budget_ok is not None and not budget_ok(conn):
            limited = "sms_budget"
        if limited is not None:
            audit.record(
                conn,
                "rate_limited",
                account_id=account_id,
                consumer_id=_consumer(purpose, subject),
                destination=masked,
                reason=limited,
                now=ts,
            )
            wait = 0
            if limited == "cooldown":
                wait = max(1, _cooldown_left(conn.otp.last_send_ts(purpose, subject, requester), now))
            live = conn.otp.live_challenge_row(purpose, account_id, subject, ts, requester)
            if live is not None:
                return Issued(live["challenge_id"], live["destination_masked"], None, limited, True, wait)
            challenge_id = _insert_challenge(
                conn, key, purpose, account_id, subject, masked, None, now, requester, None
            )
            return Issued(challenge_id, masked, None, limited, False, wait)
        conn.otp.kill_open_challenges(
            purpose, account_id, subject, ts=ts, reason="superseded", requester=requester
        )
        code = generate_code() if destination else None
        challenge_id = _insert_challenge(
            conn, key, purpose, account_id, subject, masked, code, now, requester, binding
        )
        conn.otp.record_send(
            ts=ts,
            purpose=purpose,
            subject=subject,
            account_id=account_id,
            challenge_id=challenge_id,
            requester=requester,
            client=client,
        )
        audit.record(
            conn,
            "otp_sent",
            account_id=account_id,
            consumer_id=_consumer(purpose, subject),
            destination=masked,
            challenge_id=challenge_id,
            outcome="decoy" if code is None else "issued",
            now=ts,
        )
        if code is not None and deliver is not None:
            deliver(conn, challenge_id, code)
    return Issued(challenge_id, masked, code, None)


def challenge(conn: Database, challenge_id: object) -> Challenge | None:
    """A challenge by id (no code or MAC in it), or None."""
    if not isinstance(challenge_id, str) or not _CHALLENGE_ID_RE.fullmatch(challenge_id):
        return None
    row = conn.otp.challenge_row(challenge_id)
    return _to_challenge(row) if row else None


def resend_wait_seconds(found: Challenge | None, now: dt.datetime | None = None) -> int:
    """Seconds until "Resend OTP" may be used for this challenge (0: now)."""
    if found is None:
        return 0
    return _cooldown_left(found.created_at, now or now_utc())


def _cooldown_left(sent_at: str | None, now: dt.datetime) -> int:
    """Whole seconds, rounded up, until ``RESEND_COOLDOWN`` has passed since ``sent_at`` (stored UTC text);
    0 once it has, or when nothing was sent. The one count behind "Resend OTP in N s" and a refused send.

    >>> now = from_ts("2026-11-25T06:30:00Z")
    >>> [_cooldown_left(sent, now) for sent in ("2026-11-25T06:29:40Z", "2026-11-25T06:29:00Z", None)]
    [10, 0, 0]
    """
    if not sent_at:
        return 0
    return max(0, int((from_ts(sent_at) + RESEND_COOLDOWN - now).total_seconds() + 0.999))


def blocked_until(
    conn: Database,
    purpose: str,
    account_id: int | None,
    subject: str,
    now: dt.datetime | None = None,
    requester: Requester = None,
) -> str | None:
    """The end of the current failure block of this requester's scope, or None."""
    until = conn.otp.blocked_until(failure_scope(purpose, account_id, subject, requester))
    if until and until > to_ts(now or now_utc()):
        return until
    return None


def _lock_subjects(purpose: str, account_id: int | None, subject: str, client: str | None) -> list[str]:
    """What a send or a verify serializes on (``storage.otp.lock_subjects``): the target, whose limits
    count every requester's sends and wrong codes (and the requester's own, which are per target); the
    account, whose link limits span consumer IDs; the client address, whose limits span mobiles.

    >>> _lock_subjects("link", 7, "101", "10.0.0.1")
    ['otp:link:101', 'otp:account:7', 'otp:client:10.0.0.1']
    >>> _lock_subjects("login", None, "+919876543210", None)
    ['otp:login:+919876543210']
    """
    subjects = [f"otp:{purpose}:{subject}"]
    if purpose == "link" and account_id is not None:
        subjects.append(f"otp:account:{account_id}")
    if client:
        subjects.append(f"otp:client:{client}")
    return subjects


def _consumer(purpose: str, subject: str) -> str | None:
    return subject if purpose == "link" else None


def _insert_challenge(
    conn: Database,
    key: OtpKey,
    purpose: str,
    account_id: int | None,
    subject: str,
    masked: str,
    code: str | None,
    now: dt.datetime,
    requester: Requester = None,
    binding: str | None = None,
) -> str:
    challenge_id = secrets.token_hex(16)
    mac = code_mac(key, challenge_id, purpose, account_id, subject, code) if code is not None else None
    bound = destination_mac(key, challenge_id, binding) if binding is not None else None
    conn.otp.insert_challenge(
        requester=requester,
        destination_mac=bound,
        challenge_id=challenge_id,
        purpose=purpose,
        account_id=account_id,
        subject=subject,
        destination_masked=masked,
        code_mac=mac,
        kid=key.kid,
        created_at=to_ts(now),
        expires_at=to_ts(now + CODE_TTL),
    )
    return challenge_id


def _limit_reason(
    conn: Database,
    purpose: str,
    account_id: int | None,
    subject: str,
    now: dt.datetime,
    requester: Requester = None,
    client: str | None = None,
    owner: bool = False,
) -> str | None:
    """The first limit a new send would break, or None. Runs under the write lock (SQLite) or the
    advisory locks of ``_lock_subjects`` (PostgreSQL), so the counts cannot change before the insert.

    The requester's own limits come first (they stop a stranger before the target is touched); the
    target's limits (flood guard, guess budget) never stop the proven owner."""
    if blocked_until(conn, purpose, account_id, subject, now, requester):
        return "failures_block"
    day_ago = to_ts(now - GUESS_WINDOW)
    if client and conn.otp.client_guesses_since(client, day_ago) >= CLIENT_GUESSES_PER_DAY:
        return "client_guesses"
    last = conn.otp.last_send_ts(purpose, subject, requester)
    if last is not None and from_ts(last) + RESEND_COOLDOWN > now:
        return "cooldown"
    for window, cap in SEND_WINDOWS:
        if conn.otp.sends_since(purpose, subject, to_ts(now - window), requester) >= cap:
            return f"sends_per_{int(window.total_seconds() // 60)}min"
    if purpose == "link":
        since = to_ts(now - dt.timedelta(days=1))
        subjects = conn.otp.link_subjects_since(account_id, since)
        if subject not in subjects and len(subjects) >= ACCOUNT_DISTINCT_CONSUMERS_PER_DAY:
            return "account_distinct_consumers"
        if conn.otp.link_sends_since(account_id, since) >= ACCOUNT_LINK_CHALLENGES_PER_DAY:
            return "account_link_challenges"
    elif client and conn.otp.client_sends_since(client, "login", day_ago) >= CLIENT_LOGIN_SENDS_PER_DAY:
        return "client_sends"
    if not owner:
        # The flood guard of one registered mobile (links); a sign-in mobile is guarded per session
        # and per client address above, so its owner's own sends are never refused for a stranger's.
        if (
            purpose == "link"
            and conn.otp.target_sends_since(purpose, subject, day_ago) >= TARGET_SENDS_PER_DAY
        ):
            return "target_sends"
        if target_blocked(conn, purpose, subject, now):
            return "target_guesses"
    return None


def target_blocked(conn: Database, purpose: str, subject: str, now: dt.datetime | None = None) -> bool:
    """Whether the target took its ``TARGET_GUESSES_PER_DAY`` wrong codes in the last rolling day, or
    ``TARGET_MAX_CONSECUTIVE`` in a row (only a right code, e.g. the owner's, ends that)."""
    now = now or now_utc()
    target = target_scope(purpose, subject)
    if conn.otp.consecutive_failures(target) >= TARGET_MAX_CONSECUTIVE:
        return True
    return conn.otp.target_guesses_since(target, to_ts(now - GUESS_WINDOW)) >= TARGET_GUESSES_PER_DAY


def _to_challenge(row: Mapping[str, Any]) -> Challenge:
    return Challenge(
        challenge_id=row["challenge_id"],
        purpose=row["purpose"],
        account_id=row["account_id"],
        subject=row["subject"],
        destination_masked=row["destination_masked"],
        has_code=row["code_mac"] is not None,
        kid=row["kid"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        attempts=row["attempts"],
        consumed_at=row["consumed_at"],
        dead_at=row["dead_at"],
        dead_reason=row["dead_reason"],
    )


# --- verifying ----------------------------------------------------------------------------------


def verify(
    conn: Database,
    key: OtpKey,
    challenge_id: object,
    *,
    purpose: Purpose,
    account_id: int | None,
    subject: str,
    code_input: object,
    now: dt.datetime | None = None,
    on_success: Callable[[Database, Challenge], int | None] | None = None,
    session: str | None = None,
    client: str | None = None,
    owner: bool = False,
    binding: str | None = None,
) -> Verdict:
    """Check ``code_input`` against the challenge, bound to (purpose, account, subject); consume it once.

    ``on_success(conn, challenge)`` runs inside the consuming transaction (create the account, insert the
    link, audit) and returns the account signed in or linked (kept on the challenge, ``Verdict.account_id``):
    if it raises, nothing is consumed. Malformed input is refused before anything counts (status
    "invalid"); every well-formed wrong code counts against the challenge, the requester's failure
    counter, the client address and the target (``TARGET_GUESSES_PER_DAY``).

    ``session`` names the browser session that submits: a challenge requested by another session is
    "unknown" to it (nothing counts). A consumed challenge answers "ok" with ``repeat=True`` and the
    stored account, and runs nothing, when the same session sends the same right code again before the
    code expires (issue 10, double submit); otherwise "used". ``binding`` must be what the challenge
    was issued with (the registered mobile now): if it changed the challenge dies ("dead", no try
    counted). The code is checked with the key that made it (``OtpKey.for_kid``): a rotation does not
    turn a right code "wrong". Raises ``storage.StorageError`` when the database fails.
    """
    now = now or now_utc()
    ts = to_ts(now)
    code = normalise_code(code_input)
    if code is None:
        return Verdict("invalid")
    if not isinstance(challenge_id, str) or not _CHALLENGE_ID_RE.fullmatch(challenge_id):
        hmac.compare_digest(b"0" * 64, b"1" * 64)
        return Verdict("unknown")
    consumer = _consumer(purpose, subject)
    with conn.transaction():
        conn.otp.lock_subjects(_lock_subjects(purpose, account_id, subject, client))
        row = conn.otp.challenge_row(challenge_id, lock=True)
        if row is None:
            hmac.compare_digest(b"0" * 64, b"1" * 64)
            return Verdict("unknown")
        found = _to_challenge(row)
        made_by = key.for_kid(found.kid)
        requester = requester_id(made_by or key, purpose, account_id, session)
        if row.get("requester") is not None and not hmac.compare_digest(
            str(row["requester"]).encode(), str(requester or "").encode()
        ):
            return Verdict("unknown")  # another session's challenge: nothing counts, nothing dies
        provided = code_mac(made_by or key, challenge_id, purpose, account_id, subject, code).encode()
        usable = row["code_mac"] is not None and made_by is not None
        expected = row["code_mac"].encode() if usable else secrets.token_hex(32).encode()
        right = hmac.compare_digest(provided, expected) and usable

        def note(event: str, **extra: Any) -> None:
            """An audit row about this challenge (every verdict below records the same five facts)."""
            audit.record(
                conn,
                event,
                account_id=account_id,
                consumer_id=consumer,
                destination=found.destination_masked,
                challenge_id=challenge_id,
                now=ts,
                **extra,
            )

        if found.consumed_at is not None:
            if right and _same_session(made_by or key, row, session) and found.expires_at > ts:
                return Verdict("ok", challenge=found, account_id=row["consumed_account_id"], repeat=True)
            note("otp_reuse")
            return Verdict("used", challenge=found)
        if found.dead_at is not None:
            return Verdict("dead", challenge=found)
        if found.expires_at <= ts:
            conn.otp.kill_challenge(challenge_id, ts=ts, reason="expired", only_open=False)
            note("otp_expired")
            return Verdict("expired", challenge=found)
        if not _same_destination(made_by, row, binding):
            conn.otp.kill_challenge(challenge_id, ts=ts, reason="destination_changed", only_open=False)
            note("otp_dead", reason="destination_changed")
            return Verdict("dead", challenge=found)
        if blocked_until(conn, purpose, account_id, subject, now, requester):
            return Verdict("blocked", challenge=found)
        if (
            client
            and conn.otp.client_guesses_since(client, to_ts(now - GUESS_WINDOW)) >= CLIENT_GUESSES_PER_DAY
        ):
            return Verdict("blocked", challenge=found)
        if not owner and target_blocked(conn, purpose, subject, now):
            return Verdict("blocked", challenge=found)
        if not conn.otp.count_attempt(challenge_id, ts=ts, max_attempts=MAX_ATTEMPTS):
            return Verdict("dead", challenge=found)
        attempts = found.attempts + 1
        if right:
            mac = session_mac(made_by or key, challenge_id, session) if session else None
            if not conn.otp.consume(challenge_id, ts=ts, session_mac=mac):  # pragma: no cover
                raise RuntimeError(
                    "OTP challenge consumed twice"
                )  # impossible: the row is locked (BEGIN IMMEDIATE / FOR UPDATE)
            conn.otp.reset_failures(failure_scope(purpose, account_id, subject, requester))
            conn.otp.reset_failures(target_scope(purpose, subject))
            made = on_success(conn, found) if on_success is not None else None
            if made is not None:
                conn.otp.record_consumed_account(challenge_id, made)
            return Verdict("ok", challenge=found, account_id=made)
        # A wrong code.
        conn.otp.record_guess(
            ts=ts, target=target_scope(purpose, subject), requester=requester, client=client
        )
        conn.otp.add_failure(target_scope(purpose, subject), ts=ts)
        note("otp_failed", outcome=f"attempt {attempts}")
        status: Status = "wrong"
        if attempts >= MAX_ATTEMPTS:
            conn.otp.kill_challenge(challenge_id, ts=ts, reason="too_many_attempts", only_open=False)
            note("otp_dead")
            status = "dead"
        if _count_failure(conn, purpose, account_id, subject, now, requester):
            status = "blocked"
            conn.otp.kill_open_challenges(
                purpose, account_id, subject, ts=ts, reason="blocked", requester=requester
            )
            note("rate_limited", reason="failures_block")
        return Verdict(status, tries_left=max(0, MAX_ATTEMPTS - attempts), challenge=found)


def _same_destination(key: OtpKey | None, row: Mapping[str, Any], binding: str | None) -> bool:
    """Whether the challenge's mobile is still the one ``binding`` names (True when it was issued unbound)."""
    stored = row.get("destination_mac")
    if stored is None:
        return True
    if key is None or binding is None:
        return False
    return hmac.compare_digest(
        destination_mac(key, str(row["challenge_id"]), binding).encode(), str(stored).encode()
    )


def _same_session(key: OtpKey, row: Mapping[str, Any], session: str | None) -> bool:
    """Whether ``session`` is the browser session that consumed the challenge ``row`` (constant time)."""
    stored = row.get("consumed_session")
    if not session or not stored:
        return False
    return hmac.compare_digest(
        session_mac(key, str(row["challenge_id"]), session).encode(), str(stored).encode()
    )


def _count_failure(
    conn: Database,
    purpose: str,
    account_id: int | None,
    subject: str,
    now: dt.datetime,
    requester: Requester = None,
) -> bool:
    """Add one consecutive failure of the requester; True when it starts a block of that requester."""
    scope = failure_scope(purpose, account_id, subject, requester)
    consecutive = conn.otp.add_failure(scope, ts=to_ts(now))
    for threshold, duration in FAILURE_BLOCKS:
        if consecutive >= threshold:
            conn.otp.block(scope, until=to_ts(now + duration))
            return True
    return False


def consecutive_failures(
    conn: Database, purpose: str, account_id: int | None, subject: str, requester: Requester = None
) -> int:
    """The current consecutive-failure count of a requester's scope (0 after a success)."""
    return conn.otp.consecutive_failures(failure_scope(purpose, account_id, subject, requester))


def target_failures(conn: Database, purpose: str, subject: str) -> int:
    """The target's consecutive wrong codes from every requester (0 after a right one)."""
    return conn.otp.consecutive_failures(target_scope(purpose, subject))
