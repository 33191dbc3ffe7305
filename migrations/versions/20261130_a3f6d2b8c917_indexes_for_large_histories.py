"""Indexes for a large history: a workspace's deliveries by status, its events by subject

Measured by bench/pages.py at 200,000 events: Activity filtered by a delivery status took over
20 s on SQLite (a correlated subquery per event, now an IN over this index), and the Dashboard's
counts and the "work pending" check read every delivery of the workspace. Each new index replaces
one it starts with or makes useless, so a webhook writes no more index entries than before:
``ix_deliveries_workspace_id`` is the prefix of ``ix_deliveries_workspace_status``, and
``ix_events_subject`` gives way to ``ix_events_workspace_subject`` (every lookup by subject is
within a workspace).

Revision ID: a3f6d2b8c917
Revises: e5a7c3f9d104
Create Date: 2026-11-30 12:15:00
"""
from alembic import op

revision = 'a3f6d2b8c917'
down_revision = 'e5a7c3f9d104'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index("ix_deliveries_workspace_status", "deliveries", ["workspace_id", "status"], unique=False)
    op.drop_index("ix_deliveries_workspace_id", table_name="deliveries")
    op.create_index("ix_events_workspace_subject", "events", ["workspace_id", "subject"], unique=False)
    op.drop_index("ix_events_subject", table_name="events")


def downgrade():
    op.create_index("ix_events_subject", "events", ["subject"], unique=False)
    op.drop_index("ix_events_workspace_subject", table_name="events")
    op.create_index("ix_deliveries_workspace_id", "deliveries", ["workspace_id"], unique=False)
    op.drop_index("ix_deliveries_workspace_status", table_name="deliveries")
