"""``/account/password``: any signed-in user changes their own password (the current one, the new
one twice). Wrong current passwords count as failed sign-ins for the email from this address
(``hub.web.auth``), so a borrowed session cannot be used to guess the password. On success every other session of the
user stops working (``User.get_id``) and this one is signed in again with the new password."""

from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from werkzeug.security import check_password_hash

from hub import services
from hub.extensions import db
from hub.web.auth import forget_attempt, locked_for, reserve_attempt, throttled, wait_text
from hub.web.permissions import require
from hub.web.ui import bp


def _page(errors=None, error=None, status=200):
    return render_template("account/password.html", errors=errors or {}, error=error,
                           min_length=services.MIN_PASSWORD, max_length=services.MAX_PASSWORD), status


def _throttled(wait: int):
    return throttled("account/password.html", f"Too many wrong passwords. Try again in {wait_text(wait)}.", wait,
                     errors={}, min_length=services.MIN_PASSWORD, max_length=services.MAX_PASSWORD)


@bp.get("/account/password")
@require("account.password")
def account_password():
    return _page()


@bp.post("/account/password")
@require("account.password")
def account_password_change():
    user = current_user._get_current_object()
    current = request.form.get("current_password") or ""
    new = request.form.get("new_password") or ""
    confirm = request.form.get("confirm_password") or ""

    wait = reserve_attempt(user.email) if current else locked_for(user.email)
    if wait:
        return _throttled(wait)

    errors: dict[str, list[str]] = {}
    if not current:
        errors["current_password"] = ["Enter your current password."]
    if not new:
        errors["new_password"] = ["Enter a new password."]
    elif not new.strip():
        errors["new_password"] = ["Use some characters other than spaces."]
    elif len(new) < services.MIN_PASSWORD:
        errors["new_password"] = [f"Use at least {services.MIN_PASSWORD} characters "
                                  f"(this one has {len(new)})."]
    elif len(new) > services.MAX_PASSWORD:
        errors["new_password"] = [f"Use at most {services.MAX_PASSWORD} characters (this one has {len(new)})."]
    elif current and new == current:
        errors["new_password"] = ["Choose a password different from your current one."]
    if not confirm:
        errors["confirm_password"] = ["Enter the new password again."]
    elif new and confirm != new:
        errors["confirm_password"] = ["This does not match the new password."]
    if current and not check_password_hash(user.password_hash, current):
        wait = locked_for(user.email)  # this attempt was counted before the check
        if wait:
            return _throttled(wait)
        errors["current_password"] = ["That is not your current password."]
    elif current:  # right: the attempt counted before the check is taken back, whatever else is wrong
        forget_attempt(user.email)  # (once: each call takes one attempt back)
        db.session.commit()
    if errors:
        return _page(errors=errors, status=422)

    services.set_password(user, new, actor=user)  # commits
    login_user(user)  # this session carries the new password's fingerprint: it stays signed in
    flash("Your password is changed. Sessions signed in with the old password elsewhere are signed out.", "success")
    return redirect(url_for("ui.account_password"))
