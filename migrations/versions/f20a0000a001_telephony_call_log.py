"""telephony screen-pop: the call log, who each call rang for and matched, and each
user's extension or phone login (issue 20)

Revision ID: f20a0000a001
Revises: f15a0000e001
Create Date: 2026-12-07 18:30:00

New tables and one new nullable column: existing rows are unchanged (no one has an
extension until an administrator sets it).
"""
import sqlalchemy as sa
from alembic import op


revision = 'f20a0000a001'
down_revision = 'f15a0000e001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone_login', sa.String(length=120), nullable=True))
        batch_op.create_index(batch_op.f('ix_users_phone_login'), ['phone_login'], unique=False)
    op.create_table(
        'telephony_calls',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('call_ref', sa.String(length=250), nullable=False),
        sa.Column('direction', sa.String(length=3), nullable=False),
        sa.Column('number', sa.String(length=40), nullable=True),
        sa.Column('number_display', sa.String(length=40), nullable=True),
        sa.Column('number_key', sa.String(length=20), nullable=True),
        sa.Column('withheld', sa.Boolean(), nullable=False),
        sa.Column('to_number', sa.String(length=40), nullable=True),
        sa.Column('queue', sa.String(length=100), nullable=True),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('answered_at', sa.DateTime(), nullable=True),
        sa.Column('answered_by_id', sa.Integer(), nullable=True),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
        sa.Column('cause', sa.String(length=40), nullable=True),
        sa.Column('duration_seconds', sa.Integer(), nullable=True),
        sa.Column('interaction_id', sa.Integer(), nullable=True),
        sa.Column('dismissed', sa.Boolean(), nullable=False),
        sa.Column('called_back', sa.String(length=60), nullable=True),
        sa.Column('erased_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['answered_by_id'], ['users.id'],
                                name=op.f('fk_telephony_calls_answered_by_id_users')),
        sa.ForeignKeyConstraint(['interaction_id'], ['interactions.id'],
                                name=op.f('fk_telephony_calls_interaction_id_interactions'),
                                ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_telephony_calls')),
        sa.UniqueConstraint('call_ref', name=op.f('uq_telephony_calls_call_ref')),
    )
    with op.batch_alter_table('telephony_calls', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telephony_calls_number_key'), ['number_key'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_telephony_calls_started_at'), ['started_at'],
                              unique=False)
    op.create_table(
        'telephony_call_users',
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['telephony_calls.id'],
                                name=op.f('fk_telephony_call_users_call_id_telephony_calls'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_telephony_call_users_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('call_id', 'user_id', name=op.f('pk_telephony_call_users')),
    )
    with op.batch_alter_table('telephony_call_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telephony_call_users_user_id'), ['user_id'],
                              unique=False)
    op.create_table(
        'telephony_call_contacts',
        sa.Column('call_id', sa.Integer(), nullable=False),
        sa.Column('contact_id', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['call_id'], ['telephony_calls.id'],
                                name=op.f('fk_telephony_call_contacts_call_id_telephony_calls'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'],
                                name=op.f('fk_telephony_call_contacts_contact_id_contacts'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('call_id', 'contact_id',
                                name=op.f('pk_telephony_call_contacts')),
    )
    with op.batch_alter_table('telephony_call_contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_telephony_call_contacts_contact_id'),
                              ['contact_id'], unique=False)


def downgrade():
    op.drop_table('telephony_call_contacts')
    op.drop_table('telephony_call_users')
    op.drop_table('telephony_calls')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_phone_login'))
        batch_op.drop_column('phone_login')
