"""contact search reads indexes only: the name-order index holds id and last_key, the phone
and postcode indexes hold active and full_key; PostgreSQL's search indexes INCLUDE id (issue 17)

Revision ID: f21a0000a001
Revises: f20a0000a001
Create Date: 2026-12-07 21:45:00

Indexes only: no data changes. Each index is dropped and built again with the new columns
(a few seconds each at 1M contacts).
"""
from alembic import op


revision = 'f21a0000a001'
down_revision = 'f20a0000a001'
branch_labels = None
depends_on = None

NEW = {
    'ix_contacts_active_full_key': (['active', 'full_key', 'id', 'last_key'], []),
    'ix_contacts_phone_key': (['phone_key', 'active', 'full_key'], ['id']),
    'ix_contacts_postcode_key': (['postcode_key', 'active', 'full_key'], ['id']),
    'ix_contacts_first_last': (['first_key', 'last_key', 'active', 'full_key'], ['id']),
    'ix_contacts_last_first': (['last_key', 'first_key', 'active', 'full_key'], ['id']),
}
OLD = {
    'ix_contacts_active_full_key': ['active', 'full_key'],
    'ix_contacts_phone_key': ['phone_key'],
    'ix_contacts_postcode_key': ['postcode_key'],
    'ix_contacts_first_last': ['first_key', 'last_key', 'active', 'full_key'],
    'ix_contacts_last_first': ['last_key', 'first_key', 'active', 'full_key'],
}


def _changed() -> list[str]:
    """The indexes that differ here (SQLite's indexes hold the row id already)."""
    postgresql = op.get_bind().dialect.name == 'postgresql'
    return [name for name, (cols, include) in NEW.items()
            if cols != OLD[name] or (postgresql and include)]


def upgrade():
    for name in _changed():
        cols, include = NEW[name]
        op.drop_index(name, table_name='contacts')
        op.create_index(name, 'contacts', cols, unique=False, postgresql_include=include)


def downgrade():
    for name in _changed():
        op.drop_index(name, table_name='contacts')
        op.create_index(name, 'contacts', OLD[name], unique=False)
