"""case drafts: the case screen kept on the server while it is typed (issue 15)

Revision ID: f15a0000e001
Revises: f15a0000d001
Create Date: 2026-12-07 14:40:00

A new table only: no existing data changes. (Preferred contact time was already a column
of contacts, so it needs nothing here.)
"""
import sqlalchemy as sa
from alembic import op


revision = 'f15a0000e001'
down_revision = 'f15a0000d001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'case_drafts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('slot', sa.String(length=40), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('caller_id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=True),
        sa.Column('beneficiary_id', sa.Integer(), nullable=True),
        sa.Column('fields', sa.Text(), nullable=False),
        sa.Column('saved_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_case_drafts_user_id_users'), ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['caller_id'], ['contacts.id'],
                                name=op.f('fk_case_drafts_caller_id_contacts'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                                name=op.f('fk_case_drafts_case_id_cases'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_drafts')),
        sa.UniqueConstraint('slot', name=op.f('uq_case_drafts_slot')),
    )
    with op.batch_alter_table('case_drafts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_case_drafts_user_id'), ['user_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_drafts_caller_id'), ['caller_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_drafts_case_id'), ['case_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_case_drafts_beneficiary_id'), ['beneficiary_id'],
                              unique=False)
        batch_op.create_index(batch_op.f('ix_case_drafts_saved_at'), ['saved_at'], unique=False)


def downgrade():
    with op.batch_alter_table('case_drafts', schema=None) as batch_op:
        for name in ('saved_at', 'beneficiary_id', 'case_id', 'caller_id', 'user_id'):
            batch_op.drop_index(batch_op.f(f'ix_case_drafts_{name}'))
    op.drop_table('case_drafts')
