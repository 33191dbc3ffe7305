"""Invitations by the address of the candidate's page in the ATS.

Activity's search takes a candidate page's address, as copied from the ATS, to the opportunity of
the invitation the source gave that address for; without an index every search by address read
each invitation of the workspace (about 13 ms at 50,000 invitations, on every search that was not
one). On PostgreSQL the index is a hash index: a B-tree entry cannot hold the longest addresses
the column allows (2,000 characters), and the lookup is by equality only.

Revision ID: e8c2f5a1b974
Revises: b4e1d7a9c305
Create Date: 2026-12-02 22:10:00
"""
from alembic import op

revision = 'e8c2f5a1b974'
down_revision = 'b4e1d7a9c305'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_invitations_profile_url", "invitations", ["profile_url"], unique=False,
                    postgresql_using="hash")


def downgrade():
    op.drop_index("ix_invitations_profile_url", table_name="invitations")
