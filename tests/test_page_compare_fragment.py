"""Compare's controls and what they choose are one fragment (issue 15): a period change reruns that alone.

``tests.fragments.fragment_rerun`` runs the fragment alone as the server does for a browser's widget
change: only the fragment's elements are sent, the page script (frame, sidebar, banner, title) does not
run, and a write or sign-out elsewhere still runs the whole page.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import i18n, sessions, storage
from lib.otp import OtpKey
from lib.ui import frame
from tests.factories import household
from tests.fragments import count_page_runs, fragment_rerun

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines
KEY = OtpKey(secret=b"s" * 32, kid="test", source="configured")


@pytest.fixture
def page_runs(monkeypatch) -> list[str]:
    return count_page_runs(monkeypatch)


def compare(account_id: int, lang: str = "en", **state: object) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = lang
    for name, value in state.items():
        at.session_state[name] = value
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    return at


def charts(at: AppTest, key: str = "compare_chart") -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart") if key in c.proto.id]


def value_x(spec: dict) -> list[str]:
    return next(t["x"] for t in spec["data"] if t.get("meta", {}).get("kind") == "value")


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_period_change_reruns_only_the_fragment_and_draws_the_new_period(db_path, page_runs, lang):
    account_id = household(db_path, 3)
    at = compare(account_id, lang)
    assert page_runs.count("frame") == 2 and page_runs.count("banner") == 2  # dashboard, then Compare
    (before,) = charts(at)
    assert len(value_x(before)) == 30  # 30 days, daily
    page_runs.clear()

    at.radio(key="compare_range").set_value("1y")
    fragment_rerun(at)
    assert not at.exception
    assert page_runs == []  # neither the frame nor the banner ran
    assert not at.title and not at.sidebar.children  # nothing outside the fragment was sent again
    (after,) = charts(at)  # one chart: replaced, not added beside the old one
    weekly = i18n.t("compare_granularity_chosen", lang, granularity=i18n.t("compare_granularity_week", lang))
    assert weekly in [c.value for c in at.caption]
    assert value_x(after)[0] < "2025-12-01" and len(value_x(after)) > 40  # a year, weekly
    assert at.radio(key="compare_range").value == "1y"
    assert len(at.get("download_button")) == 1

    at.radio(key="compare_range").set_value("7d")
    fragment_rerun(at)
    assert page_runs == [] and len(value_x(charts(at)[0])) == 7


def test_a_link_removed_elsewhere_runs_the_whole_page_at_the_next_fragment_run(db_path, page_runs):
    account_id = household(db_path, 3)
    at = compare(account_id)
    with storage.open_db(db_path) as conn:
        gone = storage.accounts.connection_details(conn, account_id)["consumer_id"].astype(str).tolist()[1]
        assert storage.accounts.delete_link(conn, account_id, gone)
    page_runs.clear()
    at.radio(key="compare_range").set_value("7d")
    fragment_rerun(at)
    assert not at.exception
    assert page_runs.count("frame") == 1  # the fragment saw another household: the whole page ran
    assert at.title[0].value == i18n.t("compare_title", "en")
    (spec,) = charts(at)
    drawn = {t["meta"]["consumer_id"] for t in spec["data"] if t.get("meta", {}).get("kind") == "value"}
    assert len(drawn) == 2 and gone not in drawn
    assert len(value_x(spec)) == 7  # the changed period kept


def test_sign_out_in_another_tab_signs_this_tab_out_at_its_next_fragment_run(db_path, page_runs):
    account_id = household(db_path, 1)
    with storage.open_db(db_path) as conn:
        session_id = sessions.start(conn, KEY, account_id).session_id
    at = compare(account_id, session_id=session_id)
    page_runs.clear()
    at.radio(key="compare_range").set_value("1y")
    fragment_rerun(at)
    assert page_runs == []  # the session is live: the fragment alone ran (and touched the session)
    with storage.open_db(db_path) as conn:
        assert sessions.end(conn, session_id)
    at.radio(key="compare_range").set_value("7d")
    fragment_rerun(at)
    assert not at.exception
    assert at.session_state["account_id"] is None and "session_id" not in at.session_state
    assert i18n.t("auth_signin_title", "en") in [h.value for h in at.title]
    assert not charts(at)


def test_an_idle_tab_is_signed_out_by_a_fragment_run(db_path, page_runs):
    account_id = household(db_path, 1)
    at = compare(account_id)
    at.session_state["last_active"] = at.session_state["last_active"] - frame.IDLE_TIMEOUT_SECONDS - 1
    at.radio(key="compare_range").set_value("1y")
    fragment_rerun(at)
    assert not at.exception
    assert at.session_state["account_id"] is None
    assert i18n.t("auth_signed_out_idle", "en") in [i.value for i in at.info]
