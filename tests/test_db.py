import sqlite3
import threading

from lib import storage


def test_every_connection_has_the_pragmas(db_path):
    conn = storage.connect(db_path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_migrate_is_idempotent(db_path):
    conn = storage.connect(db_path)
    assert storage.migrate(conn) == []
    names = [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY name")]
    assert names == sorted(name for name, _ in storage.schema.MIGRATIONS)


def test_older_database_is_upgraded(tmp_path, monkeypatch):
    path = tmp_path / "old.db"
    first = storage.schema.MIGRATIONS[:1]
    monkeypatch.setattr(storage.engine, "MIGRATIONS", first)
    conn = storage.connect(path)
    assert storage.migrate(conn) == ["0001_core"]
    conn.close()
    monkeypatch.setattr(
        storage.engine, "MIGRATIONS", [*first, ("9999_test_extra", "CREATE TABLE extra (x INTEGER) STRICT")]
    )
    conn = storage.connect(path)
    assert storage.migrate(conn) == ["9999_test_extra"]
    assert conn.execute("SELECT count(*) FROM extra").fetchone()[0] == 0


def test_transaction_rolls_back_on_error(conn):
    try:
        with storage.transaction(conn):
            conn.execute("INSERT INTO meta (key, value) VALUES ('a', 'b')")
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert conn.execute("SELECT count(*) FROM meta").fetchone()[0] == 0


def test_readings_query_uses_the_primary_key(conn):
    plan = conn.execute(
        "EXPLAIN QUERY PLAN SELECT * FROM readings WHERE consumer_id = ? AND ts >= ? AND ts < ?",
        ("1", "a", "b"),
    ).fetchall()
    detail = " ".join(row[3] for row in plan)
    assert "SEARCH" in detail and "PRIMARY KEY" in detail


def test_connections_from_many_threads(db_path):
    errors: list[Exception] = []

    def work() -> None:
        try:
            with storage.open_db(db_path) as conn, storage.transaction(conn):
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('n', '1') "
                    "ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
        except sqlite3.Error as exc:  # pragma: no cover - the assertion shows it
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with storage.open_db(db_path) as conn:
        assert conn.execute("SELECT value FROM meta WHERE key = 'n'").fetchone()[0] == "10"
