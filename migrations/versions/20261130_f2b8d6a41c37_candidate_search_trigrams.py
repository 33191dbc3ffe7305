"""PostgreSQL: trigram indexes for the Candidates search (name and email)

The search is a ``lower(column) LIKE '%term%'`` over the workspace's invitations (Candidates page
and ``/api/v1/invitations?q=``); without an index PostgreSQL reads every invitation, twice (the
count and the page). A GIN index of ``pg_trgm`` trigrams on each lowered column answers it from
the index for a term of three letters or more. Measured by ``bench/pages.py --pg`` (see
docs/performance.md).

``pg_trgm`` ships with PostgreSQL and is a trusted extension (PostgreSQL 13 and later): the owner
of the database may create it. A role that may not (an older server, a locked-down service) gets
no index: the migration says so in its log and the search works as before, only slower. SQLite
gets nothing (its search is unchanged).

Revision ID: f2b8d6a41c37
Revises: a3f6d2b8c917
Create Date: 2026-11-30 20:20:00
"""
import logging

from alembic import op
import sqlalchemy as sa

revision = 'f2b8d6a41c37'
down_revision = 'a3f6d2b8c917'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
INDEXES = {"ix_invitations_name_trgm": "candidate_name", "ix_invitations_email_trgm": "candidate_email"}


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    savepoint = bind.begin_nested()
    try:
        bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
    except sa.exc.DBAPIError as exc:
        savepoint.rollback()
        log.warning("pg_trgm could not be created (%s): the Candidates search works without its index, slower. "
                    "A superuser can run CREATE EXTENSION pg_trgm and create the indexes by hand "
                    "(docs/operations.md).",
                    str(exc.orig).strip().splitlines()[0])
        return
    savepoint.commit()
    for name, column in INDEXES.items():
        op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON invitations USING gin (lower({column}) gin_trgm_ops)")


def downgrade():
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
