"""AppTest of camp mode: banner on every page, the on-screen phone, the walk-through, reset, URL refusal."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import camp, i18n, storage

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["pages/compare.py", "pages/manage_connection.py", "pages/ledger.py", "pages/camp.py"]


def _app(lang: str = "hi") -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    return at


def _texts(at: AppTest) -> list[str]:
    return [e.value for e in at.warning] + [e.value for e in at.info] + [e.value for e in at.error]


@pytest.fixture
def camp_env(monkeypatch, db_path):
    monkeypatch.setenv("METERMITRA_CAMP", "1")
    return db_path


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_demo_banner_on_every_page(camp_env, lang):
    at = _app(lang).run()
    assert not at.exception
    assert i18n.t("camp_banner", lang) in _texts(at)
    for page in PAGES:
        if not (ROOT / page).exists():
            continue
        at.switch_page(page).run()
        assert not at.exception, page
        assert i18n.t("camp_banner", lang) in _texts(at), page


def test_camp_page_shows_walkthrough_and_demo_ids(camp_env):
    from lib import demo

    at = _app("en").run()
    at.switch_page("pages/camp.py").run()
    assert not at.exception
    markdown = " ".join(m.value for m in at.markdown)
    assert "Add Another Meter" in markdown
    assert demo.DEMO_UNLINKED[0][0] in markdown
    assert [t.label for t in at.toggle if t.key == "camp_large_text_toggle"]


def test_reset_button_needs_confirmation_and_restores_the_demo(camp_env):
    at = _app("en").run()
    at.switch_page("pages/camp.py").run()
    with storage.open_db(camp_env) as conn, storage.transaction(conn):
        conn.execute("DELETE FROM links")
        storage.meta.bump_data_version(conn)
    assert at.button(key="camp_reset").disabled
    at.checkbox(key="camp_reset_confirmed").check().run()
    at.button(key="camp_reset").click().run()
    assert not at.exception
    assert i18n.t("camp_reset_done", "en") in [s.value for s in at.success]
    with storage.open_db(camp_env) as conn:
        assert conn.execute("SELECT count(*) FROM links").fetchone()[0] >= 3


def test_url_cannot_switch_camp_mode_on(db_path):
    at = _app("en")
    at.query_params["camp"] = "1"
    at.query_params["demo"] = "1"
    at.run()
    assert not at.exception
    assert i18n.t("camp_banner", "en") not in _texts(at)
    at.switch_page("pages/camp.py").run()
    assert i18n.t("camp_not_enabled", "en") in _texts(at)


def test_camp_mode_refuses_a_database_with_real_data(camp_env):
    with storage.open_db(camp_env) as conn, storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn, [{"consumer_id": "204512345", "name": "Real", "registered_mobile": "+919876543210"}]
        )
    at = _app("en").run()
    assert i18n.t("camp_error_real_data", "en") in _texts(at)
    assert not at.exception


def test_phone_panel_shows_outbox_messages(camp_env):
    from lib import sms
    from lib.config import load_settings

    at = _app("en").run()
    with storage.open_db(camp_env) as conn:
        sms.send_sms(conn, load_settings(), "+910000000001", "123 456 is your OTP", kind="test")
    at.run()
    assert "123 456 is your OTP" in [c.value for c in at.code]


def test_the_phone_shows_only_the_newest_message_folds_after_sign_in_and_a_reset_empties_it(camp_env):
    from lib import demo, sms
    from lib.config import load_settings

    at = _app("hi").run()
    with storage.open_db(camp_env) as conn:
        sms.send_sms(conn, load_settings(), "+910000000001", "111 111 older", kind="otp_signin")
        sms.send_sms(conn, load_settings(), "+910000000001", "222 222 newest", kind="otp_signin")
        account = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)
    at.run()
    phone = next(e for e in at.expander if e.label == i18n.t("camp_phone_title", "hi"))
    assert [c.value for c in phone.code] == ["222 222 newest"]
    assert phone.proto.expanded  # signed out: the visitor reads the sign-in OTP here
    at.session_state["account_id"] = int(account["account_id"])
    at.run()
    phone = next(e for e in at.expander if e.label == i18n.t("camp_phone_title", "hi"))
    assert not phone.proto.expanded  # signed in: folded, the visitor's pages fill the screen
    camp.reset_demo(camp_env)
    at.run()
    phone = next(e for e in at.expander if e.label == i18n.t("camp_phone_title", "hi"))
    assert not phone.code and i18n.t("camp_phone_empty", "hi") in [c.value for c in phone.caption]


def test_the_demo_nicknames_are_hindi_in_camp_mode(camp_env):
    camp.reset_demo(camp_env)
    with storage.open_db(camp_env) as conn:
        account = storage.accounts.account_by_mobile(conn, "+910000000001")
        links = storage.accounts.linked_connections(conn, int(account["account_id"]))
    assert [link["nickname"] for link in links] == ["घर", "दुकान", "गाँव का घर"]


def test_reset_signs_out_open_sessions(camp_env):
    at = _app("en").run()
    camp.reset_demo(camp_env)
    at.session_state["account_id"] = 1
    at.run()
    camp.reset_demo(camp_env)
    at.run()
    assert at.session_state["account_id"] is None


def test_local_demo_outside_camp_mode_shows_the_phone_and_the_demo_mobile(db_path):
    from lib import demo, sms
    from lib.config import load_settings
    from lib.ui.camp import format_demo_mobile

    at = _app("en").run()  # first start seeds the demo into the empty database
    assert not at.exception
    assert i18n.t("camp_banner", "en") not in _texts(at)
    assert i18n.t("demo_banner", "en") in _texts(at)
    hint = i18n.t("camp_sign_in_hint", "en", mobile=format_demo_mobile(demo.DEMO_ACCOUNT_MOBILE))
    assert hint in [c.value for c in at.caption]
    with storage.open_db(db_path) as conn:
        sms.send_sms(conn, load_settings(), demo.DEMO_ACCOUNT_MOBILE, "654 321 is your OTP", kind="test")
    at.run()
    assert "654 321 is your OTP" in [c.value for c in at.code]


def test_no_phone_panel_once_the_database_holds_real_consumers(db_path):
    with storage.open_db(db_path) as conn, storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn, [{"consumer_id": "204512345", "name": "Real", "registered_mobile": "+919876543210"}]
        )
    at = _app("en").run()
    assert not at.exception
    assert i18n.t("demo_banner", "en") not in _texts(at)
    assert not at.code


def test_walkthrough_catalog_text_holds_no_markdown_markup():
    """The walk-through's steps are shown as Markdown as written (catalog text and demo constants only)."""
    from lib import demo

    values = {"consumer_id": demo.DEMO_UNLINKED[0][0], "mobile": "+91 00000 00002"}
    steps = [k for k in i18n.catalog() if k.startswith("camp_step_")]
    assert len(steps) == 7
    for key in steps:
        for lang in ("en", "hi"):
            text = i18n.t(key, lang, **values)
            assert not set(text) & set("\\`*_[]<>#|~$"), (key, lang, text)
            assert not re.search(r":[a-z]+(/[a-z_]+)?[:\[]", text), (key, lang, text)
