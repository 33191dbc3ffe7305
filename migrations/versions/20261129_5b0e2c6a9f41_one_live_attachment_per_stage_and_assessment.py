"""At most one live (not detached) attachment per workspace, posting, stage, provider and assessment

``save_attachment`` refused a second such attachment when creating, but not when an edit moved
an attachment onto the stage of an identical one; two live copies invited each candidate twice.
A partial unique index now holds the rule in the database (it also settles two concurrent
creates). Copies that already exist are detached first, keeping the oldest live.

Revision ID: 5b0e2c6a9f41
Revises: d56baea343a7
Create Date: 2026-11-29 16:00:00
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa

revision = '5b0e2c6a9f41'
down_revision = 'd56baea343a7'
branch_labels = None
depends_on = None

COLUMNS = ["workspace_id", "posting_id", "stage_id", "provider", "assessment_id"]
LIVE = sa.text("detached_at IS NULL")


def upgrade():
    same = " AND ".join(f"older.{c} = attachments.{c}" for c in COLUMNS)
    op.get_bind().execute(sa.text(
        "UPDATE attachments SET detached_at = :now WHERE detached_at IS NULL AND EXISTS ("
        f"SELECT 1 FROM attachments AS older WHERE {same} AND older.detached_at IS NULL "
        "AND older.id < attachments.id)"), {"now": datetime.now(timezone.utc).replace(tzinfo=None)})
    op.create_index("uq_attachments_live", "attachments", COLUMNS, unique=True,
                    sqlite_where=LIVE, postgresql_where=LIVE)


def downgrade():
    op.drop_index("uq_attachments_live", table_name="attachments")
