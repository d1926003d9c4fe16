"""morning reviewers (users.morning_reviewer, false for everyone already there) and the
indexes that keep Morning Review's unreviewed items and "Assigned to me" bounded

Revision ID: f15a0000c001
Revises: e18a0a0a0001
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f15a0000c001'
down_revision = 'e18a0a0a0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('morning_reviewer', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # Morning Review groups, oldest first: complaints by their reason, call backs required
    op.create_index('ix_interactions_remit_reason_created', 'interactions',
                    ['out_of_remit_reason_id', 'created_at'])
    op.create_index('ix_interactions_callback_created', 'interactions',
                    ['call_back_required', 'created_at'])
    # "Assigned to me" and "Assigned to you": one user's handler rows, newest first
    op.create_index('ix_interaction_handlers_user_assigned', 'interaction_handlers',
                    ['user_id', 'assigned_at'])


def downgrade():
    op.drop_index('ix_interaction_handlers_user_assigned', table_name='interaction_handlers')
    op.drop_index('ix_interactions_callback_created', table_name='interactions')
    op.drop_index('ix_interactions_remit_reason_created', table_name='interactions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('morning_reviewer')
