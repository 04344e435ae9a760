"""The engine: connections, transactions and migrations on both engines (issue 12)."""

import sqlite3
import threading

import pytest

from lib import storage
from lib.storage import dialect, migrations
from lib.storage.engine import _split_sql


def test_every_sqlite_connection_has_the_pragmas(db_path):
    conn = storage.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrate_is_idempotent(backend):
    conn = storage.connect(backend)
    assert storage.migrate(conn) == migrations.history()
    assert storage.migrate(conn) == []
    assert migrations.current(conn) == migrations.head() == "0014_readings_timestamptz"
    conn.close()


def test_both_engines_have_the_same_tables_and_columns(backend, tmp_path):
    """The PostgreSQL DDL is the twin of SQLite's, revision by revision: same tables, same columns, same order."""
    reference = storage.connect(tmp_path / "reference.db")
    storage.migrate(reference)
    conn = storage.connect(backend)
    storage.migrate(conn)
    tables = [name for name in dialect.table_names(conn) if name != "alembic_version"]
    assert tables == [name for name in dialect.table_names(reference) if name != "alembic_version"]
    for table in tables:
        assert dialect.column_names(conn, table) == dialect.column_names(reference, table), table
    assert dialect.append_only_tables(conn) == ["audit"]


def _legacy_file(path, names):
    """An SQLite file as the pre-Alembic engine left it: the scripts of ``names`` and a schema_migrations table."""
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute(
        "CREATE TABLE schema_migrations (name TEXT PRIMARY KEY NOT NULL, "
        "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
    scripts = dict(storage.schema.MIGRATIONS)
    for name in names:
        for statement in _split_sql(scripts[name]):
            raw.execute(statement)
        raw.execute("INSERT INTO schema_migrations (name) VALUES (?)", (name,))
    return raw


def test_a_pre_alembic_file_with_0001_to_0003_is_upgraded_in_place(tmp_path):
    path = tmp_path / "old.db"
    raw = _legacy_file(path, ["0001_core", "0002_auth", "0003_ledger"])
    raw.execute(
        "INSERT INTO consumers (consumer_id, name, registered_mobile) VALUES ('101', 'Home', '+919000000001')"
    )
    # Two rows of one payment reference (0005 keeps the first) and a zero amount (0005 drops it).
    raw.executemany(
        "INSERT INTO recharges (consumer_id, ts, amount_inr, reference) VALUES ('101', ?, ?, ?)",
        [
            ("2026-11-01T05:00:00Z", 500.0, "PAY1"),
            ("2026-11-01T05:03:00Z", 500.0, " PAY1 "),
            ("2026-11-02T05:00:00Z", 0.0, None),
        ],
    )
    raw.execute("INSERT INTO readings (consumer_id, ts, kwh) VALUES ('101', '2026-11-01T00:00:00Z', 0.5)")
    raw.close()

    conn = storage.connect(path)
    applied = storage.migrate(conn)
    assert applied == migrations.history()[3:]
    assert migrations.current(conn) == migrations.head()
    rows = conn.execute("SELECT ts, amount_inr, reference, kind FROM recharges ORDER BY ts").fetchall()
    assert [tuple(row) for row in rows] == [("2026-11-01T05:00:00Z", 500.0, "PAY1", "recharge")]
    assert conn.execute("SELECT kwh, export_kwh FROM readings").fetchone() == (0.5, None)
    assert storage.migrate(conn) == []
    conn.close()


def test_readings_of_a_0013_database_survive_the_upgrade_to_timestamptz(backend):
    """0014 rebuilds PostgreSQL's partitioned ``readings`` with a timestamptz ``ts``, month by month: every row
    is kept, lands in its own UTC month (or the default partition), and reads back as the same UTC text."""
    conn = storage.connect(backend)
    with storage.transaction(conn):
        migrations.upgrade(conn, "0013_counters")
    assert migrations.current(conn) == "0013_counters"
    conn.execute(
        "INSERT INTO consumers (consumer_id, name, registered_mobile) VALUES ('101', 'A', '+919000000001')"
    )
    conn.execute(
        "INSERT INTO consumers (consumer_id, name, registered_mobile) VALUES ('102', 'B', '+919000000002')"
    )
    if conn.dialect == "postgresql":  # two months as 0013's ensure_months made them (text bounds)
        for lo, hi in (("2026-10-01", "2026-11-01"), ("2026-11-01", "2026-12-01")):
            name = f"readings_{lo[:4]}_{lo[5:7]}"
            conn.execute(f"CREATE TABLE {name} PARTITION OF readings FOR VALUES FROM ('{lo}') TO ('{hi}')")
    rows = [
        ("101", "2026-10-01T00:00:00Z", 0.25, 310.5, None),  # the first second of October (UTC)
        ("101", "2026-10-31T23:30:00Z", 0.5, None, 0.125),  # 05:00 IST on 1 November: still October in UTC
        ("102", "2026-11-24T18:30:00Z", 1.75, 12.0, None),
        ("102", "2026-11-30T23:59:59Z", 0.0, None, None),
        ("101", "2025-03-15T06:00:00Z", 2.0, 99.5, None),  # a month without a partition: the default one
    ]
    conn.executemany(
        "INSERT INTO readings (consumer_id, ts, kwh, balance_inr, export_kwh) VALUES (:c, :t, :k, :b, :e)",
        [dict(zip("ctkbe", row, strict=True)) for row in rows],
    )
    with storage.transaction(conn):
        assert migrations.upgrade(conn) == ["0014_readings_timestamptz"]
    stored = conn.execute(
        f"SELECT consumer_id, {dialect.ts_text(conn, 'ts')}, kwh, balance_inr, export_kwh FROM readings "
        "ORDER BY consumer_id, ts"
    ).fetchall()
    assert [tuple(row) for row in stored] == sorted(rows, key=lambda row: (row[0], row[1]))
    if conn.dialect == "postgresql":
        assert (
            conn.execute(
                "SELECT data_type FROM information_schema.columns WHERE table_schema = current_schema() "
                "AND table_name = 'readings' AND column_name = 'ts'"
            ).scalar()
            == "timestamp with time zone"
        )
        where = conn.execute(
            "SELECT tableoid::regclass::text, count(*) FROM readings GROUP BY 1 ORDER BY 1"
        ).fetchall()
        assert [tuple(row) for row in where] == [
            ("readings_2026_10", 2),
            ("readings_2026_11", 2),
            ("readings_default", 1),
        ]
        left = conn.execute(
            "SELECT relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = current_schema() AND relname LIKE 'readings_text%'"
        ).fetchall()
        assert left == []
        assert storage.readings.ensure_months(conn, "2026-10-01T00:00:00Z", "2026-12-31T00:00:00Z") == [
            "readings_2026_12"
        ]
    # The storage API still speaks text: a conflict check and a retention cut on the upgraded table.
    assert set(
        storage.readings.stored_readings(conn, "101", "2026-10-01T00:00:00Z", "2026-10-31T23:30:00Z")
    ) == {
        "2026-10-01T00:00:00Z",
        "2026-10-31T23:30:00Z",
    }
    with storage.transaction(conn):
        assert storage.readings.drop_readings_before(conn, "2026-11-01") == 3
    assert storage.migrate(conn) == []
    conn.close()


def test_a_file_whose_history_is_not_ours_is_refused(tmp_path):
    path = tmp_path / "odd.db"
    raw = _legacy_file(path, ["0001_core"])
    raw.execute("INSERT INTO schema_migrations (name) VALUES ('0003_ledger')")  # 0002 missing
    raw.close()
    conn = storage.connect(path)
    with pytest.raises(storage.StorageError, match="not a prefix"):
        storage.migrate(conn)
    conn.close()


def test_transaction_rolls_back_on_error(any_conn):
    with pytest.raises(RuntimeError), storage.transaction(any_conn):
        any_conn.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
        raise RuntimeError("boom")
    assert not any_conn.in_transaction
    assert any_conn.execute("SELECT count(*) FROM meta").scalar() == 0


def test_a_driver_error_leaves_storage_as_storage_error(any_conn):
    with pytest.raises(storage.StorageError):
        any_conn.meta.set_meta(None, "x")  # NOT NULL key


def test_readings_query_uses_the_primary_key(conn):
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM readings WHERE consumer_id = :cid AND ts >= :lo AND ts < :hi",
        {"cid": "1", "lo": "a", "hi": "b"},
    ).fetchall()
    detail = " ".join(row[3] for row in plan)
    assert "SEARCH" in detail and "PRIMARY KEY" in detail


def test_connections_from_many_threads(backend):
    storage.migrate(storage.connect(backend))
    errors: list[Exception] = []

    def work() -> None:
        try:
            with storage.open_db(backend, run_migrations=False) as conn, storage.transaction(conn):
                dialect.lock(conn, "counter n")  # PostgreSQL: the row may not exist yet, so lock the subject
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('n', '1') "
                    "ON CONFLICT (key) DO UPDATE SET value = CAST(CAST(meta.value AS INTEGER) + 1 AS TEXT)"
                )
        except storage.StorageError as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with storage.open_db(backend, run_migrations=False) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'n'").scalar() == "10"


def test_data_versions_count_up_the_same_on_both_engines(any_conn):
    """One counter that never goes back (a meta row on SQLite, a sequence on PostgreSQL): same numbers."""
    assert any_conn.meta.data_version() == "0"
    with storage.transaction(any_conn):
        any_conn.meta.bump_data_version(["1"])
    assert any_conn.meta.consumer_versions(["1", "2"]) == {"1": 1, "2": 0}
    with storage.transaction(any_conn):
        any_conn.meta.bump_data_version()
    assert any_conn.meta.data_version() == "2"
    assert any_conn.meta.consumer_versions(["1", "2"]) == {"1": 2, "2": 2}
    with pytest.raises(RuntimeError), storage.transaction(any_conn):
        any_conn.meta.bump_data_version(["2"])
        raise RuntimeError("rolled back")
    assert any_conn.meta.consumer_versions(["2"]) == {"2": 2}  # the rolled-back write left no version
