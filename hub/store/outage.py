"""Whether an error is the database being away (unreachable, too slow, a lock not granted):
something every caller meets alike until it comes back, which retrying later rides out."""

from __future__ import annotations

import sqlalchemy as sa


def database_unavailable(exc: BaseException) -> bool:
    """The database unreachable or too slow (a statement timeout, a lock not granted). Not a
    deadlock or a serialization failure (SQLSTATE class 40): running the work again clears those."""
    if not isinstance(exc, sa.exc.OperationalError):
        return False
    sqlstate = getattr(getattr(exc, "orig", None), "sqlstate", None) or ""
    return not sqlstate.startswith("40")


def failure_reason(exc: BaseException) -> str:
    """The first line of what the database driver said about ``exc`` ("connection to server at
    \"db\" (10.0.0.5), port 5432 failed: Connection refused", "FATAL:  database \"hub\" does not
    exist", "unable to open database file"), at most 300 characters, or "" when it said nothing.
    For a log line: psycopg's and SQLite's messages name the server, the database and the role,
    never the password (never shown to a client: ``/readyz`` answers without sign-in)."""
    said = str(getattr(exc, "orig", None) or exc).strip().splitlines()
    return said[0].strip()[:300] if said and said[0].strip() else ""
