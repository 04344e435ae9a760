"""CSV downloads: one encoding (UTF-8 with a byte-order mark, so spreadsheet programs show Hindi) and one
button that never reruns the page.

User text goes into cells through :func:`lib.ui.escape.csv_cell` (the formula guard) before it gets here.

>>> import pandas as pd
>>> csv_bytes(pd.DataFrame({"नाम": ["घर"], "kWh": [1.5]}))[:3], csv_bytes(pd.DataFrame({"a": [1]})).decode("utf-8-sig")
(b'\\xef\\xbb\\xbf', 'a\\n1\\n')
"""

from __future__ import annotations

import pandas as pd
import streamlit as st


def csv_bytes(frame: pd.DataFrame) -> bytes:
    """``frame`` as CSV without its index, UTF-8 with BOM."""
    return frame.to_csv(index=False).encode("utf-8-sig")


def safe_file_part(text: str) -> str:
    """A piece of a file name from user text: letters, digits, ``-`` and ``_`` only, at most 40.

    >>> safe_file_part("DEMO-1001"), safe_file_part("../x y")
    ('DEMO-1001', '___x_y')
    """
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)[:40] or "connection"


def csv_download(label: str, data: bytes, *, file_name: str, key: str) -> None:
    """The download button of a CSV: the click does not rerun the page (and redraw every chart)."""
    st.download_button(
        label,
        data=data,
        file_name=file_name,
        mime="text/csv",
        key=key,
        on_click="ignore",
        icon=":material/download:",
    )
