"""Whole-database steps of the demo and of camp mode: empty the tables before a seed, take and restore
the pristine snapshot a camp resets to.

The demo's content (who, which readings) is :mod:`lib.demo`'s; the camp's rules are :mod:`lib.camp`'s.

>>> from lib import storage
>>> with storage.open_db(":memory:") as conn:
...     _ = storage.consumers.upsert_consumers(conn, [{"consumer_id": "1", "name": "A", "registered_mobile": "+910000000001"}])
...     clear_for_seed(conn)
...     storage.consumers.has_consumers(conn)
False
"""

from __future__ import annotations

import graphlib
import os
import sqlite3

from lib.storage.engine import raises_storage_error


@raises_storage_error
def clear_for_seed(conn: sqlite3.Connection) -> None:
    """Delete every row of every table except migrations, ``data_version`` and append-only tables (no
    transaction of its own: the seed wraps it)."""
    tables = [
        r[0]
        for r in conn.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "AND name NOT IN ('schema_migrations', 'meta')"
        )
    ]
    append_only = {
        r[0]
        for r in conn.execute(
            "SELECT tbl_name FROM sqlite_master WHERE type = 'trigger' AND upper(sql) LIKE '%BEFORE DELETE%'"
        )
    }
    # Children before parents, so no ON DELETE CASCADE has rows left to chase.
    graph: dict[str, set[str]] = {name: set() for name in tables}
    for name in tables:
        for fk in conn.execute(f'PRAGMA foreign_key_list("{name}")'):
            parent = fk[2]  # the referenced table
            if parent in graph and parent != name:
                graph[parent].add(name)
    conn.execute("PRAGMA defer_foreign_keys = ON")
    for name in graphlib.TopologicalSorter(graph).static_order():
        if name not in append_only:
            conn.execute(f'DELETE FROM "{name}"')
    conn.execute("DELETE FROM meta WHERE key != 'data_version'")


@raises_storage_error
def checkpoint(conn: sqlite3.Connection) -> None:
    """Move the write-ahead log into the database file, so the file alone is a complete copy."""
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@raises_storage_error
def restore_snapshot(source: str | os.PathLike[str], target: sqlite3.Connection) -> None:
    """Replace ``target``'s whole content with the database file ``source`` (SQLite's online backup:
    one atomic step; a reader sees the old or the new content, never a mix)."""
    src = sqlite3.connect(str(source))
    try:
        src.backup(target)
    finally:
        src.close()
