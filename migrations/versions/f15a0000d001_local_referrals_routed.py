"""local referrals routed: local teams (mailbox, regions served), referral statuses
Awaiting review → Sent (to a team, on a date) → Actioned; the shipped extra fields optional

Existing referrals: "Sent to local team" (the old default, set before any review) becomes
"Awaiting review" unless its case was already reviewed after it was made, then "Sent" on
the review's date (the data team passed reviewed cases on; one added after the review was
never passed on and waits for the next accept); "Accepted" becomes "Sent" too, "Completed"
becomes "Actioned", "Declined" stays with its reason. The free-text local team is kept
for display.

Revision ID: f15a0000d001
Revises: f15a0000c001
Create Date: 2026-12-07 14:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f15a0000d001'
down_revision = 'f15a0000c001'
branch_labels = None
depends_on = None

# The extra fields the app shipped as required; the seed says "These fields are not mandatory".
SHIPPED_FIELDS = {
    "Food": ("People in household", "Dietary needs"),
    "Medication": ("Pharmacy", "Prescription ready date", "Paid or unpaid"),
    "Transport": ("Journey", "Date needed"),
    "Essential supplies": ("Items needed",),
}

referrals = sa.table('case_referrals', sa.column('id', sa.Integer),
                     sa.column('case_id', sa.Integer), sa.column('status', sa.String),
                     sa.column('sent_at', sa.DateTime), sa.column('created_at', sa.DateTime))
cases = sa.table('cases', sa.column('id', sa.Integer), sa.column('reviewed_at', sa.DateTime))
items = sa.table('lookup_items', sa.column('id', sa.Integer), sa.column('list_name', sa.String),
                 sa.column('name', sa.String))
fields = sa.table('response_type_fields', sa.column('response_type_id', sa.Integer),
                  sa.column('name', sa.String), sa.column('required', sa.Boolean))


def upgrade():
    op.create_table(
        'local_teams',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('mailbox', sa.String(length=254), nullable=False),
        sa.Column('retired', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_local_teams')),
        sa.UniqueConstraint('name', name=op.f('uq_local_teams_name')),
    )
    op.create_table(
        'local_team_regions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('team_id', sa.Integer(), nullable=False),
        sa.Column('region', sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(['team_id'], ['local_teams.id'],
                                name=op.f('fk_local_team_regions_team_id_local_teams'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_local_team_regions')),
    )
    with op.batch_alter_table('local_team_regions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_local_team_regions_team_id'), ['team_id'])
        batch_op.create_index(batch_op.f('ix_local_team_regions_region'), ['region'])

    with op.batch_alter_table('case_referrals', schema=None) as batch_op:
        batch_op.add_column(sa.Column('local_team_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('sent_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('actioned_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('actioned_by_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_case_referrals_local_team_id_local_teams'),
                                    'local_teams', ['local_team_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_case_referrals_actioned_by_id_users'),
                                    'users', ['actioned_by_id'], ['id'])
        batch_op.create_index(batch_op.f('ix_case_referrals_status'), ['status'])

    reviewed_at = (sa.select(cases.c.reviewed_at).where(cases.c.id == referrals.c.case_id)
                   .scalar_subquery())
    # made before the case's review: the data team passed it on when it reviewed the case; a
    # referral added after that review was never passed on (it waits for the next accept)
    in_review = sa.exists().where(cases.c.id == referrals.c.case_id,
                                  cases.c.reviewed_at.is_not(None),
                                  referrals.c.created_at <= cases.c.reviewed_at)
    op.execute(referrals.update().where(referrals.c.status.in_(("Sent to local team", "Accepted")),
                                        in_review)
               .values(status="Sent", sent_at=reviewed_at))
    op.execute(referrals.update().where(referrals.c.status == "Sent to local team")
               .values(status="Awaiting review"))
    # a team accepted it (reviewed before or after it was made, or never): sent when made
    op.execute(referrals.update().where(referrals.c.status == "Accepted")
               .values(status="Sent", sent_at=referrals.c.created_at))
    op.execute(referrals.update().where(referrals.c.status == "Completed")
               .values(status="Actioned"))

    for type_name, names in SHIPPED_FIELDS.items():
        type_ids = sa.select(items.c.id).where(items.c.list_name == "local_response_type",
                                               items.c.name == type_name)
        op.execute(fields.update().where(fields.c.response_type_id.in_(type_ids),
                                         fields.c.name.in_(names))
                   .values(required=sa.false()))


def downgrade():
    # The old statuses; which fields were required is not restored (an admin sets it).
    op.execute(referrals.update().where(referrals.c.status.in_(
        ("Awaiting review", "Awaiting a local team", "Sent"))).values(status="Sent to local team"))
    op.execute(referrals.update().where(referrals.c.status == "Actioned")
               .values(status="Completed"))
    with op.batch_alter_table('case_referrals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_case_referrals_status'))
        batch_op.drop_constraint(batch_op.f('fk_case_referrals_actioned_by_id_users'),
                                 type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_case_referrals_local_team_id_local_teams'),
                                 type_='foreignkey')
        batch_op.drop_column('actioned_by_id')
        batch_op.drop_column('actioned_at')
        batch_op.drop_column('sent_at')
        batch_op.drop_column('local_team_id')
    with op.batch_alter_table('local_team_regions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_local_team_regions_region'))
        batch_op.drop_index(batch_op.f('ix_local_team_regions_team_id'))
    op.drop_table('local_team_regions')
    op.drop_table('local_teams')
