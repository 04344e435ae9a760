"""The data-quality line of a connection (Overview cards, Ledger page) and its money going back.

What :func:`lib.quality.connection_summaries` knows, in the reader's language: how often the meter
reads, days whose readings do not cover the day, meter replacements and spurious readings the imports
detected, recharges that reached the meter late (issue 11 section 3). Over the last
``QUALITY_DAYS`` days before today. Refunds and reversals of recharges (``import-recharges``) are listed
with their kind.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

import pandas as pd
import streamlit as st

from lib import clock, quality, storage, tariff
from lib.ui import loaders
from lib.ui.context import PageContext

log = logging.getLogger(__name__)

QUALITY_DAYS = 30


def summaries(ctx: PageContext, consumer_ids: tuple[str, ...], version: str) -> pd.DataFrame:
    """:func:`lib.quality.connection_summaries` of already-authorized IDs over the last ``QUALITY_DAYS``
    days; empty (no line drawn) when the database or the tariff cannot be read."""
    try:
        return read_summaries(ctx, consumer_ids, version)
    except storage.StorageError:
        log.exception("data-quality line not known")
        return quality.connection_summaries(pd.DataFrame(), today=clock.today_ist())


def read_summaries(ctx: PageContext, consumer_ids: tuple[str, ...], version: str) -> pd.DataFrame:
    """:func:`summaries` that raises ``storage.StorageError`` instead of drawing no line (for a caller
    that caches the answer: a failure is not kept); without a readable tariff, no late credits."""
    today = clock.today_ist()
    db = str(ctx.settings.db_path)
    daily = loaders.cached_daily(
        db,
        version,
        ctx.account,
        consumer_ids,
        str(today - dt.timedelta(days=QUALITY_DAYS)),
        str(today),
    )
    events = loaders.cached_meter_events(db, version, ctx.account, consumer_ids)
    try:
        keys = loaders.household(ctx).keys_of(consumer_ids)
        first = str(today - dt.timedelta(days=QUALITY_DAYS))
        recent = loaders.connection_recent_ledger
        rows = loaders.household_frame(ctx, recent, keys, today.isoformat(), first) if keys else None
    except (tariff.TariffError, OSError, ValueError):
        rows = None  # no ledger: no late credits, the rest still shows
    return quality.connection_summaries(daily, rows, events, today=today)


def quality_text(ctx: PageContext, row: pd.Series | dict) -> str:
    """One line: ``Data: readings every 30 min · 2 of 30 days with gaps · 1 meter replacement``."""
    parts = [ctx.t("quality_interval", minutes=ctx.number(row["interval_minutes"], decimals=0))]
    if row["days_with_gaps"]:
        parts.append(
            ctx.t(
                "quality_gaps",
                gaps=ctx.number(row["days_with_gaps"], decimals=0),
                days=ctx.number(row["days"], decimals=0),
            )
        )
    else:
        parts.append(ctx.t("quality_no_gaps", days=ctx.number(row["days"], decimals=0)))
    for column, key in (
        ("replacements", "quality_replacements"),
        ("glitches", "quality_glitches"),
        ("late_credits", "quality_late_credits"),
    ):
        if row[column]:
            parts.append(ctx.t(key, count=ctx.number(row[column], decimals=0)))
    return ctx.t("quality_line", parts=" · ".join(parts))


def draw_quality_line(ctx: PageContext, consumer_id: str, table: pd.DataFrame) -> None:
    """The caption of one connection's line; nothing when it has no readings in the period."""
    mine = table[table["consumer_id"].astype(str) == str(consumer_id)]
    if len(mine):
        st.caption(quality_text(ctx, mine.iloc[0]))


def draw_money_back(ctx: PageContext, consumer_id: str, version: str) -> None:
    """Refunds and reversals of one connection, one line each with its kind, date and amount."""
    try:
        frame = loaders.cached_recharges(str(ctx.settings.db_path), version, ctx.account, (consumer_id,))
    except storage.StorageError:
        log.exception("refunds not known")
        return
    back = frame[frame["kind"].isin(["reversal", "refund"])]
    if not len(back):
        return
    st.subheader(ctx.t("quality_money_back_title"))
    row: Any  # an itertuples namedtuple: its fields are the frame's columns, which mypy cannot see
    for row in back.itertuples(index=False):
        catalog_key = "quality_reversal" if row.kind == "reversal" else "quality_refund"
        st.markdown(
            "- "
            + ctx.t(
                catalog_key,
                amount=ctx.money(abs(float(row.amount_inr))),
                date=ctx.datetime(row.ts),
            )
        )
