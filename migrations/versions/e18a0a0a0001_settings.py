"""settings: texts an administrator changes (service name, consent statement, who can
help with sign-in); a setting with no row has its default

Revision ID: e18a0a0a0001
Revises: f16b0b0b0001
Create Date: 2026-12-07 06:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e18a0a0a0001'
down_revision = 'f16b0b0b0001'
branch_labels = None
depends_on = None


def upgrade():
    # A new table only: nothing to copy, and no rebuild of an existing one on SQLite.
    op.create_table(
        'settings',
        sa.Column('key', sa.String(length=60), nullable=False),
        sa.Column('value', sa.Text(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('updated_by_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['updated_by_id'], ['users.id'],
                                name=op.f('fk_settings_updated_by_id_users')),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_settings')),
    )


def downgrade():
    op.drop_table('settings')
