"""lib.charts: panels, traces, titles, colours, Hindi text and the figure size bound."""

from __future__ import annotations

import datetime as dt
import json
import random
import re

import pandas as pd
import pytest

from lib import analytics, charts, forecast, i18n, ledger, storage
from lib.clock import IST, to_ts
from lib.storage.engine import transaction
from lib.ui.compare import effective_granularity
from tests.hover import hover_labels, reference_labels

NICKNAMES = ["Home", "Shop", "Village home", "Pump", "Tenant"]


def series_for(ids: list[str], values: list[list[float | None]], start: str = "2026-11-20", recharge_at=None):
    """A compare_series-shaped frame: one row per connection per day from ``start``."""
    rows = []
    for cid, own in zip(ids, values, strict=True):
        for index, value in enumerate(own):
            rows.append(
                {
                    "consumer_id": cid,
                    "nickname": NICKNAMES[ids.index(cid)],
                    "period": pd.Timestamp(start) + pd.Timedelta(days=index),
                    "value": float("nan") if value is None else value,
                    "recharge_inr": 500.0 if recharge_at == (cid, index) else 0.0,
                    "days_with_data": 0 if value is None else 1,
                    "days": 1,
                }
            )
    return pd.DataFrame(rows)


def spec(fig) -> dict:
    return json.loads(fig.to_json())


def test_connection_colours_follow_link_order_and_never_change_with_the_selection():
    every = charts.connection_colours(["a", "b", "c"])
    assert len(set(every.values())) == 3
    fig = charts.compare_figure(
        series_for(["c"], [[10.0, 9.0]]), metric="units", granularity="day", lang="en", colours=every
    )
    assert fig.data[0].marker.color == every["c"]
    many = charts.connection_colours([str(i) for i in range(len(charts.PALETTE) + 1)])
    assert many["0"] == many[str(len(charts.PALETTE))]  # cycles after the palette


def test_side_by_side_panels_wrap_into_rows():
    ids = ["1", "2", "3", "4", "5"]
    data = series_for(ids, [[100.0, 90.0, 80.0]] * 5)
    colours = charts.connection_colours(ids)
    fig = charts.compare_figure(
        data, metric="balance", granularity="day", lang="en", colours=colours, columns=2
    )
    layout = spec(fig)["layout"]
    titles = [a["text"] for a in layout["annotations"]]
    assert titles == NICKNAMES
    assert {trace.line.color for trace in fig.data} == set(colours.values())
    assert [trace.xaxis for trace in fig.data] == ["x", "x2", "x3", "x4", "x5"]
    # 3 rows of 2: panel 5 sits in row 3, below panels 1 and 3.
    assert layout["yaxis5"]["domain"][1] < layout["yaxis3"]["domain"][0] < layout["yaxis"]["domain"][0]
    assert layout["yaxis2"]["matches"] == "y" and not layout["showlegend"]
    phone = charts.compare_figure(
        data, metric="balance", granularity="day", lang="en", colours=colours, columns=1
    )
    assert phone.layout.height > fig.layout.height
    assert [trace.xaxis for trace in phone.data] == ["x", "x2", "x3", "x4", "x5"]
    assert spec(phone)["layout"]["xaxis5"]["domain"] == spec(phone)["layout"]["xaxis"]["domain"]


def test_independent_y_axes_when_not_shared():
    data = series_for(["1", "2"], [[100.0], [5.0]])
    fig = charts.compare_figure(
        data, metric="units", granularity="day", lang="en", colours={}, columns=2, shared_y=False
    )
    assert "matches" not in spec(fig)["layout"]["yaxis2"]
    assert "showticklabels" not in spec(fig)["layout"]["yaxis2"]  # its own scale: its own labels


@pytest.mark.parametrize("lang", ["en", "hi"])
def test_a_shared_scale_is_labelled_once_a_row(lang):
    """Panels sharing one scale show its labels at each row's left only: on a phone with compact off
    (three panels in 390 px) the second and third panels' labels sat over the panel beside them."""
    data = series_for([str(n) for n in range(1, 6)], [[100.0, 2400.0]] * 5)
    try:
        _with_digits(lang == "hi")  # Hindi with its own digits: the ticks are given as text then
        fig = charts.compare_figure(
            data, metric="balance", granularity="day", lang=lang, colours={}, columns=3, phone=True
        )
    finally:
        _with_digits(False)
    layout = spec(fig)["layout"]
    shown = [layout[f"yaxis{n if n > 1 else ''}"].get("showticklabels", True) for n in range(1, 6)]
    assert shown == [True, False, False, True, False]  # panels 1 and 4 begin the two rows
    assert all(layout[f"yaxis{n}"]["matches"] == "y" for n in range(2, 6))


def test_overlay_is_one_axis_with_a_legend():
    data = series_for(["1", "2", "3"], [[1.0, 2.0]] * 3)
    fig = charts.compare_figure(
        data,
        metric="units",
        granularity="day",
        lang="en",
        colours=charts.connection_colours(["1", "2", "3"]),
        layout="overlay",
    )
    layout = spec(fig)["layout"]
    assert "xaxis2" not in layout and layout["showlegend"]
    assert [trace.name for trace in fig.data] == NICKNAMES[:3]
    assert {trace.type for trace in fig.data} == {"bar"}
    assert layout["yaxis"]["title"]["text"] == "Units per day (kWh)"


def test_gaps_stay_gaps_in_the_figure():
    fig = charts.compare_figure(
        series_for(["1"], [[100.0, None, 80.0]]), metric="balance", granularity="day", lang="en", colours={}
    )
    line = fig.data[0]
    assert line.y == (100.0, None, 80.0) and line.connectgaps is False


def test_recharge_markers_run_out_projection_and_cut_shading():
    ids = ["1"]
    data = series_for(ids, [[300.0, 200.0, 600.0, 500.0]], start="2026-11-22", recharge_at=("1", 2))
    forecast = pd.DataFrame(
        {
            "consumer_id": ["1"],
            "balance_inr": [500.0],
            "balance_day": [pd.Timestamp("2026-11-25")],
            "run_out_day": [pd.Timestamp("2026-11-30")],
        }
    )
    episodes = pd.DataFrame(
        {"consumer_id": ["1"], "start": [pd.Timestamp("2026-11-22")], "end": [pd.Timestamp("2026-11-23")]}
    )
    fig = charts.compare_figure(
        data,
        metric="balance",
        granularity="day",
        lang="en",
        colours={"1": "#123456"},
        forecast=forecast,
        episodes=episodes,
        first_day=dt.date(2026, 11, 22),
        last_day=dt.date(2026, 11, 25),
    )
    kinds = {trace.meta["kind"]: trace for trace in fig.data}
    assert kinds["recharge"].x == ("2026-11-24",) and kinds["recharge"].marker.symbol == "triangle-up"
    assert hover_labels(spec(fig)["data"][1]) == [("24 Nov 2026<br>Recharge ₹500.00", "Home")]
    run_out = kinds["run_out"]
    assert (
        run_out.line.dash == "dash"
        and run_out.x == ("2026-11-25", "2026-11-30")
        and run_out.y == (500.0, 0.0)
    )
    assert run_out.line.color == "#123456"
    shapes = spec(fig)["layout"]["shapes"]
    assert [(s["x0"], s["x1"]) for s in shapes] == [("2026-11-22", "2026-11-24")]


def test_a_far_run_out_is_drawn_only_a_third_of_the_range_ahead():
    # 30 days shown (27 Oct - 25 Nov): at most 10 days ahead, to 5 Dec. ₹600 lasting 60 days (to
    # 24 Jan) falls by ₹10 a day: ₹500 on 5 Dec. The hover still names the real run-out day.
    forecast = pd.DataFrame(
        {
            "consumer_id": ["1"],
            "balance_inr": [600.0],
            "balance_day": [pd.Timestamp("2026-11-25")],
            "run_out_day": [pd.Timestamp("2027-01-24")],
        }
    )
    fig = charts.compare_figure(
        series_for(["1"], [[600.0] * 30], start="2026-10-27"),
        metric="balance",
        granularity="day",
        lang="en",
        colours={},
        forecast=forecast,
        first_day=dt.date(2026, 10, 27),
        last_day=dt.date(2026, 11, 25),
    )
    run_out = next(trace for trace in fig.data if trace.meta["kind"] == "run_out")
    assert run_out.x == ("2026-11-25", "2026-12-05") and run_out.y == (600.0, 500.0)
    assert run_out.hovertemplate.startswith("Expected to run out on 24 Jan 2027<extra>")


def test_the_projection_follows_the_simulated_path_flat_while_free_units_last():
    # The forecast's path (lib.forecast.simulate): 26 Nov takes ₹30, 27-30 Nov nothing (free units),
    # then ₹20 a day: the dashed line has corners where the slope changes, not one straight slope.
    days = pd.date_range("2026-11-26", "2026-12-05")
    closing = [270.0, 270.0, 270.0, 270.0, 270.0, 250.0, 230.0, 210.0, 190.0, 170.0]
    projection = pd.DataFrame({"consumer_id": "1", "day": days, "closing_inr": closing})
    forecast = pd.DataFrame(
        {
            "consumer_id": ["1"],
            "balance_inr": [300.0],
            "balance_day": [pd.Timestamp("2026-11-25")],
            "run_out_day": [pd.Timestamp("2026-12-14")],
        }
    )
    fig = charts.compare_figure(
        series_for(["1"], [[300.0] * 30], start="2026-10-27"),
        metric="balance",
        granularity="day",
        lang="en",
        colours={},
        forecast=forecast,
        projection=projection,
        first_day=dt.date(2026, 10, 27),
        last_day=dt.date(2026, 11, 25),
    )
    run_out = next(trace for trace in fig.data if trace.meta["kind"] == "run_out")
    assert run_out.x == ("2026-11-25", "2026-11-26", "2026-11-30", "2026-12-05")
    assert run_out.y == (300.0, 270.0, 270.0, 170.0)
    assert run_out.line.dash == "dash"


def test_no_projection_when_the_data_stop_long_before_the_range_ends():
    forecast = pd.DataFrame(
        {
            "consumer_id": ["1"],
            "balance_inr": [500.0],
            "balance_day": [pd.Timestamp("2026-11-01")],
            "run_out_day": [pd.Timestamp("2026-11-30")],
        }
    )
    fig = charts.compare_figure(
        series_for(["1"], [[500.0]], start="2026-11-01"),
        metric="balance",
        granularity="day",
        lang="en",
        colours={},
        forecast=forecast,
        last_day=dt.date(2026, 11, 25),
    )
    assert [trace.meta["kind"] for trace in fig.data] == ["value"]


def test_hindi_titles_ticks_and_hover_with_indian_grouping():
    data = series_for(["1"], [[123456.5] * 90], start="2026-08-01")
    fig = charts.compare_figure(
        data,
        metric="balance",
        granularity="day",
        lang="hi",
        colours={},
        first_day=dt.date(2026, 8, 1),
        last_day=dt.date(2026, 10, 29),
    )
    assert fig.layout.title.text == "बैलेंस (₹)"
    assert fig.layout.xaxis.ticktext == ("अग॰ 2026", "सित॰", "अक्टू॰")
    assert fig.layout.xaxis.tickvals == ("2026-08-01", "2026-09-01", "2026-10-01")
    assert hover_labels(spec(fig)["data"][0])[0] == ("1 अग॰ 2026<br>₹1,23,456.50", "Home")


def test_week_and_month_hover_labels_and_units_template():
    data = series_for(["1"], [[12.25]], start="2026-11-23")
    fig = charts.compare_figure(data, metric="units", granularity="week", lang="hi", colours={})
    # The fixed clock's today (25 Nov 2026) falls in this week: it is marked as not over.
    note = i18n.t("chart_period_so_far", "hi")
    assert [label for label, _ in hover_labels(spec(fig)["data"][0])] == [
        f"23 नव॰ 2026 वाला सप्ताह<br>{note}<br>12.3 यूनिट (kWh)"  # plotly rounds a tie up (toFixed)
    ]
    assert "%{y:.1f} यूनिट (kWh)" in fig.data[0].hovertemplate
    assert charts.period_label(dt.date(2026, 1, 1), "month", "en") == "January 2026"


def test_date_ticks_for_short_and_long_ranges():
    vals, text = charts.date_ticks(dt.date(2026, 11, 19), dt.date(2026, 11, 25), "en")
    assert len(vals) == 7 and text[0] == "19 Nov"
    vals, text = charts.date_ticks(dt.date(2026, 10, 27), dt.date(2026, 11, 25), "hi")
    assert vals[0] == "2026-11-02" and text[0] == "2 नव॰"  # Mondays
    vals, text = charts.date_ticks(dt.date(2025, 11, 26), dt.date(2026, 11, 25), "en")
    assert text[:3] == ["Dec 2025", "Jan 2026", "Feb"] and len(vals) == 12
    vals, text = charts.date_ticks(dt.date(2025, 11, 26), dt.date(2026, 11, 25), "hi", most=6)
    assert vals == ["2025-12-01", "2026-02-01", "2026-04-01", "2026-06-01", "2026-08-01", "2026-10-01"]
    assert text[:2] == ["दिस॰ 2025", "फ़र॰ 2026"] and text[2] == "अप्रैल"  # the year where it changes
    vals, text = charts.date_ticks(dt.date(2026, 8, 28), dt.date(2026, 10, 26), "en", most=4)
    assert vals == ["2026-08-31", "2026-09-21", "2026-10-12"]  # 9 Mondays: every third
    vals, text = charts.date_ticks(dt.date(2026, 10, 27), dt.date(2026, 11, 30), "en", most=4)
    assert text == ["2 Nov", "9 Nov", "16 Nov", "23 Nov", "30 Nov"]  # 5 day labels fit where 4 months do
    vals, text = charts.date_ticks(dt.date(2024, 11, 26), dt.date(2026, 11, 25), "en")  # every third month
    assert text == ["Dec 2024", "Mar 2025", "Jun", "Sept", "Dec", "Mar 2026", "Jun", "Sept"]


@pytest.mark.parametrize(
    ("columns", "phone", "shown"), [(3, False, 4), (2, False, 6), (1, False, 12), (1, True, 4), (3, True, 2)]
)
def test_a_years_date_labels_fit_under_each_panel(columns, phone, shown):
    """A year of weeks on panels a third of the page wide (or a phone's): every third month, not twelve month
    names that plotly would turn on their side and cut off (issue 15); every panel's x-axis the same."""
    weeks = [float(v) for v in range(53)]
    data = series_for(["1", "2", "3"], [weeks, weeks, weeks], start="2025-11-24")
    data["period"] = pd.Timestamp("2025-11-24") + pd.to_timedelta(
        data.groupby("consumer_id").cumcount() * 7, "D"
    )
    fig = charts.compare_figure(
        data,
        metric="units",
        granularity="week",
        lang="en",
        colours={},
        columns=columns,
        phone=phone,
        first_day=dt.date(2025, 11, 26),
        last_day=dt.date(2026, 11, 25),
        today=dt.date(2026, 11, 25),
    )
    axes = [fig.layout[name] for name in ("xaxis", "xaxis2", "xaxis3") if fig.layout[name] is not None]
    assert len(axes) == 3
    assert len(axes[0].tickvals) == shown
    assert all(axis.tickvals == axes[0].tickvals and axis.ticktext == axes[0].ticktext for axis in axes)
    assert axes[0].ticktext[0] == "Dec 2025"


def test_user_nicknames_are_not_markup():
    data = series_for(["1", "2"], [[1.0], [2.0]])
    data.loc[data["consumer_id"] == "1", "nickname"] = "<b>Home</b> %{x}"
    fig = charts.compare_figure(data, metric="units", granularity="day", lang="en", colours={}, columns=2)
    assert fig.layout.annotations[0].text == "&lt;b&gt;Home&lt;/b&gt; %&#123;x}"
    assert fig.data[0].name == "&lt;b&gt;Home&lt;/b&gt; %&#123;x}"
    assert "<b>" not in fig.data[0].hovertemplate


def test_hour_profile_figure():
    profile = pd.DataFrame(
        {
            "day_type": ["weekday", "weekday", "weekend"],
            "hour": [0, 1, 0],
            "kwh": [0.5, 0.25, 1.0],
            "days": [5, 5, 2],
        }
    )
    fig = charts.hour_profile_figure(profile, lang="hi", colour="#0072B2", name="Home")
    assert [trace.name for trace in fig.data] == ["सोमवार–शुक्रवार", "शनिवार और रविवार"]
    assert fig.data[1].line.dash == "dot" and fig.layout.xaxis.title.text == "दिन का घंटा"


@pytest.fixture(scope="module")
def year_of_readings(tmp_path_factory) -> tuple[str, int]:
    """Five connections × 365 days × 48 readings (87,600 rows), recharges when the balance runs low."""
    path = str(tmp_path_factory.mktemp("year") / "year.db")
    rng = random.Random(7)
    conn = storage.connect(path)
    storage.migrate(conn)
    account = storage.accounts.create_account(conn, "+919876500000", now="2026-01-01T00:00:00Z")
    start = dt.datetime(2025, 11, 26, tzinfo=IST)
    for index, nickname in enumerate(NICKNAMES):
        cid = f"C{index}"
        storage.consumers.upsert_consumers(
            conn, [{"consumer_id": cid, "name": nickname, "registered_mobile": "+919876500000", "is_demo": 1}]
        )
        balance, rows, paid = 3000.0, [], []
        for step in range(365 * 48):
            ts = start + dt.timedelta(minutes=30 * step)
            energy = round(rng.uniform(0.05, 0.4), 3)
            balance -= energy * 6
            if balance < 200:
                balance += 2000
                paid.append({"consumer_id": cid, "ts": to_ts(ts), "amount_inr": 2000.0})
            rows.append((cid, to_ts(ts), energy, round(balance, 2)))
        with transaction(conn):
            storage.accounts.insert_link(conn, account, cid, nickname, now=f"2026-01-01T00:0{index}:00Z")
            storage.readings.insert_readings(conn, rows)
            storage.readings.insert_recharges(conn, paid)
            storage.readings.refresh_daily(conn, cid)
    conn.close()
    return path, account


@pytest.mark.parametrize("metric", analytics.METRICS)
@pytest.mark.parametrize("chosen", ["auto", "day"])
def test_a_year_of_half_hours_for_five_connections_stays_under_200_kb(year_of_readings, metric, chosen):
    path, account = year_of_readings
    first, last = dt.date(2025, 11, 26), dt.date(2026, 11, 25)
    with storage.open_db(path) as conn:
        daily = storage.readings.daily_frame(
            conn, account, None, str(first - dt.timedelta(days=1)), str(last)
        )
        raw_points = conn.execute("SELECT count(*) FROM readings").fetchone()[0]
        outlook = forecast.simulate(
            ledger.load_ledger(conn, account, today=last), conn.accounts.connection_details(account), last
        )
    assert raw_points == 5 * 365 * 48
    ids = [f"C{i}" for i in range(5)]
    granularity, _ = effective_granularity(chosen, first, last, len(ids))
    series = analytics.compare_series(daily, metric, granularity, first, last, ids)
    fig = charts.compare_figure(
        series,
        metric=metric,
        granularity=granularity,
        lang="hi",  # Hindi text is the larger (escaped) one
        colours=charts.connection_colours(ids),
        forecast=outlook.summary,
        projection=outlook.path,
        episodes=analytics.disconnection_episodes(daily),
        first_day=first,
        last_day=last,
    )
    assert len(fig.data[0].x) == (365 if granularity == "day" else 53)
    assert charts.figure_json_size(fig) < 200_000


@pytest.mark.parametrize("metric", ["units", "spend"])
def test_bars_carry_no_text_labels_but_keep_the_hover(metric):
    data = series_for(["1", "2"], [[3.0, 4.0, 5.0], [1.0, 2.0, 3.0]], start="2026-11-20")
    fig = charts.compare_figure(data, metric=metric, granularity="day", lang="en", colours={})
    bars = [trace for trace in fig.data if trace.type == "bar"]
    assert len(bars) == 2
    for bar in bars:
        assert bar.textposition == "none"
        assert bar.text[0].startswith("20 Nov 2026")  # the hover still names the day
        assert spec(fig)["data"][0]["textposition"] == "none"


def test_todays_partial_bar_is_lighter_hatched_and_says_so_far():
    # The fixed clock (conftest) is 25 Nov 2026 IST: the last of these five days is today.
    data = series_for(["1"], [[6.0, 5.0, 6.5, 5.5, 1.25]], start="2026-11-21")
    fig = charts.compare_figure(
        data, metric="units", granularity="day", lang="hi", colours={}, last_day=dt.date(2026, 11, 25)
    )
    bar = fig.data[0]
    assert list(bar.marker.opacity) == [1.0, 1.0, 1.0, 1.0, charts.SO_FAR_OPACITY]
    assert list(bar.marker.pattern.shape) == ["", "", "", "", "/"]
    note = i18n.t("chart_today_so_far", "hi")
    labels = [label for label, _ in hover_labels(spec(fig)["data"][0])]
    assert note in labels[-1] and all(note not in label for label in labels[:-1])


def test_a_range_that_ended_before_today_has_no_so_far_mark():
    data = series_for(["1"], [[6.0, 5.0]], start="2026-11-01")
    fig = charts.compare_figure(data, metric="spend", granularity="day", lang="en", colours={})
    assert fig.data[0].marker.opacity is None and fig.data[0].marker.pattern.shape is None
    assert all("so far" not in label for label, _ in hover_labels(spec(fig)["data"][0]))
    explicit = charts.compare_figure(
        data, metric="spend", granularity="day", lang="en", colours={}, today=dt.date(2026, 11, 2)
    )
    assert list(explicit.data[0].marker.opacity) == [1.0, charts.SO_FAR_OPACITY]


def test_so_far_periods_of_each_granularity():
    today = dt.date(2026, 11, 25)  # a Wednesday
    assert charts.is_so_far(dt.date(2026, 11, 23), "week", today)
    assert not charts.is_so_far(dt.date(2026, 11, 16), "week", today)
    assert charts.is_so_far(dt.date(2026, 11, 1), "month", today)
    assert not charts.is_so_far(dt.date(2025, 11, 1), "month", today)
    assert not charts.is_so_far(dt.date(2026, 11, 24), "day", today)


@pytest.mark.parametrize("shared_x", [True, False])
@pytest.mark.parametrize(
    ("rows", "cols", "titles"), [(1, 2, 2), (1, 3, 3), (2, 2, 3), (2, 3, 6), (3, 1, 3), (4, 3, 12)]
)
def test_subplot_grid_lays_out_as_make_subplots(rows, cols, titles, shared_x):
    """compare_figure and the monthly-spend figure build their layout as data (issue 15): the same axes
    and titles as make_subplots, with all x-axes shared (Compare) or each panel its own (monthly spend)."""
    from plotly.subplots import make_subplots

    names = [f"P{i}" for i in range(titles)]
    spacing = {
        "vertical_spacing": min(0.12, 0.35 / rows) if rows > 1 else 0.1,
        "horizontal_spacing": 0.06 if cols > 1 else 0.0,
    }
    shared = {"shared_xaxes": "all"} if shared_x else {}
    reference = make_subplots(rows=rows, cols=cols, subplot_titles=names, **shared, **spacing)
    expected = reference.to_dict()["layout"]
    expected.pop("template")
    grid = charts.subplot_grid(rows, cols, names, **spacing, shared_x=shared_x)
    assert set(grid) == set(expected)
    for key, value in expected.items():
        if key == "annotations":
            for mine, theirs in zip(grid[key], value, strict=True):
                assert {k: v for k, v in mine.items() if k not in "xy"} == {
                    k: v for k, v in theirs.items() if k not in "xy"
                }
                assert mine["x"] == pytest.approx(theirs["x"]) and mine["y"] == pytest.approx(theirs["y"])
        else:
            assert {k: v for k, v in grid[key].items() if k != "domain"} == {
                k: v for k, v in value.items() if k != "domain"
            }
            assert grid[key]["domain"] == pytest.approx(value["domain"], abs=1e-12)


@pytest.mark.parametrize("lang", ["hi", "en"])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
def test_a_bar_chart_says_the_period_each_bar_sums(lang, granularity):
    """Issue 14 §4: a weekly ₹600 read as ₹600 a day; the title names the period of the bars."""
    data = series_for(["1"], [[600.0]], start="2026-11-02")
    for metric in ("spend", "units"):
        fig = charts.compare_figure(data, metric=metric, granularity=granularity, lang=lang, colours={})
        assert fig.layout.title.text == i18n.t(f"chart_title_{metric}_{granularity}", lang)
    balance = charts.compare_figure(data, metric="balance", granularity="week", lang=lang, colours={})
    assert balance.layout.title.text == i18n.t("chart_title_balance", lang)


def _with_digits(enabled: bool):
    i18n.use_devanagari_digits(enabled)


@pytest.mark.parametrize("shared_y", [True, False])
def test_axis_ticks_in_devanagari_digits_when_the_reader_chose_them(shared_y):
    """Issue 14 §5: plotly writes tick labels in Latin digits; with १२३ chosen every axis gets its ticks
    as text (₹ in Indian grouping), and without the choice the axes are left to plotly as before."""
    data = series_for(["1", "2"], [[2480.0, 2300.0], [120.0, 90.0]], start="2026-11-23")
    args = dict(metric="balance", granularity="day", colours={}, columns=2, shared_y=shared_y)
    try:
        _with_digits(True)
        fig = charts.compare_figure(data, lang="hi", **args)
        latin = charts.compare_figure(data, lang="en", **args)
    finally:
        _with_digits(False)
    layout = spec(fig)["layout"]
    for axis in ("yaxis", "yaxis2"):
        assert layout[axis]["ticktext"], axis
        assert all(not any(c.isascii() and c.isdigit() for c in text) for text in layout[axis]["ticktext"])
        assert "tickprefix" not in layout[axis]
    assert layout["yaxis"]["ticktext"][:2] == ["₹०", "₹५००"]
    top = "₹२,५००" if shared_y else "₹२,५००"
    assert top in layout["yaxis"]["ticktext"]
    if not shared_y:  # each panel its own ticks: the village's ₹120 gets a ₹20 or ₹50 step, not ₹500
        assert layout["yaxis2"]["ticktext"][-1] != layout["yaxis"]["ticktext"][-1]
    assert all(not any(c.isascii() and c.isdigit() for c in text) for text in layout["xaxis"]["ticktext"])
    # English (or Hindi without the choice): plotly's own ticks, the ₹ prefix as before.
    assert "ticktext" not in spec(latin)["layout"]["yaxis"]
    assert spec(latin)["layout"]["yaxis"]["tickprefix"] == "₹"


def test_units_hover_and_hour_profile_ticks_in_devanagari_digits():
    data = series_for(["1"], [[12.4]], start="2026-11-20")
    profile = pd.DataFrame({"day_type": ["weekday"] * 2, "hour": [0, 12], "kwh": [0.5, 1.5], "days": [5, 5]})
    try:
        _with_digits(True)
        fig = charts.compare_figure(data, metric="units", granularity="day", lang="hi", colours={})
        hours = charts.hour_profile_figure(profile, lang="hi", colour="#0072B2", name="Home")
    finally:
        _with_digits(False)
    assert "%{y" not in fig.data[0].hovertemplate  # the value is written by us, not by plotly
    assert hover_labels(spec(fig)["data"][0])[0] == ("२० नव॰ २०२६<br>१२.४ यूनिट (kWh)", "Home")
    assert hours.layout.xaxis.ticktext[:2] == ("००:००", "०३:००")
    assert all(not any(c.isascii() and c.isdigit() for c in t) for t in hours.layout.yaxis.ticktext)


def test_captions_name_what_the_balance_chart_draws():
    """Issue 14 §4: the dashed forecast, the recharge markers and shaded cut-off days are explained under
    the chart, and only when drawn."""
    data = series_for(["1"], [[600.0, 580.0, 1080.0]], start="2026-11-23", recharge_at=("1", 2))
    forecast_frame = pd.DataFrame(
        {
            "consumer_id": ["1"],
            "balance_inr": [1080.0],
            "balance_day": [pd.Timestamp("2026-11-25")],
            "run_out_day": [pd.Timestamp("2027-01-24")],
            "days_left": [60.0],
        }
    )
    episodes = pd.DataFrame(
        {"consumer_id": ["1"], "start": [pd.Timestamp("2026-11-23")], "end": [pd.Timestamp("2026-11-23")]}
    )
    args = dict(metric="balance", granularity="day", lang="en", colours={})
    full = charts.compare_figure(data, forecast=forecast_frame, episodes=episodes, **args)
    assert charts.caption_keys(full) == ["chart_caption_forecast", "chart_caption_recharge", "chart_cut"]
    plain = charts.compare_figure(series_for(["1"], [[600.0, 580.0]], start="2026-11-20"), **args)
    assert charts.caption_keys(plain) == []
    bars = charts.compare_figure(data, metric="units", granularity="day", lang="en", colours={})
    assert charts.caption_keys(bars) == ["chart_caption_so_far"]  # 25 Nov is today: not over


def test_a_balance_that_outlasts_the_horizon_is_drawn_and_says_so():
    """Issue 14 §5: a forecast that never runs out within its year draws its path, labelled as such."""
    data = series_for(["1"], [[171.0, 171.0, 171.0]], start="2026-11-23")
    forecast_frame = pd.DataFrame(
        {
            "consumer_id": ["1"],
            "balance_inr": [171.0],
            "balance_day": [pd.Timestamp("2026-11-25")],
            "run_out_day": [pd.NaT],
            "days_left": [float("inf")],
        }
    )
    projection = pd.DataFrame(
        {"consumer_id": "1", "day": pd.date_range("2026-11-26", periods=366), "closing_inr": 171.0}
    )
    for lang in ("hi", "en"):
        fig = charts.compare_figure(
            data,
            metric="balance",
            granularity="day",
            lang=lang,
            colours={},
            forecast=forecast_frame,
            projection=projection,
        )
        (lasts,) = [t for t in fig.data if t.meta["kind"] == "lasts"]
        assert lasts.line.dash == "dash" and set(lasts.y) == {171.0}
        assert lasts.hovertemplate.startswith(i18n.t("chart_lasts_beyond_year", lang))
        assert charts.caption_keys(fig) == ["chart_caption_forecast"]
    without = charts.compare_figure(
        data, metric="balance", granularity="day", lang="en", colours={}, forecast=forecast_frame
    )
    assert not [t for t in without.data if t.meta["kind"] in ("lasts", "run_out")]


# --- hover texts (issue 15, h47): what the reader sees is unchanged, fewer bytes per point ----------


def _hover_series(granularity: str, metric: str) -> tuple[pd.DataFrame, dt.date]:
    """Four connections over five periods of ``granularity``, the last one not over yet (returned today):
    amounts plotly can write (0 to ₹99,999.99), negatives and -0.0, lakhs, a gap; recharges of each kind."""
    starts = {"day": "2026-11-21", "week": "2026-10-26", "month": "2026-07-01"}
    step = {"day": pd.DateOffset(days=1), "week": pd.DateOffset(weeks=1), "month": pd.DateOffset(months=1)}
    periods = [pd.Timestamp(starts[granularity]) + step[granularity] * i for i in range(5)]
    if metric == "units":
        values = {"1": [12.25, 0.4, None, 1234.5, 3.0], "2": [0.05, 7.0, 8.96, 2.0, 0.0]}
    else:
        values = {
            "1": [477.53, 1234.5, 0.0, None, 99999.99],
            "2": [-20.02, 50.0, -0.0, 12.0, 3.0],
            "3": [123456.5, 200000.0, 99999.99, 5.0, 1.0],
            "4": [1.005, 2.675, 10.0, 20.0, 30.0],
        }
    recharges = {("1", 1): 500.0, ("2", 2): 333.335, ("3", 0): 150000.0, ("4", 4): 1999.99}
    rows = [
        {
            "consumer_id": cid,
            "nickname": NICKNAMES[int(cid) - 1],
            "period": period,
            "value": float("nan") if value is None else value,
            "recharge_inr": recharges.get((cid, index), 0.0) if metric == "balance" else 0.0,
            "days_with_data": 1,
            "days": 1,
        }
        for cid, own in values.items()
        for index, (period, value) in enumerate(zip(periods, own, strict=True))
    ]
    return pd.DataFrame(rows), periods[-1].date() + dt.timedelta(days=1)


@pytest.mark.parametrize(("lang", "digits"), [("en", False), ("hi", False), ("hi", True)])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("metric", ["balance", "spend", "units"])
def test_hover_shows_exactly_what_it_showed_before(metric, granularity, lang, digits):
    """Every hoverable point of every value and recharge trace shows the text the page's formatters write
    (date, week's wording, "so far", ₹ in Indian grouping, kWh, Devanagari digits when chosen), whether
    plotly formats the value or the point carries it (tests/hover.py renders the templates)."""
    data, today = _hover_series(granularity, metric)
    try:
        _with_digits(digits)
        fig = charts.compare_figure(
            data, metric=metric, granularity=granularity, lang=lang, colours={}, today=today
        )
        traces = spec(fig)["data"]
        checked = 0
        for trace in traces:
            if trace["meta"]["kind"] not in ("value", "recharge"):
                continue
            own = data[data["consumer_id"] == trace["meta"]["consumer_id"]]
            got = hover_labels(trace)
            assert got == reference_labels(trace, own, metric, granularity, lang, today)
            checked += sum(label is not None for label in got)
    finally:
        _with_digits(False)
    # every point with a value (9 units, 19 ₹), and the 4 recharges of the balance
    assert checked == {"units": 9, "spend": 19, "balance": 19 + 4}[metric]
    if digits:  # no Latin digit reaches the reader
        for trace in traces:
            for label in hover_labels(trace) if trace["meta"]["kind"] in ("value", "recharge") else []:
                assert label is None or not re.search("[0-9]", label[0].replace("(kWh)", "")), label


def test_points_carry_their_date_only_where_plotly_writes_the_value():
    """The bytes: a week's wording is in the template once, not on each point; a balance plotly can write
    (no minus, below ₹1,00,000, no Devanagari digits) carries no value text per point; otherwise the value
    text goes per point (customdata) as before."""
    data, today = _hover_series("week", "balance")
    fig = spec(
        charts.compare_figure(data, metric="balance", granularity="week", lang="en", colours={}, today=today)
    )
    by_id = {t["meta"]["consumer_id"]: t for t in fig["data"] if t["meta"]["kind"] == "value"}
    assert by_id["1"]["text"][0] == "26 Oct 2026" and "Week of %{text}" in by_id["1"]["hovertemplate"]
    assert "₹%{y:,.2f}" in by_id["1"]["hovertemplate"]
    assert by_id["1"]["customdata"] == ["", "", "", "", "<br>" + i18n.t("chart_period_so_far", "en")]
    assert "₹%{y:,.2f}" in by_id["4"]["hovertemplate"]  # half paise are rounded off before plotting
    for cid in ("2", "3"):  # a minus, lakhs: the page's text per point
        assert "%{y" not in by_id[cid]["hovertemplate"] and len(by_id[cid]["customdata"]) == 5
    recharges = {t["meta"]["consumer_id"]: t for t in fig["data"] if t["meta"]["kind"] == "recharge"}
    assert (
        recharges["1"]["customdata"] == [500.0] and "₹%{customdata:,.2f}" in recharges["1"]["hovertemplate"]
    )
    assert recharges["3"]["customdata"] == ["Recharge ₹1,50,000.00"]
    ended = spec(
        charts.compare_figure(
            data, metric="balance", granularity="week", lang="en", colours={}, today=dt.date(2027, 1, 1)
        )
    )
    assert "customdata" not in ended["data"][0]  # nothing open: no per-point note either


def _pandas_rows(self: charts.ConnectionRows, cid: str) -> pd.DataFrame:
    """The selection compare_figure made per connection before ConnectionRows (the reference)."""
    return self.frame[self.frame["consumer_id"].astype(str) == cid]


@pytest.mark.parametrize("seed", range(12))
def test_connection_rows_are_pandas_boolean_selection(seed):
    """ConnectionRows.rows gives the very frame the per-connection boolean selection gave: same rows,
    order, index (and its type) and dtypes; integer or text IDs, shuffled rows, a label index, no row."""
    rng = random.Random(seed)
    count = rng.choice([0, 1, 5, 40])
    ids = [rng.choice(["101", "202", "303"]) for _ in range(count)]
    frame = pd.DataFrame(
        {
            "consumer_id": [int(cid) for cid in ids] if seed % 3 == 0 else ids,
            "nickname": [f"n{cid}" for cid in ids],
            "value": [rng.choice([1.5, float("nan"), -0.0]) for _ in ids],
            "day": pd.to_datetime([f"2026-11-{rng.randint(1, 28):02d}" for _ in ids]),
        }
    )
    if seed % 2:
        frame = frame.set_index(pd.Index([rng.randint(0, 99) for _ in ids], dtype="int64"))
    split = charts.ConnectionRows(frame)
    for cid in ("101", "202", "303", "404"):
        got, want = split.rows(cid), _pandas_rows(split, cid)
        pd.testing.assert_frame_equal(got, want, check_exact=True, check_index_type=True)
        assert type(got.index) is type(want.index)
    assert split.ids == list(frame["consumer_id"].astype(str))


@pytest.fixture(scope="module")
def household_inputs(tmp_path_factory):
    """The demo household (3 connections) and the hand-built one (6: a cut, no balance, a recharge):
    daily rows, forecast summary and path, episodes, as Compare hands them to compare_figure."""
    from tests import factories

    today = dt.date(2026, 11, 25)
    out = []
    for connections in (3, 6):
        path = tmp_path_factory.mktemp(f"figure{connections}") / "db.sqlite"
        account = factories.household(path, connections)
        with storage.open_db(path) as conn:
            details = conn.accounts.connection_details(account)
            daily = storage.readings.daily_frame(conn, account, None, "2026-06-01", str(today))
            outlook = forecast.simulate(ledger.load_ledger(conn, account, today=today), details, today)
        ids = [str(cid) for cid in details["consumer_id"]]
        out.append((ids, daily, outlook, analytics.disconnection_episodes(daily)))
    return today, out


def _figure_cases(households, today, metric, granularity, lang, variants):
    """(series, ``compare_figure``'s keyword arguments, with_forecast) of every household in ``households``
    (``household_inputs``' tuples), over 30 days and its longest period (120 days; 365 with 12 connections),
    for each of ``variants``: (layout, columns, shared_y, with_forecast, phone)."""
    for ids, daily, outlook, episodes in households:
        for days in (30, 120 if len(ids) < 12 else 365):
            first = today - dt.timedelta(days=days - 1)
            series = analytics.compare_series(daily, metric, granularity, first, today, ids)
            for layout, columns, shared_y, with_forecast, phone in variants:
                args = dict(
                    metric=metric,
                    granularity=granularity,
                    lang=lang,
                    colours=charts.connection_colours(ids),
                    layout=layout,
                    columns=columns,
                    shared_y=shared_y,
                    forecast=outlook.summary if with_forecast else None,
                    projection=outlook.path if with_forecast else None,
                    episodes=episodes if with_forecast else None,
                    first_day=first,
                    last_day=today,
                    today=today,
                    phone=phone,
                )
                yield series, args, with_forecast


@pytest.mark.parametrize(("lang", "digits"), [("en", False), ("hi", False), ("hi", True)])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("metric", analytics.METRICS)
def test_compare_figure_is_the_figure_of_the_per_connection_selection(
    household_inputs, monkeypatch, metric, granularity, lang, digits
):
    """compare_figure with ConnectionRows is the figure it built filtering each frame per connection
    (to_plotly_json and the JSON st.plotly_chart sends equal): the demo and a 6-connection household,
    30 and 120 days, side by side (shared or own axes, 1 or 3 columns) and overlaid, with forecast,
    projection and cuts or without."""
    today, households = household_inputs
    checked = 0
    try:
        _with_digits(digits)
        variants = (
            ("side_by_side", 3, True, True, False),
            ("side_by_side", 1, False, True, False),
            ("overlay", 2, True, True, False),
            ("side_by_side", 3, True, False, False),
        )
        for series, args, _ in _figure_cases(households, today, metric, granularity, lang, variants):
            fig = charts.compare_figure(series, **args)
            with monkeypatch.context() as patch:
                patch.setattr(charts.ConnectionRows, "rows", _pandas_rows)
                reference = charts.compare_figure(series, **args)
            assert fig.to_plotly_json() == reference.to_plotly_json()
            assert json.dumps(fig.to_dict()) == json.dumps(reference.to_dict())
            checked += 1
    finally:
        _with_digits(False)
    assert checked == 16


@pytest.mark.parametrize("metric", ["balance", "units"])
def test_a_column_less_forecast_or_projection_draws_no_forecast(metric):
    """``loaders.household_frame`` of no connections is a column-less frame: no forecast, no error."""
    data = series_for(["1", "2"], [[1.0, 2.0], [3.0, 4.0]])
    fig = charts.compare_figure(
        data,
        metric=metric,
        granularity="day",
        lang="en",
        colours={},
        forecast=pd.DataFrame(),
        projection=pd.DataFrame(),
    )
    plain = charts.compare_figure(data, metric=metric, granularity="day", lang="en", colours={})
    assert fig.to_plotly_json() == plain.to_plotly_json()


def test_plotly_still_skips_validation_on_request():
    """Guard of ``charts.built_figure``: plotly's private ``_validate=False`` still turns its validation off
    (an unknown property is kept, a named template is left unexpanded) while the public constructor still
    refuses it. If plotly drops or renames the argument, this fails: build with ``go.Figure(data, layout)``
    again (``built_figure``'s docstring)."""
    import plotly.graph_objects as go

    bogus = {"type": "scatter", "x": [1], "y": [2], "nosuchproperty": 1}
    with pytest.raises(ValueError):
        go.Figure(data=[bogus], layout={"template": "none"})
    fig = go.Figure(data=[bogus], layout={"template": "none"}, _validate=False)
    assert fig.to_dict()["data"][0]["nosuchproperty"] == 1
    assert fig.to_dict()["layout"]["template"] == "none"
    assert charts.built_figure([bogus], {"template": "none"}).to_dict()["layout"]["template"] == {
        "data": {"scatter": [{"type": "scatter"}]}
    }


def _validated(data: list[dict], layout: dict):
    import plotly.graph_objects as go

    return go.Figure(data=data, layout=layout)


@pytest.fixture(scope="module")
def bench_household(tmp_path_factory):
    """bench/bench_pages.py's household of 12 connections (120 days, a recharge a month), as Compare hands
    it to compare_figure: daily rows, forecast summary and path, episodes."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
    import bench_pages

    today = dt.date(2026, 11, 25)
    path = tmp_path_factory.mktemp("bench12") / "pages_12.db"
    account = bench_pages.seed(path, 12)
    with storage.open_db(path) as conn:
        details = conn.accounts.connection_details(account)
        daily = storage.readings.daily_frame(conn, account, None, "2025-11-01", str(today))
        outlook = forecast.simulate(ledger.load_ledger(conn, account, today=today), details, today)
    ids = [str(cid) for cid in details["consumer_id"]]
    return ids, daily, outlook, analytics.disconnection_episodes(daily)


@pytest.mark.parametrize(("lang", "digits"), [("en", False), ("hi", False), ("hi", True)])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("metric", analytics.METRICS)
def test_the_unvalidated_figure_is_the_validated_one(
    household_inputs, bench_household, monkeypatch, metric, granularity, lang, digits
):
    """compare_figure built unvalidated (``charts.built_figure``) is the figure plotly's validation builds
    from the same dicts, byte for byte: ``to_json()``, the JSON ``st.plotly_chart`` sends
    (``plotly.io.to_json(fig.to_dict(), validate=False)``), ``to_plotly_json()`` and the captions; the demo,
    the 6-connection household and bench_pages' 12-connection one, 30 days and the longest period, side by
    side (shared or own axes, 1 or 3 columns) and overlaid, with and without forecast, projection and cuts,
    on a desktop and a phone, and with a title set afterwards (Compare's export chart)."""
    import plotly.io as pio

    today, households = household_inputs
    checked = 0
    try:
        _with_digits(digits)
        variants = (
            ("side_by_side", 3, True, True, False),
            ("side_by_side", 1, False, True, True),
            ("overlay", 2, True, True, False),
            ("side_by_side", 3, True, False, True),
        )
        cases = _figure_cases([*households, bench_household], today, metric, granularity, lang, variants)
        for series, args, with_forecast in cases:
            fig = charts.compare_figure(series, **args)
            with monkeypatch.context() as patch:
                patch.setattr(charts, "built_figure", _validated)
                reference = charts.compare_figure(series, **args)
            assert not fig._validate and reference._validate
            assert fig.to_json() == reference.to_json()
            sent = pio.to_json(fig.to_dict(), validate=False)
            assert sent == pio.to_json(reference.to_dict(), validate=False)
            assert fig.to_plotly_json() == reference.to_plotly_json()
            assert charts.caption_keys(fig) == charts.caption_keys(reference)
            if not with_forecast:
                for figure in (fig, reference):
                    figure.update_layout(title={"text": "निर्यात <b>x</b>"})
                assert fig.to_json() == reference.to_json()
            checked += 1
    finally:
        _with_digits(False)
    assert checked == 24


@pytest.mark.parametrize("seed", range(16))
def test_the_compare_figures_points_are_the_pandas_rows(seed):
    """_SeriesColumns.points (numpy, once for all connections) gives what the traces read from
    ``rows(cid).sort_values("period")`` (pandas_points, main's per-row path): ordered or shuffled rows,
    equal periods, gaps, integer values, nullable floats, a time zone, no row."""
    rng = random.Random(seed)
    count = rng.choice([0, 1, 7, 40])
    ids = [rng.choice(["101", "202", "303"]) for _ in range(count)]
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 400)) for _ in ids]
    if seed % 4 == 0:
        days.sort()  # the usual Compare series: each connection's periods in order
    values: list = [rng.choice([1.005, 2.675, float("nan"), -0.0, 123456.785]) for _ in ids]
    if seed % 5 == 1:
        values = [rng.randint(-5, 500) for _ in ids]
    frame = pd.DataFrame(
        {
            "consumer_id": ids,
            "period": pd.to_datetime(days).as_unit("us"),
            "value": values,
            "recharge_inr": [rng.choice([0.0, 500.0, float("nan"), 199.99]) for _ in ids],
        }
    )
    if seed % 5 == 2:
        frame["value"] = frame["value"].astype("Float64")
    if seed % 7 == 3:
        frame["period"] = frame["period"].dt.tz_localize("Asia/Kolkata")
    if seed % 3 == 0:
        frame = frame.set_index(pd.Index([rng.randint(0, 9) for _ in ids], dtype="int64"))
    if seed % 2 == 1:  # Compare's own shape: each connection's periods strictly rising, plain dtypes
        frame = frame.drop_duplicates(["consumer_id", "period"]).sort_values("period", kind="stable")
        frame["period"] = frame["period"].dt.tz_localize(None) if frame["period"].dt.tz else frame["period"]
        frame["value"] = frame["value"].astype("float64" if seed % 3 else "int64", errors="ignore")
    rows = charts.ConnectionRows(frame)
    columns = charts._SeriesColumns(frame)
    pandas_points = charts._SeriesColumns.pandas_points
    fallbacks: list[str] = []

    def counted(rows, cid):
        fallbacks.append(cid)
        return pandas_points(rows, cid)

    for cid in ("101", "202", "303", "404"):
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(charts._SeriesColumns, "pandas_points", staticmethod(counted))
            got = columns.points(rows, cid)
        assert got == pandas_points(rows, cid)
    if seed % 2 == 1 and frame["value"].dtype.kind in "fi":  # the numpy path answered every connection
        assert fallbacks == [], fallbacks


@pytest.mark.parametrize(("lang", "digits"), [("en", False), ("hi", False), ("hi", True)])
@pytest.mark.parametrize("granularity", ["day", "week", "month"])
@pytest.mark.parametrize("metric", analytics.METRICS)
def test_compare_figure_is_the_figure_of_per_point_pandas_rows(
    household_inputs, bench_household, monkeypatch, metric, granularity, lang, digits
):
    """compare_figure from the numpy points and the per-period texts is, byte for byte (``to_json``), the
    figure of main's row and text handling with today's trace builder: each connection's rows taken and
    sorted in pandas, and every point's date text, x and so-far computed for that point (the reference:
    pandas_points and a text cache that keeps nothing; ``bench/bench_compare_figure.py`` compares with
    main's whole function at 6f8ea79 before it times). The demo, 6 and 12 connections, 30 days and the longest period, with and without the
    forecast; the numpy path is the one taken on these households."""
    today, households = household_inputs
    fallbacks: list[str] = []
    pandas_points = charts._SeriesColumns.pandas_points

    def counted(rows, cid):
        fallbacks.append(cid)
        return pandas_points(rows, cid)

    def every_time(self, period):
        return (
            period.isoformat(),
            charts.period_date(period, self.granularity, self.lang),
            charts.is_so_far(period, self.granularity, self.today),
        )

    checked = 0
    try:
        _with_digits(digits)
        variants = (("side_by_side", 3, True, True, False), ("overlay", 3, True, False, False))
        cases = _figure_cases([*households, bench_household], today, metric, granularity, lang, variants)
        for series, args, _ in cases:
            with monkeypatch.context() as patch:
                patch.setattr(charts._SeriesColumns, "pandas_points", staticmethod(counted))
                fig = charts.compare_figure(series, **args)
            with monkeypatch.context() as patch:
                patch.setattr(
                    charts._SeriesColumns, "points", lambda self, rows, cid: pandas_points(rows, cid)
                )
                patch.setattr(charts._PeriodTexts, "__call__", every_time)
                reference = charts.compare_figure(series, **args)
            assert fig.to_json() == reference.to_json()
            checked += 1
    finally:
        _with_digits(False)
    assert checked == 12
    assert fallbacks == []
