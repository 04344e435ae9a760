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

from lib.storage import dialect
from lib.storage.engine import Conn, StorageError, raises_storage_error

# Never emptied by a seed: the schema's history and the data version (caches must see the seed as new).
_KEPT = {"schema_migrations", "alembic_version", "meta"}


@raises_storage_error
def clear_for_seed(conn: Conn) -> None:
    """Delete every row of every table except migrations, ``data_version`` and append-only tables (no
    transaction of its own: the seed wraps it)."""
    tables = [name for name in dialect.table_names(conn) if name not in _KEPT]
    append_only = set(dialect.append_only_tables(conn))
    emptied = [name for name in tables if name not in append_only]
    if conn.dialect == "postgresql":
        # One statement for all: TRUNCATE checks the foreign keys among the tables it names as a whole.
        conn.execute("TRUNCATE " + ", ".join(f'"{name}"' for name in emptied))
    else:
        # Children before parents, so no ON DELETE CASCADE has rows left to chase.
        graph: dict[str, set[str]] = {name: set() for name in tables}
        for name in tables:
            for fk in conn.execute(f'PRAGMA foreign_key_list("{name}")'):
                parent = fk[2]  # the referenced table
                if parent in graph and parent != name:
                    graph[parent].add(name)
        conn.execute("PRAGMA defer_foreign_keys = ON")
        for name in graphlib.TopologicalSorter(graph).static_order():
            if name in emptied:
                conn.execute(f'DELETE FROM "{name}"')
    conn.execute("DELETE FROM meta WHERE key != 'data_version'")


@raises_storage_error
def checkpoint(conn: Conn) -> None:
    """Move SQLite's write-ahead log into the database file, so the file alone is a complete copy
    (nothing to do on PostgreSQL)."""
    if conn.dialect == "sqlite":
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")


@raises_storage_error
def restore_snapshot(source: str | os.PathLike[str], target: Conn) -> None:
    """Replace ``target``'s whole content with the database file ``source`` (SQLite's online backup:
    one atomic step; a reader sees the old or the new content, never a mix). SQLite only: camp mode,
    the one user of snapshots, refuses PostgreSQL (``lib.camp.check_camp_settings``)."""
    if target.dialect != "sqlite":
        raise StorageError("demo snapshots are SQLite files; camp mode runs on SQLite only")
    src = sqlite3.connect(str(source))
    try:
        src.backup(target.raw)
    finally:
        src.close()
