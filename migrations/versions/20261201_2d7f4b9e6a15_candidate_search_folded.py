"""The Candidates search folds accents: invitations.search_text, one trigram index over it

``search_text`` holds the candidate's name and email case-folded and without accents
(``hub.store.search_text``, kept by an ORM hook on every write); the search folds its term the
same way and looks for it there, so "jose" finds "José" on SQLite and PostgreSQL alike. This
migration fills it for the invitations there are (in batches, in Python: the folding is
Python's, copied here as it was) and, on PostgreSQL, replaces the two trigram indexes over ``lower(candidate_name)`` and
``lower(candidate_email)`` (migration f2b8d6a41c37) by one over ``search_text``. Without
``pg_trgm`` (a role that may not create it: that migration said so in its log) no index is made
and the search works without it, slower.

Revision ID: 2d7f4b9e6a15
Revises: 9c3e5a7b1d42
Create Date: 2026-12-01 08:05:00
"""
import logging
import unicodedata

from alembic import op
import sqlalchemy as sa

revision = '2d7f4b9e6a15'
down_revision = '9c3e5a7b1d42'
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")
BATCH = 1000
OLD_INDEXES = {"ix_invitations_name_trgm": "candidate_name", "ix_invitations_email_trgm": "candidate_email"}
INDEX = "ix_invitations_search_trgm"


def _fold(text: str) -> str:
    # hub.store.search_text as this migration wrote it, frozen here: a later change to the hub's
    # folding comes with a migration of its own, and must not change what this one did
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_text(name, email):
    parts = [_fold(part) for part in (name, email) if part]
    return "\n".join(parts) if parts else None


def _has_pg_trgm(bind) -> bool:
    return bind.execute(sa.text("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")).scalar() is not None


def upgrade():
    op.add_column("invitations", sa.Column("search_text", sa.Text(), nullable=True))
    bind = op.get_bind()
    invitations = sa.table("invitations", sa.column("id", sa.Integer), sa.column("candidate_name", sa.String),
                           sa.column("candidate_email", sa.String), sa.column("search_text", sa.Text))
    last = 0
    while True:
        rows = bind.execute(sa.select(invitations.c.id, invitations.c.candidate_name, invitations.c.candidate_email)
                            .where(invitations.c.id > last).order_by(invitations.c.id).limit(BATCH)).all()
        if not rows:
            break
        bind.execute(invitations.update().where(invitations.c.id == sa.bindparam("row_id"))
                     .values(search_text=sa.bindparam("text")),
                     [{"row_id": row.id, "text": search_text(row.candidate_name, row.candidate_email)}
                      for row in rows])
        last = rows[-1].id
    if bind.dialect.name != "postgresql":
        return
    for name in OLD_INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    if _has_pg_trgm(bind):
        op.execute(f"CREATE INDEX IF NOT EXISTS {INDEX} ON invitations USING gin (search_text gin_trgm_ops)")
    else:
        log.warning("pg_trgm is not installed: the Candidates search works without its index, slower. A superuser "
                    "can run CREATE EXTENSION pg_trgm and create the index by hand (docs/operations.md).")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        op.execute(f"DROP INDEX IF EXISTS {INDEX}")
        if _has_pg_trgm(bind):
            for name, column in OLD_INDEXES.items():
                op.execute(f"CREATE INDEX IF NOT EXISTS {name} ON invitations USING gin (lower({column}) gin_trgm_ops)")
    op.drop_column("invitations", "search_text")
