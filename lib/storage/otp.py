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

from typing import Any

from lib.storage.boundary import guarded
from lib.storage.engine import Conn

# --- challenges -----------------------------------------------------------------------------------


@guarded
def challenge_row(conn: Conn, challenge_id: str) -> dict[str, Any] | None:
    """Every column of one ``otp_challenges`` row (``code_mac`` included: for ``lib.otp`` only), or None."""
    row = conn.execute("SELECT * FROM otp_challenges WHERE challenge_id = ?", (challenge_id,)).fetchone()
    return dict(row) if row else None


@guarded
def live_challenge_row(
    conn: Conn, purpose: str, account_id: int | None, subject: str, ts: str, requester: str | None = None
) -> dict[str, Any] | None:
    """The newest challenge of a flow and requester that still takes a code at ``ts`` (not consumed, not
    dead, unexpired); another requester's challenge is never returned."""
    row = conn.execute(
        "SELECT * FROM otp_challenges WHERE purpose = ? AND account_id IS ? AND subject = ? "
        "AND requester IS ? AND consumed_at IS NULL AND dead_at IS NULL AND expires_at > ? "
        "ORDER BY created_at DESC LIMIT 1",
        (purpose, account_id, subject, requester, ts),
    ).fetchone()
    return dict(row) if row else None


@guarded
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
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            challenge_id,
            purpose,
            account_id,
            subject,
            destination_masked,
            code_mac,
            kid,
            created_at,
            expires_at,
            requester,
            destination_mac,
        ),
    )


@guarded
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
    cursor = conn.execute(
        "UPDATE otp_challenges SET dead_at = ?, dead_reason = ? "
        "WHERE purpose = ? AND account_id IS ? AND subject = ? AND requester IS ? "
        "AND consumed_at IS NULL AND dead_at IS NULL",
        (ts, reason, purpose, account_id, subject, requester),
    )
    return cursor.rowcount


@guarded
def kill_challenge(conn: Conn, challenge_id: str, *, ts: str, reason: str, only_open: bool) -> bool:
    """Mark one challenge dead. ``only_open``: only if neither consumed nor already dead.

    Returns whether a row changed.
    """
    condition = " AND dead_at IS NULL AND consumed_at IS NULL" if only_open else ""
    cursor = conn.execute(
        f"UPDATE otp_challenges SET dead_at = ?, dead_reason = ? WHERE challenge_id = ?{condition}",
        (ts, reason, challenge_id),
    )
    return cursor.rowcount == 1


@guarded
def count_attempt(conn: Conn, challenge_id: str, *, ts: str, max_attempts: int) -> bool:
    """Count one try: True only when the challenge was open, unexpired at ``ts`` and under ``max_attempts``."""
    cursor = conn.execute(
        "UPDATE otp_challenges SET attempts = attempts + 1 WHERE challenge_id = ? AND consumed_at IS NULL "
        "AND dead_at IS NULL AND expires_at > ? AND attempts < ?",
        (challenge_id, ts, max_attempts),
    )
    return cursor.rowcount == 1


@guarded
def consume(conn: Conn, challenge_id: str, *, ts: str, session_mac: str | None) -> bool:
    """Mark the challenge used by the browser session ``session_mac``; False if it was already used."""
    cursor = conn.execute(
        "UPDATE otp_challenges SET consumed_at = ?, consumed_session = ? "
        "WHERE challenge_id = ? AND consumed_at IS NULL",
        (ts, session_mac, challenge_id),
    )
    return cursor.rowcount == 1


@guarded
def record_consumed_account(conn: Conn, challenge_id: str, account_id: int) -> None:
    """The outcome of a consumed challenge: the account that signed in, or that linked the connection."""
    conn.execute(
        "UPDATE otp_challenges SET consumed_account_id = ? WHERE challenge_id = ? AND consumed_at IS NOT NULL",
        (account_id, challenge_id),
    )


# --- sends (the limits) ---------------------------------------------------------------------------


@guarded
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
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ts, purpose, subject, account_id, challenge_id, requester, client),
    )


@guarded
def last_send_ts(conn: Conn, purpose: str, subject: str, requester: str | None = None) -> str | None:
    """When this requester's newest send for the subject was (stored UTC text), or None."""
    row = conn.execute(
        "SELECT max(ts) FROM otp_sends WHERE purpose = ? AND subject = ? AND requester IS ?",
        (purpose, subject, requester),
    ).fetchone()
    return None if row[0] is None else str(row[0])


@guarded
def sends_since(conn: Conn, purpose: str, subject: str, since: str, requester: str | None = None) -> int:
    """This requester's sends for the subject with ``ts > since``."""
    row = conn.execute(
        "SELECT count(*) FROM otp_sends WHERE purpose = ? AND subject = ? AND requester IS ? AND ts > ?",
        (purpose, subject, requester, since),
    ).fetchone()
    return int(row[0])


@guarded
def target_sends_since(conn: Conn, purpose: str, subject: str, since: str) -> int:
    """Every requester's sends for the subject with ``ts > since`` (the flood guard of one mobile)."""
    row = conn.execute(
        "SELECT count(*) FROM otp_sends WHERE purpose = ? AND subject = ? AND ts > ?",
        (purpose, subject, since),
    ).fetchone()
    return int(row[0])


@guarded
def client_sends_since(conn: Conn, client: str, purpose: str, since: str) -> int:
    """The sends one client address asked for with ``ts > since`` (unauthenticated sign-in sends)."""
    row = conn.execute(
        "SELECT count(*) FROM otp_sends WHERE client = ? AND purpose = ? AND ts > ?", (client, purpose, since)
    ).fetchone()
    return int(row[0])


# --- wrong codes, whoever sent them (migration 0008_abuse) -------------------------------------------


@guarded
def record_guess(conn: Conn, *, ts: str, target: str, requester: str | None, client: str | None) -> None:
    """One wrong code against ``target`` ('login:<mobile>' or 'link:<consumer_id>')."""
    conn.execute(
        "INSERT INTO otp_guesses (ts, target, requester, client) VALUES (?, ?, ?, ?)",
        (ts, target, requester, client),
    )


@guarded
def target_guesses_since(conn: Conn, target: str, since: str) -> int:
    """Wrong codes against ``target`` with ``ts > since``, from every account and session."""
    row = conn.execute(
        "SELECT count(*) FROM otp_guesses WHERE target = ? AND ts > ?", (target, since)
    ).fetchone()
    return int(row[0])


@guarded
def oldest_target_guess_since(conn: Conn, target: str, since: str) -> str | None:
    """The oldest wrong code against ``target`` with ``ts > since`` (when the rolling budget frees up)."""
    row = conn.execute(
        "SELECT min(ts) FROM otp_guesses WHERE target = ? AND ts > ?", (target, since)
    ).fetchone()
    return None if row[0] is None else str(row[0])


@guarded
def client_guesses_since(conn: Conn, client: str, since: str) -> int:
    """Wrong codes from one client address with ``ts > since``, whatever the target."""
    row = conn.execute(
        "SELECT count(*) FROM otp_guesses WHERE client = ? AND ts > ?", (client, since)
    ).fetchone()
    return int(row[0])


@guarded
def link_subjects_since(conn: Conn, account_id: int | None, since: str) -> set[str]:
    """The distinct consumer IDs an account asked a link OTP for with ``ts > since``."""
    rows = conn.execute(
        "SELECT DISTINCT subject FROM otp_sends WHERE purpose = 'link' AND account_id = ? AND ts > ?",
        (account_id, since),
    )
    return {str(r[0]) for r in rows}


@guarded
def link_sends_since(conn: Conn, account_id: int | None, since: str) -> int:
    """How many link OTPs an account asked for with ``ts > since``."""
    row = conn.execute(
        "SELECT count(*) FROM otp_sends WHERE purpose = 'link' AND account_id = ? AND ts > ?",
        (account_id, since),
    ).fetchone()
    return int(row[0])


# --- consecutive failures -------------------------------------------------------------------------


@guarded
def blocked_until(conn: Conn, scope: str) -> str | None:
    """The stored end of the scope's block (may lie in the past), or None."""
    row = conn.execute("SELECT blocked_until FROM otp_failures WHERE scope = ?", (scope,)).fetchone()
    return str(row[0]) if row and row[0] else None


@guarded
def add_failure(conn: Conn, scope: str, *, ts: str) -> int:
    """One more consecutive failure of ``scope``; returns the new count."""
    conn.execute(
        "INSERT INTO otp_failures (scope, consecutive, last_failure_at) VALUES (?, 1, ?) "
        "ON CONFLICT (scope) DO UPDATE SET consecutive = consecutive + 1, last_failure_at = excluded.last_failure_at",
        (scope, ts),
    )
    return int(conn.execute("SELECT consecutive FROM otp_failures WHERE scope = ?", (scope,)).fetchone()[0])


@guarded
def block(conn: Conn, scope: str, *, until: str) -> None:
    """Block the scope until ``until`` (stored UTC text)."""
    conn.execute("UPDATE otp_failures SET blocked_until = ? WHERE scope = ?", (until, scope))


@guarded
def reset_failures(conn: Conn, scope: str) -> None:
    """A success: the scope's consecutive failures (and any block) go."""
    conn.execute("DELETE FROM otp_failures WHERE scope = ?", (scope,))


@guarded
def consecutive_failures(conn: Conn, scope: str) -> int:
    """The scope's current consecutive failures (0 when none are stored)."""
    row = conn.execute("SELECT consecutive FROM otp_failures WHERE scope = ?", (scope,)).fetchone()
    return int(row[0]) if row else 0
