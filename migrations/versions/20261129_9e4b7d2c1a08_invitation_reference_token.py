"""invitations.reference_token: a random part of the reference the vendor stores

The reference was ``hub-inv-<id>``; ids repeat across databases, so a second hub on the same
vendor account (or a hub restored from a backup) found the first one's invitation under "its"
reference, adopted it, and later took that candidate's result for its own. New invitations get a
token; existing ones keep none, since their vendor already stores the reference without it.

Revision ID: 9e4b7d2c1a08
Revises: 5b0e2c6a9f41
Create Date: 2026-11-29 18:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '9e4b7d2c1a08'
down_revision = '5b0e2c6a9f41'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("reference_token", sa.String(20), nullable=True))


def downgrade():
    # not a batch: on SQLite that copies the table and drops the old one, which the timeline's
    # foreign key refuses once it holds rows; SQLite (3.35+) and PostgreSQL both drop a column in place
    op.drop_column("invitations", "reference_token")
