"""lib.audit: append-only, UTC, masked, no log injection."""

from __future__ import annotations

import re

import pytest

from lib import audit, storage
from lib.storage.engine import DRIVER_ERRORS


@pytest.fixture
def conn(any_conn: storage.Database) -> storage.Database:
    """Every test of this module that takes ``conn`` runs on SQLite and on PostgreSQL (issue 12)."""
    return any_conn


def test_a_row_has_utc_time_and_masked_destination(conn):
    audit.record(conn, "otp_sent", account_id=3, consumer_id="101", destination="+919876543210")
    row = audit.recent(conn, limit=1)[0]
    assert row["ts"] == "2026-11-25T06:30:00Z"  # the fixed clock of conftest, stored as UTC text
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", row["ts"])
    assert row["destination_masked"] == "+91 ••••••••10"
    assert "9876543210" not in str(row)


def test_an_already_masked_destination_is_kept():
    with storage.open_db(":memory:") as conn:
        audit.record(conn, "otp_sent", destination="+91 ••••••••42", now="2026-01-01T00:00:00Z")
        assert audit.recent(conn)[0]["destination_masked"] == "+91 ••••••••42"


def test_the_table_is_append_only(conn):
    audit.record(conn, "login_ok", account_id=1)
    with pytest.raises(DRIVER_ERRORS, match="append-only"):
        conn.execute("UPDATE audit SET event = 'login_failed'")
    with pytest.raises(DRIVER_ERRORS, match="append-only"):
        conn.execute("DELETE FROM audit")
    assert audit.count(conn, "login_ok") == 1


def test_unknown_events_are_refused(conn):
    with pytest.raises(ValueError, match="unknown audit event"):
        audit.record(conn, "login_okay")


def test_control_characters_cannot_forge_lines(conn):
    audit.record(conn, "login_failed", reason="bad\r\nts=2026 event=login_ok\x00", consumer_id="1\n2")
    row = audit.recent(conn)[0]
    assert "\n" not in row["reason"] and "\r" not in row["reason"] and "\x00" not in row["reason"]
    assert row["consumer_id"] == "1 2"


def test_free_text_cannot_carry_a_full_number(conn):
    audit.record(conn, "sms_failed", reason="gateway said: 919876543210 invalid")
    assert audit.recent(conn)[0]["reason"] == "gateway said: ••••••••••10 invalid"


def test_long_fields_are_cut(conn):
    audit.record(conn, "sms_failed", reason="x" * 10_000, consumer_id="y" * 500)
    row = audit.recent(conn)[0]
    assert len(row["reason"]) == audit.MAX_FIELD_CHARS and len(row["consumer_id"]) == 40


def test_recent_filters_and_orders(conn):
    for n, event in enumerate(["otp_sent", "otp_failed", "otp_sent"]):
        audit.record(conn, event, account_id=n % 2)
    assert [r["event"] for r in audit.recent(conn)] == ["otp_sent", "otp_failed", "otp_sent"]
    assert [r["account_id"] for r in audit.recent(conn, event="otp_sent")] == [0, 0]
    assert [r["event"] for r in audit.recent(conn, account_id=1)] == ["otp_failed"]


def test_count_matches_columns_exactly(conn):
    audit.record(conn, "link_created", account_id=1, consumer_id="101")
    audit.record(conn, "link_created", account_id=2, consumer_id="101")
    assert audit.count(conn, "link_created") == 2
    assert audit.count(conn, "link_created", account_id=1) == 1
    assert audit.count(conn, "link_created", account_id=None) == 0
    with pytest.raises(ValueError):
        audit.count(conn, "link_created", ts="x")
