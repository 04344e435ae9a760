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
from lib.ui.escape import csv_cell
from lib.ui.escape import markdown as md
from lib.ui.widgets import (
    days_text,
    draw_chart,
    draw_no_connections,
    draw_stale_links,
    is_phone,
    page_link,
    pinned_first_column,
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
            ctx, lambda: _build_view(ctx, home, today), "overview", home.keys, (str(today),)
        )
    except storage.StorageError:
        st.error(ctx.t("overview_error"))
        return
    low = _low_connections(ctx)
    _draw_headline(ctx, view.cards, low)
    _draw_cards(ctx, view.cards, low, _quality(ctx, home))
    ledger_panels.draw_unexplained_summary(ctx)
    _draw_month(ctx, view.months, today)
    this_first, this_last, _, _ = analytics.month_to_date_bounds(today)
    if this_last is not None:
        net_metering.draw_net_energy(ctx, view.daily, this_first, this_last, "net_overview_title")
    _draw_cost(ctx, view.estimates)
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


def _build_view(ctx: PageContext, home: loaders.Household, today: dt.date) -> _View:
    """Read the frames (per-connection caches) and work out the cards, month and cost estimate; raises
    ``storage.StorageError``."""
    _, _, last_first, _ = analytics.month_to_date_bounds(today)
    first = min(last_first, today - dt.timedelta(days=31))
    daily = loaders.household_frame(ctx, loaders.connection_daily, home.keys, str(first), str(today))
    recharges = loaders.household_frame(ctx, loaders.connection_recharges, home.keys)
    forecast = loaders.household_frame(ctx, loaders.connection_forecast, home.keys, today.isoformat())
    episodes = loaders.household_frame(ctx, loaders.connection_episodes, home.keys, str(first), str(today))
    details = home.details
    cards = analytics.overview_cards(details, daily, recharges, today, forecast=forecast, episodes=episodes)
    try:
        estimates = analytics.estimated_month_cost(details, daily, today)
    except tariff.TariffError:
        estimates = None  # no readable tariff file: the rest of the page still helps
    months = analytics.month_to_date(daily, today)
    return _View(daily, forecast, episodes, cards, months, estimates)


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
    ctx: PageContext, cards: pd.DataFrame, low: dict[str, alerts.LowBalance], summaries: pd.DataFrame
) -> None:
    per_row = 3
    for start in range(0, len(cards), per_row):
        columns = st.columns(per_row)
        for column, (_, card) in zip(columns, cards.iloc[start : start + per_row].iterrows(), strict=False):
            with column, st.container(border=True):
                _draw_card(ctx, card, low.get(str(card["consumer_id"])))
                quality_line.draw_quality_line(ctx, str(card["consumer_id"]), summaries)


def _draw_card(ctx: PageContext, card: pd.Series, low: alerts.LowBalance | None) -> None:
    lang = ctx.lang
    st.subheader(md(card["nickname"]))
    st.caption(ctx.t("overview_consumer_id", consumer_id=md(card["consumer_id"])))
    if not card["has_readings"] and math.isnan(card["balance_inr"]):
        st.info(ctx.t("overview_no_readings"))
    if card["supply_cut"]:
        st.error(ctx.t("overview_cut", date=i18n.format_date(card["cut_since"], lang, pattern="d MMM")))
    elif (not math.isnan(card["balance_inr"]) and card["balance_inr"] <= 0) or (
        low is not None and low.reason == "exhausted"
    ):
        st.error(ctx.t("overview_exhausted"))
    elif low is not None and low.reason == "days":
        st.warning(ctx.t("overview_low", days=ctx.number(low.days_left, decimals=1)))
    elif low is not None:
        st.warning(ctx.t("overview_low_balance", balance=ctx.money(low.balance_inr)))

    stale_day = pd.notna(card["balance_day"]) and card[
        "balance_day"
    ].date() < clock.today_ist() - dt.timedelta(days=1)
    if stale_day:  # the data stop some days ago: say how old the balance is (a key fact: body size)
        st.markdown(ctx.t("overview_balance_as_of_line", date=i18n.format_date(card["balance_day"], lang)))
    # Stacked, not side by side: a card is a third of the page, and metric values must not be cut off.
    balance = card["balance_inr"]
    st.metric(
        ctx.t("overview_balance"),
        ctx.t("overview_none") if math.isnan(balance) else i18n.format_money(balance, lang),
        help=None
        if pd.isna(card["balance_day"])
        else ctx.t("overview_balance_as_of", date=i18n.format_date(card["balance_day"], lang)),
    )
    days_left = card["days_left"]
    st.metric(ctx.t("overview_days_left"), days_text(ctx, days_left))
    # Key facts under the big figures in body text, not grey captions (issue 14 section 4).
    if math.isinf(days_left):
        st.markdown(ctx.t("overview_lasts_beyond_year"))
    elif pd.notna(card["run_out_day"]) and days_left > 0:
        run_out = i18n.format_date(card["run_out_day"], lang, pattern="d MMM y")
        st.markdown("**" + ctx.t("overview_run_out_on", date=run_out) + "**")
    units = card["yesterday_kwh"]
    st.metric(
        ctx.t("overview_yesterday_units"),
        ctx.t("overview_days_unknown")
        if math.isnan(units)
        else ctx.t("overview_units_value", kwh=i18n.format_number(units, lang, decimals=1)),
    )
    amount = card["last_recharge_inr"]
    st.metric(
        ctx.t("overview_last_recharge"),
        ctx.t("overview_none") if math.isnan(amount) else i18n.format_money(amount, lang, decimals=False),
    )
    if pd.notna(card["last_recharge_ts"]):
        st.markdown(ctx.t("overview_recharge_on", date=i18n.format_datetime(card["last_recharge_ts"], lang)))
    if not math.isnan(card["burn_7_inr"]) or not math.isnan(card["burn_30_inr"]):
        st.markdown(
            ctx.t(
                "overview_burn",
                week=_money_or_dash(ctx, card["burn_7_inr"]),
                month=_money_or_dash(ctx, card["burn_30_inr"]),
            )
        )


def _money_or_dash(ctx: PageContext, value: float) -> str:
    return "–" if math.isnan(value) else i18n.format_money(value, ctx.lang)


def _units_or_dash(ctx: PageContext, value: float) -> str:
    return (
        "–" if math.isnan(value) else ctx.t("overview_units_value", kwh=i18n.format_number(value, ctx.lang))
    )


def _draw_month(ctx: PageContext, months: pd.DataFrame, today: dt.date) -> None:
    lang = ctx.lang
    st.subheader(ctx.t("overview_month_title"))
    this_first, this_last, last_first, last_last = analytics.month_to_date_bounds(today)
    if this_last is None or last_last is None:
        st.caption(ctx.t("overview_month_first_day"))
        return
    st.caption(
        ctx.t(
            "overview_month_caption",
            this_first=i18n.format_date(this_first, lang, pattern="d MMM"),
            this_last=i18n.format_date(this_last, lang, pattern="d MMM"),
            last_first=i18n.format_date(last_first, lang, pattern="d MMM"),
            last_last=i18n.format_date(last_last, lang, pattern="d MMM"),
        )
    )
    if not len(months):
        return
    household = months[months["consumer_id"].isna()].iloc[0]
    per_connection = months[months["consumer_id"].notna()]
    left, right = st.columns(2)
    left.metric(
        ctx.t("overview_household_units"),
        _units_or_dash(ctx, household["kwh_this"]),
        delta=_delta(ctx, household["kwh_this"], household["kwh_last"]),
        delta_color="inverse",
    )
    left.caption(ctx.t("overview_last_month_value", value=_units_or_dash(ctx, household["kwh_last"])))
    right.metric(
        ctx.t("overview_household_spend"),
        _money_or_dash(ctx, household["spend_this"]),
        delta=_delta(ctx, household["spend_this"], household["spend_last"], money=True),
        delta_color="inverse",
    )
    right.caption(ctx.t("overview_last_month_value", value=_money_or_dash(ctx, household["spend_last"])))

    # ₹ first: on a phone (390 px) only the first three columns fit; shares are on the Compare page.
    connection = ctx.t("overview_col_connection")
    table = pd.DataFrame(
        {
            connection: per_connection["nickname"].map(csv_cell),
            ctx.t("overview_col_spend_this"): [_money_or_dash(ctx, v) for v in per_connection["spend_this"]],
            ctx.t("overview_col_spend_last"): [_money_or_dash(ctx, v) for v in per_connection["spend_last"]],
            ctx.t("overview_col_units_this"): [_units_or_dash(ctx, v) for v in per_connection["kwh_this"]],
            ctx.t("overview_col_units_last"): [_units_or_dash(ctx, v) for v in per_connection["kwh_last"]],
        }
    )
    st.dataframe(table, hide_index=True, width="stretch", column_config=pinned_first_column(connection))
    expected = (this_last - this_first).days + 1
    if (per_connection["days_this"] < expected).any():
        st.caption(ctx.t("overview_incomplete"))


def _draw_cost(ctx: PageContext, estimates: pd.DataFrame | None) -> None:
    if estimates is None:
        return  # no readable tariff file: the rest of the page still helps
    if not len(estimates) or estimates["projected_units"].isna().all():
        return
    st.subheader(ctx.t("overview_cost_title"))
    st.caption(ctx.t("overview_cost_caption"))
    table = pd.DataFrame(
        {  # the estimate in ₹ first, so that it is on screen on a phone
            ctx.t("overview_col_connection"): estimates["nickname"].map(csv_cell),
            ctx.t("overview_col_estimate"): [_money_or_dash(ctx, v) for v in estimates["estimated_inr"]],
            ctx.t("overview_col_projected"): [_units_or_dash(ctx, v) for v in estimates["projected_units"]],
            ctx.t("overview_col_category"): estimates["tariff_category"].map(csv_cell),
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
                ctx.t("overview_col_category"): totals["tariff_category"].map(csv_cell).tolist(),
                ctx.t("overview_col_free_units"): ["–"] * len(totals),
            }
        )
        table = pd.concat([table, rows], ignore_index=True)
    st.dataframe(
        table,
        hide_index=True,
        width="stretch",
        column_config=pinned_first_column(ctx.t("overview_col_connection")),
    )
    for category in sorted(set(estimates.loc[~estimates["tariff_known"], "tariff_category"].astype(str))):
        st.caption(ctx.t("overview_cost_unknown_category", category=md(category)))


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
            projection=loaders.household_frame(
                ctx, loaders.connection_projection, home.keys, today.isoformat()
            ),
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
