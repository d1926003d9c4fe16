"""issue 14: view-only hand-over of a case for one call back

Revision ID: c14a0a0a0001
Revises: c14b0b0b0001
Create Date: 2026-11-29 15:00:00

Adds case_view_grants (a new table: existing rows need no change; nothing else is
altered, so it upgrades an existing database as it stands, on SQLite or PostgreSQL).
"""
from alembic import op
import sqlalchemy as sa


revision = 'c14a0a0a0001'
down_revision = 'c14b0b0b0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_view_grants',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('callback_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('granted_by_id', sa.Integer(), nullable=True),
        sa.Column('granted_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('ended_by_id', sa.Integer(), nullable=True),
        sa.Column('end_reason', sa.String(length=200), nullable=True),
        sa.ForeignKeyConstraint(['callback_id'], ['call_backs.id'],
                                name=op.f('fk_case_view_grants_callback_id_call_backs')),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_view_grants_case_id_cases')),
        sa.ForeignKeyConstraint(['ended_by_id'], ['users.id'],
                                name=op.f('fk_case_view_grants_ended_by_id_users')),
        sa.ForeignKeyConstraint(['granted_by_id'], ['users.id'],
                                name=op.f('fk_case_view_grants_granted_by_id_users')),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_case_view_grants_user_id_users')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_view_grants')),
    )
    with op.batch_alter_table('case_view_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_view_grants_callback_id'), ['callback_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_case_view_grants_case_id'), ['case_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_case_view_grants_user_id'), ['user_id'],
                              unique=False)
        batch_op.create_index('ix_case_view_grants_live', ['user_id', 'case_id', 'ended_at'],
                              unique=False)


def downgrade():
    with op.batch_alter_table('case_view_grants', schema=None) as batch_op:
        batch_op.drop_index('ix_case_view_grants_live')
        batch_op.drop_index(batch_op.f('ix_case_view_grants_user_id'))
        batch_op.drop_index(batch_op.f('ix_case_view_grants_case_id'))
        batch_op.drop_index(batch_op.f('ix_case_view_grants_callback_id'))
    op.drop_table('case_view_grants')
