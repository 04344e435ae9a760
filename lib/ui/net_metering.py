"""Import, export and net energy of net-metered connections (rooftop solar), on Overview and Compare.

Shown only for connections whose meter has an export channel (daily ``export_kwh``, migration 0004);
the netting rule is marked "to verify" as in the tariff file (issue 11 section 1, net metering). Drawn as
a Markdown table (:func:`lib.ui.widgets.draw_table`), not ``st.dataframe``: no Arrow element on the page, so
a net-metered household's browser does not load Streamlit's Arrow/data-grid code either (issue 15).
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from lib import analytics
from lib.ui.context import PageContext
from lib.ui.widgets import draw_table


def draw_net_energy(
    ctx: PageContext,
    daily: pd.DataFrame,
    first: dt.date,
    last: dt.date,
    title_key: str,
    net: pd.DataFrame | None = None,
) -> bool:
    """A table of import, export and net kWh per net-metered connection over ``first..last`` (IST days)
    under the catalog title ``title_key``; nothing when no connection has export readings. Whether drawn.
    ``net``: :func:`lib.analytics.net_energy` of ``daily`` over ``first..last`` when the caller has it
    already (a cached view), else it is worked out here. One row per connection, the nickname as typed
    (:func:`lib.ui.widgets.draw_table` makes every cell inert Markdown), the kWh right-aligned, "–"
    where a figure is not known."""
    if net is None:
        net = analytics.net_energy(daily, first, last)
    if not len(net):
        return False
    st.subheader(ctx.t(title_key))
    connection = ctx.t("net_col_connection")

    def kwh(value: float) -> str:
        return "–" if pd.isna(value) else ctx.number(value, decimals=1)

    draw_table(
        pd.DataFrame(
            {
                connection: net["nickname"].astype(str),  # as typed: draw_table escapes every cell
                ctx.t("net_col_import"): [kwh(v) for v in net["import_kwh"]],
                ctx.t("net_col_export"): [kwh(v) for v in net["export_kwh"]],
                ctx.t("net_col_net"): [kwh(v) for v in net["net_kwh"]],
            }
        )
    )
    st.caption(ctx.t("net_caption"))
    return True
