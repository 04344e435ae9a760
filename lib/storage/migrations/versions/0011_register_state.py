"""Revision 0011_register_state (SQL: lib/storage/schema.py and lib/storage/schema_postgresql.py)."""

from lib.storage.migrations import run_revision

revision = "0011_register_state"
down_revision = "0010_consumer_versions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_revision(revision)


def downgrade() -> None:
    raise NotImplementedError("MeterMitra migrations go forward only: restore a backup instead")
