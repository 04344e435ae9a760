"""The SQL that differs between SQLite and PostgreSQL, in one place (issue 12).

Everything else in ``lib/storage`` is written once, in the subset both engines speak: named binds,
``ON CONFLICT … DO UPDATE/NOTHING``, ``RETURNING``, ``IS NOT DISTINCT FROM``, window functions. Stored
timestamps are UTC text ``YYYY-MM-DDTHH:MM:SSZ`` on both engines, except PostgreSQL's ``readings.ts``, a
``timestamptz`` since migration 0014 (compact and parsed once, at write): callers still pass and receive the
text (:func:`ts_text` turns the column back into it; a text bind compares with it as a ``timestamptz``), so
these fragments take either and give text:

>>> class Sqlite: dialect = "sqlite"
>>> class Postgres: dialect = "postgresql"
>>> ist_day(Sqlite, "ts")
"date(ts, '+330 minutes')"
>>> ist_day(Postgres, "ts")
"to_char((ts)::timestamptz AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM-DD')"
>>> greatest(Sqlite, "a", "b"), greatest(Postgres, "a", "b")
('max(a, b)', 'greatest(a, b)')
"""

from __future__ import annotations

import sqlite3
import zlib
from typing import Any, Protocol


class _HasDialect(Protocol):
    dialect: str


class _Engine:
    """An engine by name, for SQL built once at import time (``dialect.SQLITE``)."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect


SQLITE = _Engine("sqlite")


def ist_day(conn: _HasDialect | type, expr: str) -> str:
    """The IST calendar day (``YYYY-MM-DD``) of a stored UTC timestamp ``expr`` (India has no daylight saving)."""
    if _name(conn) == "postgresql":
        return f"to_char(({expr})::timestamptz AT TIME ZONE 'Asia/Kolkata', 'YYYY-MM-DD')"
    return f"date({expr}, '+330 minutes')"


# The widest stored-time bounds both engines accept for a ``ts`` bind: PostgreSQL has no year 0, and
# SQLite compares text, where these sort before and after every stored timestamp.
TS_MIN = "0001-01-01T00:00:00Z"
TS_MAX = "9999-12-31T23:59:59Z"


def ts_text(conn: _HasDialect | type, expr: str) -> str:
    """A stored timestamp ``expr`` as the stored UTC text ``YYYY-MM-DDTHH:MM:SSZ`` (PostgreSQL's
    ``timestamptz`` column ``readings.ts``, whatever the session's time zone; SQLite's text as it is).

    >>> class Sqlite: dialect = "sqlite"
    >>> class Postgres: dialect = "postgresql"
    >>> ts_text(Sqlite, "ts")
    'ts'
    >>> print(ts_text(Postgres, "r.ts"))
    to_char((r.ts) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
    """
    if _name(conn) == "postgresql":
        return f"to_char(({expr}) AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
    return expr


def epoch_seconds(conn: _HasDialect | type, expr: str) -> str:
    """A stored UTC timestamp ``expr`` as whole Unix seconds (an integer)."""
    if _name(conn) == "postgresql":
        return f"CAST(extract(epoch FROM ({expr})::timestamptz) AS BIGINT)"
    if sqlite3.sqlite_version_info >= (3, 38, 0):
        return f"unixepoch({expr})"
    return f"CAST(strftime('%s', {expr}) AS INTEGER)"


def greatest(conn: _HasDialect | type, *exprs: str) -> str:
    """The largest of several values in one row (SQLite's scalar ``max(a, b)``)."""
    name = "greatest" if _name(conn) == "postgresql" else "max"
    return f"{name}({', '.join(exprs)})"


def least(conn: _HasDialect | type, *exprs: str) -> str:
    """The smallest of several values in one row (SQLite's scalar ``min(a, b)``)."""
    name = "least" if _name(conn) == "postgresql" else "min"
    return f"{name}({', '.join(exprs)})"


def json_each(conn: _HasDialect | type, bind: str, alias: str = "j") -> str:
    """A FROM item with one text column ``value`` per element of a JSON array passed as bind ``bind``.

    >>> class Postgres: dialect = "postgresql"
    >>> json_each(Postgres, ":ids")
    'json_array_elements_text(CAST(:ids AS json)) AS j(value)'
    """
    if _name(conn) == "postgresql":
        return f"json_array_elements_text(CAST({bind} AS json)) AS {alias}(value)"
    return f"json_each({bind}) AS {alias}"


def lock_key(subject: str) -> int:
    """A signed 64-bit advisory-lock key for a subject (CRC-32 of the text, stable across processes).

    >>> lock_key("otp:login:+919876543210") == lock_key("otp:login:+919876543210")
    True
    """
    return zlib.crc32(subject.encode("utf-8"))


def lock(conn: Any, subject: str) -> None:
    """Serialize writers of one subject (a mobile, a consumer ID, a day's SMS budget) until the transaction ends.

    PostgreSQL: a transaction-scoped advisory lock (released at COMMIT/ROLLBACK, so it works behind
    PgBouncer in transaction mode); count-then-insert limits such as "3 OTPs per 15 minutes" then hold
    with many app servers. SQLite: nothing to do, ``BEGIN IMMEDIATE`` already holds the database's write lock.
    Call inside ``transaction(conn)``.
    """
    if conn.dialect == "postgresql":
        conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": lock_key(subject)})


# SQLite's result codes for "another connection holds the lock" (SQLITE_BUSY, SQLITE_LOCKED); PostgreSQL's
# SQLSTATEs of a lock or statement wait that ran out, a deadlock and a serialization failure: all pass
# when the same write is tried again a moment later.
_SQLITE_BUSY_CODES = frozenset({5, 6})
_POSTGRESQL_BUSY_STATES = frozenset({"55P03", "57014", "40P01", "40001"})


def is_busy(error: BaseException) -> bool:
    """Whether a failed statement failed only because the database was busy: a write lock not had within
    the busy timeout (SQLite's "database is locked", e.g. beside a long import: issue 13 item 11), a lock
    or statement timeout, a deadlock or a serialization failure (PostgreSQL). The same write a moment later
    can pass: a page says "busy, try again", not that something is broken. ``error`` is a
    ``StorageError`` (its driver error is its ``__cause__``) or a driver error.

    >>> import sqlite3
    >>> from lib.storage.engine import StorageError
    >>> def raised(cause):
    ...     try:
    ...         raise StorageError(str(cause)) from cause
    ...     except StorageError as error:
    ...         return error
    >>> locked = sqlite3.OperationalError("database is locked")
    >>> locked.sqlite_errorcode = 5
    >>> is_busy(raised(locked)), is_busy(raised(sqlite3.OperationalError("disk I/O error")))
    (True, False)
    """
    seen: set[int] = set()
    pending: list[BaseException | None] = [error]
    while pending:
        current = pending.pop()
        if current is None or id(current) in seen:
            continue
        seen.add(id(current))
        if isinstance(current, sqlite3.Error):
            code = getattr(current, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _SQLITE_BUSY_CODES:
                return True
            if code is None and "database is locked" in str(current):
                return True
        state = getattr(current, "sqlstate", None)
        if isinstance(state, str) and state in _POSTGRESQL_BUSY_STATES:
            return True
        pending += [current.__cause__, getattr(current, "orig", None)]
    return False


def for_update(conn: _HasDialect | type, *, skip_locked: bool = False) -> str:
    """The clause that locks the rows a SELECT reads until the transaction ends (PostgreSQL's ``FOR UPDATE``;
    nothing on SQLite, where ``BEGIN IMMEDIATE`` already holds the database's write lock). Append it to a
    SELECT of one table run inside ``transaction(conn)``.

    >>> class Sqlite: dialect = "sqlite"
    >>> class Postgres: dialect = "postgresql"
    >>> for_update(Sqlite), for_update(Postgres), for_update(Postgres, skip_locked=True)
    ('', ' FOR UPDATE', ' FOR UPDATE SKIP LOCKED')

    ``skip_locked``: rows another transaction holds are passed over (a queue's workers each take a
    different row instead of waiting for one another).
    """
    if _name(conn) != "postgresql":
        return ""
    return " FOR UPDATE SKIP LOCKED" if skip_locked else " FOR UPDATE"


def table_names(conn: Any) -> list[str]:
    """The tables of the database (of the current schema on PostgreSQL), without the engine's own."""
    return _catalog_names(
        conn,
        postgresql="SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition ORDER BY 1",
        sqlite="SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY 1",
    )


def append_only_tables(conn: Any) -> list[str]:
    """Tables a trigger keeps append-only (it refuses DELETE): the audit trail."""
    return _catalog_names(
        conn,
        postgresql="SELECT DISTINCT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_proc p ON p.oid = t.tgfoid "
        "WHERE n.nspname = current_schema() AND NOT t.tgisinternal AND p.proname = 'audit_append_only' "
        "ORDER BY 1",
        sqlite="SELECT DISTINCT tbl_name FROM sqlite_master WHERE type = 'trigger' "
        "AND upper(sql) LIKE '%BEFORE DELETE%' ORDER BY 1",
    )


def _catalog_names(conn: Any, *, postgresql: str, sqlite: str) -> list[str]:
    """The first column of the engine's catalog query (``postgresql`` on PostgreSQL, else ``sqlite``)."""
    rows = conn.execute(postgresql if conn.dialect == "postgresql" else sqlite)
    return [row[0] for row in rows]


def column_names(conn: Any, table: str) -> list[str]:
    """The columns of ``table``, in order."""
    if conn.dialect == "postgresql":
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = :table ORDER BY ordinal_position",
            {"table": table},
        )
        return [row[0] for row in rows]
    return [row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')]


def _name(conn: _HasDialect | type) -> str:
    return str(getattr(conn, "dialect", ""))
