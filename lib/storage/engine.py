"""Connections, transactions and migrations: every database connection MeterMitra opens comes from here.

>>> conn = connect(":memory:")
>>> migrate(conn)[0]
'0001_core'
>>> conn.execute("PRAGMA foreign_keys").fetchone()[0]
1

Rules (docs/research/otp-security.md section 5):
- WAL, ``synchronous=FULL``, foreign keys on and a 10 s busy timeout on *every* connection;
- a connection per operation (``with open_db() as conn:``) or per thread, never one cached across
  Streamlit sessions;
- migrations are named and applied once, in name order, each in its own transaction.

Other modules add their tables by appending to ``MIGRATIONS`` with a new, higher name; an older
database is upgraded on the next ``migrate``.
"""

from __future__ import annotations

import contextlib
import functools
import importlib
import os
import pkgutil
import sqlite3
import types
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import sqlite_utils
from pandas import errors as pd_errors

from lib.clock import now_utc, to_ts
from lib.config import DEFAULT_DB, ROOT  # noqa: F401  (re-exported: storage.DEFAULT_DB, storage.ROOT)
from lib.storage.schema import MIGRATIONS

BUSY_TIMEOUT_MS = 10_000


# The table groups a ``Database`` handle exposes: every module of lib/storage but the machinery.
TABLE_GROUPS = frozenset(
    info.name
    for info in pkgutil.iter_modules([str(Path(__file__).parent)])
    if info.name not in {"engine", "schema", "boundary"}
)


class Database(sqlite3.Connection):
    """The one door to SQL (datasette's ``Database``): a connection with the table groups bound to it.

    ``db.accounts.is_linked(account_id, consumer_id)`` is ``storage.accounts.is_linked(db, account_id,
    consumer_id)``: domain code is handed a ``Database`` and calls the storage functions through it, so it
    never imports storage or a driver. ``db.transaction()`` is ``BEGIN IMMEDIATE`` … ``COMMIT``.

    >>> db = connect(":memory:")
    >>> _ = migrate(db)
    >>> db.consumers.holds_real_data(), db.meta.data_version()
    (False, '0')
    >>> db.nonsense
    Traceback (most recent call last):
    ...
    AttributeError: no table group 'nonsense' in lib.storage
    """

    def transaction(self) -> contextlib.AbstractContextManager[Database]:
        return transaction(self)

    def __getattr__(self, name: str) -> Any:
        if name not in TABLE_GROUPS:
            raise AttributeError(f"no table group {name!r} in lib.storage")
        return _Bound(importlib.import_module(f"lib.storage.{name}"), self)


class _Bound:
    """A storage module with its functions' first argument (the connection) filled in."""

    __slots__ = ("_conn", "_module")

    def __init__(self, module: types.ModuleType, conn: Database) -> None:
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
            except sqlite3.Error as error:  # the boundary: no driver error leaves storage
                raise StorageError(str(error)) from error

        return bound


_C = TypeVar("_C", bound=sqlite3.Connection)

# The handle that storage functions take; outside storage, annotate with ``Database``.
Conn = Database

# IST offset as an SQLite date modifier (India has no daylight saving).
IST_MODIFIER = "+330 minutes"
# A stored ts as Unix seconds: unixepoch() needs SQLite 3.38 (2022); older libraries use strftime('%s').
EPOCH_SECONDS = (
    "unixepoch(r.ts)"
    if sqlite3.sqlite_version_info >= (3, 38, 0)
    else "CAST(strftime('%s', r.ts) AS INTEGER)"
)


class StorageError(RuntimeError):
    """A database failure, raised by storage in place of the driver's own errors (``sqlite3.Error``)."""


_P = ParamSpec("_P")
_R = TypeVar("_R")


def raises_storage_error(function: Callable[_P, _R]) -> Callable[_P, _R]:
    """Decorate a storage function so that a driver error leaves it as :class:`StorageError`.

    pandas wraps a failed query in its own ``DatabaseError``; both become ``StorageError`` (the driver's
    error is kept as ``__cause__`` for the log). Callers above storage catch only ``StorageError``:

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
        except (sqlite3.Error, pd_errors.DatabaseError) as error:
            raise StorageError(str(error)) from error

    return wrapper


def now_ts(now: str | None = None) -> str:
    """``now`` if given, else the current UTC time as stored text."""
    return now or to_ts(now_utc())


def db_path() -> Path:
    """The database file: ``METERMITRA_DB`` if set, else ``data/metermitra.db``."""
    return Path(os.environ.get("METERMITRA_DB") or DEFAULT_DB)


def connect(path: str | os.PathLike[str] | None = None) -> Database:
    """Open a connection with MeterMitra's pragmas.

    ``isolation_level=None``: Python never opens transactions behind our back; write paths use
    ``transaction(conn)`` (``BEGIN IMMEDIATE``) explicitly.
    """
    target = str(path if path is not None else db_path())
    if target != ":memory:":
        Path(target).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(
        target,
        timeout=BUSY_TIMEOUT_MS / 1000,
        isolation_level=None,
        check_same_thread=False,
        factory=Database,
    )
    conn.row_factory = sqlite3.Row
    if target != ":memory:":
        conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    return conn


def connect_or_raise(path: str | os.PathLike[str] | None = None) -> Database:
    """:func:`connect`, with a file that cannot be opened raised as :class:`StorageError`; not migrated.

    For a connection that outlives one ``with`` block (the dashboard's one connection per rerun); the
    caller closes it.
    """
    try:
        return connect(path)
    except sqlite3.Error as error:
        raise StorageError(str(error)) from error


@contextlib.contextmanager
def open_db(path: str | os.PathLike[str] | None = None, *, run_migrations: bool = True) -> Iterator[Database]:
    """A connection for one operation, closed afterwards; migrated first unless ``run_migrations=False``.

    The dashboard passes ``run_migrations=False``: it migrates once, at first start of a server process
    (``lib.ui.frame``), and deploys run ``python -m lib.cli migrate``; command-line tools and tests keep the
    default. A file that cannot be opened or migrated raises :class:`StorageError`; errors inside the
    block are the caller's (storage functions translate their own).

    >>> with open_db(":memory:") as conn:
    ...     conn.execute("SELECT count(*) FROM consumers").fetchone()[0]
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
def transaction(conn: _C) -> Iterator[_C]:
    """``BEGIN IMMEDIATE`` … ``COMMIT``, or ``ROLLBACK`` on any exception.

    Takes the write lock at the start, so read-modify-write sequences cannot interleave. A lock that
    cannot be had within the busy timeout, or a failed COMMIT, raises :class:`StorageError`; an
    exception of the block itself passes through unchanged after the ROLLBACK.
    """
    try:
        conn.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as error:
        raise StorageError(str(error)) from error
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    try:
        conn.execute("COMMIT")
    except sqlite3.Error as error:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise StorageError(str(error)) from error


def database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """A sqlite-utils view of an open connection (for introspection and bulk helpers)."""
    return sqlite_utils.Database(conn)


@raises_storage_error
def migrate(conn: sqlite3.Connection) -> list[str]:
    """Apply every migration not yet applied; return the names applied now. Idempotent.

    Raises :class:`StorageError` when a migration fails (that migration is rolled back)."""
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(name TEXT PRIMARY KEY NOT NULL, applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    done = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    applied: list[str] = []
    for name, script in sorted(MIGRATIONS):
        if name in done:
            continue
        with transaction(conn):
            # Re-check under the write lock: another process may have migrated meanwhile.
            if conn.execute("SELECT 1 FROM schema_migrations WHERE name = ?", (name,)).fetchone():
                continue
            for statement in _split_sql(script):
                conn.execute(statement)
            conn.execute("INSERT INTO schema_migrations (name) VALUES (?)", (name,))
        applied.append(name)
    return applied


def _split_sql(script: str) -> list[str]:
    """Split a migration script into statements (our scripts hold no ';' inside literals)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    statements: list[str] = []
    pending = ""
    for piece in "\n".join(lines).split(";"):
        pending = f"{pending};{piece}" if pending else piece
        # A trigger body (BEGIN ... END) holds ';': keep pieces together until the statement is whole.
        if sqlite3.complete_statement(pending + ";"):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip():
        statements.append(pending.strip())
    return statements
