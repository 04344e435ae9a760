"""The cached reads and derived frames the pages share, and the uncached authorization every page does first.

Authorization stays *outside* the caches: :func:`household` reads the account's active connections
uncached on every run, and only those connections are passed into a cached loader. What depends only
on stored data is computed once per **connection data version** (``storage.meta.consumer_versions``,
migration ``0010_consumer_versions``: moved by every write that names the connection, and for all
connections by a write that names none): each cached
function below takes one connection's :data:`ConnKey` ``(consumer_id, version, nickname)``, so a write
to one connection misses the cache for that connection only, and every other connection's daily
frame, forecast, ledger, outlook and monthly parts are reused. Household frames are the per-connection
frames put together (``pd.concat``, in link order); figures are cached whole
(``st.cache_resource``: the same ``go.Figure`` object for the same inputs, never mutated by a page), and
so is what a page works out of the frames for one view (:func:`cached_view`: Compare's series, tables
and CSV, the Overview's cards, the low-balance list), so that a rerun showing a view already seen
neither copies a frame out of ``st.cache_data`` nor recomputes it: it pays authorization, the cache
lookups and Streamlit's own serialisation (BENCHMARKS.md section 4). :func:`household` (and the
low-balance list) are read once per run (``ctx.rerun_memo``).

Why caches at the page edge and not derived tables written at import: every derived frame here is a
pure function of rows already stored per connection, the per-connection key makes a write cost one
recomputation (tens of milliseconds) on the next visit, and nothing new must be kept in step with the
tariff file, the clock (today) or the ledger's rules; BENCHMARKS.md section 4 has the figures.

The cached functions take the page context as ``_ctx`` (not hashed): on a miss they read through the
rerun's one connection (``ctx.db()``). Every function here raises ``storage.StorageError`` when the
database cannot be read; the ledger ones also ``tariff.TariffError`` when the tariff file cannot be read.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar, cast

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from lib import alerts, analytics, clock, forecast, frames, i18n, ledger, storage
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
    ``consumer_ids`` for IST days ``first_day..last_day`` (``version``, the database-wide data version, is
    only a cache key; the Overview and Compare use the per-connection :func:`connection_daily`)."""
    with storage.open_db(db_path, run_migrations=False) as conn:
        return storage.readings.daily_frame(conn, account_id, list(consumer_ids), first_day, last_day)


@st.cache_data(show_spinner=False, max_entries=256, ttl=TTL_SECONDS)
def cached_recharges(
    db_path: str, version: str, account_id: int, consumer_ids: tuple[str, ...]
) -> pd.DataFrame:
    """Recharges (:func:`lib.storage.readings.recharges_frame`) of already-authorized ``consumer_ids``."""
    with storage.open_db(db_path, run_migrations=False) as conn:
        return storage.readings.recharges_frame(conn, account_id, list(consumer_ids))


@st.cache_data(show_spinner=False, max_entries=128, ttl=TTL_SECONDS)
def cached_meter_events(
    db_path: str, version: str, account_id: int, consumer_ids: tuple[str, ...]
) -> pd.DataFrame:
    """Meter events (:func:`lib.storage.meter_events.meter_events_frame`) of already-authorized IDs."""
    with storage.open_db(db_path, run_migrations=False) as conn:
        return storage.meter_events.meter_events_frame(conn, account_id, list(consumer_ids))


# --- per-connection caches (issue 15) ---------------------------------------------------------------

# One connection's cache key: (consumer_id, data version, nickname). The nickname is in the key because
# the frames carry it and it is the account's own (a rename changes the key).
ConnKey = tuple[str, int, str]

# The days a forecast looks at: the 30-day burn window ending yesterday, with room for a few days
# without data at the end.
FORECAST_DAYS = 45
PER_CONNECTION_ENTRIES = 4096  # 1,000 connections × a few ranges; a ledger is ~100 KB, a daily frame ~5 KB


@dataclass(frozen=True)
class Household:
    """What :func:`household` read uncached this rerun: the active connections and their cache keys."""

    details: pd.DataFrame  # lib.storage.accounts.connection_details, consumer_id as text, link order
    stale: list[dict]
    version: str  # the database-wide data version (pages not yet per connection)
    keys: tuple[ConnKey, ...]  # link order

    def keys_of(self, consumer_ids: Sequence[str]) -> tuple[ConnKey, ...]:
        """The keys of ``consumer_ids`` that are active connections, in link order (untrusted input)."""
        wanted = {str(cid) for cid in consumer_ids}
        return tuple(key for key in self.keys if key[0] in wanted)

    def signature(self) -> tuple[object, ...]:
        """What a page's parts outside its fragment drew from the household (the active connections with
        their data versions and nicknames, the stale links): a fragment rerun that reads a different one
        runs the whole page again (a link, unlink, rename or import in another tab since the page ran)."""
        stale = tuple((str(link["consumer_id"]), str(link["nickname"])) for link in self.stale)
        return (self.keys, stale)


_HOUSEHOLD = "household"  # the run's Household in ctx.rerun_memo (read by household, reused by ledger_inputs)


def household(ctx: PageContext) -> Household:
    """The signed-in account's active connections, stale links and per-connection data versions: read
    uncached, every run, through the rerun's one connection (four primary-key queries), once per run:
    the panels of the same run (the banner, the page, its side panels) share the run's answer
    (``ctx.rerun_memo``; a write is always followed by ``st.rerun()``, a new run that reads again)."""
    memo = getattr(ctx, "rerun_memo", None)
    if memo is not None and _HOUSEHOLD in memo:
        return cast(Household, memo[_HOUSEHOLD])
    home = _read_household(ctx)
    if memo is not None:
        memo[_HOUSEHOLD] = home
    return home


def _read_household(ctx: PageContext) -> Household:
    with ctx.db() as conn:
        details = storage.accounts.connection_details(conn, ctx.account)
        stale = [
            link for link in storage.accounts.linked_connections(conn, ctx.account) if not link["active"]
        ]
        version = storage.meta.data_version(conn)
        details["consumer_id"] = details["consumer_id"].astype(str)
        versions = storage.meta.consumer_versions(conn, list(details["consumer_id"]))
    keys = tuple(
        (cid, versions[cid], str(nickname))
        for cid, nickname in zip(details["consumer_id"], details["nickname"], strict=True)
    )
    return Household(details=details, stale=stale, version=version, keys=keys)


def _db(ctx: PageContext) -> str:
    return str(ctx.settings.db_path)


_per_connection = st.cache_data(show_spinner=False, max_entries=PER_CONNECTION_ENTRIES, ttl=TTL_SECONDS)


@_per_connection
def connection_daily(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, first_day: str, last_day: str
) -> pd.DataFrame:
    """One connection's daily roll-ups (:func:`lib.storage.readings.daily_frame` columns), IST days
    ``first_day..last_day``; ``db`` and ``key`` are the cache key."""
    with _ctx.db() as conn:
        return storage.readings.daily_frame(conn, account_id, [key[0]], first_day, last_day)


# What a run read once for all of the account's connections, for the per-connection ledgers and
# simulations it builds (``ctx.rerun_memo``): details, arrears, adjustments, anchors.
_LEDGER_INPUTS = "ledger_inputs"


def ledger_inputs(ctx: PageContext, account_id: int) -> ledger.LedgerInputs:
    """:class:`lib.ledger.LedgerInputs` of ``account_id`` (the signed-in account) for all its connections,
    once per run (``ctx.rerun_memo``): three reads however many connections miss their caches, the details
    being :func:`household`'s of the same run when it has read them (the same read of the same account;
    no ledger or forecast changes the frame: tests/test_loaders.py), else four."""
    memo = getattr(ctx, "rerun_memo", None)
    if memo is not None and (account_id, _LEDGER_INPUTS) in memo:
        return cast(ledger.LedgerInputs, memo[(account_id, _LEDGER_INPUTS)])
    home = memo.get(_HOUSEHOLD) if memo is not None and account_id == ctx.account_id else None
    details = None if home is None else cast(Household, home).details
    with ctx.db() as conn:
        inputs = ledger.read_ledger_inputs(conn, account_id, details=details)
    if memo is not None:
        memo[(account_id, _LEDGER_INPUTS)] = inputs
    return inputs


@_per_connection
def connection_recharges(_ctx: PageContext, db: str, account_id: int, key: ConnKey) -> pd.DataFrame:
    """One connection's recharges (:func:`lib.storage.readings.recharges_frame`)."""
    with _ctx.db() as conn:
        return storage.readings.recharges_frame(conn, account_id, [key[0]])


@_per_connection
def connection_readings(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, start_ts: str, end_ts: str
) -> pd.DataFrame:
    """One connection's raw readings (consumer_id, ts UTC, kwh, balance_inr) in [start_ts, end_ts)."""
    with _ctx.db() as conn:
        return storage.readings.readings_frame(conn, account_id, key[0], start_ts, end_ts)


@_per_connection
def connection_hour_profile(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, start_ts: str, end_ts: str
) -> pd.DataFrame:
    """:func:`lib.analytics.hour_of_day_profile` of :func:`connection_readings`."""
    return analytics.hour_of_day_profile(connection_readings(_ctx, db, account_id, key, start_ts, end_ts))


@_per_connection
def connection_ledger(_ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str) -> pd.DataFrame:
    """One connection's whole-history ledger (:data:`lib.ledger.LEDGER_COLUMNS`) as of IST ``today``:
    :func:`lib.ledger.load_ledger` of the connection given the run's :func:`ledger_inputs` (one read: the
    connection's daily rows)."""
    inputs = ledger_inputs(_ctx, account_id)
    with _ctx.db() as conn:
        return ledger.load_ledger(
            conn, account_id, [key[0]], today=dt.date.fromisoformat(today), inputs=inputs
        )


@st.cache_resource(show_spinner=False, max_entries=PER_CONNECTION_ENTRIES, ttl=TTL_SECONDS)
def connection_simulation(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str
) -> forecast.Forecast:
    """:func:`lib.forecast.simulate` of one connection's ledger as of IST ``today`` (summary and daily
    path): computed once per connection data version and day, not per rerun (shared, never mutated)."""
    rows = connection_ledger(_ctx, db, account_id, key, today)
    inputs = ledger_inputs(_ctx, account_id)  # read once per run (the ledger's miss read them already)
    details = inputs.details[inputs.details["consumer_id"].astype(str) == key[0]]
    arrears = frames.for_connections(inputs.arrears, [key[0]])  # as read_ledger_inputs cuts them
    return forecast.simulate(rows, details, dt.date.fromisoformat(today), arrears=arrears)


def shared_forecast(_ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str) -> pd.DataFrame:
    """The run-out forecast (:func:`lib.forecast.run_out` columns; :func:`lib.ledger.balance_outlook`) of one
    connection as of IST ``today``: the shared simulation's own frame (:func:`connection_simulation`,
    ``st.cache_resource``), not a copy, for readers that only read it: the low-balance warning, the Overview's
    cards and chart, the Ledger's headline and Compare's chart (pandas' copy-on-write keeps any frame made
    from it apart). An ``st.cache_data`` copy would be pickled on a miss and unpickled on every hit
    (BENCHMARKS.md section 4 runs 12 and 19)."""
    return connection_simulation(_ctx, db, account_id, key, today).summary


def shared_projection(_ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str) -> pd.DataFrame:
    """The simulated days (:data:`lib.forecast.PATH_COLUMNS`) of one connection, the charts' dashed line: the
    shared simulation's own frame, not a copy (as :func:`shared_forecast`)."""
    return connection_simulation(_ctx, db, account_id, key, today).path


@_per_connection
def connection_month_parts(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str
) -> pd.DataFrame:
    """:func:`lib.ledger.month_parts` of one connection's ledger as of IST ``today``."""
    return ledger.month_parts(connection_ledger(_ctx, db, account_id, key, today))


@_per_connection
def connection_recent_ledger(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str, first_day: str
) -> pd.DataFrame:
    """One connection's ledger rows (as of IST ``today``) from IST day ``first_day`` on: a small frame for
    a panel that looks at the last weeks only (the whole history is not copied out of the cache)."""
    rows = connection_ledger(_ctx, db, account_id, key, today)
    return rows[rows["day"] >= pd.Timestamp(first_day)] if len(rows) else rows


@_per_connection
def connection_unexplained(
    _ctx: PageContext, db: str, account_id: int, key: ConnKey, today: str
) -> pd.DataFrame:
    """:func:`lib.ledger.unexplained_summary` of one connection's ledger as of IST ``today``."""
    return ledger.unexplained_summary(connection_ledger(_ctx, db, account_id, key, today))


def household_frame(
    ctx: PageContext, loader: Callable[..., pd.DataFrame], keys: Sequence[ConnKey], *args: str
) -> pd.DataFrame:
    """The per-connection frames of ``loader`` for ``keys`` put together in that order (one frame).

    >>> loader = lambda _ctx, db, account_id, key: pd.DataFrame({"consumer_id": [key[0]]})
    >>> ctx = type("Ctx", (), {"settings": type("S", (), {"db_path": "x.db"}), "account": 1})
    >>> household_frame(ctx, loader, [("1", 0, "Home"), ("2", 0, "Shop")])["consumer_id"].tolist()
    ['1', '2']
    """
    frames = [loader(ctx, _db(ctx), ctx.account, key, *args) for key in keys]
    filled = [frame for frame in frames if len(frame)]
    if not filled:
        return frames[0] if frames else pd.DataFrame()
    if len(filled) == 1:
        return filled[0]
    return pd.concat(filled, ignore_index=True)


def household_forecast(ctx: PageContext, keys: tuple[ConnKey, ...], today: str) -> pd.DataFrame:
    """:func:`household_frame` of :func:`shared_forecast` for ``keys`` as of IST ``today``, put together
    once per (connections' data versions, day) and shared by every later run (:func:`cached_view`): each
    figure that draws the forecast read it again (three cache lookups and a concat per figure: ~2 ms of a
    new household's 1-year Compare with 3 connections, issue 15). Read it, never change it."""
    return cached_view(
        ctx, lambda: household_frame(ctx, shared_forecast, keys, today), "household_forecast", keys, (today,)
    )


def household_projection(ctx: PageContext, keys: tuple[ConnKey, ...], today: str) -> pd.DataFrame:
    """:func:`household_frame` of :func:`shared_projection` for ``keys`` as of IST ``today``, shared as
    :func:`household_forecast`."""
    return cached_view(
        ctx,
        lambda: household_frame(ctx, shared_projection, keys, today),
        "household_projection",
        keys,
        (today,),
    )


def account_forecast(ctx: PageContext) -> forecast.Forecast:
    """The signed-in account's run-out forecast, put together from the per-connection cached simulations
    (:func:`household_forecast`, :func:`household_projection`: once per data versions and day)."""
    home = household(ctx)
    today = clock.today_ist().isoformat()
    return forecast.Forecast(
        summary=household_forecast(ctx, home.keys, today),
        path=household_projection(ctx, home.keys, today),
    )


def low_balances(ctx: PageContext) -> list[alerts.LowBalance]:
    """The signed-in account's low connections under its own rule, most urgent first
    (:func:`lib.alerts.low_balances` of the per-connection cached outlooks): what the banner on every
    page and the Overview cards show."""
    memo = getattr(ctx, "rerun_memo", None)
    if memo is not None and "low_balances" in memo:  # the banner's answer, again for the Overview cards
        return list(memo["low_balances"])
    home = household(ctx)
    today = clock.today_ist().isoformat()
    with ctx.db() as conn:
        rule = alerts.alert_rule(conn, ctx.account)  # not versioned with the data: read every run

    def build() -> tuple[alerts.LowBalance, ...]:
        outlook = household_frame(ctx, shared_forecast, home.keys, today)
        return tuple(alerts.low_balances(outlook, rule)) if len(outlook) else ()

    rule_key = (rule.min_days_left, rule.min_balance_inr, rule.sms_enabled)
    low = cached_view(ctx, build, "low_balances", home.keys, (today, rule_key))
    if memo is not None:
        memo["low_balances"] = low
    return list(low)


def account_ledger(ctx: PageContext) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(active connections in link order, their ledger as of today, data version); authorization uncached,
    each connection's ledger cached by its own data version."""
    home = household(ctx)
    today = clock.today_ist().isoformat()
    rows = household_frame(ctx, connection_ledger, home.keys, today)
    if not len(home.keys):
        with ctx.db() as conn:
            rows = ledger.load_ledger(conn, ctx.account, [], today=dt.date.fromisoformat(today))
    return home.details, rows, home.version


_Fig = TypeVar("_Fig", bound=go.Figure | None)


def cached_figure(build: Callable[[], _Fig], name: str, keys: tuple[ConnKey, ...], options: tuple) -> _Fig:
    """The figure ``build()`` makes (or None), built once per (``name``, connection ``keys``, view
    ``options``, the reader's digits).

    The same object is returned to every session (``st.plotly_chart`` copies it; no page mutates it).
    ``options`` must hold every input of ``build`` other than the connections' stored data and the
    digits: language, days, metric, layout, columns. The choice of Devanagari digits for this run
    (:func:`lib.i18n.use_devanagari_digits`, which the figures' labels and ticks follow) is added to the
    key here, so that no caller can forget it.
    """
    digits = i18n.devanagari_digits_active("hi")
    key = repr((name, keys, options, ("devanagari_digits", digits)))  # one string to hash (cached_view)
    return cast(_Fig, _cached_figure(build, key))


class FrozenFigure(go.Figure):
    """A cached figure whose plain dict is worked out once: ``st.plotly_chart`` calls ``to_dict()`` on
    every run that draws it (a deep copy of every trace and a base64 pass over the arrays: a quarter of
    a new session's CPU with 12 connections, BENCHMARKS.md section 4), and only reads the dict.

    The dict is shared by every run and session: read it, never change it (no page mutates a cached
    figure either). Built only by :func:`cached_figure` from a finished figure.

    >>> fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    >>> fig.__class__ = FrozenFigure
    >>> fig.to_dict() is fig.to_dict(), fig.to_dict()["data"][0]["type"]
    (True, 'scatter')
    """

    _frozen_dict: dict | None = None

    def to_dict(self) -> dict:
        if self._frozen_dict is None:
            self._frozen_dict = super().to_dict()
        return self._frozen_dict


# Entries: a household's Overview fills ~2 figures and ~9 views (its own; since issue 15 the first Compare's,
# lib.ui.compare.prepare_first_view, with its period, tables and the household's forecast frames), so the
# caches hold as many households as at stop 25 with 2x the figures and 4x the views (a 30-day figure of 3
# connections is 7 KB as JSON; the views are mostly references to frames the per-connection caches hold,
# but for Compare's year of each household, kept apart: LARGE_VIEW_ENTRIES; server RSS: BENCHMARKS.md
# section 6).
@st.cache_resource(show_spinner=False, max_entries=512, ttl=TTL_SECONDS)
def _cached_figure(_build: Callable[[], go.Figure | None], key: str) -> go.Figure | None:
    fig = _build()
    if fig is not None and type(fig) is go.Figure:
        fig.__class__ = FrozenFigure  # same object, its dict worked out once (on the first draw)
    return fig


_View = TypeVar("_View")


def cached_view(
    ctx: PageContext,
    build: Callable[[], _View],
    name: str,
    keys: tuple[ConnKey, ...],
    options: tuple,
    *,
    large: bool = False,
) -> _View:
    """What ``build()`` makes of a page's view (series, formatted tables, CSV bytes, a figure), built
    once per (``name``, database, signed-in account, connection ``keys``, view ``options``, the reader's
    digits) and the same object on every later run and session: a cache hit copies nothing
    (``st.cache_resource``; ``st.cache_data`` would unpickle a copy every run). What it returns is
    shared: callers never mutate it (frames are read, filtered into new frames, handed to Streamlit,
    which copies them).

    Authorization stays outside: ``keys`` are :func:`household`'s uncached answer of this run, and the
    account is part of the key (the derived values may carry the account's own entries). ``options``
    must hold every input of ``build`` other than the connections' stored data and the digits.
    Raises what ``build`` raises (nothing is cached then). ``large``: a view of a household's whole year
    (hundreds of KB), kept in a cache of its own with fewer entries (:data:`LARGE_VIEW_ENTRIES`).
    """
    digits = i18n.devanagari_digits_active("hi")
    # One string for Streamlit to hash (its hasher walks nested tuples in Python: ~1 ms a key); the
    # parts are str, int, float, bool and tuples of them, whose repr is exact.
    key = repr((name, _db(ctx), ctx.account, keys, options, ("devanagari_digits", digits)))
    return cast(_View, (_cached_large_view if large else _cached_view)(build, key))


@st.cache_resource(show_spinner=False, max_entries=2048, ttl=TTL_SECONDS)
def _cached_view(_build: Callable[[], object], key: str) -> object:
    return _build()


# Households whose year Compare keeps (lib.ui.compare._household_year: ~240 KB with 3 connections, ~0.9 MB
# with 12): at most ~60-230 MB a process; the least recently used household's year is read again (~25 ms).
LARGE_VIEW_ENTRIES = 256


@st.cache_resource(show_spinner=False, max_entries=LARGE_VIEW_ENTRIES, ttl=TTL_SECONDS)
def _cached_large_view(_build: Callable[[], object], key: str) -> object:
    return _build()


# The caches a first sight of a view fills (bench/bench_pages.py clears them to time a miss).
VIEW_CACHES = (_cached_figure, _cached_view, _cached_large_view)
