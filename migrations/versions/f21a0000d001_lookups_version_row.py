"""the lookups_version settings row, so two first list changes at once update one row
instead of both inserting it (break-review finding)

Revision ID: f21a0000d001
Revises: f21a0000c001
Create Date: 2026-12-07 22:50:00

"""
from alembic import op

revision = "f21a0000d001"
down_revision = "f21a0000c001"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("INSERT INTO settings (key, value, updated_at) SELECT 'lookups_version', "
               "'initial', CURRENT_TIMESTAMP WHERE NOT EXISTS "
               "(SELECT 1 FROM settings WHERE key = 'lookups_version')")


def downgrade():
    pass  # the row is harmless without the cache; a bump would add it again
