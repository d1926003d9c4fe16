"""erasure by ownership: contacts and call-back requests remember when they were
anonymised; notifications are found by their link

Revision ID: a13d0d0d0001
Revises: a339664c5b9d
Create Date: 2026-11-29 15:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'a13d0d0d0001'
down_revision = 'a339664c5b9d'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.add_column(sa.Column('anonymised_at', sa.DateTime(), nullable=True))
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_notifications_url'), ['url'], unique=False)
    # Contacts anonymised before this release: the audit trail says when.
    op.execute(sa.text(
        "UPDATE contacts SET anonymised_at = (SELECT max(a.at) FROM audit_entries a "
        "WHERE a.action = 'anonymise' AND a.record_type = 'contact' "
        "AND a.record_id = CAST(contacts.id AS VARCHAR(40))) "
        "WHERE EXISTS (SELECT 1 FROM audit_entries a WHERE a.action = 'anonymise' "
        "AND a.record_type = 'contact' AND a.record_id = CAST(contacts.id AS VARCHAR(40)))"))


def downgrade():
    with op.batch_alter_table('notifications', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_notifications_url'))
    with op.batch_alter_table('callback_requests', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_column('anonymised_at')
