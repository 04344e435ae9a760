"""Every page rendered in Hindi shows no English word that should have been translated.

The text is collected from the whole AppTest element tree (titles, markdown, captions, labels, options,
help, metrics, table headers and text cells, chart titles, axis labels, tick labels and hover text).
Data the household typed or the DISCOM supplied (nicknames, names, consumer IDs, tariff codes, payment
modes) and a few units and format names are allowed; everything else in Latin letters is a leak.
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pyarrow as pa
import pytest
from google.protobuf.json_format import MessageToDict
from streamlit.testing.v1 import AppTest

from lib import demo, storage
from lib.ui import ledger_panels
from tests.overview_cards import card_values

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)
CAMP_ONLY_ON_SQLITE = pytest.mark.sqlite_only("camp mode runs on an SQLite file only (it refuses PostgreSQL)")
PAGES = [
    "dashboard.py",
    "pages/compare.py",
    "pages/ledger.py",
    "pages/manage_connection.py",
    pytest.param("pages/camp.py", marks=CAMP_ONLY_ON_SQLITE),
]

# Units, symbols and names that are the same in Hindi text (as the DISCOM app writes them).
ALLOWED = {"kWh", "kW", "CSV", "UPI", "DEMO", "English", "Language", "am", "pm", "NEFT", "IMPS"}
TEXT_KEYS = {"body", "label", "help", "placeholder", "delta", "options"}
WORD = re.compile(r"[A-Za-z][A-Za-z]+")


def _data_words(conn) -> set[str]:
    words: set[str] = set(ALLOWED)
    rows = conn.execute(
        "SELECT consumer_id, name, tariff_category, coalesce(division, ''), coalesce(meter_serial, '') "
        "FROM consumers UNION ALL SELECT consumer_id, nickname, '', '', '' FROM links "
        "UNION ALL SELECT consumer_id, coalesce(mode, ''), coalesce(reference, ''), '', '' FROM recharges"
    ).fetchall()
    for row in rows:
        for value in row:
            words.update(WORD.findall(str(value)))
    return words


def _plotly_texts(spec: str) -> list[str]:
    figure = json.loads(spec)
    found: list[str] = []

    def visit(node, key=""):
        if isinstance(node, dict):
            for k, v in node.items():
                if k in {"text", "title", "hovertemplate", "ticktext", "name", "label"} or key in {
                    "title",
                    "annotations",
                }:
                    visit(v, k)
                elif isinstance(v, dict | list):
                    visit(v, key)
        elif isinstance(node, list):
            for item in node:
                visit(item, key)
        elif isinstance(node, str) and key in {"text", "title", "hovertemplate", "ticktext", "name", "label"}:
            found.append(node)

    # Shapes carry internal names (never shown); everything else in the layout may be visible.
    visit({k: v for k, v in figure.get("layout", {}).items() if k != "shapes"})
    for trace in figure.get("data", []):
        visit(trace)
    return found


def _visible_texts(at: AppTest) -> list[str]:
    texts: list[str] = []

    def walk(node) -> None:
        proto = getattr(node, "proto", None)
        if proto is not None and node.type != "html":  # st.html holds our literal keypad script
            fields = MessageToDict(proto)
            for key in TEXT_KEYS & fields.keys():
                value = fields[key]
                texts.extend(value if isinstance(value, list) else [str(value)])
            if node.type == "plotly_chart":
                texts.extend(_plotly_texts(fields["spec"]))
            if node.type == "dataframe" and "arrowData" in fields:
                table = pa.ipc.open_stream(base64.b64decode(fields["arrowData"]["data"])).read_all()
                texts.extend(str(name) for name in table.schema.names if not str(name).startswith("__"))
                for column in table.columns:
                    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
                        texts.extend(str(v) for v in column.to_pylist() if v is not None)
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    return texts


def _leaks(texts: list[str], allowed: set[str]) -> list[tuple[str, str]]:
    leaks = []
    for text in texts:
        # Markdown's own syntax is not text: icons, and directives such as :small[...] and :gray[...].
        clean = re.sub(r"%\{[^}]*\}|<[^>]+>|:material/[a-z_]+:|:[a-z]+(?:-[a-z]+)?\[|https?://\S+", " ", text)
        for word in WORD.findall(clean):
            if word not in allowed:
                leaks.append((word, text[:80]))
    return leaks


@pytest.fixture
def demo_account(db_path):
    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn)
        account_id = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["account_id"]
        allowed = _data_words(conn)
    return account_id, allowed


@pytest.mark.parametrize("page", PAGES)
def test_signed_in_pages_in_hindi_show_no_english(page, demo_account, monkeypatch):
    account_id, allowed = demo_account
    if page == "pages/camp.py":
        monkeypatch.setenv("METERMITRA_CAMP", "1")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "hi"
    at.session_state["account_id"] = account_id
    at.run()
    if page != "dashboard.py":
        at.switch_page(page).run()
    assert not at.exception
    texts = _visible_texts(at)
    assert len(texts) > 10  # the collector sees the page
    assert _leaks(texts, allowed) == []


@pytest.mark.sqlite_only("camp mode runs on an SQLite file only (it refuses PostgreSQL)")
def test_sign_in_screen_in_hindi_shows_no_english(demo_account, monkeypatch):
    _, allowed = demo_account
    monkeypatch.setenv("METERMITRA_CAMP", "1")
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "hi"
    at.run()
    assert not at.exception
    assert _leaks(_visible_texts(at), allowed) == []


def test_the_collector_finds_a_leak():
    assert _leaks(["बैलेंस Balance"], set(ALLOWED)) == [("Balance", "बैलेंस Balance")]
    assert _leaks(["%{y:.1f} यूनिट<extra>घर</extra>"], set(ALLOWED)) == []
    assert _leaks([":small[:gray[बैलेंस Balance]]"], set(ALLOWED)) == [("Balance", ":small[:gray[बैलेंस Balance]]")]


def test_devanagari_digits_option_on_the_overview(demo_account):
    account_id, _ = demo_account
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "hi"
    at.session_state["account_id"] = account_id
    at.run()
    balances = card_values(at, "बैलेंस")
    assert len(balances) == 3 and not any(
        re.search("[०-९]", v) for v in balances + [m.value for m in at.metric]
    )
    at.toggle(key="digits_switch").set_value(True).run()
    assert not at.exception
    assert any(re.search("₹[०-९]", m.value) for m in at.metric)  # the month's household figures
    digits = str.maketrans("0123456789", "०१२३४५६७८९")
    assert card_values(at, "बैलेंस") == [v.translate(digits) for v in balances]  # and every card
    units = card_values(at, "कल की खपत")
    assert len(units) == 3 and all(re.search("[०-९]", v) and not re.search("[0-9]", v) for v in units)
    at.switch_page("pages/compare.py").run()  # the choice is kept across pages
    assert at.session_state["devanagari_digits"] is True


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_streamlits_english_enter_hint_is_hidden_in_hindi_only(db_path, lang):
    """ "Press Enter to submit form" is Streamlit's own English: hidden (by CSS) in Hindi, Enter still works."""
    from lib.ui.frame import HIDE_ENTER_HINT_CSS

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.run()
    assert not at.exception
    hidden = [h for h in at.html if h.value == HIDE_ENTER_HINT_CSS]
    assert len(hidden) == (1 if lang == "hi" else 0)
    assert at.get("form"), "the sign-in page has a form whose hint this hides"


def _axes_ticktexts(spec: str) -> dict[str, list[str]]:
    layout = json.loads(spec)["layout"]
    return {name: axis.get("ticktext") for name, axis in layout.items() if name[:5] in ("xaxis", "yaxis")}


def test_devanagari_digits_reach_every_charts_axis_ticks(demo_account):
    """Issue 14 §5: with १२३ chosen, the chart axes write their numbers as the page does (plotly writes
    Latin digits itself, so the ticks are given as text); switched off again, the cached Latin figure
    comes back (the choice is part of each cached figure's key)."""
    account_id, _ = demo_account
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "hi"
    at.session_state["account_id"] = account_id
    at.run()
    latin = _axes_ticktexts(at.get("plotly_chart")[0].proto.spec)
    assert latin["yaxis"] is None  # plotly's own ticks without the choice
    at.toggle(key="digits_switch").set_value(True).run()
    assert not at.exception

    def check(charts) -> None:
        for chart in charts:
            ticks = _axes_ticktexts(chart.proto.spec)
            assert ticks["yaxis"], chart.proto.id
            for name, texts in ticks.items():
                assert not any(re.search("[0-9]", text) for text in texts or []), (name, texts)

    check(at.get("plotly_chart"))  # the Overview's balance chart
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    at.session_state[ledger_panels.MONTHLY_SPEND_KEY] = True  # the reader opens the monthly spend
    at.run()
    assert not at.exception
    check(at.get("plotly_chart"))  # Compare and the monthly spend
    assert len(at.get("plotly_chart")) >= 2
    at.switch_page("pages/ledger.py").run()
    assert not at.exception
    check(at.get("plotly_chart"))  # the waterfall
    at.switch_page("dashboard.py").run()
    at.toggle(key="digits_switch").set_value(False).run()
    assert _axes_ticktexts(at.get("plotly_chart")[0].proto.spec)["yaxis"] is None


def test_hindi_charts_travel_as_utf8_not_escapes(demo_account):
    """Issue 15: a Hindi chart's labels reach the browser as UTF-8 (3 bytes a Devanagari letter), not as
    ``\\uXXXX`` escapes (6 bytes): plotly writes its JSON with orjson when it is installed (requirements.txt);
    its standard-library fallback escapes every non-ASCII character (the demo's year in Hindi with
    Devanagari digits: 34.0 kB escaped, 23.0 kB as UTF-8, BENCHMARKS.md section 7)."""
    account_id, _ = demo_account
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "hi"
    at.session_state["account_id"] = account_id
    at.run()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    for chart in at.get("plotly_chart"):
        spec = chart.proto.spec
        assert re.search("[\u0900-\u097f]", spec), chart.proto.id  # Hindi text, written as itself
        assert "\\u09" not in spec, chart.proto.id  # and never as an escape
