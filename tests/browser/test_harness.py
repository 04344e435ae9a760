"""The harness's own guarantees: a request off 127.0.0.1 is blocked and reported, a console error is
reported, and ``assert_clean`` fails on either (so the journeys' checks can fail)."""

from __future__ import annotations

from typing import Any

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


def _messages() -> list[Any]:
    """ForwardMsgs and BackMsgs like a run's: long nested fields (lengths of several varint bytes), a
    delta whose text holds the bytes of a top-level ``new_session`` key."""
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    started = ForwardMsg()
    started.metadata.delta_path.extend([0, 1])
    started.new_session.page_script_hash = "r" * 40
    started.new_session.main_script_path = "/srv/" + "p" * 300 + ".py"
    delta = ForwardMsg()
    delta.metadata.delta_path.extend([0, 7])
    delta.delta.new_element.markdown.body = ("\x22\x04" + "अ" * 120) * 20
    finished = ForwardMsg()
    finished.script_finished = ForwardMsg.FINISHED_SUCCESSFULLY
    rerun = BackMsg()
    rerun.rerun_script.page_script_hash = "h" * 32
    rerun.rerun_script.query_string = "q" * 200
    widget = rerun.rerun_script.widget_states.widgets.add()
    widget.id = "$$ID-" + "w" * 150
    widget.int_value = 1
    return [started, delta, finished, rerun]


@pytest.mark.parametrize("variant", [("en", "desktop")], indirect=True, ids=["en-desktop"])
def test_run_watch_reads_the_top_level_of_each_message(journey: Journey) -> None:
    """The run watch tells a run's start and end from the websocket's own messages (the script-state
    attribute can skip a short run: BENCHMARKS.md section 6, "Lost clicks"): its reader must find exactly
    the top-level fields of each message, whatever the nested fields hold."""
    for message in _messages():
        raw = list(message.SerializeToString())
        got = journey.page.evaluate("(bytes) => window.__mmTopFields(new Uint8Array(bytes))", raw)
        assert got == [field.number for field, _ in message.ListFields()]


@pytest.mark.parametrize("variant", [("en", "desktop")], indirect=True, ids=["en-desktop"])
def test_run_watch_counts_the_runs_and_reruns_of_a_click(journey: Journey) -> None:
    """A click that makes a run: one rerun sent, the run seen starting and ending, the app idle after it."""
    before = journey._changes()
    sent = journey._reruns_sent()
    journey.set_language("hi")
    state = journey._watch_state()
    assert state["reruns_sent"] == sent + 1
    assert state["changes"] >= before + 2  # new_session and script_finished at least
    assert state["running"] is False
    assert state["script"] == "notRunning"
