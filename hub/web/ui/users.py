"""``/users``: list, create (the generated password is shown once, on the page the creation
redirects to), change role, reset a password (a new one-time password, shown the same way),
deactivate and reactivate. An Admin manages users below Super Admin: it cannot create a Super Admin, promote
anyone to Super Admin, or change a Super Admin. Nobody changes their own role or deactivates
themselves here (so nobody locks themselves out)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub import services
from hub.errors import Conflict, Forbidden, ValidationFailed
from hub.extensions import db
from hub.store.models import ROLE_LABELS, ROLES, SUPER_ADMIN, User
from hub.web import queries
from hub.web.permissions import assignable_roles, may_manage_user, require
from hub.web.ui import bp, shown_once
from hub.web.ui.form_messages import friendly_errors
from hub.web.ui.helpers import sentence


def _page(values=None, errors=None, created=None, generated=None, reset=None, status=200):
    return render_template("users/list.html", users=queries.users(current_user.workspace_id),
                           roles=assignable_roles(current_user), values=values or {}, errors=errors or {},
                           created=created, generated=generated, reset=reset, may_manage=may_manage_user), status


@bp.get("/users")
@require("users.view")
def users():
    created, generated = _shown("user_created")  # after Create user: shown this once
    if created is not None:
        return _page(created=created, generated=generated)
    reset, generated = _shown("password_reset")  # after Reset password: shown this once
    return _page(reset=reset if generated else None, generated=generated)


def role_names(roles) -> str:
    """Roles by the names the page shows, in a sentence: "Admin, Team Member or Limited Team Member"."""
    names = [ROLE_LABELS.get(role, role) for role in roles]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " or " + names[-1]


def role_refused(actor, role: str) -> str | None:
    """Why Add a user refuses ``role``, in the role names the page shows, never their codes; None
    when ``actor`` may give it. The page's select offers only those: another value is a form sent
    by hand, or a page left open while the actor's own role changed."""
    offered = assignable_roles(actor)
    if role in offered:
        return None
    if role in ROLES:  # a role, not one the actor may give (an Admin and Super Admin)
        return f"Your role cannot create a {ROLE_LABELS[role]}: choose {role_names(offered)}."
    return f"Choose one of the roles offered: {role_names(offered)}."


def unknown_role(role: str) -> ValidationFailed:
    return ValidationFailed(f"unknown role {role[:50]!r}: choose one of {', '.join(ROLES)}", {"role": ["unknown role"]})


def create_user(actor, email: str, role: str, name: str = "", password: str | None = None):
    """Shared by the page and the API: the role must be one the actor may give."""
    if role not in ROLES:
        raise unknown_role(role)
    if role not in assignable_roles(actor):
        raise Forbidden(f"your role cannot create a {ROLE_LABELS.get(role, role)}")
    return services.create_user(actor.workspace_id, email, role, password=password, name=name, actor=actor)


@bp.post("/users")
@require("users.manage")
def users_create():
    values = {"email": (request.form.get("email") or "").strip(), "name": (request.form.get("name") or "").strip(),
              "role": request.form.get("role") or ""}
    errors = {}
    if not values["email"]:
        errors["email"] = ["Enter the new user's email address."]
    refused = role_refused(current_user, values["role"])
    if refused:
        errors["role"] = [refused]
    if not errors:
        try:
            user, generated = create_user(current_user, values["email"], values["role"], values["name"])
        except ValidationFailed as exc:  # the validators' words ("not a valid email address"), as sentences
            db.session.rollback()
            errors = friendly_errors(exc.fields or {"email": [exc.message]})
        except Conflict as exc:  # the email is taken: say where that user is, when it is this workspace
            db.session.rollback()
            here = db.session.scalar(sa.select(User.id).where(User.workspace_id == current_user.workspace_id,
                                                             User.email == services.validate_email(values["email"])))
            where = ("find them in the list above (their role can be changed there), or use another email"
                     if here is not None else "use another email")
            errors = {"email": [sentence(f"{exc.message}: {where}")]}
        else:  # post/redirect/get: a reload of the page cannot create the user again
            shown_once.keep("user_created", user_id=user.id, password=generated)
            return redirect(url_for("ui.users"), code=303)
    return _page(values=values, errors=errors, status=422)


def unmanageable(actor, target, what: str, otherwise: str = "you cannot change this user") -> str:
    """Why ``actor`` may not manage ``target``, someone else (``may_manage_user``): a Super Admin is
    managed by Super Admins only: "an Admin cannot change a Super Admin; ask a Super Admin", with
    ``what`` saying what was refused; else ``otherwise`` (no route gets there: the permission and
    the workspace are checked first)."""
    if target.role == SUPER_ADMIN and actor.role != SUPER_ADMIN:
        label = ROLE_LABELS.get(actor.role, actor.role)
        return f"{'an' if label[:1] in 'AEIOU' else 'a'} {label} cannot {what}; ask a Super Admin"
    return otherwise


def change_user(actor, target, role: str | None = None, active: bool | None = None) -> None:
    """Shared by the page and the API."""
    if not may_manage_user(actor, target):
        raise Forbidden("you cannot change your own role or deactivate yourself; ask another admin"
                        if target.id == actor.id else unmanageable(actor, target, "change a Super Admin"))
    if role is not None and role != target.role:
        if role not in ROLES:
            raise unknown_role(role)
        if role not in assignable_roles(actor):
            raise Forbidden(f"your role cannot make someone a {ROLE_LABELS.get(role, role)}")
        services.set_role(target, role, actor)
    if active is not None and active != target.active:
        services.set_active(target, active, actor)


def _refused(message: str):
    """The users page again, 422, with ``message`` (a change the page's own forms cannot send)."""
    db.session.rollback()
    flash(message, "error")
    return _page(status=422)


@bp.post("/users/<int:user_id>/role")
@require("users.manage")
def users_role(user_id: int):
    target = queries.get_user(current_user.workspace_id, user_id)
    role = request.form.get("role") or ""
    # a role that is none, said in the page's words (the API's message names the codes it takes);
    # one that is a role the actor may not give stays change_user's 403, said by the role's name
    if role not in ROLES and may_manage_user(current_user, target):
        return _refused(f"{target.email} is unchanged: choose one of the roles offered "
                        f"({role_names(assignable_roles(current_user))}).")
    try:
        change_user(current_user, target, role=role)
        flash(f"{target.email} is now {ROLE_LABELS.get(target.role, target.role)}.", "success")
    except ValidationFailed as exc:
        return _refused(exc.message)
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("ui.users"))


ACTIVE_CHOICES = {"1": True, "0": False}  # what the page's Reactivate / Deactivate buttons send


@bp.post("/users/<int:user_id>/active")
@require("users.manage")
def users_active(user_id: int):
    target = queries.get_user(current_user.workspace_id, user_id)
    choice = request.form.get("active")
    if choice not in ACTIVE_CHOICES:
        # said in the page's words: its buttons send 1 or 0, so another value is a form sent by hand
        return _refused(f"The form said neither Deactivate nor Reactivate, so {target.email} is unchanged: "
                        "use the button on their row.")
    active = ACTIVE_CHOICES[choice]
    try:
        change_user(current_user, target, active=active)
        flash(f"{target.email} is {'reactivated: they sign in again, and need new API tokens' if active else 'deactivated: they are signed out and their API tokens are revoked'}.",
              "success")
    except Conflict as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("ui.users"))


def reset_password(actor, target) -> str:
    """A new one-time password for ``target`` (returned, to show once). The same rule as changing a
    role: an Admin resets users below Super Admin; nobody resets their own here."""
    if not may_manage_user(actor, target):
        raise Forbidden("change your own password under Change password, with your current one"
                        if target.id == actor.id else unmanageable(actor, target, "reset a Super Admin's password",
                                                                   "you cannot reset this user's password"))
    return services.set_password(target, None, actor)


@bp.post("/users/<int:user_id>/password")
@require("users.manage")
def users_password(user_id: int):
    """Post/redirect/get: the new password is shown once, by the next ``GET /users``
    (``hub.web.ui.shown_once``); reloading the page neither shows it again nor resets again."""
    target = queries.get_user(current_user.workspace_id, user_id)
    shown_once.keep("password_reset", user_id=target.id, password=reset_password(current_user, target))
    return redirect(url_for("ui.users"), code=303)


def _shown(kind: str):
    """``(user, password)`` sealed by ``shown_once.keep(kind, user_id=..., password=...)``, the user
    still of this workspace; or ``(None, None)``."""
    values = shown_once.take(kind)
    target = shown_once.user_of(values)
    if target is None:
        return None, None
    password = values.get("password")
    return target, password if isinstance(password, str) else None
