"""Run a page's fragment alone under AppTest, as the server does when a widget inside it changes.

AppTest (Streamlit 1.67) runs the whole script on every widget change. A browser sends the id of the
fragment the changed widget lives in, and the server then runs only that fragment; ``fragment_rerun``
hands AppTest's script runner the same request (``RerunData.fragment_id_queue``). Only the fragment's
elements are in ``at``'s tree afterwards: nothing outside it was sent again.
"""

from __future__ import annotations

from functools import partial
from unittest import mock

from streamlit.runtime.scriptrunner_utils.script_requests import RerunData
from streamlit.testing.v1 import AppTest, local_script_runner

from lib.ui import chrome, frame


def fragment_rerun(at: AppTest) -> AppTest:
    """Run the page's one fragment alone, with the widget values set on ``at``'s elements."""
    fragment_ids = list(at._fragment_storage._fragments)  # AppTest keeps the last whole run's fragments
    assert len(fragment_ids) == 1, f"expected the page's one fragment, got {fragment_ids}"
    scoped = partial(RerunData, fragment_id_queue=fragment_ids)
    with mock.patch.object(local_script_runner, "RerunData", scoped):
        return at.run()


def count_page_runs(monkeypatch) -> list[str]:
    """A list that gets "frame" at each run of the page script's frame and "banner" at each low-balance
    warning it draws: a fragment rerun adds neither."""
    runs: list[str] = []
    page, warning = frame.page, chrome.draw_low_balance_warning

    def counted_page(*args, **kwargs):
        runs.append("frame")
        return page(*args, **kwargs)

    def counted_warning(*args, **kwargs):
        runs.append("banner")
        return warning(*args, **kwargs)

    monkeypatch.setattr(frame, "page", counted_page)
    monkeypatch.setattr(chrome, "draw_low_balance_warning", counted_warning)
    return runs
