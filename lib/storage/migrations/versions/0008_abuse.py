"""Revision 0008_abuse (SQL: lib/storage/schema.py and lib/storage/schema_postgresql.py)."""

from lib.storage.migrations import run_revision

revision = "0008_abuse"
down_revision = "0007_meter_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_revision(revision)


def downgrade() -> None:
    raise NotImplementedError("MeterMitra migrations go forward only: restore a backup instead")
