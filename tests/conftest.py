"""Shared fixtures: a fixed clock, a fresh file database, and the real data in ../shared/data."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from lib import storage
from tests import postgres
from tests.factories import FIXED_NOW

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
SHARED_DATA = SHARED / "data"


def shared_listing(folder: Path = SHARED) -> dict[str, int]:
    """Every file and folder under ``folder`` (relative name -> mtime in ns); empty when absent."""
    if not folder.is_dir():
        return {}
    return {str(p.relative_to(folder)): p.stat().st_mtime_ns for p in sorted(folder.rglob("*"))}


@pytest.fixture(scope="session", autouse=True)
def shared_untouched() -> Iterator[None]:
    """Fail the run if any test wrote into ../shared (shared reference material is read-only)."""
    before = shared_listing()
    yield
    after = shared_listing()
    if after != before:
        added = sorted(set(after) - set(before))
        removed = sorted(set(before) - set(after))
        changed = sorted(k for k in set(before) & set(after) if before[k] != after[k])
        pytest.fail(f"tests changed ../shared: added {added}, removed {removed}, modified {changed}")


# The suite's "now" (FIXED_NOW): every test sees the same clock unless it sets its own.


@pytest.fixture(autouse=True)
def fixed_clock(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("METERMITRA_NOW", FIXED_NOW)
    return FIXED_NOW


@pytest.fixture(autouse=True)
def isolated_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test reads the developer's secrets or database by accident."""
    monkeypatch.setenv("METERMITRA_DB", str(tmp_path / "metermitra.db"))
    monkeypatch.setenv(
        "METERMITRA_OTP_KEY", "6f147fc0f49af9c7fa3a6a75ae11ebde8b6a51afd0f3b9bb6bd68e40709dd7ba"
    )
    monkeypatch.delenv("METERMITRA_CAMP", raising=False)
    monkeypatch.delenv("METERMITRA_SMS_GATEWAY", raising=False)
    monkeypatch.setattr("lib.config.SECRETS_PATH", tmp_path / "no-secrets.toml")


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    """A fresh, migrated file database in WAL mode (the same path as METERMITRA_DB)."""
    path = Path(os.environ["METERMITRA_DB"])
    with storage.open_db(path):
        pass
    return path


@pytest.fixture
def conn(db_path: Path) -> Iterator[storage.Database]:
    connection = storage.connect(db_path)
    storage.migrate(connection)
    yield connection
    connection.close()


# --- both engines (issue 12) ------------------------------------------------------------------------


@pytest.fixture(scope="session")
def postgresql_cluster() -> Iterator[postgres.Cluster | None]:
    """A throwaway PostgreSQL for the whole run; ``None`` where none can start (a failure under CI=true)."""
    reason = postgres.missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL cannot run: {reason}")
        yield None
        return
    cluster = postgres.start()
    try:
        yield cluster
    finally:
        storage.engine.dispose_all()
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest,
    postgresql_cluster: postgres.Cluster | None,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[str]:
    """The database target of one test on each engine: the SQLite file of ``METERMITRA_DB``, or a fresh
    schema of the throwaway PostgreSQL (``METERMITRA_DB`` is set to its URL). Not migrated."""
    if request.param == "sqlite":
        yield os.environ["METERMITRA_DB"]
        return
    if postgresql_cluster is None:
        pytest.skip(f"PostgreSQL half skipped: {postgres.missing_reason()}")
    url = postgresql_cluster.fresh_schema()
    monkeypatch.setenv("METERMITRA_DB", url)
    try:
        yield url
    finally:
        storage.engine.dispose(url)


@pytest.fixture
def any_conn(backend: str) -> Iterator[storage.Database]:
    """A migrated connection on each engine in turn (the storage tests' ``conn`` on both engines)."""
    connection = storage.connect(backend)
    storage.migrate(connection)
    yield connection
    connection.close()


@pytest.fixture
def shared_data() -> Path:
    """../shared/data: skipped with a reason when absent, but a failure under CI=true."""
    if not SHARED_DATA.is_dir():
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but the shared data folder is missing: {SHARED_DATA}")
        pytest.skip(f"shared data not found at {SHARED_DATA} (a user's own clone)")
    return SHARED_DATA
