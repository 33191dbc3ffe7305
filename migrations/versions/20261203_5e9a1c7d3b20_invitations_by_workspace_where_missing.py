"""Invitations by workspace, on a database whose 9c3e5a7b1d42 was run before it made that index.

Migration 9c3e5a7b1d42 was changed after it shipped (commit 53f2476 added
``ix_invitations_workspace_id`` to it); a database it had already migrated was at that revision
without the index, and no later migration made it: the JSON API's newest-first list of invitations
sorted the workspace's every invitation on SQLite, and the schema differed from the models'. This
makes the index where it is missing (every other database has it, and is left as it is). Its
downgrade does nothing: the index is 9c3e5a7b1d42's, which drops it.

Revision ID: 5e9a1c7d3b20
Revises: e8c2f5a1b974
Create Date: 2026-12-03 21:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = '5e9a1c7d3b20'
down_revision = 'e8c2f5a1b974'
branch_labels = None
depends_on = None

INDEX = "ix_invitations_workspace_id"


def upgrade():
    present = {index["name"] for index in sa.inspect(op.get_bind()).get_indexes("invitations")}
    if INDEX not in present:
        op.create_index(INDEX, "invitations", ["workspace_id"], unique=False)


def downgrade():
    pass
