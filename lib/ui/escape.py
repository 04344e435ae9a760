"""User and database text made inert before it is shown: one function per kind of output.

- :func:`markdown`: nicknames, names and consumer IDs in captions, subheaders, list items and catalog
  text with values in it. Every Markdown metacharacter is escaped (and ``:``, which Streamlit uses for
  ``:material/...:`` icons and ``:red[...]`` colours): no links, images, emphasis or colours.
- :func:`plotly_text`: names in plotly titles, legends and hover templates (the domain's
  :func:`lib.charts.plotly_text`, which the figures built outside the ui use too).
- :func:`csv_cell`: user text in a CSV download: a cell a spreadsheet would run as a formula is quoted.

>>> markdown("<img src=x onerror=alert(1)>")
'\\\\<img src\\\\=x onerror\\\\=alert\\\\(1\\\\)\\\\>'
>>> markdown("[x](javascript:alert(1))")
'\\\\[x\\\\]\\\\(javascript\\\\:\\u2060alert\\\\(1\\\\)\\\\)'
>>> plotly_text("<b>Home</b> %{y}")
'&lt;b&gt;Home&lt;/b&gt; %&#123;y}'
>>> csv_cell("=HYPERLINK(1)"), csv_cell("Home")
("'=HYPERLINK(1)", 'Home')
"""

from __future__ import annotations

import re

from lib.charts import plotly_text
from lib.text import csv_safe

__all__ = ["csv_cell", "markdown", "plotly_text"]

_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$:&=\"'^@%"})


# A colon that could open a shortcode (":name:" has no space after its first colon); "Linked: Home" stays as is.
_SHORTCODE_COLON = re.compile(r"\\:(?=\S)")


def markdown(text: object) -> str:
    """``text`` with every Markdown metacharacter backslash-escaped and newlines flattened.

    Streamlit turns ``:material/icon:``, ``:streamlit:`` and emoji shortcodes into images *after* the
    Markdown is parsed (a backslash before ``:`` is gone by then), so each ``:`` is also followed by a
    WORD JOINER (U+2060, invisible, no width): the shortcode never forms (issue 13 item 13).

    >>> ":material/home:" in markdown(":material/home:").replace("\\\\", "")
    False
    >>> markdown("Home\\rShop\\nFarm")  # a table cell never splits its row
    'Home Shop Farm'
    """
    # CommonMark ends a line at \r as at \n: both flattened, so a table cell never splits its row.
    flat = str(text).translate(_SPECIAL).replace("\r", " ").replace("\n", " ")
    return _SHORTCODE_COLON.sub("\\:\u2060", flat)


def csv_cell(text: object) -> str:
    """``text`` for a CSV cell: a leading ``= + - @``, tab or carriage return gets a ``'`` in front
    (:func:`lib.text.csv_safe`, the one guard, shared with ``export-daily``).

    Also for user text in every frame handed to ``st.dataframe``: Streamlit's own "Download as CSV"
    and clipboard copy of a table write its cells as they are (issue 13 item 13).
    """
    return csv_safe(text)


# The name this function had before (lib.markup.inert); kept until lib/ui/manage_connection.py moves to
# ``markdown``. Not a second implementation.
inert = markdown
