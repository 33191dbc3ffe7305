"""Sign-in and sign-out (flask-login sessions), throttled per email after repeated failures.

The session cookie is Secure (in production), HttpOnly and SameSite=Lax (``hub.config``); every
form carries a CSRF token (Flask-WTF), and signing in starts a new session (with a new token).
Passwords are checked with werkzeug's hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import time
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.security import check_password_hash, generate_password_hash

from hub.extensions import db, login_manager
from hub.services import audit, sign_in_throttle_key
from hub.store.models import SignInThrottle, User, parse_table_id, utcnow
from hub.web.redirects import safe_next

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

bp = Blueprint("auth", __name__, template_folder=TEMPLATES)

login_manager.login_view = "auth.sign_in"
login_manager.login_message = "Please sign in to open that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "basic"

_THROTTLE_KEY_LENGTH = SignInThrottle.__table__.c.key.type.length  # 400

# Checked when the email is unknown, so a wrong email costs as long as a wrong password.
_DUMMY_HASH = None


@login_manager.user_loader
def load_user(session_id: str) -> User | None:
    """``session_id`` is ``User.get_id()``: the user's id and a fingerprint of their password hash.
    A session from before the last password change (or from before sessions carried the
    fingerprint) no longer matches: it is signed out."""
    user_id, _, fingerprint = str(session_id).partition(":")
    row_id = parse_table_id(user_id)
    if row_id is None or not fingerprint:
        return None
    user = db.session.get(User, row_id)
    if user is None or not user.active:
        return None  # a deactivated user is signed out on their next request
    if not hmac.compare_digest(fingerprint, user.session_fingerprint()):
        return None  # the password changed since this session signed in
    return user


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = generate_password_hash("not-a-real-password")
    return _DUMMY_HASH


def _throttle_key(email: str) -> str:
    """The ``SignInThrottle`` key of ``email``. An address too long for the column (no account has
    one: ``services.MAX_EMAIL`` is shorter) is keyed by its SHA-256 instead, so it is throttled
    like any other unknown email rather than failing to insert (PostgreSQL enforces the length)."""
    key = sign_in_throttle_key(email)
    if len(key) > _THROTTLE_KEY_LENGTH:
        key = "email-sha256:" + hashlib.sha256(email.encode()).hexdigest()
    return key


def locked_for(email: str) -> int:
    """Seconds until ``email`` may try again (0 when not locked)."""
    row = db.session.get(SignInThrottle, _throttle_key(email))
    return 0 if row is None else row.seconds_locked(utcnow())


def reserve_attempt(email: str) -> int:
    """Count an attempt at ``email``'s password before it is checked: the seconds it stays locked
    (nothing counted), else 0 (counted: go on and check it). The count is taken under the row's lock
    (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's transactions take the write lock), so guesses
    sent in parallel get ``SIGN_IN_MAX_FAILURES`` checks in all, not that many each: counted after
    the check, every one of them passed ``locked_for`` before the first was counted. The attempt
    that reaches the maximum is still checked, and locks ``email`` for ``SIGN_IN_LOCK_SECONDS``
    unless it is right; a right password forgets the count (``clear_failures``). Commits."""
    config = current_app.config
    now = utcnow()
    window = timedelta(seconds=int(config["SIGN_IN_LOCK_SECONDS"]))
    key = _throttle_key(email)
    row = None
    while row is None:  # a row deleted between the two statements (see _insert_or_lock): again
        db.session.execute(_insert_or_lock(key, now))
        row = db.session.scalar(sa.select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()
                                .execution_options(populate_existing=True))
    locked = row.seconds_locked(now)
    if locked:
        db.session.commit()
        return locked
    if row.starts_afresh(now, window):  # (a lock here has ended)
        row.failures, row.first_failure_at, row.locked_until = 0, now, None  # a fresh start
    row.failures += 1
    if row.failures >= int(config["SIGN_IN_MAX_FAILURES"]):
        row.locked_until = now + window
    db.session.commit()
    return 0


def _insert_or_lock(key: str, now):
    """The throttle row of ``key`` with no attempt counted, or, when it exists, the same row locked
    by an update that changes nothing: a row only found (``DO NOTHING``) could be deleted by
    another transaction (a right password, the purge) before the ``SELECT ... FOR UPDATE`` that
    follows, which would then find none. (On PostgreSQL the update's lock makes such a delete wait
    for this transaction; ``reserve_attempt`` still tries again should the row be gone.)"""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(SignInThrottle).values(key=key, failures=0, first_failure_at=now).on_conflict_do_update(
        index_elements=[SignInThrottle.key], set_={"key": key})


def clear_failures(email: str) -> None:
    """Forget ``email``'s failed attempts (after a right password); the caller commits."""
    db.session.execute(sa.delete(SignInThrottle).where(SignInThrottle.key == _throttle_key(email)))


def minutes_text(seconds: int) -> str:
    """``seconds`` as whole minutes for a message ("1 minute", "5 minutes")."""
    minutes = max(1, (seconds + 59) // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


SEEN_EVERY_SECONDS = 60  # how often a signed-in user's page views write the session again, at most


@bp.before_app_request
def note_activity():
    """Keep a signed-in browser's session alive while its user opens pages: the session is
    written again (and its cookie's age starts again, ``HUB_SESSION_IDLE_SECONDS``) at most once
    a minute. A live list's poll (``fragment=1``, ``X-Requested-With: fetch``, static/hub.js) is
    no one's activity: a browser left on the Candidates page must still be signed out. Only the
    pages count (the ``ui`` blueprint): the API takes no session, and webhooks, health checks and
    metrics are no one's page."""
    if request.blueprint != "ui" or request.args.get("fragment") or request.headers.get("X-Requested-With") == "fetch":
        return
    if not session.get("_user_id"):
        return
    now = int(time.time())
    seen = session.get("_seen")
    if not isinstance(seen, int) or not 0 <= now - seen < SEEN_EVERY_SECONDS:
        session["_seen"] = now


@bp.route("/sign-in", methods=["GET", "POST"])
def sign_in():
    next_url = safe_next(request.values.get("next"))
    if current_user.is_authenticated:
        return redirect(next_url or url_for("ui.dashboard"))
    if request.method == "GET":
        return render_template("auth/sign_in.html", email="", error=None, next_url=next_url)

    email = (request.form.get("email") or "").strip().lower()
    password = request.form.get("password") or ""
    errors: dict[str, list[str]] = {}
    if not email:
        errors["email"] = ["Enter your email address."]
    if not password:
        errors["password"] = ["Enter your password."]
    if errors:
        return render_template("auth/sign_in.html", email=email, error=None, errors=errors, next_url=next_url), 422

    locked = reserve_attempt(email)
    if locked:
        message = f"Too many failed sign-ins. Try again in {minutes_text(locked)}."
        return render_template("auth/sign_in.html", email=email, error=message, next_url=next_url), 429

    user = db.session.scalar(sa.select(User).where(User.email == email))
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not valid or user is None or not user.active:
        locked = locked_for(email)
        message = (f"Too many failed sign-ins. Try again in {minutes_text(locked)}." if locked
                   else "That email and password do not match an active account.")
        return render_template("auth/sign_in.html", email=email, error=message, next_url=next_url), (
            429 if locked else 401)

    clear_failures(email)
    user.last_login_at = utcnow()
    audit(user.workspace_id, user, "user.sign_in", f"user:{user.email}")
    db.session.commit()
    # A new session: nothing of the one from before sign-in is kept, above all its CSRF token (whoever
    # used this browser before, or planted a session cookie in it, knows that one: the signed-in
    # user's forms could be forged with it). Flask-WTF makes a new token on the next page.
    session.clear()
    session.permanent = True  # valid for HUB_SESSION_IDLE_SECONDS after the last page opened (note_activity)
    login_user(user)
    flash(f"Signed in as {user.email}.", "success")
    return redirect(next_url or url_for("ui.dashboard"))


@bp.post("/sign-out")
def sign_out():
    """Signs the user out everywhere: the session is a signed cookie, so forgetting it in this
    browser alone would leave any copy of it (taken from a shared computer, a proxy's log) signed
    in until it expires. A new session epoch changes the fingerprint every session of the user
    carries (``User.session_fingerprint``): all of them, and remember-me cookies, stop at once."""
    if current_user.is_authenticated:
        db.session.get(User, current_user.id).end_sessions()
        db.session.commit()
        logout_user()
    flash("You are signed out everywhere.", "info")
    return redirect(url_for("auth.sign_in"))
