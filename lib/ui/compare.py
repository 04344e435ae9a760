"""The Compare page (``pages/compare.py``): balance, units or ₹ spent of the linked connections, side by side.

Widget values are untrusted: the connection choice is intersected with the account's active
connections (read uncached on every run) before any data is loaded.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from dataclasses import dataclass
from typing import TypedDict, Unpack

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib import analytics, charts, clock, i18n, storage
from lib.analytics import Granularity, Metric
from lib.ui import downloads, frame, ledger_panels, loaders, net_metering, paths
from lib.ui.context import PageContext
from lib.ui.escape import csv_cell
from lib.ui.escape import markdown as md
from lib.ui.widgets import (
    chart_config,
    connection_picker,
    draw_chart,
    draw_no_connections,
    draw_stale_links,
    draw_table,
    is_phone,
    page_link,
)

log = logging.getLogger(__name__)

RANGES = ("7d", "30d", "3m", "1y", "custom")
GRANULARITY_CHOICES = ("auto", *analytics.GRANULARITIES)
LAYOUTS: tuple[charts.Layout, ...] = ("side_by_side", "overlay")
MAX_DAILY_POINTS = 5 * 366  # more daily points than this are drawn weekly (figure size bound)
PROFILE_DAYS = 92
MAIN_CHART_KEY = "compare_chart"  # the chosen metric's chart (prepare_first_view works out its figure)
UNITS_CHART_KEY = "compare_units_chart"  # units of connections without a balance (and their figure)
PROFILE_KEY = "compare_profile"  # the hour-of-day expander's open state (session state, CSS st-key-)
RANGE_KEYS = {
    "7d": "compare_range_7d",
    "30d": "compare_range_30d",
    "3m": "compare_range_3m",
    "1y": "compare_range_1y",
    "custom": "compare_range_custom",
}
METRIC_KEYS = {
    "balance": "compare_metric_balance",
    "units": "compare_metric_units",
    "spend": "compare_metric_spend",
}
GRANULARITY_KEYS = {
    "auto": "compare_granularity_auto",
    "day": "compare_granularity_day",
    "week": "compare_granularity_week",
    "month": "compare_granularity_month",
}
LAYOUT_KEYS = {"side_by_side": "compare_layout_side_by_side", "overlay": "compare_layout_overlay"}
_CSV_VALUE_KEYS = {"balance": "csv_balance", "units": "csv_units", "spend": "csv_spend"}


class Choice(TypedDict):
    """The Compare controls' values (:func:`_controls`, validated): period, metric, granularity choice,
    layout, shared y axis, compact (one panel per row)."""

    range: str
    metric: Metric
    granularity: str
    layout: charts.Layout
    shared_y: bool
    compact: bool


def default_choice() -> Choice:
    """The controls' values on a session's first Compare: 30 days, balance, auto granularity, side by
    side, one y axis, compact on a phone (:func:`is_phone`); what :func:`prepare_first_view` works out.

    >>> default_choice()["range"], default_choice()["metric"]
    ('30d', 'balance')
    """
    return {
        "range": "30d",
        "metric": "balance",
        "granularity": "auto",
        "layout": "side_by_side",
        "shared_y": True,
        "compact": is_phone(),
    }


def range_days(choice: str, today: dt.date, custom: object = None) -> tuple[dt.date, dt.date, bool]:
    """(first, last, complete) IST days of a range choice; ``complete`` False when custom dates are half-chosen.

    >>> range_days("7d", dt.date(2026, 11, 25))[:2]
    (datetime.date(2026, 11, 19), datetime.date(2026, 11, 25))
    >>> range_days("3m", dt.date(2026, 11, 25))[0]
    datetime.date(2026, 8, 26)
    """
    if choice == "custom":
        chosen = [
            d for d in (custom if isinstance(custom, (tuple, list)) else [custom]) if isinstance(d, dt.date)
        ]
        if len(chosen) == 2:
            first, last = sorted(chosen)
            return first, min(last, today), True
        return today - dt.timedelta(days=29), today, False
    if choice == "7d":
        return today - dt.timedelta(days=6), today, True
    if choice == "3m":
        return (pd.Timestamp(today) - pd.DateOffset(months=3)).date() + dt.timedelta(days=1), today, True
    if choice == "1y":
        return (pd.Timestamp(today) - pd.DateOffset(years=1)).date() + dt.timedelta(days=1), today, True
    return today - dt.timedelta(days=29), today, True


def effective_granularity(
    choice: str, first: dt.date, last: dt.date, connections: int = 1
) -> tuple[Granularity, bool]:
    """(granularity to draw, coarsened): "auto" picks from the range; too many daily points go weekly.

    A daily chart may hold up to ``MAX_DAILY_POINTS`` points in all (a year for five connections),
    which keeps the figure JSON under 200 KB.

    >>> effective_granularity("day", dt.date(2025, 11, 26), dt.date(2026, 11, 25), connections=5)
    ('day', False)
    >>> effective_granularity("day", dt.date(2025, 11, 26), dt.date(2026, 11, 25), connections=6)
    ('week', True)
    """
    if choice not in analytics.GRANULARITIES:
        return analytics.choose_granularity(first, last), False
    if choice == "day" and ((last - first).days + 1) * max(1, connections) > MAX_DAILY_POINTS:
        return "week", True
    return choice, False


def csv_bytes(series: pd.DataFrame, metric: Metric, lang: str) -> bytes:
    """The plotted series as CSV with translated headers (UTF-8 with BOM, so spreadsheets read Hindi).

    Cells that a spreadsheet would run as a formula (a nickname starting with ``=``) are quoted with ``'``.
    """
    export = pd.DataFrame(
        {
            i18n.t("csv_period", lang): _iso_days(series["period"]),
            i18n.t("csv_connection", lang): _cells(series["nickname"]),
            i18n.t("csv_consumer_id", lang): _cells(series["consumer_id"]),
            i18n.t(_CSV_VALUE_KEYS[metric], lang): _plotted(series["value"]),
        }
    )
    if metric == "balance":
        export[i18n.t("csv_recharge", lang)] = _plotted(series["recharge_inr"])
    return downloads.csv_bytes(export)


# The CSV's cells without a pandas Timestamp, a csv_cell call or a pd.isna per row (issue 15): the same
# texts and values as per row (tests/test_compare_csv.py compares the bytes with main's csv_bytes).
_FIRST_DAY, _LAST_DAY = np.datetime64("0001-01-01", "D"), np.datetime64("9999-12-31", "D")
_PER_DAY = {"D": 1, "h": 24, "m": 1440, "s": 86_400, "ms": 86_400_000, "us": 86_400 * 10**6, "ns": 86_400 * 10**9}  # fmt: skip


def _iso_days(periods: pd.Series) -> list[str]:
    """``pd.Timestamp(p).date().isoformat()`` of each period: numpy's ISO text of the day (the days of
    naive numpy datetimes, floored as ``date()`` floors them), else per row (a NaT, a zone, other types)."""
    values = periods.to_numpy()
    unit = np.datetime_data(values.dtype)[0] if values.dtype.kind == "M" else None
    if unit in _PER_DAY and len(values) and not np.isnat(values).any():
        # days by floor division of the integers: numpy's cast to days wraps around on the ns range's first day
        days = np.floor_divide(values.view(np.int64), _PER_DAY[unit]).astype("datetime64[D]")
        if days.min() >= _FIRST_DAY and days.max() <= _LAST_DAY:
            return np.datetime_as_string(days, unit="D").tolist()
    return [pd.Timestamp(p).date().isoformat() for p in periods]


def _cells(texts: pd.Series) -> list[str]:
    """``csv_cell`` of each text, worked out once per distinct one (a connection's rows repeat it); per
    row unless the column is text (distinct values of another dtype may be equal keys: 1, 1.0, True)."""
    if not isinstance(texts.dtype, pd.StringDtype):
        return [csv_cell(text) for text in texts]
    values = texts.tolist()
    cells = {value: csv_cell(value) for value in set(values)}
    return [cells[value] for value in values]


def _plotted(values: pd.Series) -> list[float | None]:
    """:func:`lib.charts.plotted_values` of a float64 column without ``pd.isna`` per value (NaN is the
    value unequal to itself); any other dtype through it."""
    if values.dtype != np.float64:
        return charts.plotted_values(values)
    return [None if value != value else round(value, 2) for value in values.tolist()]


# --- the page --------------------------------------------------------------------------------------


def draw(ctx: PageContext) -> None:
    """Draw the Compare page for the signed-in account.

    The title, the stale links and the intro run with the page; the controls and everything they
    choose (chart, captions, CSV, tables, monthly spend, hour profile) are one fragment
    (:func:`_view`): changing the period or any other control reruns only that, not the frame, the
    sidebar and the low-balance warning (issue 15). Navigation, the language, sign-out and every write
    run the whole page.
    """
    st.title(ctx.t("compare_title"))
    try:
        home = loaders.household(ctx)
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
        return
    draw_stale_links(ctx, home.stale)
    if not len(home.details):
        draw_no_connections(ctx)
        return
    st.caption(ctx.t("compare_intro"))
    _view(ctx.detached(), home.signature())


@st.fragment
def _view(spec: PageContext, drawn: tuple[object, ...]) -> None:
    """The controls and the comparison they choose; ``spec`` is the page's detached context, ``drawn``
    the household the page drew (:meth:`lib.ui.loaders.Household.signature`).

    A rerun of this fragment alone reads the household again (the connection choice is authorized on
    every run): when it differs from what the page drew, the whole page runs again instead.
    """
    ctx = frame.fragment_context(spec)
    try:
        home = loaders.household(ctx)
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
        return
    if home.signature() != drawn:
        st.rerun()
    details = home.details
    today = clock.today_ist()
    all_ids = list(details["consumer_id"])
    names = dict(zip(all_ids, details["nickname"].astype(str), strict=True))
    colours = charts.connection_colours(all_ids)
    # The comparison comes first, its controls below it (issue 14 section 5: the chart's top inside the
    # first screen at 1366x768 and 390x844); the controls still run first, so the chart follows them.
    chart_area = st.container()
    choice = _controls(ctx, all_ids, names, today)
    # Untrusted widget value: keep only the account's active connections, in link order.
    wanted = set(st.session_state.get("compare_connections") or [])
    selected = [cid for cid in all_ids if cid in wanted]
    if not selected:
        st.info(ctx.t("compare_pick_connection"))
        return

    first, last, complete = range_days(choice["range"], today, st.session_state.get("compare_dates"))
    if not complete:
        st.info(ctx.t("compare_dates_incomplete"))
    granularity, coarsened = effective_granularity(choice["granularity"], first, last, len(selected))
    label = ctx.t(GRANULARITY_KEYS[granularity])
    st.caption(
        ctx.t(
            "compare_granularity_coarsened" if coarsened else "compare_granularity_chosen", granularity=label
        )
    )

    metric: Metric = choice["metric"]
    try:
        view = _period_view(ctx, home, selected, names, metric, granularity, first, last, today)
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
        return

    if not view.main_has_data and not view.units_instead:
        st.info(
            ctx.t(
                "compare_no_data",
                first=i18n.format_date(first, ctx.lang),
                last=i18n.format_date(last, ctx.lang),
            )
        )
        return
    if view.without:
        st.caption(ctx.t("compare_without_data", names=md(", ".join(view.without))))

    chart = _chart_inputs(home, selected, choice, granularity, colours, view, first, last)
    if view.main_has_data:
        with chart_area:
            _draw_chart(ctx, view.main, metric, with_forecast=last == today, key=MAIN_CHART_KEY, **chart)
        downloads.csv_download(
            ctx.t("compare_download"),
            view.main_csv,
            file_name=f"metermitra-{metric}-{first.isoformat()}-{last.isoformat()}.csv",
            key="compare_download",
        )
    if view.units_instead:
        st.info(ctx.t("compare_no_balance", names=md(", ".join(names[cid] for cid in view.units_instead))))
        page_link(paths.LEDGER, ctx.t("compare_enter_balance"), icon=":material/edit:")
        _draw_chart(ctx, view.units, "units", with_forecast=False, key=UNITS_CHART_KEY, **chart)
        downloads.csv_download(
            ctx.t("compare_download_units"),
            view.units_csv,
            file_name=f"metermitra-units-{first.isoformat()}-{last.isoformat()}.csv",
            key="compare_units_download",
        )
    if metric == "units" and len(view.net):
        _draw_export(ctx, view.daily, view.net, selected, names, first, last, chart)
    try:  # worked out after the chart is on its way to the browser (issue 15)
        _draw_tables(ctx, *_period_tables(ctx, home, selected, names, first, last))
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
    ledger_panels.draw_monthly_spend(ctx, selected)
    _draw_profile(ctx, home, selected, names, colours, first, last)


def prepare_first_view(ctx: PageContext) -> None:
    """Work out ahead, without drawing anything, what a session's first Compare of the signed-in account
    shows (its :func:`loaders.household`: the run's own answer when the page read it): the default controls
    (:func:`default_choice`, every active connection), the view and its charts' figures (the metric's; the
    units of connections without a balance), their CSVs and the period's tables, into the caches Compare
    reads (:func:`_period_view`, :func:`_chart_figure`, :func:`_period_tables`).

    The Overview's page script (``dashboard.py``) calls it once the Overview is drawn (issue 15): a
    household's next step is most often Compare, whose first view of a new data version is otherwise
    worked out while the household waits (the period's reads, calendar, tables, series, CSV and figure:
    ~80 ms of server CPU with 3 connections, BENCHMARKS.md sections 4 and 6), and with it the household's
    year (:func:`_household_year`), which every later period inside it is cut from. Once prepared, an Overview
    rerun pays the cache keys and lookups (and the filters that make the keys: under a millisecond with 3
    connections); a miss costs what Compare would pay, once per connections' data versions, day, language,
    digits and phone. Best effort: a failure is logged and left to Compare, which reports it in the user's
    language when it is opened.
    """
    try:
        home = loaders.household(ctx)
        details = home.details
        if not len(details):
            return
        today = clock.today_ist()
        all_ids = list(details["consumer_id"])
        names = dict(zip(all_ids, details["nickname"].astype(str), strict=True))
        choice = default_choice()
        first, last, _ = range_days(choice["range"], today)
        granularity, _ = effective_granularity(choice["granularity"], first, last, len(all_ids))
        view = _period_view(ctx, home, all_ids, names, choice["metric"], granularity, first, last, today)
        colours = charts.connection_colours(all_ids)
        chart = _chart_inputs(home, all_ids, choice, granularity, colours, view, first, last)
        figures = []
        if view.main_has_data:  # as _view draws them
            figures.append(
                _chart_figure(
                    ctx, view.main, choice["metric"], with_forecast=last == today, key=MAIN_CHART_KEY, **chart
                )
            )
        if view.units_instead:
            figures.append(
                _chart_figure(ctx, view.units, "units", with_forecast=False, key=UNITS_CHART_KEY, **chart)
            )
        for fig in figures:
            fig.to_dict()  # a cached figure's dict is worked out once (loaders.FrozenFigure)
        if view.main_has_data:  # the CSVs, kept with the view
            view.main_csv  # noqa: B018
        if view.units_instead:
            view.units_csv  # noqa: B018
        _period_tables(ctx, home, all_ids, names, first, last)  # last, as the page draws them
    except storage.StorageError as error:  # the database busy or down: Compare will say so when opened
        log.warning("Compare's first view not prepared: %s", error)
    except Exception:  # noqa: BLE001 - best effort: the Overview is drawn; Compare reports its own errors
        log.exception("Compare's first view not prepared")


def _period_view(
    ctx: PageContext,
    home: loaders.Household,
    selected: list[str],
    names: dict[str, str],
    metric: Metric,
    granularity: Granularity,
    first: dt.date,
    last: dt.date,
    today: dt.date,
) -> _View:
    """The view of ``selected`` (active consumer IDs, link order) for one metric, granularity and period,
    from the cache shared by every run and session (:func:`loaders.cached_view`; built on a miss by
    :func:`_build_view`); raises ``storage.StorageError``."""
    keys = home.keys_of(selected)
    # the selection's order too: the series and tables follow it (today always link order, as keys)
    options = (
        metric,
        granularity,
        str(first),
        str(last),
        str(today),
        ctx.lang,
        tuple(selected),
    )
    return loaders.cached_view(
        ctx,
        lambda: _build_view(ctx, home, selected, names, metric, granularity, first, last),
        "compare",
        keys,
        options,
    )


@dataclass(frozen=True)
class _View:
    """One Compare view (metric, granularity, period, language, digits) of the selected connections'
    data versions: what every rerun that shows it draws, worked out once (:func:`loaders.cached_view`,
    shared across runs and sessions, never mutated; its CSVs' bytes are filled in once, when first asked
    for)."""

    daily: pd.DataFrame  # the selected connections' daily frames from _load_from(first, last)
    episodes: pd.DataFrame  # disconnection episodes overlapping the period
    main: pd.DataFrame  # the metric's series (compare_series columns) without the units fallback
    main_has_data: bool
    units_instead: tuple[str, ...]  # units_fallback: consumer IDs drawn as units
    units: pd.DataFrame  # their units series (empty when none)
    without: tuple[str, ...]  # nicknames of selected connections without readings in the period
    net: pd.DataFrame  # analytics.net_energy over the period (only for the units metric; else empty)
    metric: Metric
    lang: str

    # The CSVs' bytes are made when the page first asks for them, once per view (then kept with it): after
    # the chart is drawn, so a view not seen before sends its chart first (issue 15). Made in the run, not
    # on the click: a download Streamlit makes on the click (a deferred download) is referenced by no session
    # and may be swept before the browser fetches it (BENCHMARKS.md section 4 run 14). On Python 3.11 a
    # cached_property takes one lock per property for every instance: a first CSV (a few ms) waits for
    # another session's first CSV at most.
    @functools.cached_property
    def main_csv(self) -> bytes:
        """:func:`csv_bytes` of :attr:`main` (its metric, the view's language)."""
        return csv_bytes(self.main, self.metric, self.lang)

    @functools.cached_property
    def units_csv(self) -> bytes:
        """:func:`csv_bytes` of :attr:`units`, the units fallback's series."""
        return csv_bytes(self.units, "units", self.lang)


def _build_view(
    ctx: PageContext,
    home: loaders.Household,
    selected: list[str],
    names: dict[str, str],
    metric: Metric,
    granularity: Granularity,
    first: dt.date,
    last: dt.date,
) -> _View:
    """Work out one view from its period's frames (:func:`_build_period`, cached apart: every metric and
    granularity of a period shares them); raises ``storage.StorageError``."""
    period = _period(ctx, home, selected, names, first, last)
    daily, episodes, with_readings = period.daily, period.episodes, period.with_readings
    series = analytics.compare_series(
        daily, metric, granularity, first, last, selected, names, calendar=period.calendar
    )
    units_instead = units_fallback(series, metric, selected, set(with_readings))
    main = series[~series["consumer_id"].astype(str).isin(units_instead)]
    main_has_data = bool(len(main)) and (main["value"].notna().any() or (main["recharge_inr"] > 0).any())
    units = series.iloc[0:0]
    if units_instead:
        own = daily[daily["consumer_id"].astype(str).isin(units_instead)]
        units = analytics.compare_series(
            own, "units", granularity, first, last, units_instead, names, calendar=period.calendar
        )
    return _View(
        daily=daily,
        episodes=episodes,
        main=main,
        main_has_data=bool(main_has_data),
        units_instead=tuple(units_instead),
        units=units,
        without=tuple(names[cid] for cid in selected if cid not in with_readings),
        net=analytics.net_energy(daily, first, last) if metric == "units" else daily.iloc[0:0],
        metric=metric,
        lang=ctx.lang,
    )


@dataclass(frozen=True)
class _Period:
    """What every metric and granularity of one period of the selected connections, and its tables, read
    alike: cut from the household's year or read (:func:`_build_period`), once per (connections' data
    versions, period) (:func:`loaders.cached_view`, shared, never mutated)."""

    daily: pd.DataFrame  # the selected connections' daily frames from _load_from(first, last)
    episodes: pd.DataFrame  # disconnection episodes overlapping the period
    calendar: pd.DataFrame  # analytics.period_calendar: the one filled calendar of the series and shares
    with_readings: frozenset[str]  # consumer IDs with readings in the period


def _build_period(
    ctx: PageContext,
    home: loaders.Household,
    selected: list[str],
    names: dict[str, str],
    first: dt.date,
    last: dt.date,
) -> _Period:
    """The period's frames: cut from the household's year (:func:`_household_year`) when the period lies
    in it, else read (:func:`_read_period`); the same frames either way
    (tests/test_compare_year.py); raises ``storage.StorageError``."""
    today = clock.today_ist()
    year_first, year_last, _ = range_days(YEAR_RANGE, today)
    if (
        year_first <= first
        and last <= year_last
        and _load_from(first, last) >= _load_from(year_first, year_last)
    ):
        year = _household_year(ctx, home, year_first, year_last)
        period = _period_of_year(year, selected, first, last)
        if period is not None:
            return period
    return _read_period(ctx, home.keys_of(selected), selected, names, first, last)


def _read_period(
    ctx: PageContext,
    keys: tuple[loaders.ConnKey, ...],
    selected: list[str],
    names: dict[str, str],
    first: dt.date,
    last: dt.date,
) -> _Period:
    """Read the period's frames (per-connection caches), fill its calendar once; raises
    ``storage.StorageError``."""
    daily = loaders.household_frame(
        ctx, loaders.connection_daily, keys, str(_load_from(first, last)), str(last)
    )
    # One pass over the household's days (a calendar per connection, each cached apart, cost 3-4x more)
    calendar = analytics.period_calendar(daily, first, last, selected, names)
    return _period_parts(daily, calendar, first, last)


def _period_parts(daily: pd.DataFrame, calendar: pd.DataFrame, first: dt.date, last: dt.date) -> _Period:
    """The :class:`_Period` of a period's daily frame (read from :func:`_load_from`) and calendar: its
    disconnection episodes overlapping the period, the connections with readings in it."""
    episodes = analytics.disconnection_episodes(daily)
    in_range = _in_period(daily, first, last)
    known = in_range["consumer_id"][in_range["intervals"].to_numpy() > 0]
    with_readings = frozenset(str(cid) for cid in known.unique())  # the few IDs, not every row's
    if len(episodes):
        episodes = episodes[
            (episodes["end"] >= pd.Timestamp(first)) & (episodes["start"] <= pd.Timestamp(last))
        ]
    return _Period(daily, episodes, calendar, with_readings)


# The longest period Compare offers: the household's year (:func:`_household_year`) covers it.
YEAR_RANGE = "1y"


@dataclass(frozen=True)
class _Year:
    """Every active connection's daily frames and filled calendar over the longest period Compare offers
    (:data:`YEAR_RANGE`, ending today), read and filled once per (connections' data versions, day) and
    shared (:func:`loaders.cached_view`, never mutated): every period and selection inside it is a cut
    of these (:func:`_period_of_year`), not a read and a calendar of its own."""

    daily: pd.DataFrame  # from _load_from(first, last): a period's daily frames, read once
    calendar: pd.DataFrame  # analytics.period_calendar of daily over first..last, every connection


def _household_year(ctx: PageContext, home: loaders.Household, first: dt.date, last: dt.date) -> _Year:
    """The :class:`_Year` of the household's active connections (``home.keys``) over ``first..last``
    (the :data:`YEAR_RANGE` of today), from the cache shared by every run and session; raises
    ``storage.StorageError``.

    Issue 15: a new household's first 1-year Compare read its year and filled its calendar while the
    household waited (~25 ms of the ~85 ms of CPU before a 3-connection household's chart, BENCHMARKS.md
    section 4 run 22); the year is now read and filled with the household's first Compare (prepared with
    the Overview, :func:`prepare_first_view`), instead of that view's 30 days: a first visit that opens
    Compare directly costs within its spread of what it did (0.40-0.41 s of CPU, section 4 run 22)."""
    keys = home.keys

    def build() -> _Year:
        daily = loaders.household_frame(
            ctx, loaders.connection_daily, keys, str(_load_from(first, last)), str(last)
        )
        ids = [key[0] for key in keys]
        names = {key[0]: key[2] for key in keys}  # the nickname in the key: the page's names
        return _Year(daily, analytics.period_calendar(daily, first, last, ids, names))

    return loaders.cached_view(ctx, build, "compare_year", keys, (str(first), str(last)), large=True)


def _period_of_year(year: _Year, selected: list[str], first: dt.date, last: dt.date) -> _Period | None:
    """The :class:`_Period` of ``selected`` over ``first..last`` cut from ``year`` (the period inside
    it, :func:`_build_period`): the rows :func:`_read_period` reads and fills, in the same order with the
    same values, each day's deduction from its own previous day as there. None when the selection has no
    stored day in ``_load_from(first, last)..last`` (the read answers that, its empty frame's columns as
    they are read)."""
    wanted = set(selected)
    daily = year.daily
    rows = _days_between(daily, _load_from(first, last), last)
    if not wanted.issuperset(daily["consumer_id"].unique()):
        rows = rows & daily["consumer_id"].isin(wanted).to_numpy()
    if not rows.any():
        return None
    daily = daily[rows].reset_index(drop=True)
    calendar = year.calendar
    days = _days_between(calendar, first, last)
    if not wanted.issuperset(calendar["consumer_id"].unique()):
        days = days & calendar["consumer_id"].isin(wanted).to_numpy()
    return _period_parts(daily, calendar[days], first, last)


def _load_from(first: dt.date, last: dt.date) -> dt.date:
    """The first day a period's frames are read from: the day before ``first`` (its first deduction), and
    at least 31 days before ``last`` (the forecast's burn window).

    >>> _load_from(dt.date(2026, 11, 20), dt.date(2026, 11, 25))
    datetime.date(2026, 10, 25)
    """
    return min(first - dt.timedelta(days=1), last - dt.timedelta(days=31))


def _in_period(daily: pd.DataFrame, first: dt.date, last: dt.date) -> pd.DataFrame:
    """The rows of a period's daily frame (read from :func:`_load_from`) on the days ``first..last``."""
    return daily[_days_between(daily, first, last)]


def _days_between(frame: pd.DataFrame, first: dt.date, last: dt.date) -> np.ndarray:
    """Whether each row's ``day`` is in ``first..last`` (bool array): numpy's comparison of the stored
    tz-naive days (the pandas one costs ~0.3 ms a bound), pandas' for any other day column.

    >>> frame = pd.DataFrame({"day": pd.to_datetime(["2026-11-01 00:00", "2026-11-02 00:00", "2026-11-03 06:00"])})
    >>> _days_between(frame, dt.date(2026, 11, 2), dt.date(2026, 11, 3)).tolist()
    [False, True, False]
    """
    days = frame["day"]
    lo, hi = pd.Timestamp(first), pd.Timestamp(last)  # as pandas reads the bounds (a time of day kept)
    if isinstance(days.dtype, np.dtype) and days.dtype.kind == "M":
        values = days.to_numpy()
        return (values >= lo.to_datetime64()) & (values <= hi.to_datetime64())
    return np.array((days >= lo) & (days <= hi), dtype=bool)  # a writable array, as numpy's


def _period(
    ctx: PageContext,
    home: loaders.Household,
    selected: list[str],
    names: dict[str, str],
    first: dt.date,
    last: dt.date,
) -> _Period:
    """The period's frames of ``selected`` (:func:`_build_period`), from the cache shared by every run and
    session (every metric and granularity of the period, and its tables, read the same); raises
    ``storage.StorageError``."""
    return loaders.cached_view(
        ctx,
        lambda: _build_period(ctx, home, selected, names, first, last),
        "compare_period",
        home.keys_of(selected),
        (str(first), str(last)),  # nothing in it depends on the language
    )


def _period_tables(
    ctx: PageContext,
    home: loaders.Household,
    selected: list[str],
    names: dict[str, str],
    first: dt.date,
    last: dt.date,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The period's shares and peak-demand tables of ``selected`` (:func:`_tables`), from the cache shared
    by every run and session; raises ``storage.StorageError``.

    Apart from the view (:func:`_period_view`) so that the page works them out after its chart is drawn:
    on a period not seen before the chart (its message) goes to the browser before the server formats the
    tables under it, and the browser draws it while they are worked out (issue 15: a new household's first
    1-year period)."""
    keys = home.keys_of(selected)
    details = home.details
    shown_details = details[details["consumer_id"].isin(selected)]

    def build() -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
        period = _period(ctx, home, selected, names, first, last)
        daily = period.daily
        return _tables(
            ctx, daily, _in_period(daily, first, last), shown_details, first, last, period.calendar
        )

    return loaders.cached_view(
        ctx, build, "compare_tables", keys, (str(first), str(last), ctx.lang, tuple(selected))
    )


def units_fallback(
    series: pd.DataFrame, metric: Metric, selected: list[str], with_readings: set[str]
) -> list[str]:
    """Connections (in ``selected`` order) whose units are drawn instead of ``metric``.

    Balance and ₹ spent come from the balance series: a connection with readings in the range but no
    balance in it (an imported meter that reports none, before the household entered one on the Ledger
    page) would get an empty panel, so its units are drawn instead (issue 11 section 3). Units need no
    balance: for ``metric="units"`` the list is empty.

    >>> s = pd.DataFrame({"consumer_id": ["1", "2", "3"], "value": [412.0, float("nan"), float("nan")]})
    >>> units_fallback(s, "balance", ["1", "2", "3"], {"1", "2"})
    ['2']
    >>> units_fallback(s, "units", ["1", "2", "3"], {"1", "2"})
    []
    """
    if metric == "units":
        return []
    known = set(series.loc[series["value"].notna(), "consumer_id"].astype(str))
    return [cid for cid in selected if cid in with_readings and cid not in known]


class _ChartInputs(TypedDict):
    """What every Compare chart of a view (the chosen metric's, the units fallback's, the energy sent)
    shares: :func:`_chart_figure`'s keyword arguments besides the series, the metric, the forecast, the
    widget key and the title."""

    granularity: Granularity
    choice: Choice
    colours: dict[str, str]
    episodes: pd.DataFrame
    first: dt.date
    last: dt.date
    keys: tuple[loaders.ConnKey, ...]


def _chart_inputs(
    home: loaders.Household,
    selected: list[str],
    choice: Choice,
    granularity: Granularity,
    colours: dict[str, str],
    view: _View,
    first: dt.date,
    last: dt.date,
) -> _ChartInputs:
    """What every chart of ``view`` (of ``selected``, active consumer IDs) shares, their figures' cache keys
    among them: made in one place for the page (:func:`_view`) and :func:`prepare_first_view`."""
    return {
        "granularity": granularity,
        "choice": choice,
        "colours": colours,
        "episodes": view.episodes,
        "first": first,
        "last": last,
        "keys": home.keys_of(selected),
    }


def _draw_chart(
    ctx: PageContext,
    series: pd.DataFrame,
    metric: Metric,
    *,
    with_forecast: bool,
    key: str,
    title: str | None = None,
    **chart: Unpack[_ChartInputs],
) -> None:
    """One Compare chart (:func:`_chart_figure` of the same arguments), drawn with the widget ``key``."""
    fig = _chart_figure(ctx, series, metric, with_forecast=with_forecast, key=key, title=title, **chart)
    draw_chart(ctx, fig, key=key)


def _chart_figure(
    ctx: PageContext,
    series: pd.DataFrame,
    metric: Metric,
    *,
    granularity: Granularity,
    choice: Choice,
    colours: dict[str, str],
    episodes: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    with_forecast: bool,
    key: str,
    keys: tuple[loaders.ConnKey, ...],
    title: str | None = None,
) -> go.Figure:
    """One Compare chart's figure, cached whole (:func:`lib.ui.loaders.cached_figure`) by the drawn
    connections' data versions and every view option, so a rerun that changes nothing it shows rebuilds
    nothing; the run-out forecast (``with_forecast``: the period ends today) is read only when the figure
    is built. Raises what :func:`lib.charts.compare_figure` and the forecast's read raise (nothing cached)."""
    ids = set(series["consumer_id"].astype(str))
    own_episodes = episodes[episodes["consumer_id"].astype(str).isin(ids)] if len(episodes) else episodes
    today = clock.today_ist()
    columns = 1 if choice["compact"] else min(3, len(ids))
    phone = is_phone()

    def build() -> go.Figure:
        forecast = loaders.household_forecast(ctx, keys, str(today)) if with_forecast else None
        fig = charts.compare_figure(
            series,
            metric=metric,
            granularity=granularity,
            lang=ctx.lang,
            colours=colours,
            layout=choice["layout"],
            columns=columns,
            shared_y=choice["shared_y"],
            forecast=forecast,
            projection=None if forecast is None else loaders.household_projection(ctx, shown, str(today)),
            episodes=own_episodes,
            first_day=first,
            last_day=last,
            today=today,
            phone=phone,
        )
        if title is not None:
            fig.update_layout(title={"text": title})
        return fig

    shown = tuple(k for k in keys if k[0] in ids)
    options: tuple[object, ...] = (key, ctx.lang, metric, granularity, choice["layout"], columns)
    options += (choice["shared_y"], title, phone)
    options += (str(first), str(last), str(today), tuple(sorted(colours.items())), not with_forecast)
    return loaders.cached_figure(build, "compare", shown, options)


def _draw_export(
    ctx: PageContext,
    daily: pd.DataFrame,
    net: pd.DataFrame,
    selected: list[str],
    names: dict[str, str],
    first: dt.date,
    last: dt.date,
    chart: _ChartInputs,
) -> None:
    """For net-metered connections (``net``: :func:`lib.analytics.net_energy` of the period): the energy
    sent to the grid as its own chart beside the units drawn, and the drawn / sent / net table."""
    ids = [cid for cid in selected if cid in set(net["consumer_id"].astype(str))]
    if not ids:
        return
    sent = daily[daily["consumer_id"].astype(str).isin(ids)].copy()
    sent["kwh"] = sent["export_kwh"]
    series = analytics.compare_series(sent, "units", chart["granularity"], first, last, ids, names)
    _draw_chart(
        ctx,
        series,
        "units",
        with_forecast=False,
        key="compare_export_chart",
        title=ctx.t("net_export_chart_title"),
        **chart,
    )
    net_metering.draw_net_energy(ctx, daily, first, last, "net_compare_title", net=net)


def _controls(ctx: PageContext, all_ids: list[str], names: dict[str, str], today: dt.date) -> Choice:
    """Draw the controls; their values (untrusted widget values: an unknown one reads as its default)."""
    state = st.session_state
    defaults = default_choice()
    # Keep a remembered choice valid when a connection is removed (unknown values would raise).
    default: list[str] | None = all_ids
    if "compare_connections" in state:
        default = None
        kept = [cid for cid in state["compare_connections"] or [] if cid in all_ids]
        if kept != state["compare_connections"]:
            state["compare_connections"] = kept
    top = st.columns([3, 2])
    with top[0]:
        choice = st.radio(
            ctx.t("compare_range"),
            RANGES,
            index=RANGES.index(defaults["range"]),
            format_func=lambda code: ctx.t(RANGE_KEYS[code]),
            horizontal=True,
            key="compare_range",
        )
        if choice == "custom":
            st.date_input(
                ctx.t("compare_dates"),
                value=(today - dt.timedelta(days=29), today),
                min_value=today - dt.timedelta(days=5 * 366),
                max_value=today,
                format="DD/MM/YYYY",
                key="compare_dates",
            )
    with top[1]:
        metric = st.radio(
            ctx.t("compare_metric"),
            analytics.METRICS,
            index=analytics.METRICS.index(defaults["metric"]),
            format_func=lambda code: ctx.t(METRIC_KEYS[code]),
            horizontal=True,
            key="compare_metric",
        )
    st.multiselect(
        ctx.t("compare_connections"),
        all_ids,
        default=default,
        format_func=lambda cid: ctx.t(
            "compare_connection_option", nickname=names.get(cid, cid), consumer_id=cid
        ),
        key="compare_connections",
    )
    row = st.columns(4)
    granularity = row[0].selectbox(
        ctx.t("compare_granularity"),
        GRANULARITY_CHOICES,
        index=GRANULARITY_CHOICES.index(defaults["granularity"]),
        format_func=lambda code: ctx.t(GRANULARITY_KEYS[code]),
        key="compare_granularity",
    )
    layout = row[1].radio(
        ctx.t("compare_layout"),
        LAYOUTS,
        index=LAYOUTS.index(defaults["layout"]),
        format_func=lambda code: ctx.t(LAYOUT_KEYS[code]),
        key="compare_layout",
    )
    shared_y = row[2].toggle(ctx.t("compare_shared_y"), value=defaults["shared_y"], key="compare_shared_y")
    compact = row[3].toggle(ctx.t("compare_compact"), value=defaults["compact"], key="compare_compact")
    return {
        "range": choice if choice in RANGES else defaults["range"],
        "metric": metric if metric in analytics.METRICS else defaults["metric"],
        "granularity": granularity if granularity in GRANULARITY_CHOICES else defaults["granularity"],
        "layout": layout if layout in LAYOUTS else defaults["layout"],
        "shared_y": bool(shared_y),
        "compact": bool(compact),
    }


def _tables(
    ctx: PageContext,
    daily: pd.DataFrame,
    in_range: pd.DataFrame,
    details: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    calendar: pd.DataFrame,
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """(shares table, peak-demand table) formatted in the page's language, None for an empty one;
    ``calendar``: the period's :func:`lib.analytics.period_calendar` (the series' own). Text cells, the
    nicknames as typed: :func:`lib.ui.widgets.draw_table` makes every cell inert Markdown."""
    lang = ctx.lang
    shares = analytics.household_shares(daily, first, last, calendar=calendar)
    shares_table = None
    if len(shares):
        shares_table = pd.DataFrame(
            {  # ₹ first: what a household reads first (a Markdown table, lib.ui.widgets.draw_table)
                ctx.t("csv_connection"): shares["nickname"].astype(str),  # as typed: draw_table escapes
                ctx.t("csv_spend"): [_money(v, lang) for v in shares["spend_inr"]],
                ctx.t("table_spend_share"): [_pct(v, lang) for v in shares["spend_share"]],
                ctx.t("csv_units"): [_num(v, lang) for v in shares["kwh"]],
                ctx.t("table_units_share"): [_pct(v, lang) for v in shares["kwh_share"]],
            }
        )
    peaks = analytics.peak_demand(in_range, details)
    peaks_table = None
    if len(peaks):
        peaks_table = pd.DataFrame(
            {
                ctx.t("csv_connection"): peaks["nickname"].astype(str),
                ctx.t("table_peak_kw"): [_num(v, lang, 2) for v in peaks["peak_kw"]],
                ctx.t("table_sanctioned_kw"): [_num(v, lang, 2) for v in peaks["sanctioned_load_kw"]],
                ctx.t("table_over_load"): [
                    ctx.t("table_yes") if over else ctx.t("table_no") for over in peaks["over_sanctioned"]
                ],
                ctx.t("table_peak_day"): [i18n.format_date(d, lang) for d in peaks["peak_day"]],
            }
        )
    return shares_table, peaks_table


def _draw_tables(ctx: PageContext, shares: pd.DataFrame | None, peaks: pd.DataFrame | None) -> None:
    """The shares and peak-demand tables (:func:`_tables`) as Markdown tables (:func:`draw_table`)."""
    peak_text = (ctx.t("table_over_load"), ctx.t("table_peak_day"))
    for title, table, text_columns in (
        ("compare_shares_title", shares, ()),
        ("compare_peak_title", peaks, peak_text),
    ):
        if table is None:
            continue
        st.subheader(ctx.t(title))
        draw_table(table, text_columns=text_columns)


def _draw_profile(
    ctx: PageContext,
    home: loaders.Household,
    selected: list[str],
    names: dict[str, str],
    colours: dict[str, str],
    first: dt.date,
    last: dt.date,
) -> None:
    """The hour-of-day profile of one chosen connection, in a folded expander that runs its body only while
    open (a dynamic expander, ``on_change="rerun"``: opening or closing it reruns this fragment): a
    closed one reads no readings and sends no chart (issue 15: folded, it still read up to 92 days of the
    connection's raw readings, and its plotly chart was built, sent and laid out by the browser on every
    run, unseen). The open state is the widget's, in ``st.session_state[PROFILE_KEY]``."""
    expander = st.expander(ctx.t("compare_profile_title"), key=PROFILE_KEY, on_change="rerun")
    if not expander.open:
        return
    with expander:
        cid = connection_picker(
            ctx, ctx.t("compare_profile_connection"), selected, names, key="compare_profile_connection"
        )
        if cid is None:  # untrusted widget value
            return
        start = max(first, last - dt.timedelta(days=PROFILE_DAYS - 1))
        if start > first:
            st.caption(ctx.t("compare_profile_long"))
        start_ts = clock.ist_day_bounds(start)[0]
        end_ts = clock.ist_day_bounds(last)[1]
        (key,) = home.keys_of([cid])
        try:
            profile = loaders.connection_hour_profile(
                ctx, str(ctx.settings.db_path), ctx.account, key, start_ts, end_ts
            )
        except storage.StorageError:
            st.error(ctx.t("overview_error"))
            return
        if not len(profile):
            st.info(ctx.t("compare_profile_none"))
            return
        fig = loaders.cached_figure(
            lambda: charts.hour_profile_figure(profile, lang=ctx.lang, colour=colours[cid], name=names[cid]),
            "hour_profile",
            (key,),
            (ctx.lang, colours[cid], start_ts, end_ts),
        )
        st.plotly_chart(fig, key="compare_profile_chart", config=chart_config())


def _num(value: float, lang: str, decimals: int = 1) -> str:
    return "–" if pd.isna(value) else i18n.format_number(value, lang, decimals=decimals)


def _money(value: float, lang: str) -> str:
    return "–" if pd.isna(value) else i18n.format_money(value, lang)


def _pct(value: float, lang: str) -> str:
    return "–" if pd.isna(value) else i18n.format_number(100 * value, lang, decimals=0) + "%"
