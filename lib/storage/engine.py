"""Connections, transactions and migrations: every database connection MeterMitra opens comes from here.

Two engines sit behind one door (issue 12): SQLite, the embedded default (a file path, ``data/metermitra.db``),
and PostgreSQL for many users on several app servers (a ``postgresql://`` URL in ``METERMITRA_DB`` or
``[store] db``). Connections come from SQLAlchemy Core engines (one per database per process; psycopg 3 under
PostgreSQL, the standard library's sqlite3 under SQLite) and statements are ``text()`` with named binds:

>>> conn = connect(":memory:")
>>> migrate(conn)[0]
'0001_core'
>>> conn.execute("SELECT count(*) FROM consumers WHERE consumer_id = :cid", {"cid": "1"}).scalar()
0
>>> conn.dialect
'sqlite'

Rules (docs/research/otp-security.md section 5, docs/DEPLOY.md):
- SQLite: WAL, ``synchronous=FULL``, foreign keys on and a 10 s busy timeout on *every* connection; no pool
  (an SQLite connection costs ~0.1 ms, and a pool would keep file handles and the WAL open);
- PostgreSQL: a pool of 5 (+30 at peaks) connections per process, checked before use (``pool_pre_ping``);
- a connection per operation (``with open_db() as conn:``) or per thread, never one shared across
  Streamlit sessions; every connection is in autocommit, and writes run in ``transaction(conn)``
  (``BEGIN IMMEDIATE`` on SQLite, ``BEGIN`` on PostgreSQL, where the rows a race is decided on are
  locked explicitly: ``lib/storage/dialect.py``);
- migrations are Alembic revisions (``lib/storage/migrations``), one history for both engines, applied
  by ``python -m lib.cli migrate`` at deploy and at first start of the embedded default.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import os
import pkgutil
import sqlite3
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import sqlalchemy
from pandas import errors as pd_errors
from sqlalchemy import event, text
from sqlalchemy.pool import NullPool

from lib.clock import now_utc, to_ts
from lib.config import DEFAULT_DB, ROOT  # noqa: F401  (re-exported: storage.DEFAULT_DB, storage.ROOT)

if TYPE_CHECKING:
    import pandas as pd

BUSY_TIMEOUT_MS = 10_000

# The table groups a ``Database`` handle exposes: every module of lib/storage but the machinery.
MACHINERY = frozenset({"engine", "schema", "schema_postgresql", "dialect", "migrations"})
TABLE_GROUPS = frozenset(
    info.name for info in pkgutil.iter_modules([str(Path(__file__).parent)]) if info.name not in MACHINERY
)


class StorageError(RuntimeError):
    """A database failure, raised by storage in place of the driver's own errors (``sqlite3.Error``,
    ``psycopg.Error``, SQLAlchemy's ``DBAPIError``)."""


def _driver_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = [
        sqlite3.Error,
        sqlalchemy.exc.SQLAlchemyError,
        pd_errors.DatabaseError,
    ]
    try:
        import psycopg
    except ImportError:  # PostgreSQL support is optional on a camp laptop
        pass
    else:
        errors.append(psycopg.Error)
    return tuple(errors)


DRIVER_ERRORS = _driver_errors()


def storage_error(error: BaseException) -> StorageError:
    """The :class:`StorageError` for a driver error, with the driver's own message (not SQLAlchemy's wrapper)."""
    cause = getattr(error, "orig", None) or error
    return StorageError(str(cause).strip())


class Database:
    """The one door to SQL (datasette's ``Database``): a connection with the table groups bound to it.

    ``db.accounts.is_linked(account_id, consumer_id)`` is ``storage.accounts.is_linked(db, account_id,
    consumer_id)``: domain code is handed a ``Database`` and calls the storage functions through it, so it
    never imports storage or a driver. ``db.transaction()`` is ``BEGIN IMMEDIATE`` … ``COMMIT`` (SQLite) or
    ``BEGIN`` … ``COMMIT`` (PostgreSQL). Storage modules run statements with :meth:`execute` (named binds,
    ``:name``) and read frames with :meth:`frame`.

    >>> db = connect(":memory:")
    >>> _ = migrate(db)
    >>> db.consumers.holds_real_data(), db.meta.data_version()
    (False, '0')
    >>> db.nonsense
    Traceback (most recent call last):
    ...
    AttributeError: no table group 'nonsense' in lib.storage
    """

    def __init__(self, connection: sqlalchemy.Connection, target: str) -> None:
        self.sa = connection
        self.target = target
        self.dialect: str = connection.dialect.name  # 'sqlite' or 'postgresql'

    # -- statements ---------------------------------------------------------------------------------

    @property
    def raw(self) -> Any:
        """The driver's own connection (``sqlite3.Connection`` or ``psycopg.Connection``): for bulk loads
        (``executemany`` on SQLite, ``COPY`` on PostgreSQL) and SQLite's online backup, nothing else."""
        return self.sa.connection.driver_connection

    def execute(self, sql: str, params: Mapping[str, Any] | Sequence[Any] | None = None) -> Any:
        """Run one statement with named binds (``:consumer_id``); returns SQLAlchemy's ``CursorResult``
        (``fetchone()``, ``fetchall()``, ``scalar()``, ``mappings()``, ``rowcount``).

        A sequence of mappings runs the statement once per mapping (``executemany``). Positional
        ``?`` parameters (a tuple) go to the SQLite driver as they are and return a ``sqlite3.Cursor``
        whose rows are ``sqlite3.Row``: the form older storage code was written in, SQLite only.
        """
        if isinstance(params, tuple):
            if self.dialect != "sqlite":
                raise StorageError(f"positional parameters are SQLite-only: {sql[:60]!r}")
            cursor = self.raw.cursor()
            cursor.row_factory = sqlite3.Row
            return cursor.execute(sql, params)
        if isinstance(params, list):
            if params and isinstance(params[0], tuple):
                if self.dialect != "sqlite":
                    raise StorageError(f"positional parameters are SQLite-only: {sql[:60]!r}")
                return self.raw.executemany(sql, params)
            return self.sa.execute(text(sql), params)
        return self.sa.execute(text(sql), dict(params or {}))

    def executemany(self, sql: str, rows: Any) -> Any:
        """Run ``sql`` once per row: mappings with named binds on both engines; tuples with ``?`` on SQLite
        (the driver's own ``executemany``, the fast path of imports)."""
        rows = list(rows)
        if not rows:
            return None
        return self.execute(sql, rows)

    def frame(self, sql: str, params: Mapping[str, Any] | None = None, **read_sql: Any) -> pd.DataFrame:
        """``pandas.read_sql_query`` of one statement with named binds (``parse_dates``, ``dtype`` … pass through)."""
        import pandas as pd

        return pd.read_sql_query(text(sql), self.sa, params=dict(params or {}), **read_sql)

    # -- transactions and lifetime ------------------------------------------------------------------

    def transaction(self) -> contextlib.AbstractContextManager[Database]:
        return transaction(self)

    @property
    def in_transaction(self) -> bool:
        """Whether a ``transaction(conn)`` (or any ``BEGIN``) is open on this connection."""
        if self.dialect == "sqlite":
            return bool(self.raw.in_transaction)
        import psycopg.pq

        return bool(self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE)

    def close(self) -> None:
        self.sa.close()

    def __enter__(self) -> Database:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __getattr__(self, name: str) -> Any:
        if name not in TABLE_GROUPS:
            raise AttributeError(f"no table group {name!r} in lib.storage")
        return _Bound(importlib.import_module(f"lib.storage.{name}"), self)


class _Bound:
    """A storage module with its functions' first argument (the connection) filled in."""

    __slots__ = ("_conn", "_module")

    def __init__(self, module: Any, conn: Database) -> None:
        self._module = module
        self._conn = conn

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._module, name)  # looked up at call time, so monkeypatched functions are seen
        if not callable(value) or isinstance(value, type) or name.startswith("_"):
            return value
        conn = self._conn

        @functools.wraps(value)
        def bound(*args: Any, **kwargs: Any) -> Any:
            try:
                return value(conn, *args, **kwargs)
            except DRIVER_ERRORS as error:  # the boundary: no driver error leaves storage
                raise storage_error(error) from error

        return bound


# The handle that storage functions take; outside storage, annotate with ``Database``.
Conn = Database


_P = ParamSpec("_P")
_R = TypeVar("_R")


def raises_storage_error(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a storage function so that a driver error leaves it as :class:`StorageError`.

    pandas wraps a failed query in its own ``DatabaseError`` and SQLAlchemy in ``DBAPIError``; all become
    ``StorageError`` with the driver's message (the original is kept as ``__cause__`` for the log).
    Callers above storage catch only ``StorageError``:

    >>> @raises_storage_error
    ... def broken(conn):
    ...     return conn.execute("SELECT * FROM no_such_table")
    >>> broken(connect(":memory:"))
    Traceback (most recent call last):
    ...
    lib.storage.engine.StorageError: no such table: no_such_table
    """

    @functools.wraps(function)
    def wrapper(*args: _P.args, **kwargs: _P.kwargs) -> _R:
        try:
            return function(*args, **kwargs)
        except DRIVER_ERRORS as error:
            raise storage_error(error) from error

    return wrapper


def now_ts(now: str | None = None) -> str:
    """``now`` if given, else the current UTC time as stored text."""
    return now or to_ts(now_utc())


def is_url(target: object) -> bool:
    """Whether a database setting names a server (``postgresql://…``) rather than an SQLite file."""
    return "://" in str(target)


def db_target() -> str:
    """The database: ``METERMITRA_DB`` if set (a file path or a ``postgresql://`` URL), else ``data/metermitra.db``."""
    return str(os.environ.get("METERMITRA_DB") or DEFAULT_DB)


def display_target(target: object) -> str:
    """A database setting fit for messages and logs: a URL's password is hidden.

    >>> display_target("postgresql://mm:s3cret@db.internal/metermitra")
    'postgresql://mm:***@db.internal/metermitra'
    """
    if not is_url(target):
        return str(target)
    return sqlalchemy.make_url(str(target)).render_as_string(hide_password=True)


def db_path() -> Path:
    """The SQLite file of :func:`db_target` (for the SQLite-only tools: camp snapshots, file checks)."""
    target = db_target()
    if is_url(target):
        raise StorageError("the database is a server, not a file")
    return Path(target)


def engine_url(target: str) -> sqlalchemy.URL:
    """SQLAlchemy's URL for a setting: ``postgresql://`` gets the psycopg 3 driver; a path is an SQLite file.

    >>> engine_url("postgresql://mm@db.internal/metermitra").drivername
    'postgresql+psycopg'
    >>> engine_url("data/metermitra.db").render_as_string()
    'sqlite+pysqlite:///data/metermitra.db'
    """
    if is_url(target):
        url = sqlalchemy.make_url(target)
        if url.drivername in {"postgresql", "postgres", "postgresql+psycopg"}:
            return url.set(drivername="postgresql+psycopg")
        raise StorageError(
            f"unsupported database URL scheme {url.drivername!r} (SQLite path or postgresql://)"
        )
    return sqlalchemy.URL.create("sqlite+pysqlite", database=target)


_ENGINES: dict[str, sqlalchemy.Engine] = {}
_ENGINES_LOCK = threading.Lock()


def _forget_engines_after_fork() -> None:
    """A forked child must not use its parent's pooled connections (SQLAlchemy: "Using Connection Pools
    with Multiprocessing"): drop them without closing the parent's sockets."""
    for engine in _ENGINES.values():
        engine.dispose(close=False)
    _ENGINES.clear()


os.register_at_fork(after_in_child=_forget_engines_after_fork)


def _sqlite_engine(target: str) -> sqlalchemy.Engine:
    engine = sqlalchemy.create_engine(
        engine_url(target),
        poolclass=NullPool,
        isolation_level="AUTOCOMMIT",
        connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
    )
    memory = target == ":memory:"

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_connection: sqlite3.Connection, _record: object) -> None:
        dbapi_connection.isolation_level = None  # Python never opens transactions behind our back
        if not memory:
            dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA synchronous=FULL")
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

    return engine


def prepare_threshold(target: str) -> tuple[sqlalchemy.URL, int | None]:
    """The URL without MeterMitra's own ``prepare_threshold`` query option, and psycopg's threshold.

    Default ``None``: no server-side prepared statements, so PgBouncer in transaction pooling works at any
    version (psycopg prepares a statement after its fifth run on a connection, and a PgBouncer older than
    1.21, e.g. Debian bookworm's 1.18, hands the next transaction another server connection, where the
    prepared name does not exist: tests/browser/test_deploy.py). A deployment that connects to PostgreSQL
    directly, or through PgBouncer >= 1.21 with ``max_prepared_statements``, may turn them on with
    ``?prepare_threshold=5`` (BENCHMARKS.md section 5 has what it saves).

    >>> prepare_threshold("postgresql://mm@db/metermitra")[1] is None
    True
    >>> url, threshold = prepare_threshold("postgresql://mm@db/metermitra?prepare_threshold=5&sslmode=require")
    >>> threshold, url.render_as_string()
    (5, 'postgresql+psycopg://mm@db/metermitra?sslmode=require')
    >>> prepare_threshold("postgresql://mm@db/metermitra?prepare_threshold=often")
    Traceback (most recent call last):
    lib.storage.engine.StorageError: prepare_threshold must be a whole number >= 0, not 'often'
    """
    url = engine_url(target)
    value = url.query.get("prepare_threshold")
    if value is None:
        return url, None
    text = value if isinstance(value, str) else value[-1]
    if not text.isdigit():
        raise StorageError(f"prepare_threshold must be a whole number >= 0, not {text!r}")
    return url.difference_update_query(["prepare_threshold"]), int(text)


def _postgresql_engine(target: str) -> sqlalchemy.Engine:
    url, threshold = prepare_threshold(target)
    return sqlalchemy.create_engine(
        url,
        isolation_level="AUTOCOMMIT",
        pool_size=5,
        max_overflow=30,
        pool_pre_ping=True,
        connect_args={"connect_timeout": BUSY_TIMEOUT_MS // 1000, "prepare_threshold": threshold},
    )


def engine_for(target: str) -> sqlalchemy.Engine:
    """The engine (and its pool) of one database, made once per process; ``:memory:`` gets a new one each
    time (every in-memory connection is its own empty database, as with sqlite3)."""
    if target == ":memory:":
        return _sqlite_engine(target)
    with _ENGINES_LOCK:
        engine = _ENGINES.get(target)
        if engine is None:
            engine = _postgresql_engine(target) if is_url(target) else _sqlite_engine(target)
            _ENGINES[target] = engine
        return engine


def dispose(target: str) -> None:
    """Close the pooled connections of one database and forget its engine (tests: a schema is dropped)."""
    with _ENGINES_LOCK:
        engine = _ENGINES.pop(target, None)
    if engine is not None:
        engine.dispose()


def dispose_all() -> None:
    """:func:`dispose` every engine of this process."""
    for target in list(_ENGINES):
        dispose(target)


def connect(path: str | os.PathLike[str] | None = None) -> Database:
    """Open a connection (autocommit; write paths use ``transaction(conn)``) to a file path, ``:memory:``
    or a ``postgresql://`` URL (default :func:`db_target`); not migrated. The caller closes it."""
    target = str(path if path is not None else db_target())
    if target != ":memory:" and not is_url(target):
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    engine = engine_for(target)
    return Database(engine.connect(), target)


def connect_or_raise(path: str | os.PathLike[str] | None = None) -> Database:
    """:func:`connect`, with a database that cannot be opened raised as :class:`StorageError`; not migrated.

    For a connection that outlives one ``with`` block (the dashboard's one connection per rerun); the
    caller closes it.
    """
    try:
        return connect(path)
    except DRIVER_ERRORS as error:
        raise storage_error(error) from error


@contextlib.contextmanager
def open_db(path: str | os.PathLike[str] | None = None, *, run_migrations: bool = True) -> Iterator[Database]:
    """A connection for one operation, closed afterwards; migrated first unless ``run_migrations=False``.

    The dashboard passes ``run_migrations=False``: it migrates once, at first start of a server process
    (``lib.ui.frame``), and deploys run ``python -m lib.cli migrate``; command-line tools and tests keep the
    default. A database that cannot be opened or migrated raises :class:`StorageError`; errors inside the
    block are the caller's (storage functions translate their own).

    >>> with open_db(":memory:") as conn:
    ...     conn.execute("SELECT count(*) FROM consumers").scalar()
    0
    """
    conn = connect_or_raise(path)
    try:
        if run_migrations:
            migrate(conn)
        yield conn
    finally:
        conn.close()


@contextlib.contextmanager
def transaction(conn: Database) -> Iterator[Database]:
    """``BEGIN IMMEDIATE`` (SQLite) or ``BEGIN`` (PostgreSQL) … ``COMMIT``, or ``ROLLBACK`` on any exception.

    On SQLite the write lock is taken at the start, so read-modify-write sequences cannot interleave; on
    PostgreSQL a race is decided by row locks, conditional UPDATEs or ``dialect.lock`` (an advisory lock
    per subject). A lock that cannot be had in time, or a failed COMMIT, raises :class:`StorageError`; an
    exception of the block itself passes through unchanged after the ROLLBACK.
    """
    begin = "BEGIN IMMEDIATE" if conn.dialect == "sqlite" else "BEGIN"
    try:
        conn.sa.exec_driver_sql(begin)
    except DRIVER_ERRORS as error:
        raise storage_error(error) from error
    try:
        yield conn
    except BaseException:
        with contextlib.suppress(*DRIVER_ERRORS):
            conn.sa.exec_driver_sql("ROLLBACK")
        raise
    try:
        conn.sa.exec_driver_sql("COMMIT")
    except DRIVER_ERRORS as error:
        if conn.in_transaction:
            conn.sa.exec_driver_sql("ROLLBACK")
        raise storage_error(error) from error


def database(conn: Database) -> Any:
    """A sqlite-utils view of an open SQLite connection (for introspection in tests and tools)."""
    import sqlite_utils

    if conn.dialect != "sqlite":
        raise StorageError("sqlite-utils reads SQLite databases only")
    return sqlite_utils.Database(conn.raw)


@raises_storage_error
def migrate(conn: Database) -> list[str]:
    """Bring the schema to the newest Alembic revision; return the revisions applied now. Idempotent.

    All pending revisions run in one transaction (SQLite: under the write lock; PostgreSQL: under an
    advisory lock), so two processes starting together migrate once. A database made before Alembic (a
    ``schema_migrations`` table with ``0001_core`` …) is stamped at its last applied revision and upgraded
    in place. Raises :class:`StorageError` when a revision fails (nothing of the run stays).
    """
    from lib.storage import migrations, readings

    with transaction(conn):
        applied = migrations.upgrade(conn)
    if conn.dialect == "postgresql":  # the readings partitions of last month to two months ahead
        today = now_utc().date()
        first = today.replace(day=1) - dt.timedelta(days=1)
        readings.ensure_months(conn, first.isoformat(), (today + dt.timedelta(days=62)).isoformat())
    return applied


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (our scripts hold no ';' inside literals).

    >>> len(_split_sql("CREATE TABLE a (x INT); CREATE TRIGGER t BEFORE DELETE ON a BEGIN SELECT 1; END;"))
    2
    """
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        # A trigger or function body (BEGIN ... END, $$ ... $$) holds ';': keep pieces together until whole.
        if sqlite3.complete_statement(pending + ";") and pending.count("$$") % 2 == 0:
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
