"""Widgets several pages draw the same way: the phone guess, links to other pages, empty states, the
stale-link warnings, the connection picker and the small per-connection tables (as Markdown).

Values a widget returns are untrusted: :func:`connection_picker` returns only one of the IDs offered.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib import charts, storage
from lib.ui import paths
from lib.ui.context import PageContext
from lib.ui.escape import markdown

if TYPE_CHECKING:  # the type st.dataframe's column_config takes; not part of streamlit's public API
    from streamlit.elements.lib.column_types import ColumnConfig


def is_phone() -> bool:
    """A best guess from the browser's User-Agent; the pages also offer a switch."""
    try:
        agent = st.context.headers.get("User-Agent") or ""
    except Exception:  # noqa: BLE001 - no request context (tests, bare mode)
        return False
    return any(word in agent for word in ("Mobile", "Android", "iPhone"))


def write_failed(ctx: PageContext, error: storage.StorageError, fallback: str | None = None) -> None:
    """Tell the user why a write (sign-in, link, rename, remove, sign-out, a ledger entry) did not happen.

    The database was only busy (``storage.is_busy``: a write lock not had within the busy timeout, e.g.
    beside a long import, issue 13 item 11): "The service is busy, please try again in a moment"
    (``common_busy``), whatever the page would say otherwise. Any other failure: the page's own message
    ``fallback`` (a catalog key), or without one ``error`` is raised again (Streamlit's plain error box, no
    details: ``client.showErrorDetails = "none"``). Call it in the ``except storage.StorageError`` of the write.
    """
    if storage.is_busy(error):
        st.warning(ctx.t("common_busy"))
        return
    if fallback is None:
        raise error
    st.error(ctx.t(fallback))


def page_link(path: str, label: str, *, icon: str | None = None) -> bool:
    """``st.page_link`` to a page of :mod:`lib.ui.paths` when its script is there; whether it was drawn."""
    if not paths.exists(path):
        return False
    st.page_link(path, label=label, icon=icon)
    return True


def draw_stale_links(ctx: PageContext, stale: Sequence[Mapping[str, object]]) -> None:
    """A warning per link whose consumer's registered mobile changed (its data is not readable)."""
    for link in stale:
        st.warning(
            ctx.t(
                "overview_stale_link",
                nickname=markdown(link["nickname"]),
                consumer_id=markdown(link["consumer_id"]),
            )
        )


def draw_no_connections(ctx: PageContext) -> None:
    """The empty state of every data page: point to Add Another Meter."""
    st.info(ctx.t("overview_no_connections"))
    if not page_link(paths.MANAGE_CONNECTION, ctx.t("overview_add_meter"), icon=":material/add:"):
        st.caption(ctx.t("overview_add_meter_where"))


def table_markdown(table: pd.DataFrame, *, text_columns: Collection[str] = ()) -> str:
    """``table`` (text cells already formatted, one row per connection or total) as one GFM Markdown table.

    Every header and cell is made inert with :func:`lib.ui.escape.markdown` (``|`` escaped, so a cell
    never splits a row; newlines flattened; no links, emphasis, HTML or ``:shortcodes:``): pass user text
    as typed, not through :func:`lib.ui.escape.csv_cell` (a Markdown table has no "Download as CSV", and a
    nickname ``=SUM(1)`` shows as typed). The first column (the connection) and ``text_columns`` are
    left-aligned, the others (figures) right-aligned (``---:``).

    >>> table = pd.DataFrame({"Connection": ["a|b *x* <script>", ":material/home:", "=SUM(1)"],
    ...                       "Spend": ["₹1,200.50", "-₹5.00", "–"]})
    >>> print(table_markdown(table).replace("\\u2060", "<WJ>"))  # the word joiner after ':' (no shortcode)
    | Connection | Spend |
    | :--- | ---: |
    | a\\|b \\*x\\* \\<script\\> | ₹1,200\\.50 |
    | \\:<WJ>material/home\\: | \\-₹5\\.00 |
    | \\=SUM\\(1\\) | – |
    """

    def row(cells: Iterable[object]) -> str:
        return "| " + " | ".join(markdown(cell) for cell in cells) + " |"

    columns = list(table.columns)
    align = [":---" if i == 0 or name in text_columns else "---:" for i, name in enumerate(columns)]
    lines = [row(columns), "| " + " | ".join(align) + " |"]
    lines += [row(values) for values in table.itertuples(index=False, name=None)]
    return "\n".join(lines)


def draw_table(table: pd.DataFrame, *, text_columns: Collection[str] = ()) -> None:
    """A small table (a handful of rows: one per connection or total) as one ``st.markdown`` GFM table
    (:func:`table_markdown`), never ``unsafe_allow_html``:
    ``draw_table(month_table, text_columns=[ctx.t("overview_col_category")])``.

    Not ``st.dataframe``: any Arrow element (``st.dataframe``, ``st.table``) makes the browser load and
    compile Streamlit's Arrow code on a page's first paint (issue 15, BENCHMARKS.md section 7 run 7: the
    two Compare tables as Markdown saved a fresh /compare load 1.3 s of chromium CPU). Drawn so: the
    Overview's month and cost tables, Compare's shares and peaks, and the import / export / net table of
    a net-metered household (:mod:`lib.ui.net_metering`, both pages): neither page has an Arrow element.
    Long tables (the ledger's, the camp's) stay ``st.dataframe``. On a phone (below 768 px) the frame's
    phone CSS (``lib.ui.frame._PHONE_CSS``) sets the tables' text at 13 px with narrow padding, and the
    cells wrap; a table still wider than the screen scrolls sideways inside its own box, never the page.
    """
    st.markdown(table_markdown(table, text_columns=text_columns))


def pinned_first_column(label: str) -> dict[str, ColumnConfig]:
    """``column_config`` that keeps a long table's first column (the ledger's day) in view on a phone.

    The tables put the columns a household needs first (₹ before units); the rest sit behind the
    table's own sideways scroll on a narrow screen, with the first column pinned beside them:
    ``st.dataframe(table, column_config=pinned_first_column(ctx.t("ledger_day_label")))``. The small
    per-connection tables are Markdown (:func:`draw_table`).
    """
    return {label: st.column_config.TextColumn(label, pinned=True)}


def connection_picker(
    ctx: PageContext, label: str, consumer_ids: Sequence[str], names: Mapping[str, str], *, key: str
) -> str | None:
    """A select box of the account's connections ("nickname (consumer ID)"); the chosen consumer ID, or
    None when the widget holds anything that was not offered (a forged value)."""
    chosen = st.selectbox(
        label,
        options=list(consumer_ids),
        format_func=lambda cid: ctx.t(
            "compare_connection_option", nickname=names.get(cid, cid), consumer_id=cid
        ),
        key=key,
    )
    return chosen if chosen in consumer_ids else None


def days_text(ctx: PageContext, days: float) -> str:
    """Days of balance left in words: a number with its unit, "not known yet", or "more than a year" when
    the forecast (:func:`lib.forecast.run_out`) finds balance left after its whole horizon (days_left inf:
    free units or no use keep it above ₹0 for :data:`lib.forecast.HORIZON_DAYS` days)."""
    if days is None or math.isnan(days):
        return ctx.t("overview_days_unknown")
    if math.isinf(days):
        return ctx.t("overview_days_beyond_year")
    return ctx.t("overview_days_value", days=ctx.number(days, decimals=1))


def chart_config() -> dict[str, object]:
    """``st.plotly_chart``'s ``config``: no plotly logo; on a phone no toolbar at all (it covered the
    panels' titles at 390 px, and pinch and drag still zoom and pan)."""
    return {"displaylogo": False, "displayModeBar": not is_phone()}


def draw_chart(ctx: PageContext, fig: go.Figure, *, key: str) -> None:
    """A figure and, under it, the captions that say what its marks mean (:func:`lib.charts.caption_keys`:
    the dashed forecast, the recharge markers, a bar not over yet, shaded disconnections)."""
    st.plotly_chart(fig, key=key, config=chart_config())
    keys = charts.caption_keys(fig)
    if keys:
        st.caption(" ".join(ctx.t(caption) for caption in keys))
