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
def engine(request: pytest.FixtureRequest) -> str:
    """Which engine ``db_path`` is on: "sqlite", unless the test is marked ``both_engines`` (then each in
    turn, see ``pytest_generate_tests``)."""
    return str(getattr(request, "param", "sqlite"))


@pytest.fixture
def db_path(
    engine: str,
    tmp_path: Path,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Path | str]:
    """A fresh, migrated database that METERMITRA_DB names: a file in WAL mode (a ``Path``), or, for a
    test marked ``both_engines`` on its PostgreSQL turn, a database copied from the migrated template
    (its URL, a ``str``; dropped afterwards)."""
    if engine == "postgresql":
        only = request.node.get_closest_marker("sqlite_only")  # on one parameter (a function's is never run)
        if only is not None:
            pytest.skip(f"SQLite only: {only.args[0]}")
        cluster = request.getfixturevalue("postgresql_cluster")
        if cluster is None:
            pytest.skip(f"PostgreSQL half skipped: {postgres.missing_reason()}")
        url = cluster.copy_database(TEMPLATE_DATABASE)
        monkeypatch.setenv("METERMITRA_DB", url)
        try:
            yield url
        finally:
            storage.engine.dispose(url)
            cluster.drop_database(url)
        return
    path = tmp_path / "metermitra.db"  # METERMITRA_DB's file (a backend fixture may point that elsewhere)
    with storage.open_db(path):
        pass
    yield path


ENGINES = ("sqlite", "postgresql")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A test marked ``both_engines`` (a module's ``pytestmark``) that uses ``db_path`` runs once per
    engine, unless it is marked ``sqlite_only(reason)`` (about SQLite files themselves)."""
    if "engine" not in metafunc.fixturenames:
        return
    definition = metafunc.definition
    if definition.get_closest_marker("both_engines") and not definition.get_closest_marker("sqlite_only"):
        metafunc.parametrize("engine", ENGINES, indirect=True)


@pytest.fixture
def conn(db_path: Path | str) -> Iterator[storage.Database]:
    connection = storage.connect(db_path)
    storage.migrate(connection)
    yield connection
    connection.close()


# --- both engines (issue 12) ------------------------------------------------------------------------


TEMPLATE_DATABASE = "mm_template"


@pytest.fixture(scope="session")
def postgresql_cluster() -> Iterator[postgres.Cluster | None]:
    """A throwaway PostgreSQL for the whole run, with a migrated template database that each test's
    database is copied from (``CREATE DATABASE … TEMPLATE``: a file copy, much faster than migrating);
    ``None`` where none can start (a failure under CI=true)."""
    reason = postgres.missing_reason()
    if reason is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but PostgreSQL cannot run: {reason}")
        yield None
        return
    cluster = postgres.start(databases=("metermitra", TEMPLATE_DATABASE))
    try:
        template = cluster.url(TEMPLATE_DATABASE)
        with storage.open_db(template):  # migrated under the suite's fixed clock (its partitions too)
            pass
        storage.engine.dispose(template)  # a template must have no connections when it is copied
        yield cluster
    finally:
        storage.engine.dispose_all()
        cluster.stop()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(
    request: pytest.FixtureRequest,
    postgresql_cluster: postgres.Cluster | None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """The database target of one test on each engine, empty (not migrated): an SQLite file, or a fresh
    schema of the throwaway PostgreSQL. ``METERMITRA_DB`` is set to it."""
    if request.param == "sqlite":
        path = str(tmp_path / "backend.db")
        monkeypatch.setenv("METERMITRA_DB", path)
        yield path
        return
    if postgresql_cluster is None:
        pytest.skip(f"PostgreSQL half skipped: {postgres.missing_reason()}")
    url = postgresql_cluster.fresh_schema()
    monkeypatch.setenv("METERMITRA_DB", url)
    try:
        yield url
    finally:
        storage.engine.dispose(url)


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_backend(
    request: pytest.FixtureRequest,
    postgresql_cluster: postgres.Cluster | None,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[str]:
    """Like ``backend``, migrated: an SQLite file, or a PostgreSQL database copied from the template."""
    if request.param == "sqlite":
        path = str(tmp_path / "migrated.db")
        with storage.open_db(path):
            pass
        monkeypatch.setenv("METERMITRA_DB", path)
        yield path
        return
    if postgresql_cluster is None:
        pytest.skip(f"PostgreSQL half skipped: {postgres.missing_reason()}")
    url = postgresql_cluster.copy_database(TEMPLATE_DATABASE)
    monkeypatch.setenv("METERMITRA_DB", url)
    try:
        yield url
    finally:
        storage.engine.dispose(url)


@pytest.fixture
def any_conn(migrated_backend: str) -> Iterator[storage.Database]:
    """A migrated connection on each engine in turn (the storage tests' ``conn`` on both engines)."""
    connection = storage.connect(migrated_backend)
    storage.migrate(connection)  # a no-op: the copy is at the newest revision
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
