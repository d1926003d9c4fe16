"""morning reviewers (users.morning_reviewer, false for everyone already there); the
Morning Review's open items (review_items), filled with everything flagged and not yet
marked reviewed; an index for "Interactions assigned to me"

Revision ID: f15a0000c001
Revises: f15a0000b001
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f15a0000c001'
down_revision = 'f15a0000b001'
branch_labels = None
depends_on = None

# What was flagged before this revision and nobody marked reviewed: (group, record id,
# user id, item key, FROM … WHERE …). The review used to drop these after a shift; now
# they wait until someone marks them.
_UNMARKED = ("NOT EXISTS (SELECT 1 FROM review_marks m WHERE m.item_key = {key})")


def _key(prefix: str, column: str, suffix: str) -> str:
    # quoted text holding ':' would read as a bind parameter: escape it
    return f"'{prefix}' || CAST({column} AS VARCHAR(20)) || '{suffix}'".replace(":", "\\:")


BACKFILL = [
    ("complaints", "i.id", "NULL", _key("interaction:", "i.id", ":complaints"),
     "interactions i WHERE i.out_of_remit = :yes AND i.out_of_remit_reason_id IN "
     "(SELECT id FROM lookup_items WHERE counts_as_complaint = :yes)"),
    ("emergency", "i.id", "NULL", _key("interaction:", "i.id", ":emergency"),
     "interactions i WHERE i.id IN (SELECT interaction_id FROM interaction_interventions)"),
    ("call", "i.id", "NULL", _key("interaction:", "i.id", ":call"),
     "interactions i WHERE i.call_back_required = :yes"),
    ("assigned", "h.interaction_id", "h.user_id",
     _key("interaction:", "h.interaction_id", ":assigned"),
     "interaction_handlers h WHERE (h.assigned_by_id IS NULL OR h.assigned_by_id <> h.user_id)"),
    ("safeguarding", "c.id", "NULL", _key("case:", "c.id", ":safeguarding"),
     "cases c WHERE c.safeguarding_activated = :yes"),
]


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('morning_reviewer', sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    op.create_table(
        'review_items',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('item_key', sa.String(length=60), nullable=False),
        sa.Column('grp', sa.String(length=20), nullable=False),
        sa.Column('record_id', sa.Integer(), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('flagged_at', sa.DateTime(), nullable=False),
        sa.Column('reviewed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_review_items')),
    )
    op.create_index('ix_review_items_open', 'review_items', ['grp', 'reviewed_at', 'user_id'])
    op.create_index(op.f('ix_review_items_item_key'), 'review_items', ['item_key'])
    # "Assigned to me": one user's handler rows, newest first
    op.create_index('ix_interaction_handlers_user_assigned', 'interaction_handlers',
                    ['user_id', 'assigned_at'])
    # and its badge: the calls with no Call State yet
    op.create_index(op.f('ix_interactions_call_state_id'), 'interactions', ['call_state_id'])
    for group, record, user, key, source in BACKFILL:
        statement = sa.text(
            "INSERT INTO review_items (item_key, grp, record_id, user_id, flagged_at) "
            f"SELECT {key}, '{group}', {record}, {user}, CURRENT_TIMESTAMP FROM {source} "
            f"AND {_UNMARKED.format(key=key)}")
        op.execute(statement.bindparams(yes=True) if ":yes" in source else statement)


def downgrade():
    op.drop_index(op.f('ix_interactions_call_state_id'), table_name='interactions')
    op.drop_index('ix_interaction_handlers_user_assigned', table_name='interaction_handlers')
    op.drop_index(op.f('ix_review_items_item_key'), table_name='review_items')
    op.drop_index('ix_review_items_open', table_name='review_items')
    op.drop_table('review_items')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('morning_reviewer')
