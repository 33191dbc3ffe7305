"""api_tokens.issued_by_id: who created a token, which may act as another user

A Super Admin may create a token that acts as any user of the workspace. What the token does is
audited as that user; the audit entries of its requests also name the token and whoever issued it,
which the token row now keeps. Tokens created before this have none: their entries stay as they were.

Revision ID: e5a7c3f9d104
Revises: c41d9e7a2b68
Create Date: 2026-11-30 09:00:00
"""
from alembic import op
import sqlalchemy as sa

revision = 'e5a7c3f9d104'
down_revision = 'c41d9e7a2b68'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("issued_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_api_tokens_issued_by_id_users", "users", ["issued_by_id"], ["id"])


def downgrade():
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_constraint("fk_api_tokens_issued_by_id_users", type_="foreignkey")
        batch.drop_column("issued_by_id")
