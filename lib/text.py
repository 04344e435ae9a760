"""Text that stays text (issue 13 item 13): names and nicknames as they are stored.

Control and format characters go (NUL, ESC, the right-to-left override and the other bidirectional
controls that can make "Ghar" read as something else, U+FEFF, ...), whitespace is collapsed; the two
joiners Indic scripts need stay: U+200D ZERO WIDTH JOINER (क्‍ष, half forms) and U+200C ZERO WIDTH
NON-JOINER. Source: Unicode general categories Cc/Cf/Co/Cs/Cn; Unicode Standard ch. 12.2 (Devanagari
joiners); Unicode TR #9 (bidi controls).

>>> plain_text("Gh\\x00ar\\x1b[31m \\u202eKCAB")
'Ghar[31m KCAB'
>>> plain_text("घर\\u200dका  मीटर") == "घर\\u200dका मीटर"
True
>>> plain_text("   ") is None
True

:func:`csv_safe` is the CSV formula guard every file the project writes uses for text cells (the
dashboard's downloads and any user text in its data grids, ``st.dataframe``: the ledger's and the camp's,
through :func:`lib.ui.escape.csv_cell`; ``export-daily``): a cell that a spreadsheet would run as a formula
gets a ``'`` in front (OWASP "CSV Injection"). The small tables (Overview, Compare) are Markdown with no
download: a nickname shows there as typed.

>>> csv_safe("=HYPERLINK(1)"), csv_safe("@SUM(A1)"), csv_safe("घर")
("'=HYPERLINK(1)", "'@SUM(A1)", 'घर')
"""

from __future__ import annotations

import unicodedata

__all__ = ["FORMULA_START", "KEPT_FORMAT", "csv_safe", "plain_text"]

# Format characters that carry meaning in Hindi text and are kept.
KEPT_FORMAT = frozenset({"\u200c", "\u200d"})
# What starts a formula in Excel, LibreOffice and Google Sheets (OWASP "CSV Injection").
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def plain_text(text: object, max_chars: int | None = None) -> str | None:
    """``text`` without control/format characters (joiners kept), whitespace collapsed, at most
    ``max_chars`` characters; None when nothing is left or ``text`` is not a string."""
    if not isinstance(text, str):
        return None
    if max_chars is not None:
        text = text[: max_chars * 4]
    kept = "".join(
        ch
        if ch in KEPT_FORMAT or unicodedata.category(ch)[0] != "C"
        else ("" if ch != "\n" and ch != "\t" else " ")
        for ch in text
    )
    value = " ".join(kept.split())
    if max_chars is not None:
        value = value[:max_chars].strip()
    return value or None


def csv_safe(text: object) -> str:
    """``text`` for a CSV cell: a leading ``= + - @``, tab or carriage return gets a ``'`` in front."""
    text = str(text)
    return "'" + text if text.startswith(FORMULA_START) else text
