"""Text from users and the database stays text in Markdown."""

import re

import pytest

from lib.ui.escape import inert

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
    escaped = inert(payload)
    # Every special character is preceded by a backslash ...
    unescaped_specials = [
        ch for i, ch in enumerate(escaped) if ch in SPECIAL and ch != "\\" and escaped[i - 1 : i] != "\\"
    ]
    assert unescaped_specials == []
    # ... and removing the escapes (what Markdown shows) gives back exactly the input.
    assert re.sub(r"\\(.)", r"\1", escaped) == payload


def test_newlines_are_flattened_and_plain_words_unchanged():
    assert inert("a\nb") == "a b"
    assert inert("Home") == "Home"
    assert inert("घर") == "घर"
