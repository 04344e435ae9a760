"""User and database text made inert before Streamlit renders it as Markdown.

Nicknames, names and consumer IDs reach captions, subheaders and list items. Escaping every Markdown
metacharacter (and ``:``, which Streamlit uses for ``:material/...:`` icons and ``:red[...]`` colours)
keeps them as plain text: no links, images, emphasis or colours.

>>> inert("<img src=x onerror=alert(1)>")
'\\\\<img src\\\\=x onerror\\\\=alert\\\\(1\\\\)\\\\>'
>>> inert("[x](javascript:alert(1))")
'\\\\[x\\\\]\\\\(javascript\\\\:alert\\\\(1\\\\)\\\\)'
"""

from __future__ import annotations

_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*_{}[]()<>#+-.!|~$:&=\"'^@%"})


def inert(text: object) -> str:
    """``text`` with every Markdown metacharacter backslash-escaped and newlines flattened."""
    return str(text).translate(_SPECIAL).replace("\n", " ")
