"""The JSON API under ``/api/v1``: everything the admin pages do, for scripts and other systems.

Authentication is by API token only: ``Authorization: Bearer hub_...`` (tokens are created by a
Super Admin on the API tokens page and stored hashed). A request acts as the token's user
with that user's role; the same ``require(permission)`` checks as the pages apply. When the token
was issued by someone else (a Super Admin may issue a token acting as any user), the audit entries
of its requests name the token and its issuer (``token_audit``), and it works only while its issuer
is an active Super Admin (``ApiToken.suspended``). Session
cookies are ignored here, so the API needs no CSRF token. Errors are ``{"error": {"code",
"message"}}`` (plus ``fields`` for validation errors); a path that matches no route answers 404
naming why, an id that is not a whole number or no such endpoint (``hub.web.paths``). The OpenAPI
document is served at ``/api/v1/openapi.json``.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, g, request

from hub.errors import Unauthorized
from hub.extensions import csrf, db, login_manager
from hub.services import hash_token
from hub.store.models import ApiToken, utcnow
from hub.web.api import token_audit
from hub.web.api.common import declared_query, query_refusal
from hub.web.input_guard import check_request
from hub.web.permissions import can, current_view, endpoint_permission

bp = Blueprint("api", __name__, url_prefix="/api/v1")
csrf.exempt(bp)

LAST_USED_GRANULARITY = timedelta(minutes=1)


@bp.before_request
def authenticate():
    """Resolve the bearer token to its user (or stay anonymous); never use the session cookie."""
    g._login_user = login_manager.anonymous_user()  # flask-login reads the current user from here
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header:
        return None
    if scheme.lower() != "bearer" or not token:
        g.api_token_refused = "invalid_request"  # the WWW-Authenticate challenge's error (``no_store``)
        raise Unauthorized("use the header Authorization: Bearer <token>")
    row = db.session.scalar(sa.select(ApiToken).where(ApiToken.token_hash == hash_token(token)))
    user = row.user if row is not None else None
    if row is None or row.revoked_at is not None or user is None or not user.active \
            or user.workspace_id != row.workspace_id:
        g.api_token_refused = "invalid_token"
        raise Unauthorized("this API token is not valid: unknown, revoked, or its user is deactivated")
    if row.suspended:
        g.api_token_refused = "invalid_token"
        raise Unauthorized("this API token is not valid: it acts as someone other than whoever created it, and they "
                           "are deactivated or no longer a Super Admin; ask a Super Admin for a new token")
    token_audit.remember(row)  # so that its audit entries say which token, issued by whom
    now = utcnow()
    if row.last_used_at is None or now - row.last_used_at > LAST_USED_GRANULARITY:
        row.last_used_at = now
        db.session.commit()
    g._login_user = user
    g.api_token_id = row.id
    return None


@bp.before_request
def refuse_unknown_query_parameters():
    """422 for any query parameter of an endpoint that declares none (``takes_query``; those that do
    refuse unknown ones as they load them), once the caller may use the endpoint: a 401 or 403 comes
    first (the view's ``require``), then a 400 for text the database cannot store
    (``hub.web.input_guard``). OPTIONS is answered by the framework whatever its query."""
    if not request.args or request.method == "OPTIONS":
        return None
    view = current_view()
    if view is None or declared_query(view) is not None:
        return None
    permission = endpoint_permission()
    if permission is not None and not can(permission):
        return None
    check_request()
    raise query_refusal(list(request.args.keys()), [])


@bp.after_app_request
def no_store(response):
    """Every answer under /api, the 404 of a path that is no endpoint and a 405 included (routing
    answers those before the blueprint is known). A 401 also says how to authenticate, as HTTP asks
    of every 401 (RFC 9110 11.6.1; the bearer scheme's parameters: RFC 6750 3): ``WWW-Authenticate:
    Bearer``, with ``error="invalid_token"`` for a token the hub does not take and
    ``error="invalid_request"`` for a header of another form."""
    if request.path.startswith(bp.url_prefix + "/") or request.path == bp.url_prefix:
        response.headers.setdefault("Cache-Control", "no-store")
        if response.status_code == 401:
            refused = g.get("api_token_refused")
            response.headers.setdefault("WWW-Authenticate", f'Bearer error="{refused}"' if refused else "Bearer")
    return response


from hub.web.api import activity, integrations, invitations, openapi, pipeline, users  # noqa: E402,F401
