"""The frame's phone CSS for the small Markdown tables (``lib.ui.frame._PHONE_CSS``), in a real browser.

Below 768 px the tables' text is 13 px and a cell's padding 4 px, and a table wider than the screen scrolls
sideways inside its own box (``display: block; overflow-x: auto``), never the page; at desktop width the text
and padding are Streamlit's own. Measured on the Overview's month table (``lib.ui.widgets.draw_table``) of
the demo with one connection renamed to 40 characters without a space (the longest nickname,
``auth.MAX_NICKNAME_CHARS``): a word no browser breaks, wider at 13 px than a 390 px phone's page with the
table's four figures beside it.
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from lib import auth, demo, storage
from tests.browser.harness import Journey

pytestmark = pytest.mark.browser

LONG_NICKNAME = "GharKeUparWalaSolarMeterNumberEkSauTeen1"  # 40 characters, no space

_MEASURE = """(table) => {
  const cell = table.querySelector("td");
  const box = getComputedStyle(table);
  return {
    display: box.display,
    overflowX: box.overflowX,
    fontSize: getComputedStyle(cell).fontSize,
    padding: getComputedStyle(cell).padding,
    scrollWidth: table.scrollWidth,
    clientWidth: table.clientWidth,
    right: table.getBoundingClientRect().right,
    viewport: document.documentElement.clientWidth,
  };
}"""

_SCROLL = """(table) => {
  table.scrollLeft = 10000;
  const main = document.querySelector("[data-testid='stMain']");
  return {table: table.scrollLeft, page: window.scrollX, main: main.scrollLeft};
}"""


def test_a_wide_table_scrolls_in_its_own_box_on_a_phone_only(journey: Journey) -> None:
    assert len(LONG_NICKNAME) == auth.MAX_NICKNAME_CHARS and " " not in LONG_NICKNAME
    with storage.open_db(journey.server.db_path) as conn:
        account = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)
        assert account is not None
        assert storage.accounts.rename_link(conn, int(account["account_id"]), "DEMO-1001", LONG_NICKNAME)
    journey.sign_in()
    month = journey.main.locator("[data-testid='stMarkdownContainer'] table").filter(has_text=LONG_NICKNAME)
    expect(month.first).to_be_visible()
    month = month.first
    shown = month.evaluate(_MEASURE)
    assert shown["display"] == "block"  # every width: a table never widens the page (frame._PHONE_CSS)
    assert shown["overflowX"] == "auto"
    if journey.device == "phone":
        assert shown["viewport"] == 390
        assert (shown["fontSize"], shown["padding"]) == ("13px", "4px")
        assert shown["scrollWidth"] > shown["clientWidth"]  # wider than its box: it scrolls inside it
        assert shown["right"] <= shown["viewport"]  # the box itself stays on the screen
        journey.shot("wide-table")
        scrolled = month.evaluate(_SCROLL)
        assert scrolled["table"] > 0  # the table scrolled sideways ...
        assert scrolled["page"] == scrolled["main"] == 0  # ... and the page did not
    else:
        assert shown["viewport"] > 768
        assert shown["fontSize"] != "13px" and shown["padding"] != "4px"  # Streamlit's own, not the phone's
        assert shown["scrollWidth"] <= shown["clientWidth"]  # fits: nothing to scroll
    assert journey.horizontal_overflow() == 0  # the page never scrolls sideways
    journey.shot("wide-table-scrolled" if journey.device == "phone" else "wide-table")
