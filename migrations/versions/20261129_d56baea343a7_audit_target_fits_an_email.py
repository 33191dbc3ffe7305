"""audit_log.target holds "user:" and an email of the longest allowed length (320)

It was 300 characters: creating, changing or removing a user whose (valid) email had 296-320
characters failed on PostgreSQL (SQLite does not enforce lengths). SQLite rebuilds the table
(batch mode); PostgreSQL widens the column in place.

Revision ID: d56baea343a7
Revises: 7c2f17f9dc57
Create Date: 2026-11-29 11:40:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'd56baea343a7'
down_revision = '7c2f17f9dc57'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("target", type_=sa.String(400), existing_type=sa.String(300), existing_nullable=False)


def downgrade():
    with op.batch_alter_table("audit_log") as batch:
        batch.alter_column("target", type_=sa.String(300), existing_type=sa.String(400), existing_nullable=False)
