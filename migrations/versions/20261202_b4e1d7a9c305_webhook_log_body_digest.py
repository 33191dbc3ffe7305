"""The webhook log keeps a digest of each request's body.

The digest is the first 128 bits of the body's SHA-256, in hex; the body itself is never kept. A
webhook refused (its integration disabled, or not proven to come from the vendor) whose sender
later sent the same body again, accepted, is no lost work, and the Dashboard stops naming it. The index makes that check one lookup per refusal.

Revision ID: b4e1d7a9c305
Revises: 2d7f4b9e6a15
Create Date: 2026-12-02 05:40:00
"""
import sqlalchemy as sa
from alembic import op

revision = 'b4e1d7a9c305'
down_revision = '2d7f4b9e6a15'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("webhook_log", sa.Column("body_digest", sa.String(length=32), nullable=True))
    op.create_index("ix_webhook_log_digest", "webhook_log", ["workspace_id", "plugin", "body_digest"], unique=False)


def downgrade():
    op.drop_index("ix_webhook_log_digest", table_name="webhook_log")
    with op.batch_alter_table("webhook_log") as batch:
        batch.drop_column("body_digest")
