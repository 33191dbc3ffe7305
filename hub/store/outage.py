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
