"""Invitations by their last update, and by id.

The Candidates page lists a workspace's invitations with the most recently changed first (a completion from a candidate invited weeks ago comes to the top), as
its "Updated" column reads; the index keeps that order a read of one page, not a sort of the
workspace's every invitation. ``ix_invitations_workspace_id`` keeps the JSON API's newest-first
order (by id) a read of one page on SQLite: without statistics its planner takes any index that
starts with the workspace and sorts every row, unless one gives that order (an index on the
workspace alone does: SQLite appends the row id, which is the invitation id, to every index).

Revision ID: 9c3e5a7b1d42
Revises: 6a2d9c1e4b70
Create Date: 2026-12-01 07:40:00
"""
from alembic import op

revision = '9c3e5a7b1d42'
down_revision = '6a2d9c1e4b70'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_invitations_workspace_updated", "invitations", ["workspace_id", "updated_at"], unique=False)
    op.create_index("ix_invitations_workspace_id", "invitations", ["workspace_id"], unique=False)


def downgrade():
    op.drop_index("ix_invitations_workspace_id", table_name="invitations")
    op.drop_index("ix_invitations_workspace_updated", table_name="invitations")
