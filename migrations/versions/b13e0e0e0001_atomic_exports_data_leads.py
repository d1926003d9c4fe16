"""atomic exports (heartbeat), data-team leads; cases marked by unfinished exports are freed

Revision ID: b13e0e0e0001
Revises: a13d0d0d0001
Create Date: 2026-11-29 14:40:00

Existing data: before this revision an export marked its cases chunk by chunk, so a
failed or lost run left cases marked "exported" that are in no file. Those marks are
cleared here (the cases count as "not yet exported" again), and batches still
"queued"/"running" at upgrade time are marked failed: their jobs ran the old code.
"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'b13e0e0e0001'
down_revision = 'a13d0d0d0001'
branch_labels = None
depends_on = None


def upgrade():
    # Plain ADD COLUMN (no batch): SQLite can add these in place, while a batch "move and
    # copy" of users fails on existing data (DROP TABLE users with foreign keys on).
    op.add_column('export_batches', sa.Column('heartbeat_at', sa.DateTime(), nullable=True))
    op.add_column('users', sa.Column('data_lead', sa.Boolean(), server_default=sa.false(),
                                     nullable=False))
    op.execute("UPDATE export_batches SET status = 'failed', "
               "error = 'Stopped by an upgrade before it finished' "
               "WHERE status IN ('queued', 'running')")
    op.execute("UPDATE cases SET export_batch_id = NULL WHERE export_batch_id IN "
               "(SELECT id FROM export_batches WHERE status <> 'done')")
    op.execute("UPDATE export_batches SET heartbeat_at = COALESCE(finished_at, created_at)")


def downgrade():
    op.drop_column('users', 'data_lead')  # SQLite >= 3.35 drops a column in place
    op.drop_column('export_batches', 'heartbeat_at')
