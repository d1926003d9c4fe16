"""accounts for shared PCs: temporary passwords, TOTP second factor with recovery codes,
sign-in steps owed by a session, atomic sign-in throttling counters

Revision ID: d16a0a0a0001
Revises: c14a0a0a0001
Create Date: 2026-11-29 15:10:00

"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = 'd16a0a0a0001'
# Chained after c14a0a0a0001 (call backs), the head when accounts were merged: chaining
# after it keeps a single head.
down_revision = 'c14a0a0a0001'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        # A plain '0' default (valid for SQLite and PostgreSQL booleans) lets SQLite add
        # the column in place: an expression default would make batch mode rebuild
        # `users`, and dropping it with foreign keys on would cascade-delete sessions
        # and team memberships.
        batch_op.add_column(sa.Column('password_must_change', sa.Boolean(), nullable=False,
                                      server_default='0'))
        batch_op.add_column(sa.Column('password_changed_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_secret', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('totp_enabled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('totp_last_step', sa.Integer(), nullable=True))
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pending', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('second_factor_at', sa.DateTime(), nullable=True))
    op.create_table(
        'recovery_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('code_hash', sa.String(length=128), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id'],
                                name=op.f('fk_recovery_codes_user_id_users'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_recovery_codes')),
    )
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recovery_codes_user_id'), ['user_id'], unique=False)
    op.create_table(
        'login_throttles',
        sa.Column('key', sa.String(length=320), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_failure_at', sa.DateTime(), nullable=True),
        sa.Column('next_allowed_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_login_throttles')),
    )
    # Supervisors, the data team and administrators now need a second factor: end their
    # open sessions so their next sign-in sets it up. Volunteers stay signed in.
    # Times are stored as naive UTC: pass it in rather than the server's CURRENT_TIMESTAMP.
    op.execute(sa.text(
        "UPDATE user_sessions SET ended_at = :now, "
        "end_reason = 'two-factor introduced' WHERE ended_at IS NULL AND user_id IN "
        "(SELECT id FROM users WHERE role IN ('supervisor', 'data', 'admin'))")
        .bindparams(now=datetime.now(timezone.utc).replace(tzinfo=None)))


def downgrade():
    op.drop_table('login_throttles')
    with op.batch_alter_table('recovery_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recovery_codes_user_id'))
    op.drop_table('recovery_codes')
    # SQLite 3.35+ drops these columns in place; rebuilding `users` would cascade-delete
    # sessions and team memberships (see upgrade).
    with op.batch_alter_table('user_sessions', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('second_factor_at')
        batch_op.drop_column('pending')
    with op.batch_alter_table('users', schema=None, recreate='never') as batch_op:
        batch_op.drop_column('totp_last_step')
        batch_op.drop_column('totp_enabled_at')
        batch_op.drop_column('totp_secret')
        batch_op.drop_column('password_changed_at')
        batch_op.drop_column('password_must_change')
