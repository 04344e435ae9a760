"""Alembic revisions: one history for SQLite and PostgreSQL (issue 12).

Each revision in ``versions/`` is one entry of ``lib/storage/schema.py`` (SQLite) and its twin in
``lib/storage/schema_postgresql.py``; :func:`run_revision` runs the one for the connection's engine.
``storage.migrate(conn)`` calls :func:`upgrade` inside one transaction:

>>> from lib import storage
>>> conn = storage.connect(":memory:")
>>> storage.migrate(conn)[-1] == head()
True
>>> storage.migrate(conn)
[]

A database made before Alembic (SQLite files with a ``schema_migrations`` table listing ``0001_core`` …,
stop 16 and earlier) is stamped at its last applied revision and upgraded in place; a file whose applied
names are not a prefix of the history is refused (:class:`MigrationError`).

To write a new migration: add its SQL to both schema modules under a new, higher name and a file
``versions/NNNN_name.py`` like the others (``down_revision`` = the previous head). Revisions go forward only.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from lib.storage.engine import StorageError

if TYPE_CHECKING:
    from lib.storage.engine import Database

HERE = Path(__file__).parent
# The advisory lock two PostgreSQL processes that start together take before migrating (any fixed key).
MIGRATION_LOCK_KEY = 0x6D6D_0001


class MigrationError(StorageError):
    """A database whose schema history MeterMitra cannot continue."""


@functools.cache
def script_directory() -> ScriptDirectory:
    """The revisions, read once per process."""
    config = Config()
    config.set_main_option("script_location", str(HERE))
    return ScriptDirectory.from_config(config)


def head() -> str:
    """The newest revision, e.g. ``'0011_register_state'``."""
    revision = script_directory().get_current_head()
    assert revision is not None
    return revision


def history() -> list[str]:
    """Every revision, oldest first."""
    return [rev.revision for rev in reversed(list(script_directory().walk_revisions()))]


def current(conn: Database) -> str | None:
    """The revision the database is at (``None``: empty, or made before Alembic)."""
    return MigrationContext.configure(conn.sa).get_current_revision()


def _legacy_revision(conn: Database) -> str | None:
    """The last revision a pre-Alembic SQLite file applied (from its ``schema_migrations`` table), or None."""
    if conn.dialect != "sqlite":
        return None
    has_table = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
    ).fetchone()
    if not has_table:
        return None
    applied = {row[0] for row in conn.execute("SELECT name FROM schema_migrations")}
    if not applied:
        return None
    names = history()
    prefix = names[: len(applied)]
    if set(prefix) != applied:
        raise MigrationError(f"schema_migrations lists {sorted(applied)}, not a prefix of {names}")
    return prefix[-1]


def upgrade(conn: Database, destination: str = "heads") -> list[str]:
    """Apply every revision the database lacks, in the caller's transaction; return their names.
    ``destination``: the newest revision to apply (default all; tests build an older schema with it).

    On PostgreSQL the caller's transaction first takes an advisory lock, so a second process waits and
    then finds nothing to do (SQLite's ``BEGIN IMMEDIATE`` already serializes).
    """
    if conn.dialect == "postgresql":
        conn.execute("SELECT pg_advisory_xact_lock(:key)", {"key": MIGRATION_LOCK_KEY})
    script = script_directory()
    context = MigrationContext.configure(conn.sa)
    at = context.get_current_revision()
    if at is None:
        at = _legacy_revision(conn)
        if at is not None:
            context.stamp(script, at)
    pending = [rev.revision for rev in reversed(list(script.iterate_revisions(destination, at or "base")))]
    if not pending:
        return []

    def steps(rev: Any, _context: Any) -> Any:
        return script._upgrade_revs(destination, rev)  # what `alembic upgrade heads` runs (alembic.command)

    config = Config()
    config.set_main_option("script_location", str(HERE))
    with EnvironmentContext(config, script, fn=steps, destination_rev=destination) as environment:
        environment.configure(connection=conn.sa, target_metadata=None, transactional_ddl=False)
        environment.run_migrations()
    return pending


def run_revision(name: str) -> None:
    """Run revision ``name``'s DDL for the engine Alembic is migrating (called from ``versions/*.py``)."""
    from alembic import op

    from lib.storage import schema, schema_postgresql
    from lib.storage.engine import _split_sql

    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        script = dict(schema.MIGRATIONS)[name]
    elif bind.dialect.name == "postgresql":
        script = schema_postgresql.MIGRATIONS[name]
    else:  # pragma: no cover - engine_url admits only the two
        raise MigrationError(f"no DDL for {bind.dialect.name}")
    for statement in _split_sql(script):
        bind.exec_driver_sql(statement)
