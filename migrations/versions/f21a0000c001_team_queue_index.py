"""an index for the My team's cases badge (status, assignee, team), counted on every page

Revision ID: f21a0000c001
Revises: f21a0000a001
Create Date: 2026-12-07 22:20:00

"""
from alembic import op

revision = "f21a0000c001"
down_revision = "f21a0000a001"  # after the contact search indexes
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_cases_team_queue", "cases", ["status", "assignee_id", "team_id"])


def downgrade():
    op.drop_index("ix_cases_team_queue", table_name="cases")
