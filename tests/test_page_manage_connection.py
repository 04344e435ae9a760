"""AppTest journeys of Manage Connection: Add Another Meter, wrong OTP, expiry, rename, remove, stale links,
forged values and inert rendering of database text, in Hindi and English."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import audit, i18n, otp, sms, storage
from lib.ui.escape import inert as plain
from tests.factories import write_lock_held
from tests.overview_cards import card_titles

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)
MANAGE = "pages/manage_connection.py"
MOBILE = "+919876543210"
OWNER = "+919812345678"
XSS = "<img src=x onerror=alert(1)>"
CONSUMERS = [
    {"consumer_id": "DEMO-9001", "name": "Asha Devi", "registered_mobile": OWNER, "is_demo": 1},
    {"consumer_id": "DEMO-9002", "name": XSS, "registered_mobile": "+919700000002", "is_demo": 1},
]


@pytest.fixture(autouse=True)
def app_env(monkeypatch, db_path):
    monkeypatch.setattr(otp, "RESPONSE_FLOOR_SECONDS", 0)
    with storage.open_db(db_path) as conn:
        storage.consumers.upsert_consumers(conn, CONSUMERS)
    return db_path


@pytest.fixture
def account_id(app_env) -> int:
    with storage.open_db(app_env) as conn:
        return storage.accounts.create_account(conn, MOBILE)


def t(key: str, lang: str, **values: object) -> str:
    return i18n.t(key, lang, **values)


def app(lang: str, account_id: int) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["account_id"] = account_id
    at.switch_page(MANAGE)
    at.run()
    assert not at.exception
    return at


def click(at: AppTest, label: str) -> AppTest:
    buttons = [b for b in at.button if b.label == label]
    assert buttons, f"no button {label!r} in {[b.label for b in at.button]}"
    buttons[0].click()
    return at.run()


def outbox_code(db_path: Path, destination: str = OWNER) -> str:
    with storage.open_db(db_path) as conn:
        for message in sms.recent_outbox(conn, limit=20):
            if message["destination"] == destination and message["kind"].startswith("otp_"):
                return re.search(r"\d{3} \d{3}", message["text"]).group()
    raise AssertionError("no OTP in the outbox")


def start_link(at: AppTest, lang: str, typed: str = "demo-9001") -> AppTest:
    at.text_input(key="link_consumer_input").input(typed)
    return click(at, t("auth_send_otp", lang))


def link(
    at: AppTest, lang: str, db_path: Path, typed="demo-9001", nickname="Ghar", destination=OWNER
) -> AppTest:
    start_link(at, lang, typed)
    at.text_input(key="link_otp_input").input(outbox_code(db_path, destination))
    at.text_input(key="link_nickname_input").input(nickname)
    return click(at, t("auth_verify_otp", lang))


def bold_names(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if m.value.startswith("**")]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_add_another_meter_journey(app_env, account_id, lang):
    at = app(lang, account_id)
    assert t("auth_manage_title", lang) in [h.value for h in at.title]
    assert t("auth_manage_none", lang) in [i.value for i in at.info]
    assert t("auth_add_title", lang) in [h.value for h in at.subheader]
    assert [ti.label for ti in at.text_input] == [t("auth_consumer_id_label", lang)]
    start_link(at, lang)
    assert t("auth_otp_sent_link", lang, mobile="+91 ••••••••78") in [s.value for s in at.success]
    assert [ti.label for ti in at.text_input] == [t("auth_otp_label", lang), t("auth_nickname_label", lang)]
    at.text_input(key="link_otp_input").input(outbox_code(app_env))
    at.text_input(key="link_nickname_input").input("Ghar")
    click(at, t("auth_verify_otp", lang))
    assert not at.exception
    assert plain(t("auth_linked_ok", lang, nickname="Ghar")) in [s.value for s in at.success]
    assert bold_names(at) == ["**Ghar**"]
    captions = " ".join(c.value for c in at.caption)
    assert "DEMO\\-9001" in captions and "DS\\-II" in captions
    with storage.open_db(app_env) as conn:
        assert storage.accounts.is_linked(conn, account_id, "DEMO-9001")
        assert [m["kind"] for m in sms.recent_outbox(conn)] == ["link_notice", "otp_link"]
    # The flow is over: the consumer ID form is back, above the list of linked connections.
    assert [ti.key for ti in at.text_input if ti.key.startswith("link_")] == ["link_consumer_input"]
    assert [h.value for h in at.subheader] == [
        t("auth_add_title", lang),
        t("auth_linked_title", lang, count="1"),
    ]


def main_order(at: AppTest) -> list[str]:
    """The main area's headings, alerts and text boxes (by key), top to bottom."""
    order = []
    for node in at.main:
        kind = type(node).__name__
        if kind in ("Subheader", "Success", "Error", "Info", "Warning"):
            order.append(f"{kind}:{node.value}")
        elif kind == "TextInput":
            order.append(f"TextInput:{node.key}")
    return order


def test_add_another_meter_comes_before_the_linked_connections(app_env, account_id):
    with storage.open_db(app_env) as conn:
        storage.consumers.upsert_consumers(
            conn,
            [
                {
                    "consumer_id": "DEMO-9003",
                    "name": "Ravi",
                    "registered_mobile": "+919700000003",
                    "is_demo": 1,
                }
            ],
        )
        for number in (1, 2):  # DEMO-9002 and DEMO-9003: DEMO-9001 is the one being added
            storage.accounts.insert_link(conn, account_id, f"DEMO-900{number + 1}", f"Meter {number}")
    at = start_link(app("en", account_id), "en", "demo-9001")
    order = main_order(at)
    add, linked = order.index("Subheader:Add Another Meter"), order.index("Subheader:Linked connections (2)")
    # The OTP box comes straight after "OTP sent", before any connection's card.
    sent = order.index("Success:" + t("auth_otp_sent_link", "en", mobile="+91 ••••••••78"))
    assert add < sent < order.index("TextInput:link_otp_input") < linked
    # Each card is compact: the nickname, one line of facts, and one row holding "Change nickname" and "Remove".
    assert bold_names(at) == ["**Meter 1**", "**Meter 2**"]
    facts = [c.value for c in at.caption if "Linked on" in c.value]
    assert len(facts) == 2 and all("Name on the bill" in line for line in facts)
    assert [b.label for b in at.main.button if b.key and b.key.startswith("manage_remove_")] == ["Remove"] * 2


def test_the_new_connection_shows_on_the_overview_at_once(app_env, account_id):
    at = app("en", account_id)
    link(at, "en", app_env)
    at.switch_page("dashboard.py").run()
    assert not at.exception
    assert "Ghar" in card_titles(at)  # the overview names each linked connection
    with storage.open_db(app_env) as conn:
        assert list(storage.accounts.connection_details(conn, account_id)["nickname"]) == ["Ghar"]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_unknown_and_real_consumer_ids_look_the_same(app_env, account_id, lang):
    def shape(at: AppTest) -> list[tuple[str, str]]:
        return [(type(e).__name__, re.sub(r"\d", "N", str(getattr(e, "value", "")))) for e in at.main]

    real = start_link(app(lang, account_id), lang, "DEMO-9001")
    seen = shape(real), [ti.label for ti in real.text_input], [b.label for b in real.button]
    click(real, t("auth_cancel", lang))  # else the next session resumes it (test_a_pending_link_is_resumed)
    unknown = start_link(app(lang, account_id), lang, "DEMO-4040")
    assert seen[0][:8] == shape(unknown)[:8]
    assert seen[1] == [ti.label for ti in unknown.text_input]
    assert seen[2] == [b.label for b in unknown.button]


@pytest.mark.parametrize("typed", ["DEMO-9001", "DEMO-4040"])
def test_a_pending_link_is_resumed_in_a_new_session_and_cancel_ends_it(app_env, account_id, typed):
    """Issue 12: an "Add Another Meter" OTP belongs to the account, so a reload, a second tab or another app
    server (each a new session) shows its OTP step; a real and an unknown ID resume alike; Cancel ends it."""
    first = start_link(app("en", account_id), "en", typed)
    masked = [s.value for s in first.success]
    second = app("en", account_id)  # a new session: no flow in its state
    assert [ti.key for ti in second.text_input][:1] == ["link_otp_input"]
    assert [s.value for s in second.success] == masked
    if typed == "DEMO-9001":  # the code sent through the first session links through the second
        second.text_input(key="link_otp_input").input(outbox_code(app_env))
        second.text_input(key="link_nickname_input").input("Ghar")
        click(second, t("auth_verify_otp", "en"))
        with storage.open_db(app_env) as conn:
            assert conn.accounts.is_linked(account_id, "DEMO-9001")
        assert [ti.key for ti in app("en", account_id).text_input][:1] == ["link_consumer_input"]
        return
    click(second, t("auth_cancel", "en"))
    third = app("en", account_id)
    assert [ti.key for ti in third.text_input][:1] == ["link_consumer_input"]


def wrong_code(code: str) -> str:
    return f"{(int(code.replace(' ', '')) + 1) % 10**6:06d}"


def fail(at: AppTest, lang: str, code: str, times: int) -> list[list[str]]:
    """Submit ``code`` ``times`` times; the error messages after each "Verify OTP"."""
    errors = []
    for _ in range(times):
        at.text_input(key="link_otp_input").input(code)
        click(at, t("auth_verify_otp", lang))
        errors.append([e.value for e in at.error])
    return errors


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_wrong_otp_five_times_links_nothing(app_env, account_id, lang):
    from lib import auth
    from lib.config import load_settings

    at = app(lang, account_id)
    start_link(at, lang)
    code = outbox_code(app_env)
    errors = fail(at, lang, wrong_code(code), 5)
    assert errors[-1] == [t("auth_otp_dead", lang)] and errors[0] == [t("auth_otp_wrong", lang, tries=4)]
    # The dead challenge's form is gone: its message and the way forward stand in its place.
    assert [ti.key for ti in at.text_input] == []
    assert t("auth_otp_sent_link", lang, mobile="+91 ••••••••78") not in [s.value for s in at.success]
    assert plain(t("auth_linking", lang, consumer_id="DEMO-9001")) in [c.value for c in at.caption]
    assert [b.label for b in at.main.button if b.key != "lang_menu"] == [
        t("auth_send_new_otp", lang),
        t("auth_cancel", lang),
    ]
    # The right code is refused all the same (the session still holds the dead challenge).
    with storage.open_db(app_env) as conn:
        verdict = auth.verify_link(
            conn,
            load_settings(),
            account_id,
            at.session_state["link_challenge_id"],
            "DEMO-9001",
            code,
            "Ghar",
            lang=lang,
        )
        assert verdict.status == "dead"
        assert storage.accounts.linked_connections(conn, account_id) == []
        assert audit.count(conn, "otp_dead") == 1


def test_send_a_new_otp_after_a_dead_challenge_links(app_env, account_id, monkeypatch):
    at = app("en", account_id)
    start_link(at, "en")
    fail(at, "en", wrong_code(outbox_code(app_env)), 5)
    click(at, t("auth_send_new_otp", "en"))  # within 30 s of the last send: wait, the panel stays
    assert [w.value for w in at.warning] == [t("auth_resend_wait", "en", seconds=30)]
    assert [e.value for e in at.error] == [t("auth_otp_dead", "en")]
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:30:31Z")
    click(at, t("auth_send_new_otp", "en"))
    assert t("auth_otp_sent_link", "en", mobile="+91 ••••••••78") in [s.value for s in at.success]
    assert [e.value for e in at.error] == []
    at.text_input(key="link_otp_input").input(outbox_code(app_env))
    at.text_input(key="link_nickname_input").input("Ghar")
    click(at, t("auth_verify_otp", "en"))
    assert bold_names(at) == ["**Ghar**"]
    assert "link_ended" not in at.session_state and "link_challenge_id" not in at.session_state
    with storage.open_db(app_env) as conn:
        assert storage.accounts.is_linked(conn, account_id, "DEMO-9001")


def test_cancel_after_a_dead_challenge_goes_back(app_env, account_id):
    at = app("en", account_id)
    start_link(at, "en")
    fail(at, "en", wrong_code(outbox_code(app_env)), 5)
    click(at, t("auth_cancel", "en"))
    assert [ti.key for ti in at.text_input] == ["link_consumer_input"]
    assert "link_challenge_id" not in at.session_state and "link_ended" not in at.session_state


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_an_unknown_consumer_id_dies_the_same_way(app_env, account_id, lang):
    real, unknown = app(lang, account_id), app(lang, account_id)
    start_link(real, lang, "DEMO-9001")
    start_link(unknown, lang, "DEMO-4040")
    dead = [t("auth_otp_dead", lang)]
    assert fail(real, lang, wrong_code(outbox_code(app_env)), 5)[-1] == dead
    assert fail(unknown, lang, "000000", 5)[-1] == dead  # a decoy challenge: no code is right
    assert [ti.key for ti in real.text_input] == [ti.key for ti in unknown.text_input] == []
    assert [b.label for b in real.main.button if b.key != "lang_menu"] == [
        b.label for b in unknown.main.button if b.key != "lang_menu"
    ]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_an_expired_otp_links_nothing(app_env, account_id, lang, monkeypatch):
    at = app(lang, account_id)
    start_link(at, lang)
    monkeypatch.setenv("METERMITRA_NOW", "2026-11-25T06:35:00Z")  # exactly 5 minutes: already expired
    at.text_input(key="link_otp_input").input(outbox_code(app_env))
    click(at, t("auth_verify_otp", lang))
    assert [e.value for e in at.error] == [t("auth_otp_expired", lang)]
    with storage.open_db(app_env) as conn:
        assert storage.accounts.linked_connections(conn, account_id) == []


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("typed", ["", "'; DROP TABLE links; --", "../x", "१२३४"])
def test_a_malformed_consumer_id_gets_a_message_and_keeps_the_input(app_env, account_id, lang, typed):
    at = start_link(app(lang, account_id), lang, typed)
    assert [e.value for e in at.error] == [t("auth_invalid_consumer_id", lang)]
    assert at.text_input(key="link_consumer_input").value == typed


def test_cancel_ends_the_flow(app_env, account_id):
    at = start_link(app("en", account_id), "en")
    click(at, t("auth_cancel", "en"))
    assert "link_challenge_id" not in at.session_state
    assert [ti.key for ti in at.text_input] == ["link_consumer_input"]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_remove_asks_first_then_takes_effect(app_env, account_id, lang):
    at = app(lang, account_id)
    link(at, lang, app_env)
    click(at, t("auth_remove", lang))
    assert t("auth_remove_confirm", lang, nickname="Ghar", consumer_id="DEMO-9001") == (
        at.warning[0].value.replace("\\", "")
    )
    click(at, t("auth_cancel", lang))
    with storage.open_db(app_env) as conn:
        assert storage.accounts.is_linked(conn, account_id, "DEMO-9001")
    click(at, t("auth_remove", lang))
    click(at, t("auth_remove_yes", lang))
    assert not at.exception
    assert plain(t("auth_removed", lang)) in [s.value for s in at.success]
    assert bold_names(at) == []
    with storage.open_db(app_env) as conn:
        assert not storage.accounts.is_linked(conn, account_id, "DEMO-9001")
        assert storage.readings.daily_frame(conn, account_id).empty
        assert audit.count(conn, "link_removed", account_id=account_id) == 1


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_rename(app_env, account_id, lang):
    at = app(lang, account_id)
    link(at, lang, app_env)
    (field,) = [ti for ti in at.text_input if ti.key.startswith("manage_nickname_")]
    field.input("Dukaan")
    click(at, t("auth_rename", lang))
    assert bold_names(at) == ["**Dukaan**"]
    (field,) = [ti for ti in at.text_input if ti.key.startswith("manage_nickname_")]
    field.input("   ")
    click(at, t("auth_rename", lang))
    assert [e.value for e in at.error] == [t("auth_rename_invalid", lang)]
    with storage.open_db(app_env) as conn:
        assert storage.accounts.linked_connections(conn, account_id)[0]["nickname"] == "Dukaan"


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_stale_link_is_flagged(app_env, account_id, lang):
    with storage.open_db(app_env) as conn:
        storage.accounts.insert_link(conn, account_id, "DEMO-9001", "Ghar")
        storage.consumers.upsert_consumers(conn, [{**CONSUMERS[0], "registered_mobile": "+919744444444"}])
    at = app(lang, account_id)
    assert t("auth_stale", lang) in [w.value for w in at.warning]
    assert bold_names(at) == ["**Ghar**"]
    captions = " ".join(c.value for c in at.caption)
    assert "Asha" not in captions and "DS\\-II" not in captions  # the record may have changed hands


def test_database_text_is_shown_as_text(app_env, account_id):
    with storage.open_db(app_env) as conn:
        storage.accounts.insert_link(conn, account_id, "DEMO-9002", "[x](javascript:alert(1)) <b>bold</b>")
    at = app("en", account_id)
    bodies = [m.value for m in at.markdown] + [c.value for c in at.caption]
    for body in bodies:
        assert not re.search(r"(?<!\\)<", body), body  # every < is escaped: no tag can form
        assert not re.search(r"(?<!\\)\]\(", body), body  # no live Markdown link
    assert any("\\<img src\\=x onerror\\=alert\\(1\\)\\>" in body for body in bodies)
    assert "**\\[x\\]\\(javascript\\:\u2060alert\\(1\\)\\) \\<b\\>bold\\</b\\>**" in bodies
    assert not any(m.proto.allow_html for m in at.markdown)
    assert not any(c.proto.allow_html for c in at.caption)


def test_forged_session_values_act_on_nothing(app_env, account_id):
    with storage.open_db(app_env) as conn:
        other = storage.accounts.create_account(conn, "+919833333333")
        storage.accounts.insert_link(conn, other, "DEMO-9002", "Theirs")
        theirs = otp.issue(
            conn,
            otp.load_key(__import__("lib.config", fromlist=["x"]).load_settings()),
            purpose="link",
            account_id=other,
            subject="DEMO-9001",
            destination=OWNER,
        )
    at = app("en", account_id)
    # A forged "confirm remove" for a connection this account does not hold: nothing to confirm.
    at.session_state["manage_confirm_remove"] = "DEMO-9002"
    at.run()
    assert t("auth_remove_yes", "en") not in [b.label for b in at.button]
    # A forged flow pointing at another account's challenge, with that challenge's real code.
    at.session_state["link_challenge_id"] = theirs.challenge_id
    at.session_state["link_consumer_id"] = "DEMO-9001"
    at.session_state["link_masked"] = "+91 ••••••••78"
    at.run()
    at.text_input(key="link_otp_input").input(theirs.code)
    click(at, t("auth_verify_otp", "en"))
    # Another account's challenge is unknown to this one (issue 13): nothing counted, nothing linked.
    assert [e.value for e in at.error] == [t("auth_otp_unknown", "en")]
    with storage.open_db(app_env) as conn:
        assert storage.otp.challenge_row(conn, theirs.challenge_id)["attempts"] == 0
        assert storage.accounts.linked_connections(conn, account_id) == []
        assert storage.accounts.is_linked(conn, other, "DEMO-9002")
        assert "Theirs" not in " ".join(bold_names(at))


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_double_submit_whose_first_run_was_lost_links_once(app_env, account_id, lang, monkeypatch):
    # Issue 10: Enter consumed the code but its run was cut short by the tap's rerun; the tap links.
    import streamlit as st

    from lib import auth

    real = auth.verify_link
    answers: list[str] = []

    def lost(*args, **kwargs):
        result = real(*args, **kwargs)
        answers.append(result.status)
        monkeypatch.setattr(auth, "verify_link", real)
        st.stop()

    monkeypatch.setattr(auth, "verify_link", lost)
    at = app(lang, account_id)
    start_link(at, lang)
    at.text_input(key="link_otp_input").input(outbox_code(app_env))
    at.text_input(key="link_nickname_input").input("Ghar")
    click(at, t("auth_verify_otp", lang))
    assert answers == ["ok"] and at.session_state["link_challenge_id"] is not None
    click(at, t("auth_verify_otp", lang))
    assert not at.exception and [e.value for e in at.error] == []
    assert [s.value for s in at.success] == [plain(t("auth_linked_ok", lang, nickname="Ghar"))]
    with storage.open_db(app_env) as conn:
        assert [c["nickname"] for c in storage.accounts.linked_connections(conn, account_id)] == ["Ghar"]
        assert audit.count(conn, "link_created") == 1 and audit.count(conn, "otp_reuse") == 0
        assert [m["kind"] for m in sms.recent_outbox(conn, limit=50)].count("link_notice") == 1


@pytest.mark.sqlite_only("SQLite's busy write lock (another writer holds the file; busy_timeout)")
@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_busy_database_says_try_again_when_linking_renaming_and_removing(
    app_env, account_id, lang, monkeypatch
):
    """Issue 13 item 11: another connection holds the write lock (a long import before the fix): each write
    of the page says the service is busy, in the user's language, changes nothing, and works a moment later."""
    monkeypatch.setattr(storage.engine, "BUSY_TIMEOUT_MS", 100)
    busy = t("common_busy", lang)
    at = app(lang, account_id)
    with write_lock_held(app_env):
        start_link(at, lang)
        assert not at.exception and busy in [w.value for w in at.warning]
    start_link(at, lang)
    at.text_input(key="link_otp_input").input(outbox_code(app_env))
    at.text_input(key="link_nickname_input").input("Ghar")
    with write_lock_held(app_env):
        click(at, t("auth_verify_otp", lang))
        assert not at.exception and busy in [w.value for w in at.warning]
    click(at, t("auth_verify_otp", lang))
    assert not at.exception and bold_names(at) == ["**Ghar**"]
    (field,) = [ti for ti in at.text_input if ti.key.startswith("manage_nickname_")]
    field.input("Dukaan")
    with write_lock_held(app_env):
        click(at, t("auth_rename", lang))
        assert not at.exception and busy in [w.value for w in at.warning]
        assert bold_names(at) == ["**Ghar**"]
    click(at, t("auth_remove", lang))
    with write_lock_held(app_env):
        click(at, t("auth_remove_yes", lang))
        assert not at.exception and busy in [w.value for w in at.warning]
    assert t("auth_remove_yes", lang) in [b.label for b in at.button]  # the question is still asked
    click(at, t("auth_remove_yes", lang))
    assert not at.exception and bold_names(at) == []
    with storage.open_db(app_env) as conn:
        assert not storage.accounts.is_linked(conn, account_id, "DEMO-9001")
