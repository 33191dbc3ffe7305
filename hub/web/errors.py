"""Error responses: JSON ``{"error": {"code", "message"}}`` for API, webhook and health paths,
an HTML page for the UI. A 500 rolls the session back and never shows a stack trace. A database
that cannot be reached answers 503, so webhook senders retry; so does one whose schema is not this
version's (a web process started before ``hub db upgrade``), saying what to run as ``/readyz`` does."""

from __future__ import annotations

import logging
import re

from flask import Flask, jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError, TimeoutError as PoolTimeout
from werkzeug.exceptions import ClientDisconnected, HTTPException

from hub.errors import HubError, ServiceUnavailable
from hub.extensions import db
from hub.logging_setup import RepeatLimiter, redact_webhook_keys
from hub.store.crypto import SecretsUnreadable

log = logging.getLogger("hub.web")
# every request meets an outage alike: its line is written at most once a minute per process,
# with a count of the ones held back, not once per refused request
outage_log = logging.getLogger("hub.web.outage")
outage_log.addFilter(RepeatLimiter())

JSON_PREFIXES = ("/api/", "/webhooks/", "/healthz", "/readyz", "/metrics")
# a page's form sent without its valid CSRF token: a tab left open too long, or a form from elsewhere
CSRF_MESSAGE = ("This form has expired or did not come from this hub's pages. "
                "Reload the page and send it again.")
# the same, when the session cookie (which holds the form's token) cannot have come back: a secure
# cookie, and a request over plain HTTP (a production configuration tried without TLS)
CSRF_OVER_HTTP_MESSAGE = ("This browser did not send the hub's session cookie back: the hub sets it for HTTPS "
                          "only (HUB_SESSION_COOKIE_SECURE) and this page came over plain HTTP. Open the hub at "
                          "its https:// address, or, to try it over HTTP, set HUB_SESSION_COOKIE_SECURE=false.")

# a body that ended before its Content-Length, or whose chunked encoding broke off (hub.web.input_guard)
BODY_CUT_SHORT = ("the request body ended before all of it arrived (the connection closed, or its chunked "
                  "encoding is malformed): send it again")


def log_database_unavailable(exc: BaseException) -> None:
    """One line (at most once a minute per process, ``outage_log``) saying the database is away and
    why, in the driver's words: a request answered 503 and a ``/readyz`` probe alike. The exception's
    type alone ("OperationalError") left an operator to guess between a server down, a database or
    role that does not exist and a refused password."""
    from hub.store.outage import failure_reason

    reason = failure_reason(exc)
    outage_log.error("database unavailable: %s%s", type(exc).__name__, f" ({reason})" if reason else "")


def wants_json() -> bool:
    if request.path.startswith(JSON_PREFIXES):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def json_error(status: int, code: str, message: str, extra: dict | None = None):
    """The hub's JSON error: ``{"error": {"code", "message", ...extra}}`` with ``status``."""
    body = {"error": {"code": code, "message": message}}
    if extra:
        body["error"].update(extra)
    return jsonify(body), status


def who_may(permission: str | None = None) -> str | None:
    """Whom to ask for what a 403 refused, from the permission table (``PERMISSIONS``): the roles
    that hold the permission of the view the request reached ("a Super Admin", "an Admin or a Super
    Admin"), the least powerful first; None when the view requires none, or no one holds it."""
    from hub.store.models import ROLE_LABELS, ROLES
    from hub.web.permissions import PERMISSIONS, endpoint_permission

    if permission is None:
        permission = endpoint_permission()
    holders = [role for role in reversed(ROLES) if role in PERMISSIONS.get(permission, ())]
    if not holders:
        return None
    names = [_a(ROLE_LABELS[role]) for role in holders]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


# what each permission allows, as the 403 page says a role may not do it ("A Team Member may not
# create, list or revoke API tokens."); docs/permissions.md's "What it allows", in the page's words
PERMISSION_WORDS = {
    "dashboard.view": "see the dashboard",
    "account.password": "change their own password",
    "candidates.view": "see the candidates and their invitations",
    "candidates.view_all": "see the candidates of every posting",
    "invitations.manage": "re-invite candidates or cancel their invitations",
    "integrations.view": "see the integrations, their settings and the webhooks they received",
    "integrations.test": "test an integration's connection",
    "integrations.manage": ("change an integration: enable or disable it, change its settings and credentials, "
                            "connect it, register its webhooks or revoke it"),
    "pipeline.view": "see the pipeline: which assessment is attached to which posting's stage",
    "pipeline.manage": "attach, edit or detach assessments, or invite the candidates already in a stage",
    "activity.view": "see the events the hub received and their deliveries",
    "deliveries.replay": "retry or replay deliveries",
    "users.view": "see the hub's users",
    "users.manage": "create users, change their roles, reset their passwords or deactivate them",
    "audit.view": "see the audit log",
    "api_tokens.manage": "create, list or revoke API tokens",
}
# the people a 403 page names, at most: the rest are counted ("and 3 more")
MAX_PEOPLE_NAMED = 5


def _a(label: str) -> str:
    """``label`` with its indefinite article: "an Admin", "a Super Admin"."""
    return ("an " if label[:1] in "AEIOU" else "a ") + label


def same_site_referrer() -> str | None:
    """The page the request came from, as a path on this hub, for a 403 page's way back: None when
    it came from another site (or says nothing), or from this very address. Only the path and the
    query are kept (a leading "//" collapsed), so the link cannot lead to another site."""
    from urllib.parse import urlsplit

    referrer = request.referrer
    if not referrer:
        return None
    try:
        parts = urlsplit(referrer)
    except ValueError:
        return None
    # the host only: behind a proxy that ends TLS the hub sees http where the browser had https,
    # and the link keeps no scheme or host anyway
    if parts.scheme not in ("http", "https") or parts.netloc != request.host:
        return None
    back = "/" + parts.path.lstrip("/") + (f"?{parts.query}" if parts.query else "")
    here = request.full_path.rstrip("?")
    return None if back == here else back


def forbidden_help(message: str) -> dict:
    """What a 403 page of the permission table says beyond its message (the template,
    ``error.html``): what the viewer's role may not do here (``may_not``), whom to ask (``ask``:
    the roles holding the permission) and the active people of the workspace who hold it
    (``people``, the least powerful role first, at most ``MAX_PEOPLE_NAMED``; ``more``: how many
    others), and the way back to the page the viewer came from, if it is on this hub (``back``).
    A 403 of a rule ("An Admin cannot change a Super Admin") says whom to ask in its message: it
    gets only the way back."""
    from flask_login import current_user

    from hub.web.permissions import PERMISSIONS, ROLE_REFUSED, endpoint_permission

    info = {"back": same_site_referrer(), "may_not": None, "ask": None, "people": [], "more": 0}
    if message != ROLE_REFUSED or not current_user.is_authenticated:
        return info
    permission = endpoint_permission()
    info["ask"] = who_may(permission)
    if permission in PERMISSION_WORDS:
        info["may_not"] = f"{_a(current_user.role_label)} may not {PERMISSION_WORDS[permission]}"
    if info["ask"] is None:
        return info
    try:
        from hub.store.models import ROLES, User

        holders = [role for role in reversed(ROLES) if role in PERMISSIONS[permission]]
        rank = {role: n for n, role in enumerate(holders)}
        people = db.session.query(User).filter(User.workspace_id == current_user.workspace_id,
                                               User.active.is_(True), User.role.in_(holders)).all()
    except Exception:  # whom to ask by name is a help: the page shows without it
        log.warning("the people to ask could not be read for a 403 page", exc_info=True)
        _rollback()
        return info
    # emails only to a viewer who may see the users (users.view): to the others, names alone, as a
    # colleague would say them; someone without a name is then left out
    from hub.web.permissions import can

    sees_emails = can("users.view")
    if not sees_emails:
        people = [user for user in people if user.name]
    people.sort(key=lambda user: (rank[user.role], (user.name or user.email).lower(), user.email))
    info["people"] = [{"name": user.name or "", "email": user.email if sees_emails else "", "role": user.role_label}
                      for user in people[:MAX_PEOPLE_NAMED]]
    info["more"] = max(0, len(people) - MAX_PEOPLE_NAMED)
    return info


def _permission_refused(message: str) -> tuple[str, dict] | None:
    """For the JSON answer of a 403 from ``require``: the message naming the caller's role, the
    permission the endpoint needs and who holds it, and ``permission`` for a script; else None."""
    from flask_login import current_user

    from hub.web.permissions import ROLE_REFUSED, endpoint_permission

    if message != ROLE_REFUSED or not current_user.is_authenticated:
        return None
    permission = endpoint_permission()
    holders = who_may(permission)
    if permission is None or holders is None:
        return None
    return (f"your role ({current_user.role_label}) does not allow this: it needs the permission {permission}, "
            f"which {holders} has", {"permission": permission})


def error_response(status: int, code: str, message: str, extra: dict | None = None):
    if wants_json():
        if status == 403 and (refused := _permission_refused(message)) is not None:
            message, extra = refused[0], {**(extra or {}), **refused[1]}
        return json_error(status, code, message, extra)
    try:
        # what the role may not do and whom to ask, for a 403 of the permission table (not of a
        # rule such as "not your own role"), and the way back
        forbidden = forbidden_help(message) if status == 403 else None
        ask = forbidden["ask"] if forbidden else None
        return render_template("error.html", status=status, code=code, message=message, ask=ask,
                               forbidden=forbidden), status
    except Exception:  # the template itself failed: plain text, still no traceback
        return f"{status} {message}", status, {"Content-Type": "text/plain; charset=utf-8"}


# SQLite's words for a statement naming a column or table its database does not have (a schema
# behind the code's): "no such column: users.session_epoch", "table webhook_log has no column named ...";
# PostgreSQL's SQLSTATEs for the same: undefined_column, undefined_table
_MISSING_IN_SCHEMA = re.compile(r"no such (column|table)|has no column named")
_UNDEFINED_IN_SCHEMA = ("42703", "42P01")


def _schema_lacks(exc) -> bool:
    """``exc`` names a column or table the database does not have: no outage, whatever the
    exception's class (an OperationalError on SQLite; a connection of the webhooks' own,
    ``hub.store.dedicated``, marks every error of PostgreSQL's a lost connection)."""
    orig = getattr(exc, "orig", None)
    return getattr(orig, "sqlstate", None) in _UNDEFINED_IN_SCHEMA or bool(_MISSING_IN_SCHEMA.search(str(orig or "")))


def _rollback() -> None:
    try:
        db.session.rollback()
    except Exception:
        log.warning("rollback after an error failed", exc_info=True)


def register(app: Flask) -> None:
    @app.errorhandler(HubError)
    def hub_error(exc: HubError):
        _rollback()
        extra = {"fields": exc.fields} if getattr(exc, "fields", None) else getattr(exc, "details", None)
        return error_response(exc.status, exc.code, exc.message, extra)

    @app.errorhandler(SecretsUnreadable)
    def secrets_unreadable(exc: SecretsUnreadable):
        """Stored secrets this process's keys cannot decrypt (a settings save that keeps the others,
        a page that needs them): the operator's to fix, said as such, never a 500."""
        _rollback()
        log.error("%s %s: %s", request.method, redact_webhook_keys(request.path), exc)
        from hub.web.ui.helpers import sentence

        return error_response(503, "secrets_unreadable", sentence(exc))

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        code = (exc.name or "error").lower().replace(" ", "_")
        message = exc.description or exc.name
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            allowed = sorted(m for m in exc.valid_methods if m not in ("HEAD", "OPTIONS")) or sorted(exc.valid_methods)
            message = f"{request.method} is not allowed at this address; it takes {', '.join(allowed)}"
        if exc.code == 413:
            message = f"request body too large (limit {app.config['MAX_CONTENT_LENGTH']} bytes)"
        if isinstance(exc, ClientDisconnected):  # Werkzeug's text is its generic 400's: it says nothing
            message = BODY_CUT_SHORT
        if exc.code == 400 and "CSRF" in str(exc.description):
            # Flask-WTF's "The CSRF token is missing." (or expired, or invalid) tells a person nothing
            over_http = (not request.is_secure and app.config.get("SESSION_COOKIE_SECURE")
                         and "session token is missing" in str(exc.description))
            code, message = "csrf_failed", CSRF_OVER_HTTP_MESSAGE if over_http else CSRF_MESSAGE
        response = make_response(error_response(exc.code or 500, code, message))
        if exc.code == 405 and getattr(exc, "valid_methods", None):
            response.headers["Allow"] = ", ".join(exc.valid_methods)
        return response

    def schema_not_ready():
        """The 503 of a database whose schema is not the one this code needs (a web process of a
        new version started before ``hub db upgrade``, as gunicorn's may be: a missing column is
        an OperationalError on SQLite, a ProgrammingError on PostgreSQL), with ``/readyz``'s
        sentence; None when the schema is this version's or cannot be read (an outage). A ready
        process knows its schema is at head (``schema_check`` keeps that): it reads nothing here."""
        from hub.web.health import schema_check

        try:
            said = schema_check()
        except Exception:
            return None
        finally:
            _rollback()
        if said == "ok" or said.startswith("unavailable:"):
            return None
        outage_log.error("database schema not this version's: %s", said)
        return error_response(503, ServiceUnavailable.code, said)

    @app.errorhandler(OperationalError)
    @app.errorhandler(PoolTimeout)
    def database_down(exc):
        _rollback()
        # any other OperationalError (a connection refused, a lock) is an outage, which no schema read should slow
        if _schema_lacks(exc) and (behind := schema_not_ready()) is not None:
            return behind
        log_database_unavailable(exc)
        return error_response(503, ServiceUnavailable.code, "the database is unavailable; retry later")

    @app.errorhandler(DBAPIError)
    def database_error(exc: DBAPIError):
        _rollback()
        if exc.connection_invalidated and not _schema_lacks(exc):
            return error_response(503, ServiceUnavailable.code, "the database is unavailable; retry later")
        if (behind := schema_not_ready()) is not None:
            return behind
        if exc.connection_invalidated:
            return error_response(503, ServiceUnavailable.code, "the database is unavailable; retry later")
        log.exception("database error")  # the engine hides statement parameters: no webhook key or secret
        if request.path.startswith("/webhooks/"):
            # the webhook was not stored: the sender must send it again (a database not migrated
            # yet, a schema the code does not expect); a 500 would say the same, less plainly
            return error_response(503, ServiceUnavailable.code,
                                  "the hub cannot store webhooks right now; send it again later")
        return error_response(500, "internal_error", "an internal error occurred; it has been logged")

    @app.errorhandler(Exception)
    def unexpected(exc: Exception):
        _rollback()
        # a webhook URL's last segment authenticates its sender: never in a log line
        log.exception("unhandled error on %s %s", request.method, redact_webhook_keys(request.path))
        return error_response(500, "internal_error", "an internal error occurred; it has been logged")
