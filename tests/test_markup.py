"""Text from users and the database stays text: in Markdown, in plotly text and in CSV cells."""

import re

import pytest

from lib import charts
from lib.ui import escape
from lib.ui.escape import csv_cell, markdown, plotly_text

SPECIAL = set("\\`*_{}[]()<>#+-.!|~$:&=\"'^@%")


@pytest.mark.parametrize(
    "payload",
    [
        "<img src=x onerror=alert(1)>",
        "[click](javascript:alert(1))",
        "![x](http://example.com/x.png)",
        "**bold** _it_ `code`",
        ":red[alarm] :material/home:",
        "# Heading",
        "back\\slash",
    ],
)
def test_every_metacharacter_is_escaped_and_nothing_else_changes(payload):
    escaped = markdown(payload)
    # Every special character is preceded by a backslash ...
    unescaped_specials = [
        ch for i, ch in enumerate(escaped) if ch in SPECIAL and ch != "\\" and escaped[i - 1 : i] != "\\"
    ]
    assert unescaped_specials == []
    # ... and removing the escapes (what Markdown shows) gives back exactly the input (the invisible
    # WORD JOINER after each ":" keeps Streamlit's shortcodes from forming, issue 13).
    assert re.sub(r"\\(.)", r"\1", escaped).replace("\u2060", "") == payload


def test_newlines_are_flattened_and_plain_words_unchanged():
    assert markdown("a\nb") == "a b"
    assert markdown("Home") == "Home"
    assert markdown("घर") == "घर"


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("<b>x</b>", "&lt;b&gt;x&lt;/b&gt;"),
        ("%{y}", "%&#123;y}"),
        ("A & B", "A &amp; B"),
        ("घर", "घर"),
    ],
)
def test_plotly_text_keeps_markup_and_templates_inert(payload, expected):
    assert plotly_text(payload) == expected


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_csv_cells_that_would_start_a_formula_are_quoted(start):
    assert csv_cell(start + "1+2") == "'" + start + "1+2"
    assert csv_cell("Home " + start) == "Home " + start


def test_one_implementation_per_kind():
    # the ui's plotly escape is the domain's (charts build figures outside the ui), not a copy
    assert plotly_text is charts.plotly_text
    assert escape.inert is markdown  # the old name, until every caller says markdown
