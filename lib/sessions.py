"""Staying signed in (issue 14 section 2): a server-side session per signed-in browser.

A verified sign-in OTP starts a session row in the database (so several app servers share it) and hands
this browser a one-time **hand-off**; the page posts it to the server's cookie route (``lib/web.py``), which
swaps it for the session **token** and sets it as an HttpOnly, SameSite=Strict cookie (Secure over https).
A reload or a second tab sends the cookie with its connection; :func:`resume` finds the session by the
token's keyed hash. Only HMACs of token and hand-off are stored (key: the OTP key, ``lib.otp.load_key``,
with its own purpose label), never the values; no token is ever put in a URL.

A session ends at "Sign out", after ``IDLE_TIMEOUT`` (15 min) without a run on any tab of it, or at
``ABSOLUTE_LIFETIME`` (12 h) after the sign-in, whichever comes first (the idle and lifetime figures of
docs/DEVELOPING.md and the OTP security notes). An ended session's cookie signs nobody in; every tab of it
is signed out at its next run (:func:`check`).

>>> from lib import storage
>>> from lib.otp import OtpKey
>>> import datetime as dt
>>> key = OtpKey(secret=b"k" * 32, kid="test", source="configured")
>>> t0 = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
>>> with storage.open_db(":memory:") as conn:
...     account = conn.accounts.create_account("+910000000001", now="2026-11-25T06:00:00Z")
...     started = start(conn, key, account, now=t0)
...     token = claim(conn, key, started.handoff, now=t0 + dt.timedelta(seconds=2))
...     reload = resume(conn, key, token, now=t0 + dt.timedelta(minutes=10))
...     late = check(conn, started.session_id, now=t0 + dt.timedelta(minutes=26))
...     reload.session.account_id == account, late.session, late.reason
(True, None, 'idle')
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from lib.clock import from_ts, now_utc, to_ts
from lib.otp import OtpKey

if TYPE_CHECKING:
    from lib.storage import Database

IDLE_TIMEOUT = dt.timedelta(minutes=15)
ABSOLUTE_LIFETIME = dt.timedelta(hours=12)
HANDOFF_TTL = dt.timedelta(minutes=2)
COOKIE_NAME = "mm_session"
TOKEN_BYTES = 32

# token_urlsafe output: what a token or hand-off looks like (anything else is refused unhashed).
_TOKEN_SHAPE = re.compile(r"^[A-Za-z0-9_-]{20,100}$")

EndReason = Literal["sign_out", "idle", "lifetime", "reset", "unknown"]


@dataclass(frozen=True)
class Session:
    """A live session: whose it is, and whether its hand-off reached the browser (the cookie is set)."""

    session_id: int
    account_id: int
    handed_off: bool = True


@dataclass(frozen=True)
class Status:
    """The answer of :func:`check` / :func:`resume`: the live ``session``, or None and why (``reason``)."""

    session: Session | None
    reason: EndReason | None = None


@dataclass(frozen=True)
class Started:
    """A new session and its one-time hand-off (shown once to this browser's page, never stored)."""

    session_id: int
    handoff: str = field(repr=False)


def is_token_shaped(value: object) -> bool:
    """Whether ``value`` looks like a token or hand-off we issued (a cheap check before any hashing).

    >>> is_token_shaped("a" * 43), is_token_shaped("<script>"), is_token_shaped(None)
    (True, False, False)
    """
    return isinstance(value, str) and bool(_TOKEN_SHAPE.match(value))


def mac(key: OtpKey, kind: Literal["token", "handoff"], value: str) -> str:
    """The keyed hash stored for a token or hand-off (HMAC-SHA256, a purpose label per kind)."""
    message = f"metermitra-session-v1\x00{kind}\x00{value}".encode()
    return hmac.new(key.secret, message, hashlib.sha256).hexdigest()


def start(conn: Database, key: OtpKey, account_id: int, *, now: dt.datetime | None = None) -> Started:
    """Start a session for ``account_id`` (just signed in with an OTP); its hand-off lives ``HANDOFF_TTL``."""
    now = now or now_utc()
    handoff = secrets.token_urlsafe(TOKEN_BYTES)
    with conn.transaction():
        session_id = conn.sessions.create(
            account_id=account_id,
            handoff_mac=mac(key, "handoff", handoff),
            handoff_expires_at=to_ts(now + HANDOFF_TTL),
            now=to_ts(now),
        )
    return Started(session_id=session_id, handoff=handoff)


def claim(conn: Database, key: OtpKey, handoff: object, *, now: dt.datetime | None = None) -> str | None:
    """Swap a hand-off (once, within its TTL, session still live) for a new cookie token; None otherwise."""
    if not is_token_shaped(handoff):
        return None
    now = now or now_utc()
    token = secrets.token_urlsafe(TOKEN_BYTES)
    with conn.transaction():
        claimed = conn.sessions.claim_handoff(
            mac(key, "handoff", str(handoff)), mac(key, "token", token), now=to_ts(now)
        )
        if claimed is not None and _ended_by_time(conn.sessions.by_id(claimed), now) is not None:
            return None  # signed in more than the lifetime ago: check() ends it at the next run
    return token if claimed is not None else None


def resume(conn: Database, key: OtpKey, token: object, *, now: dt.datetime | None = None) -> Status:
    """The session of a cookie's token (a reload, another tab): live and touched, or None and why."""
    if not is_token_shaped(token):
        return Status(None, "unknown")
    with conn.transaction():
        row = conn.sessions.by_token(mac(key, "token", str(token)))
        return _live(conn, row, now or now_utc())


def check(conn: Database, session_id: object, *, now: dt.datetime | None = None) -> Status:
    """Is this tab's session still live? Touches it if so; ends it when idle or past its lifetime.

    Another tab's "Sign out" shows here as ``Status(None, "sign_out")``.
    """
    if not isinstance(session_id, int):
        return Status(None, "unknown")
    with conn.transaction():
        return _live(conn, conn.sessions.by_id(session_id), now or now_utc())


def end(
    conn: Database, session_id: object, *, reason: EndReason = "sign_out", now: dt.datetime | None = None
) -> bool:
    """End a session (sign-out): its cookie signs nobody in any more. Whether it was live."""
    if not isinstance(session_id, int):
        return False
    with conn.transaction():
        return conn.sessions.end(session_id, reason=reason, now=to_ts(now or now_utc()))


def is_live_token(conn: Database, key: OtpKey, token: object, *, now: dt.datetime | None = None) -> bool:
    """Whether a cookie's token belongs to a live session (read only: the cookie route asks before clearing)."""
    if not is_token_shaped(token):
        return False
    row = conn.sessions.by_token(mac(key, "token", str(token)))
    return row is not None and row["ended_at"] is None and _ended_by_time(row, now or now_utc()) is None


def _ended_by_time(row: dict[str, Any] | None, now: dt.datetime) -> EndReason | None:
    if row is None:
        return "unknown"
    if now - from_ts(row["created_at"]) >= ABSOLUTE_LIFETIME:
        return "lifetime"
    if now - from_ts(row["last_seen_at"]) >= IDLE_TIMEOUT:
        return "idle"
    return None


def _live(conn: Database, row: dict[str, Any] | None, now: dt.datetime) -> Status:
    if row is None:
        return Status(None, "unknown")
    if row["ended_at"] is not None:
        return Status(None, row["end_reason"] or "unknown")
    reason = _ended_by_time(row, now)
    if reason is not None:
        conn.sessions.end(row["session_id"], reason=reason, now=to_ts(now))
        return Status(None, reason)
    conn.sessions.touch(row["session_id"], now=to_ts(now))
    return Status(Session(int(row["session_id"]), int(row["account_id"]), bool(row["handed_off"])))
