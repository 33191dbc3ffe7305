"""``/api/v1/users`` (and a user's password reset), ``/api/v1/audit`` and ``/api/v1/me``."""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from hub.web import queries
from hub.web.api import bp
from hub.store.models import AuditEntry
from hub.web.api.common import invalid_query_value, load_body, older_than, query_args, takes_query
from hub.web.permissions import PERMISSIONS, can, require
from hub.web.schemas import (
    AuditQuerySchema, AuditSchema, EmptySchema, MeSchema, UserCreatedSchema, UserCreateSchema, UserPasswordResetSchema,
    UserPatchSchema, UserSchema,
)
from hub.web.ui.users import change_user, create_user, reset_password


@bp.get("/me")
@require("dashboard.view")
def me():
    return jsonify(MeSchema().dump({"user": current_user, "permissions": sorted(p for p in PERMISSIONS if can(p))}))


@bp.get("/users")
@require("users.view")
def list_users():
    return jsonify({"items": UserSchema(many=True).dump(queries.users(current_user.workspace_id))})


@bp.post("/users")
@require("users.manage")
def create():
    body = load_body(UserCreateSchema)
    user, generated = create_user(current_user, body["email"], body["role"], body.get("name") or "",
                                  body.get("password"))
    data = UserCreatedSchema().dump(user)
    data["generated_password"] = generated
    response = jsonify(data)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_user", user_id=user.id)
    return response


@bp.get("/users/<int:user_id>")
@require("users.view")
def get_user(user_id: int):
    return jsonify(UserSchema().dump(queries.get_user(current_user.workspace_id, user_id)))


@bp.patch("/users/<int:user_id>")
@require("users.manage")
def patch(user_id: int):
    body = load_body(UserPatchSchema)
    target = queries.get_user(current_user.workspace_id, user_id)
    change_user(current_user, target, role=body.get("role"), active=body.get("active"))
    return jsonify(UserSchema().dump(target))


@bp.post("/users/<int:user_id>/password-reset")
@require("users.manage")
def password_reset(user_id: int):
    load_body(EmptySchema)
    target = queries.get_user(current_user.workspace_id, user_id)
    generated = reset_password(current_user, target)
    data = UserPasswordResetSchema().dump(target)
    data["generated_password"] = generated
    response = jsonify(data)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/audit")
@require("audit.view")
@takes_query(AuditQuerySchema)
def audit():
    args = query_args()
    user = args.get("user")
    if user is not None and user != queries.NO_USER:
        user = int(user)
        if user not in {person.id for person in queries.users(current_user.workspace_id)}:
            raise invalid_query_value("user", f"no user with id {user} in this workspace")
    entries = queries.audit_query(current_user.workspace_id, args.get("action"), user)
    page = queries.paginate(older_than(entries, AuditEntry.id, args), args["page"], args["per_page"])
    return jsonify({"items": AuditSchema(many=True).dump(page.items), "page": page.page,
                    "per_page": page.per_page, "total": page.total, "pages": page.pages})

