"""The harness's own guarantees: a request off 127.0.0.1 is blocked and reported, a console error is
reported, and ``assert_clean`` fails on either (so the journeys' checks can fail)."""

from __future__ import annotations

import pytest

from tests.browser.harness import Journey

pytestmark = pytest.mark.browser


@pytest.mark.parametrize("variant", [("en", "desktop")], indirect=True, ids=["en-desktop"])
def test_outside_request_is_blocked_and_reported(journey: Journey) -> None:
    reached = journey.page.evaluate(
        """() => fetch("http://example.com/metermitra-probe", {mode: "no-cors"})
                   .then(() => true, () => false)"""
    )
    assert reached is False
    assert journey.outside_requests == ["http://example.com/metermitra-probe"]
    with pytest.raises(AssertionError, match="requests that left 127.0.0.1"):
        journey.assert_clean()
    journey.outside_requests.clear()
    journey.console_errors.clear()  # the blocked fetch also logs a network error


@pytest.mark.parametrize("variant", [("hi", "phone")], indirect=True, ids=["hi-phone"])
def test_console_error_is_reported(journey: Journey) -> None:
    journey.page.evaluate("() => console.error('metermitra harness probe')")
    with pytest.raises(AssertionError, match="metermitra harness probe"):
        journey.assert_clean()
    journey.console_errors.clear()


@pytest.mark.parametrize("variant", [("hi", "phone")], indirect=True, ids=["hi-phone"])
def test_sideways_scrolling_is_measured(journey: Journey) -> None:
    assert journey.horizontal_overflow() == 0
    journey.page.evaluate(
        """() => { const wide = document.createElement("div"); wide.style.width = "1200px";
                   wide.style.height = "10px"; wide.id = "mm-wide";
                   document.querySelector("[data-testid='stMainBlockContainer']").appendChild(wide); }"""
    )
    assert journey.horizontal_overflow() > 0
    journey.page.evaluate("() => document.getElementById('mm-wide').remove()")
