"""AppTest of the Overview (dashboard.py) with 1, 3 (the demo household) and 6 connections, in both languages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from lib import alerts, clock, demo, i18n, ledger, storage
from lib.clock import IST
from lib.ui import ledger as ledger_page
from tests.factories import NICKNAMES, add_consumer, add_readings, household
from tests.markdown_tables import Table, parse, tables
from tests.overview_cards import card_lines, card_notes, card_titles, card_values, small_grey

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)
NOW = dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC)  # the suite's fixed clock


def app(account_id: int | None, lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = lang
    return at.run()


def metric_values(at: AppTest, label: str) -> list[str]:
    """A card figure's values (the cards are Markdown since issue 15, tests/overview_cards.py)."""
    return card_values(at, label)


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("connections", [1, 3, 6])
def test_overview_shows_a_card_per_connection(db_path, connections, lang):
    account_id = household(db_path, connections)
    at = app(account_id, lang)
    assert not at.exception
    assert at.title[0].value == i18n.t("overview_title", lang)
    with storage.open_db(db_path) as conn:
        nicknames = storage.accounts.connection_details(conn, account_id)["nickname"].tolist()
    titles = [h.replace("\\", "") for h in card_titles(at)]
    assert sorted(titles) == sorted(nicknames)
    for label in (
        "overview_balance",
        "overview_days_left",
        "overview_yesterday_units",
        "overview_last_recharge",
    ):
        assert len(metric_values(at, i18n.t(label, lang))) == connections
    assert i18n.t("overview_month_title", lang) in [h.value for h in at.subheader]
    assert not [e for e in at.error if e.value == i18n.t("overview_error", lang)]


def test_cards_run_out_first_on_top_with_warnings(db_path):
    account_id = household(db_path, 6)
    at = app(account_id, "en")
    cards = [h.replace("\\", "") for h in card_titles(at)]
    assert sorted(cards) == sorted(NICKNAMES)
    # Pump is cut (₹-5), Shop is low; Village home has no readings: last.
    assert cards[:2] == ["Pump", "Shop"]
    assert cards[-1] == "Village home"
    errors = [e.value for e in at.error]
    assert any(e.startswith("Disconnected (balance exhausted) since 22 Nov") for e in errors)
    # Shop (NDS-II, 2 kW, about 9.3 kWh a day): the tariff takes about ₹88 a day, so its ₹120 (before
    # today's deduction) lasts about 1.3 days. (Balance ÷ the fixture's ₹58 a day said "about 2.1".)
    assert any(w.value.startswith("Low balance: about 1.3") for w in at.warning)
    assert i18n.t("overview_no_readings", "en") in [i.value for i in at.info]
    assert at.error[0].value == i18n.t("overview_runs_out_first_cut", "en", nickname="Pump")


def _cards(at: AppTest) -> list[list]:
    """The elements of each card (a bordered container whose first element is the card's heading)."""
    found: list[list] = []

    def walk(node) -> None:
        children = list((getattr(node, "children", None) or {}).values())
        first = children[0] if children else None
        if first is not None and first.type == "markdown" and str(first.value).startswith("### "):
            found.append(children)
            return
        for child in children:
            walk(child)

    walk(at.main)
    return found


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_card_is_one_markdown_block_or_two_around_its_warning(db_path, lang):
    """Issue 15: a card was ~13 Streamlit elements (a metric per figure, captions, key-fact lines), which made
    a 12-connection Overview mostly Streamlit's own element calls. Now one Markdown block, or the heading
    block, the warnings and the figures' block when a warning applies (in that order, as before)."""
    account_id = household(db_path, 6)
    at = app(account_id, lang)
    assert not at.exception
    cards = _cards(at)
    assert len(cards) == 6 and len(at.main.metric) == 2  # the month's two household figures only
    shapes = [[element.type for element in card] for card in cards]
    # Pump cut, Shop low, four without a warning but Village home (no readings: an info box).
    assert shapes[:2] == [["markdown", "error", "markdown"], ["markdown", "warning", "markdown"]]
    assert shapes[-1] == ["markdown", "info", "markdown"]
    assert shapes[2:-1] == [["markdown"]] * 3
    for card in cards:
        text = "\n".join(str(element.value) for element in card if element.type == "markdown")
        for label in (
            "overview_balance",
            "overview_days_left",
            "overview_yesterday_units",
            "overview_last_recharge",
        ):
            assert text.count(i18n.t(label, lang) + ": **") == 1, (label, text)


def test_demo_household_numbers_in_hindi(db_path):
    account_id = household(db_path, 3)
    with storage.open_db(db_path) as conn:
        balances = storage.readings.daily_frame(conn, account_id, None, "2026-11-25", "2026-11-25")
    at = app(account_id, "hi")
    shown = metric_values(at, "बैलेंस")
    expected = {i18n.format_money(v, "hi") for v in balances["closing_balance_inr"]}
    assert set(shown) == expected
    household_units = next(m for m in at.metric if m.label == "इस महीने घर की कुल खपत")
    assert household_units.value.endswith(" यूनिट")
    assert household_units.proto.delta.lstrip("+-").endswith(" यूनिट")
    chart = at.get("plotly_chart")[0]
    assert (
        '"text":"पिछले' not in chart.proto.spec
    )  # the title is a Streamlit subheader, the chart's own is Hindi
    assert "बैलेंस (₹)" in json.dumps(json.loads(chart.proto.spec), ensure_ascii=False)  # either JSON writer


def test_no_connection_points_to_add_another_meter(db_path):
    with storage.open_db(db_path) as conn:
        add_consumer(conn, "999", is_demo=1)  # not empty, so the first start seeds no demo
        account_id = storage.accounts.create_account(conn, "+919876500000")
    at = app(account_id, "en")
    assert not at.exception
    assert i18n.t("overview_no_connections", "en") in [info.value for info in at.info]
    links = [(p.proto.page, p.proto.label) for p in at.get("page_link")]
    assert ("manage_connection", "Add Another Meter") in links


def test_changed_registered_mobile_hides_the_card_and_says_why(db_path):
    account_id = household(db_path, 1)
    with storage.open_db(db_path) as conn:
        add_consumer(conn, "1000000001", mobile="+919800000002", is_demo=1)
    at = app(account_id, "en")
    assert not at.exception
    assert at.warning[0].value.startswith("The registered mobile number of Home (1000000001) has changed")
    assert not metric_values(at, "Balance")


def test_a_new_import_shows_at_once(db_path):
    account_id = household(db_path, 1)
    at = app(account_id, "en")
    before = metric_values(at, "Balance")
    with storage.open_db(db_path) as conn:
        # A recharge of ₹700 at 12:00 IST today and one more reading.
        add_readings(
            conn,
            "1000000001",
            dt.datetime(2026, 11, 25, 12, 0, tzinfo=IST),
            [0.0],
            balance=0.0,
            recharges={0: 700.0},
        )
    at.run()
    after = metric_values(at, "Balance")
    assert after != before and after == [i18n.format_money(700.0, "en")]
    assert metric_values(at, "Last recharge") == ["₹700"]
    assert card_notes(at, "Last recharge") == [
        i18n.t("overview_recharge_on", "en", date="25 Nov 2026, 11:59 am")
    ]


def test_nicknames_are_shown_as_text_not_markup(db_path):
    with storage.open_db(db_path) as conn:
        add_consumer(conn, "555", is_demo=1)
        account_id = storage.accounts.create_account(conn, "+919876500000")
        storage.accounts.insert_link(conn, account_id, "555", "[click](http://evil.example) **x**")
        add_readings(conn, "555", dt.datetime(2026, 11, 23, tzinfo=IST), [0.5] * 96, balance=500.0)
    at = app(account_id, "en")
    assert not at.exception
    header = card_titles(at)[0]
    assert "\\[click\\]\\(http\\:" in header and "\\*\\*x\\*\\*" in header


def test_an_old_balance_says_how_old_it_is(db_path):
    with storage.open_db(db_path) as conn:
        add_consumer(conn, "556", is_demo=1)
        account_id = storage.accounts.create_account(conn, "+919876500000")
        storage.accounts.insert_link(conn, account_id, "556", "Home")
        add_readings(conn, "556", dt.datetime(2026, 11, 9, tzinfo=IST), [0.5] * 96, balance=500.0)
    at = app(account_id, "en")
    assert not at.exception
    assert "Balance as of 10 Nov 2026" in card_lines(at)  # body text on its own line, not small or grey
    assert card_notes(at, "Balance") == [""]  # not said twice
    assert metric_values(at, "Units yesterday") == ["not known yet"]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_tables_put_rupees_first_and_the_connection_left(db_path, lang):
    account_id = household(db_path, 3)
    at = app(account_id, lang)
    assert not at.exception
    month, cost = tables(at)  # Markdown tables (lib.ui.widgets.draw_table): no Arrow element on the page
    connection = i18n.t("overview_col_connection", lang)
    assert list(month.columns) == [
        connection,
        i18n.t("overview_col_spend_this", lang),
        i18n.t("overview_col_spend_last", lang),
        i18n.t("overview_col_units_this", lang),
        i18n.t("overview_col_units_last", lang),
    ]
    assert list(cost.columns[:2]) == [connection, i18n.t("overview_col_estimate", lang)]
    assert month.align == ("left", "right", "right", "right", "right")
    category = cost.columns.index(i18n.t("overview_col_category", lang))
    assert [a for i, a in enumerate(cost.align) if i not in (0, category)] == ["right"] * (
        len(cost.columns) - 2
    )
    assert cost.align[0] == cost.align[category] == "left"
    assert not [d for d in at.dataframe if connection in d.value.columns]


def _demo_with_an_unexplained_deduction(db_path: Path) -> int:
    """The demo household, with ₹75 more taken from Home's metered balance from 20 Nov 23:30 IST on."""
    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn, days=60)
        account_id = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["account_id"]
        with storage.transaction(conn):
            conn.execute(
                "UPDATE readings SET balance_inr = balance_inr - 75 "
                "WHERE consumer_id = 'DEMO-1001' AND ts >= '2026-11-20T18:00:00Z' AND balance_inr IS NOT NULL"
            )
            storage.readings.refresh_daily(conn, "DEMO-1001")
            storage.meta.bump_data_version(conn)
    return account_id


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_overview_lists_unexplained_deductions(db_path, lang):
    account_id = _demo_with_an_unexplained_deduction(db_path)
    at = app(account_id, lang)
    assert not at.exception
    assert i18n.t("ledger_overview_title", lang) in [s.value for s in at.subheader]
    listed = " ".join(m.value for m in at.markdown)
    assert "Home" in listed and "75" in listed


def test_overview_without_unexplained_deductions_shows_no_such_list(db_path):
    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn, days=60)
        account_id = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["account_id"]
    at = app(account_id, "en")
    assert not at.exception
    assert i18n.t("ledger_overview_title", "en") not in [s.value for s in at.subheader]


def _spend_charts(at: AppTest) -> list:
    return [c for c in at.get("plotly_chart") if c.proto.id and "ledger_monthly_spend" in c.proto.id]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_compare_shows_monthly_spend_split_into_parts_when_opened(db_path, monkeypatch, lang):
    """Compare's monthly spend by parts is a folded expander (issue 15): folded it works nothing out and
    sends no chart; opened (a rerun of the Compare fragment alone) it draws the parts; folded again, gone."""
    from lib.ui import ledger_panels
    from tests.fragments import fragment_rerun

    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn, days=60)
        account_id = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["account_id"]
    built: list[str] = []
    original = ledger_panels.monthly_spend_figure

    def counted(parts, lang, **kwargs):
        built.append(lang)
        return original(parts, lang, **kwargs)

    monkeypatch.setattr(ledger_panels, "monthly_spend_figure", counted)
    at = app(account_id, lang)
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    (expander,) = [e for e in at.expander if e.label == i18n.t("ledger_compare_title", lang)]
    assert not expander.proto.expanded and expander.children == {}
    assert _spend_charts(at) == [] and built == []  # folded: nothing worked out, no chart sent

    at.session_state[ledger_panels.MONTHLY_SPEND_KEY] = True  # the reader opens it (its widget state)
    fragment_rerun(at)
    assert not at.exception
    (spend,) = _spend_charts(at)
    names = {trace["name"] for trace in json.loads(spend.proto.spec)["data"]}
    parts = ("ledger_part_energy", "ledger_part_fixed", "ledger_part_duty")
    assert {i18n.t(key, lang) for key in parts} <= names
    assert i18n.t("ledger_compare_caption", lang) in [c.value for c in at.caption]
    assert built == [lang]

    at.session_state[ledger_panels.MONTHLY_SPEND_KEY] = False
    fragment_rerun(at)
    assert not at.exception and _spend_charts(at) == [] and built == [lang]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_compare_monthly_spend_says_when_there_is_nothing(db_path, monkeypatch, lang):
    """Opened when the ledger has no month to show (no parts), the expander says so instead of a chart."""
    from lib.ui import ledger_panels, loaders
    from tests.fragments import fragment_rerun

    with storage.open_db(db_path) as conn:
        demo.seed_demo(conn, days=60)
        account_id = storage.accounts.account_by_mobile(conn, demo.DEMO_ACCOUNT_MOBILE)["account_id"]
    original = loaders.household_frame

    def without_parts(ctx, read, keys, *args):
        frame = original(ctx, read, keys, *args)
        return frame.iloc[0:0] if read is loaders.connection_month_parts else frame

    monkeypatch.setattr(loaders, "household_frame", without_parts)
    at = app(account_id, lang)
    at.switch_page("pages/compare.py").run()
    at.session_state[ledger_panels.MONTHLY_SPEND_KEY] = True
    fragment_rerun(at)
    assert not at.exception
    assert _spend_charts(at) == []
    months = i18n.format_number(ledger_panels.COMPARE_MONTHS, lang, decimals=0)
    assert i18n.t("ledger_compare_none", lang, months=months) in [c.value for c in at.caption]


def _days_numbers(texts: list[str]) -> list[str]:
    return sorted(m.group(1) for t in texts for m in re.finditer(r"about ([\d.]+) days", t))


@pytest.mark.parametrize(
    ("min_days_left", "min_balance_inr"),
    [(0.0, 0.0), (3.0, 100.0), (60.0, 100_000.0)],
)
def test_card_and_banner_agree_on_which_connection_is_low(db_path, min_days_left, min_balance_inr):
    """One answer (alerts.is_low under the account's rule) for the Overview cards and the banner."""
    account_id = household(db_path, 3)
    with storage.open_db(db_path) as conn:
        alerts.set_alert_rule(conn, account_id, min_days_left=min_days_left, min_balance_inr=min_balance_inr)
        low = alerts.account_low_balances(conn, account_id)
    at = app(account_id, "en")
    assert not at.exception
    banner = [w.value for w in at.warning if w.icon == ":material/warning:"]
    cards = [
        w.value for w in at.warning if w.value.startswith("Low balance:") and w.icon != ":material/warning:"
    ]
    exhausted = [e.value for e in at.error if e.value == i18n.t("overview_exhausted", "en")]
    if not low:
        assert banner == [] and cards == [] and exhausted == []
        return
    lines = banner[0].split("  \n")
    assert len(banner) == 1 and len(lines) == len(low)
    assert len(cards) + len(exhausted) == len(low)
    # the same days left on the card as in the banner, connection by connection
    assert _days_numbers(cards) == _days_numbers(lines)
    assert len(_days_numbers(cards)) == sum(a.reason == "days" for a in low)
    if min_days_left == 60.0:
        assert len(low) == 3  # a rule the fixed 3 days of the old cards could not follow


@pytest.mark.parametrize("page", ["dashboard.py", "pages/compare.py", "pages/ledger.py"])
def test_a_database_failure_shows_a_message_not_a_traceback(db_path, monkeypatch, page):
    account_id = household(db_path, 1)

    def broken(*args, **kwargs):
        raise storage.StorageError("disk I/O error")

    monkeypatch.setattr(storage.accounts, "connection_details", broken)
    at = app(account_id, "en")
    if page != "dashboard.py":
        at.switch_page(page).run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert {i18n.t("overview_error", "en"), i18n.t("ledger_error_load", "en")} & set(errors)


# --- the data-quality line (issue 11 section 3) ----------------------------------------------------


def _demo_with_meter_events(db_path: Path) -> tuple[int, str]:
    with storage.open_db(db_path) as conn:
        account_id = demo.seed_demo(conn, now=NOW, days=120)["account_id"]
        first = str(storage.accounts.connection_details(conn, account_id)["consumer_id"].iloc[0])
        with storage.transaction(conn):
            storage.meter_events.insert_meter_events(
                conn,
                [
                    {"consumer_id": first, "ts": "2026-11-20T06:30:00Z", "kind": "replacement", "line": 26},
                    {"consumer_id": first, "ts": "2026-11-21T08:30:00Z", "kind": "glitch", "line": 80},
                ],
            )
            storage.meta.bump_data_version(conn)
    return account_id, first


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_each_card_has_a_data_quality_line_with_the_meter_events(db_path, lang):
    account_id, _first = _demo_with_meter_events(db_path)
    at = app(account_id, lang)
    assert not at.exception
    head = i18n.t("quality_line", lang, parts="")
    lines = [c for c in small_grey(at) if c.startswith(head)]
    assert len(lines) == 3  # one per demo connection
    interval = i18n.t("quality_interval", lang, minutes="30")
    assert all(interval in line for line in lines)
    events = [line for line in lines if i18n.t("quality_replacements", lang, count="1") in line]
    assert len(events) == 1 and i18n.t("quality_glitches", lang, count="1") in events[0]


ROOFTOP = "204600001"  # a net-metered connection (rooftop solar): add_rooftop


def add_rooftop(conn, account_id: int, nickname: str) -> None:
    """Link the net-metered :data:`ROOFTOP` as ``nickname``: 22-24 Nov, each half hour 0.25 kWh drawn and
    0.5 kWh sent (this month: 36 kWh drawn, 72 sent, net -36)."""
    start = dt.datetime(2026, 11, 22, tzinfo=clock.IST)
    with storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn,
            [{"consumer_id": ROOFTOP, "name": "Roof", "registered_mobile": "+919812300000", "is_demo": 1}],
        )
        storage.accounts.insert_link(conn, account_id, ROOFTOP, nickname)
        rows = [
            (ROOFTOP, clock.to_ts(start + dt.timedelta(minutes=30 * i)), 0.25, None, 0.5)
            for i in range(3 * 48)
        ]
        storage.readings.insert_readings(conn, rows)
        storage.readings.refresh_daily(conn, ROOFTOP)
        storage.meta.bump_data_version(conn)


def net_table(at: AppTest, lang: str) -> Table:
    """The page's import / export / net table (lib.ui.net_metering, a Markdown table)."""
    (table,) = [table for table in tables(at) if i18n.t("net_col_net", lang) in table.columns]
    return table


def test_a_net_metered_connection_shows_drawn_sent_and_net_for_the_month(db_path):
    with storage.open_db(db_path) as conn:
        account_id = demo.seed_demo(conn, now=NOW, days=120)["account_id"]
        add_rooftop(conn, account_id, "Rooftop")
    for lang in ("en", "hi"):
        at = app(account_id, lang)
        assert not at.exception
        assert i18n.t("net_overview_title", lang) in [h.value for h in at.subheader]
        table = net_table(at, lang)
        assert table.columns == (
            i18n.t("net_col_connection", lang),
            i18n.t("net_col_import", lang),
            i18n.t("net_col_export", lang),
            i18n.t("net_col_net", lang),
        )
        assert table.align == ("left", "right", "right", "right")  # the connection left, the kWh right
        assert table.rows == (
            (
                "Rooftop",
                i18n.format_number(36.0, lang, decimals=1),
                i18n.format_number(72.0, lang, decimals=1),
                i18n.format_number(-36.0, lang, decimals=1),
            ),
        )
        assert not at.dataframe  # no Arrow element: the browser need not load Streamlit's Arrow code


def test_grids_guard_formula_nicknames_and_markdown_tables_show_them_as_typed(db_path):
    """Issue 13 item 13: Streamlit's own "Download as CSV" (and copy) of an st.dataframe writes its cells
    as they are, so user text in a data grid goes through the formula guard (lib.ui.escape.csv_cell).
    The Overview and Compare have no grid: their tables (month, cost, shares, peaks and, for a net-metered
    household, import / export / net) are Markdown with no download, where a nickname shows as typed, made
    inert by the Markdown escaping only (not quoted twice). The grids that stay (the ledger's day table and
    unexplained deductions) hold no user text: no cell of theirs is a raw formula, and the ledger's CSV
    download (where its nickname goes) guards it."""
    formulas = {"DEMO-1001": '=HYPERLINK("http://x","Ghar")', "DEMO-1002": "@SUM(A1)", "DEMO-1003": "-2+3"}
    formulas[ROOFTOP] = "+1+1"  # a net-metered one, for the import/export/net table
    with storage.open_db(db_path) as conn:
        account_id = demo.seed_demo(conn, now=NOW, days=120)["account_id"]
        for consumer_id, nickname in formulas.items():
            if consumer_id != ROOFTOP:
                assert storage.accounts.rename_link(conn, account_id, consumer_id, nickname)
        add_rooftop(conn, account_id, formulas[ROOFTOP])
    at = app(account_id, "en")
    assert not at.exception
    shown = {"overview": tables(at)}
    grids = {"overview": list(at.dataframe)}
    at.switch_page("pages/compare.py").run()
    at.radio(key="compare_metric").set_value("units").run()  # Compare's net-metering table is for units
    assert not at.exception
    shown["compare"] = tables(at)
    grids["compare"] = list(at.dataframe)
    assert grids == {"overview": [], "compare": []}  # no Arrow element on either page
    month, net, cost = shown["overview"]
    compare_net, shares, peaks = shown["compare"]  # net energy first under units
    for table in (month, cost, shares, peaks):
        names = set(table.column(table.columns[0]))
        assert {formulas[cid] for cid in ("DEMO-1001", "DEMO-1002", "DEMO-1003")} <= names, table.columns
        assert not any(name.startswith("'") for name in names)  # as typed, not quoted
    for table in (net, compare_net):  # the one net-metered connection, as typed
        assert table.columns[-1] == i18n.t("net_col_net", "en")
        assert table.column(table.columns[0]) == [formulas[ROOFTOP]]
    at.switch_page("pages/ledger.py").run()
    for consumer_id in ("DEMO-1001", "DEMO-1002", "DEMO-1003"):  # the rooftop has no tariff: no ledger
        at.selectbox(key="ledger_connection").select(consumer_id).run()
        assert not at.exception
        cells = {str(cell) for grid in at.dataframe for cell in grid.value.to_numpy().ravel()}
        assert cells, consumer_id  # the ledger's grids are drawn
        assert not cells & set(formulas.values()), consumer_id  # no raw formula in a grid
        assert not [cell for cell in cells if formulas[consumer_id] in cell], consumer_id
    rows = pd.DataFrame({column: [0.0] for column in ledger.LEDGER_COLUMNS})
    rows["day"], rows["status"] = pd.to_datetime(["2026-11-24"]), "ok"
    data = ledger_page.ledger_csv(
        rows, "en", consumer_id=ROOFTOP, nickname=formulas[ROOFTOP], tariff_category="DS-I"
    )
    (record,) = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert record[i18n.t("ledger_col_nickname", "en")] == "'" + formulas[ROOFTOP]


def test_hostile_nicknames_are_inert_text_in_every_small_table(db_path):
    """A nickname with Markdown, HTML, a table's ``|`` and a Streamlit shortcode shows as typed in the
    month, cost, shares and peak tables and the net-metering table (lib.ui.widgets.draw_table): one cell,
    nothing rendered."""
    hostile = {
        "DEMO-1001": "Ghar | *bold* <script>alert(1)</script>",
        "DEMO-1002": ":material/home: [x](javascript:alert(1))",
        "DEMO-1003": "=SUM(1) _u_ `code` # ~~s~~",
        ROOFTOP: "Chhat | **sun** <img src=x onerror=alert(1)> :material/solar_power: ~~k~~",
    }
    with storage.open_db(db_path) as conn:
        account_id = demo.seed_demo(conn, now=NOW, days=120)["account_id"]
        for consumer_id, nickname in hostile.items():
            if consumer_id != ROOFTOP:
                assert storage.accounts.rename_link(conn, account_id, consumer_id, nickname)
        add_rooftop(conn, account_id, hostile[ROOFTOP])
    at = app(account_id, "en")
    assert not at.exception
    drawn = tables(at)
    elements = [e for e in at.main.markdown if str(e.value).startswith("| ")]
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    drawn += tables(at)
    elements += [e for e in at.main.markdown if str(e.value).startswith("| ")]
    at.radio(key="compare_metric").set_value("units").run()  # the net-metering table is for units
    assert not at.exception
    net = i18n.t("net_col_net", "en")
    drawn += [table for table in tables(at) if net in table.columns]
    elements += [e for e in at.main.markdown if net in getattr(parse(str(e.value)), "columns", ())]
    # Overview: month, net, cost; Compare (balance): shares, peaks; Compare (units): net
    assert [net in table.columns for table in drawn] == [False, True, False, False, False, True]
    raws = ("<script>", "*bold*", ":material/home:", "](", "_u_", "`code`", "~~s~~", " | *")
    raws += ("**sun**", "<img src=x", ":material/solar_power:", "~~k~~", " | **")
    demo_names = {hostile[cid] for cid in hostile if cid != ROOFTOP}
    for table in drawn:
        names = set(table.column(table.columns[0]))
        assert ({hostile[ROOFTOP]} if net in table.columns else demo_names) <= names, (
            table.columns
        )  # one cell
        for raw in raws:
            assert raw not in table.markdown, (raw, table.columns)
    assert len(elements) == len(drawn) and not any(e.proto.allow_html for e in elements)


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_balance_that_outlasts_the_forecast_says_more_than_a_year(db_path, lang):
    """Issue 14 section 5: the demo's village home (DS-I, inside its free units) never runs out within the
    forecast's horizon: its card says "more than a year", not "no deduction lately" or a dash."""
    with storage.open_db(db_path) as conn:
        account_id = demo.seed_demo(conn, now=NOW, days=120)["account_id"]
    at = app(account_id, lang)
    assert not at.exception
    days = metric_values(at, i18n.t("overview_days_left", lang))
    assert days.count(i18n.t("overview_days_beyond_year", lang)) == 1
    assert i18n.t("overview_lasts_beyond_year", lang) in card_lines(at)
    assert "–" not in days


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_balance_chart_captions_and_key_facts_in_body_text(db_path, lang):
    """Issue 14 §4: the dashed forecast and the recharge markers are explained under the chart; the
    run-out date and the daily deduction are body text, not grey captions; the first to run out is bold."""
    with storage.open_db(db_path) as conn:
        account_id = demo.seed_demo(conn, now=NOW, days=120)["account_id"]
    at = app(account_id, lang)
    assert not at.exception
    captions = [c.value for c in at.caption]
    legend = next(c for c in captions if i18n.t("chart_caption_forecast", lang) in c)
    assert i18n.t("chart_caption_recharge", lang) in legend
    body = card_lines(at)
    assert any(m.startswith("**" + i18n.t("overview_run_out_on", lang, date="")[:5]) for m in body)
    head = i18n.t("overview_burn", lang, week="", month="")[:8]
    assert any(m.startswith(head) for m in body) and not any(c.startswith(head) for c in captions)
    first = i18n.t("overview_runs_out_first", lang, nickname="", days="", date="")[:12]
    (headline,) = [e.value for e in [*at.info, *at.warning] if first in e.value]
    assert headline.startswith("**") and headline.endswith("**")


def test_monthly_spend_on_a_phone_is_one_panel_per_row_with_the_legend_below():
    """Issue 14 §4: at 390 px the three panels' titles ran into each other: one panel per row."""
    import pandas as pd

    from lib.ui.ledger_panels import monthly_spend_figure

    months = pd.to_datetime(["2026-10-01", "2026-11-01"])
    parts = pd.DataFrame(
        {
            "consumer_id": [c for c in ("1", "2", "3") for _ in months],
            "nickname": [n for n in ("Home", "Shop", "Village home") for _ in months],
            "month": list(months) * 3,
            "energy_inr": 300.0,
            "fixed_inr": 160.0,
            "duty_inr": 27.6,
            "rebate_inr": 12.5,
            "arrears_inr": 0.0,
        }
    )
    phone = monthly_spend_figure(parts, "hi", columns=1)
    layout = phone.layout
    domains = [layout[f"yaxis{i if i > 1 else ''}"].domain for i in (1, 2, 3)]
    assert all(layout[f"xaxis{i if i > 1 else ''}"].domain == (0.0, 1.0) for i in (1, 2, 3))
    assert domains[0][0] > domains[1][1] and domains[1][0] > domains[2][1]  # stacked, not overlapping
    assert [a.text for a in layout.annotations] == ["Home", "Shop", "Village home"]
    assert len({round(a.y, 3) for a in layout.annotations}) == 3
    assert layout.legend.orientation == "h" and layout.legend.yref == "container"
    assert phone.data[0].x == ("अक्टू॰ 2026", "नव॰")
    desktop = monthly_spend_figure(parts, "en")
    assert len({a.y for a in desktop.layout.annotations}) == 1  # side by side on a laptop


def _make_subplots_monthly_spend(parts, lang, columns=None):
    """The monthly-spend figure as it was built before issue 15 (make_subplots, a trace and an update
    call at a time): the reference the figure built as data must draw the same."""
    import math

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from lib import charts
    from lib.ui.ledger_panels import PART_KEYS, SPEND_COLOURS

    ids = list(dict.fromkeys(parts["consumer_id"].astype(str)))
    names = dict(zip(parts["consumer_id"].astype(str), parts["nickname"], strict=False))
    cols = max(1, min(columns or len(ids), len(ids)))
    rows = max(1, math.ceil(len(ids) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[str(names[c]) for c in ids],
        vertical_spacing=min(0.3 / rows, 0.12) if rows > 1 else 0.1,
        horizontal_spacing=0.04,
    )
    stacked = []
    for index, cid in enumerate(ids):
        own = parts[parts["consumer_id"].astype(str) == cid]
        months = [
            i18n.format_date(m.date(), lang, pattern="MMM y" if (i == 0 or m.month == 1) else "MMM")
            for i, m in enumerate(own["month"])
        ]
        for column, colour in SPEND_COLOURS.items():
            values = ((-1 if column == "rebate_inr" else 1) * own[column]).round(2).tolist()
            fig.add_trace(
                go.Bar(
                    x=months,
                    y=values,
                    name=i18n.t(PART_KEYS[column], lang),
                    marker_color=colour,
                    legendgroup=column,
                    showlegend=index == 0,
                    text=[
                        f"{m}: {i18n.format_money(v + 0.0, lang)}"
                        for m, v in zip(months, values, strict=True)
                    ],
                    textposition="none",
                    hovertemplate="%{text}<extra>%{fullData.name}</extra>",
                ),
                row=index // cols + 1,
                col=index % cols + 1,
            )
        stacked += own[["energy_inr", "fixed_inr", "duty_inr", "arrears_inr"]].sum(axis=1).tolist()
        stacked += (-own["rebate_inr"]).tolist()
    fig.update_yaxes(matches="y")
    if charts.devanagari_digits(lang):
        tickvals, ticktext = charts.value_ticks(stacked, "spend", lang)
        fig.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    for index in range(0, len(ids), cols):
        fig.update_yaxes(title_text=i18n.t("ledger_axis_inr", lang), row=index // cols + 1, col=1)
    fig.update_layout(
        barmode="relative",
        height=rows * 240 + 130,
        margin={"l": 10, "r": 10, "t": 60, "b": 100},
        legend={"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        font={"family": "'Noto Sans Devanagari', 'Lohit Devanagari', sans-serif"},
    )
    return fig


def _same(mine, theirs, path=""):
    """Equal dicts, floats to 1e-12 (domains are worked out in another order)."""
    if isinstance(theirs, dict):
        assert set(mine) == set(theirs), path
        for key in theirs:
            _same(mine[key], theirs[key], f"{path}.{key}")
    elif isinstance(theirs, list):
        assert len(mine) == len(theirs), path
        for i, (a, b) in enumerate(zip(mine, theirs, strict=True)):
            _same(a, b, f"{path}[{i}]")
    elif isinstance(theirs, float):
        assert mine == pytest.approx(theirs, abs=1e-12), path
    else:
        assert mine == theirs, path


@pytest.mark.parametrize("connections", [1, 3, 5])
@pytest.mark.parametrize(("lang", "digits"), [("en", False), ("hi", False), ("hi", True)])
@pytest.mark.parametrize("columns", [None, 1, 2])
def test_monthly_spend_figure_built_as_data_draws_what_make_subplots_drew(connections, lang, digits, columns):
    """Issue 15: the figure is built as plain dicts and one go.Figure (no make_subplots, no update call
    per trace): same traces, values, colours, axes, hover texts and legend as the make_subplots build;
    a month without rebate hovers ₹0.00 (make_subplots' build wrote -₹0.00)."""
    import pandas as pd

    from lib.ui.escape import plotly_text
    from lib.ui.ledger_panels import monthly_spend_figure

    months = pd.to_datetime(["2025-12-01", "2026-01-01", "2026-02-01"])
    cids = [f"10{i}" for i in range(connections)]
    parts = pd.DataFrame(
        {
            "consumer_id": [c for c in cids for _ in months],
            "nickname": [f"Meter <{c}>" for c in cids for _ in months],
            "month": list(months) * connections,
            "energy_inr": [100.0 * (i + 1) + 0.125 for i in range(3 * connections)],
            "fixed_inr": 160.0,
            "duty_inr": 27.6,
            "rebate_inr": [0.0, 12.5, 3.333] * connections,
            "arrears_inr": [0.0, 0.0, 250.0] * connections,
        }
    )
    i18n.use_devanagari_digits(digits)
    try:
        mine = monthly_spend_figure(parts, lang, columns=columns).to_dict()
        theirs = _make_subplots_monthly_spend(
            parts.assign(nickname=parts["nickname"].map(plotly_text)), lang, columns
        )
        theirs = theirs.to_dict()
    finally:
        i18n.use_devanagari_digits(False)
    _same(mine, theirs)
    texts = [text for trace in mine["data"] for text in trace["text"]]
    assert not [text for text in texts if "-₹0" in text or "-₹०" in text]
