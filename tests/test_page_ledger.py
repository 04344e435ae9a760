"""AppTest of the ledger page ("Why did my balance drop?") in both languages, on the seeded demo."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import alerts, demo, i18n, ledger, phone, storage
from lib.clock import now_utc
from lib.ui import escape
from tests.factories import write_lock_held
from tests.fragments import count_page_runs, fragment_rerun

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)


@pytest.fixture
def demo_account(db_path: Path) -> int:
    """The demo seeded into the METERMITRA_DB test database (120 days: enough for slabs and months)."""
    with storage.open_db(db_path) as conn:
        summary = demo.seed_demo(conn, now=now_utc(), days=120)
    return int(summary["account_id"])


def _ledger_page(account_id: int | None, lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = lang
    at.session_state["account_id"] = account_id
    at.run()
    at.switch_page("pages/ledger.py").run()
    return at


def _all_text(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [m.value for m in at.caption]
    parts += [e.value for e in at.info] + [e.value for e in at.warning] + [e.value for e in at.success]
    parts += [e.value for e in at.error] + [e.value for e in at.title] + [e.value for e in at.subheader]
    return "\n".join(str(p) for p in parts)


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_ledger_page_explains_the_demo_in_the_users_language(demo_account, lang):
    at = _ledger_page(demo_account, lang)
    assert not at.exception
    text = _all_text(at)
    assert i18n.t("ledger_title", lang) in text
    # The demo reconciles to the rupee: no unexplained deduction.
    assert i18n.t("ledger_unexplained_none", lang) in text
    # The connection picker offers exactly the account's three linked connections.
    picker = at.selectbox(key="ledger_connection")
    assert [str(o).split(" (")[0] for o in picker.options] == ["Home", "Shop", "Village home"]
    # The day-by-day table has translated headers.
    tables = [d.value for d in at.dataframe]
    table = next(t for t in tables if i18n.t("ledger_col_status", lang) in t.columns)
    assert i18n.t("ledger_part_energy", lang) in table.columns
    assert set(table[i18n.t("ledger_col_status", lang)]) <= {
        i18n.t(key, lang) for key in ("ledger_status_ok", "ledger_status_today")
    }
    # Explanation of the chosen day (yesterday by default), in words, with the energy charge.
    assert (
        i18n.t("ledger_part_energy", lang) in text
        or i18n.t("ledger_explain_match", lang, metered="")[:10] in text
    )


def test_waterfall_of_a_month_for_the_shop(demo_account):
    at = _ledger_page(demo_account, "en")
    at.selectbox(key="ledger_connection").select("DEMO-1002").run()
    at.radio(key="ledger_period").set_value("month").run()
    assert not at.exception
    charts = [c for c in at.get("plotly_chart")]
    assert charts, "a waterfall chart is drawn"
    text = _all_text(at)
    assert "Shop" in text
    assert "The meter's balance" in text  # the check against the meter is spelled out


def test_ledger_csv_download_in_hindi_matches_the_ledger(demo_account):
    with storage.open_db(storage.engine.db_target()) as conn:
        rows = ledger.load_ledger(conn, demo_account, ["DEMO-1001"])
        details = storage.accounts.connection_details(conn, demo_account)
    from lib.ui import ledger as ledger_page

    data = ledger_page.ledger_csv(
        rows,
        "hi",
        consumer_id="DEMO-1001",
        nickname="Home",
        tariff_category=str(details["tariff_category"][0]),
    )
    lines = data.decode("utf-8-sig").splitlines()
    header = lines[0].split(",")
    assert header[:4] == ["उपभोक्ता संख्या", "नाम", "टैरिफ", "तारीख"]
    assert i18n.t("ledger_part_energy", "hi") in header
    assert len(lines) == len(rows) + 1
    energy_col = header.index(i18n.t("ledger_part_energy", "hi"))
    assert round(sum(float(line.split(",")[energy_col]) for line in lines[1:]), 2) == round(
        float(rows["energy_inr"].sum()), 2
    )


def test_signed_out_visitor_sees_no_ledger(demo_account):
    at = _ledger_page(None, "en")
    assert not at.exception
    assert i18n.t("ledger_title", "en") not in _all_text(at)


def test_account_without_links_is_pointed_to_manage_connection(demo_account):
    with storage.open_db(storage.engine.db_target()) as conn:
        other = storage.accounts.create_account(conn, "+919812345678")
        alerts.set_alert_rule(conn, other, min_days_left=60, min_balance_inr=100_000)
    at = _ledger_page(other, "en")
    assert not at.exception
    assert i18n.t("ledger_no_connections", "en") in _all_text(at)
    # Even with a rule that finds everything low, nothing about the demo's connections is shown.
    assert not any("Low balance" in w.value for w in at.warning)


def test_arrears_entered_on_the_page_show_their_schedule(demo_account):
    at = _ledger_page(demo_account, "en")
    at.number_input(key="ledger_arrears_amount").set_value(1200.0)
    at.radio(key="ledger_arrears_method").set_value("daily")
    at.number_input(key="ledger_arrears_daily").set_value(40.0)
    at.date_input(key="ledger_arrears_start").set_value(dt.date(2026, 11, 20))
    at.button(key="FormSubmitter:ledger_arrears_form-" + i18n.t("ledger_arrears_save", "en")).click().run()
    assert not at.exception
    assert i18n.t("ledger_arrears_saved", "en") in _all_text(at)
    at.run()
    # 20..25 Nov = 6 instalments of ₹40 recovered, ₹960 left, last instalment 24 days after today.
    assert "₹240.00 recovered, ₹960.00 left" in _all_text(at)


def test_bad_arrears_input_gets_a_message_and_saves_nothing(demo_account):
    at = _ledger_page(demo_account, "hi")
    at.number_input(key="ledger_arrears_amount").set_value(0.0)
    at.button(key="FormSubmitter:ledger_arrears_form-" + i18n.t("ledger_arrears_save", "hi")).click().run()
    assert not at.exception
    assert i18n.t("ledger_error_amount", "hi") in [e.value for e in at.error]
    with storage.open_db(storage.engine.db_target()) as conn:
        assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 0


def test_low_balance_warning_on_every_page(demo_account):
    with storage.open_db(storage.engine.db_target()) as conn:
        alerts.set_alert_rule(conn, demo_account, min_days_left=3, min_balance_inr=100_000)
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["account_id"] = demo_account
    at.run()
    for page in ["dashboard.py", "pages/ledger.py", "pages/compare.py"]:
        if page != "dashboard.py":
            at.switch_page(page).run()
        assert not at.exception, page
        warnings = " ".join(w.value for w in at.warning)
        assert "Low balance: Home" in warnings, page


def test_imported_connection_without_balance_is_unknown_until_one_is_entered(demo_account):
    from tests.factories import imported_connection

    with storage.open_db(storage.engine.db_target()) as conn:
        imported_connection(conn, demo_account, is_demo=1)  # the outbox gateway refuses real data
    at = _ledger_page(demo_account, "en")
    at.selectbox(key="ledger_connection").select("204500001").run()
    assert not at.exception
    label = i18n.t("ledger_balance_metric", "en")
    # No metered balance, nothing entered: unknown (it was "₹334.68 (estimated)", counted from ₹0).
    assert next(m for m in at.metric if m.label == label).value == i18n.t("ledger_balance_unknown", "en")
    assert i18n.t("ledger_unknown_note", "en") in _all_text(at)
    tables = [d.value for d in at.dataframe]
    table = next(t for t in tables if i18n.t("ledger_col_status", "en") in t.columns)
    assert set(table[i18n.t("ledger_col_status", "en")]) == {i18n.t("ledger_status_unknown", "en")}
    # The household types the ₹200.00 its DISCOM app showed at the start of the 23rd.
    at.date_input(key="ledger_anchor_day").set_value(dt.date(2026, 11, 23))
    at.number_input(key="ledger_anchor_amount").set_value(200.0)
    next(b for b in at.button if b.label == i18n.t("ledger_anchor_save", "en")).click().run()
    assert not at.exception
    # NDS-II, 6 units a day: 200 - 55.10 (23rd) - 55.11 (24th) = 89.79, marked estimated.
    assert next(m for m in at.metric if m.label == label).value == "₹89.79 (estimated)"
    tables = [d.value for d in at.dataframe]
    table = next(t for t in tables if i18n.t("ledger_col_status", "en") in t.columns)
    assert i18n.t("ledger_status_estimated", "en") in set(table[i18n.t("ledger_col_status", "en")])


def test_connection_with_a_category_missing_from_the_tariff_file_gets_a_message(demo_account):
    from tests.factories import imported_connection

    with storage.open_db(storage.engine.db_target()) as conn:
        imported_connection(conn, demo_account, is_demo=1)
        conn.execute("UPDATE consumers SET tariff_category = 'HT-X' WHERE consumer_id = '204500001'")
        storage.meta.bump_data_version(conn)
    at = _ledger_page(demo_account, "hi")
    at.selectbox(key="ledger_connection").select("204500001").run()
    assert not at.exception
    assert i18n.t("ledger_no_tariff", "hi", nickname="Godown", category="HT\\-X") in [
        w.value for w in at.warning
    ]


def test_overview_lists_unexplained_deductions_and_compare_shows_monthly_parts(demo_account):
    # Arrears the demo meter never took: 20-22 Nov now look like the meter took ₹90 less than explained.
    with storage.open_db(storage.engine.db_target()) as conn:
        ledger.add_arrear(
            conn,
            demo_account,
            "DEMO-1001",
            amount_inr=90,
            start_day=dt.date(2026, 11, 20),
            method="daily",
            daily_inr=40,
        )
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["lang"] = "en"
    at.session_state["account_id"] = demo_account
    at.run()
    assert not at.exception
    assert i18n.t("ledger_overview_title", "en") in [s.value for s in at.subheader]
    # ₹90 of instalments, plus the free units the arrears hold back on the 20th and 21st (Home passed
    # its 125 units on the 21st): the ledger charges more than the demo meter took.
    with storage.open_db(storage.engine.db_target()) as conn:
        summary = ledger.unexplained_summary(ledger.load_ledger(conn, demo_account, ["DEMO-1001"])).iloc[0]
    assert summary["days"] == 3 and summary["spared_inr"] > 90.0
    expected = i18n.t(
        "ledger_unexplained_total_less",
        "en",
        nickname="Home",
        days="3",
        amount=i18n.format_money(summary["spared_inr"], "en"),
        first="20 Nov 2026",
        last="22 Nov 2026",
    )
    assert "- " + expected in [m.value for m in at.markdown]
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert i18n.t("ledger_compare_title", "en") in [e.label for e in at.expander]


# --- data-quality line, refunds and reversals (issue 11 sections 2 and 3) ---------------------------


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_ledger_shows_the_quality_line_and_lists_refunds_and_reversals_with_their_kind(demo_account, lang):
    with storage.open_db(storage.engine.db_target()) as conn, storage.transaction(conn):
        rows = [
            {
                "consumer_id": "DEMO-1001",
                "ts": "2026-11-23T04:30:00Z",
                "amount_inr": 200.0,
                "reference": "T-7",
            },
            {
                "consumer_id": "DEMO-1001",
                "ts": "2026-11-23T05:30:00Z",
                "amount_inr": -200.0,
                "reference": "T-7",
                "kind": "reversal",
            },
            {
                "consumer_id": "DEMO-1001",
                "ts": "2026-11-24T05:30:00Z",
                "amount_inr": -300.0,
                "kind": "refund",
            },
        ]
        assert storage.readings.insert_recharges(conn, rows) == 3
        storage.readings.refresh_daily(conn, "DEMO-1001", "2026-11-23", "2026-11-24")
        storage.meta.bump_data_version(conn)
    at = _ledger_page(demo_account, lang)
    assert not at.exception
    assert at.selectbox(key="ledger_connection").value == "DEMO-1001"
    captions = [c.value for c in at.caption if c.value.startswith(i18n.t("quality_line", lang, parts=""))]
    assert len(captions) == 1 and i18n.t("quality_interval", lang, minutes="30") in captions[0]
    assert i18n.t("quality_money_back_title", lang) in [s.value for s in at.subheader]
    lines = [m.value for m in at.markdown if m.value.startswith("- ")]
    reversal = i18n.t("quality_reversal", lang, amount="₹200.00", date="")
    refund = i18n.t("quality_refund", lang, amount="₹300.00", date="")
    assert any(line.startswith("- " + reversal.split(" (")[0]) for line in lines), lines
    assert any(line.startswith("- " + refund.split(" (")[0]) for line in lines), lines
    # Another connection without any: no such list.
    at.selectbox(key="ledger_connection").select("DEMO-1002").run()
    assert i18n.t("quality_money_back_title", lang) not in [s.value for s in at.subheader]


def test_a_second_household_member_sees_the_author_and_cannot_delete(demo_account):
    """Issue 13 item 7: arrears and adjustments are the connection's; the page shows who entered each one
    (masked mobile, or "you") and offers "Remove" only to its author."""
    with storage.open_db(storage.engine.db_target()) as conn:
        member = storage.accounts.create_account(conn, "+919812345678")
        storage.accounts.insert_link(conn, member, "DEMO-1001", "Ghar")
        arrear_id = ledger.add_arrear(
            conn,
            demo_account,
            "DEMO-1001",
            amount_inr=600,
            start_day=dt.date(2026, 11, 20),
            method="daily",
            daily_inr=20,
            note="=bill *Nov*",
        )
        adjustment_id = ledger.add_adjustment(
            conn, demo_account, "DEMO-1001", day=dt.date(2026, 11, 21), amount_inr=-25, reason="meter fee"
        )
    masked = phone.mask_mobile(demo.DEMO_ACCOUNT_MOBILE)

    at = _ledger_page(member, "en")
    assert not at.exception
    text = _all_text(at)
    assert "₹120.00 recovered, ₹480.00 left" in text  # the author's arrear is in the member's ledger
    assert "21 Nov 2026: ₹25.00 taken from the balance." in text
    captions = [c.value for c in at.caption]
    by_author = i18n.t("ledger_entry_by_other", "en", mobile=escape.markdown(masked))
    assert (
        i18n.t("ledger_entry_caption_note", "en", author=by_author, note=escape.markdown("=bill *Nov*"))
        in captions
    )
    assert i18n.t("ledger_entry_caption_note", "en", author=by_author, note="meter fee") in captions
    keys = {b.key for b in at.button}
    assert f"ledger_arrear_delete_{arrear_id}" not in keys
    assert f"ledger_adjust_delete_{adjustment_id}" not in keys

    at = _ledger_page(demo_account, "hi")
    assert not at.exception
    by_you = i18n.t("ledger_entry_by_you", "hi")
    assert i18n.t("ledger_entry_caption_note", "hi", author=by_you, note="meter fee") in [
        c.value for c in at.caption
    ]
    at.button(key=f"ledger_adjust_delete_{adjustment_id}").click().run()
    assert not at.exception
    with storage.open_db(storage.engine.db_target()) as conn:
        assert conn.execute("SELECT count(*) FROM adjustments").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 1


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_day_table_puts_day_units_deduction_balance_first_in_a_phones_width(demo_account, lang):
    """Issue 14 section 4: the daily deduction was cut off at 1366 px; the four figures a household needs
    come first, the day pinned, in fixed widths that fit a 390 px phone (about 350 px of table)."""
    at = _ledger_page(demo_account, lang)
    assert not at.exception
    table = next(d for d in at.dataframe if i18n.t("ledger_col_status", lang) in d.value.columns)
    first_four = [
        i18n.t(key, lang)
        for key in (
            "ledger_day_label",
            "ledger_screen_units",
            "ledger_screen_deduction",
            "ledger_screen_balance",
        )
    ]
    assert list(table.value.columns[:4]) == first_four
    config = json.loads(table.proto.columns)
    assert config[first_four[0]]["pinned"] is True
    assert sum(config[label]["width"] for label in first_four) <= 330
    # The short headers carry the full names as help; the tariff's parts follow behind the scroll.
    assert config[first_four[2]]["help"] == i18n.t("ledger_col_deduction", lang)
    assert list(table.value.columns).index(i18n.t("ledger_part_energy", lang)) > 3
    # The figures are the ledger's: yesterday's deduction and closing balance of Home (newest first).
    with storage.open_db(storage.engine.db_target()) as conn:
        rows = ledger.load_ledger(conn, demo_account, ["DEMO-1001"])
    yesterday = rows[rows["day"] == rows["day"].max() - dt.timedelta(days=1)].iloc[0]
    row = table.value.iloc[1]
    assert row[first_four[2]] == i18n.format_money(float(yesterday["deduction_inr"]), lang)
    assert row[first_four[3]] == i18n.format_money(float(yesterday["closing_inr"]), lang)


def test_waterfall_says_its_axis_does_not_start_at_zero(demo_account):
    """Issue 14 §4: a day's waterfall is zoomed on a ₹1,000 balance; the page says where the axis starts."""
    from lib.ui import ledger as ledger_page

    at = _ledger_page(demo_account, "en")
    assert not at.exception
    (chart,) = [c for c in at.get("plotly_chart") if "ledger_waterfall" in c.proto.id]
    start = json.loads(chart.proto.spec)["layout"]["yaxis"]["range"][0]
    assert start > 0
    expected = i18n.t("ledger_waterfall_axis", "en", start=i18n.format_money(start, "en", decimals=False))
    assert expected in [c.value for c in at.caption]
    assert json.loads(chart.proto.spec)["layout"].get("title", {}).get("text") is None  # title is page text
    low = {"opening_inr": 30.0, "closing_inr": 5.0, "metered_closing_inr": 5.0, "estimated": False}
    low["parts"] = [("energy_inr", -25.0)]
    assert ledger_page.waterfall_axis_start(ledger_page.waterfall_figure(low, "en")) <= 0


@pytest.mark.sqlite_only("SQLite's busy write lock (another writer holds the file; busy_timeout)")
@pytest.mark.parametrize("lang", ["hi", "en"])
def test_a_busy_database_says_try_again_for_ledger_entries(demo_account, lang, monkeypatch):
    """Issue 13 item 11: another connection holds the write lock: saving an arrear or removing an adjustment
    says the service is busy (not "could not be saved"), saves nothing, and works a moment later."""
    with storage.open_db(storage.engine.db_target()) as conn:
        adjustment_id = ledger.add_adjustment(
            conn, demo_account, "DEMO-1001", day=dt.date(2026, 11, 21), amount_inr=-25, reason="meter fee"
        )
    monkeypatch.setattr(storage.engine, "BUSY_TIMEOUT_MS", 100)
    busy = i18n.t("common_busy", lang)
    save = "FormSubmitter:ledger_arrears_form-" + i18n.t("ledger_arrears_save", lang)
    at = _ledger_page(demo_account, lang)
    with write_lock_held(Path(storage.db_path())):
        at.number_input(key="ledger_arrears_amount").set_value(1200.0)
        at.button(key=save).click().run()
        assert not at.exception
        assert busy in [w.value for w in at.warning]
        assert i18n.t("ledger_error_save", lang) not in [e.value for e in at.error]
        at.button(key=f"ledger_adjust_delete_{adjustment_id}").click().run()
        assert not at.exception and busy in [w.value for w in at.warning]
    with storage.open_db(storage.engine.db_target()) as conn:
        assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 0
        assert conn.execute("SELECT count(*) FROM adjustments").fetchone()[0] == 1
    at.number_input(key="ledger_arrears_amount").set_value(1200.0)
    at.button(key=save).click().run()
    assert i18n.t("ledger_arrears_saved", lang) in _all_text(at)
    at.button(key=f"ledger_adjust_delete_{adjustment_id}").click().run()
    assert not at.exception
    with storage.open_db(storage.engine.db_target()) as conn:
        assert conn.execute("SELECT count(*) FROM arrears").fetchone()[0] == 1
        assert conn.execute("SELECT count(*) FROM adjustments").fetchone()[0] == 0


def test_choosing_a_day_or_month_reruns_only_the_waterfall(db_path, demo_account, monkeypatch):
    """The waterfall's day/month choice is a fragment (issue 15): only it runs and is sent again, the
    frame, the banner, the table and the forms are not; a write in another tab since the page ran (a
    ledger entry moves the connection's data version) runs the whole page at the next choice."""
    runs = count_page_runs(monkeypatch)
    at = _ledger_page(demo_account, "en")
    assert not at.exception and runs.count("frame") == 2
    runs.clear()
    at.radio(key="ledger_period").set_value("month")
    fragment_rerun(at)
    assert not at.exception and runs == []
    assert not at.title and not at.dataframe  # nothing outside the fragment sent again
    assert [c for c in at.get("plotly_chart") if "ledger_waterfall" in c.proto.id]
    period = i18n.format_date(at.selectbox(key="ledger_month").value, "en", pattern="MMMM y")
    assert i18n.t("ledger_waterfall_title", "en", period=period) in _all_text(at)
    with storage.open_db(db_path) as conn, storage.transaction(conn):
        storage.meta.bump_data_version(conn, ["DEMO-1001"])
    at.radio(key="ledger_period").set_value("day")
    fragment_rerun(at)
    assert not at.exception and runs.count("frame") == 1  # the whole page ran
    assert at.title[0].value == i18n.t("ledger_title", "en")
    assert at.radio(key="ledger_period").value == "day"
