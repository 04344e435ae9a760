"""The OTP tables: challenges, sends (the limits count them) and consecutive-failure counters.

The rules (code, HMAC, limits, what a verdict means) are in ``lib/otp.py``; this module does the
counting and the atomic writes. Every function runs inside the caller's ``transaction(conn)``
(``BEGIN IMMEDIATE``: the write lock is held from the first read), and the writes that decide a race
are conditional UPDATEs whose ``rowcount`` says who won:

- ``count_attempt``: one more try, only while the challenge is open, unexpired and under the cap;
- ``consume``: once, only while not consumed; it records the browser session that consumed it
  (an HMAC, never the session itself) so that session's repeat of the same code can be recognised.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn, storage.transaction(conn):
...     insert_challenge(conn, challenge_id="c" * 32, purpose="login", account_id=None,
...                      subject="+919876543210", destination_masked="+91 ••••••••10", code_mac="m",
...                      kid="k", created_at="2026-11-25T06:30:00Z", expires_at="2026-11-25T06:35:00Z")
...     tried = count_attempt(conn, "c" * 32, ts="2026-11-25T06:31:00Z", max_attempts=5)
...     first = consume(conn, "c" * 32, ts="2026-11-25T06:31:00Z", session_mac="s")
...     again = consume(conn, "c" * 32, ts="2026-11-25T06:31:01Z", session_mac="s")
...     row = challenge_row(conn, "c" * 32)
>>> tried, first, again, row["attempts"], row["consumed_session"]
(True, True, False, 1, 's')
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from lib.storage import dialect
from lib.storage.engine import Conn, raises_storage_error

# --- challenges -----------------------------------------------------------------------------------


@raises_storage_error
def lock_subjects(conn: Conn, subjects: Iterable[str]) -> None:
    """Serialize the OTP writers of each subject (``'otp:login:+91…'``, ``'otp:client:…'``) until the
    caller's transaction ends, so count-then-insert limits ("3 sends in 15 minutes") hold with many app
    servers: PostgreSQL advisory locks (``dialect.lock``), taken in one order (by key) so two requests
    never wait on each other in a cycle; on SQLite ``BEGIN IMMEDIATE`` already serializes every writer.
    Call first thing inside ``transaction(conn)``.
    """
    for subject in sorted(set(subjects), key=lambda s: (dialect.lock_key(s), s)):
        dialect.lock(conn, subject)


@raises_storage_error
def challenge_row(conn: Conn, challenge_id: str, *, lock: bool = False) -> dict[str, Any] | None:
    """Every column of one ``otp_challenges`` row (``code_mac`` included: for ``lib.otp`` only), or None.

    ``lock``: the row stays locked until the caller's transaction ends (PostgreSQL ``FOR UPDATE``: a
    concurrent verify of the same challenge waits, then reads what this one wrote), as under SQLite's
    ``BEGIN IMMEDIATE``.
    """
    row = (
        conn.execute(
            "SELECT * FROM otp_challenges WHERE challenge_id = :challenge_id"
            + (dialect.for_update(conn) if lock else ""),
            {"challenge_id": challenge_id},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


@raises_storage_error
def live_challenge_row(
    conn: Conn, purpose: str, account_id: int | None, subject: str, ts: str, requester: str | None = None
) -> dict[str, Any] | None:
    """The newest challenge of a flow and requester that still takes a code at ``ts`` (not consumed, not
    dead, unexpired); another requester's challenge is never returned."""
    row = (
        conn.execute(
            "SELECT * FROM otp_challenges WHERE purpose = :purpose "
            "AND account_id IS NOT DISTINCT FROM :account_id AND subject = :subject "
            "AND requester IS NOT DISTINCT FROM :requester AND consumed_at IS NULL AND dead_at IS NULL "
            "AND expires_at > :ts ORDER BY created_at DESC LIMIT 1",
            {
                "purpose": purpose,
                "account_id": account_id,
                "subject": subject,
                "requester": requester,
                "ts": ts,
            },
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


@raises_storage_error
def newest_live_link(conn: Conn, account_id: int, ts: str) -> dict[str, Any] | None:
    """The newest "Add Another Meter" challenge this account asked for that still takes a code at ``ts``
    (any consumer ID): ``challenge_id, subject, destination_masked, created_at``, or None. The flow resumes
    it after a reload or on another app server (issue 12); a sign-in challenge belongs to its browser
    session and is never resumed elsewhere."""
    row = (
        conn.execute(
            "SELECT challenge_id, subject, destination_masked, created_at FROM otp_challenges "
            "WHERE purpose = 'link' AND account_id = :account_id AND requester = :requester "
            "AND consumed_at IS NULL AND dead_at IS NULL AND expires_at > :ts "
            "ORDER BY created_at DESC LIMIT 1",
            {"account_id": account_id, "requester": f"a{account_id}", "ts": ts},
        )
        .mappings()
        .first()
    )
    return dict(row) if row else None


@raises_storage_error
def insert_challenge(
    conn: Conn,
    *,
    challenge_id: str,
    purpose: str,
    account_id: int | None,
    subject: str,
    destination_masked: str,
    code_mac: str | None,
    kid: str,
    created_at: str,
    expires_at: str,
    requester: str | None = None,
    destination_mac: str | None = None,
) -> None:
    """Store a new challenge (``code_mac`` None: nothing was sent, a decoy or a limited request).

    ``requester``: who asked for it (an HMAC of the browser session, or ``a<account_id>``);
    ``destination_mac``: what binds it to the mobile it was sent to (migration ``0008_abuse``).
    """
    conn.execute(
        "INSERT INTO otp_challenges (challenge_id, purpose, account_id, subject, destination_masked, "
        "code_mac, kid, created_at, expires_at, requester, destination_mac) "
        "VALUES (:challenge_id, :purpose, :account_id, :subject, :destination_masked, "
        ":code_mac, :kid, :created_at, :expires_at, :requester, :destination_mac)",
        {
            "challenge_id": challenge_id,
            "purpose": purpose,
            "account_id": account_id,
            "subject": subject,
            "destination_masked": destination_masked,
            "code_mac": code_mac,
            "kid": kid,
            "created_at": created_at,
            "expires_at": expires_at,
            "requester": requester,
            "destination_mac": destination_mac,
        },
    )


@raises_storage_error
def kill_open_challenges(
    conn: Conn,
    purpose: str,
    account_id: int | None,
    subject: str,
    *,
    ts: str,
    reason: str,
    requester: str | None = None,
) -> int:
    """Mark every open challenge of a flow *and requester* dead (``reason``: 'superseded', 'blocked');
    another requester's challenges live on. Returns how many."""
    result = conn.execute(
        "UPDATE otp_challenges SET dead_at = :ts, dead_reason = :reason "
        "WHERE purpose = :purpose AND account_id IS NOT DISTINCT FROM :account_id AND subject = :subject "
        "AND requester IS NOT DISTINCT FROM :requester AND consumed_at IS NULL AND dead_at IS NULL",
        {
            "ts": ts,
            "reason": reason,
            "purpose": purpose,
            "account_id": account_id,
            "subject": subject,
            "requester": requester,
        },
    )
    return int(result.rowcount)


@raises_storage_error
def kill_challenge(conn: Conn, challenge_id: str, *, ts: str, reason: str, only_open: bool) -> bool:
    """Mark one challenge dead. ``only_open``: only if neither consumed nor already dead.

    Returns whether a row changed.
    """
    condition = " AND dead_at IS NULL AND consumed_at IS NULL" if only_open else ""
    result = conn.execute(
        f"UPDATE otp_challenges SET dead_at = :ts, dead_reason = :reason WHERE challenge_id = :challenge_id{condition}",
        {"ts": ts, "reason": reason, "challenge_id": challenge_id},
    )
    return bool(result.rowcount == 1)


@raises_storage_error
def count_attempt(conn: Conn, challenge_id: str, *, ts: str, max_attempts: int) -> bool:
    """Count one try: True only when the challenge was open, unexpired at ``ts`` and under ``max_attempts``."""
    result = conn.execute(
        "UPDATE otp_challenges SET attempts = attempts + 1 WHERE challenge_id = :challenge_id "
        "AND consumed_at IS NULL AND dead_at IS NULL AND expires_at > :ts AND attempts < :max_attempts",
        {"challenge_id": challenge_id, "ts": ts, "max_attempts": max_attempts},
    )
    return bool(result.rowcount == 1)


@raises_storage_error
def consume(conn: Conn, challenge_id: str, *, ts: str, session_mac: str | None) -> bool:
    """Mark the challenge used by the browser session ``session_mac``; False if it was already used."""
    result = conn.execute(
        "UPDATE otp_challenges SET consumed_at = :ts, consumed_session = :session_mac "
        "WHERE challenge_id = :challenge_id AND consumed_at IS NULL",
        {"ts": ts, "session_mac": session_mac, "challenge_id": challenge_id},
    )
    return bool(result.rowcount == 1)


@raises_storage_error
def record_consumed_account(conn: Conn, challenge_id: str, account_id: int) -> None:
    """The outcome of a consumed challenge: the account that signed in, or that linked the connection."""
    conn.execute(
        "UPDATE otp_challenges SET consumed_account_id = :account_id "
        "WHERE challenge_id = :challenge_id AND consumed_at IS NOT NULL",
        {"account_id": account_id, "challenge_id": challenge_id},
    )


# --- sends (the limits) ---------------------------------------------------------------------------


@raises_storage_error
def record_send(
    conn: Conn,
    *,
    ts: str,
    purpose: str,
    subject: str,
    account_id: int | None,
    challenge_id: str,
    requester: str | None = None,
    client: str | None = None,
) -> None:
    """One send request that passed the limits (decoys too), with its requester and client address."""
    conn.execute(
        "INSERT INTO otp_sends (ts, purpose, subject, account_id, challenge_id, requester, client) "
        "VALUES (:ts, :purpose, :subject, :account_id, :challenge_id, :requester, :client)",
        {
            "ts": ts,
            "purpose": purpose,
            "subject": subject,
            "account_id": account_id,
            "challenge_id": challenge_id,
            "requester": requester,
            "client": client,
        },
    )


@raises_storage_error
def last_send_ts(conn: Conn, purpose: str, subject: str, requester: str | None = None) -> str | None:
    """When this requester's newest send for the subject was (stored UTC text), or None."""
    value = conn.execute(
        "SELECT max(ts) FROM otp_sends WHERE purpose = :purpose AND subject = :subject "
        "AND requester IS NOT DISTINCT FROM :requester",
        {"purpose": purpose, "subject": subject, "requester": requester},
    ).scalar()
    return None if value is None else str(value)


@raises_storage_error
def sends_since(conn: Conn, purpose: str, subject: str, since: str, requester: str | None = None) -> int:
    """This requester's sends for the subject with ``ts > since``."""
    return int(
        conn.execute(
            "SELECT count(*) FROM otp_sends WHERE purpose = :purpose AND subject = :subject "
            "AND requester IS NOT DISTINCT FROM :requester AND ts > :since",
            {"purpose": purpose, "subject": subject, "requester": requester, "since": since},
        ).scalar_one()
    )


@raises_storage_error
def target_sends_since(conn: Conn, purpose: str, subject: str, since: str) -> int:
    """Every requester's sends for the subject with ``ts > since`` (the flood guard of one mobile)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM otp_sends WHERE purpose = :purpose AND subject = :subject AND ts > :since",
            {"purpose": purpose, "subject": subject, "since": since},
        ).scalar_one()
    )


@raises_storage_error
def client_sends_since(conn: Conn, client: str, purpose: str, since: str) -> int:
    """The sends one client address asked for with ``ts > since`` (unauthenticated sign-in sends)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM otp_sends WHERE client = :client AND purpose = :purpose AND ts > :since",
            {"client": client, "purpose": purpose, "since": since},
        ).scalar_one()
    )


# --- wrong codes, whoever sent them (migration 0008_abuse) -------------------------------------------


@raises_storage_error
def record_guess(conn: Conn, *, ts: str, target: str, requester: str | None, client: str | None) -> None:
    """One wrong code against ``target`` ('login:<mobile>' or 'link:<consumer_id>')."""
    conn.execute(
        "INSERT INTO otp_guesses (ts, target, requester, client) VALUES (:ts, :target, :requester, :client)",
        {"ts": ts, "target": target, "requester": requester, "client": client},
    )


@raises_storage_error
def target_guesses_since(conn: Conn, target: str, since: str) -> int:
    """Wrong codes against ``target`` with ``ts > since``, from every account and session."""
    return int(
        conn.execute(
            "SELECT count(*) FROM otp_guesses WHERE target = :target AND ts > :since",
            {"target": target, "since": since},
        ).scalar_one()
    )


@raises_storage_error
def oldest_target_guess_since(conn: Conn, target: str, since: str) -> str | None:
    """The oldest wrong code against ``target`` with ``ts > since`` (when the rolling budget frees up)."""
    value = conn.execute(
        "SELECT min(ts) FROM otp_guesses WHERE target = :target AND ts > :since",
        {"target": target, "since": since},
    ).scalar()
    return None if value is None else str(value)


@raises_storage_error
def client_guesses_since(conn: Conn, client: str, since: str) -> int:
    """Wrong codes from one client address with ``ts > since``, whatever the target."""
    return int(
        conn.execute(
            "SELECT count(*) FROM otp_guesses WHERE client = :client AND ts > :since",
            {"client": client, "since": since},
        ).scalar_one()
    )


@raises_storage_error
def link_subjects_since(conn: Conn, account_id: int | None, since: str) -> set[str]:
    """The distinct consumer IDs an account asked a link OTP for with ``ts > since``."""
    rows = conn.execute(
        "SELECT DISTINCT subject FROM otp_sends WHERE purpose = 'link' AND account_id = :account_id "
        "AND ts > :since",
        {"account_id": account_id, "since": since},
    )
    return {str(r[0]) for r in rows}


@raises_storage_error
def link_sends_since(conn: Conn, account_id: int | None, since: str) -> int:
    """How many link OTPs an account asked for with ``ts > since``."""
    return int(
        conn.execute(
            "SELECT count(*) FROM otp_sends WHERE purpose = 'link' AND account_id = :account_id AND ts > :since",
            {"account_id": account_id, "since": since},
        ).scalar_one()
    )


# --- consecutive failures -------------------------------------------------------------------------


@raises_storage_error
def blocked_until(conn: Conn, scope: str) -> str | None:
    """The stored end of the scope's block (may lie in the past), or None."""
    value = conn.execute(
        "SELECT blocked_until FROM otp_failures WHERE scope = :scope", {"scope": scope}
    ).scalar()
    return str(value) if value else None


@raises_storage_error
def add_failure(conn: Conn, scope: str, *, ts: str) -> int:
    """One more consecutive failure of ``scope``; returns the new count."""
    return int(
        conn.execute(
            "INSERT INTO otp_failures (scope, consecutive, last_failure_at) VALUES (:scope, 1, :ts) "
            "ON CONFLICT (scope) DO UPDATE SET consecutive = otp_failures.consecutive + 1, "
            "last_failure_at = excluded.last_failure_at RETURNING consecutive",
            {"scope": scope, "ts": ts},
        ).scalar_one()
    )


@raises_storage_error
def block(conn: Conn, scope: str, *, until: str) -> None:
    """Block the scope until ``until`` (stored UTC text)."""
    conn.execute(
        "UPDATE otp_failures SET blocked_until = :until WHERE scope = :scope",
        {"until": until, "scope": scope},
    )


@raises_storage_error
def reset_failures(conn: Conn, scope: str) -> None:
    """A success: the scope's consecutive failures (and any block) go."""
    conn.execute("DELETE FROM otp_failures WHERE scope = :scope", {"scope": scope})


@raises_storage_error
def consecutive_failures(conn: Conn, scope: str) -> int:
    """The scope's current consecutive failures (0 when none are stored)."""
    value = conn.execute(
        "SELECT consecutive FROM otp_failures WHERE scope = :scope", {"scope": scope}
    ).scalar()
    return int(value) if value is not None else 0
