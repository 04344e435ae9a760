"""Plotly figures from the analytics frames: side by side (one panel per connection) or overlaid.

Plain Python (no Streamlit): every function returns a ``plotly.graph_objects.Figure`` that tests can
inspect. Text on the figure is in the user's language: titles and axis labels from the catalog,
month tick labels and hover dates from Babel (plotly.js has no Hindi locale), money in Indian
digit grouping. Each connection keeps one colour everywhere (:func:`connection_colours`).

>>> import pandas as pd
>>> series = pd.DataFrame({"consumer_id": ["101", "101"], "nickname": ["Home", "Home"],
...     "period": pd.to_datetime(["2026-11-23", "2026-11-24"]), "value": [80.0, 60.0],
...     "recharge_inr": [0.0, 0.0], "days_with_data": [1, 1], "days": [1, 1]})
>>> fig = compare_figure(series, metric="balance", granularity="day", lang="hi",
...     colours=connection_colours(["101"]))
>>> fig.layout.title.text, fig.data[0].line.color
('बैलेंस (₹)', '#0072B2')
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Sequence
from typing import Literal, NamedTuple

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from lib import clock, i18n
from lib.analytics import Granularity, Metric

Layout = Literal["side_by_side", "overlay"]

# Okabe-Ito colours (safe for colour-blind readers), then a few more distinct ones.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#D55E00",
    "#56B4E9",
    "#7F3C8D",
    "#8C6D31",
    "#4D4D4D",
    "#B8860B",
)
CUT_FILL = "rgba(213, 94, 0, 0.15)"  # shading of disconnection episodes
SO_FAR_OPACITY = 0.45  # the bar of a period that is not over yet (today, this week, this month)
PANEL_HEIGHT = 230
MAX_COLUMNS = 4

_TITLE_KEYS = {"balance": "chart_title_balance", "units": "chart_title_units", "spend": "chart_title_spend"}
# A bar of units or ₹ is a sum over its period: the title says which ("₹600" a week is not ₹600 a day).
_PERIOD_TITLE_KEYS = {
    ("units", "day"): "chart_title_units_day",
    ("units", "week"): "chart_title_units_week",
    ("units", "month"): "chart_title_units_month",
    ("spend", "day"): "chart_title_spend_day",
    ("spend", "week"): "chart_title_spend_week",
    ("spend", "month"): "chart_title_spend_month",
}
# What a reader sees on a figure, said in a caption under it (:func:`caption_keys`).
CAPTION_KEYS = {
    "run_out": "chart_caption_forecast",
    "lasts": "chart_caption_forecast",
    "recharge": "chart_caption_recharge",
    "so_far": "chart_caption_so_far",
    "cut": "chart_cut",
}


def connection_colours(consumer_ids: Sequence[str]) -> dict[str, str]:
    """One colour per connection, by its place in the account's link order.

    Pass the account's *whole* list of linked consumer IDs in link order (``storage.accounts.connection_details``),
    not only the ones shown, so that a connection keeps its colour on every chart and page.

    >>> connection_colours(["101", "202"])
    {'101': '#0072B2', '202': '#E69F00'}
    """
    return {cid: PALETTE[i % len(PALETTE)] for i, cid in enumerate(dict.fromkeys(consumer_ids))}


def plotted_values(values: Sequence[float] | pd.Series) -> list[float | None]:
    """Values as the figures carry them (to the paisa / 0.01 kWh; gaps as None); the CSV uses the same.

    >>> plotted_values([1.005, float("nan"), 2])
    [1.0, None, 2.0]
    """
    return [None if pd.isna(v) else round(float(v), 2) for v in values]


def _rgba(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[i : i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red}, {green}, {blue}, {alpha})"


# --- text ------------------------------------------------------------------------------------------


def date_ticks(
    first_day: dt.date, last_day: dt.date, lang: str, *, most: int | None = None
) -> tuple[list[str], list[str]]:
    """Tick positions (ISO dates) and labels with month names from Babel, in the language.

    Up to 2 weeks: every day or two; up to ~2 months: each Monday; up to ~14 months: each month; longer:
    every third month; the year on the first tick and wherever it changes. ``most``: at most that many
    month ticks (every 2nd, 3rd, 6th or 12th month) and one more Monday ("2 Nov" is shorter than
    "Sept 2026"; else every 2nd, 3rd… Monday), for a narrow panel (:func:`date_tick_room`): a panel a
    third of the page wide holds ~4 month names side by side, and plotly turns labels that do not fit
    on their side (90°: crowded, the Hindi ones overlap) and measures them again on every redraw.

    >>> date_ticks(dt.date(2026, 1, 1), dt.date(2026, 3, 31), "hi")[1]
    ['जन॰ 2026', 'फ़र॰', 'मार्च']
    >>> date_ticks(dt.date(2025, 11, 26), dt.date(2026, 11, 25), "en", most=5)[1]
    ['Dec 2025', 'Mar 2026', 'Jun', 'Sept']
    """
    span = (last_day - first_day).days + 1
    if span <= 0:
        return [], []
    if span <= 62:
        if span <= 14:
            step = 1 if span <= 8 else 2
            days = [first_day + dt.timedelta(days=i) for i in range(0, span, step)]
        else:
            monday = first_day + dt.timedelta(days=(7 - first_day.weekday()) % 7)
            days = [monday + dt.timedelta(days=7 * i) for i in range(0, (last_day - monday).days // 7 + 1)]
            if most is not None and len(days) > most + 1:  # "2 Nov" is shorter than "Sept 2026": one more
                days = days[:: -(-len(days) // most)]
        return [d.isoformat() for d in days], [i18n.format_date(d, lang, pattern="d MMM") for d in days]
    months: list[dt.date] = []
    cursor = first_day.replace(day=1)
    if cursor < first_day:
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    count = (
        (last_day.year - cursor.year) * 12 + last_day.month - cursor.month + 1 if cursor <= last_day else 0
    )
    every = next(
        (n for n in (1, 2, 3, 6, 12) if (n >= 3 or span <= 430) and (most is None or -(-count // n) <= most)),
        12,
    )
    index = 0
    while cursor <= last_day:
        if index % every == 0:
            months.append(cursor)
        index += 1
        cursor = (cursor + dt.timedelta(days=32)).replace(day=1)
    labels = [
        i18n.format_date(d, lang, pattern="MMM y" if (i == 0 or d.year != months[i - 1].year) else "MMM")
        for i, d in enumerate(months)
    ]
    return [d.isoformat() for d in months], labels


def period_label(period: dt.date, granularity: Granularity, lang: str) -> str:
    """How a plotted period reads in hover text and CSV: a date, a week, or a month.

    >>> period_label(dt.date(2026, 11, 23), "week", "en")
    'Week of 23 Nov 2026'
    >>> period_label(dt.date(2026, 8, 1), "month", "hi")
    'अगस्त 2026'
    """
    text = period_date(period, granularity, lang)
    return i18n.t("chart_week_of", lang, date=text) if granularity == "week" else text


def period_date(period: dt.date, granularity: Granularity, lang: str) -> str:
    """The date part of :func:`period_label` (a week's first day without "Week of"): what each plotted
    point carries as ``text``; the hover template adds the week's wording once per trace.

    >>> period_date(dt.date(2026, 11, 23), "week", "hi"), period_date(dt.date(2026, 8, 1), "month", "en")
    ('23 नव॰ 2026', 'August 2026')
    """
    pattern = "MMMM y" if granularity == "month" else "d MMM y"
    return i18n.format_date(period, lang, pattern=pattern)


def _date_field(granularity: Granularity, lang: str) -> str:
    """The hover template's date: a point's ``text`` (:func:`period_date`), a week's in its wording."""
    return _template_text("chart_week_of", lang, date="%{text}") if granularity == "week" else "%{text}"


def _template_text(key: str, lang: str, **fields: str) -> str:
    """A catalog text for a plotly hover template, made plotly-safe (:func:`plotly_text`), with ``fields``
    (template fields such as ``%{y:.1f}``) put in its placeholders.

    >>> _template_text("chart_week_of", "hi", date="%{text}")
    '%{text} वाला सप्ताह'
    """
    marks = {name: f"\x00{index}\x00" for index, name in enumerate(fields)}
    text = plotly_text(i18n.t(key, lang, **marks))
    for name, field in fields.items():
        text = text.replace(marks[name], field)
    return text


# A hover template's ₹ amount: plotly's d3 format ",.2f" groups by thousands; :func:`plotly_writes_money`
# says when that is the page's text.
MONEY_FIELD = "₹%{{{field}:,.2f}}"


def plotly_writes_money(values: Sequence[float | None], lang: str) -> bool:
    """Whether a hover template's ``₹%{y:,.2f}`` (:data:`MONEY_FIELD`) writes every one of ``values``
    exactly as :func:`lib.i18n.format_money` does (gaps are not hovered).

    d3's ``,.2f`` groups by thousands, which is the Indian grouping only below ₹1,00,000; it writes Latin
    digits only, and a minus after the ₹; it rounds ties away from zero where Babel rounds them to even. So:
    only without Devanagari digits, and only for values from 0 to 99,999.99 with at most two decimals
    (Python's ``f"{v:,.2f}"`` is d3's text for those), each checked against the page's formatter.

    >>> plotly_writes_money([0.0, 477.53, 99999.99, None], "hi"), plotly_writes_money([123456.5], "en")
    (True, False)
    >>> plotly_writes_money([-5.0], "en"), plotly_writes_money([-0.0], "en"), plotly_writes_money([0.125], "en")
    (False, False, False)
    """
    if devanagari_digits(lang):
        return False
    for value in values:
        if value is None or math.isnan(value):
            continue
        if not (0 <= value < 100_000 and math.copysign(1.0, value) > 0 and round(value, 2) == value):
            return False
        if i18n.format_money(value, lang) != f"₹{value:,.2f}":
            return False
    return True


def value_label(value: float, metric: Metric, lang: str) -> str:
    """A plotted value in words: ``value_label(123456.5, "balance", "en") == '₹1,23,456.50'``."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return i18n.t("chart_no_data", lang)
    if metric == "units":
        return i18n.t("chart_units_value", lang, kwh=i18n.format_number(value, lang, decimals=1))
    return i18n.format_money(value, lang)


def axis_title(metric: Metric, lang: str, granularity: Granularity | None = None) -> str:
    """The title of a metric's chart, with the period each bar sums when ``granularity`` is given.

    >>> axis_title("balance", "hi"), axis_title("spend", "en", "week"), axis_title("units", "hi", "day")
    ('बैलेंस (₹)', '₹ spent per week', 'यूनिट प्रति दिन (kWh)')
    """
    key = _PERIOD_TITLE_KEYS.get((metric, granularity)) if granularity else None
    return i18n.t(key or _TITLE_KEYS[metric], lang)


def devanagari_digits(lang: str, requested: bool | None = None) -> bool:
    """Whether a figure's numbers are written ०-९: ``requested``, else the reader's choice for this run
    (:func:`lib.i18n.use_devanagari_digits`), only ever in Hindi."""
    return i18n.devanagari_digits_active(lang, requested)


def value_ticks(
    values: Sequence[float | None],
    metric: Metric | Literal["inr"],
    lang: str,
    *,
    count: int = 6,
    include_zero: bool = True,
) -> tuple[list[float], list[str]]:
    """Axis tick positions over ``values`` (and ₹0 / 0 kWh unless not ``include_zero``) at a round step, with labels written as the
    page writes numbers: ₹ in Indian grouping without paise, kWh with up to one decimal, in Devanagari
    digits when the reader chose them. Plotly formats its own tick labels in Latin digits only, so a
    Hindi page with १२३ gives each axis these as ``tickvals``/``ticktext``.

    >>> value_ticks([120.0, 2480.0], "balance", "hi")[0]
    [0.0, 500.0, 1000.0, 1500.0, 2000.0, 2500.0]
    >>> value_ticks([120.0, 2480.0], "balance", "hi")[1][-1]
    '₹2,500'
    >>> i18n.use_devanagari_digits(True); value_ticks([0.4, 7.2], "units", "hi")[1]
    ['०', '२', '४', '६', '८']
    >>> i18n.use_devanagari_digits(False)
    """
    finite = [float(v) for v in values if v is not None and not math.isnan(float(v))]
    base = [0.0] if include_zero or not finite else []
    low, high = min([*base, *finite]), max([*base, *finite])
    if high - low <= 0:
        high = low + 1.0
    raw = (high - low) / max(1, count - 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks: list[float] = []
    tick = first
    while tick <= high + step * 0.999:
        ticks.append(round(tick, 6))
        tick += step
    deva = devanagari_digits(lang)
    if metric == "units":
        decimals = 0 if step >= 1 else 1
        labels = [i18n.format_number(v, lang, decimals=decimals, devanagari_digits=deva) for v in ticks]
    else:
        labels = [i18n.format_money(v, lang, decimals=False, devanagari_digits=deva) for v in ticks]
    return [float(v) for v in ticks], labels


def caption_keys(fig: go.Figure) -> list[str]:
    """Catalog keys of the captions that explain what ``fig`` shows, in a fixed order: the dashed forecast,
    the recharge markers, a lighter bar of a period not over yet, shaded disconnections. Found from the
    figure itself (traces' ``meta.kind``, hatched bars, ``cut:`` shapes), so a caption never names a mark
    that is not drawn.

    >>> caption_keys(go.Figure(go.Scatter(x=[1], y=[1], meta={"kind": "recharge"})))
    ['chart_caption_recharge']
    """
    kinds: set[str] = set()
    for trace in fig.data:
        meta = trace.meta if isinstance(trace.meta, dict) else {}
        kinds.add(str(meta.get("kind", "")))
        pattern = getattr(getattr(trace, "marker", None), "pattern", None)
        if pattern is not None and pattern.shape is not None and "/" in tuple(pattern.shape):
            kinds.add("so_far")
    if any(str(shape.name or "").startswith("cut:") for shape in fig.layout.shapes or ()):
        kinds.add("cut")
    return list(dict.fromkeys(CAPTION_KEYS[kind] for kind in CAPTION_KEYS if kind in kinds))


# --- figures ---------------------------------------------------------------------------------------


def compare_figure(
    series: pd.DataFrame,
    *,
    metric: Metric,
    granularity: Granularity,
    lang: str,
    colours: dict[str, str],
    layout: Layout = "side_by_side",
    columns: int = 2,
    shared_y: bool = True,
    forecast: pd.DataFrame | None = None,
    projection: pd.DataFrame | None = None,
    episodes: pd.DataFrame | None = None,
    first_day: dt.date | None = None,
    last_day: dt.date | None = None,
    today: dt.date | None = None,
    phone: bool = False,
) -> go.Figure:
    """The Compare chart of :func:`lib.analytics.compare_series` output.

    ``layout="side_by_side"``: one panel per connection (titled with its nickname), ``columns``
    panels per row (1 on a phone), a shared y-axis when ``shared_y`` (its labels once a row, left). ``"overlay"``: one axis, a
    trace per connection. Balance is drawn as lines with recharge markers, the projected run-out
    (``forecast`` from :func:`lib.forecast.run_out`) as a dashed continuation: along ``projection`` (its
    ``path``: the simulated closing balance of each coming day, flat while free units last) when given,
    else straight to zero on the run-out day;
    units and spend as bars (no text on them: the hover carries date and value).
    ``episodes`` (:func:`lib.analytics.disconnection_episodes`) are shaded. The period that holds
    ``today`` (IST, default :func:`lib.clock.today_ist`) is not over yet: its bar is lighter and
    hatched and its hover says "so far", so a half-day does not read as a drop in use.
    The date labels under each panel are as many as fit side by side (:func:`date_tick_room`; ``phone``:
    the page is a phone's).
    """
    if today is None:
        today = clock.today_ist()
    by_connection = ConnectionRows(series)
    ids = list(dict.fromkeys(by_connection.ids))
    names = dict(zip(by_connection.ids, series["nickname"], strict=True))
    # A column-less frame (``loaders.household_frame`` of no connections) has no rows of any connection.
    forecast_rows = ConnectionRows(forecast) if forecast is not None and "consumer_id" in forecast else None
    projection_rows = (
        ConnectionRows(projection) if projection is not None and "consumer_id" in projection else None
    )
    episode_rows = ConnectionRows(episodes) if episodes is not None and len(episodes) else None
    if first_day is None and len(series):
        first_day = pd.Timestamp(series["period"].min()).date()
    if last_day is None and len(series):
        last_day = pd.Timestamp(series["period"].max()).date()
    side = layout == "side_by_side" and len(ids) > 1
    columns = max(1, min(columns, MAX_COLUMNS, len(ids) or 1))
    rows = math.ceil(len(ids) / columns) if side else 1
    # Built as data: the traces, shapes and layout are plain dicts, made a figure unvalidated (built_figure).
    traces: list[dict] = []
    shapes: list[dict] = []
    columns_of = _SeriesColumns(series)
    dates = _PeriodTexts(granularity, lang, today)
    for index, cid in enumerate(ids):
        points = columns_of.points(by_connection, cid)
        colour = colours.get(cid, PALETTE[index % len(PALETTE)])
        axis = (index + 1) if side else None
        refs = {"xaxis": _ref("x", axis), "yaxis": _ref("y", axis)} if side else {}
        traces += _connection_traces(
            points, cid, str(names[cid]), colour, metric, granularity, lang, refs, dates
        )
        if metric == "balance" and forecast_rows is not None and last_day is not None:
            own_path = None if projection_rows is None else projection_rows.rows(cid)
            traces += _run_out_traces(
                forecast_rows.rows(cid),
                own_path,
                cid,
                str(names[cid]),
                colour,
                lang,
                first_day,
                last_day,
                refs,
            )
        if episode_rows is not None:
            shapes += _episode_shapes(episode_rows.rows(cid), cid, colour, first_day, last_day, axis, side)

    room = date_tick_room(columns if side else 1, phone)
    tickvals, ticktext = (
        date_ticks(first_day, last_day, lang, most=room) if first_day and last_day else ([], [])
    )
    x_style: dict = {"tickmode": "array", "tickvals": tickvals, "ticktext": ticktext, "showgrid": False}
    y_style: dict = {}
    if side and shared_y:
        y_style["matches"] = "y"
    if metric in ("balance", "spend"):
        y_style.update(tickprefix="₹", separatethousands=False)
    panel_ticks: dict[int | None, tuple[list[float], list[str]]] = {}
    if devanagari_digits(lang):
        # Plotly writes its own tick labels in Latin digits: give every y-axis its ticks as text (one set
        # for a shared axis, else each panel's own), over the values and projections it draws.
        def ys(axis: int | None) -> list[float | None]:
            ref = _ref("y", axis)
            return [
                v
                for trace in traces
                if axis is None or trace.get("yaxis", "y") == ref
                for v in trace.get("y", [])
            ]

        if side and not shared_y:
            panel_ticks = {index + 1: value_ticks(ys(index + 1), metric, lang) for index in range(len(ids))}
        else:
            panel_ticks = {None: value_ticks(ys(None), metric, lang)}
        y_style = {k: v for k, v in y_style.items() if k not in ("tickprefix", "separatethousands")}
        y_style["tickmode"] = "array"
    period = None if metric == "balance" else granularity
    fig_layout: dict = {
        "template": "none",
        "title": {"text": axis_title(metric, lang, period)},
        "height": max(320, rows * PANEL_HEIGHT + 110),
        "margin": {"l": 50, "r": 16, "t": 70, "b": 40},
        "showlegend": not side,
        "legend": {"orientation": "h", "yanchor": "top", "y": -0.12, "x": 0},
        "hovermode": "closest",
        "barmode": "group",
        "font": {"family": "'Noto Sans Devanagari', 'Lohit Devanagari', sans-serif"},
    }
    if side:
        grid = subplot_grid(
            rows,
            columns,
            [plotly_text(str(names[cid])) for cid in ids],
            vertical_spacing=min(0.12, 0.35 / rows) if rows > 1 else 0.1,
            horizontal_spacing=0.06 if columns > 1 else 0.0,
        )
        for name, axis_layout in grid.items():
            if name.startswith("xaxis"):
                axis_layout.update(x_style)
            elif name.startswith("yaxis"):
                axis_layout.update(y_style)
                if shared_y and (int(name[5:] or 1) - 1) % columns:
                    # One scale for the row: its labels once, at the row's left (as make_subplots'
                    # shared_yaxes): a phone's narrow gap put them over the panel beside.
                    axis_layout["showticklabels"] = False
                ticks = panel_ticks.get(int(name[5:] or 1), panel_ticks.get(None))
                if ticks:
                    axis_layout.update(tickvals=ticks[0], ticktext=ticks[1])
        fig_layout.update(grid)
    else:
        fig_layout["xaxis"] = x_style
        fig_layout["yaxis"] = {**y_style, "title": {"text": axis_title(metric, lang, period)}}
        if None in panel_ticks:
            fig_layout["yaxis"].update(tickvals=panel_ticks[None][0], ticktext=panel_ticks[None][1])
    if shapes:
        fig_layout["shapes"] = shapes
    return built_figure(traces, fig_layout)


def built_figure(data: list[dict], layout: dict) -> go.Figure:
    """``go.Figure(data=data, layout=layout)`` for the plain dicts this module builds, without plotly's
    validation of every property (plotly's private ``_validate=False``): the same figure, a third of the
    time (BENCHMARKS.md section 4 run 12: a new household's Compare chart spent two thirds of its build in
    the validation, 34 -> 12 ms with 12 connections).

    Same figure: ``to_dict()`` (what ``st.plotly_chart`` sends, as JSON) and ``to_plotly_json()`` equal
    the validated figure's. Validation changes nothing in these dicts (known property names, plain
    values); what it would add is the layout's template expanded from its name, done here: a named
    ``template`` (``"none"``) is given as plotly's registered template dict. ``data`` and ``layout`` are
    not changed (the figure keeps deep copies, as the validated one does).

    Why it stays safe, and what guards it (tests/test_charts.py): the argument is private, so
    ``test_plotly_still_skips_validation_on_request`` fails if plotly drops or renames it (an invalid
    property would then raise, or be dropped), and ``test_the_unvalidated_figure_is_the_validated_one``
    compares this figure with ``go.Figure(data, layout)`` (``to_dict()``, its JSON, ``to_plotly_json()``,
    the captions) over the demo and bench households, every metric, granularity and layout, en / hi /
    Devanagari digits, phone and desktop. A typo in a property name would not raise here: that test
    builds every variant validated, where it would.

    >>> fig = built_figure([{"type": "bar", "x": [1], "y": [2]}], {"template": "none"})
    >>> fig.to_dict() == go.Figure(data=[{"type": "bar", "x": [1], "y": [2]}], layout={"template": "none"}).to_dict()
    True
    """
    layout = {name: _in_plotly_order(name, value) for name, value in layout.items()}
    if isinstance(layout.get("template"), str):
        layout["template"] = pio.templates[layout["template"]].to_plotly_json()
    data = [{name: _in_plotly_order(name, value) for name, value in trace.items()} for trace in data]
    return go.Figure(data=data, layout=layout, _validate=False)


# Values plotly keeps as given (no object of its own): their keys stay in the caller's order.
_AS_GIVEN = frozenset({"meta", "customdata"})


def _in_plotly_order(name: str, value: object) -> object:
    """``value`` with every nested object's keys in the order plotly's validation writes them (its property
    order: by name), so the unvalidated figure's JSON is the validated one's byte for byte; the figure's and
    traces' own keys are ordered by plotly's constructors either way. Lists of values are not walked.

    >>> _in_plotly_order("marker", {"symbol": "circle", "line": {"width": 1, "color": "#fff"}})
    {'line': {'color': '#fff', 'width': 1}, 'symbol': 'circle'}
    """
    if name in _AS_GIVEN:
        return value
    if isinstance(value, dict):
        return {key: _in_plotly_order(key, value[key]) for key in sorted(value)}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return [_in_plotly_order(name, item) for item in value]
    return value


def date_tick_room(columns: int, phone: bool) -> int:
    """How many date labels (``"Sept 2026"``, ``"अक्टू॰"``) fit side by side under one panel: ~13 across
    the desktop page's chart (~1000 px: the wide layout beside the sidebar), 5 across a phone's (~350 px),
    shared by ``columns`` panels (at least 4 a panel on a desktop, 2 on a phone: a phone shows one column
    unless the reader turns compact off).

    >>> [date_tick_room(columns, False) for columns in (3, 2, 1)], [date_tick_room(c, True) for c in (3, 2, 1)]
    ([4, 6, 13], [2, 2, 5])
    """
    columns = max(1, columns)
    return max(2, 5 // columns) if phone else max(4, 13 // columns)


class ConnectionRows:
    """One frame's rows split by connection: :meth:`rows` is ``frame[frame["consumer_id"].astype(str) ==
    cid]`` (the same rows, order, index and dtypes: pandas' boolean selection is a ``take`` of the mask's
    positions, or a shallow copy when every row matches), with the IDs turned to text and compared once per
    frame in numpy rather than once per connection in pandas (a figure of 12 connections filtered its four
    frames 48 times: most of its build, BENCHMARKS.md section 4 run 11).

    >>> frame = pd.DataFrame({"consumer_id": [2, 1, 2], "value": [5.0, 6.0, 7.0]})
    >>> split = ConnectionRows(frame)
    >>> split.rows("2")["value"].tolist(), split.rows("9").empty, split.ids
    ([5.0, 7.0], True, ['2', '1', '2'])
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame
        self.ids: list[str] = frame["consumer_id"].astype(str).tolist()
        self._array = np.array(self.ids, dtype=object)

    def rows(self, cid: str) -> pd.DataFrame:
        mask = self._array == cid
        if mask.all():
            return self.frame.copy(deep=False)
        return self.frame.take(np.flatnonzero(mask))


def _ref(letter: str, axis: int | None) -> str:
    """Plotly's name of subplot ``axis`` (1-based): ``x``, ``x2``, …"""
    return letter if axis is None or axis == 1 else f"{letter}{axis}"


def subplot_grid(
    rows: int,
    cols: int,
    titles: Sequence[str],
    *,
    vertical_spacing: float,
    horizontal_spacing: float,
    shared_x: bool = True,
) -> dict:
    """The axes and title annotations of a ``rows`` × ``cols`` grid, as plotly's
    ``make_subplots(shared_xaxes="all")`` (``shared_x``) or plain ``make_subplots`` (not ``shared_x``:
    each panel its own x-axis, every row with its tick labels) lays them out, as a layout dict (no
    figure is built).

    Panels are numbered row by row from the top left; with ``shared_x`` every x-axis matches the
    bottom-left one and only the bottom row shows x tick labels.

    >>> grid = subplot_grid(1, 2, ["Home", "Shop"], vertical_spacing=0.1, horizontal_spacing=0.06)
    >>> grid["xaxis2"], [a["text"] for a in grid["annotations"]]
    ({'anchor': 'y2', 'domain': [0.53, 1.0], 'matches': 'x'}, ['Home', 'Shop'])
    >>> subplot_grid(2, 1, ["Home", "Shop"], vertical_spacing=0.1, horizontal_spacing=0.0, shared_x=False)["xaxis"]
    {'anchor': 'y', 'domain': [0.0, 1.0]}
    """
    width = (1 - horizontal_spacing * (cols - 1)) / cols
    height = (1 - vertical_spacing * (rows - 1)) / rows
    anchor = _ref("x", (rows - 1) * cols + 1)
    layout: dict = {}
    annotations = []
    for index in range(rows * cols):
        row, col = divmod(index, cols)
        x0 = col * (width + horizontal_spacing)
        top = 1 - row * (height + vertical_spacing)
        x_axis: dict = {"anchor": _ref("y", index + 1), "domain": [x0, min(1.0, x0 + width)]}
        if shared_x and _ref("x", index + 1) != anchor:
            x_axis["matches"] = anchor
        if shared_x and row < rows - 1:
            x_axis["showticklabels"] = False
        suffix = "" if index == 0 else str(index + 1)
        layout[f"xaxis{suffix}"] = x_axis
        layout[f"yaxis{suffix}"] = {"anchor": _ref("x", index + 1), "domain": [max(0.0, top - height), top]}
        if index < len(titles):
            annotations.append(
                {
                    "font": {"size": 16},
                    "showarrow": False,
                    "text": titles[index],
                    "x": x0 + width / 2,
                    "xanchor": "center",
                    "xref": "paper",
                    "y": top,
                    "yanchor": "bottom",
                    "yref": "paper",
                }
            )
    layout["annotations"] = annotations
    return layout


class _Points(NamedTuple):
    """One connection's rows of a Compare series in period order, as its traces read them."""

    periods: list[dt.date]  # each period's first day
    values: list[float | None]  # :func:`plotted_values` of ``value``
    paid: list[int]  # positions of the rows with a recharge (``recharge_inr > 0``)
    amounts: list[float]  # their ``recharge_inr``


class _SeriesColumns:
    """A Compare series' ``period``, ``value`` and ``recharge_inr`` as numpy arrays, taken once for all
    connections: :meth:`points` gives what ``rows(cid).sort_values("period")`` gave the traces, without a
    pandas ``take`` and sort of every column per connection (BENCHMARKS.md section 4 run 15).

    Only for what numpy reads as pandas does: a tz-naive ``datetime64`` period, float or integer values and
    recharges, each connection's periods strictly increasing (then the sort keeps the rows' order, whatever
    its algorithm); anything else takes the pandas path (:meth:`pandas_points`), the reference of
    ``tests/test_charts.py::test_the_compare_figures_points_are_the_pandas_rows``.

    >>> series = pd.DataFrame({"consumer_id": ["1", "2", "1"], "period": pd.to_datetime(
    ...     ["2026-11-01", "2026-11-01", "2026-11-02"]), "value": [1.005, 2.0, float("nan")],
    ...     "recharge_inr": [0.0, 500.0, 0.0]})
    >>> columns = _SeriesColumns(series)
    >>> columns.points(ConnectionRows(series), "1")
    _Points(periods=[datetime.date(2026, 11, 1), datetime.date(2026, 11, 2)], values=[1.0, None], paid=[], amounts=[])
    >>> columns.points(ConnectionRows(series), "2") == _SeriesColumns.pandas_points(ConnectionRows(series), "2")
    True
    """

    def __init__(self, series: pd.DataFrame) -> None:
        period, value, recharge = series["period"], series["value"], series["recharge_inr"]
        self.fast = (
            period.dtype.kind == "M"
            and isinstance(period.dtype, np.dtype)
            and value.dtype.kind in "fi"
            and recharge.dtype.kind in "fi"
            and isinstance(value.dtype, np.dtype)
            and isinstance(recharge.dtype, np.dtype)
        )
        if self.fast:
            self.days = period.to_numpy().astype("datetime64[D]")
            self.stamps = period.to_numpy()
            self.value = value.to_numpy()
            self.recharge = recharge.to_numpy()

    def points(self, rows: ConnectionRows, cid: str) -> _Points:
        if not self.fast:
            return self.pandas_points(rows, cid)
        where = np.flatnonzero(rows._array == cid)
        stamps = self.stamps[where]
        if len(stamps) and (np.isnat(stamps).any() or not (stamps[1:] > stamps[:-1]).all()):
            return self.pandas_points(rows, cid)
        recharge = self.recharge[where]
        paid = np.flatnonzero(recharge > 0)
        return _Points(
            self.days[where].tolist(),
            plotted_values(self.value[where].tolist()),
            paid.tolist(),
            [float(a) for a in recharge[paid].tolist()],
        )

    @staticmethod
    def pandas_points(rows: ConnectionRows, cid: str) -> _Points:
        """The points as the traces read them from ``rows(cid).sort_values("period")`` (pandas, per row)."""
        own = rows.rows(cid).sort_values("period")
        paid = np.flatnonzero((own["recharge_inr"] > 0).fillna(False).to_numpy(dtype=bool))
        return _Points(
            [pd.Timestamp(p).date() for p in own["period"]],
            plotted_values(own["value"]),
            paid.tolist(),
            [float(a) for a in own["recharge_inr"].iloc[paid]],
        )


class _PeriodTexts:
    """Each distinct period's x (ISO date), hover date (:func:`period_date`) and :func:`is_so_far`, made
    once per figure: the connections of a Compare series share its periods."""

    def __init__(self, granularity: Granularity, lang: str, today: dt.date) -> None:
        self.granularity, self.lang, self.today = granularity, lang, today
        self.known: dict[dt.date, tuple[str, str, bool]] = {}

    def __call__(self, period: dt.date) -> tuple[str, str, bool]:
        got = self.known.get(period)
        if got is None:
            got = self.known[period] = (
                period.isoformat(),
                period_date(period, self.granularity, self.lang),
                is_so_far(period, self.granularity, self.today),
            )
        return got


def _connection_traces(
    points: _Points,
    cid: str,
    name: str,
    colour: str,
    metric: Metric,
    granularity: Granularity,
    lang: str,
    refs: dict[str, str],
    dates: _PeriodTexts,
) -> list[dict]:
    """One connection's value trace (and recharge markers for the balance), as plotly trace dicts."""
    periods = points.periods
    texts = [dates(p) for p in periods]
    x = [t[0] for t in texts]
    values = points.values
    so_far = [t[2] for t in texts]
    note = i18n.t("chart_today_so_far" if granularity == "day" else "chart_period_so_far", lang)
    # Each point carries only its date (``text``, without the week's wording); the value is written by
    # plotly where its d3 format gives the page's text exactly (:func:`plotly_writes_money`), else carried as
    # text per point (``customdata``) after the "so far" note of the period not over yet.
    notes = [f"<br>{note}" if open_ else "" for open_ in so_far]
    if metric == "units" and not devanagari_digits(lang):
        value_field: str | None = _template_text("chart_units_value", lang, kwh="%{y:.1f}")
    elif metric != "units" and plotly_writes_money(values, lang):
        value_field = MONEY_FIELD.format(field="y")
    else:
        value_field = None
    if value_field is not None:
        custom: list[str] | None = notes if any(so_far) else None
        template = _date_field(granularity, lang) + ("%{customdata}" if custom else "") + "<br>" + value_field
    else:
        custom = [
            f"{note}<br>" * open_ + value_label(v if v is not None else math.nan, metric, lang)
            for open_, v in zip(so_far, values, strict=True)
        ]
        template = _date_field(granularity, lang) + "<br>%{customdata}"
    common = {
        "x": x,
        "y": values,
        "name": plotly_text(name),
        "legendgroup": cid,
        "text": [t[1] for t in texts],
        "hovertemplate": template + "<extra>" + plotly_text(name) + "</extra>",
        "meta": {"consumer_id": cid, "kind": "value"},
        **refs,
    }
    if custom is not None:
        common["customdata"] = custom
    if metric != "balance":
        marker: dict[str, object] = {"color": colour}
        if any(so_far):
            marker["opacity"] = [SO_FAR_OPACITY if open_ else 1.0 for open_ in so_far]
            marker["pattern"] = {"shape": ["/" if open_ else "" for open_ in so_far], "solidity": 0.3}
        # textposition="none": the hover text must not also be printed inside every bar.
        return [{"type": "bar", "marker": marker, "textposition": "none", **common}]
    traces = [
        {
            "type": "scatter",
            "mode": "lines",
            "line": {"color": colour, "width": 2},
            "connectgaps": False,
            **common,
        }
    ]
    if points.paid:
        paid_texts = [texts[i] for i in points.paid]
        amounts = points.amounts
        if plotly_writes_money(amounts, lang):
            amount_data: list[float] | list[str] = amounts
            amount_field = _template_text(
                "chart_recharge_value", lang, amount=MONEY_FIELD.format(field="customdata")
            )
        else:
            amount_data = [
                i18n.t("chart_recharge_value", lang, amount=i18n.format_money(a, lang)) for a in amounts
            ]
            amount_field = "%{customdata}"
        traces.append(
            {
                "type": "scatter",
                "x": [t[0] for t in paid_texts],
                "y": [values[i] for i in points.paid],
                "mode": "markers",
                "marker": {"symbol": "triangle-up", "size": 10, "color": colour, "line": {"width": 1}},
                "name": i18n.t("chart_recharge", lang),
                "legendgroup": cid,
                "showlegend": False,
                "text": [t[1] for t in paid_texts],
                "customdata": amount_data,
                "hovertemplate": _date_field(granularity, lang)
                + "<br>"
                + amount_field
                + "<extra>"
                + plotly_text(name)
                + "</extra>",
                "meta": {"consumer_id": cid, "kind": "recharge"},
                **refs,
            }
        )
    return traces


def is_so_far(period: dt.date, granularity: Granularity, today: dt.date) -> bool:
    """Whether the plotted ``period`` (its first day) holds ``today``: its value is not final yet.

    >>> is_so_far(dt.date(2026, 11, 25), "day", dt.date(2026, 11, 25))
    True
    >>> is_so_far(dt.date(2026, 11, 23), "week", dt.date(2026, 11, 25)), is_so_far(
    ...     dt.date(2026, 10, 1), "month", dt.date(2026, 11, 25))
    (True, False)
    """
    if granularity == "day":
        return period == today
    if granularity == "week":
        return period <= today < period + dt.timedelta(days=7)
    return (period.year, period.month) == (today.year, today.month) and period <= today


def _run_out_traces(
    rows: pd.DataFrame,
    own: pd.DataFrame | None,
    cid: str,
    name: str,
    colour: str,
    lang: str,
    first_day: dt.date | None,
    last_day: dt.date,
    refs: dict[str, str],
) -> list[dict]:
    """The dashed projection of one connection's balance to its run-out day (none when not known), from
    its ``rows`` of the forecast and ``own`` rows of the projection (:class:`ConnectionRows`)."""
    if not len(rows):
        return []
    row = rows.iloc[0]
    # A balance that outlasts the forecast's horizon (days_left inf) is drawn along its path too.
    lasts = pd.isna(row["run_out_day"]) and math.isinf(float(row.get("days_left", math.nan)))
    if lasts and (own is None or not len(own)):
        return []
    if (
        (pd.isna(row["run_out_day"]) and not lasts)
        or pd.isna(row["balance_day"])
        or pd.isna(row["balance_inr"])
    ):
        return []
    start = pd.Timestamp(row["balance_day"]).date()
    if start < last_day - dt.timedelta(days=2) or row["balance_inr"] <= 0:
        return []  # the data stop well before the range's end: a projection would mislead
    if lasts:
        end = start + dt.timedelta(days=366)
        label = i18n.t("chart_lasts_beyond_year", lang)
    else:
        end = pd.Timestamp(row["run_out_day"]).date()
        label = i18n.t("chart_run_out", lang, date=i18n.format_date(end, lang, pattern="d MMM y"))
    balance = float(row["balance_inr"])
    # Draw at most a third of the shown range (a week at least) ahead, so a far run-out date does not
    # squeeze the measured days; the hover names the real date.
    span = (last_day - first_day).days + 1 if first_day else 30
    horizon = last_day + dt.timedelta(days=max(7, span // 3))
    if own is not None and len(own):
        ahead = own[(own["day"] > pd.Timestamp(start)) & (own["day"] <= pd.Timestamp(horizon))]
        xs, ys = _corners(
            [start, *(d.date() for d in ahead["day"])],
            [round(balance, 2), *(round(max(0.0, float(v)), 2) for v in ahead["closing_inr"])],
        )
    else:
        stop, stop_balance = end, 0.0
        if end > horizon and end > start:
            stop = horizon
            stop_balance = balance * (1 - (horizon - start).days / (end - start).days)
        xs, ys = [start.isoformat(), stop.isoformat()], [round(balance, 2), round(stop_balance, 2)]
    return [
        {
            "type": "scatter",
            "x": xs,
            "y": ys,
            "mode": "lines",
            "line": {"color": colour, "dash": "dash", "width": 2},
            "name": label,
            "legendgroup": cid,
            "showlegend": False,
            "hovertemplate": plotly_text(label) + "<extra>" + plotly_text(name) + "</extra>",
            "meta": {"consumer_id": cid, "kind": "lasts" if lasts else "run_out"},
            **refs,
        }
    ]


def _corners(days: list[dt.date], balances: list[float]) -> tuple[list[str], list[float]]:
    """The points of a daily balance path where its slope changes (the line looks the same, fewer bytes).

    >>> d = [dt.date(2026, 12, i) for i in range(1, 6)]
    >>> _corners(d, [100.0, 100.0, 100.0, 80.0, 60.0])
    (['2026-12-01', '2026-12-03', '2026-12-05'], [100.0, 100.0, 60.0])
    """
    keep = [0]
    for i in range(1, len(days) - 1):
        before = balances[i] - balances[i - 1]
        after = balances[i + 1] - balances[i]
        if abs(after - before) > 0.5:  # under 50 paise a day of difference is not visible
            keep.append(i)
    if len(days) > 1:
        keep.append(len(days) - 1)
    return [days[i].isoformat() for i in keep], [balances[i] for i in keep]


def _episode_shapes(
    own: pd.DataFrame,
    cid: str,
    colour: str,
    first_day: dt.date | None,
    last_day: dt.date | None,
    axis: int | None,
    side: bool,
) -> list[dict]:
    """Shaded rectangles (plotly shape dicts, the whole panel height) over one connection's cut-off days
    (``own``: its rows of the episodes, :class:`ConnectionRows`)."""
    shapes = []
    for _, episode in own.iterrows():
        start = pd.Timestamp(episode["start"]).date()
        end = pd.Timestamp(episode["end"]).date() + dt.timedelta(days=1)
        if first_day and end < first_day or last_day and start > last_day + dt.timedelta(days=1):
            continue
        shapes.append(
            {
                "fillcolor": CUT_FILL if side else _rgba(colour, 0.15),
                "layer": "below",
                "line": {"width": 0},
                "name": f"cut:{cid}",
                "type": "rect",
                "x0": start.isoformat(),
                "x1": end.isoformat(),
                "xref": _ref("x", axis),
                "y0": 0,
                "y1": 1,
                "yref": _ref("y", axis) + " domain",
            }
        )
    return shapes


def plotly_text(text: str) -> str:
    """User text (nicknames) for plotly titles, legends and hover templates: no HTML, no ``%{...}``.

    >>> plotly_text("<i>Shop</i> & %{x}")
    '&lt;i&gt;Shop&lt;/i&gt; &amp; %&#123;x}'
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("%{", "%&#123;")


def figure_json_size(fig: go.Figure) -> int:
    """Bytes of the JSON that Streamlit sends for ``fig`` (it uses ``plotly.io.to_json``)."""
    import plotly.io as pio

    return len(pio.to_json(fig, validate=False).encode("utf-8"))


def hour_profile_figure(profile: pd.DataFrame, *, lang: str, colour: str, name: str) -> go.Figure:
    """Average kWh per IST hour (:func:`lib.analytics.hour_of_day_profile`): weekdays and weekends.

    Weekdays are a solid line, Saturday and Sunday a dotted one, in the connection's colour.
    """
    fig = go.Figure()
    styles = {"weekday": ("solid", "compare_profile_weekday"), "weekend": ("dot", "compare_profile_weekend")}
    for day_type, (dash, key) in styles.items():
        own = profile[profile["day_type"] == day_type].sort_values("hour")
        if not len(own):
            continue
        label = i18n.t(key, lang)
        hours = [int(h) for h in own["hour"]]
        values = [round(float(v), 3) for v in own["kwh"]]
        fig.add_trace(
            go.Scatter(
                x=hours,
                y=values,
                mode="lines+markers",
                name=label,
                line={"color": colour, "dash": dash, "width": 2},
                text=[
                    f"{label}, {h:02d}:00–{(h + 1) % 24:02d}:00<br>{value_label(v, 'units', lang)}"
                    for h, v in zip(hours, values, strict=True)
                ],
                hovertemplate="%{text}<extra>" + plotly_text(name) + "</extra>",
            )
        )
    deva = devanagari_digits(lang)
    hours_shown = list(range(0, 24, 3))
    fig.update_xaxes(
        title={"text": i18n.t("compare_profile_hour", lang)},
        tickmode="array",
        tickvals=hours_shown,
        ticktext=[i18n.digits(f"{h:02d}:00", deva) for h in hours_shown],
    )
    fig.update_yaxes(title={"text": axis_title("units", lang)}, rangemode="tozero")
    if deva:
        tickvals, ticktext = value_ticks(list(profile["kwh"]), "units", lang)
        fig.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    fig.update_layout(
        template="none",
        title={"text": i18n.t("compare_profile_title", lang)},
        height=320,
        margin={"l": 50, "r": 16, "t": 60, "b": 40},
        legend={"orientation": "h", "yanchor": "top", "y": -0.2, "x": 0},
        font={"family": "'Noto Sans Devanagari', 'Lohit Devanagari', sans-serif"},
    )
    return fig
