"""Read the Overview's connection cards out of an AppTest tree.

A card is Markdown (``lib.ui.overview.card_markdown``): the nickname as a ``###`` heading, the consumer ID
small and grey, then one ``label: **value** note`` line per figure, key-fact lines and the data-quality
line small and grey. These helpers find those lines in every Markdown element of the page.
"""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest

SMALL_GREY = re.compile(r":small\[:gray\[(.*?)\]\]")


def card_lines(at: AppTest) -> list[str]:
    """Every line of every Markdown element of the page's main area (trailing line-break spaces dropped)."""
    lines: list[str] = []
    for element in at.main.markdown:
        for line in str(element.value).splitlines():
            lines.append(line.removesuffix("  "))
    return lines


def card_titles(at: AppTest) -> list[str]:
    """The cards' headings in page order, as drawn (user text Markdown-escaped): a heading with the
    consumer ID small and grey on the next line."""
    lines = card_lines(at)
    return [
        line.removeprefix("### ")
        for line, below in zip(lines, lines[1:], strict=False)
        if line.startswith("### ") and below.startswith(":small[:gray[")
    ]


def card_values(at: AppTest, label: str) -> list[str]:
    """The value of the figure ``label`` on each card that shows it, in page order."""
    pattern = re.compile(re.escape(label) + r": \*\*(.+?)\*\*(?: |$)")
    return [found.group(1) for line in card_lines(at) if (found := pattern.match(line))]


def card_notes(at: AppTest, label: str) -> list[str]:
    """The note after the value of the figure ``label`` on each card that shows it ('' without one)."""
    pattern = re.compile(re.escape(label) + r": \*\*.+?\*\*(?: (.*))?$")
    return [found.group(1) or "" for line in card_lines(at) if (found := pattern.match(line))]


def small_grey(at: AppTest) -> list[str]:
    """Every small grey text of the cards (consumer IDs, the balance's day, data-quality lines)."""
    return [found for line in card_lines(at) for found in SMALL_GREY.findall(line)]
