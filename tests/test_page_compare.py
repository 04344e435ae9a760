"""AppTest of Compare (pages/compare.py) with 1, 3 (the demo household) and 6 connections, in both languages."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from lib import clock, i18n, storage
from lib.ui import compare as compare_page
from tests.factories import (
    STRANGER,
    add_consumer,
    add_readings,
    household,
    imported_connection,
    seed_household,
)
from tests.fragments import fragment_rerun
from tests.hover import hover_labels
from tests.markdown_tables import tables

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.both_engines  # every db_path test on SQLite and on PostgreSQL (issue 12)


def compare(account_id: int | None, lang: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
    at.session_state["account_id"] = account_id
    at.session_state["lang"] = lang
    at.run()
    at.switch_page("pages/compare.py").run()
    return at


def chart_spec(at: AppTest, key: str = "compare_chart") -> dict:
    charts = [c for c in at.get("plotly_chart") if key in c.proto.id]
    assert charts, "no chart"
    return json.loads(charts[0].proto.spec)


def value_traces(spec: dict) -> list[dict]:
    return [t for t in spec["data"] if t.get("meta", {}).get("kind") == "value"]


@pytest.fixture
def captured_csv(monkeypatch) -> list[bytes]:
    """The bytes of each CSV Compare makes (once per view: the view keeps them)."""
    seen: list[bytes] = []
    original = compare_page.csv_bytes

    def capture(*args, **kwargs):
        data = original(*args, **kwargs)
        seen.append(data)
        return data

    monkeypatch.setattr(compare_page, "csv_bytes", capture)
    return seen


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("connections", [1, 3, 6])
def test_compare_draws_every_connection(db_path, connections, lang):
    account_id = household(db_path, connections)
    at = compare(account_id, lang)
    assert not at.exception
    assert at.title[0].value == i18n.t("compare_title", lang)
    with storage.open_db(db_path) as conn:
        nicknames = storage.accounts.connection_details(conn, account_id)["nickname"].tolist()
    spec = chart_spec(at)
    assert spec["layout"]["title"]["text"] == i18n.t("chart_title_balance", lang)
    assert [t["name"] for t in value_traces(spec)] == nicknames
    if connections > 1:
        assert [a["text"] for a in spec["layout"]["annotations"]] == nicknames
    assert len({t["line"]["color"] for t in value_traces(spec)}) == connections
    assert [b.label for b in at.get("download_button")] == [i18n.t("compare_download", lang)]


def test_csv_is_exactly_what_is_plotted(db_path, captured_csv):
    account_id = household(db_path, 3)
    at = compare(account_id, "hi")
    at.radio(key="compare_metric").set_value("units").run()
    assert not at.exception
    spec = chart_spec(at)
    rows = list(csv.reader(io.StringIO(captured_csv[-1].decode("utf-8-sig"))))
    assert rows[0] == ["तारीख", "कनेक्शन", "उपभोक्ता संख्या", "यूनिट (kWh)"]
    plotted = [
        (x, t["meta"]["consumer_id"], y)
        for t in value_traces(spec)
        for x, y in zip(t["x"], t["y"], strict=True)
    ]
    exported = [(r[0], r[2], float(r[3]) if r[3] else None) for r in rows[1:]]
    assert sorted(exported, key=lambda r: (r[1], r[0])) == sorted(plotted, key=lambda r: (r[1], r[0]))
    assert len(exported) == 3 * 30


def test_balance_csv_has_the_recharge_column_in_english(db_path, captured_csv):
    account_id = household(db_path, 3)
    at = compare(account_id, "en")
    assert not at.exception
    header = next(csv.reader(io.StringIO(captured_csv[-1].decode("utf-8-sig"))))
    assert header == ["Date", "Connection", "Consumer ID", "Balance (₹)", "Recharge (₹)"]


def test_a_new_period_sends_its_chart_before_its_csv_and_tables(db_path, monkeypatch):
    """On a period not seen before, the chart is drawn (its message sent) before the CSVs and the tables
    are worked out (issue 15); each CSV is made once per view: a rerun that shows the same view makes none."""
    events: list[str] = []
    for name, event in (("_draw_chart", "chart"), ("csv_bytes", "csv"), ("_tables", "tables")):
        original = getattr(compare_page, name)
        monkeypatch.setattr(
            compare_page,
            name,
            lambda *args, _original=original, _event=event, **kwargs: (
                events.append(_event),
                _original(*args, **kwargs),
            )[1],
        )
    at = compare(demo_and_imported(db_path), "en")  # the balance chart and the imported meter's units
    assert not at.exception
    events.clear()
    at.radio(key="compare_range").set_value("1y").run()
    assert not at.exception
    assert events == ["chart", "csv", "chart", "csv", "tables"]
    events.clear()
    at.run()
    assert not at.exception
    assert events == ["chart", "chart"]  # figures and CSVs kept with the view: nothing made again


def test_presets_granularity_metric_and_layout(db_path):
    account_id = household(db_path, 6)
    at = compare(account_id, "en")
    at.radio(key="compare_range").set_value("7d").run()
    assert len(value_traces(chart_spec(at))[0]["x"]) == 7
    at.radio(key="compare_range").set_value("3m").run()
    assert len(value_traces(chart_spec(at))[0]["x"]) == 92  # 26 Aug .. 25 Nov
    at.radio(key="compare_range").set_value("1y").run()
    assert "Shown: Weekly" in [c.value for c in at.caption]
    at.selectbox(key="compare_granularity").set_value("day").run()
    assert "Too many days for a daily chart: shown Weekly." in [c.value for c in at.caption]
    at.selectbox(key="compare_granularity").set_value("month").run()
    assert len(value_traces(chart_spec(at))[0]["x"]) == 13  # Nov 2025 .. Nov 2026
    at.radio(key="compare_metric").set_value("spend").run()
    spec = chart_spec(at)
    assert spec["layout"]["title"]["text"] == "₹ spent per month"  # monthly bars: not "daily deduction"
    assert {t["type"] for t in value_traces(spec)} == {"bar"}
    at.radio(key="compare_layout").set_value("overlay").run()
    spec = chart_spec(at)
    assert spec["layout"]["showlegend"] and "xaxis2" not in spec["layout"]
    assert not at.exception


def test_phone_layout_stacks_panels(db_path):
    account_id = household(db_path, 3)
    at = compare(account_id, "en")
    wide = chart_spec(at)["layout"]
    assert wide["xaxis2"]["domain"] != wide["xaxis"]["domain"]
    at.toggle(key="compare_compact").set_value(True).run()
    narrow = chart_spec(at)["layout"]
    assert narrow["xaxis2"]["domain"] == narrow["xaxis"]["domain"] == narrow["xaxis3"]["domain"]
    assert narrow["height"] > wide["height"]
    at.toggle(key="compare_shared_y").set_value(False).run()
    assert "matches" not in chart_spec(at)["layout"]["yaxis2"]


def test_a_phone_gets_its_own_cached_figure_with_a_phones_date_labels(db_path, monkeypatch):
    """Compare hands ``phone`` (lib.ui.widgets.is_phone, the browser's User-Agent) both to
    charts.compare_figure (how many date labels fit under a panel: charts.date_tick_room) and to the
    figure's cache key (loaders.cached_figure): the same view on a phone and on a desktop are two cached
    figures, each with its own labels, and neither is served to the other."""
    from lib import charts
    from lib.ui import loaders

    phone = {"now": False}
    monkeypatch.setattr(compare_page, "is_phone", lambda: phone["now"])
    builds: list[bool] = []
    original = charts.compare_figure

    def counting(*args, **kwargs):
        builds.append(kwargs.get("phone", False))  # the Overview's chart passes none
        return original(*args, **kwargs)

    monkeypatch.setattr(charts, "compare_figure", counting)
    loaders._cached_figure.clear()  # the figure cache is the process's: start from none
    at = compare(household(db_path, 3), "en")
    builds.clear()  # the Overview's chart and the 30 days Compare opens with
    at.radio(key="compare_range").set_value("1y").run()  # compact is off: 3 panels side by side
    assert not at.exception and not at.toggle(key="compare_compact").value
    year = (dt.date(2025, 11, 26), dt.date(2026, 11, 25))  # the fixed clock's last year
    labels = {
        device: charts.date_ticks(*year, "en", most=charts.date_tick_room(3, device))[1]
        for device in (False, True)
    }
    assert len(labels[True]) < len(labels[False])  # a phone's panel holds fewer labels

    def shown() -> list[list[str]]:
        layout = chart_spec(at)["layout"]
        return [layout[axis]["ticktext"] for axis in ("xaxis", "xaxis2", "xaxis3")]

    assert shown() == [labels[False]] * 3
    assert builds == [False]
    for device in (True, False, True):  # the same view, from a phone, a desktop, a phone again
        phone["now"] = device
        at.run()
        assert not at.exception
        assert shown() == [labels[device]] * 3, device
    assert builds == [False, True]  # one figure each, built once, then served from the cache


def test_choosing_connections_and_a_forged_id(db_path):
    account_id = household(db_path, 6)
    with storage.open_db(db_path) as conn:
        add_consumer(conn, "777", mobile=STRANGER, is_demo=1)
        stranger = storage.accounts.create_account(conn, STRANGER)
        storage.accounts.insert_link(conn, stranger, "777", "Not yours")
    at = compare(account_id, "en")
    at.multiselect(key="compare_connections").set_value(["1000000002", "1000000005"]).run()
    assert [t["name"] for t in value_traces(chart_spec(at))] == ["Shop", "Tenant"]
    # A forged widget value (another household's consumer ID) is dropped before any read.
    at.session_state["compare_connections"] = ["777"]
    at.run()
    assert not at.exception
    assert i18n.t("compare_pick_connection", "en") in [i.value for i in at.info]
    assert not at.get("plotly_chart") or all("Not yours" not in c.proto.spec for c in at.get("plotly_chart"))


def test_a_range_without_data(db_path):
    account_id = household(db_path, 1)
    at = compare(account_id, "en")
    at.radio(key="compare_range").set_value("custom").run()
    at.date_input(key="compare_dates").set_value((dt.date(2024, 1, 1), dt.date(2024, 1, 31))).run()
    assert not at.exception
    assert (
        at.info[-1].value
        == "No readings between 1 Jan 2024 and 31 Jan 2024. Choose a longer period or import readings."
    )
    assert not at.get("download_button")


def test_half_chosen_custom_dates_fall_back_to_30_days(db_path):
    account_id = household(db_path, 1)
    at = compare(account_id, "hi")
    at.radio(key="compare_range").set_value("custom").run()
    at.date_input(key="compare_dates").set_value((dt.date(2026, 11, 1),)).run()
    assert not at.exception
    assert i18n.t("compare_dates_incomplete", "hi") in [i.value for i in at.info]
    assert len(value_traces(chart_spec(at))[0]["x"]) == 30


def test_a_connection_without_readings_is_named(db_path):
    with storage.open_db(db_path) as conn:
        account_id = seed_household(conn, 3)  # the third connection has no readings
    at = compare(account_id, "en")
    assert "No readings in this period for: Village home" in [c.value for c in at.caption]
    assert len(value_traces(chart_spec(at))) == 3


def test_no_connection_points_to_add_another_meter(db_path):
    with storage.open_db(db_path) as conn:
        add_consumer(conn, "999", is_demo=1)
        account_id = storage.accounts.create_account(conn, "+919876500000")
    at = compare(account_id, "hi")
    assert not at.exception
    assert i18n.t("overview_no_connections", "hi") in [info.value for info in at.info]
    assert ("manage_connection", "एक और मीटर जोड़ें") in [
        (p.proto.page, p.proto.label) for p in at.get("page_link")
    ]


@pytest.fixture
def readings_read(monkeypatch) -> list[str]:
    """The consumer IDs whose raw readings a run read (``storage.readings.readings_frame``)."""
    seen: list[str] = []
    original = storage.readings.readings_frame

    def counted(conn, account_id, consumer_id, *args, **kwargs):
        seen.append(consumer_id)
        return original(conn, account_id, consumer_id, *args, **kwargs)

    monkeypatch.setattr(storage.readings, "readings_frame", counted)
    return seen


def profile_charts(at: AppTest) -> list:
    return [c for c in at.get("plotly_chart") if "compare_profile_chart" in c.proto.id]


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_hour_of_day_profile_runs_only_while_its_expander_is_open(db_path, readings_read, lang):
    account_id = household(db_path, 3)
    at = compare(account_id, lang)
    assert not at.exception
    (expander,) = [e for e in at.expander if e.label == i18n.t("compare_profile_title", lang)]
    assert not expander.proto.expanded
    assert profile_charts(at) == [] and readings_read == []  # closed: nothing read, no chart sent
    assert expander.children == {}

    at.session_state[compare_page.PROFILE_KEY] = True  # the reader opens it (its widget state)
    fragment_rerun(at)  # an expander inside the fragment reruns the fragment alone
    assert not at.exception
    (profile,) = [json.loads(c.proto.spec) for c in profile_charts(at)]
    assert profile["layout"]["title"]["text"] == i18n.t("compare_profile_title", lang)
    assert len(profile["data"]) == 2 and len(profile["data"][0]["x"]) == 24
    with storage.open_db(db_path) as conn:
        first = str(storage.accounts.connection_details(conn, account_id)["consumer_id"].iloc[0])
    assert readings_read == [first]  # the first connection's readings, once
    (opened,) = [e for e in at.expander if e.label == i18n.t("compare_profile_title", lang)]
    assert opened.proto.expanded

    at.session_state[compare_page.PROFILE_KEY] = False
    fragment_rerun(at)
    assert profile_charts(at) == [] and readings_read == [first]


def test_shares_and_peak_tables(db_path):
    account_id = household(db_path, 3)
    at = compare(account_id, "hi")
    headers = [h.value for h in at.subheader]
    assert i18n.t("compare_shares_title", "hi") in headers and i18n.t("compare_peak_title", "hi") in headers


def test_new_readings_show_without_waiting_for_the_cache(db_path):
    account_id = household(db_path, 1)
    at = compare(account_id, "en")
    before = value_traces(chart_spec(at))[0]["y"][-1]
    with storage.open_db(db_path) as conn:
        add_readings(
            conn,
            "1000000001",
            dt.datetime(2026, 11, 25, 6, 30, tzinfo=dt.UTC),
            [0.0],
            balance=0.0,
            recharges={0: 900.0},
        )
    at.run()
    after = value_traces(chart_spec(at))[0]["y"][-1]
    assert before != after == 900.0


def test_units_bars_have_no_labels_and_today_is_marked_so_far(db_path):
    account_id = household(db_path, 3)
    at = compare(account_id, "en")
    at.radio(key="compare_range").set_value("7d").run()
    at.radio(key="compare_metric").set_value("units").run()
    assert not at.exception
    bars = value_traces(chart_spec(at))
    assert len(bars) == 3
    for bar in bars:
        assert bar["type"] == "bar" and bar["textposition"] == "none"
        assert bar["x"][-1] == "2026-11-25"  # the fixed clock's today, a partial day
        assert bar["marker"]["opacity"][-1] < 1.0 and set(bar["marker"]["opacity"][:-1]) == {1.0}
        assert hover_labels(bar)[-1][0].endswith(
            i18n.t("chart_today_so_far", "en") + "<br>" + f"{bar['y'][-1]:.1f} units (kWh)"
        )


def test_download_does_not_rerun_and_tables_put_rupees_first(db_path):
    account_id = household(db_path, 3)
    at = compare(account_id, "hi")
    assert not at.exception
    assert at.get("download_button")[0].proto.ignore_rerun
    shares, peaks = tables(at)  # Markdown tables (lib.ui.widgets.draw_table): no Arrow element on the page
    assert list(shares.columns[:3]) == [
        i18n.t("csv_connection", "hi"),
        i18n.t("csv_spend", "hi"),
        i18n.t("table_spend_share", "hi"),
    ]
    assert list(peaks.columns[:2]) == [i18n.t("csv_connection", "hi"), i18n.t("table_peak_kw", "hi")]
    assert shares.align == ("left", "right", "right", "right", "right")  # the connection left, figures right
    assert peaks.align == ("left", "right", "right", "left", "left")  # yes/no and the day are text
    assert not at.dataframe  # no Arrow element: the browser need not load Streamlit's Arrow code
    with storage.open_db(db_path) as conn:
        nicknames = {link["nickname"] for link in storage.accounts.linked_connections(conn, account_id)}
    for table in (shares, peaks):
        assert set(table.column(i18n.t("csv_connection", "hi"))) == nicknames
    assert sum(float(share.rstrip("%")) for share in shares.column(i18n.t("table_spend_share", "hi"))) in (
        99.0,
        100.0,
        101.0,
    )


# --- a connection without a balance series (issue 11 section 3) -------------------------------------


def demo_and_imported(db_path: Path) -> int:
    """The demo household (balances metered) and "Godown": 22-24 Nov readings, no balance, one recharge."""
    account_id = household(db_path, 3)
    with storage.open_db(db_path) as conn, storage.transaction(conn):
        imported_connection(conn, account_id, is_demo=1)
        storage.meta.bump_data_version(conn)
    return account_id


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("metric", ["balance", "spend"])
def test_a_connection_without_a_balance_gets_its_units_beside_the_balance_chart(db_path, lang, metric):
    account_id = demo_and_imported(db_path)
    at = compare(account_id, lang)
    if metric != "balance":
        at.radio(key="compare_metric").set_value(metric).run()
    assert not at.exception
    with storage.open_db(db_path) as conn:
        nicknames = storage.accounts.connection_details(conn, account_id)["nickname"].tolist()
    assert nicknames[-1] == "Godown"
    main = chart_spec(at)
    title = "chart_title_balance" if metric == "balance" else f"chart_title_{metric}_day"
    assert main["layout"]["title"]["text"] == i18n.t(title, lang)
    assert [t["name"] for t in value_traces(main)] == nicknames[:-1]
    units = chart_spec(at, "compare_units_chart")
    assert units["layout"]["title"]["text"] == i18n.t("chart_title_units_day", lang)
    (godown,) = value_traces(units)
    assert godown["name"] == "Godown"
    assert sum(v for v in godown["y"] if v is not None) == pytest.approx(3 * 48 * 0.125)
    infos = [i.value for i in at.info]
    assert i18n.t("compare_no_balance", lang, names="Godown") in infos
    assert not any(i18n.t("compare_no_data", lang, first="", last="")[:12] in text for text in infos)
    entered = [link for link in at.get("page_link") if link.label == i18n.t("compare_enter_balance", lang)]
    assert [link.proto.page for link in entered] == ["ledger"]
    assert [b.label for b in at.get("download_button")] == [
        i18n.t("compare_download", lang),
        i18n.t("compare_download_units", lang),
    ]


def test_only_connections_without_a_balance_show_units_not_no_readings(db_path):
    account_id = demo_and_imported(db_path)
    at = compare(account_id, "en")
    at.multiselect(key="compare_connections").set_value(["204500001"]).run()
    assert not at.exception
    assert not [c for c in at.get("plotly_chart") if "compare_chart" in c.proto.id]
    assert [t["name"] for t in value_traces(chart_spec(at, "compare_units_chart"))] == ["Godown"]
    infos = [i.value for i in at.info]
    assert i18n.t("compare_no_balance", "en", names="Godown") in infos
    assert not [text for text in infos if text.startswith("No readings")]
    at.radio(key="compare_metric").set_value("units").run()  # units need no balance: one chart, no note
    assert [t["name"] for t in value_traces(chart_spec(at))] == ["Godown"]
    assert not [c for c in at.get("plotly_chart") if "compare_units_chart" in c.proto.id]
    assert i18n.t("compare_no_balance", "en", names="Godown") not in [i.value for i in at.info]


# --- net metering (issue 11 section 1: Overview and Compare show import, export and net) ---------------


def demo_and_rooftop(db_path: Path) -> int:
    """The demo household and "Rooftop": 22-24 Nov, each half hour 0.25 kWh drawn and 0.5 kWh sent."""
    account_id = household(db_path, 3)
    start = dt.datetime(2026, 11, 22, tzinfo=clock.IST)
    with storage.open_db(db_path) as conn, storage.transaction(conn):
        add_consumer(conn, "204600001", tariff_category="DS-II", sanctioned_load_kw=3.0, is_demo=1)
        storage.accounts.insert_link(conn, account_id, "204600001", "Rooftop")
        rows = [
            ("204600001", clock.to_ts(start + dt.timedelta(minutes=30 * i)), 0.25, None, 0.5)
            for i in range(3 * 48)
        ]
        storage.readings.insert_readings(conn, rows)
        storage.readings.refresh_daily(conn, "204600001")
        storage.meta.bump_data_version(conn)
    return account_id


@pytest.mark.parametrize("lang", ["hi", "en"])
def test_units_of_a_net_metered_connection_show_drawn_sent_and_net(db_path, lang):
    at = compare(demo_and_rooftop(db_path), lang)
    at.radio(key="compare_metric").set_value("units").run()
    assert not at.exception
    assert "Rooftop" in [t["name"] for t in value_traces(chart_spec(at))]
    sent = chart_spec(at, "compare_export_chart")
    assert sent["layout"]["title"]["text"] == i18n.t("net_export_chart_title", lang)
    (rooftop,) = value_traces(sent)
    assert rooftop["name"] == "Rooftop"
    assert sum(v for v in rooftop["y"] if v is not None) == pytest.approx(3 * 48 * 0.5)
    assert i18n.t("net_compare_title", lang) in [h.value for h in at.subheader]
    (table,) = [table for table in tables(at) if i18n.t("net_col_net", lang) in table.columns]
    assert table.align == ("left", "right", "right", "right")  # a Markdown table (lib.ui.widgets.draw_table)
    assert table.rows == (
        (
            "Rooftop",
            i18n.format_number(36.0, lang, decimals=1),
            i18n.format_number(72.0, lang, decimals=1),
            i18n.format_number(-36.0, lang, decimals=1),
        ),
    )
    assert not at.dataframe  # no Arrow element: the browser need not load Streamlit's Arrow code
    at.radio(key="compare_metric").set_value("balance").run()  # export is energy: only under units
    assert not [c for c in at.get("plotly_chart") if "compare_export_chart" in c.proto.id]


def test_a_removed_connection_leaves_the_cached_view_on_the_next_run(db_path):
    """The Compare view is cached whole and shared (loaders.cached_view), but keyed by the connections
    the run's uncached authorization allows: a removed link is gone from the chart, the tables and the
    CSV on the next run, and a view seen before the removal is not served again."""
    account_id = household(db_path, 3)
    at = compare(account_id, "en")
    assert not at.exception
    ids = sorted({t["meta"]["consumer_id"] for t in value_traces(chart_spec(at))})
    assert len(ids) == 3
    with storage.open_db(db_path) as conn:
        nickname = next(
            link["nickname"]
            for link in storage.accounts.linked_connections(conn, account_id)
            if link["consumer_id"] == ids[1]
        )
        assert storage.accounts.delete_link(conn, account_id, ids[1])
    at.run()
    assert not at.exception
    assert sorted({t["meta"]["consumer_id"] for t in value_traces(chart_spec(at))}) == [ids[0], ids[2]]
    shown = [cell for table in tables(at) for cell in table.cells()] + [str(t.value) for t in at.dataframe]
    assert shown and not any(nickname in text for text in shown)


@pytest.mark.parametrize(
    ("connections", "lang", "digits", "phone"),
    [
        (1, "en", False, False),
        (3, "hi", True, False),
        (3, "hi", False, False),
        (3, "en", False, True),
        ("imported", "en", False, False),
    ],
)
def test_the_overview_prepares_the_first_compare(
    db_path, monkeypatch, caplog, connections, lang, digits, phone
):
    """A household's Overview works out what its first Compare shows (issue 15: the view, the period's
    frames and the charts' figures, cached), so the switch to Compare builds none of them; and what
    Compare then draws is what it draws when opened first, caches cold (the same figures, CSVs and
    tables). "imported": the demo household and a connection without a balance (its units chart too)."""
    from lib import charts
    from lib.ui import loaders

    monkeypatch.setattr(compare_page, "is_phone", lambda: phone)  # the compact toggle's default follows it
    built: list[str] = []

    def counting(module, name):
        original = getattr(module, name)

        def wrapper(*args, **kwargs):
            built.append(name)
            return original(*args, **kwargs)

        monkeypatch.setattr(module, name, wrapper)

    for name in ("_build_view", "_build_period", "_tables", "csv_bytes"):
        counting(compare_page, name)
    counting(charts, "compare_figure")
    csvs: list[bytes] = []
    original_csv = compare_page.downloads.csv_download
    monkeypatch.setattr(
        compare_page.downloads,
        "csv_download",
        lambda label, data, **kwargs: (csvs.append(data), original_csv(label, data, **kwargs))[1],
    )
    account_id = demo_and_imported(db_path) if connections == "imported" else household(db_path, connections)
    chart_keys = ["compare_chart", "compare_units_chart"] if connections == "imported" else ["compare_chart"]

    def session(first_page: str | None) -> AppTest:
        at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=60)
        at.session_state["account_id"] = account_id
        at.session_state["lang"] = lang
        at.session_state["devanagari_digits"] = digits
        if first_page:
            at.switch_page(first_page)
        at.run()
        assert not at.exception
        return at

    def drawn(at: AppTest) -> tuple:
        assert len(csvs) == len(chart_keys)  # this run's downloads, one a chart
        return [chart_spec(at, key) for key in chart_keys], list(csvs), tables(at)

    for cache in loaders.VIEW_CACHES:
        cache.clear()
    csvs.clear()
    alone = drawn(session("pages/compare.py"))  # Compare opened first: it builds its own view
    assert "_build_view" in built and built.count("compare_figure") == len(chart_keys)
    for cache in loaders.VIEW_CACHES:
        cache.clear()
    built.clear()
    at = session(None)  # the Overview
    # its own chart and Compare's
    assert {"_build_view", "_tables", "csv_bytes"} <= set(built)
    assert built.count("compare_figure") == 1 + len(chart_keys)
    built.clear()
    csvs.clear()
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert built == []  # nothing of the first Compare worked out while the household waits
    assert drawn(at) == alone
    assert at.toggle(key="compare_compact").value is phone
    assert not [
        r for r in caplog.records if r.name == compare_page.__name__
    ]  # nothing failed, nothing logged
