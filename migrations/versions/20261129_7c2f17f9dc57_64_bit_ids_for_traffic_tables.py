"""64-bit ids for the tables that grow with traffic (PostgreSQL)

events, event_keys, deliveries (and their event_id), webhook_log, timeline and audit_log get
BIGINT ids, and their sequences count to 2^63 - 1: with 32-bit ids a busy hub would run out after
2^31 rows, since purged rows do not give their ids back. SQLite's integer primary keys are 64-bit
already: nothing changes there.

Revision ID: 7c2f17f9dc57
Revises: e764903a3146
Create Date: 2026-11-29 06:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = '7c2f17f9dc57'
down_revision = 'e764903a3146'
branch_labels = None
depends_on = None

TABLES = ("events", "event_keys", "deliveries", "webhook_log", "timeline", "audit_log")
COLUMNS = [(table, "id") for table in TABLES] + [("deliveries", "event_id")]


def _change(kind: type, sequence_type: str) -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    for table, column in COLUMNS:
        op.alter_column(table, column, type_=kind(), existing_nullable=False)
    for table in TABLES:
        sequence = bind.scalar(sa.text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table})
        op.execute(f"ALTER SEQUENCE {sequence} AS {sequence_type}")


def upgrade():
    _change(sa.BigInteger, "bigint")


def downgrade():
    _change(sa.Integer, "integer")
