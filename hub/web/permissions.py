"""Who may do what: ONE table mapping each permission to the roles that hold it.

Every page and API endpoint is decorated with ``require(permission)``; templates ask ``can(...)``
only to hide what the role cannot use (hiding a button is not security; the decorator is).
``docs/permissions.md`` shows the same matrix and ``tests/web/test_permissions.py`` walks every
route for every role.

Limited Team Members see only the candidates of postings they are on (owner, hiring manager or
follower at the source, matched by email): ``visible_posting_ids(user)``.
"""

from __future__ import annotations

import functools
import logging
import time
from typing import Callable

from flask import current_app, g, request
from flask_login import current_user

from hub.store.models import ADMIN, LIMITED_TEAM_MEMBER, ROLES, SUPER_ADMIN, TEAM_MEMBER

log = logging.getLogger("hub.web.permissions")

EVERYONE = frozenset(ROLES)
ADMINS = frozenset({SUPER_ADMIN, ADMIN})
SUPER = frozenset({SUPER_ADMIN})

# permission -> roles holding it. Keep docs/permissions.md in step (a test compares them).
PERMISSIONS: dict[str, frozenset[str]] = {
    "dashboard.view": EVERYONE,
    "account.password": EVERYONE,  # change one's own password
    "candidates.view": EVERYONE,  # Limited Team Members: only postings they are on
    "candidates.view_all": frozenset({SUPER_ADMIN, ADMIN, TEAM_MEMBER}),
    "invitations.manage": ADMINS,  # re-invite, cancel
    "integrations.view": ADMINS,  # list, settings page (read-only for Admin), webhook log
    "integrations.test": ADMINS,  # "Test connection" (read-only call to the vendor)
    "integrations.manage": SUPER,  # enable/disable, settings and credentials, connect, webhooks, revoke
    "pipeline.view": ADMINS,  # attachments, and the live postings/stages/assessments lists
    "pipeline.manage": ADMINS,  # attach, edit, detach
    "activity.view": ADMINS,
    "deliveries.replay": ADMINS,
    "users.view": ADMINS,
    "users.manage": ADMINS,  # an Admin manages users below Super Admin only (see assignable_roles)
    "audit.view": ADMINS,
    "api_tokens.manage": SUPER,
}


def can(permission: str, user=None) -> bool:
    """Whether ``user`` (default: the current user) holds ``permission``."""
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")
    user = current_user if user is None else user
    if not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return False
    return user.role in PERMISSIONS[permission]


def is_api_request() -> bool:
    return request.path.startswith("/api/")


def current_view() -> Callable | None:
    """The view function the request was routed to, or None (routing failed: a 404 or 405)."""
    return current_app.view_functions.get(request.endpoint) if request.endpoint else None


def endpoint_permission() -> str | None:
    """The permission the view the request reached requires (``require``), or None."""
    return getattr(current_view(), "permission", None)


ROLE_REFUSED = "your role does not allow this"  # a 403 from require: the pages and the API say who may


def require(permission: str) -> Callable:
    """Decorator: the current user must hold ``permission``.

    Not signed in: pages redirect to the sign-in page, the API answers 401 JSON.
    Signed in without the permission: 403 (HTML page or JSON envelope, by ``hub.web.errors``).
    Only then is the request's text checked (``hub.web.input_guard``: 400 for a character the
    database cannot store), and then the view looks up what it is about (404).
    """
    if permission not in PERMISSIONS:
        raise KeyError(f"unknown permission {permission!r}")

    def decorator(view: Callable) -> Callable:
        @functools.wraps(view)
        def wrapper(*args, **kwargs):
            from hub.errors import Forbidden, Unauthorized
            from hub.web.input_guard import check_request

            if not current_user.is_authenticated:
                if is_api_request():
                    raise Unauthorized("send a valid API token: Authorization: Bearer hub_...")
                from hub.extensions import login_manager

                return login_manager.unauthorized()
            if not can(permission):
                raise Forbidden(ROLE_REFUSED)
            check_request()  # text the database cannot store: 400, now that the user may ask
            return view(*args, **kwargs)

        wrapper.permission = permission  # type: ignore[attr-defined]
        return wrapper

    return decorator


def assignable_roles(actor) -> tuple[str, ...]:
    """Roles ``actor`` may give to a user: everything for a Super Admin, below Super Admin for an Admin."""
    if actor.role == SUPER_ADMIN:
        return ROLES
    if actor.role == ADMIN:
        return tuple(r for r in ROLES if r != SUPER_ADMIN)
    return ()


def may_manage_user(actor, target) -> bool:
    """An Admin cannot change a Super Admin; nobody changes their own role or deactivates themselves here."""
    if not can("users.manage", actor) or target.workspace_id != actor.workspace_id or target.id == actor.id:
        return False
    return actor.role == SUPER_ADMIN or target.role != SUPER_ADMIN


def visible_posting_ids(user=None) -> set[str] | None:
    """The posting ids whose candidates ``user`` may see; ``None`` means every posting.

    For a Limited Team Member: postings of the active source where the user's email is the owner,
    the hiring manager or a follower. The source's postings are asked for once per request, and the
    source may answer from its own cache (Lever's plugin keeps them up to ``HUB_LEVER_CACHE_SECONDS``,
    60 s by default); a page's own refresh reuses this process's read of the last minute
    (``_polled_visibility``). When no source is enabled or it cannot be reached, nothing is visible
    and ``visibility_notice()`` says why, in plain words (``unreadable_notice``).
    """
    user = current_user if user is None else user
    if can("candidates.view_all", user):
        return None
    cache = g.setdefault("_visible_postings", {})
    if user.id in cache:
        return cache[user.id]
    polled = _polled_visibility(user)
    if polled is not None:
        cache[user.id] = polled
        return polled
    from hub.web.live import LiveError, list_postings

    visible: set[str] = set()
    try:
        postings = list_postings(user.workspace_id)
    except LiveError as exc:  # the vendor's error goes to the log (and to admins' pages), not to her
        log.info("the postings of user %s could not be read: %s", user.id, exc.message,
                 extra={"workspace_id": user.workspace_id})
        g._visibility_notice = unreadable_notice(user.workspace_id)
        postings = []
    email = (user.email or "").lower()
    for posting in postings:
        if email in posting.member_emails():
            visible.add(posting.id)
    cache[user.id] = visible
    if g.get("_visibility_notice") is None:
        _polled()[(user.workspace_id, user.id)] = (time.monotonic() + POLL_VISIBILITY_SECONDS, frozenset(visible))
    return visible


POLL_VISIBILITY_SECONDS = 60.0


def _polled() -> dict[tuple[int, int], tuple[float, frozenset[str]]]:
    """(workspace, user) -> (expiry, visible posting ids), per app and process."""
    return current_app.extensions.setdefault("hub.polled_visibility", {})


def _polled_visibility(user) -> set[str] | None:
    """For the pages' own refreshes (``?fragment=1``, every 4-20 s per open tab): the visible
    postings read at most ``POLL_VISIBILITY_SECONDS`` ago by this process, so a polling tab does not
    ask the ATS each time; None for any other request (read live) or when nothing recent is known."""
    if not request.args.get("fragment"):
        return None
    known = _polled().get((user.workspace_id, user.id))
    if known is None or known[0] < time.monotonic():
        return None
    return set(known[1])


def visibility_notice() -> str | None:
    return g.get("_visibility_notice")


def unreadable_notice(workspace_id: int) -> str:
    """Why a Limited Team Member sees no candidate when the postings they are on cannot be read,
    in plain words (the vendor's error is in the log, not shown to them)."""
    from hub.runtime import get_runtime

    runtime = get_runtime()
    source = runtime.active_source(workspace_id)
    if source is None:
        return ("Your candidates cannot be shown right now: no ATS is enabled in the hub, so it cannot tell "
                "which postings you are on (you see the candidates of those postings only). Ask a Super Admin to "
                "enable one.")
    return (f"Your candidates cannot be shown right now: the hub could not read from {runtime.registry.title(source)} "
            "which postings you are on (you see the candidates of those postings only). Try again in a few "
            "minutes; if it stays like this, tell an admin.")


__all__ = ["PERMISSIONS", "can", "require", "visible_posting_ids", "visibility_notice", "unreadable_notice",
           "assignable_roles", "may_manage_user", "SUPER_ADMIN", "ADMIN", "TEAM_MEMBER", "LIMITED_TEAM_MEMBER"]
