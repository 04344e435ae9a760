"""Read the pages' small Markdown tables (``lib.ui.widgets.draw_table``) back out of an AppTest tree.

A table is one ``st.markdown`` element: a header row, an alignment row (``:---`` left, ``---:`` right)
and one row per connection or total, every cell escaped with ``lib.ui.escape.markdown``. These helpers
split the rows on the unescaped ``|`` and undo the escaping, so a test reads each cell as the page shows it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from streamlit.testing.v1 import AppTest

_CELL = re.compile(r"(?:\\.|[^|\\])*")  # a cell: escaped characters or anything but | and \
_ESCAPE = re.compile(r"\\(.)")
_ALIGN = re.compile(r":?-{3,}:?")


@dataclass(frozen=True)
class Table:
    """One Markdown table as the page shows it: ``columns`` (headers), ``align`` ("left"/"right" each),
    ``rows`` (each a tuple of cell texts, unescaped) and ``markdown`` (the element's text as sent)."""

    columns: tuple[str, ...]
    align: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    markdown: str

    def column(self, name: str) -> list[str]:
        """The cells of the column headed ``name``, top to bottom."""
        index = self.columns.index(name)
        return [row[index] for row in self.rows]

    def cells(self) -> list[str]:
        """Every cell (not the headers), row by row."""
        return [cell for row in self.rows for cell in row]


def split_row(line: str) -> list[str]:
    """The raw (still escaped) cells of one ``| a | b |`` line.

    >>> split_row(r"| a\\|b | \\- 5 |")
    ['a\\\\|b', '\\\\- 5']
    """
    body = line.strip()
    assert body.startswith("|") and body.endswith(" |"), line
    body = body[1:-1]
    cells, position = [], 0
    while True:
        found = _CELL.match(body, position)
        assert found is not None
        cells.append(found.group(0).strip())
        position = found.end()
        if position >= len(body):
            return cells
        position += 1  # the | between two cells


def unescape(cell: str) -> str:
    """A cell as shown: backslash escapes undone, the invisible word joiners after ``:`` dropped.

    >>> unescape("\\\\=SUM\\\\(1\\\\) \\\\:\\u2060material/home\\\\:")
    '=SUM(1) :material/home:'
    """
    return _ESCAPE.sub(r"\1", cell).replace("\u2060", "")


def parse(text: str) -> Table | None:
    """The table of one Markdown element's text, or None when it is not a table."""
    lines = text.splitlines()
    if len(lines) < 2 or not lines[0].startswith("|"):
        return None
    marks = split_row(lines[1])
    if not all(_ALIGN.fullmatch(mark) for mark in marks):
        return None
    header = split_row(lines[0])
    rows = [split_row(line) for line in lines[2:]]
    assert all(len(row) == len(header) for row in rows), text
    return Table(
        columns=tuple(unescape(cell) for cell in header),
        align=tuple("right" if mark.endswith(":") and not mark.startswith(":") else "left" for mark in marks),
        rows=tuple(tuple(unescape(cell) for cell in row) for row in rows),
        markdown=text,
    )


def tables(at: AppTest) -> list[Table]:
    """Every Markdown table of the page's main area, in page order."""
    found = (parse(str(element.value)) for element in at.main.markdown)
    return [table for table in found if table is not None]
