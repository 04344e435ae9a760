"""Revision 0006_otp_session (SQL: lib/storage/schema.py and lib/storage/schema_postgresql.py)."""

from lib.storage.migrations import run_revision

revision = "0006_otp_session"
down_revision = "0005_recharge_identity_anchor"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_revision(revision)


def downgrade() -> None:
    raise NotImplementedError("MeterMitra migrations go forward only: restore a backup instead")
