"""What an API token acting as someone else does is audited as that user, *and* says so.

A Super Admin may create a token that acts as any active user of the workspace (Settings > API
tokens, "Acts as"). A request made with it has that user's role, and the audit entries it writes
name that user as the actor (``services.audit`` is given the current user). So that such an entry
does not read as if that user did it themselves, every audit entry written during an API request
made with a token whose issuer (``ApiToken.issued_by_id``) is not its user gets
``detail["via"]``: "API token 7 “reporting”, issued by alice@example.com" (shown on the audit
page, and in ``GET /api/v1/audit``). Tokens created before the issuer was kept add nothing.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import g, has_request_context

from hub.store.models import AuditEntry, User


def remember(row) -> None:
    """Called once the request's token is known: what the audit needs of it."""
    g.api_token = {"id": row.id, "name": row.name, "user_id": row.user_id, "issued_by_id": row.issued_by_id}


def via(connection) -> str | None:
    """The ``via`` detail for this request's audit entries: None unless the request came with a
    token issued by someone other than the user it acts as."""
    token = g.get("api_token")
    if token is None or token["issued_by_id"] in (None, token["user_id"]):
        return None
    if "api_token_via" not in g:
        issuer = connection.execute(sa.select(User.email).where(User.id == token["issued_by_id"])).scalar()
        g.api_token_via = f"API token {token['id']} “{token['name']}”, issued by {issuer}"
    return g.api_token_via


def _before_insert(mapper, connection, entry: AuditEntry) -> None:
    if not has_request_context():
        return
    text = via(connection)
    if text is not None:
        detail: dict[str, Any] = dict(entry.detail or {})
        detail.setdefault("via", text)
        entry.detail = detail


sa.event.listen(AuditEntry, "before_insert", _before_insert)
