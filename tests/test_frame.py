"""The shared frame: language kept across pages and on the account, idle timeout, navigation."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import demo, i18n, storage
from lib.ui.frame import IDLE_TIMEOUT_SECONDS

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)


def _signed_in(db_path) -> tuple[AppTest, int]:
    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn, days=40)
        account_id = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["account_id"]
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["account_id"] = account_id
    return at, account_id


def test_hindi_is_the_default_language(db_path):
    at, _ = _signed_in(db_path)
    at.run()
    assert at.session_state["lang"] == "hi"
    labels = [link.label for link in at.sidebar.get("page_link")]
    assert i18n.t("nav_overview", "hi") in labels


def test_language_switch_is_kept_across_pages_and_saved_on_the_account(db_path):
    at, account_id = _signed_in(db_path)
    at.run()
    at.sidebar.radio(key="lang_switch").set_value("en").run()
    assert at.session_state["lang"] == "en"
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert at.session_state["lang"] == "en"
    assert at.sidebar.radio(key="lang_switch").value == "en"
    labels = [link.label for link in at.sidebar.get("page_link")]
    assert i18n.t("nav_compare", "en") in labels
    with storage.open_db(db_path) as conn:
        assert storage.accounts.account_by_id(conn, account_id)["language"] == "en"


def test_idle_session_is_signed_out(db_path):
    at, _ = _signed_in(db_path)
    at.run()
    at.session_state["last_active"] = time.time() - IDLE_TIMEOUT_SECONDS - 5
    at.run()
    assert at.session_state["account_id"] is None


def test_camp_page_is_not_in_the_navigation_outside_camp_mode(db_path):
    at, _ = _signed_in(db_path)
    at.run()
    labels = [link.label for link in at.sidebar.get("page_link")]
    assert i18n.t("nav_camp", "hi") not in labels
    assert i18n.t("nav_ledger", "hi") in labels


def test_a_language_chosen_before_sign_in_is_kept_and_saved(db_path, monkeypatch):
    import re

    from lib import otp, sms

    monkeypatch.setattr(otp, "RESPONSE_FLOOR_SECONDS", 0)
    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn, days=40)  # the demo account's saved language is Hindi
        assert storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["language"] == "hi"
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60).run()
    at.sidebar.radio(key="lang_switch").set_value("en").run()
    at.text_input(key="signin_mobile_input").input(demo.DEMO_ACCOUNT_MOBILE[3:])
    [b for b in at.button if b.label == i18n.t("auth_send_otp", "en")][0].click()
    at.run()
    with storage.open_db(db_path) as conn:
        text = next(m["text"] for m in sms.recent_outbox(conn) if m["kind"].startswith("otp_"))
    at.text_input(key="signin_otp_input").input(re.search(r"\d{3} \d{3}", text).group(0))
    [b for b in at.button if b.label == i18n.t("auth_verify_otp", "en")][0].click()
    at.run()
    assert at.session_state["account_id"] is not None
    assert at.session_state["lang"] == "en"
    with storage.open_db(db_path) as conn:
        assert storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["language"] == "en"


def test_first_start_seeds_no_demo_into_a_database_configured_for_production(db_path, monkeypatch, caplog):
    """Issue 13 item 12: with the production (http) SMS gateway an empty database stays empty; visitors
    get the plain "not available" message, the operator the reason in the log."""
    monkeypatch.setenv("METERMITRA_SMS_GATEWAY", "http")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    with caplog.at_level("ERROR", logger="metermitra.startup"):
        at.run()
    assert not at.exception
    assert [e.value for e in at.error] == [i18n.t("auth_config_error", "en")]
    assert [ti.key for ti in at.text_input] == []  # no sign-in form
    with storage.open_db(db_path) as conn:
        assert not storage.consumers.has_consumers(conn)
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] == 0
    assert "Not seeding demo data" in caplog.text and "import-consumers" in caplog.text

    # Once the operator imports consumers, the same server starts normally (the refusal is not cached).
    with storage.open_db(db_path) as conn:
        storage.consumers.upsert_consumers(
            conn, [{"consumer_id": "101234567", "name": "Asha", "registered_mobile": "+919876543210"}]
        )
    monkeypatch.setenv("METERMITRA_SMS_GATEWAY", "outbox")
    at.run()
    with storage.open_db(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM consumers").fetchone()[0] == 1  # still no demo


def test_first_start_seeds_the_demo_into_an_empty_demo_database(db_path):
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    assert not at.exception
    with storage.open_db(db_path) as conn:
        assert storage.consumers.has_consumers(conn) and not storage.consumers.holds_real_data(conn)


def test_an_unreachable_database_at_first_start_is_a_plain_message_not_a_traceback(
    monkeypatch, caplog, tmp_path
):
    """A server whose PostgreSQL is down (or whose URL is wrong) shows visitors the plain "not available"
    message in their language, and the operator the reason (password hidden) in the log; found when PgBouncer
    was given a wrong database name (tests/browser/test_deploy.py)."""
    url = f"postgresql://mm:s3cret@127.0.0.1:{_closed_port()}/metermitra?connect_timeout=2"
    monkeypatch.setenv("METERMITRA_DB", url)
    for lang in ("hi", "en"):
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.session_state["lang"] = lang
        with caplog.at_level("ERROR", logger="metermitra.startup"):
            at.run()
        assert not at.exception
        assert [e.value for e in at.error] == [i18n.t("auth_config_error", lang)]
        assert [ti.key for ti in at.text_input] == []
    assert "cannot start on postgresql://mm:***@127.0.0.1" in caplog.text and "s3cret" not in caplog.text


def _closed_port() -> int:
    """A local TCP port nothing listens on (bound, then released)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
