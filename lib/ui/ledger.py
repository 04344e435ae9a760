"""The ledger page ("Why did my balance drop?"): ``draw(ctx)`` is ``pages/ledger.py``.

The ledger's panels on the Overview and Compare pages are :mod:`lib.ui.ledger_panels`; the low-balance
warning on every page is :mod:`lib.ui.chrome`'s. Authorization is read uncached on every run and the
ledger comes from the shared cached loader (:func:`lib.ui.loaders.account_ledger`). Nothing here passes
data to ``unsafe_allow_html``; user text shown in Markdown goes through ``md``.
"""

from __future__ import annotations

import datetime as dt
import logging
import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib import alerts, charts, clock, i18n, ledger, storage, tariff
from lib.ui import downloads, frame, loaders, quality_line, widgets
from lib.ui.context import PageContext
from lib.ui.escape import csv_cell
from lib.ui.escape import markdown as md
from lib.ui.ledger_panels import PART_KEYS, unexplained_text
from lib.ui.widgets import connection_picker, pinned_first_column

if TYPE_CHECKING:  # the type st.dataframe's column_config takes; not part of streamlit's public API
    from streamlit.elements.lib.column_types import ColumnConfig

log = logging.getLogger(__name__)

DAY_CHOICES = 62  # days offered in the day picker (newest first)

# Literal catalog keys (the catalog test finds keys by their text).
STATUS_KEYS = {
    "ok": "ledger_status_ok",
    "unexplained": "ledger_status_unexplained",
    "start": "ledger_status_start",
    "gap": "ledger_status_gap",
    "incomplete": "ledger_status_incomplete",
    "today": "ledger_status_today",
    "estimated": "ledger_status_estimated",
    "no_readings": "ledger_status_no_readings",
    "unknown": "ledger_status_unknown",
    "pending": "ledger_status_pending",
    "late_credit": "ledger_status_late_credit",
}
# Columns of the table and the CSV, with their header keys.
TABLE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("day", "ledger_day_label"),
    ("units", "ledger_col_units"),
    ("free_units_used", "ledger_col_free_units"),
    ("opening_inr", "ledger_part_opening"),
    ("recharge_inr", "ledger_part_recharge"),
    ("energy_inr", "ledger_part_energy"),
    ("fixed_inr", "ledger_part_fixed"),
    ("duty_inr", "ledger_part_duty"),
    ("rebate_inr", "ledger_part_rebate"),
    ("arrears_inr", "ledger_part_arrears"),
    ("adjustment_inr", "ledger_part_adjustment"),
    ("deduction_inr", "ledger_col_deduction"),
    ("closing_inr", "ledger_part_closing"),
    ("metered_closing_inr", "ledger_part_metered"),
    ("difference_inr", "ledger_col_difference"),
    ("status", "ledger_col_status"),
)
# The table on screen: the figures a household needs first (day, units, deduction, balance), under short
# headers, in fixed narrow widths so that they fit a 390 px phone beside nothing else; the tariff's parts
# and the checks follow behind the table's own sideways scroll (issue 14 section 4). The day stays pinned.
# (column, short header key or None for the CSV's header, width in px or None for Streamlit's own)
SCREEN_COLUMNS: tuple[tuple[str, str | None, int | None], ...] = (
    ("day", None, 64),
    ("units", "ledger_screen_units", 58),
    ("deduction_inr", "ledger_screen_deduction", 82),
    ("closing_inr", "ledger_screen_balance", 98),
    ("recharge_inr", None, None),
    ("status", None, None),
    ("energy_inr", None, None),
    ("fixed_inr", None, None),
    ("duty_inr", None, None),
    ("rebate_inr", None, None),
    ("arrears_inr", None, None),
    ("adjustment_inr", None, None),
    ("free_units_used", None, None),
    ("opening_inr", None, None),
    ("metered_closing_inr", None, None),
    ("difference_inr", None, None),
)
WATERFALL_UP = "#009E73"
WATERFALL_DOWN = "#D55E00"
WATERFALL_TOTAL = "#0072B2"


# --- data -------------------------------------------------------------------------------------------


def _days_text(ctx: PageContext, days: float) -> str:
    if days is None or math.isnan(days):
        return ctx.t("ledger_days_unknown")
    if math.isinf(days):  # the forecast's horizon (lib.forecast.HORIZON_DAYS) passes with balance left
        return ctx.t("overview_days_beyond_year")
    return ctx.t("overview_days_value", days=ctx.number(days, decimals=1))


def _status_label(ctx: PageContext, status: str) -> str:
    return ctx.t(STATUS_KEYS.get(status, "ledger_status_estimated"))


# --- the page ---------------------------------------------------------------------------------------


def draw(ctx: PageContext) -> None:
    """The ledger page: pick a connection, see where its balance went, day by day."""
    st.title(ctx.t("ledger_title"))
    st.caption(ctx.t("ledger_intro"))
    try:
        details, rows, version = loaders.account_ledger(ctx)
    except (tariff.TariffError, storage.StorageError, OSError, ValueError) as error:
        log.exception("ledger could not be built: %s", error)
        st.error(ctx.t("ledger_error_load"))
        return
    if not len(details):
        st.info(ctx.t("ledger_no_connections"))
        return
    ids = list(details["consumer_id"])
    nicknames = dict(zip(ids, details["nickname"].astype(str), strict=True))
    chosen = connection_picker(ctx, ctx.t("ledger_connection_label"), ids, nicknames, key="ledger_connection")
    if chosen is None:  # a forged widget value: show nothing of it
        return
    # one row: consumer_id is unique in the account's connection details, so .loc gives a Series
    fact = cast(pd.Series, details.set_index("consumer_id").loc[chosen])
    own = rows[rows["consumer_id"].astype(str) == chosen].sort_values("day").reset_index(drop=True)
    if not len(own):
        with ctx.db() as conn:
            has_data = len(storage.readings.daily_frame(conn, ctx.account, [chosen]))
        if has_data:
            st.warning(
                ctx.t(
                    "ledger_no_tariff", nickname=md(nicknames[chosen]), category=md(fact["tariff_category"])
                )
            )
        else:
            st.info(ctx.t("ledger_no_data", nickname=md(nicknames[chosen])))
        try:
            _draw_alert_rule(ctx)
        except storage.StorageError:
            log.exception("alert rule could not be read")
            st.error(ctx.t("ledger_error_load"))
        return
    today = clock.today_ist()
    _draw_headline(ctx, own, details, today)
    quality_line.draw_quality_line(ctx, chosen, quality_line.summaries(ctx, (chosen,), version))
    _draw_outlook(ctx, own, details, today)
    _period_view(ctx.detached(), loaders.household(ctx).signature(), own)
    _draw_unexplained(ctx, own)
    _draw_table_and_download(ctx, own, fact)
    quality_line.draw_money_back(ctx, chosen, version)
    try:
        _draw_arrears(ctx, chosen, own, today)
        _draw_alert_rule(ctx)
    except storage.StorageError:
        log.exception("arrears or alert rule could not be read")
        st.error(ctx.t("ledger_error_load"))


def _draw_headline(ctx: PageContext, own: pd.DataFrame, details: pd.DataFrame, today: dt.date) -> None:
    # The same forecast as the Overview and the warning on every page (cached per data version).
    cid = str(own["consumer_id"].iloc[0])
    summary = loaders.account_forecast(ctx).summary
    outlook = summary[summary["consumer_id"].astype(str) == cid]
    row = outlook.iloc[0] if len(outlook) else None
    summary = ledger.unexplained_summary(own)
    cols = st.columns(3)
    if row is not None and not math.isnan(float(row["balance_inr"])):
        balance = ctx.money(float(row["balance_inr"]))
        if bool(row["estimated"]):
            balance = f"{balance} {ctx.t('ledger_estimated_suffix')}"
        cols[0].metric(ctx.t("ledger_balance_metric"), balance)
        cols[1].metric(ctx.t("ledger_days_left_metric"), _days_text(ctx, float(row["days_left"])))
    else:
        cols[0].metric(ctx.t("ledger_balance_metric"), ctx.t("ledger_balance_unknown"))
    taken = float(summary["taken_inr"].iloc[0]) if len(summary) else 0.0
    cols[2].metric(ctx.t("ledger_unexplained_metric"), ctx.money(taken))
    if bool(own["estimated"].iloc[-1]):
        anchored = own[own["anchor_inr"].notna()]
        if len(anchored):
            st.info(ctx.t("ledger_estimated_note", day=ctx.date(anchored["day"].iloc[-1].date())))
        else:
            st.info(ctx.t("ledger_unknown_note"))
        _draw_anchor_form(ctx, str(own["consumer_id"].iloc[0]), own, today)


def _draw_anchor_form(ctx: PageContext, consumer_id: str, own: pd.DataFrame, today: dt.date) -> None:
    """The balance the household reads in its DISCOM app or SMS: where the estimate starts (issue 11)."""
    first = own["day"].iloc[0].date()
    with st.expander(ctx.t("ledger_anchor_add")), st.form("ledger_anchor_form", clear_on_submit=True):
        day = st.date_input(
            ctx.t("ledger_anchor_day"), value=today, min_value=first, max_value=today, key="ledger_anchor_day"
        )
        amount = st.number_input(
            ctx.t("ledger_anchor_amount"), value=0.0, step=10.0, key="ledger_anchor_amount"
        )
        if st.form_submit_button(ctx.t("ledger_anchor_save")):
            _save(
                ctx,
                lambda conn: ledger.add_balance_anchor(
                    conn, ctx.account, consumer_id, day=day, balance_inr=amount
                ),
                ledger.LedgerInputError,
                None,
            )


def _draw_outlook(ctx: PageContext, own: pd.DataFrame, details: pd.DataFrame, today: dt.date) -> None:
    outlooks = ledger.free_units_outlook(own, details, today)
    if not outlooks:
        return
    o = outlooks[0]
    name = md(o.nickname)
    if math.isnan(o.pace_units_per_day) or math.isnan(o.more_this_month_inr):
        st.caption(ctx.t("ledger_free_unknown", nickname=name))
        return
    values: dict[str, Any] = {
        "nickname": name,
        "allowance": ctx.number(o.allowance, decimals=0),
        "units": ctx.number(o.projected_month_units, decimals=0),
        "amount": ctx.money(o.more_this_month_inr, decimals=False),
    }
    if o.allowance <= 0:
        text = ctx.t("ledger_free_none", **values)
    elif o.held_by_arrears:
        text = ctx.t("ledger_free_held", **values)
    elif o.passes_on is not None and o.already_passed:
        text = ctx.t("ledger_free_passed", day=ctx.date(o.passes_on, pattern="d MMMM"), **values)
    elif o.passes_on is not None:
        text = ctx.t("ledger_free_pass_future", day=ctx.date(o.passes_on, pattern="d MMMM"), **values)
    else:
        text = ctx.t("ledger_free_within", **values)
    if o.allowance > 0:
        st.metric(
            ctx.t("ledger_free_units_metric"),
            f"{ctx.number(o.free_units_left, decimals=1)} / {ctx.number(o.allowance, decimals=0)}",
        )
    st.info(text, icon=":material/lightbulb:")


@st.fragment
def _period_view(spec: PageContext, drawn: tuple[object, ...], own: pd.DataFrame) -> None:
    """The waterfall of a chosen day or month (:func:`_draw_period`) as a fragment: choosing another
    day or month reruns only this, not the frame and the rest of the ledger (issue 15).

    ``spec`` is the page's detached context, ``drawn`` the household the page drew
    (:meth:`lib.ui.loaders.Household.signature`: every connection's data version, which every ledger
    entry moves), ``own`` the connection's ledger rows of that run. A rerun of the fragment alone reads
    the household again: the same, ``own`` is still the ledger; else (a write in another tab) the whole
    page runs again."""
    ctx = frame.fragment_context(spec)
    if frame.in_fragment_rerun():
        try:
            home = loaders.household(ctx)
        except storage.StorageError:
            st.error(ctx.t("ledger_error_load"))
            return
        if home.signature() != drawn:
            st.rerun()
    _draw_period(ctx, own)


def _draw_period(ctx: PageContext, own: pd.DataFrame) -> None:
    """A waterfall of a chosen day or month, and the explanation in words."""
    mode = st.radio(
        ctx.t("ledger_period_label"),
        options=["day", "month"],
        format_func=lambda m: ctx.t("ledger_period_day") if m == "day" else ctx.t("ledger_period_month"),
        horizontal=True,
        key="ledger_period",
    )
    if mode == "month":
        months = sorted({d.replace(day=1) for d in own["day"].dt.date}, reverse=True)
        picked = _pick_date(ctx, "ledger_month_label", months, 0, "MMMM y", "ledger_month")
        if picked is None:
            return
        first, period = picked
        last = (pd.Timestamp(first) + pd.offsets.MonthEnd(0)).date()
    else:
        days = list(reversed(own["day"].dt.date.tolist()))[:DAY_CHOICES]
        complete = [d for d in days if d < clock.today_ist()]
        default = days.index(complete[0]) if complete else 0
        picked = _pick_date(ctx, "ledger_day_label", days, default, "full", "ledger_day")
        if picked is None:
            return
        first, period = picked
        last = first
    steps = ledger.period_steps(own, str(own["consumer_id"].iloc[0]), first, last)
    if not steps:
        return
    # The title is page text, not the figure's: at 390 px a long day name was cut off inside the chart.
    st.markdown(f"**{ctx.t('ledger_waterfall_title', period=period)}**")
    fig = waterfall_figure(steps, ctx.lang, money=ctx.money)
    st.plotly_chart(fig, key="ledger_waterfall", config={"displaylogo": False, "displayModeBar": False})
    low = waterfall_axis_start(fig)
    if low > 0:  # zoomed on the balance's path: say so, a bar's height is not the whole balance
        st.caption(ctx.t("ledger_waterfall_axis", start=ctx.money(low, decimals=False)))
    for line in explanation_lines(ctx, own, first, last, period, steps):
        st.markdown(line)


def _pick_date(
    ctx: PageContext, label: str, options: list[dt.date], index: int, pattern: str, key: str
) -> tuple[dt.date, str] | None:
    """A select box of IST dates shown in the CLDR ``pattern`` (catalog key ``label``, widget key ``key``):
    the date picked and its text in that same pattern (the waterfall's period), or None when there is
    nothing to pick."""
    picked = st.selectbox(
        ctx.t(label),
        options=options,
        index=index,
        format_func=lambda d: ctx.date(d, pattern=pattern),
        key=key,
    )
    if picked is None:
        return None
    return picked, ctx.date(picked, pattern=pattern)


def explanation_lines(
    ctx: PageContext, own: pd.DataFrame, first: dt.date, last: dt.date, period: str, steps: dict[str, Any]
) -> list[str]:
    """The period in words: units, the tariff's deduction by part, recharges, arrears, and the check."""
    part = dict(steps["parts"])
    span = own[(own["day"] >= pd.Timestamp(first)) & (own["day"] <= pd.Timestamp(last))]
    units = steps["units"]
    lines = [
        ctx.t(
            "ledger_explain_units",
            period=period,
            units=ctx.number(0.0 if math.isnan(units) else units, decimals=1),
            free=ctx.number(float(span["free_units_used"].sum()), decimals=1),
        ),
        ctx.t(
            "ledger_explain_deduction",
            total=ctx.money(
                float(span[["energy_inr", "fixed_inr", "duty_inr"]].sum().sum() - span["rebate_inr"].sum())
            ),
            energy=ctx.money(-part["energy_inr"]),
            fixed=ctx.money(-part["fixed_inr"]),
            duty=ctx.money(-part["duty_inr"]),
            rebate=ctx.money(part["rebate_inr"]),
        ),
    ]
    if part["recharge_inr"]:
        lines.append(ctx.t("ledger_explain_recharge", amount=ctx.money(part["recharge_inr"])))
    if part["arrears_inr"]:
        lines.append(ctx.t("ledger_explain_arrears", amount=ctx.money(-part["arrears_inr"])))
    if part["adjustment_inr"]:
        lines.append(ctx.t("ledger_explain_adjustment", amount=ctx.money(part["adjustment_inr"])))
    lines.append(
        ctx.t(
            "ledger_explain_balance",
            opening=ctx.money(steps["opening_inr"]),
            closing=ctx.money(steps["closing_inr"]),
        )
    )
    if (span["status"] == "today").any():
        lines.append(ctx.t("ledger_explain_today"))
    if steps["estimated"]:
        lines.append(ctx.t("ledger_explain_estimated", closing=ctx.money(steps["closing_inr"])))
    else:
        checked = span[span["status"].isin(["ok", "unexplained"])]
        off = float(checked["difference_inr"].sum()) if len(checked) else 0.0
        metered = ctx.money(steps["metered_closing_inr"])
        if len(checked) and (checked["status"] == "unexplained").any():
            key = "ledger_explain_taken_more" if off < 0 else "ledger_explain_taken_less"
            lines.append(ctx.t(key, metered=metered, amount=ctx.money(abs(off))))
        elif len(checked):
            lines.append(ctx.t("ledger_explain_match", metered=metered))
    return lines


def waterfall_axis_start(fig: go.Figure) -> float:
    """Where a :func:`waterfall_figure`'s ₹ axis starts: above 0 when it is zoomed on the balance's path.

    >>> waterfall_axis_start(go.Figure(layout={"yaxis": {"range": [995.0, 1050.0]}}))
    995.0
    """
    span = fig.layout.yaxis.range
    return float(span[0]) if span else 0.0


def waterfall_figure(
    steps: dict[str, Any], lang: str, *, title: str | None = None, money: Any = None
) -> go.Figure:
    """A plotly waterfall: opening balance, each part with its sign, closing balance (and the meter's).

    The ₹ axis is zoomed on the balance's path, so that a day's few rupees show beside a balance of
    ₹1,000: it starts at the lowest level less a margin, rounded down to a ₹ step (``₹0`` when the
    balance comes near it); :func:`waterfall_axis_start` tells the page, which says so under the chart.

    >>> steps = {"opening_inr": 500.0, "closing_inr": 412.86, "metered_closing_inr": 412.86,
    ...     "estimated": False, "units": 10.0, "days": 1, "parts": [("recharge_inr", 0.0),
    ...     ("energy_inr", -77.9), ("fixed_inr", -6.67), ("duty_inr", -5.07), ("rebate_inr", 2.5),
    ...     ("arrears_inr", 0.0), ("adjustment_inr", 0.0)]}
    >>> fig = waterfall_figure(steps, "en", title="24 Nov")
    >>> list(fig.data[0].x), list(fig.data[0].measure)[-1]
    (['Opening balance', 'Energy charge', 'Fixed charge', 'Electricity duty', 'Prepaid rebate', 'Closing balance'], 'total')
    """
    money = money or (lambda amount: i18n.format_money(amount, lang))
    labels = [i18n.t(PART_KEYS["opening_inr"], lang)]
    values = [steps["opening_inr"]]
    measure = ["absolute"]
    for column, amount in steps["parts"]:
        if round(amount, 2) == 0:
            continue
        labels.append(i18n.t(PART_KEYS[column], lang))
        values.append(amount)
        measure.append("relative")
    closing_label = i18n.t(PART_KEYS["closing_inr"], lang)
    if steps.get("estimated"):
        closing_label = f"{closing_label} {i18n.t('ledger_estimated_suffix', lang)}"
    labels.append(closing_label)
    values.append(steps["closing_inr"])
    measure.append("total")
    fig = go.Figure(
        go.Waterfall(
            x=labels,
            y=values,
            measure=measure,
            text=[money(v) for v in values],
            textposition="outside",
            hoverinfo="x+text",
            increasing={"marker": {"color": WATERFALL_UP}},
            decreasing={"marker": {"color": WATERFALL_DOWN}},
            totals={"marker": {"color": WATERFALL_TOTAL}},
            connector={"line": {"color": "#888", "width": 1}},
        )
    )
    metered = steps.get("metered_closing_inr")
    if metered is not None and not math.isnan(metered) and not steps.get("estimated"):
        fig.add_trace(
            go.Scatter(
                x=[closing_label],
                y=[metered],
                mode="markers",
                marker={"symbol": "line-ew", "size": 36, "line": {"width": 3, "color": "#000"}},
                name=i18n.t(PART_KEYS["metered_closing_inr"], lang),
                hovertext=[money(metered)],
                hoverinfo="name+text",
            )
        )
    # Zoom on the balance's path so that a day's few rupees of charges are visible beside the balance.
    levels = [values[0]]
    for amount in values[1:-1]:
        levels.append(levels[-1] + amount)
    levels += [values[-1]] + ([metered] if metered is not None and not math.isnan(metered) else [])
    low, high = min(levels), max(levels)
    pad = max((high - low) * 0.35, 10.0)
    start = low - pad
    if start <= pad:  # the balance comes near ₹0 (or below it): show ₹0 rather than a sliver above it
        start = min(0.0, start)
    else:
        start = float(charts.value_ticks([start, high + pad], "inr", lang, include_zero=False)[0][0])
    fig.update_yaxes(range=[start, high + pad])
    if charts.devanagari_digits(lang):
        tickvals, ticktext = charts.value_ticks([start, high + pad], "inr", lang, include_zero=start <= 0)
        fig.update_yaxes(tickmode="array", tickvals=tickvals, ticktext=ticktext)
    else:
        fig.update_yaxes(tickprefix="₹", separatethousands=False)
    fig.update_layout(
        title=title,
        showlegend=False,
        height=380,
        margin={"l": 10, "r": 10, "t": 50 if title else 20, "b": 10},
        yaxis_title=i18n.t("ledger_axis_inr", lang),
    )
    return fig


def _draw_unexplained(ctx: PageContext, own: pd.DataFrame) -> None:
    st.subheader(ctx.t("ledger_unexplained_title"))
    summary = ledger.unexplained_summary(own)
    if not len(summary):
        st.success(ctx.t("ledger_unexplained_none"))
        return
    st.warning(unexplained_text(ctx, summary.iloc[0]))
    flagged = ledger.unexplained_deductions(own)
    st.dataframe(
        pd.DataFrame(
            {
                # the amount to take to the electricity office first, beside its day
                ctx.t("ledger_day_label"): [ctx.date(d.date()) for d in flagged["day"]],
                ctx.t("ledger_col_difference"): [ctx.money(v) for v in flagged["difference_inr"]],
                ctx.t("ledger_part_metered"): [ctx.money(v) for v in flagged["metered_closing_inr"]],
                ctx.t("ledger_part_closing"): [ctx.money(v) for v in flagged["closing_inr"]],
            }
        ),
        hide_index=True,
        width="stretch",
        column_config=pinned_first_column(ctx.t("ledger_day_label")),
        key="ledger_unexplained_table",
    )


def display_table(ctx: PageContext, rows: pd.DataFrame) -> pd.DataFrame:
    """The ledger rows as shown on screen, newest first, in :data:`SCREEN_COLUMNS` order: day (``d MMM``:
    the table holds one month), units (kWh, 2 decimals), deduction and closing balance (₹, Indian
    grouping) under their short headers, then the rest under the CSV's headers. Every cell is text."""
    headers = dict(TABLE_COLUMNS)
    out: dict[str, list[str]] = {}
    ordered = rows.sort_values("day", ascending=False)
    for column, short, _ in SCREEN_COLUMNS:
        values = ordered[column]
        if column == "day":
            shown = [ctx.date(d.date(), pattern="d MMM") for d in values]
        elif column in ("units", "free_units_used"):
            shown = ["" if pd.isna(v) else ctx.number(float(v), decimals=2) for v in values]
        elif column == "status":
            shown = [_status_label(ctx, s) for s in values]
        else:
            shown = ["" if pd.isna(v) else ctx.money(float(v)) for v in values]
        out[ctx.t(short or headers[column])] = shown
    return pd.DataFrame(out)


def display_column_config(ctx: PageContext) -> dict[str, ColumnConfig]:
    """``column_config`` of :func:`display_table`: the day pinned, the first four columns in fixed narrow
    widths (numbers right-aligned), a short header's full name as its help text."""
    headers = dict(TABLE_COLUMNS)
    config: dict[str, ColumnConfig] = {}
    for column, short, width in SCREEN_COLUMNS:
        if width is None:
            continue
        label = ctx.t(short or headers[column])
        config[label] = st.column_config.TextColumn(
            label,
            width=width,
            pinned=column == "day" or None,
            alignment="left" if column == "day" else "right",
            help=ctx.t(headers[column]) if short else None,
        )
    return config


def ledger_csv(
    rows: pd.DataFrame, lang: str, *, consumer_id: str, nickname: str, tariff_category: str
) -> bytes:
    """The ledger of one connection as CSV in ``lang``: translated headers and check labels, ISO dates,
    plain numbers (two decimals), UTF-8 with a byte-order mark so spreadsheet programs show Hindi.

    >>> rows = pd.DataFrame({c: [0.0] for c in ledger.LEDGER_COLUMNS})
    >>> rows["day"], rows["status"] = pd.to_datetime(["2026-11-24"]), "ok"
    >>> ledger_csv(rows, "hi", consumer_id="101", nickname="Home", tariff_category="DS-II").decode("utf-8-sig").split(",")[:5]
    ['उपभोक्ता संख्या', 'नाम', 'टैरिफ', 'तारीख', 'यूनिट (kWh)']
    """
    frame = pd.DataFrame(
        {
            i18n.t("ledger_col_consumer_id", lang): csv_cell(consumer_id),
            i18n.t("ledger_col_nickname", lang): csv_cell(nickname),
            i18n.t("ledger_col_tariff", lang): csv_cell(tariff_category),
        },
        index=rows.index,
    )
    for column, key in TABLE_COLUMNS:
        values = rows[column]
        if column == "day":
            values = values.dt.strftime("%Y-%m-%d")
        elif column == "status":
            values = values.map(lambda s: i18n.t(STATUS_KEYS.get(s, "ledger_status_estimated"), lang))
        else:
            values = values.astype(float).round(3 if column in ("units", "free_units_used") else 2)
        frame[i18n.t(key, lang)] = values
    return downloads.csv_bytes(frame)


def _draw_table_and_download(ctx: PageContext, own: pd.DataFrame, fact: pd.Series) -> None:
    st.subheader(ctx.t("ledger_table_title"))
    month = st.session_state.get("ledger_month") if st.session_state.get("ledger_period") == "month" else None
    if month is None:
        chosen_day = st.session_state.get("ledger_day")
        month = (chosen_day or own["day"].iloc[-1].date()).replace(day=1)
    shown = own[own["day"].dt.to_period("M") == pd.Period(month, freq="M")]
    st.dataframe(
        display_table(ctx, shown),
        hide_index=True,
        width="stretch",
        column_config=display_column_config(ctx),
        key="ledger_table",
    )
    nickname = str(own["nickname"].iloc[0])
    consumer_id = str(own["consumer_id"].iloc[0])
    downloads.csv_download(
        ctx.t("ledger_download"),
        ledger_csv(
            own,
            ctx.lang,
            consumer_id=consumer_id,
            nickname=nickname,
            tariff_category=str(fact["tariff_category"]),
        ),
        file_name=f"metermitra-ledger-{downloads.safe_file_part(consumer_id)}-{ctx.lang}.csv",
        key="ledger_download",
    )


# --- arrears ----------------------------------------------------------------------------------------


def _draw_arrears(ctx: PageContext, consumer_id: str, own: pd.DataFrame, today: dt.date) -> None:
    st.subheader(ctx.t("ledger_arrears_title"))
    with ctx.db() as conn:
        arrears = ledger.with_authors(
            storage.ledger.arrears_frame(conn, ctx.account, [consumer_id]), ctx.account
        )
        adjustments = ledger.with_authors(
            storage.ledger.adjustments_frame(conn, ctx.account, [consumer_id]), ctx.account
        )
    status = ledger.arrears_status(arrears, own, today)
    if not len(status):
        st.caption(ctx.t("ledger_arrears_none"))
    entry_of = arrears.set_index("arrear_id")
    row: Any  # an itertuples namedtuple: its fields are the frame's columns, which mypy cannot see
    for row in status.itertuples(index=False):
        entry = entry_of.loc[row.arrear_id]
        st.markdown(_arrear_text(ctx, row))
        st.caption(_entry_caption(ctx, entry, entry["note"]))
        if entry["can_delete"]:
            _delete_button(
                ctx,
                "ledger_arrears_delete",
                f"ledger_arrear_delete_{int(row.arrear_id)}",
                ledger.delete_arrear,
                int(row.arrear_id),
                "ledger_arrears_deleted",
            )
    if len(adjustments):
        st.markdown(f"**{md(ctx.t('ledger_adjust_title'))}**")
    for entry in adjustments.to_dict("records"):
        st.markdown(
            ctx.t(
                "ledger_adjust_row_credit" if entry["amount_inr"] > 0 else "ledger_adjust_row_debit",
                day=ctx.date(dt.date.fromisoformat(entry["day"])),
                amount=ctx.money(abs(float(entry["amount_inr"]))),
            )
        )
        st.caption(_entry_caption(ctx, entry, entry["reason"]))
        if entry["can_delete"]:
            _delete_button(
                ctx,
                "ledger_adjust_delete",
                f"ledger_adjust_delete_{int(entry['adjustment_id'])}",
                ledger.delete_adjustment,
                int(entry["adjustment_id"]),
                "ledger_adjust_deleted",
            )
    with st.expander(ctx.t("ledger_arrears_add")), st.form("ledger_arrears_form", clear_on_submit=True):
        amount = st.number_input(
            ctx.t("ledger_arrears_amount"), min_value=0.0, step=100.0, key="ledger_arrears_amount"
        )
        start = st.date_input(ctx.t("ledger_arrears_start"), value=today, key="ledger_arrears_start")
        method = st.radio(
            ctx.t("ledger_arrears_method"),
            options=list(ledger.ARREAR_METHODS),
            format_func=lambda m: (
                ctx.t("ledger_arrears_method_share")
                if m == "recharge_share"
                else ctx.t("ledger_arrears_method_daily")
            ),
            key="ledger_arrears_method",
        )
        share = st.number_input(
            ctx.t("ledger_arrears_share"),
            min_value=0.0,
            max_value=100.0,
            value=25.0,
            step=5.0,
            key="ledger_arrears_share",
        )
        daily = st.number_input(
            ctx.t("ledger_arrears_daily"), min_value=0.0, value=0.0, step=10.0, key="ledger_arrears_daily"
        )
        note = st.text_input(
            ctx.t("ledger_arrears_note"), max_chars=ledger.MAX_NOTE_CHARS, key="ledger_arrears_note"
        )
        if st.form_submit_button(ctx.t("ledger_arrears_save")):
            _save(
                ctx,
                lambda conn: ledger.add_arrear(
                    conn,
                    ctx.account,
                    consumer_id,
                    amount_inr=amount,
                    start_day=start,
                    method=method,
                    share=share / 100 if method == "recharge_share" else None,
                    daily_inr=daily if method == "daily" else None,
                    note=note,
                ),
                ledger.LedgerInputError,
                "ledger_arrears_saved",
            )
    with st.expander(ctx.t("ledger_adjust_add")), st.form("ledger_adjust_form", clear_on_submit=True):
        day = st.date_input(ctx.t("ledger_adjust_day"), value=today, key="ledger_adjust_day")
        amount = st.number_input(
            ctx.t("ledger_adjust_amount"), value=0.0, step=10.0, key="ledger_adjust_amount"
        )
        reason = st.text_input(
            ctx.t("ledger_adjust_reason"), max_chars=ledger.MAX_NOTE_CHARS, key="ledger_adjust_reason"
        )
        if st.form_submit_button(ctx.t("ledger_adjust_save")):
            _save(
                ctx,
                lambda conn: ledger.add_adjustment(
                    conn, ctx.account, consumer_id, day=day, amount_inr=amount, reason=reason
                ),
                ledger.LedgerInputError,
                "ledger_adjust_saved",
            )


def _save(
    ctx: PageContext, write: Callable[[storage.Conn], object], refused: type[Exception], done: str | None
) -> None:
    """A ledger form's submit: ``write`` on the rerun's connection; a ``refused`` input (its text is the
    catalog key) is shown as an error, a busy or failed database as :func:`widgets.write_failed`, else the
    ``done`` message (None: rerun, the page shows the change itself)."""
    try:
        with ctx.db() as conn:
            write(conn)
    except refused as error:
        st.error(ctx.t(str(error)))
    except storage.StorageError as error:  # busy: "try again in a moment"
        widgets.write_failed(ctx, error, "ledger_error_save")
    else:
        if done is None:
            st.rerun()
        st.success(ctx.t(done))


def _entry_caption(ctx: PageContext, entry: Any, text: object) -> str:
    """Who entered an arrear or adjustment (:func:`lib.ledger.with_authors`) and its note or reason."""
    if entry["author"] == "you":
        author = ctx.t("ledger_entry_by_you")
    elif entry["author"] == "other":
        author = ctx.t("ledger_entry_by_other", mobile=md(entry["author_masked"]))
    else:
        author = ctx.t("ledger_entry_by_former")
    if isinstance(text, str) and text:
        return ctx.t("ledger_entry_caption_note", author=author, note=md(text))
    return author


def _delete_button(
    ctx: PageContext,
    label: str,
    key: str,
    delete: Callable[[storage.Conn, int, int], bool],
    entry_id: int,
    done: str,
) -> None:
    """An entry's "Delete" button (catalog key ``label``, widget key ``key``): when pressed,
    ``delete(conn, account_id, entry_id)`` on the rerun's connection; a busy or failed database is
    :func:`widgets.write_failed`, else the delete's answer: the toast ``done`` and a rerun, or a plain
    refusal (someone else's entry; gone already)."""
    if not st.button(ctx.t(label), key=key):
        return
    try:
        with ctx.db() as conn:
            removed = delete(conn, ctx.account, entry_id)
    except storage.StorageError as error:  # busy: "try again in a moment"
        widgets.write_failed(ctx, error, "ledger_error_save")
        return
    if removed:
        st.toast(ctx.t(done))
        st.rerun()
    st.error(ctx.t("ledger_delete_refused"))


def _arrear_text(ctx: PageContext, row: Any) -> str:
    amount = ctx.money(row.amount_inr)
    if row.remaining_inr <= 0:
        day = ctx.date(row.ends_on.date()) if pd.notna(row.ends_on) else "—"
        return ctx.t("ledger_arrears_paid", amount=amount, day=day)
    common = {
        "amount": amount,
        "recovered": ctx.money(row.recovered_inr),
        "remaining": ctx.money(row.remaining_inr),
    }
    if row.method == "daily":
        return ctx.t(
            "ledger_arrears_daily_row",
            instalment=ctx.money(float(row.daily_inr)),
            day=ctx.date(row.ends_on.date()),
            **common,
        )
    share = ctx.number(float(row.share) * 100, decimals=0)
    if math.isnan(row.recharges_left) or pd.isna(row.ends_on):
        return ctx.t("ledger_arrears_share_open", share=share, **common)
    return ctx.t(
        "ledger_arrears_share_row",
        share=share,
        recharges=ctx.number(row.recharges_left, decimals=0),
        typical=ctx.money(row.typical_recharge_inr, decimals=False),
        day=ctx.date(row.ends_on.date()),
        **common,
    )


# --- the alert rule ---------------------------------------------------------


def _draw_alert_rule(ctx: PageContext) -> None:
    with ctx.db() as conn:
        rule = alerts.alert_rule(conn, ctx.account)
    with st.expander(ctx.t("alerts_rule_title")), st.form("alerts_rule_form"):
        days = st.number_input(
            ctx.t("alerts_rule_days"),
            min_value=0.0,
            max_value=alerts.MAX_MIN_DAYS_LEFT,
            value=float(rule.min_days_left),
            step=1.0,
            key="ledger_alert_days",
        )
        rupees = st.number_input(
            ctx.t("alerts_rule_balance"),
            min_value=0.0,
            max_value=alerts.MAX_MIN_BALANCE_INR,
            value=float(rule.min_balance_inr),
            step=50.0,
            key="ledger_alert_balance",
        )
        sms_on = st.checkbox(ctx.t("alerts_rule_sms"), value=rule.sms_enabled, key="ledger_alert_sms")
        if st.form_submit_button(ctx.t("alerts_rule_save")):
            _save(
                ctx,
                lambda conn: alerts.set_alert_rule(
                    conn, ctx.account, min_days_left=days, min_balance_inr=rupees, sms_enabled=sms_on
                ),
                alerts.AlertRuleError,
                "alerts_rule_saved",
            )
