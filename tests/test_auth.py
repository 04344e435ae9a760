"""lib.auth: sign-in and linking flows end to end on a file database (OTP read from the SMS outbox)."""

from __future__ import annotations

import datetime as dt
import json
import re
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from lib import audit, auth, otp, sms, storage
from lib.clock import to_ts
from lib.config import load_settings
from tests.factories import SmsGateway, http_sms_config

pytestmark = pytest.mark.both_engines  # every db_path/conn test on SQLite and on PostgreSQL (issue 12)

T0 = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)
ROOT = Path(__file__).resolve().parent.parent
TEMPLATES = {"otp_login": "t1", "otp_link": "t2", "link_notice": "t3"}
SIGNIN = "+919876543210"
OWNER = "+919812345678"
CONSUMERS = [
    {"consumer_id": "DEMO-9001", "name": "Asha Devi", "registered_mobile": OWNER, "is_demo": 1},
    {"consumer_id": "DEMO-9002", "name": "Ram Prasad", "registered_mobile": "+919700000002", "is_demo": 1},
    {"consumer_id": "DEMO-9003", "name": "Sita", "registered_mobile": "+919700000003", "is_demo": 1},
]


def sec(n: float) -> dt.timedelta:
    return dt.timedelta(seconds=n)


@pytest.fixture(autouse=True)
def no_floor(monkeypatch):
    monkeypatch.setattr(otp, "RESPONSE_FLOOR_SECONDS", 0)


@pytest.fixture
def settings(db_path):
    return load_settings()


@pytest.fixture
def consumers(conn):
    storage.consumers.upsert_consumers(conn, CONSUMERS)
    return conn


def last_code(conn, destination: str) -> str:
    for message in sms.recent_outbox(conn, limit=50):
        if message["destination"] == destination and message["kind"].startswith("otp_"):
            return re.search(r"\d{3} \d{3}", message["text"]).group()
    raise AssertionError(f"no OTP sent to {destination}")


def sign_in(conn, settings, mobile=SIGNIN, now=T0, lang="en") -> int:
    sent = auth.start_sign_in(conn, settings, mobile, lang=lang, now=now)
    done = auth.verify_sign_in(
        conn, settings, sent.challenge_id, sent.subject, last_code(conn, sent.subject), lang=lang, now=now
    )
    assert done.status == "ok"
    return done.account_id


# --- sign in -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "typed", ["98765 43210", "+91 98765-43210", "09876543210", "919876543210", "9876543210"]
)
def test_common_forms_of_a_mobile_are_accepted(conn, settings, typed):
    sent = auth.start_sign_in(conn, settings, typed, lang="en", now=T0)
    assert sent.status == "sent" and sent.subject == SIGNIN and sent.destination_masked == "+91 ••••••••10"


@pytest.mark.parametrize(
    "typed",
    ["", "   ", "011 2345 6789", "+1 415 555 0100", "12345", "9" * 40, "abcdefghij", None, "1800 180 1551"],
)
def test_anything_but_an_indian_mobile_is_refused(conn, settings, typed):
    expected = "empty_mobile" if not (typed or "").strip() else "invalid_mobile"
    assert auth.start_sign_in(conn, settings, typed, lang="en", now=T0).status == expected
    assert sms.recent_outbox(conn) == [] and audit.recent(conn) == []


def test_sign_in_creates_nothing_until_the_otp_verifies(conn, settings):
    sent = auth.start_sign_in(conn, settings, SIGNIN, lang="hi", now=T0)
    assert storage.accounts.account_by_mobile(conn, SIGNIN) is None
    assert "मीटर मित्र लॉग इन ओटीपी" in sms.recent_outbox(conn)[0]["text"]
    bad = auth.verify_sign_in(conn, settings, sent.challenge_id, SIGNIN, "000000", lang="hi", now=T0)
    assert bad.status == "wrong" and storage.accounts.account_by_mobile(conn, SIGNIN) is None
    ok = auth.verify_sign_in(
        conn, settings, sent.challenge_id, SIGNIN, last_code(conn, SIGNIN), lang="hi", now=T0
    )
    assert ok.status == "ok" and ok.language == "hi"
    assert storage.accounts.account_by_mobile(conn, SIGNIN)["account_id"] == ok.account_id
    assert audit.count(conn, "login_ok", account_id=ok.account_id) == 1
    assert audit.count(conn, "login_failed") == 1


def test_a_returning_account_gets_its_saved_language(conn, settings):
    account_id = sign_in(conn, settings, lang="hi")
    storage.accounts.set_account_language(conn, account_id, "en")
    sent = auth.start_sign_in(conn, settings, SIGNIN, lang="hi", now=T0 + sec(60))
    done = auth.verify_sign_in(
        conn, settings, sent.challenge_id, SIGNIN, last_code(conn, SIGNIN), lang="hi", now=T0 + sec(60)
    )
    assert (done.account_id, done.language) == (account_id, "en")


def test_unknown_and_known_mobiles_get_the_same_answer(conn, settings):
    sign_in(conn, settings, mobile="+919811111111")
    known = auth.start_sign_in(conn, settings, "+919811111111", lang="en", now=T0 + sec(60))
    unknown = auth.start_sign_in(conn, settings, "+919822222222", lang="en", now=T0 + sec(60))
    assert (known.status, len(known.challenge_id)) == (unknown.status, len(unknown.challenge_id))
    assert storage.accounts.account_by_mobile(conn, "+919822222222") is None


def test_resend_waits_thirty_seconds_then_kills_the_old_code(conn, settings):
    first = auth.start_sign_in(conn, settings, SIGNIN, lang="en", now=T0)
    old_code = last_code(conn, SIGNIN)
    early = auth.resend_sign_in(conn, settings, first.challenge_id, SIGNIN, lang="en", now=T0 + sec(29))
    assert early.status == "cooldown" and early.wait_seconds == 1
    later = auth.resend_sign_in(conn, settings, first.challenge_id, SIGNIN, lang="en", now=T0 + sec(31))
    assert later.status == "sent" and later.challenge_id != first.challenge_id
    stale = auth.verify_sign_in(
        conn, settings, first.challenge_id, SIGNIN, old_code, lang="en", now=T0 + sec(32)
    )
    assert stale.status == "dead"


def test_counters_survive_a_new_tab(conn, settings):
    """A new tab is a new Streamlit session with empty state: the limits still hold (they live in SQLite)."""
    results = []
    for seconds in [0, 31, 62, 400]:  # at 400 s the third code has expired, still within 15 minutes
        with storage.open_db(settings.db_path) as fresh:  # nothing carried over between "tabs"
            sent = auth.start_sign_in(fresh, settings, SIGNIN, lang="en", now=T0 + sec(seconds))
            results.append(sent.status)
    assert results == ["sent", "sent", "sent", "limited"]
    assert len([m for m in sms.recent_outbox(conn, limit=10) if m["destination"] == SIGNIN]) == 3


def test_a_double_click_within_the_cooldown_keeps_the_code_already_sent(conn, settings):
    first = auth.start_sign_in(conn, settings, SIGNIN, lang="en", now=T0)
    again = auth.start_sign_in(conn, settings, SIGNIN, lang="en", now=T0 + sec(3))
    assert again.status == "sent" and again.challenge_id == first.challenge_id
    assert len(sms.recent_outbox(conn)) == 1
    done = auth.verify_sign_in(
        conn, settings, again.challenge_id, SIGNIN, last_code(conn, SIGNIN), lang="en", now=T0 + sec(4)
    )
    assert done.status == "ok"


# --- link a connection ---------------------------------------------------------------------------


def test_add_another_meter_sends_to_the_registered_mobile(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "demo-9001", lang="en", now=T0 + sec(5))
    assert sent.status == "sent" and sent.subject == "DEMO-9001"
    assert sent.destination_masked == "+91 ••••••••78"
    message = sms.recent_outbox(conn)[0]
    assert (
        message["destination"] == OWNER and "DEMO-9001" in message["text"] and message["kind"] == "otp_link"
    )
    done = auth.verify_link(
        conn,
        settings,
        account_id,
        sent.challenge_id,
        "DEMO-9001",
        last_code(conn, OWNER),
        "Ghar",
        lang="en",
        now=T0 + sec(10),
    )
    assert done.status == "ok" and done.nickname == "Ghar"
    assert [c["nickname"] for c in storage.accounts.linked_connections(conn, account_id)] == ["Ghar"]
    assert storage.accounts.is_linked(conn, account_id, "DEMO-9001")
    assert audit.count(conn, "link_created", account_id=account_id, consumer_id="DEMO-9001") == 1


def test_the_owner_is_told_without_a_link(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9001", lang="en", now=T0)
    auth.verify_link(
        conn, settings, account_id, sent.challenge_id, "DEMO-9001", last_code(conn, OWNER), lang="en", now=T0
    )
    notice = sms.recent_outbox(conn)[0]
    assert notice["kind"] == "link_notice" and notice["destination"] == OWNER
    # In Hindi when nothing is known about the owner, naming the consumer ID and the account's last digits.
    assert "उपभोक्ता संख्या DEMO-9001" in notice["text"] and "...10" in notice["text"]
    assert not re.search(r"https?://|www\.|\.in\b|\.com\b", notice["text"])
    # In the owner's own language when the owner has an account.
    owner_account = sign_in(conn, settings, mobile=OWNER, lang="en", now=T0 + sec(40))
    assert storage.accounts.account_by_id(conn, owner_account)["language"] == "en"
    auth.remove_connection(conn, account_id, "DEMO-9001", now=T0 + sec(79))  # linked again below
    sent = auth.start_link(conn, settings, account_id, "DEMO-9001", lang="hi", now=T0 + sec(80))
    auth.verify_link(
        conn,
        settings,
        account_id,
        sent.challenge_id,
        "DEMO-9001",
        last_code(conn, OWNER),
        lang="hi",
        now=T0 + sec(80),
    )
    notice = sms.recent_outbox(conn)[0]
    assert (
        notice["kind"] == "link_notice"
        and "Consumer ID DEMO-9001" in notice["text"]
        and "ending 10" in notice["text"]
    )


def test_a_default_nickname_is_given(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9002", lang="hi", now=T0)
    code = last_code(conn, "+919700000002")
    done = auth.verify_link(
        conn, settings, account_id, sent.challenge_id, "DEMO-9002", code, "  \n ", lang="hi", now=T0
    )
    assert done.nickname == "Ram Prasad"  # the consumer's name on the bill, not "मीटर 1"


def test_a_meter_without_a_name_on_record_gets_a_hindi_default(consumers, settings):
    conn = consumers
    conn.execute("UPDATE consumers SET name = '' WHERE consumer_id = 'DEMO-9002'")
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9002", lang="hi", now=T0)
    code = last_code(conn, "+919700000002")
    done = auth.verify_link(
        conn, settings, account_id, sent.challenge_id, "DEMO-9002", code, "", lang="hi", now=T0
    )
    assert done.nickname == "कनेक्शन …9002"


def test_link_consume_and_audit_are_one_transaction(consumers, settings, monkeypatch):
    conn = consumers
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(conn, OWNER)

    def broken(*args, **kwargs):
        raise sqlite_error

    sqlite_error = RuntimeError("disk full")
    monkeypatch.setattr(storage.accounts, "insert_link", broken)
    with pytest.raises(RuntimeError):
        auth.verify_link(conn, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0)
    challenge = otp.challenge(conn, sent.challenge_id)
    assert challenge.consumed_at is None and challenge.attempts == 0
    assert audit.count(conn, "link_created") == 0
    monkeypatch.undo()
    monkeypatch.setattr(otp, "RESPONSE_FLOOR_SECONDS", 0)
    done = auth.verify_link(
        conn, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0
    )
    assert done.status == "ok"


@pytest.mark.parametrize(
    "typed",
    [
        "",
        "   ",
        "'; DROP TABLE links; --",
        "../etc/passwd",
        "=1+2",
        "@SUM(A1)",
        "१२३४५",
        "X" * 33,
        None,
        "<b>1</b>",
    ],
)
def test_malformed_consumer_ids_are_refused_without_sending(consumers, settings, typed):
    account_id = sign_in(consumers, settings)
    assert (
        auth.start_link(consumers, settings, account_id, typed, lang="en", now=T0).status
        == "invalid_consumer_id"
    )
    assert [m["kind"] for m in sms.recent_outbox(consumers)] == ["otp_login"]
    assert consumers.execute("SELECT count(*) FROM links").fetchone()[0] == 0


def test_no_enumeration_same_answer_for_real_unknown_linked_and_limited(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    other = sign_in(conn, settings, mobile="+919833333333")
    # DEMO-9002 already linked to another account; DEMO-9003 busy with another account's requests.
    sent = auth.start_link(conn, settings, other, "DEMO-9002", lang="en", now=T0)
    auth.verify_link(
        conn,
        settings,
        other,
        sent.challenge_id,
        "DEMO-9002",
        last_code(conn, "+919700000002"),
        lang="en",
        now=T0,
    )
    # Another account's sends do not slow this one (issue 13: limits slow the requester).
    for n in range(1, 4):
        auth.start_link(conn, settings, other, "DEMO-9003", lang="en", now=T0 + sec(31 * n))
    slept: list[float] = []
    answers = {}
    outbox_before = len(sms.recent_outbox(conn, limit=100))
    for case, typed in [
        ("real", "DEMO-9001"),
        ("unknown", "DEMO-4040"),
        ("linked", "DEMO-9002"),
        ("busy elsewhere", "DEMO-9003"),
    ]:
        ticks = iter([0.0, 0.25])
        pacer = otp.Pacer(1.5, sleep=slept.append, clock=lambda ticks=ticks: next(ticks))
        answers[case] = auth.start_link(
            conn, settings, account_id, typed, lang="en", now=T0 + sec(100), pacer=pacer
        )
    shapes = {
        case: (a.status, len(a.challenge_id), re.sub(r"\d\d$", "NN", a.destination_masked), a.wait_seconds)
        for case, a in answers.items()
    }
    assert len(set(shapes.values())) == 1, shapes
    assert slept == [1.25] * 4  # every path waits out the same floor
    assert audit.count(conn, "rate_limited", account_id=account_id, consumer_id="DEMO-9003") == 0
    # Decoy digits are stable; only real IDs got an SMS (real, already linked, busy elsewhere).
    again = auth.start_link(conn, settings, account_id, "DEMO-4040", lang="en", now=T0 + sec(140))
    assert again.destination_masked == answers["unknown"].destination_masked
    sent_now = sms.recent_outbox(conn, limit=100)[: len(sms.recent_outbox(conn, limit=100)) - outbox_before]
    assert sorted(m["destination"] for m in sent_now) == sorted(
        [OWNER, "+919700000002", storage.consumers.consumer_record(conn, "DEMO-9003")["registered_mobile"]]
    )


def test_unknown_ids_burn_the_same_limits(consumers, settings):
    """A limit is told as a limit (issue 14), the same way for a real and an unknown consumer ID."""
    account_id = sign_in(consumers, settings)
    answers = {}
    for typed in ("NOSUCH1", "DEMO-9001"):
        for n in range(3):
            auth.start_link(consumers, settings, account_id, typed, lang="en", now=T0 + sec(31 * n))
        answers[typed] = auth.start_link(consumers, settings, account_id, typed, lang="en", now=T0 + sec(100))
    assert {a.status for a in answers.values()} == {"limited"}
    assert [r["reason"] for r in audit.recent(consumers, event="rate_limited")] == ["sends_per_15min"] * 2


def test_five_wrong_codes_then_the_right_one_fails(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(conn, OWNER)
    wrong = f"{(int(code.replace(' ', '')) + 1) % 10**6:06d}"
    results = [
        auth.verify_link(conn, settings, account_id, sent.challenge_id, "DEMO-9001", wrong, lang="en", now=T0)
        for _ in range(5)
    ]
    assert [r.status for r in results] == ["wrong"] * 4 + ["dead"]
    final = auth.verify_link(
        conn, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0
    )
    assert final.status == "dead" and not storage.accounts.is_linked(conn, account_id, "DEMO-9001")


def test_an_expired_code_does_not_link(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9001", lang="en", now=T0)
    late = auth.verify_link(
        conn,
        settings,
        account_id,
        sent.challenge_id,
        "DEMO-9001",
        last_code(conn, OWNER),
        lang="en",
        now=T0 + sec(301),
    )
    assert late.status == "expired" and not storage.accounts.is_linked(conn, account_id, "DEMO-9001")


def test_twenty_threads_verifying_the_same_code_link_once(consumers, settings):
    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    barrier = threading.Barrier(20)
    statuses: list[str] = []

    def worker() -> None:
        with storage.open_db(settings.db_path) as conn:
            barrier.wait()
            result = auth.verify_link(
                conn,
                settings,
                account_id,
                sent.challenge_id,
                "DEMO-9001",
                code,
                f"T{threading.get_ident()}",
                lang="en",
                now=T0,
            )
            statuses.append(result.status)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with storage.open_db(settings.db_path) as conn:
        assert sorted(statuses) == ["ok"] + ["used"] * 19
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 1
        assert audit.count(conn, "link_created") == 1 and audit.count(conn, "otp_reuse") == 19
        assert [m["kind"] for m in sms.recent_outbox(conn, limit=50)].count("link_notice") == 1


# --- double submit (issue 10): Enter on the phone keyboard, then a tap on "Verify OTP" --------------


def test_a_double_submit_signs_in_once_and_another_session_finds_the_code_used(conn, settings):
    sent = auth.start_sign_in(conn, settings, SIGNIN, lang="hi", now=T0)
    code = last_code(conn, SIGNIN)
    answers = [
        auth.verify_sign_in(
            conn, settings, sent.challenge_id, SIGNIN, code, lang="hi", now=T0 + sec(s), session="A"
        )
        for s in (1, 2)
    ]
    assert [(a.status, a.language) for a in answers] == [("ok", "hi"), ("ok", "hi")]
    assert answers[0].account_id == answers[1].account_id is not None
    other = auth.verify_sign_in(
        conn, settings, sent.challenge_id, SIGNIN, code, lang="hi", now=T0, session="B"
    )
    assert other.status == "used" and other.account_id is None
    assert conn.execute("SELECT count(*) FROM accounts").fetchone()[0] == 1
    assert audit.count(conn, "login_ok") == 1
    assert audit.count(conn, "otp_reuse") == 1 and audit.count(conn, "login_failed", outcome="used") == 1


def test_a_double_submit_links_once_with_one_notice(consumers, settings):
    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    answers = [
        auth.verify_link(
            consumers,
            settings,
            account_id,
            sent.challenge_id,
            "DEMO-9001",
            code,
            nick,
            lang="en",
            now=T0,
            session="A",
        )
        for nick in ("Shop", "Other name")
    ]
    assert [(a.status, a.nickname) for a in answers] == [("ok", "Shop"), ("ok", "Shop")]
    other = auth.verify_link(
        consumers, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0, session="B"
    )
    assert other.status == "used"
    assert [c["nickname"] for c in storage.accounts.linked_connections(consumers, account_id)] == ["Shop"]
    assert audit.count(consumers, "link_created") == 1
    assert [m["kind"] for m in sms.recent_outbox(consumers, limit=50)].count("link_notice") == 1


def test_a_repeat_after_the_link_was_removed_finds_the_code_used(consumers, settings):
    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    args = (consumers, settings, account_id, sent.challenge_id, "DEMO-9001", code)
    assert auth.verify_link(*args, lang="en", now=T0, session="A").status == "ok"
    assert auth.remove_connection(consumers, account_id, "DEMO-9001", now=T0)
    assert auth.verify_link(*args, lang="en", now=T0, session="A").status == "used"
    assert not storage.accounts.is_linked(consumers, account_id, "DEMO-9001")


def test_twenty_threads_of_one_session_all_link_and_link_once(consumers, settings):
    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    barrier = threading.Barrier(20)
    statuses: list[str] = []

    def worker() -> None:
        with storage.open_db(settings.db_path) as conn:
            barrier.wait()
            result = auth.verify_link(
                conn,
                settings,
                account_id,
                sent.challenge_id,
                "DEMO-9001",
                code,
                lang="en",
                now=T0,
                session="A",
            )
            statuses.append(result.status)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with storage.open_db(settings.db_path) as conn:
        assert statuses == ["ok"] * 20
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 1
        assert audit.count(conn, "link_created") == 1 and audit.count(conn, "otp_reuse") == 0
        assert [m["kind"] for m in sms.recent_outbox(conn, limit=50)].count("link_notice") == 1


# --- no enumeration through the SMS gateway (issue 13 item 5) ------------------------------------------

# How the real 127.0.0.1 gateway behaves, and the http client's timeout against it.
GATEWAY_BEHAVIOURS = {
    "delivers": {"status": 200, "delay": 0.0, "timeout": 2.0},
    "slow": {"status": 200, "delay": 0.4, "timeout": 2.0},
    "500": {"status": 500, "delay": 0.0, "timeout": 2.0},
    "times out": {"status": 200, "delay": 0.6, "timeout": 0.2},
}
GATEWAY_SECONDS = 2.5  # simulated time each request to the gateway costs (issue 13: real IDs took 2.5 s)


@pytest.fixture
def sms_gateway():
    server = SmsGateway()
    yield server
    server.close()


def _http(settings, gateway: SmsGateway, behaviour: str):
    how = GATEWAY_BEHAVIOURS[behaviour]
    gateway.status, gateway.delay = how["status"], how["delay"]
    config = http_sms_config(gateway.url, timeout_seconds=how["timeout"], retries=1)
    return replace(settings, sms_gateway="http", sms_http=config)


def _gateway_pacer(gateway: SmsGateway, slept: list[float]) -> otp.Pacer:
    """The response floor on a simulated clock where every request the gateway has seen costs
    ``GATEWAY_SECONDS``: a send that waited on the gateway would overrun the floor and sleep less."""
    return otp.Pacer(1.5, sleep=slept.append, clock=lambda: len(gateway.requests) * GATEWAY_SECONDS)


def _code_sent_through(gateway: SmsGateway, destination: str) -> str:
    bodies = [r["body"] for r in gateway.requests if r["body"]["to"] == destination.removeprefix("+")]
    return re.search(r"\d{3} \d{3}", bodies[-1]["message"]).group()


@pytest.mark.parametrize("behaviour", list(GATEWAY_BEHAVIOURS))
def test_add_another_meter_answers_alike_whatever_the_gateway_does(
    consumers, settings, sms_gateway, behaviour
):
    """Real, unknown, linked-elsewhere and busy-elsewhere consumer IDs get the same answer after the same
    floor with the http gateway delivering, slow, failing (500) or timing out: the SMS is queued, the
    gateway is not contacted before the answer, and each failed delivery is audited once."""
    conn = consumers
    account_id = sign_in(conn, settings)
    other = sign_in(conn, settings, mobile="+919833333333")
    sent = auth.start_link(conn, settings, other, "DEMO-9002", lang="en", now=T0)
    code = last_code(conn, "+919700000002")
    auth.verify_link(conn, settings, other, sent.challenge_id, "DEMO-9002", code, lang="en", now=T0)
    http = _http(settings, sms_gateway, behaviour)
    for n in range(1, 4):
        auth.start_link(conn, http, other, "DEMO-9003", lang="en", now=T0 + sec(31 * n))
    sms.deliver_queued(conn, http, now=to_ts(T0 + sec(95)), sleep=lambda s: None)
    sms_gateway.settle()  # a timed-out delivery's request may be recorded late (a loaded machine)
    before = len(sms_gateway.requests)
    slept: list[float] = []
    answers = {}
    for case, typed in [
        ("real", "DEMO-9001"),
        ("unknown", "DEMO-4040"),
        ("linked elsewhere", "DEMO-9002"),
        ("busy elsewhere", "DEMO-9003"),
    ]:
        pacer = _gateway_pacer(sms_gateway, slept)
        answers[case] = auth.start_link(
            conn, http, account_id, typed, lang="en", now=T0 + sec(100), pacer=pacer
        )
    assert len(sms_gateway.requests) == before  # no answer waited on the gateway
    shapes = {
        case: (a.status, len(a.challenge_id), re.sub(r"\d\d$", "NN", a.destination_masked), a.wait_seconds)
        for case, a in answers.items()
    }
    assert set(shapes.values()) == {("sent", 32, "+91 ••••••••NN", 0)}, shapes
    assert slept == [1.5] * 4  # the same floor, none of it spent on the gateway
    # Limited answers are alike too: this account's 4th send in 15 minutes, real and unknown.
    for n in range(1, 3):
        for typed in ("DEMO-9001", "DEMO-4040"):
            auth.start_link(conn, http, account_id, typed, lang="en", now=T0 + sec(100 + 31 * n))
    limited = [
        auth.start_link(
            conn,
            http,
            account_id,
            typed,
            lang="en",
            now=T0 + sec(200),
            pacer=_gateway_pacer(sms_gateway, slept),
        )
        for typed in ("DEMO-9001", "DEMO-4040")
    ]
    assert [a.status for a in limited] == ["limited", "limited"] and slept[-2:] == [1.5, 1.5]
    # The sender delivers afterwards: the real IDs' registered mobiles only, each failure audited once.
    run = sms.deliver_queued(conn, http, now=to_ts(T0 + sec(200)), sleep=lambda s: None)
    assert run.sent + run.failed == 5 and run.expired == 0  # real, linked, busy + real twice more
    failed_ok = behaviour in ("500", "times out")
    assert (run.failed, run.sent) == ((5, 0) if failed_ok else (0, 5))
    real_challenge = answers["real"].challenge_id
    failures = [
        r for r in audit.recent(conn, event="sms_failed", limit=50) if r["challenge_id"] == real_challenge
    ]
    assert len(failures) == (1 if failed_ok else 0)
    assert sms.deliver_queued(conn, http, now=to_ts(T0 + sec(200))) == sms.DeliveryRun()


@pytest.mark.parametrize("behaviour", ["500", "times out"])
def test_after_a_failed_delivery_resend_works_and_nothing_tells_real_from_unknown(
    consumers, settings, sms_gateway, behaviour
):
    conn = consumers
    account_id = sign_in(conn, settings)
    http = _http(settings, sms_gateway, behaviour)
    real = auth.start_link(conn, http, account_id, "DEMO-9001", lang="en", now=T0)
    decoy = auth.start_link(conn, http, account_id, "DEMO-4040", lang="en", now=T0)
    assert sms.deliver_queued(conn, http, now=to_ts(T0 + sec(1)), sleep=lambda s: None).failed == 1
    # The failed challenge is not killed: a guess at it answers like a guess at the decoy.
    guesses = [
        auth.verify_link(
            conn, http, account_id, a.challenge_id, a.subject, "000 000", lang="en", now=T0 + sec(2)
        )
        for a in (real, decoy)
    ]
    assert [(g.status, g.tries_left) for g in guesses] == [("wrong", 4), ("wrong", 4)]
    # The gateway recovers; "Resend OTP" after the cooldown gets a code that links.
    healthy = _http(settings, sms_gateway, "delivers")
    again = auth.resend_link(
        conn, healthy, account_id, real.challenge_id, "DEMO-9001", lang="en", now=T0 + sec(31)
    )
    assert again.status == "sent" and again.challenge_id != real.challenge_id
    assert sms.deliver_queued(conn, healthy, now=to_ts(T0 + sec(32))) == sms.DeliveryRun(sent=1)
    code = _code_sent_through(sms_gateway, OWNER)
    done = auth.verify_link(
        conn, healthy, account_id, again.challenge_id, "DEMO-9001", code, lang="en", now=T0 + sec(40)
    )
    assert done.status == "ok"
    assert sms.deliver_queued(conn, healthy, now=to_ts(T0 + sec(41))) == sms.DeliveryRun(sent=1)  # the notice
    assert audit.count(conn, "sms_failed") == 1


@pytest.mark.parametrize("behaviour", list(GATEWAY_BEHAVIOURS))
def test_sign_in_answers_alike_whatever_the_gateway_does(conn, settings, sms_gateway, behaviour):
    http = _http(settings, sms_gateway, behaviour)
    slept: list[float] = []
    sent = auth.start_sign_in(conn, http, SIGNIN, lang="en", now=T0, pacer=_gateway_pacer(sms_gateway, slept))
    assert (sent.status, sent.destination_masked, slept) == ("sent", "+91 ••••••••10", [1.5])
    assert sms_gateway.requests == [] and conn.sms.queued_count() == 1
    run = sms.deliver_queued(conn, http, now=to_ts(T0 + sec(1)), sleep=lambda s: None)
    if behaviour in ("500", "times out"):
        assert run == sms.DeliveryRun(failed=1)
        (row,) = audit.recent(conn, event="sms_failed")
        assert row["challenge_id"] == sent.challenge_id and row["destination_masked"] == "+91 ••••••••10"
    else:
        assert run == sms.DeliveryRun(sent=1)
        code = _code_sent_through(sms_gateway, SIGNIN)
        done = auth.verify_sign_in(conn, http, sent.challenge_id, SIGNIN, code, lang="en", now=T0 + sec(5))
        assert done.status == "ok"


def test_a_code_nobody_delivered_in_time_is_never_sent(conn, settings, sms_gateway):
    """A sender that comes back after the challenge's 5 minutes sends nothing: the code is dead."""
    http = _http(settings, sms_gateway, "delivers")
    auth.start_sign_in(conn, http, SIGNIN, lang="en", now=T0)
    run = sms.deliver_queued(conn, http, now=to_ts(T0 + otp.CODE_TTL))
    assert run == sms.DeliveryRun(expired=1) and sms_gateway.requests == []
    assert audit.count(conn, "sms_failed") == 1


# --- authorization ---------------------------------------------------------------------------------


def _linked(conn, settings, consumer="DEMO-9001", mobile=SIGNIN, now=T0):
    account_id = sign_in(conn, settings, mobile=mobile, now=now)
    record = storage.consumers.consumer_record(conn, consumer)
    sent = auth.start_link(conn, settings, account_id, consumer, lang="en", now=now)
    auth.verify_link(
        conn,
        settings,
        account_id,
        sent.challenge_id,
        consumer,
        last_code(conn, record["registered_mobile"]),
        lang="en",
        now=now,
    )
    return account_id


def test_another_accounts_challenge_or_consumer_gives_nothing(consumers, settings):
    owner_account = sign_in(consumers, settings)
    intruder = sign_in(consumers, settings, mobile="+919833333333")
    sent = auth.start_link(consumers, settings, owner_account, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    forged = auth.verify_link(
        consumers, settings, intruder, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0
    )
    assert forged.status == "unknown" and not storage.accounts.is_linked(consumers, intruder, "DEMO-9001")
    assert storage.accounts.linked_connections(consumers, intruder) == []
    assert storage.readings.daily_frame(consumers, intruder, ["DEMO-9001"]).empty


def test_remove_takes_effect_at_once_and_only_for_that_account(consumers, settings):
    first = _linked(consumers, settings)
    second = _linked(consumers, settings, mobile="+919833333333", now=T0 + sec(60))
    assert auth.remove_connection(consumers, second, "DEMO-9002") is False  # not linked: nothing happens
    assert auth.remove_connection(consumers, first, "DEMO-9001") is True
    assert not storage.accounts.is_linked(consumers, first, "DEMO-9001") and storage.accounts.is_linked(
        consumers, second, "DEMO-9001"
    )
    assert storage.accounts.connection_details(consumers, first).empty
    assert audit.count(consumers, "link_removed", account_id=first) == 1
    assert auth.remove_connection(consumers, first, "DEMO-9001") is False
    assert auth.remove_connection(consumers, first, ["DEMO-9001"]) is False  # forged widget value


def test_rename_only_own_links_and_clean_names(consumers, settings):
    account_id = _linked(consumers, settings)
    assert auth.rename_connection(consumers, account_id, "DEMO-9001", "  Dukaan\r\n ") is True
    assert storage.accounts.linked_connections(consumers, account_id)[0]["nickname"] == "Dukaan"
    assert auth.rename_connection(consumers, account_id, "DEMO-9001", "   ") is False
    assert auth.rename_connection(consumers, account_id + 1, "DEMO-9001", "Mine") is False
    assert auth.rename_connection(consumers, account_id, "DEMO-9001", "x" * 500) is True
    assert (
        len(storage.accounts.linked_connections(consumers, account_id)[0]["nickname"])
        == auth.MAX_NICKNAME_CHARS
    )


def test_a_changed_registered_mobile_makes_the_link_stale_until_verified_again(consumers, settings):
    account_id = _linked(consumers, settings)
    storage.consumers.upsert_consumers(consumers, [{**CONSUMERS[0], "registered_mobile": "+919744444444"}])
    assert storage.accounts.linked_connections(consumers, account_id)[0]["active"] is False
    assert not storage.accounts.is_linked(consumers, account_id, "DEMO-9001")
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0 + sec(60))
    assert sent.destination_masked.endswith("44")
    auth.verify_link(
        consumers,
        settings,
        account_id,
        sent.challenge_id,
        "DEMO-9001",
        last_code(consumers, "+919744444444"),
        lang="en",
        now=T0 + sec(60),
    )
    assert storage.accounts.linked_connections(consumers, account_id)[0]["active"] is True


# --- startup checks ----------------------------------------------------------------------------------


def test_startup_refuses_a_short_key(conn, settings):
    with pytest.raises(auth.AuthConfigurationError, match="at least 32"):
        auth.check_startup(conn, replace(settings, otp_key="too-short"))


def test_startup_refuses_real_data_with_the_demo_outbox(conn, settings):
    storage.consumers.upsert_consumers(conn, [{**CONSUMERS[0], "consumer_id": "1001", "is_demo": 0}])
    with pytest.raises(auth.AuthConfigurationError, match="demo outbox"):
        auth.check_startup(conn, settings)


def test_startup_refuses_real_data_with_a_generated_key(conn, settings, tmp_path):
    storage.consumers.upsert_consumers(conn, [{**CONSUMERS[0], "consumer_id": "1001", "is_demo": 0}])
    production = replace(
        settings,
        otp_key=None,
        sms_gateway="http",
        sms_http={
            "url": "https://sms.example.in/x",
            "api_key": "k",
            "entity_id": "e",
            "sender_id": "s",
            "templates": TEMPLATES,
        },
    )
    with pytest.raises(auth.AuthConfigurationError, match="no OTP key is configured"):
        auth.check_startup(conn, production, key_file=tmp_path / ".otp_key")
    auth.check_startup(
        conn,
        replace(production, otp_key="6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"),
        key_file=tmp_path / ".otp_key",
    )


def test_startup_accepts_the_demo_setup(conn, settings, tmp_path):
    storage.consumers.upsert_consumers(conn, CONSUMERS)
    key = auth.check_startup(conn, replace(settings, otp_key=None), key_file=tmp_path / ".otp_key")
    assert key.source == "file"


# --- what is kept ------------------------------------------------------------------------------------


def test_no_code_full_number_or_key_in_audit_log_or_challenges(consumers, settings):
    conn = consumers
    account_id = _linked(conn, settings)
    sent = auth.start_link(conn, settings, account_id, "DEMO-9002", lang="en", now=T0 + sec(40))
    auth.verify_link(
        conn, settings, account_id, sent.challenge_id, "DEMO-9002", "111111", lang="en", now=T0 + sec(40)
    )
    codes = {
        re.search(r"\d{3} \d{3}", m["text"]).group().replace(" ", "")
        for m in sms.recent_outbox(conn, limit=50)
        if m["kind"].startswith("otp_")
    }
    random_hex = {"challenge_id", "code_mac", "kid"}  # random hex could hold any 6 digits by chance
    rows = [
        {k: v for k, v in dict(r).items() if k not in random_hex}
        for table in ("audit", "sms_log", "otp_challenges", "otp_sends", "otp_failures")
        for r in conn.execute(f"SELECT * FROM {table}").mappings()  # noqa: S608
    ]
    kept = json.dumps(rows, ensure_ascii=False)
    for code in codes:
        assert code not in kept
    # The sign-in mobile is the subject of its own login challenges; no other full number is kept anywhere.
    for number in (OWNER, "+919700000002"):
        assert number[3:] not in kept
    audit_rows = [{k: v for k, v in r.items() if k not in random_hex} for r in audit.recent(conn, limit=500)]
    assert not re.search(r"\d{10}", json.dumps(audit_rows, ensure_ascii=False))  # never in the audit trail
    assert settings.otp_key not in kept


def test_every_event_is_audited_once(consumers, settings):
    conn = consumers
    account_id = sign_in(conn, settings)
    assert audit.count(conn, "otp_sent") == 1 and audit.count(conn, "login_ok") == 1
    sent = auth.start_link(conn, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(conn, OWNER)
    auth.verify_link(
        conn,
        settings,
        account_id,
        sent.challenge_id,
        "DEMO-9001",
        "000001" if code != "000 001" else "000002",
        lang="en",
        now=T0,
    )
    auth.verify_link(conn, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0)
    auth.verify_link(conn, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0)
    auth.remove_connection(conn, account_id, "DEMO-9001", now=T0)
    auth.record_sign_out(conn, account_id, now=T0)
    counts = {
        event: audit.count(conn, event)
        for event in ("otp_sent", "otp_failed", "link_created", "otp_reuse", "link_removed", "sign_out")
    }
    assert counts == {
        "otp_sent": 2,
        "otp_failed": 1,
        "link_created": 1,
        "otp_reuse": 1,
        "link_removed": 1,
        "sign_out": 1,
    }


# --- architecture: nothing security-relevant in the session ----------------------------------------


def test_domain_modules_do_not_touch_streamlit():
    for name in ("otp", "sms", "audit", "auth"):
        text = (ROOT / "lib" / f"{name}.py").read_text()
        assert not re.search(r"^\s*(import|from) streamlit", text, re.M) and "session_state" not in text, name


def test_views_keep_only_flow_keys_in_the_session():
    # Every key comes from the registry (lib/ui/session_keys.py): no literal keys in the OTP views, and
    # no flow key that would hold a code, an attempt count or a limit.
    forbidden = re.compile(r"(\w+_)?(attempts?|failures?|counts?|code|code_mac|otp_key|blocked)(_\w+)?")
    for name in ("signin", "manage_connection", "otp_flow"):
        text = (ROOT / "lib" / "ui" / f"{name}.py").read_text()
        literal = re.findall(r"state\[f?\"([^\"]+)\"\]|key=f?\"([^\"]+)\"|\.pop\(f?\"([^\"]+)\"", text)
        assert literal == [], name
        whats = re.findall(r"(?:widget\(\"\w+\", |\.key\(|Field\()f?\"([^\"{]+)", text)
        whats += re.findall(r"(?:subject|step|back)=\"([^\"]+)\"", text)
        assert [w for w in whats if forbidden.fullmatch(w)] == [], name
    assert re.findall(r"\.key\(\"(\w+)\"\)", (ROOT / "lib" / "ui" / "otp_flow.py").read_text())


def test_a_kill_mid_consume_leaves_all_or_nothing(consumers, settings):
    """SIGKILL after the link row is written but before COMMIT: on reopening, no link, no audit, no consume."""
    import subprocess
    import sys
    import textwrap

    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    script = textwrap.dedent(
        f"""
        import os, signal, datetime as dt
        from lib import auth, storage
        from lib.config import load_settings
        real = storage.accounts.insert_link
        def insert_then_die(conn, *args, **kwargs):
            real(conn, *args, **kwargs)
            assert conn.in_transaction
            os.kill(os.getpid(), signal.SIGKILL)
        storage.accounts.insert_link = insert_then_die
        with storage.open_db({str(settings.db_path)!r}) as conn:
            auth.verify_link(conn, load_settings(), {account_id}, {sent.challenge_id!r}, "DEMO-9001", {code!r},
                             lang="en", now=dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC))
        """
    )
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=False, timeout=60)  # noqa: S603
    assert result.returncode == -9
    with storage.open_db(settings.db_path) as conn:
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] == 0
        assert audit.count(conn, "link_created") == 0
        assert otp.challenge(conn, sent.challenge_id).consumed_at is None
        done = auth.verify_link(
            conn, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0
        )
        assert done.status == "ok"


def test_a_consumer_gone_before_verify_links_nothing_and_consumes_nothing(consumers, settings):
    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9001", lang="en", now=T0)
    code = last_code(consumers, OWNER)
    consumers.execute("DELETE FROM consumers WHERE consumer_id = 'DEMO-9001'")
    done = auth.verify_link(
        consumers, settings, account_id, sent.challenge_id, "DEMO-9001", code, lang="en", now=T0
    )
    assert done.status == "dead"  # the mobile it was sent to is no longer on file
    assert otp.challenge(consumers, sent.challenge_id).consumed_at is None
    assert audit.count(consumers, "link_created") == 0


def test_an_id_already_linked_to_this_account_says_so(consumers, settings):
    """Issue 14 section 3: no OTP for one's own connection, and no "sent" that sent nothing."""
    account_id = sign_in(consumers, settings)
    sent = auth.start_link(consumers, settings, account_id, "DEMO-9002", lang="en", now=T0)
    auth.verify_link(
        consumers,
        settings,
        account_id,
        sent.challenge_id,
        "DEMO-9002",
        last_code(consumers, "+919700000002"),
        lang="en",
        now=T0,
    )
    before = len(sms.recent_outbox(consumers, limit=100))
    again = auth.start_link(consumers, settings, account_id, " demo-9002 ", lang="en", now=T0 + sec(60))
    assert again.status == "already_linked" and again.subject == "DEMO-9002"
    assert len(sms.recent_outbox(consumers, limit=100)) == before


def test_an_empty_mobile_box_asks_for_the_number(conn, settings):
    assert auth.start_sign_in(conn, settings, "   ", lang="en").status == "empty_mobile"
    assert auth.start_sign_in(conn, settings, "12345", lang="en").status == "invalid_mobile"
