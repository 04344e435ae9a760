"""Camp mode guards and the reset between visitors."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lib import camp, storage
from lib.config import Settings, load_settings


def _table_dump(path: Path) -> dict[str, list[tuple]]:
    conn = storage.connect(path)
    try:
        tables = [
            r[0]
            for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
            )
        ]
        return {
            name: sorted((tuple(row) for row in conn.execute(f'SELECT * FROM "{name}"')), key=repr)
            for name in tables
        }
    finally:
        conn.close()


def test_camp_mode_comes_only_from_server_configuration():
    assert load_settings(env={}, secrets_path=None).camp_mode is False
    assert load_settings(env={"METERMITRA_CAMP": "1"}, secrets_path=None).camp_mode is True


def test_camp_mode_from_secrets_file(tmp_path):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("[camp]\nenabled = true\n", encoding="utf-8")
    settings = load_settings(env={}, secrets_path=secrets)
    assert settings.camp_mode is True
    assert settings.db_path.name == "camp.db"  # its own database unless one is named


def test_camp_mode_refuses_a_real_sms_gateway(tmp_path):
    with pytest.raises(camp.CampModeError, match="camp_error_real_gateway"):
        camp.check_camp_settings(Settings(db_path=tmp_path / "c.db", camp_mode=True, sms_gateway="http"))


def test_camp_mode_refuses_the_production_database_path():
    with pytest.raises(camp.CampModeError, match="camp_error_production_path"):
        camp.check_camp_settings(Settings(db_path=storage.DEFAULT_DB, camp_mode=True))


def test_camp_mode_refuses_postgresql():
    """A camp is one laptop with file snapshots: a shared PostgreSQL server is refused (issue 12)."""
    with pytest.raises(camp.CampModeError, match="camp_error_postgresql"):
        camp.check_camp_settings(Settings(db_path="postgresql://mm@db.internal/metermitra", camp_mode=True))
    camp.check_camp_settings(Settings(db_path="postgresql://mm@db.internal/metermitra", camp_mode=False))


def test_camp_mode_refuses_a_database_with_real_consumers(db_path):
    with storage.open_db(db_path) as conn, storage.transaction(conn):
        storage.consumers.upsert_consumers(
            conn, [{"consumer_id": "204512345", "name": "Real", "registered_mobile": "+919876543210"}]
        )
    settings = Settings(db_path=db_path, camp_mode=True)
    with pytest.raises(camp.CampModeError, match="camp_error_real_data"):
        camp.prepare_camp_database(settings)
    with pytest.raises(camp.CampModeError, match="camp_error_real_data"):
        camp.reset_demo(db_path)
    with storage.open_db(db_path) as conn:  # nothing was lost
        assert conn.execute("SELECT count(*) FROM consumers").fetchone()[0] == 1


def test_empty_camp_database_gets_the_demo(db_path):
    camp.prepare_camp_database(Settings(db_path=db_path, camp_mode=True))
    with storage.open_db(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] > 0
        assert not storage.consumers.holds_real_data(conn)


def test_reset_restores_the_seed_exactly(db_path):
    camp.reset_demo(db_path)
    seeded = _table_dump(db_path)
    # A visitor signs in with a new number, links a meter, renames one: all of it must go.
    with storage.open_db(db_path) as conn, storage.transaction(conn):
        account_id = storage.accounts.create_account(conn, "+910000000099")
        unlinked = conn.execute(
            "SELECT consumer_id FROM consumers WHERE consumer_id NOT IN (SELECT consumer_id FROM links)"
        ).fetchone()[0]
        storage.accounts.insert_link(conn, account_id, unlinked, "Visitor's shop")
    camp.reset_demo(db_path)
    after = _table_dump(db_path)
    after_meta = {k: v for k, v in after.pop("meta")}
    seeded_meta = {k: v for k, v in seeded.pop("meta")}
    assert after == seeded
    # Only the reset counters differ in meta.
    for key in ("camp_generation", "data_version"):
        after_meta.pop(key, None)
        seeded_meta.pop(key, None)
    assert after_meta == seeded_meta


def test_reset_changes_the_generation_so_sessions_sign_out(db_path):
    camp.reset_demo(db_path)
    with storage.open_db(db_path) as conn:
        first = camp.camp_generation(conn)
    camp.reset_demo(db_path)
    with storage.open_db(db_path) as conn:
        assert camp.camp_generation(conn) != first


def test_reset_while_another_connection_is_open(db_path):
    camp.reset_demo(db_path)
    reader = storage.connect(db_path)
    try:
        before = reader.execute("SELECT count(*) FROM readings").fetchone()[0]
        camp.reset_demo(db_path)
        assert reader.execute("SELECT count(*) FROM readings").fetchone()[0] == before
    finally:
        reader.close()


def test_reset_timing_is_reported_not_asserted(db_path, capsys):
    camp.reset_demo(db_path)  # builds today's snapshot
    start = time.perf_counter()
    camp.reset_demo(db_path)
    elapsed = time.perf_counter() - start
    with capsys.disabled():
        print(f"\n[camp] reset_demo from snapshot took {elapsed:.3f} s")
    with storage.open_db(db_path) as conn:
        assert conn.execute("SELECT count(*) FROM readings").fetchone()[0] > 0
