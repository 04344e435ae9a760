"""The Overview page (``dashboard.py``): a card per linked connection, the one that runs out first on top.

``draw(ctx)`` is the page. Authorization is read uncached on every run and the data through the shared
cached loaders (:mod:`lib.ui.loaders`). Whether a connection is low is :func:`lib.alerts.is_low` under
the account's own rule, the same answer the warning on every page gives (``loaders.low_balances``).
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from dataclasses import dataclass

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib import alerts, analytics, charts, clock, i18n, storage, tariff
from lib.ui import ledger_panels, loaders, net_metering, paths, quality_line
from lib.ui.context import PageContext
from lib.ui.escape import markdown as md
from lib.ui.widgets import (
    days_text,
    draw_chart,
    draw_no_connections,
    draw_stale_links,
    draw_table,
    is_phone,
    page_link,
)

log = logging.getLogger(__name__)


# --- the page --------------------------------------------------------------------------------------


def draw(ctx: PageContext) -> None:
    """Draw the Overview for the signed-in account."""
    st.title(ctx.t("overview_title"))
    # "Add Another Meter" one tap away at all times, not only in the empty state (issue 14 section 4).
    page_link(paths.MANAGE_CONNECTION, ctx.t("auth_add_title"), icon=":material/add_circle:")
    try:
        home = loaders.household(ctx)
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
        return
    draw_stale_links(ctx, home.stale)
    details = home.details
    if not len(details):
        draw_no_connections(ctx)
        return

    today = clock.today_ist()
    try:
        view = loaders.cached_view(
            ctx, lambda: _build_view(ctx, home, today), "overview", home.keys, (str(today), ctx.lang)
        )
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
        return
    low = _low_connections(ctx)
    _draw_headline(ctx, view.cards, low)
    _draw_cards(ctx, view.card_texts, low, _quality_lines(ctx, home))
    ledger_panels.draw_unexplained_summary(ctx)
    _draw_month(ctx, view.month)
    this_first, this_last, _, _ = analytics.month_to_date_bounds(today)
    if this_last is not None:
        net_metering.draw_net_energy(
            ctx, view.daily, this_first, this_last, "net_overview_title", net=view.net
        )
    _draw_cost(ctx, view.cost)
    _draw_balance_chart(ctx, home, view.daily, view.forecast, view.episodes, today)


@dataclass(frozen=True)
class _View:
    """The Overview's data of the account's connections as of one IST day: read and worked out once per
    connections' data versions and day (:func:`loaders.cached_view`, shared, never mutated)."""

    daily: pd.DataFrame  # daily frames from the first day of last month (or 31 days back) to today
    forecast: pd.DataFrame  # lib.forecast.run_out columns
    episodes: pd.DataFrame  # disconnection episodes of those days
    cards: pd.DataFrame  # lib.analytics.overview_cards, the one that runs out first on top
    months: pd.DataFrame  # lib.analytics.month_to_date
    estimates: pd.DataFrame | None  # lib.analytics.estimated_month_cost; None without a tariff file
    card_texts: tuple[_CardText, ...]  # each card's texts in the page's language, in ``cards`` order
    cost: _CostTable | None  # the cost estimate's table as drawn; None: no estimate to show
    month: _MonthText  # the month-to-date panel as drawn
    net: pd.DataFrame | None  # lib.analytics.net_energy of this month to yesterday; None on the 1st


def _build_view(ctx: PageContext, home: loaders.Household, today: dt.date) -> _View:
    """Read the frames (per-connection caches) and work out the cards, month and cost estimate; raises
    ``storage.StorageError``."""
    _, _, last_first, _ = analytics.month_to_date_bounds(today)
    first = min(last_first, today - dt.timedelta(days=31))
    daily = loaders.household_frame(ctx, loaders.connection_daily, home.keys, str(first), str(today))
    recharges = loaders.household_frame(ctx, loaders.connection_recharges, home.keys)
    forecast = loaders.household_forecast(ctx, home.keys, today.isoformat())
    episodes = analytics.disconnection_episodes(daily)  # one pass over the household's days
    details = home.details
    cards = analytics.overview_cards(details, daily, recharges, today, forecast=forecast, episodes=episodes)
    try:
        estimates = analytics.estimated_month_cost(details, daily, today)
    except tariff.TariffError:
        estimates = None  # no readable tariff file: the rest of the page still helps
    months = analytics.month_to_date(daily, today)
    texts = tuple(_card_text(ctx, card, today) for card in cards.to_dict("records"))
    cost, month = _cost_table(ctx, estimates), _month_text(ctx, months, today)
    this_first, this_last, _, _ = analytics.month_to_date_bounds(today)
    net = None if this_last is None else analytics.net_energy(daily, this_first, this_last)
    return _View(daily, forecast, episodes, cards, months, estimates, texts, cost, month, net)


def _quality(ctx: PageContext, home: loaders.Household) -> pd.DataFrame:
    """The cards' data-quality lines (:func:`lib.ui.quality_line.summaries`), once per database-wide data
    version (meter events are read by it) and day; a failure is not cached (no line drawn this run)."""
    ids = tuple(home.details["consumer_id"])
    today = str(clock.today_ist())
    try:
        return loaders.cached_view(
            ctx,
            lambda: quality_line.read_summaries(ctx, ids, home.version),
            "quality",
            home.keys,
            (today, home.version),
        )
    except storage.StorageError:
        return quality_line.summaries(ctx, ids, home.version)


def _quality_lines(ctx: PageContext, home: loaders.Household) -> dict[str, str]:
    """Each card's data-quality line in the page's language (:func:`lib.ui.quality_line.quality_text` of
    :func:`_quality`), by consumer ID, worked out once per view like the cards' other texts."""
    today = str(clock.today_ist())

    def build() -> dict[str, str]:
        summaries = _quality(ctx, home)
        lines: dict[str, str] = {}
        for row in summaries.to_dict("records"):
            lines.setdefault(str(row["consumer_id"]), quality_line.quality_text(ctx, row))
        return lines

    return loaders.cached_view(ctx, build, "quality_lines", home.keys, (today, home.version, ctx.lang))


def _low_connections(ctx: PageContext) -> dict[str, alerts.LowBalance]:
    """The account's low connections by consumer ID (:func:`lib.alerts.is_low`, the banner's answer).

    Empty when the ledger cannot be worked out (no tariff file, database error): the cards still show.
    """
    try:
        return {alert.consumer_id: alert for alert in loaders.low_balances(ctx)}
    except (storage.StorageError, tariff.TariffError, OSError, ValueError):
        log.exception("low connections not known")
        return {}


def _draw_headline(ctx: PageContext, cards: pd.DataFrame, low: dict[str, alerts.LowBalance]) -> None:
    known = cards[cards["days_left"].notna() & ~cards["days_left"].isin([math.inf])]
    if not len(known):
        return
    first = known.iloc[0]
    if first["days_left"] <= 0:
        st.error(ctx.t("overview_runs_out_first_cut", nickname=md(first["nickname"])))
        return
    text = ctx.t(
        "overview_runs_out_first",
        nickname=md(first["nickname"]),
        days=i18n.format_number(first["days_left"], ctx.lang, decimals=1),
        date=i18n.format_date(first["run_out_day"], ctx.lang, pattern="d MMM"),
    )
    # The household's first question, in bold (the catalog text unchanged, so it reads the same elsewhere).
    (st.warning if first["consumer_id"] in low else st.info)(f"**{text}**")


def _draw_cards(
    ctx: PageContext,
    texts: tuple[_CardText, ...],
    low: dict[str, alerts.LowBalance],
    quality_lines: dict[str, str],
) -> None:
    per_row = 3
    for start in range(0, len(texts), per_row):
        columns = st.columns(per_row)
        for column, text in zip(columns, texts[start : start + per_row], strict=False):
            with column, st.container(border=True):
                _draw_card(ctx, text, low.get(text.consumer_id), quality_lines.get(text.consumer_id))


@dataclass(frozen=True)
class _CardText:
    """One card's texts, formatted once per view (:class:`_View`: connections' data versions, day,
    language, digits) so that a rerun only emits the elements; the low-balance warning depends on the
    account's alert rule, read every run, and is formatted by :func:`_draw_card`.

    A card is two Markdown blocks (:func:`card_markdown`): ``head`` (the nickname and the consumer ID) and
    ``body`` (the figures and key facts); with no warning between them they are sent as one element."""

    consumer_id: str
    head: str
    body: str
    no_readings: bool  # no readings and no balance: say so
    cut: str | None  # the supply-cut error, when cut
    exhausted: bool  # balance at or below ₹0


def _card_text(ctx: PageContext, card: dict, today: dt.date) -> _CardText:
    """:class:`_CardText` of one row of :func:`lib.analytics.overview_cards` as of IST ``today``."""
    lang = ctx.lang
    balance = card["balance_inr"]
    stale_day = pd.notna(card["balance_day"]) and card["balance_day"].date() < today - dt.timedelta(days=1)
    days_left = card["days_left"]
    run_out_line = None
    if math.isinf(days_left):
        run_out_line = ctx.t("overview_lasts_beyond_year")
    elif pd.notna(card["run_out_day"]) and days_left > 0:
        run_out = i18n.format_date(card["run_out_day"], lang, pattern="d MMM y")
        run_out_line = "**" + ctx.t("overview_run_out_on", date=run_out) + "**"
    units = card["yesterday_kwh"]
    amount = card["last_recharge_inr"]
    burn_line = None
    if not math.isnan(card["burn_7_inr"]) or not math.isnan(card["burn_30_inr"]):
        burn_line = ctx.t(
            "overview_burn",
            week=_money_or_dash(ctx, card["burn_7_inr"]),
            month=_money_or_dash(ctx, card["burn_30_inr"]),
        )
    head, body = card_markdown(
        title=md(card["nickname"]),
        caption=ctx.t("overview_consumer_id", consumer_id=md(card["consumer_id"])),
        # the data stop some days ago: say how old the balance is (a key fact: body size)
        as_of_line=ctx.t("overview_balance_as_of_line", date=i18n.format_date(card["balance_day"], lang))
        if stale_day
        else None,
        figures=(
            (
                ctx.t("overview_balance"),
                ctx.t("overview_none") if math.isnan(balance) else i18n.format_money(balance, lang),
                # the balance's day, unless the line above already says it
                None
                if pd.isna(card["balance_day"]) or stale_day
                else ctx.t("overview_balance_as_of", date=i18n.format_date(card["balance_day"], lang)),
            ),
            (ctx.t("overview_days_left"), days_text(ctx, days_left), None),
        ),
        run_out_line=run_out_line,
        more_figures=(
            (
                ctx.t("overview_yesterday_units"),
                ctx.t("overview_days_unknown")
                if math.isnan(units)
                else ctx.t("overview_units_value", kwh=i18n.format_number(units, lang, decimals=1)),
                None,
            ),
            (
                ctx.t("overview_last_recharge"),
                ctx.t("overview_none")
                if math.isnan(amount)
                else i18n.format_money(amount, lang, decimals=False),
                ctx.t("overview_recharge_on", date=i18n.format_datetime(card["last_recharge_ts"], lang))
                if pd.notna(card["last_recharge_ts"])
                else None,
            ),
        ),
        burn_line=burn_line,
    )
    return _CardText(
        consumer_id=str(card["consumer_id"]),
        head=head,
        body=body,
        no_readings=not card["has_readings"] and math.isnan(balance),
        cut=ctx.t("overview_cut", date=i18n.format_date(card["cut_since"], lang, pattern="d MMM"))
        if card["supply_cut"]
        else None,
        exhausted=not math.isnan(balance) and balance <= 0,
    )


CardFigure = tuple[str, str, str | None]  # (label, value, a note after the value or None)


def card_markdown(
    *,
    title: str,
    caption: str,
    as_of_line: str | None,
    figures: tuple[CardFigure, ...],
    run_out_line: str | None,
    more_figures: tuple[CardFigure, ...],
    burn_line: str | None,
) -> tuple[str, str]:
    """One Overview card as two Markdown blocks ``(head, body)``: a card is one or three Streamlit
    elements, not one per figure (issue 15: ~13 elements a card made a 12-connection Overview mostly
    Streamlit's own element calls, on the server and in the browser).

    All arguments are Markdown already: user text (the nickname, the consumer ID) escaped with
    :func:`lib.ui.escape.markdown` by the caller, catalog text and formatted numbers as they are. ``head``
    is the nickname as a heading and the consumer ID in grey; ``body`` an optional line saying how old the
    balance is, then each figure as ``label: **value** note`` on its own line, the key figures (balance,
    days left and the run-out line) one paragraph, the others (units, last recharge, daily deduction) the
    next. A value is never at the start of a line, so a negative amount (``-₹5.00``) cannot start a list.

    >>> head, body = card_markdown(
    ...     title="Home", caption="Consumer ID 1", as_of_line=None,
    ...     figures=(("Balance", "₹120.00", "as of 25 Nov 2026"), ("Days left", "2 days", None)),
    ...     run_out_line="**until about 27 Nov 2026**",
    ...     more_figures=(("Last recharge", "₹500", "on 20 Nov 2026"),), burn_line=None)
    >>> print(head)
    ### Home
    :small[:gray[Consumer ID 1]]
    >>> print(body.replace("  \\n", "|\\n"))
    Balance: **₹120.00** :small[:gray[as of 25 Nov 2026]]|
    Days left: **2 days**|
    **until about 27 Nov 2026**
    <BLANKLINE>
    Last recharge: **₹500** on 20 Nov 2026
    """

    def lines(items: tuple[CardFigure, ...]) -> list[str]:
        return [
            f"{label}: **{value}**" + ("" if note is None else f" {note}") for label, value, note in items
        ]

    key = lines(tuple((label, value, _small(note)) for label, value, note in figures))
    if run_out_line is not None:
        key.append(run_out_line)
    rest = lines(more_figures)
    if burn_line is not None:
        rest.append(burn_line)
    paragraphs = [as_of_line] if as_of_line is not None else []
    paragraphs += ["  \n".join(part) for part in (key, rest) if part]
    return f"### {title}\n:small[:gray[{caption}]]", "\n\n".join(paragraphs)


def _small(note: str | None) -> str | None:
    return None if note is None else f":small[:gray[{note}]]"


def _draw_card(ctx: PageContext, text: _CardText, low: alerts.LowBalance | None, quality: str | None) -> None:
    """The card's Markdown and, between its head and its figures, the one warning that applies; the
    data-quality line (``quality``; None: no readings in the period) small and grey at the end."""
    body = text.body if quality is None else f"{text.body}\n\n{_small(quality)}"
    note = (st.info, ctx.t("overview_no_readings")) if text.no_readings else None
    alert = None
    if text.cut is not None:
        alert = (st.error, text.cut)
    elif text.exhausted or (low is not None and low.reason == "exhausted"):
        alert = (st.error, ctx.t("overview_exhausted"))
    elif low is not None and low.reason == "days":
        alert = (st.warning, ctx.t("overview_low", days=ctx.number(low.days_left, decimals=1)))
    elif low is not None:
        alert = (st.warning, ctx.t("overview_low_balance", balance=ctx.money(low.balance_inr)))
    boxes = [box for box in (note, alert) if box is not None]
    if not boxes:
        st.markdown(f"{text.head}\n\n{body}" if body else text.head, anchors=False)
        return
    st.markdown(text.head, anchors=False)
    for draw, message in boxes:
        draw(message)
    if body:
        st.markdown(body, anchors=False)


def _money_or_dash(ctx: PageContext, value: float) -> str:
    return "–" if math.isnan(value) else i18n.format_money(value, ctx.lang)


def _units_or_dash(ctx: PageContext, value: float) -> str:
    return (
        "–" if math.isnan(value) else ctx.t("overview_units_value", kwh=i18n.format_number(value, ctx.lang))
    )


def _draw_month(ctx: PageContext, month: _MonthText) -> None:
    st.subheader(ctx.t("overview_month_title"))
    st.caption(month.caption)
    if month.units is None or month.spend is None or month.table is None:
        return
    left, right = st.columns(2)
    for column, title, (value, delta, last) in (
        (left, "overview_household_units", month.units),
        (right, "overview_household_spend", month.spend),
    ):
        column.metric(ctx.t(title), value, delta=delta, delta_color="inverse")
        column.caption(last)
    draw_table(month.table)
    if month.incomplete:
        st.caption(ctx.t("overview_incomplete"))


@dataclass(frozen=True)
class _MonthText:
    """The month-to-date panel as drawn, formatted once per view: the caption (or the first-of-the-month
    note), the household's units and ₹ (value, change against last month, last month's line) and the
    per-connection table (None: nothing more to draw)."""

    caption: str
    units: tuple[str, str | None, str] | None
    spend: tuple[str, str | None, str] | None
    table: pd.DataFrame | None
    incomplete: bool  # a connection misses days of this month


def _month_text(ctx: PageContext, months: pd.DataFrame, today: dt.date) -> _MonthText:
    """:class:`_MonthText` of :func:`lib.analytics.month_to_date` as of IST ``today``."""
    lang = ctx.lang
    this_first, this_last, last_first, last_last = analytics.month_to_date_bounds(today)
    if this_last is None or last_last is None:
        return _MonthText(ctx.t("overview_month_first_day"), None, None, None, False)
    caption = ctx.t(
        "overview_month_caption",
        this_first=i18n.format_date(this_first, lang, pattern="d MMM"),
        this_last=i18n.format_date(this_last, lang, pattern="d MMM"),
        last_first=i18n.format_date(last_first, lang, pattern="d MMM"),
        last_last=i18n.format_date(last_last, lang, pattern="d MMM"),
    )
    if not len(months):
        return _MonthText(caption, None, None, None, False)
    household = months[months["consumer_id"].isna()].iloc[0]
    per_connection = months[months["consumer_id"].notna()]
    units = (
        _units_or_dash(ctx, household["kwh_this"]),
        _delta(ctx, household["kwh_this"], household["kwh_last"]),
        ctx.t("overview_last_month_value", value=_units_or_dash(ctx, household["kwh_last"])),
    )
    spend = (
        _money_or_dash(ctx, household["spend_this"]),
        _delta(ctx, household["spend_this"], household["spend_last"], money=True),
        ctx.t("overview_last_month_value", value=_money_or_dash(ctx, household["spend_last"])),
    )
    # ₹ first: what a household reads first; shares are on the Compare page. Drawn by widgets.draw_table,
    # which escapes every cell: the nicknames go in as typed.
    table = pd.DataFrame(
        {
            ctx.t("overview_col_connection"): per_connection["nickname"].astype(str),
            ctx.t("overview_col_spend_this"): [_money_or_dash(ctx, v) for v in per_connection["spend_this"]],
            ctx.t("overview_col_spend_last"): [_money_or_dash(ctx, v) for v in per_connection["spend_last"]],
            ctx.t("overview_col_units_this"): [_units_or_dash(ctx, v) for v in per_connection["kwh_this"]],
            ctx.t("overview_col_units_last"): [_units_or_dash(ctx, v) for v in per_connection["kwh_last"]],
        }
    )
    expected = (this_last - this_first).days + 1
    return _MonthText(caption, units, spend, table, bool((per_connection["days_this"] < expected).any()))


def _draw_cost(ctx: PageContext, cost: _CostTable | None) -> None:
    if cost is None:
        return
    st.subheader(ctx.t("overview_cost_title"))
    st.caption(ctx.t("overview_cost_caption"))
    draw_table(cost.table, text_columns=(ctx.t("overview_col_category"),))
    for caption in cost.captions:
        st.caption(caption)


@dataclass(frozen=True)
class _CostTable:
    """The month's cost estimate as drawn: the table (connections, then category and household totals)
    and the captions of unknown tariff categories, formatted once per view."""

    table: pd.DataFrame
    captions: tuple[str, ...]


def _cost_table(ctx: PageContext, estimates: pd.DataFrame | None) -> _CostTable | None:
    """:class:`_CostTable` of :func:`lib.analytics.estimated_month_cost`; None when nothing is drawn."""
    if estimates is None:
        return None  # no readable tariff file: the rest of the page still helps
    if not len(estimates) or estimates["projected_units"].isna().all():
        return None
    table = pd.DataFrame(
        {  # the estimate in ₹ first; nicknames as typed (widgets.draw_table escapes every cell)
            ctx.t("overview_col_connection"): estimates["nickname"].astype(str),
            ctx.t("overview_col_estimate"): [_money_or_dash(ctx, v) for v in estimates["estimated_inr"]],
            ctx.t("overview_col_projected"): [_units_or_dash(ctx, v) for v in estimates["projected_units"]],
            ctx.t("overview_col_category"): estimates["tariff_category"].astype(str),
            ctx.t("overview_col_free_units"): [_units_or_dash(ctx, v) for v in estimates["free_units_used"]],
        }
    )
    by_category = analytics.cost_by_category(estimates)
    totals = by_category[by_category["connections"] > 1]  # a category's sum when it has several connections
    if len(estimates) > 1:  # and the household's
        household = {
            "tariff_category": "–",
            "projected_units": estimates["projected_units"].sum(min_count=1),
            "estimated_inr": estimates["estimated_inr"].sum(min_count=1),
        }
        totals = pd.concat([totals, pd.DataFrame([household])], ignore_index=True)
    if len(totals):
        rows = pd.DataFrame(
            {
                ctx.t("overview_col_connection"): [ctx.t("overview_cost_total")] * len(totals),
                ctx.t("overview_col_estimate"): [_money_or_dash(ctx, v) for v in totals["estimated_inr"]],
                ctx.t("overview_col_projected"): [_units_or_dash(ctx, v) for v in totals["projected_units"]],
                ctx.t("overview_col_category"): totals["tariff_category"].astype(str).tolist(),
                ctx.t("overview_col_free_units"): ["–"] * len(totals),
            }
        )
        table = pd.concat([table, rows], ignore_index=True)
    unknown = sorted(set(estimates.loc[~estimates["tariff_known"], "tariff_category"].astype(str)))
    captions = tuple(ctx.t("overview_cost_unknown_category", category=md(category)) for category in unknown)
    return _CostTable(table, captions)


def _delta(ctx: PageContext, this: float, last: float, *, money: bool = False) -> str | None:
    """The change against last month, signed first (Streamlit colours it by the sign)."""
    if math.isnan(this) or math.isnan(last):
        return None
    diff = this - last
    text = _money_or_dash(ctx, abs(diff)) if money else _units_or_dash(ctx, abs(diff))
    return ("-" if diff < 0 else "+") + text


def _draw_balance_chart(
    ctx: PageContext,
    home: loaders.Household,
    daily: pd.DataFrame,
    forecast: pd.DataFrame,
    episodes: pd.DataFrame,
    today: dt.date,
) -> None:
    first = today - dt.timedelta(days=29)
    ids = [key[0] for key in home.keys]
    names = {key[0]: key[2] for key in home.keys}
    columns = 1 if is_phone() else min(3, len(ids))

    def build() -> go.Figure | None:
        series = analytics.compare_series(daily, "balance", "day", first, today, ids, names)
        if not len(series) or series["value"].isna().all():
            return None
        return charts.compare_figure(
            series,
            metric="balance",
            granularity="day",
            lang=ctx.lang,
            colours=charts.connection_colours(ids),
            columns=columns,
            forecast=forecast,
            projection=loaders.household_projection(ctx, home.keys, today.isoformat()),
            episodes=episodes,
            first_day=first,
            last_day=today,
            today=today,
        )

    fig = loaders.cached_figure(build, "overview_balance", home.keys, (ctx.lang, columns, today.isoformat()))
    if fig is None:
        return
    st.subheader(ctx.t("overview_chart_title"))
    draw_chart(ctx, fig, key="overview_chart")
    page_link(paths.COMPARE, ctx.t("overview_to_compare"), icon=":material/bar_chart:")
