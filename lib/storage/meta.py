"""Key/value settings of the database and the data version that cache keys follow."""

from __future__ import annotations

import sqlite3

from lib.storage.engine import raises_storage_error


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
    return row[0] if row else None


def set_meta(conn: sqlite3.Connection, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (key, value),
    )


@raises_storage_error
def data_version(conn: sqlite3.Connection) -> str:
    """A token that changes after every write that changes what pages show (for cache keys)."""
    return get_meta(conn, "data_version") or "0"


def bump_data_version(conn: sqlite3.Connection) -> None:
    """Call inside any write transaction that changes readings, recharges or links."""
    conn.execute(
        "INSERT INTO meta (key, value) VALUES ('data_version', '1') "
        "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
    )
