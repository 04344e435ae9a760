"""Revision 0014_readings_timestamptz (SQL: lib/storage/schema.py and lib/storage/schema_postgresql.py)."""

from lib.storage.migrations import run_revision

revision = "0014_readings_timestamptz"
down_revision = "0013_counters"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_revision(revision)


def downgrade() -> None:
    raise NotImplementedError("MeterMitra migrations go forward only: restore a backup instead")
