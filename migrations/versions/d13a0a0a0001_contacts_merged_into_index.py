"""index on contacts.merged_into_id (erasure finds merged duplicates without a full scan)

Revision ID: d13a0a0a0001
Revises: d16a0a0a0001
Create Date: 2026-12-07 06:15:00

erasure.collect looks up the contacts merged into the one being erased; without an index
that was a scan of the whole table (about 0.5 s at 1M contacts, in every anonymise and
every retention erasure). An index only: no data changes.
"""
from alembic import op


revision = 'd13a0a0a0001'
down_revision = 'd16a0a0a0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index('ix_contacts_merged_into_id', ['merged_into_id'], unique=False)


def downgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_merged_into_id')
