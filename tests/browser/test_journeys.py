"""Real-browser journeys of the camp demonstration (issue 6), each in English and Hindi, desktop and phone.

Every journey runs on a freshly reset demo database in a new Streamlit session, finds elements by
widget keys, test ids and catalog texts, saves screenshots into test-artifacts/, and ends with
``journey.assert_clean()`` (no exception box, no console error, no request off 127.0.0.1), which the
``journey`` fixture checks once more at teardown.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.harness import Journey

pytestmark = pytest.mark.browser


def test_frame_and_sign_in_gate(journey: Journey) -> None:
    """The shared frame renders in the chosen language: DEMO banner, demo phone, navigation, language switch."""
    page = journey.page
    expect(page.get_by_text(journey.t("camp_banner"), exact=True)).to_be_visible()
    expect(journey.phone_panel()).to_be_visible()
    assert page.title() == journey.t("app_title")
    journey.shot("home")
    journey.open_sidebar()
    expect(journey.sidebar.get_by_role("link", name=journey.t("nav_camp"), exact=True)).to_be_visible()
    journey.shot("sidebar")
    journey.close_sidebar_on_phone()
    journey.navigate("nav_camp")
    expect(page.get_by_role("heading", name=journey.t("camp_page_title"))).to_be_visible()
    journey.shot("camp")
