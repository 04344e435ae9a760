"""The ledger's panels on other pages: unexplained deductions on the Overview, monthly spend split into
parts on Compare, and what the ledger page shares with them (part labels, the unexplained summary line).

Not a page module: the Overview, Compare and ledger pages import it, never each other. Each panel reads
the account's ledger through :func:`lib.ui.loaders.account_ledger` (authorization uncached, ledger cached)
and is left out, never breaking its page, when the ledger cannot be worked out.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st
from plotly.subplots import make_subplots

from lib import clock, i18n, storage, tariff
from lib.ui import loaders, paths
from lib.ui.context import PageContext
from lib.ui.escape import markdown as md
from lib.ui.escape import plotly_text
from lib.ui.widgets import page_link

log = logging.getLogger(__name__)

COMPARE_MONTHS = 6

# Literal catalog keys of the ledger's parts (the catalog test finds keys by their text).
PART_KEYS = {
    "opening_inr": "ledger_part_opening",
    "recharge_inr": "ledger_part_recharge",
    "energy_inr": "ledger_part_energy",
    "fixed_inr": "ledger_part_fixed",
    "duty_inr": "ledger_part_duty",
    "rebate_inr": "ledger_part_rebate",
    "arrears_inr": "ledger_part_arrears",
    "adjustment_inr": "ledger_part_adjustment",
    "closing_inr": "ledger_part_closing",
    "metered_closing_inr": "ledger_part_metered",
}


def unexplained_text(ctx: PageContext, row: Any) -> str:
    """One connection's unexplained days in words: taken beyond the tariff, or (when the meter took
    less overall) the amount it took less."""
    taken, spared = float(row["taken_inr"]), float(row["spared_inr"])
    return ctx.t(
        "ledger_unexplained_total" if taken >= spared else "ledger_unexplained_total_less",
        nickname=md(row["nickname"]),
        days=ctx.number(int(row["days"]), decimals=0),
        amount=ctx.money(taken if taken >= spared else spared),
        first=ctx.date(row["first_day"].date()),
        last=ctx.date(row["last_day"].date()),
    )


# --- the panels ----------------------------------------------------------------------


def draw_unexplained_summary(ctx: PageContext) -> None:
    """Unexplained deductions per connection with their total (for the Overview); nothing when none."""
    try:
        home = loaders.household(ctx)
        today = clock.today_ist().isoformat()
        summary = loaders.household_frame(ctx, loaders.connection_unexplained, home.keys, today)
    except (tariff.TariffError, storage.StorageError, OSError, ValueError):
        log.exception("unexplained summary skipped")
        return
    if not len(summary):
        return
    st.subheader(ctx.t("ledger_overview_title"))
    st.caption(ctx.t("ledger_overview_caption"))
    row: Any  # an itertuples namedtuple: its fields are the frame's columns, which mypy cannot see
    for row in summary.itertuples(index=False):
        st.markdown("- " + unexplained_text(ctx, row._asdict()))
    page_link(paths.LEDGER, ctx.t("ledger_overview_link"), icon=":material/receipt_long:")


def monthly_spend_figure(parts: pd.DataFrame, lang: str) -> go.Figure:
    """Stacked monthly spend per connection, one panel each side by side (the rebate below zero).

    >>> parts = pd.DataFrame({"consumer_id": ["1"], "nickname": ["Home"], "month": pd.to_datetime(["2026-11-01"]),
    ...     "energy_inr": [300.0], "fixed_inr": [160.0], "duty_inr": [27.6], "rebate_inr": [12.5], "arrears_inr": [0.0]})
    >>> fig = monthly_spend_figure(parts, "en")
    >>> [t.name for t in fig.data]
    ['Energy charge', 'Fixed charge', 'Electricity duty', 'Prepaid rebate', 'Arrears recovery']
    """
    ids = list(dict.fromkeys(parts["consumer_id"].astype(str)))
    names = dict(zip(parts["consumer_id"].astype(str), parts["nickname"], strict=False))
    fig = make_subplots(
        rows=1,
        cols=max(1, len(ids)),
        shared_yaxes=True,
        subplot_titles=[plotly_text(str(names[c])) for c in ids],
    )
    colours = {
        "energy_inr": "#0072B2",
        "fixed_inr": "#E69F00",
        "duty_inr": "#CC79A7",
        "rebate_inr": "#009E73",
        "arrears_inr": "#D55E00",
    }
    for col, cid in enumerate(ids, start=1):
        own = parts[parts["consumer_id"].astype(str) == cid]
        months = [i18n.format_date(m.date(), lang, pattern="MMM y") for m in own["month"]]
        for column, colour in colours.items():
            sign = -1 if column == "rebate_inr" else 1
            fig.add_trace(
                go.Bar(
                    x=months,
                    y=(sign * own[column]).round(2).tolist(),
                    name=i18n.t(PART_KEYS[column], lang),
                    marker_color=colour,
                    legendgroup=column,
                    showlegend=col == 1,
                    hovertemplate="%{x}: ₹%{y:,.2f}<extra>%{fullData.name}</extra>",
                ),
                row=1,
                col=col,
            )
    fig.update_layout(barmode="relative", height=360, margin={"l": 10, "r": 10, "t": 40, "b": 10})
    fig.update_yaxes(title_text=i18n.t("ledger_axis_inr", lang), row=1, col=1)
    return fig


def draw_monthly_spend(
    ctx: PageContext, consumer_ids: list[str] | None = None, months: int = COMPARE_MONTHS
) -> None:
    """The last ``months`` calendar months of spend per connection split into parts (for Compare)."""
    today = clock.today_ist()
    try:
        home = loaders.household(ctx)
        keys = home.keys if consumer_ids is None else home.keys_of([str(c) for c in consumer_ids])
        parts = loaders.household_frame(ctx, loaders.connection_month_parts, keys, today.isoformat())
    except (tariff.TariffError, storage.StorageError, OSError, ValueError):
        log.exception("monthly spend skipped")
        return
    if not len(parts):
        return
    first = (pd.Timestamp(today).to_period("M") - (months - 1)).start_time

    def build() -> go.Figure:
        shown = parts[parts["month"] >= first]
        order = {key[0]: i for i, key in enumerate(keys)}
        shown = shown.sort_values(
            ["consumer_id", "month"], key=lambda s: s.map(order) if s.name == "consumer_id" else s
        )
        return monthly_spend_figure(shown, ctx.lang)

    st.subheader(ctx.t("ledger_compare_title"))
    st.caption(ctx.t("ledger_compare_caption"))
    st.plotly_chart(
        loaders.cached_figure(build, "monthly_spend", keys, (ctx.lang, str(first))),
        key="ledger_monthly_spend",
        config={"displaylogo": False},
    )
