"""lib.sessions: start, hand-off, resume, idle timeout, absolute lifetime, sign-out (issue 14 section 2)."""

from __future__ import annotations

import datetime as dt

import pytest

from lib import sessions, storage
from lib.otp import OtpKey

KEY = OtpKey(secret=b"s" * 32, kid="test", source="configured")
T0 = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)


@pytest.fixture
def conn(any_conn: storage.Database) -> storage.Database:
    """Every test of this module that takes ``conn`` runs on SQLite and on PostgreSQL (issue 12)."""
    return any_conn


@pytest.fixture
def account(conn):
    return conn.accounts.create_account("+910000000001", now="2026-11-25T06:00:00Z")


def signed_in(conn, account, at=T0):
    started = sessions.start(conn, KEY, account, now=at)
    token = sessions.claim(conn, KEY, started.handoff, now=at + dt.timedelta(seconds=1))
    assert token is not None
    return started, token


def test_only_keyed_hashes_are_stored(conn, account):
    started, token = signed_in(conn, account)
    stored = [tuple(row) for row in conn.execute("SELECT * FROM sessions").fetchall()]
    assert stored and not any(token in str(v) or started.handoff in str(v) for row in stored for v in row)
    assert sessions.mac(KEY, "token", token) in stored[0]
    assert sessions.mac(OtpKey(b"x" * 32, "other", "configured"), "token", token) not in stored[0]


def test_a_handoff_works_once_and_only_in_time(conn, account):
    started = sessions.start(conn, KEY, account, now=T0)
    assert sessions.claim(conn, KEY, started.handoff, now=T0 + sessions.HANDOFF_TTL) is None  # expired
    fresh = sessions.start(conn, KEY, account, now=T0)
    assert sessions.claim(conn, KEY, fresh.handoff, now=T0) is not None
    assert sessions.claim(conn, KEY, fresh.handoff, now=T0) is None  # used
    assert sessions.claim(conn, KEY, "not a hand-off <script>", now=T0) is None


def test_reload_and_second_tab_resume_the_same_session(conn, account):
    started, token = signed_in(conn, account)
    first = sessions.resume(conn, KEY, token, now=T0 + dt.timedelta(minutes=5))
    second = sessions.resume(conn, KEY, token, now=T0 + dt.timedelta(minutes=6))
    assert first.session == second.session == sessions.Session(started.session_id, account, True)
    assert sessions.resume(conn, KEY, "x" * 43, now=T0).session is None


def test_activity_keeps_it_alive_until_idle(conn, account):
    started, token = signed_in(conn, account)
    for minute in (14, 28, 42):  # a run every 14 minutes
        assert sessions.check(conn, started.session_id, now=T0 + dt.timedelta(minutes=minute)).session
    status = sessions.resume(conn, KEY, token, now=T0 + dt.timedelta(minutes=57))
    assert status == sessions.Status(None, "idle")
    # ended for good: a later run of another tab is told why
    assert sessions.check(conn, started.session_id, now=T0 + dt.timedelta(minutes=58)).reason == "idle"


def test_absolute_lifetime_ends_even_an_active_session(conn, account):
    started, token = signed_in(conn, account)
    at = T0
    while at < T0 + sessions.ABSOLUTE_LIFETIME - dt.timedelta(minutes=10):
        at += dt.timedelta(minutes=10)
        assert sessions.check(conn, started.session_id, now=at).session is not None
    at = T0 + sessions.ABSOLUTE_LIFETIME
    assert sessions.resume(conn, KEY, token, now=at) == sessions.Status(None, "lifetime")


def test_sign_out_ends_every_tab_and_the_cookie(conn, account):
    started, token = signed_in(conn, account)
    assert sessions.is_live_token(conn, KEY, token, now=T0)
    assert sessions.end(conn, started.session_id, now=T0 + dt.timedelta(minutes=1))
    assert not sessions.end(conn, started.session_id, now=T0 + dt.timedelta(minutes=1))
    assert sessions.check(conn, started.session_id, now=T0 + dt.timedelta(minutes=2)).reason == "sign_out"
    assert sessions.resume(conn, KEY, token, now=T0 + dt.timedelta(minutes=2)).session is None
    assert not sessions.is_live_token(conn, KEY, token, now=T0)


def test_a_deleted_account_takes_its_sessions(conn, account):
    started, token = signed_in(conn, account)
    conn.execute("DELETE FROM accounts WHERE account_id = :account_id", {"account_id": account})
    assert sessions.resume(conn, KEY, token, now=T0).reason == "unknown"
    assert sessions.check(conn, "1", now=T0).reason == "unknown"  # not an int: untrusted state
