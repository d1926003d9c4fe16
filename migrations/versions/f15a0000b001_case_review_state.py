"""cases: the data team's review state, apart from the service desk's status

Revision ID: f15a0000b001
Revises: e18a0a0a0001
Create Date: 2026-12-07 14:30:00

One status used to hold both (Open, Ready for review, Reviewed, Sent back, Assigned, …).
The review words move to `review_state` and the case's status becomes Open again; a desk
status stays and its case counts as Accepted if it was ever reviewed.
"""
from alembic import op
import sqlalchemy as sa


revision = 'f15a0000b001'
down_revision = 'e18a0a0a0001'
branch_labels = None
depends_on = None

REVIEW_WORDS = ('Ready for review', 'Reviewed', 'Sent back')


def upgrade():
    with op.batch_alter_table('cases') as batch:
        batch.add_column(sa.Column('review_state', sa.String(length=30), nullable=False,
                                   server_default='Not ready'))
        batch.create_index(batch.f('ix_cases_review_state'), ['review_state'], unique=False)
        # "Assigned to me" is counted on every page: no scan of the cases for it
        batch.create_index(batch.f('ix_cases_assignee_id'), ['assignee_id'], unique=False)
    cases = sa.table('cases', sa.column('status', sa.String), sa.column('review_state', sa.String),
                     sa.column('reviewed_at', sa.DateTime),
                     sa.column('updated_since_review', sa.Boolean))
    # the order matters: the desk statuses first (their status stays), then the review words.
    # A desk-status case changed since its review had been knocked out of the data team's
    # queue by the desk action (the bug this ends): it goes back in front of them.
    op.execute(cases.update().where(cases.c.status.not_in(REVIEW_WORDS),
                                    cases.c.reviewed_at.is_not(None))
               .values(review_state=sa.case((cases.c.updated_since_review.is_(True),
                                             'Ready for review'), else_='Accepted')))
    op.execute(cases.update().where(cases.c.status == 'Ready for review')
               .values(status='Open', review_state='Ready for review'))
    op.execute(cases.update().where(cases.c.status == 'Reviewed',
                                    cases.c.updated_since_review.is_(True))
               .values(status='Open', review_state='Ready for review'))
    op.execute(cases.update().where(cases.c.status == 'Reviewed')
               .values(status='Open', review_state='Accepted'))
    op.execute(cases.update().where(cases.c.status == 'Sent back')
               .values(status='Open', review_state='Sent back'))


def downgrade():
    # Back to one status: an Open case shows its review word (a desk status wins, as the old
    # code could only hold one of them).
    cases = sa.table('cases', sa.column('status', sa.String), sa.column('review_state', sa.String))
    for state, word in (('Ready for review', 'Ready for review'), ('Accepted', 'Reviewed'),
                        ('Sent back', 'Sent back')):
        op.execute(cases.update().where(cases.c.status == 'Open',
                                        cases.c.review_state == state).values(status=word))
    with op.batch_alter_table('cases') as batch:
        batch.drop_index(batch.f('ix_cases_assignee_id'))
        batch.drop_index(batch.f('ix_cases_review_state'))
        batch.drop_column('review_state')
