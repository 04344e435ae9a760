"""Key/value settings of the database and the data version that cache keys follow."""

from __future__ import annotations

import json
from collections.abc import Sequence

from lib.storage import dialect
from lib.storage.engine import Conn, raises_storage_error


def get_meta(conn: Conn, key: str) -> str | None:
    value = conn.execute("SELECT value FROM meta WHERE key = :key", {"key": key}).scalar()
    return None if value is None else str(value)


def set_meta(conn: Conn, key: str, value: str) -> None:
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (:key, :value) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        {"key": key, "value": value},
    )


@raises_storage_error
def data_version(conn: Conn) -> str:
    """A token that changes after every write that changes what pages show (for cache keys)."""
    if conn.dialect == "postgresql":
        row = conn.execute("SELECT last_value, is_called FROM data_versions").fetchone()
        return str(row[0]) if row[1] else "0"
    return get_meta(conn, "data_version") or "0"


def bump_data_version(conn: Conn, consumer_ids: Sequence[str] | None = None) -> None:
    """Call inside any write transaction that changes readings, recharges, links or a connection's ledger.

    ``consumer_ids``: the connections the write touched (their cached frames are dropped, the others'
    kept); None when not known: every connection's version moves (``versions_epoch``).

    The new version comes from one counter that never goes back: the ``meta`` row on SQLite (one writer
    at a time anyway), a sequence on PostgreSQL (migration ``0013_counters``), so concurrent writers of
    different connections never queue on one row and each touches only its connections' rows.
    """
    if conn.dialect == "postgresql":
        version = int(conn.execute("SELECT nextval('data_versions')").scalar_one())
    else:
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('data_version', '1') "
            "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)"
        )
        version = int(get_meta(conn, "data_version") or 1)
    if consumer_ids is None:
        set_meta(conn, "versions_epoch", str(version))
        return
    conn.executemany(
        "INSERT INTO consumer_versions (consumer_id, version) VALUES (:cid, :version) "
        "ON CONFLICT (consumer_id) DO UPDATE SET version = excluded.version",
        [{"cid": cid, "version": version} for cid in sorted({str(cid) for cid in consumer_ids})],
    )


@raises_storage_error
def consumer_versions(conn: Conn, consumer_ids: Sequence[str]) -> dict[str, int]:
    """Each connection's data version (migration ``0010_consumer_versions``): the data version of the last
    write that named the connection, or of the last write that named none, whichever is later; 0 when
    never written. It changes with every write to that connection and never repeats: the dashboard's
    per-connection cache key.

    >>> from lib.storage.engine import connect, migrate
    >>> db = connect(":memory:"); _ = migrate(db)
    >>> bump_data_version(db, ["1"]); consumer_versions(db, ["1", "2"])
    {'1': 1, '2': 0}
    >>> bump_data_version(db, ["2"]); consumer_versions(db, ["1", "2"])
    {'1': 1, '2': 2}
    >>> bump_data_version(db); consumer_versions(db, ["1", "2"])
    {'1': 3, '2': 3}
    """
    ids = [str(cid) for cid in consumer_ids]
    epoch = int(get_meta(conn, "versions_epoch") or 0)
    found = dict(
        conn.execute(
            "SELECT consumer_id, version FROM consumer_versions "
            f"WHERE consumer_id IN (SELECT j.value FROM {dialect.json_each(conn, ':ids')})",
            {"ids": json.dumps(ids)},
        ).fetchall()
    )
    return {cid: max(epoch, int(found.get(cid, 0))) for cid in ids}


def take_lease(conn: Conn, name: str, holder: str, *, now: str, until: str) -> bool:
    """Hold the named lease (a ``meta`` row ``lease:<name>``) until ``until`` unless another holder's lease is
    still running at ``now``; returns whether this holder has it. One conditional upsert: two processes on
    any number of servers cannot both get it (``send-alerts`` runs once at a time, issue 12).

    >>> from lib.storage.engine import connect, migrate
    >>> db = connect(":memory:"); _ = migrate(db)
    >>> take_lease(db, "job", "a", now="2026-11-30T06:00:00Z", until="2026-11-30T07:00:00Z")
    True
    >>> take_lease(db, "job", "b", now="2026-11-30T06:30:00Z", until="2026-11-30T07:30:00Z")
    False
    >>> release_lease(db, "job", "a"); take_lease(db, "job", "b", now="2026-11-30T06:31:00Z", until="2026-11-30T07:31:00Z")
    True
    """
    result = conn.execute(
        "INSERT INTO meta (key, value) VALUES (:key, :value) "
        "ON CONFLICT (key) DO UPDATE SET value = excluded.value WHERE substr(meta.value, 1, 20) <= :now",
        {"key": f"lease:{name}", "value": f"{until} {holder}", "now": now},
    )
    return bool(result.rowcount)


def release_lease(conn: Conn, name: str, holder: str) -> None:
    """Give the lease back (only this holder's: an expired lease taken over by another stays theirs)."""
    conn.execute(
        "DELETE FROM meta WHERE key = :key AND substr(value, 22) = :holder",
        {"key": f"lease:{name}", "holder": holder},
    )
