"""timeline.refs: the ids an entry is about (a stage, an archive reason, an ATS note), by key

The candidate page found those ids with regular expressions in the Lever plugin's wording, so
another ATS plugin's entries got no names and a rewording broke the page. Plugins now pass them as
``refs`` to ``ctx.invitations.note``. Existing entries keep none (NULL): the page reads them as before.

Revision ID: 4f1c8a2d6e93
Revises: 3d8a6f1e2b57
Create Date: 2026-11-30 10:00:00
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

revision = '4f1c8a2d6e93'
down_revision = '3d8a6f1e2b57'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("timeline") as batch:
        batch.add_column(sa.Column("refs", sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql"),
                                   nullable=True))


def downgrade():
    with op.batch_alter_table("timeline") as batch:
        batch.drop_column("refs")
