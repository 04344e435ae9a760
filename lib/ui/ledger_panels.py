"""The ledger's panels on other pages: unexplained deductions on the Overview, monthly spend split into
parts on Compare, and what the ledger page shares with them (part labels, the unexplained summary line).

Not a page module: the Overview, Compare and ledger pages import it, never each other. Each panel reads
the account's ledger through :func:`lib.ui.loaders.account_ledger` (authorization uncached, ledger cached)
and is left out, never breaking its page, when the ledger cannot be worked out.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib import charts, clock, i18n, storage, tariff
from lib.ui import loaders, paths
from lib.ui.context import PageContext
from lib.ui.escape import markdown as md
from lib.ui.escape import plotly_text
from lib.ui.widgets import chart_config, is_phone, page_link

log = logging.getLogger(__name__)

COMPARE_MONTHS = 6
MONTHLY_SPEND_KEY = (
    "compare_monthly_spend"  # the monthly-spend expander's open state (session state, CSS st-key-)
)

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
        summary = loaders.cached_view(
            ctx,
            lambda: loaders.household_frame(ctx, loaders.connection_unexplained, home.keys, today),
            "unexplained",
            home.keys,
            (today,),
        )
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


SPEND_COLOURS = {  # the parts drawn, bottom up, in the Okabe–Ito colours the ledger page uses
    "energy_inr": "#0072B2",
    "fixed_inr": "#E69F00",
    "duty_inr": "#CC79A7",
    "rebate_inr": "#009E73",
    "arrears_inr": "#D55E00",
}


def monthly_spend_figure(parts: pd.DataFrame, lang: str, *, columns: int | None = None) -> go.Figure:
    """Stacked monthly spend per connection, one panel each (the rebate below zero), on one ₹ scale.

    ``parts``: :func:`lib.ledger.month_parts` rows (consumer_id, nickname, month, energy_inr, fixed_inr,
    duty_inr, rebate_inr, arrears_inr; ₹), panels in the order the connections first appear.
    ``columns`` panels per row (default: all in one row; 1 on a phone, so that at 390 px each panel has
    the width and its title never runs into the next one's). The legend lies under the panels, months
    read "Nov" (the year on the first month and on January), the hover and, with Devanagari digits chosen,
    the ₹ ticks are written as the page writes money.

    Built as data, as :func:`lib.charts.compare_figure` is (issue 15): the traces and the layout (the grid
    of :func:`lib.charts.subplot_grid`, laid out as ``make_subplots`` would) are plain dicts, validated
    once by ``go.Figure(...)``; no ``make_subplots``, no update call per trace or axis.

    >>> parts = pd.DataFrame({"consumer_id": ["1"], "nickname": ["Home"], "month": pd.to_datetime(["2026-11-01"]),
    ...     "energy_inr": [300.0], "fixed_inr": [160.0], "duty_inr": [27.6], "rebate_inr": [12.5], "arrears_inr": [0.0]})
    >>> fig = monthly_spend_figure(parts, "en")
    >>> [t.name for t in fig.data]
    ['Energy charge', 'Fixed charge', 'Electricity duty', 'Prepaid rebate', 'Arrears recovery']
    >>> fig.data[0].text[0], fig.data[0].x[0], fig.data[3].y[0]
    ('Nov 2026: ₹300.00', 'Nov 2026', -12.5)
    """
    keyed = parts.assign(consumer_id=parts["consumer_id"].astype(str))
    ids = list(dict.fromkeys(keyed["consumer_id"]))
    names = dict(zip(keyed["consumer_id"], keyed["nickname"], strict=False))
    cols = max(1, min(columns or len(ids), len(ids) or 1))
    rows = max(1, math.ceil(len(ids) / cols))
    labels = {column: i18n.t(PART_KEYS[column], lang) for column in SPEND_COLOURS}
    traces: list[dict] = []
    stacked: list[float] = []
    for index, (_cid, own) in enumerate(keyed.groupby("consumer_id", sort=False)):
        suffix = "" if index == 0 else str(index + 1)  # plotly's axis names: x, x2, …
        refs = {"xaxis": "x" + suffix, "yaxis": "y" + suffix}
        months = [
            i18n.format_date(m.date(), lang, pattern="MMM y" if (i == 0 or m.month == 1) else "MMM")
            for i, m in enumerate(own["month"])
        ]
        for column, colour in SPEND_COLOURS.items():
            sign = -1 if column == "rebate_inr" else 1
            values = [v + 0.0 for v in (sign * own[column]).round(2).tolist()]  # -0.0 (no rebate) is 0
            traces.append(
                {
                    "type": "bar",
                    "x": months,
                    "y": values,
                    "name": labels[column],
                    "marker": {"color": colour},
                    "legendgroup": column,
                    "showlegend": index == 0,
                    "text": [
                        f"{m}: {i18n.format_money(v, lang)}" for m, v in zip(months, values, strict=True)
                    ],
                    "textposition": "none",
                    "hovertemplate": "%{text}<extra>%{fullData.name}</extra>",
                    **refs,
                }
            )
        positive = own[[c for c in SPEND_COLOURS if c != "rebate_inr"]].sum(axis=1)
        stacked += positive.tolist() + (-own["rebate_inr"]).tolist()
    grid = charts.subplot_grid(
        rows,
        cols,
        [plotly_text(str(names[c])) for c in ids],
        vertical_spacing=min(0.3 / rows, 0.12) if rows > 1 else 0.1,
        horizontal_spacing=0.04,
        shared_x=False,
    )
    y_style: dict = {"matches": "y"}  # one ₹ scale for every panel
    if charts.devanagari_digits(lang):
        tickvals, ticktext = charts.value_ticks(stacked, "spend", lang)
        y_style.update(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    title = {"text": i18n.t("ledger_axis_inr", lang)}
    for name, axis in grid.items():
        if name.startswith("yaxis"):
            axis.update(y_style)
            if (int(name[5:] or 1) - 1) % cols == 0:  # the ₹ title on each row's first panel
                axis["title"] = title
    layout = {
        **grid,
        "barmode": "relative",
        "height": rows * 240 + 130,
        "margin": {"l": 10, "r": 10, "t": 60, "b": 100},  # the legend's rows under the panels
        "legend": {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "x": 0},
        "font": {"family": "'Noto Sans Devanagari', 'Lohit Devanagari', sans-serif"},
    }
    return go.Figure(data=traces, layout=layout)


def draw_monthly_spend(
    ctx: PageContext, consumer_ids: list[str] | None = None, months: int = COMPARE_MONTHS
) -> None:
    """The last ``months`` calendar months of spend per connection split into parts (for Compare: the
    answer to "why did the balance drop?"), in a folded expander that runs its body only while open (a
    dynamic expander, ``on_change="rerun"``: opening or closing it reruns the Compare fragment; its open
    state is ``st.session_state[MONTHLY_SPEND_KEY]``).

    Folded, nothing is read and no chart is sent: before, this second plotly chart was built, sent and
    laid out on every Compare run, seen or not (issue 15: ~11 kB of a fresh Compare load's 38 kB of
    websocket messages, BENCHMARKS.md section 7 run 2). Open, the figure is cached whole
    (:func:`lib.ui.loaders.cached_figure`: built once per connections' data versions, language, first
    month, columns and day; its dict worked out once for every session that draws it). When the ledger
    cannot be worked out (tariff, storage, file errors) the panel says nothing more and the page goes on.
    """
    expander = st.expander(ctx.t("ledger_compare_title"), key=MONTHLY_SPEND_KEY, on_change="rerun")
    if not expander.open:
        return
    today = clock.today_ist()
    first = (pd.Timestamp(today).to_period("M") - (months - 1)).start_time
    columns = 1 if is_phone() else None
    try:
        home = loaders.household(ctx)
        keys = home.keys if consumer_ids is None else home.keys_of([str(c) for c in consumer_ids])

        def build() -> go.Figure | None:  # only when this view is not cached yet
            parts = loaders.household_frame(ctx, loaders.connection_month_parts, keys, today.isoformat())
            if not len(parts):
                return None
            shown = parts[parts["month"] >= first]
            order = {key[0]: i for i, key in enumerate(keys)}
            shown = shown.sort_values(
                ["consumer_id", "month"], key=lambda s: s.map(order) if s.name == "consumer_id" else s
            )
            return monthly_spend_figure(shown, ctx.lang, columns=columns)

        # A cached figure (its plain dict worked out once: loaders.FrozenFigure), not a cached view; the
        # database and account in the key too, as cached_view has them (two databases in one process: tests)
        options = (str(ctx.settings.db_path), ctx.account, ctx.lang, str(first), columns, today.isoformat())
        fig = loaders.cached_figure(build, "monthly_spend", keys, options)
    except (tariff.TariffError, storage.StorageError, OSError, ValueError):
        log.exception("monthly spend skipped")
        return
    with expander:
        if fig is None:
            st.caption(ctx.t("ledger_compare_none", months=ctx.number(months, decimals=0)))
            return
        st.caption(ctx.t("ledger_compare_caption"))
        st.plotly_chart(
            fig,
            key="ledger_monthly_spend",
            config=chart_config(),
        )
