"""The cached reads several pages share, and the uncached authorization every page does first.

Authorization stays *outside* the caches: :func:`account_connections` reads the account's active
connections uncached on every run, and only those consumer IDs are passed into a cached loader. The
cache keys hold the database path and ``storage.meta.data_version`` (bumped by every write that changes
what pages show), so a new import, link, rename or arrear shows at once. Inside, the reads still go
through storage's authorized functions, which take the account and check the link in SQL.

Every function here raises ``storage.StorageError`` when the database cannot be read; the ledger ones
also ``tariff.TariffError`` when the tariff file cannot be read.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from lib import alerts, clock, ledger, storage
from lib.ui.context import PageContext

TTL_SECONDS = 6 * 3600


@st.cache_data(show_spinner=False, max_entries=256, ttl=TTL_SECONDS)
def cached_daily(
    db_path: str,
    version: str,
    account_id: int,
    consumer_ids: tuple[str, ...],
    first_day: str,
    last_day: str,
) -> pd.DataFrame:
    """Daily roll-ups (:func:`lib.storage.readings.daily_frame` columns) of already-authorized
    ``consumer_ids`` for IST days ``first_day..last_day`` (``version`` is only a cache key)."""
    with storage.open_db(db_path) as conn:
        return storage.readings.daily_frame(conn, account_id, list(consumer_ids), first_day, last_day)


@st.cache_data(show_spinner=False, max_entries=256, ttl=TTL_SECONDS)
def cached_recharges(
    db_path: str, version: str, account_id: int, consumer_ids: tuple[str, ...]
) -> pd.DataFrame:
    """Recharges (:func:`lib.storage.readings.recharges_frame`) of already-authorized ``consumer_ids``."""
    with storage.open_db(db_path) as conn:
        return storage.readings.recharges_frame(conn, account_id, list(consumer_ids))


@st.cache_data(show_spinner=False, max_entries=64, ttl=TTL_SECONDS)
def cached_readings(
    db_path: str, version: str, account_id: int, consumer_id: str, start_ts: str, end_ts: str
) -> pd.DataFrame:
    """Raw 30-minute readings (consumer_id, ts UTC, kwh, balance_inr) of one already-authorized
    connection in [start_ts, end_ts)."""
    with storage.open_db(db_path) as conn:
        return storage.readings.readings_frame(conn, account_id, consumer_id, start_ts, end_ts)


@st.cache_data(show_spinner=False, max_entries=128, ttl=TTL_SECONDS)
def cached_meter_events(
    db_path: str, version: str, account_id: int, consumer_ids: tuple[str, ...]
) -> pd.DataFrame:
    """Meter events (:func:`lib.storage.meter_events.meter_events_frame`) of already-authorized IDs."""
    with storage.open_db(db_path) as conn:
        return storage.meter_events.meter_events_frame(conn, account_id, list(consumer_ids))


@st.cache_data(show_spinner=False, max_entries=128, ttl=TTL_SECONDS)
def cached_ledger(
    db_path: str, version: str, account_id: int, consumer_ids: tuple[str, ...], today: str
) -> pd.DataFrame:
    """The whole-history ledger (:data:`lib.ledger.LEDGER_COLUMNS`) of already-authorized ``consumer_ids``
    as of IST ``today`` (ISO date)."""
    with storage.open_db(db_path) as conn:
        return ledger.load_ledger(conn, account_id, list(consumer_ids), today=dt.date.fromisoformat(today))


def account_connections(ctx: PageContext) -> tuple[pd.DataFrame, list[dict], str]:
    """(active connections in link order, stale links, data version): read uncached, every run.

    The frame is :func:`lib.storage.accounts.connection_details` with ``consumer_id`` as text.
    """
    with ctx.db() as conn:
        details = storage.accounts.connection_details(conn, ctx.account_id)
        stale = [
            link for link in storage.accounts.linked_connections(conn, ctx.account_id) if not link["active"]
        ]
        version = storage.meta.data_version(conn)
    details["consumer_id"] = details["consumer_id"].astype(str)
    return details, stale, version


def account_ledger(ctx: PageContext) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(active connections in link order, their ledger as of today, data version); authorization uncached."""
    details, _stale, version = account_connections(ctx)
    ids = tuple(details["consumer_id"])
    rows = cached_ledger(
        str(ctx.settings.db_path), version, int(ctx.account_id), ids, clock.today_ist().isoformat()
    )
    return details, rows, version


def low_balances(ctx: PageContext) -> list[alerts.LowBalance]:
    """The signed-in account's low connections under its own rule, most urgent first
    (:func:`lib.alerts.ledger_low_balances`): what the banner on every page and the Overview cards show."""
    _details, rows, _ = account_ledger(ctx)
    with ctx.db() as conn:
        rule = alerts.alert_rule(conn, ctx.account_id)
    return alerts.ledger_low_balances(rows, rule, clock.today_ist())
