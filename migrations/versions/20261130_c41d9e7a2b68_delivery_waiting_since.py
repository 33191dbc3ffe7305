"""deliveries.waiting_since: when the delivery began deferring (Deferred), without a break

A delivery that keeps deferring is dead after HUB_MAX_DEFER_SECONDS. That wait was counted from
the delivery's creation, so a delivery replayed after that long was dead at its first deferral, and
the spacing of retries could not grow with the wait. The column is set at a delivery's first
deferral and cleared by any other outcome and by a replay. Existing deliveries start with none: a
delivery deferring now counts its wait from its next deferral.

Revision ID: c41d9e7a2b68
Revises: b7e3a9c4d215
Create Date: 2026-11-30 08:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'c41d9e7a2b68'
down_revision = 'b7e3a9c4d215'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("waiting_since", sa.DateTime(), nullable=True))


def downgrade():
    op.drop_column("deliveries", "waiting_since")
