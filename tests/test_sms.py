"""lib.sms: the outbox and http gateways (against a real HTTP server on 127.0.0.1), the budget, startup checks."""

from __future__ import annotations

import datetime as dt
import io
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from lib import audit, cli, sms, storage
from lib.clock import from_ts, to_ts
from lib.config import Settings, load_settings
from tests.factories import SmsGateway as Gateway
from tests.factories import http_sms_config

DEST = "+919812345678"
NOW = "2026-11-25T06:30:00Z"


@pytest.fixture
def conn(any_conn: storage.Database) -> storage.Database:
    """Every test of this module that takes ``conn`` runs on SQLite and on PostgreSQL (issue 12)."""
    return any_conn


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """Only a ``Settings`` field here (``lib.sms`` uses the connection it is handed), never opened: the
    conftest ``db_path`` would turn the PostgreSQL half's URL into a file path."""
    return tmp_path / "settings-only.db"


@pytest.fixture
def outbox_settings(db_path: Path) -> Settings:
    return Settings(db_path=db_path, sms_gateway="outbox", sms_daily_budget=10)


@pytest.fixture
def gateway() -> Iterator[Gateway]:
    server = Gateway()
    yield server
    server.close()


def http_settings(db_path: Path, url: str, **http: object) -> Settings:
    return Settings(db_path=db_path, sms_gateway="http", sms_http=http_sms_config(url, **http))


# --- outbox --------------------------------------------------------------------------------------


def test_outbox_keeps_messages_newest_first(conn, outbox_settings):
    for n in range(3):
        result = sms.send_sms(conn, outbox_settings, DEST, f"message {n}", kind="test", now=NOW)
        assert result.ok and result.gateway == "outbox"
    rows = sms.recent_outbox(conn, limit=2)
    assert [r["text"] for r in rows] == ["message 2", "message 1"]
    assert set(rows[0]) == {"ts", "destination", "text", "kind"}
    assert rows[0]["destination"] == DEST and rows[0]["ts"] == NOW


@pytest.mark.parametrize("destination", ["+14155550100", "9812345678", "+91981234567", "+915812345678", ""])
def test_only_indian_mobiles_are_sent_to(conn, outbox_settings, destination):
    result = sms.send_sms(conn, outbox_settings, destination, "hi", kind="test", now=NOW)
    assert not result.ok and result.attempts == 0
    assert sms.recent_outbox(conn) == [] and sms.sent_today(conn, NOW) == 0


def test_the_log_has_no_text_and_no_full_number(conn, outbox_settings):
    sms.send_sms(conn, outbox_settings, DEST, "123 456 is your OTP", kind="otp_login", now=NOW)
    row = dict(conn.execute("SELECT * FROM sms_log").mappings().one())
    flat = json.dumps(row, ensure_ascii=False)
    assert "123 456" not in flat and DEST[3:] not in flat
    assert row["destination_masked"] == "+91 ••••••••78" and row["ok"] == 1


def test_the_outbox_refuses_a_database_with_real_consumers(conn, outbox_settings):
    storage.consumers.upsert_consumers(
        conn, [{"consumer_id": "1", "name": "A", "registered_mobile": DEST, "is_demo": 0}]
    )
    result = sms.send_sms(conn, outbox_settings, DEST, "x", kind="test", now=NOW)
    assert not result.ok and sms.recent_outbox(conn) == []


# --- the daily budget ----------------------------------------------------------------------------


def test_the_daily_budget_stops_sending_and_alerts(conn, outbox_settings):
    """Issue 13 item 3: sign-in (40 %), linking (30 %) and alerts (30 %) each have their share; one use
    draining its share leaves the others sending; each exhausted share is audited once a day."""
    login = [
        sms.send_sms(conn, outbox_settings, DEST, f"l{n}", kind="otp_login", now=NOW).ok for n in range(6)
    ]
    assert login == [True] * 4 + [False] * 2
    assert sms.send_sms(conn, outbox_settings, DEST, "link", kind="otp_link", now=NOW).ok
    alerts = [sms.send_sms(conn, outbox_settings, DEST, f"m{n}", kind="test", now=NOW).ok for n in range(5)]
    assert alerts == [True] * 3 + [False] * 2
    assert sms.send_sms(conn, outbox_settings, DEST, "notice", kind="link_notice", now=NOW).ok
    assert sms.send_sms(conn, outbox_settings, DEST, "link 2", kind="otp_link", now=NOW).ok
    assert not sms.send_sms(conn, outbox_settings, DEST, "link 3", kind="otp_link", now=NOW).ok
    assert audit.count(conn, "sms_budget_half") == 1
    assert audit.count(conn, "sms_budget_exhausted") == 3  # once a day per share, not once per refusal
    assert sms.budget_left(conn, outbox_settings, NOW) == 0
    # The next IST day starts at 18:30 UTC.
    assert sms.send_sms(conn, outbox_settings, DEST, "new day", kind="test", now="2026-11-25T18:30:00Z").ok


# --- http gateway --------------------------------------------------------------------------------


def test_http_success_sends_the_dlt_fields(conn, db_path, gateway):
    settings = http_settings(db_path, gateway.url)
    result = sms.send_sms(conn, settings, DEST, "957 970 is your OTP", kind="otp_login", now=NOW)
    assert result == sms.SendResult(ok=True, gateway="http", message_id="m-1", attempts=1)
    (request,) = gateway.requests
    assert request["headers"]["Authorization"] == "Bearer secret-api-key"
    assert request["body"] == {
        "sender": "MTRMTR",
        "to": "919812345678",
        "message": "957 970 is your OTP",
        "dlt_entity_id": "1101234567890123456",
        "dlt_template_id": "1107000000000000001",
    }
    assert sms.recent_outbox(conn) == []  # production never writes the text anywhere
    assert tuple(conn.execute("SELECT ok, message_id FROM sms_log").fetchone()) == (1, "m-1")


def test_http_500_is_retried_then_reported(conn, db_path, gateway):
    gateway.status = 500
    slept: list[float] = []
    settings = http_settings(db_path, gateway.url)
    result = sms.send_sms(conn, settings, DEST, "x", kind="otp_login", now=NOW, sleep=slept.append)
    assert not result.ok and result.error == "HTTP 500" and result.attempts == 3
    assert len(gateway.requests) == 3 and slept == [0.5, 1.0]
    assert audit.count(conn, "sms_failed") == 1
    assert tuple(conn.execute("SELECT ok, error FROM sms_log").fetchone()) == (0, "HTTP 500")


def test_http_timeout_is_bounded(conn, db_path, gateway):
    gateway.delay = 1.0
    settings = http_settings(db_path, gateway.url, retries=1, timeout_seconds=0.2)
    result = sms.send_sms(conn, settings, DEST, "x", kind="otp_login", now=NOW, sleep=lambda s: None)
    assert not result.ok and result.error.startswith("network") and result.attempts == 2
    gateway.settle()  # the timed-out requests may be recorded after the client gave up
    assert len(gateway.requests) == 2


def test_http_4xx_is_not_retried(conn, db_path, gateway):
    gateway.status = 401
    result = sms.send_sms(conn, http_settings(db_path, gateway.url), DEST, "x", kind="otp_login", now=NOW)
    assert not result.ok and result.error == "HTTP 401" and len(gateway.requests) == 1


def test_a_dlt_rejection_is_an_operator_error(conn, db_path, gateway):
    gateway.reply = {"status": "error", "error_code": 623}
    result = sms.send_sms(conn, http_settings(db_path, gateway.url), DEST, "x", kind="otp_login", now=NOW)
    assert not result.ok and "623" in result.error
    assert "623" in audit.recent(conn, event="sms_failed")[0]["reason"]


def test_retries_and_timeout_have_ceilings(conn, db_path, gateway):
    gateway.status = 503
    settings = http_settings(db_path, gateway.url, retries=50, timeout_seconds=999)
    result = sms.send_sms(conn, settings, DEST, "x", kind="otp_login", now=NOW, sleep=lambda s: None)
    assert result.attempts == sms.MAX_RETRIES + 1 == len(gateway.requests)


def test_an_unreachable_gateway_fails_cleanly(conn, db_path):
    settings = http_settings(db_path, "http://127.0.0.1:9/send", retries=0)
    result = sms.send_sms(conn, settings, DEST, "x", kind="otp_login", now=NOW)
    assert not result.ok and result.error.startswith("network")


# --- startup checks ------------------------------------------------------------------------------


def test_outbox_with_demo_data_is_fine(conn, outbox_settings):
    storage.consumers.upsert_consumers(
        conn, [{"consumer_id": "D1", "name": "A", "registered_mobile": DEST, "is_demo": 1}]
    )
    sms.check_sms_configuration(conn, outbox_settings)


def test_outbox_with_a_production_database_refuses_to_start(conn, outbox_settings):
    storage.consumers.upsert_consumers(
        conn, [{"consumer_id": "1", "name": "A", "registered_mobile": DEST, "is_demo": 0}]
    )
    with pytest.raises(sms.SmsConfigurationError, match="real .*consumers"):
        sms.check_sms_configuration(conn, outbox_settings)


def test_http_in_camp_mode_refuses_to_start(conn, db_path):
    settings = replace(http_settings(db_path, "https://sms.example.in/send"), camp_mode=True)
    with pytest.raises(sms.SmsConfigurationError, match="camp mode"):
        sms.check_sms_configuration(conn, settings)


def test_http_needs_its_dlt_settings(conn, db_path):
    settings = http_settings(db_path, "https://sms.example.in/send", api_key="", entity_id=" ")
    with pytest.raises(sms.SmsConfigurationError, match="api_key, entity_id"):
        sms.check_sms_configuration(conn, settings)


def test_http_needs_a_template_for_each_otp_and_notice(conn, db_path):
    settings = http_settings(db_path, "https://sms.example.in/send", templates={"otp_login": "1107"})
    with pytest.raises(sms.SmsConfigurationError, match="link_notice, otp_link"):
        sms.check_sms_configuration(conn, settings)


def test_http_needs_https_except_on_loopback(conn, db_path):
    with pytest.raises(sms.SmsConfigurationError, match="https"):
        sms.check_sms_configuration(conn, http_settings(db_path, "http://sms.example.in/send"))
    sms.check_sms_configuration(conn, http_settings(db_path, "http://127.0.0.1:8080/send"))
    sms.check_sms_configuration(conn, http_settings(db_path, "https://sms.example.in/send"))


def test_an_unknown_gateway_refuses_to_start(conn, db_path):
    with pytest.raises(sms.SmsConfigurationError, match="Unknown SMS gateway"):
        sms.check_sms_configuration(conn, Settings(db_path=db_path, sms_gateway="twilio"))


def test_gateway_settings_come_from_secrets_sections(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        '[sms]\ngateway = "http"\ndaily_budget = 300\n[sms.http]\nurl = "https://x.example/send"\n'
        'api_key = "k"\nentity_id = "e"\nsender_id = "s"\n[sms.http.templates]\notp_login = "t1"\n'
    )
    settings = load_settings(env={}, secrets_path=secrets)
    assert settings.sms_gateway == "http" and settings.sms_daily_budget == 300
    assert settings.sms_http["templates"] == {"otp_login": "t1"}


# --- the http gateway's queue (issue 13 item 5) ------------------------------------------------------


def _queue(conn, settings, text="957 970 is your OTP", *, now=NOW, **kw) -> sms.SendResult:
    with conn.transaction():
        return sms.queue_sms(conn, settings, DEST, text, kind="otp_login", now=now, **kw)


def test_queueing_never_contacts_the_gateway_and_the_sender_delivers(conn, db_path, gateway):
    settings = http_settings(db_path, gateway.url)
    queued = _queue(conn, settings, challenge_id="c-1")
    assert queued.ok and queued.queue_id is not None and queued.attempts == 0
    assert gateway.requests == [] and conn.sms.queued_count() == 1
    assert sms.sent_today(conn, NOW) == 1  # the budget counts it when queued
    run = sms.deliver_queued(conn, settings, now=NOW)
    assert run == sms.DeliveryRun(sent=1)
    assert [r["body"]["message"] for r in gateway.requests] == ["957 970 is your OTP"]
    assert conn.sms.queued_count() == 0  # the row (and its OTP text) is gone once delivered
    assert tuple(conn.execute("SELECT ok, message_id FROM sms_log").fetchone()) == (1, "m-1")
    assert sms.deliver_queued(conn, settings, now=NOW) == sms.DeliveryRun()  # nothing twice


@pytest.mark.parametrize(
    "behaviour, error",
    [("500", "HTTP 500"), ("timeout", "network"), ("refused", "gateway refused"), ("4xx", "HTTP 403")],
)
def test_a_failed_delivery_is_audited_once_and_not_retried(conn, db_path, gateway, behaviour, error):
    if behaviour == "500":
        gateway.status = 500
    elif behaviour == "timeout":
        gateway.delay = 0.5
    elif behaviour == "refused":
        gateway.reply = {"status": "error", "error_code": 623}
    else:
        gateway.status = 403
    settings = http_settings(db_path, gateway.url, retries=1, timeout_seconds=0.2)
    _queue(conn, settings, challenge_id="c-1")
    run = sms.deliver_queued(conn, settings, now=NOW, sleep=lambda s: None)
    assert run == sms.DeliveryRun(failed=1)
    (row,) = audit.recent(conn, event="sms_failed")
    assert row["challenge_id"] == "c-1" and row["reason"].startswith(f"otp_login: {error}")
    assert row["destination_masked"] == "+91 ••••••••78"
    assert conn.sms.queued_count() == 0
    logged = tuple(conn.execute("SELECT ok, error FROM sms_log").fetchone())
    assert logged[0] == 0 and logged[1].startswith(error)
    gateway.settle()  # a timed-out request may be recorded late (a loaded machine)
    requests = len(gateway.requests)
    assert sms.deliver_queued(conn, settings, now=NOW, sleep=lambda s: None) == sms.DeliveryRun()
    assert len(gateway.requests) == requests and audit.count(conn, "sms_failed") == 1


def test_an_expired_message_is_never_sent(conn, db_path, gateway):
    settings = http_settings(db_path, gateway.url)
    _queue(conn, settings, valid_for=dt.timedelta(minutes=5))
    run = sms.deliver_queued(conn, settings, now="2026-11-25T06:35:00Z")
    assert run == sms.DeliveryRun(expired=1) and gateway.requests == []
    assert "expired before delivery" in audit.recent(conn, event="sms_failed")[0]["reason"]
    assert conn.sms.queued_count() == 0


def test_a_claimed_message_waits_out_the_lease_and_is_reported_once(conn, db_path, gateway):
    """Two senders never deliver the same message; a sender that died holds it only for ``CLAIM_LEASE``,
    and a late finish of a claim that was taken over records nothing."""
    settings = http_settings(db_path, gateway.url)
    queued = _queue(conn, settings)
    lease_ends = from_ts(NOW) + sms.CLAIM_LEASE
    with conn.transaction():
        first = conn.sms.claim_queued(
            now=NOW, stale_before=to_ts(from_ts(NOW) - sms.CLAIM_LEASE), claim="dead"
        )
    assert first["queue_id"] == queued.queue_id
    just_before = to_ts(lease_ends - dt.timedelta(seconds=1))
    assert sms.deliver_queued(conn, settings, now=just_before) == sms.DeliveryRun()
    assert gateway.requests == []
    later = to_ts(lease_ends + dt.timedelta(seconds=1))  # the claim is stale: its sender died
    assert sms.deliver_queued(conn, settings, now=later) == sms.DeliveryRun(sent=1)
    with conn.transaction():
        assert not conn.sms.finish_queued(first["queue_id"], "dead")
    assert len(gateway.requests) == 1


def test_the_lease_outlasts_the_slowest_delivery():
    slowest = sms.MAX_TIMEOUT_SECONDS * (sms.MAX_RETRIES + 1) + sms.RETRY_BACKOFF_SECONDS * sum(
        range(1, sms.MAX_RETRIES + 1)
    )
    assert sms.CLAIM_LEASE.total_seconds() > slowest


def test_the_outbox_gateway_queues_nothing(conn, outbox_settings):
    queued = _queue(conn, outbox_settings)
    assert queued.ok and queued.queue_id is None and conn.sms.queued_count() == 0
    assert sms.recent_outbox(conn)[0]["text"] == "957 970 is your OTP"


def test_a_refused_message_is_audited(conn, outbox_settings):
    with conn.transaction():
        refused = sms.queue_sms(
            conn, outbox_settings, "+14155550100", "x", kind="otp_link", challenge_id="c-9"
        )
    assert not refused.ok and refused.attempts == 0
    (row,) = audit.recent(conn, event="sms_failed")
    assert row["challenge_id"] == "c-9" and "not an Indian mobile" in row["reason"]


def test_the_sender_thread_delivers_what_this_process_queues(db_path, gateway):
    settings = http_settings(db_path, gateway.url)
    stop = threading.Event()
    thread = threading.Thread(
        target=sms.run_sender,
        args=(lambda: storage.open_db(db_path), lambda: settings),
        kwargs={"stop": stop, "poll_seconds": 30.0},
        daemon=True,
    )
    thread.start()
    try:
        with storage.open_db(db_path) as conn:
            _queue(conn, settings, now=None)
            for _ in range(200):  # the queue's wake-up, not the 30 s poll, brings the sender
                if conn.sms.queued_count() == 0 and gateway.requests:
                    break
                time.sleep(0.05)
            assert [r["body"]["message"] for r in gateway.requests] == ["957 970 is your OTP"]
            assert conn.execute("SELECT ok FROM sms_log").fetchone()[0] == 1
    finally:
        stop.set()
        sms.wake_sender()
        thread.join(timeout=10)
    assert not thread.is_alive()


def test_the_sender_survives_a_failing_pass(db_path, gateway, caplog):
    settings = http_settings(db_path, gateway.url)
    stop = threading.Event()
    calls = []

    def broken_db():
        calls.append(1)
        if len(calls) == 1:
            raise storage.StorageError("database is locked")
        stop.set()
        return storage.open_db(db_path)

    sms.run_sender(broken_db, lambda: settings, stop=stop, poll_seconds=0.0)
    assert len(calls) == 2 and "delivery pass failed" in caplog.text


def test_cli_send_outbox_delivers_the_queue_once(db_path, gateway, monkeypatch):
    settings = http_settings(db_path, gateway.url, retries=0)
    monkeypatch.setattr(cli, "load_settings", lambda: settings)
    with storage.open_db(db_path) as conn:
        _queue(conn, settings, "first")
        _queue(conn, settings, "second")
    out = io.StringIO()
    assert cli.main(["--db", str(db_path), "send-outbox"], out=out, err=io.StringIO()) == 0
    assert out.getvalue() == "send-outbox: 2 sent, 0 failed, 0 expired\n"
    assert [r["body"]["message"] for r in gateway.requests] == ["first", "second"]
    gateway.status = 500
    with storage.open_db(db_path) as conn:
        _queue(conn, settings, "third")
    out = io.StringIO()
    assert cli.main(["--db", str(db_path), "send-outbox"], out=out, err=io.StringIO()) == 1
    assert out.getvalue() == "send-outbox: 0 sent, 1 failed, 0 expired\n"
    with storage.open_db(db_path) as conn:
        assert audit.count(conn, "sms_failed") == 1 and conn.sms.queued_count() == 0


def test_the_budget_counter_holds_its_cap_under_racing_senders(backend):
    """Issue 12: 12 threads (each its own connection and transaction) reserve against a cap of 5 on one
    counter row: exactly 5 are counted, on SQLite and on PostgreSQL."""
    import threading

    storage.migrate(storage.connect(backend))
    barrier = threading.Barrier(12)
    granted: list[int] = []
    lock = threading.Lock()

    def race() -> None:
        conn = storage.connect(backend)
        try:
            barrier.wait()
            with storage.transaction(conn):
                count = conn.sms.reserve_budget("2026-11-25", "signin", 5)
            if count is not None:
                with lock:
                    granted.append(count)
        finally:
            conn.close()

    threads = [threading.Thread(target=race) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(granted) == [1, 2, 3, 4, 5]
    with storage.open_db(backend, run_migrations=False) as conn:
        assert conn.sms.budget_used("2026-11-25", "signin") == 5
