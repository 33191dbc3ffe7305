"""``/settings/api-tokens`` (Super Admin): create an API token for a user (shown once, on the page
the creation redirects to; only its hash is stored), list and revoke. The API acts as the token's user, with that user's role.

The creation is audited once, as ``api_token.create`` by the Super Admin who made the token, with
the token's id and, for a token acting as someone else, whom it acts as (``acts_as``). What such
a token does is audited as its user, with the token and its issuer in the detail
(``hub.web.api.token_audit``)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user

from hub import services
from hub.extensions import db
from hub.store.models import ApiToken
from hub.web import queries
from hub.web.permissions import require
from hub.web.ui import bp, shown_once


def _page(token=None, created=None, values=None, errors=None, status=200):
    tokens = list(db.session.scalars(sa.select(ApiToken).where(ApiToken.workspace_id == current_user.workspace_id)
                                     .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc())))
    users = [u for u in queries.users(current_user.workspace_id) if u.active]
    return render_template("settings/api_tokens.html", tokens=tokens, users=users, token=token, created=created,
                           values=values or {}, errors=errors or {}), status


@bp.get("/settings/api-tokens")
@require("api_tokens.manage")
def api_tokens():
    created = shown_once.take("api_token")  # after Create token: shown this once
    user = shown_once.user_of(created)
    if user is None or not isinstance(created.get("token"), str):
        return _page()
    return _page(token=created["token"], created={"name": created.get("name") or "", "user": user})


@bp.post("/settings/api-tokens")
@require("api_tokens.manage")
def api_tokens_create():
    name = (request.form.get("name") or "").strip()
    user_id = request.form.get("user_id") or str(current_user.id)
    errors = {}
    if not name:
        errors["name"] = ["Enter a name: what will use the token, e.g. “reporting script”."]
    elif len(name) > 200:
        errors["name"] = ["At most 200 characters."]
    elif services.hidden_character(name):
        errors["name"] = [f"Holds an invisible or control character ({services.hidden_character(name)})."]
    # Compared as text: the form sends a user's id as is, and any other value (Unicode digits such
    # as "²", a number of thousands of digits) simply matches no user, without int() refusing it.
    user = next((u for u in queries.users(current_user.workspace_id) if str(u.id) == user_id and u.active), None)
    if user is None:
        errors["user_id"] = ["Choose an active user of this workspace."]
    if errors:
        return _page(values={"name": name, "user_id": user_id}, errors=errors, status=422)
    token = services.create_api_token(user, name, issuer=current_user)
    # post/redirect/get: a reload of the page cannot create a second token
    shown_once.keep("api_token", token=token, name=name, user_id=user.id)
    return redirect(url_for("ui.api_tokens"), code=303)


@bp.post("/settings/api-tokens/<int:token_id>/revoke")
@require("api_tokens.manage")
def api_tokens_revoke(token_id: int):
    row = services.revoke_api_token(current_user.workspace_id, token_id, current_user)
    flash(f"The token “{row.name}” is revoked; requests using it are refused from now on.", "success")
    return redirect(url_for("ui.api_tokens"))
