"""Key/value settings of the database and the data version that cache keys follow."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

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


@raises_storage_error
def consumer_versions(conn: sqlite3.Connection, consumer_ids: Sequence[str]) -> dict[str, int]:
    """Each connection's data version (migration ``0010_consumer_versions``): a number that grows with every
    write to that connection's days, recharges, links, arrears, adjustments, anchors or meter events, and
    never repeats; 0 for a connection never written. The dashboard's per-connection cache key.

    >>> from lib.storage.engine import connect, migrate
    >>> db = connect(":memory:"); _ = migrate(db)
    >>> consumer_versions(db, ["1"])
    {'1': 0}
    >>> _ = db.execute("INSERT INTO consumers (consumer_id, name, registered_mobile) VALUES ('1', 'A', '+919800000001')")
    >>> _ = db.execute("INSERT INTO daily (consumer_id, day) VALUES ('1', '2026-11-25')")
    >>> consumer_versions(db, ["1", "2"])
    {'1': 1, '2': 0}
    """
    ids = [str(cid) for cid in consumer_ids]
    found = dict(
        conn.execute(
            "SELECT consumer_id, version FROM consumer_versions WHERE consumer_id IN (SELECT value FROM json_each(?))",
            (json.dumps(ids),),
        ).fetchall()
    )
    return {cid: int(found.get(cid, 0)) for cid in ids}
