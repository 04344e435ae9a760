"""Text stays text (issue 13 item 13): names without control characters, joiners kept, no shortcodes."""

from __future__ import annotations

import re

import pytest

from lib import auth, importing, storage
from lib.text import plain_text
from lib.ui.escape import markdown

ZWJ = "\u200d"


@pytest.mark.parametrize("bad", ["\x00", "\x1b", "\u202e", "\u2066", "\ufeff", "\x7f"])
def test_control_and_bidi_characters_go(bad):
    assert plain_text(f"Ghar{bad}Patna") == "GharPatna"


def test_the_joiners_hindi_needs_stay():
    word = f"क्{ZWJ}ष"
    assert plain_text(word) == word
    assert auth.clean_nickname(f"  {word}  घर ") == f"{word} घर"
    assert auth.clean_nickname("a\u200cb") == "a\u200cb"


def test_imported_consumer_names_are_plain(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text(
        "consumer_id,name,registered_mobile\n"
        f"101,Asha\x00\x1b[2J\u202eXYZ,9876543210\n"
        f"102,राम{ZWJ}जी,9876543211\n",
        encoding="utf-8",
    )
    with storage.open_db(":memory:") as conn:
        importing.import_consumers(conn, path)
        names = {
            r["consumer_id"]: r["name"] for r in map(dict, conn.execute("SELECT * FROM consumers").mappings())
        }
    assert names == {"101": "Asha[2JXYZ", "102": f"राम{ZWJ}जी"}


@pytest.mark.parametrize("typed", [":material/home:", ":streamlit:", "x :material/warning: y", ":smile:"])
def test_escaped_text_never_forms_a_shortcode(typed):
    # Streamlit's renderer sees the text after Markdown parsing (backslash escapes are gone by then).
    parsed = markdown(typed).replace("\\", "")
    assert not re.search(r":[a-z_/]+:", parsed)
    assert parsed.replace("\u2060", "") == typed


def test_every_imported_consumer_text_is_plain_and_an_id_with_a_bidi_override_is_refused(tmp_path):
    """Issue 13 item 13: division, tariff category and meter serial lose controls and bidi overrides like
    the name; a consumer ID that would read as another (RLO, zero-width) is a bad row, not stored."""
    path = tmp_path / "c.csv"
    path.write_text(
        "consumer_id,name,registered_mobile,tariff_category,division,meter_serial\n"
        "101,Asha,9876543210,DS-II\x1b,Patna\u202e Urban\x00,SM\u2066123\n"
        "10\u202e2,Ravi,9876543211,DS-I,Gaya,SM9\n"
        "10\u200b3,Mina,9876543212,DS-I,Gaya,SM8\n",
        encoding="utf-8",
    )
    with storage.open_db(":memory:") as conn:
        report = importing.import_consumers(conn, path, skip_invalid=True, rejects_path=tmp_path / "rej.csv")
        rows = [dict(r) for r in conn.execute("SELECT * FROM consumers").mappings()]
    assert [(e.line, e.column) for e in report.errors] == [(3, "consumer_id"), (4, "consumer_id")]
    assert [(r["consumer_id"], r["tariff_category"], r["division"], r["meter_serial"]) for r in rows] == [
        ("101", "DS-II", "Patna Urban", "SM123")
    ]
