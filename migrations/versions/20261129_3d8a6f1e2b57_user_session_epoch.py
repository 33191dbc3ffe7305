"""users.session_epoch: deactivating a user signs their sessions out for good

A deactivated user's sessions were refused only while the user was inactive; reactivating them
brought back every session signed in before. The epoch, part of the session fingerprint, is
raised on deactivation.

Revision ID: 3d8a6f1e2b57
Revises: 9e4b7d2c1a08
Create Date: 2026-11-29 18:20:00
"""
from alembic import op
import sqlalchemy as sa

revision = '3d8a6f1e2b57'
down_revision = '9e4b7d2c1a08'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("session_epoch", sa.Integer(), nullable=False, server_default="0"))


def downgrade():
    # not a batch: on SQLite that copies the table and drops the old one, which the foreign keys of
    # the tables referring to users (audit log, tokens, integrations, attachments) refuse once they
    # hold rows; SQLite (3.35+) and PostgreSQL both drop a column in place
    op.drop_column("users", "session_epoch")
