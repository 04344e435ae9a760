"""AppTest journeys of the sign-in gate and the account box, in Hindi and English.

The OTP is read from the SMS outbox (the camp's on-screen phone), as a person at a camp would.
"""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import audit, i18n, otp, sms, storage
from lib.ui import frame
from tests.factories import SmsGateway, http_sms_config, write_lock_held

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)
MANAGE = "pages/manage_connection.py"
MOBILE = "+919876543210"
CONSUMERS = [
    {"consumer_id": "DEMO-9001", "name": "Asha Devi", "registered_mobile": "+919812345678", "is_demo": 1},
]


@pytest.fixture(autouse=True)
def app_env(monkeypatch, db_path):
    monkeypatch.setattr(otp, "RESPONSE_FLOOR_SECONDS", 0)
    with storage.open_db(db_path) as conn:
        storage.consumers.upsert_consumers(conn, CONSUMERS)
    return db_path


def t(key: str, lang: str, **values: object) -> str:
    return i18n.t(key, lang, **values)


def app(lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    at.switch_page(MANAGE).run()
    return at


def click(at: AppTest, label: str) -> AppTest:
    buttons = [b for b in at.button if b.label == label]
    assert buttons, f"no button {label!r} in {[b.label for b in at.button]}"
    buttons[0].click()
    return at.run()


def messages(at: AppTest) -> list[str]:
    return [e.value for kind in (at.error, at.warning, at.info, at.success) for e in kind]


def outbox_code(db_path: Path, destination: str = MOBILE) -> str:
    with storage.open_db(db_path) as conn:
        for message in sms.recent_outbox(conn, limit=20):
            if message["destination"] == destination and message["kind"].startswith("otp_"):
                return re.search(r"\d{3} \d{3}", message["text"]).group()
    raise AssertionError("no OTP in the outbox")


def send_otp(at: AppTest, lang: str, mobile: str = "98765 43210") -> AppTest:
    at.text_input(key="signin_mobile_input").input(mobile)
    return click(at, t("auth_send_otp", lang))


def sign_in(at: AppTest, lang: str, db_path: Path) -> AppTest:
    send_otp(at, lang)
    at.text_input(key="signin_otp_input").input(outbox_code(db_path))
    return click(at, t("auth_verify_otp", lang))


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_sign_in_journey(app_env, lang):
    at = app(lang)
    assert not at.exception
    assert t("auth_signin_title", lang) in [h.value for h in at.title]
    assert [ti.label for ti in at.text_input] == [t("auth_mobile_label", lang)]
    send_otp(at, lang)
    assert t("auth_otp_sent_signin", lang, mobile="+91 ••••••••10") in messages(at)
    assert [ti.label for ti in at.text_input] == [t("auth_otp_label", lang)]
    assert {t("auth_verify_otp", lang), t("auth_resend_otp", lang)} <= {b.label for b in at.button}
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    click(at, t("auth_verify_otp", lang))
    assert not at.exception
    with storage.open_db(app_env) as conn:
        account = storage.accounts.account_by_mobile(conn, MOBILE)
        assert audit.count(conn, "login_ok", account_id=account["account_id"]) == 1
    assert at.session_state["account_id"] == account["account_id"]
    assert account["language"] == lang and at.session_state["lang"] == lang
    assert t("auth_manage_title", lang) in [h.value for h in at.title]
    assert t("auth_signed_in_as", lang, mobile="+91 ••••••••10") in [c.value for c in at.sidebar.caption]
    assert t("auth_sign_out", lang) in [b.label for b in at.sidebar.button]


def test_the_saved_language_is_loaded_on_sign_in(app_env):
    with storage.open_db(app_env) as conn:
        storage.accounts.create_account(conn, MOBILE, language="en")
    at = app("hi")
    sign_in(at, "hi", app_env)
    assert at.session_state["lang"] == "en"
    assert t("auth_manage_title", "en") in [h.value for h in at.title]


def test_the_language_picked_on_this_device_wins_over_the_saved_one(app_env):
    with storage.open_db(app_env) as conn:
        storage.accounts.create_account(conn, MOBILE, language="en")
    at = app("hi")
    at.sidebar.radio(key="lang_switch").set_value("en").run()
    at.sidebar.radio(key="lang_switch").set_value("hi").run()  # the visitor picked Hindi on this device
    sign_in(at, "hi", app_env)
    assert at.session_state["lang"] == "hi"
    with storage.open_db(app_env) as conn:
        assert storage.accounts.account_by_mobile(conn, MOBILE)["language"] == "hi"  # and it is remembered


@pytest.mark.sqlite_only("camp mode runs on an SQLite file only (it refuses PostgreSQL)")
def test_in_camp_mode_the_devices_language_wins_at_sign_in(app_env, monkeypatch):
    # The demo account is shared by every visitor: an earlier one left English saved on it.
    monkeypatch.setenv("METERMITRA_CAMP", "1")
    with storage.open_db(app_env) as conn:
        storage.accounts.create_account(conn, MOBILE, language="en")
    at = app("hi")
    sign_in(at, "hi", app_env)
    assert at.session_state["lang"] == "hi"


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("typed", ["011 2345 6789", "+1 415 555 0100", "12345", "नमस्ते"])
def test_not_an_indian_mobile_gets_a_clear_message_and_keeps_the_input(app_env, lang, typed):
    at = app(lang)
    send_otp(at, lang, typed)
    assert not at.exception
    assert [e.value for e in at.error] == [t("auth_invalid_mobile", lang)]
    assert at.text_input(key="signin_mobile_input").value == typed
    with storage.open_db(app_env) as conn:
        assert sms.recent_outbox(conn) == []


def wrong_code(code: str) -> str:
    return f"{(int(code.replace(' ', '')) + 1) % 10**6:06d}"


def fail(at: AppTest, lang: str, code: str, times: int) -> list[list[str]]:
    """Submit ``code`` ``times`` times; the error messages after each "Verify OTP"."""
    seen = []
    for _ in range(times):
        at.text_input(key="signin_otp_input").input(code)
        click(at, t("auth_verify_otp", lang))
        seen.append([e.value for e in at.error])
    return seen


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_wrong_otp_five_times(app_env, lang):
    from lib import auth
    from lib.config import load_settings

    at = app(lang)
    send_otp(at, lang)
    code = outbox_code(app_env)
    seen = fail(at, lang, wrong_code(code), 5)
    assert seen == [[t("auth_otp_wrong", lang, tries=n)] for n in (4, 3, 2)] + [
        [t("auth_otp_wrong_one", lang)],  # "1 try left", not "1 tries left" (issue 14)
        [t("auth_otp_dead", lang)],
    ]
    # The dead challenge's form is gone: its message and the way forward stand in its place.
    assert [ti.key for ti in at.text_input] == []
    assert t("auth_otp_sent_signin", lang, mobile="+91 ••••••••10") not in messages(at)
    assert [b.label for b in at.main.button if b.key != "lang_menu"] == [  # the page menu aside
        t("auth_send_new_otp", lang),
        t("auth_change_number", lang),
    ]
    # The right code is refused all the same (the session still holds the dead challenge).
    with storage.open_db(app_env) as conn:
        verdict = auth.verify_sign_in(
            conn, load_settings(), at.session_state["signin_challenge_id"], MOBILE, code, lang=lang
        )
        assert verdict.status == "unknown"  # outside the browser session that asked for it (issue 13)
        assert storage.accounts.account_by_mobile(conn, MOBILE) is None
        assert storage.otp.challenge_row(conn, at.session_state["signin_challenge_id"])["dead_at"]
    at.run()
    assert at.session_state["account_id"] is None
    assert [e.value for e in at.error] == [t("auth_otp_dead", lang)]


def test_send_a_new_otp_after_a_dead_challenge(app_env, monkeypatch):
    at = app("en")
    send_otp(at, "en")
    fail(at, "en", wrong_code(outbox_code(app_env)), 5)
    click(at, t("auth_send_new_otp", "en"))  # within 30 s of the last send: wait, the panel stays
    assert [w.value for w in at.warning] == [t("auth_resend_wait", "en", seconds=30)]
    assert [e.value for e in at.error] == [t("auth_otp_dead", "en")]
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:30:31Z")
    click(at, t("auth_send_new_otp", "en"))
    assert t("auth_otp_sent_signin", "en", mobile="+91 ••••••••10") in messages(at)
    assert [e.value for e in at.error] == []
    assert [ti.key for ti in at.text_input] == ["signin_otp_input"]
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    click(at, t("auth_verify_otp", "en"))
    assert at.session_state["account_id"] is not None
    assert "signin_ended" not in at.session_state


def test_change_number_after_a_dead_challenge(app_env):
    at = app("en")
    send_otp(at, "en")
    fail(at, "en", wrong_code(outbox_code(app_env)), 5)
    click(at, t("auth_change_number", "en"))
    assert [ti.key for ti in at.text_input] == ["signin_mobile_input"]
    assert "signin_challenge_id" not in at.session_state and "signin_ended" not in at.session_state


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_blocked_number_is_offered_no_new_otp(app_env, lang, monkeypatch):
    at = app(lang)
    send_otp(at, lang)
    fail(at, lang, wrong_code(outbox_code(app_env)), 5)
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:30:31Z")
    click(at, t("auth_send_new_otp", lang))
    seen = fail(at, lang, wrong_code(outbox_code(app_env)), 5)
    assert seen[-1] == [t("auth_otp_blocked", lang)]  # ten failures in a row: blocked for an hour
    assert [ti.key for ti in at.text_input] == []
    assert [b.label for b in at.main.button if b.key != "lang_menu"] == [t("auth_change_number", lang)]


def test_a_forged_ended_status_is_ignored(app_env):
    at = app("en")
    send_otp(at, "en")
    at.session_state["signin_ended"] = "<b>ok</b>"
    at.run()
    assert [ti.key for ti in at.text_input] == ["signin_otp_input"]
    assert [e.value for e in at.error] == []


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_an_expired_otp(app_env, lang, monkeypatch):
    at = app(lang)
    send_otp(at, lang)
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:35:01Z")  # 5 min 1 s later
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    click(at, t("auth_verify_otp", lang))
    assert [e.value for e in at.error] == [t("auth_otp_expired", lang)]
    assert at.session_state["account_id"] is None


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_malformed_otp_is_refused_without_counting(app_env, lang):
    at = app(lang)
    send_otp(at, lang)
    for typed in ["१२३४५६", "12345", "x" * 500]:
        at.text_input(key="signin_otp_input").input(typed)
        click(at, t("auth_verify_otp", lang))
        assert [e.value for e in at.error] == [t("auth_otp_invalid", lang)]
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    click(at, t("auth_verify_otp", lang))
    assert at.session_state["account_id"] is not None


def test_resend_waits_then_sends_a_new_code(app_env, monkeypatch):
    at = app("en")
    send_otp(at, "en")
    first = outbox_code(app_env)
    click(at, t("auth_resend_otp", "en"))
    assert [w.value for w in at.warning] == [t("auth_resend_wait", "en", seconds=30)]
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:30:31Z")
    click(at, t("auth_resend_otp", "en"))
    with storage.open_db(app_env) as conn:
        assert len(sms.recent_outbox(conn)) == 2
    at.text_input(key="signin_otp_input").input(first)
    click(at, t("auth_verify_otp", "en"))
    assert at.session_state["account_id"] is None  # the old code died with the resend
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    click(at, t("auth_verify_otp", "en"))
    assert at.session_state["account_id"] is not None


def test_change_number_goes_back(app_env):
    at = app("en")
    send_otp(at, "en")
    click(at, t("auth_change_number", "en"))
    assert [ti.label for ti in at.text_input] == [t("auth_mobile_label", "en")]
    assert "signin_challenge_id" not in at.session_state


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_sign_out_ends_the_session(app_env, lang):
    at = app(lang)
    sign_in(at, lang, app_env)
    at.session_state["link_challenge_id"] = "0" * 32  # a flow in progress
    account_id = at.session_state["account_id"]
    click(at, t("auth_sign_out", lang))
    assert at.session_state["account_id"] is None
    assert "link_challenge_id" not in at.session_state
    assert t("auth_signin_title", lang) in [h.value for h in at.title]
    with storage.open_db(app_env) as conn:
        assert audit.count(conn, "sign_out", account_id=account_id) == 1


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_idle_sign_out_is_explained(app_env, lang):
    at = app(lang)
    at.session_state["signed_out_idle"] = True
    at.run()
    assert t("auth_signed_out_idle", lang) in [i.value for i in at.info]


def test_idle_timeout_through_the_frame(app_env, monkeypatch):
    at = app("en")
    sign_in(at, "en", app_env)
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:46:00Z")  # 15.5 min without a run (server session)
    at.run()
    assert at.session_state["account_id"] is None
    assert t("auth_signed_out_idle", "en") in [i.value for i in at.info]


def test_a_new_sign_in_starts_with_no_earlier_flow(app_env, monkeypatch):
    at = app("en")
    sign_in(at, "en", app_env)
    at.session_state["link_challenge_id"] = "0" * 32  # someone's flow in progress...
    at.session_state["link_masked"] = "+91 ••••••••42"
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:46:00Z")  # ...then idle (and past the cooldown)
    at.run()
    assert at.session_state["account_id"] is None
    sign_in(at, "en", app_env)
    assert at.session_state["account_id"] is not None
    assert "link_challenge_id" not in at.session_state and "link_masked" not in at.session_state
    assert [ti.key for ti in at.text_input] == ["link_consumer_input"]


def test_a_forged_account_id_shows_nothing(app_env):
    at = app("en")
    at.session_state["account_id"] = 4242  # no such account
    at.run()
    assert not at.exception
    assert at.session_state["account_id"] is None
    assert t("auth_signin_title", "en") in [h.value for h in at.title]


def test_query_parameters_do_not_sign_in(app_env):
    with storage.open_db(app_env) as conn:
        account_id = storage.accounts.create_account(conn, MOBILE)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.query_params["account_id"] = str(account_id)
    at.query_params["account"] = str(account_id)
    at.query_params["demo"] = "1"
    at.run()
    assert at.session_state["account_id"] is None
    assert [ti.key for ti in at.text_input] == ["signin_mobile_input"]


def test_an_unsafe_configuration_refuses_with_a_message(app_env):
    with storage.open_db(app_env) as conn:
        storage.consumers.upsert_consumers(conn, [{**CONSUMERS[0], "consumer_id": "1001", "is_demo": 0}])
    at = app("en")
    assert not at.exception
    errors = [e.value for e in at.error]
    assert errors == [t("auth_config_error", "en")]  # plain: no operator detail in the page (issue 13)
    assert "secrets.toml" not in " ".join(errors) and "Refusing" not in " ".join(errors)
    assert [ti.key for ti in at.text_input] == []  # no sign-in form, nothing sent


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_too_many_otps_for_a_number_is_said_plainly(app_env, lang, monkeypatch):
    with storage.open_db(app_env) as conn, storage.transaction(conn):  # the day's wrong codes, from anywhere
        for minute in range(20):
            storage.otp.record_guess(
                conn,
                ts=f"2026-11-25T06:{10 + minute}:00Z",
                target=f"target:login:{MOBILE}",
                requester="x",
                client=None,
            )
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:40:00Z")
    at = app(lang)
    send_otp(at, lang)
    # Never "OTP sent" when nothing was sent (issue 14 section 3), and no SMS went out.
    assert [e.value for e in at.error] == [t("auth_otp_limited", lang)]
    assert "signin_challenge_id" not in at.session_state
    with storage.open_db(app_env) as conn:
        assert sms.recent_outbox(conn) == []


# --- double submit (issue 10): Enter on the phone keyboard, then a tap on "Verify OTP" -------------


def _first_run_lost(monkeypatch, name: str):
    """Make the next "Verify OTP" run end right after the database answered, before the session hears of
    it: what happens when the second submission's rerun interrupts the first run."""
    import streamlit as st

    from lib import auth

    real = getattr(auth, name)
    answers: list[str] = []

    def lost(*args, **kwargs):
        result = real(*args, **kwargs)
        answers.append(result.status)
        monkeypatch.setattr(auth, name, real)  # only the first submission is cut short
        st.stop()

    monkeypatch.setattr(auth, name, lost)
    return answers


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_double_submit_whose_first_run_was_lost_signs_in_once(app_env, lang, monkeypatch):
    at = app(lang)
    send_otp(at, lang)
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    answers = _first_run_lost(monkeypatch, "verify_sign_in")
    click(at, t("auth_verify_otp", lang))  # Enter: the code is consumed, the run never finishes
    assert answers == ["ok"] and at.session_state["account_id"] is None
    click(at, t("auth_verify_otp", lang))  # the tap: the same session, the same code
    assert not at.exception and [e.value for e in at.error] == []
    with storage.open_db(app_env) as conn:
        account = storage.accounts.account_by_mobile(conn, MOBILE)
        assert at.session_state["account_id"] == account["account_id"]
        assert audit.count(conn, "login_ok") == 1 and audit.count(conn, "otp_reuse") == 0
        assert audit.count(conn, "login_failed") == 0
    assert t("auth_manage_title", lang) in [h.value for h in at.title]


def test_a_code_another_session_tries_is_unknown_there_and_works_here(app_env):
    from lib import auth
    from lib.config import load_settings

    at = app("en")
    send_otp(at, "en")
    code = outbox_code(app_env)
    with storage.open_db(app_env) as conn:  # another browser session got hold of the challenge and the code
        other = auth.verify_sign_in(
            conn,
            load_settings(),
            at.session_state["signin_challenge_id"],
            MOBILE,
            code,
            lang="en",
            session="x",
        )
        # The challenge belongs to the session that asked for it (issue 13): elsewhere it is unknown.
        assert other.status == "unknown"
        assert storage.accounts.account_by_mobile(conn, MOBILE) is None
    at.text_input(key="signin_otp_input").input(code)
    click(at, t("auth_verify_otp", "en"))
    assert at.session_state["account_id"] is not None


def _sessions(db_path: Path) -> list[dict]:
    with storage.open_db(db_path) as conn:
        return [dict(r) for r in conn.execute("SELECT * FROM sessions ORDER BY session_id").mappings()]


def _cookie_scripts(at: AppTest) -> list[str]:
    return [h.proto.body for h in at.get("html") if "/mm/session" in h.proto.body]


def test_a_sign_in_starts_a_server_session_and_hands_its_cookie_over(app_env):
    at = app("en")
    sign_in(at, "en", app_env)
    rows = _sessions(app_env)
    assert len(rows) == 1 and rows[0]["account_id"] == at.session_state["account_id"]
    assert rows[0]["handoff_mac"] and rows[0]["token_mac"] is None and rows[0]["ended_at"] is None
    handoff = at.session_state["session_handoff"]
    assert handoff not in str(rows[0])  # only its keyed hash is stored
    [script] = _cookie_scripts(at)
    assert f'fetch("/mm/session", {{method: "POST", body: "{handoff}"' in script


def test_another_tabs_sign_out_signs_this_tab_out_at_its_next_run(app_env):
    at = app("en")
    sign_in(at, "en", app_env)
    with storage.open_db(app_env) as conn:
        conn.execute("UPDATE sessions SET ended_at = '2026-11-25T06:31:00Z', end_reason = 'sign_out'")
    at.run()
    assert at.session_state["account_id"] is None and "session_id" not in at.session_state
    assert t("auth_signin_title", "en") in [h.value for h in at.title]
    assert t("auth_signed_out_idle", "en") not in [i.value for i in at.info]


def test_sign_out_ends_the_server_session(app_env):
    at = app("en")
    sign_in(at, "en", app_env)
    click(at, t("auth_sign_out", "en"))
    [row] = _sessions(app_env)
    assert row["end_reason"] == "sign_out" and row["ended_at"] is not None
    assert row["token_mac"] is None and row["handoff_mac"] is None


def _until(condition, what: str) -> None:
    """Wait for the dashboard's SMS sender thread (bounded; asserts no duration)."""
    for _ in range(600):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"the SMS sender never {what}")


@pytest.mark.parametrize("behaviour", ["delivers", "500"])
def test_with_the_http_gateway_the_page_says_sent_and_the_sender_delivers(
    app_env, monkeypatch, tmp_path, behaviour
):
    """Issue 13 item 5 end to end: the page only queues the OTP's SMS and says "sent" whatever the http
    gateway does; the dashboard's sender thread delivers it (the code then signs in) or audits the failure."""
    gateway = SmsGateway()
    gateway.status = 200 if behaviour == "delivers" else 500
    config = http_sms_config(gateway.url, retries=0)
    templates = config.pop("templates")
    lines = ["[sms]", 'gateway = "http"', "[sms.http]"]
    lines += [f"{name} = {json.dumps(value)}" for name, value in config.items()]
    lines += ["[sms.http.templates]"] + [f"{name} = {json.dumps(value)}" for name, value in templates.items()]
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("\n".join(lines) + "\n", encoding="utf-8")
    monkeypatch.setattr("lib.config.SECRETS_PATH", secrets)
    try:
        at = app("en")
        send_otp(at, "en")
        assert not at.exception
        assert t("auth_otp_sent_signin", "en", mobile="+91 ••••••••10") in messages(at)
        with storage.open_db(app_env) as conn:
            _until(lambda: conn.sms.queued_count() == 0 and gateway.requests, "delivered the OTP")
            failures = audit.recent(conn, event="sms_failed")
        if behaviour == "500":
            assert len(failures) == 1 and failures[0]["reason"] == "otp_login: HTTP 500"
            assert messages(at) == [t("auth_otp_sent_signin", "en", mobile="+91 ••••••••10")]
        else:
            assert failures == []
            code = re.search(r"\d{3} \d{3}", gateway.requests[-1]["body"]["message"]).group()
            at.text_input(key="signin_otp_input").input(code)
            click(at, t("auth_verify_otp", "en"))
            assert at.session_state["account_id"] is not None
    finally:
        frame.stop_sms_senders()
        gateway.close()
    assert not [thread for thread in threading.enumerate() if thread.name == "metermitra-sms-sender"]


# --- a busy database (issue 13 item 11) -------------------------------------------------------------


@pytest.mark.sqlite_only("SQLite's busy write lock (another writer holds the file; busy_timeout)")
@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_busy_database_says_try_again_and_the_next_try_signs_in(app_env, lang, monkeypatch):
    """Another connection holds the write lock (a long import before issue 13 item 11): "Send OTP" and
    "Verify OTP" say the service is busy, in the user's language, instead of the generic error; the same
    step a moment later, with the lock gone, goes through."""
    monkeypatch.setattr(storage.engine, "BUSY_TIMEOUT_MS", 100)
    at = app(lang)
    busy = t("common_busy", lang)
    with write_lock_held(app_env):
        send_otp(at, lang)
        assert not at.exception
        assert busy in [w.value for w in at.warning]
        assert [ti.key for ti in at.text_input] == ["signin_mobile_input"]  # still the mobile step
    send_otp(at, lang)
    assert busy not in messages(at)
    assert t("auth_otp_sent_signin", lang, mobile="+91 ••••••••10") in messages(at)
    at.text_input(key="signin_otp_input").input(outbox_code(app_env))
    with write_lock_held(app_env):
        click(at, t("auth_verify_otp", lang))
        assert not at.exception
        assert busy in [w.value for w in at.warning]
        assert at.session_state["account_id"] is None
    click(at, t("auth_verify_otp", lang))
    assert not at.exception and busy not in messages(at)
    assert at.session_state["account_id"] is not None
    with write_lock_held(app_env):  # signing out waits too: still signed in, told to try again
        at.sidebar.button(key="account_sign_out").click()
        at.run()
        assert not at.exception
        assert busy in [w.value for w in at.warning]
        assert at.session_state["account_id"] is not None
