"""invitations.pass_threshold: the attachment's pass threshold when the result was recorded

The candidate page and the ATS note read the attachment's current threshold, so editing an
attachment changed whether past results had passed (the ATS note, written once, kept the old
answer). Results recorded from now on keep the threshold they were judged by. Existing results get
their attachment's current threshold, the one the page showed until now.

Revision ID: b7e3a9c4d215
Revises: 4f1c8a2d6e93
Create Date: 2026-11-30 12:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'b7e3a9c4d215'
down_revision = '4f1c8a2d6e93'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("invitations") as batch:
        batch.add_column(sa.Column("pass_threshold", sa.Double(), nullable=True))
    connection = op.get_bind()
    attachments = sa.table("attachments", sa.column("id", sa.Integer), sa.column("options", sa.JSON))
    invitations = sa.table("invitations", sa.column("attachment_id", sa.Integer), sa.column("score", sa.Double),
                           sa.column("pass_threshold", sa.Double))
    for attachment_id, options in connection.execute(sa.select(attachments.c.id, attachments.c.options)).all():
        threshold = (options or {}).get("pass_threshold") if isinstance(options, dict) else None
        if threshold is None:
            continue
        try:
            threshold = float(threshold)
        except (TypeError, ValueError):
            continue
        connection.execute(invitations.update().where(invitations.c.attachment_id == attachment_id,
                                                      invitations.c.score.isnot(None)).values(pass_threshold=threshold))


def downgrade():
    # not a batch: on SQLite that copies the table and drops the old one, which the timeline's
    # foreign key refuses; SQLite (3.35+) and PostgreSQL both drop a column in place
    op.drop_column("invitations", "pass_threshold")
