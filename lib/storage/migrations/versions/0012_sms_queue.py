"""Revision 0012_sms_queue (SQL: lib/storage/schema.py and lib/storage/schema_postgresql.py)."""

from lib.storage.migrations import run_revision

revision = "0012_sms_queue"
down_revision = "0011_register_state"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_revision(revision)


def downgrade() -> None:
    raise NotImplementedError("MeterMitra migrations go forward only: restore a backup instead")
