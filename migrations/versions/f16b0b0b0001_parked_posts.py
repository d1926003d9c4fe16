"""parked posts: a form's fields kept when its post met an ended session (JavaScript off)

Revision ID: f16b0b0b0001
Revises: d13a0a0a0001
Create Date: 2026-12-07 06:35:00

A new table only: no existing data changes.
"""
import sqlalchemy as sa
from alembic import op


revision = 'f16b0b0b0001'
down_revision = 'd13a0a0a0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'parked_posts',
        sa.Column('token', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('path', sa.String(length=500), nullable=False),
        sa.Column('fields', sa.Text(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_parked_posts_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('token', name=op.f('pk_parked_posts')),
    )
    with op.batch_alter_table('parked_posts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_parked_posts_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_parked_posts_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('parked_posts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_parked_posts_at'))
        batch_op.drop_index(batch_op.f('ix_parked_posts_user_id'))
    op.drop_table('parked_posts')
