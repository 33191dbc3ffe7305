"""Sign-in and sign-out (flask-login sessions), throttled after repeated failures: per email and
client address, per address, and (a slowdown, never a lockout) per email (``_counters``). A
browser that signed in to an email before (its "known browser" cookie, ``known_browser``) is
counted by itself alone: nobody else's failures slow it down or lock it out.

The session cookie is Secure (in production), HttpOnly and SameSite=Lax (``hub.config``); every
form carries a CSRF token (Flask-WTF), and signing in starts a new session (with a new token).
Passwords are checked with werkzeug's hashing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import os
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, current_app, flash, g, redirect, render_template, request, session, url_for
from flask_login import current_user, login_user, logout_user
from itsdangerous import BadData, URLSafeTimedSerializer
from werkzeug.security import check_password_hash, generate_password_hash

from hub.extensions import db, login_manager
from hub.services import (
    audit, sign_in_throttle_address_key, sign_in_throttle_browser_key, sign_in_throttle_key, sign_in_throttle_pair_key,
)
from hub.store.models import SignInThrottle, User, parse_table_id, utcnow
from hub.web.redirects import safe_next

TEMPLATES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "templates")

bp = Blueprint("auth", __name__, template_folder=TEMPLATES)
log = logging.getLogger("hub.web.auth")

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


def _throttle_key(email: str, address: str | None = None) -> str:
    """The ``SignInThrottle`` key of ``email`` (from every address), or of ``email`` from
    ``address``. An email too long for the column (no account has one: ``services.MAX_EMAIL`` is
    shorter) is keyed by its SHA-256 instead, so it is throttled like any other unknown email rather
    than failing to insert (PostgreSQL enforces the length)."""
    key = sign_in_throttle_key(email) if address is None else sign_in_throttle_pair_key(email, address)
    if len(key) > _THROTTLE_KEY_LENGTH:
        hashed = "email-sha256:" + hashlib.sha256(email.encode()).hexdigest()
        key = hashed if address is None else f"from:{address} {hashed}"
    return key


def client_address() -> str:
    """The request's client address as the throttle counts it: ``request.remote_addr``, the
    connection's, or behind ``HUB_TRUSTED_PROXIES`` proxies the one they forwarded (``hub.app``).
    An IPv6 client counts by its /64, which one host or home usually holds whole (counted per
    address, it could try again from a new one each time); an IPv4 address mapped into IPv6 as
    the IPv4 address. None (a Unix socket with no proxy header believed) is ``unknown``."""
    try:
        address = ipaddress.ip_address((request.remote_addr or "").partition("%")[0])
    except ValueError:
        return "unknown"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


@dataclass(frozen=True)
class _Counter:
    """One count a sign-in attempt adds to: ``limit`` failures within ``SIGN_IN_LOCK_SECONDS``, then
    ``wait`` before the next attempt. ``locks``: the count starts again when that wait is over
    (a lock); otherwise (a slowdown) it goes on for the window, each further attempt waiting again.
    ``forgotten``: a right password forgets the count, else it only takes its own attempt back."""

    key: str
    limit: int
    wait: timedelta
    locks: bool
    forgotten: bool = False


KNOWN_BROWSER_COOKIE = "hub_known_browser"
_KNOWN_BROWSER_SALT = "hub.web.auth.known-browser"


def _known_browser_signer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.secret_key, salt=_KNOWN_BROWSER_SALT)


def _email_digest(email: str) -> str:
    """How the cookie names its email: a digest keyed with the app's secret (a cookie read off a
    shared computer does not confirm a guessed email), short, as the cookie is sent with every page."""
    secret = current_app.secret_key
    key = secret.encode() if isinstance(secret, str) else bytes(secret)
    return hmac.new(key, email.encode(), hashlib.sha256).hexdigest()[:32]


def known_browser(email: str) -> str | None:
    """The id of this browser when it signed in to ``email`` within ``SIGN_IN_KNOWN_BROWSER_DAYS``
    (its ``hub_known_browser`` cookie, signed with the app's secret, names that email); else None.
    OWASP's "device cookies": an attempt from a known browser counts only against that browser and
    email (``_counters``), so guesses from elsewhere (other addresses, or the same proxy's) neither
    slow its owner down nor lock them out, and the cookie, were it stolen, buys its thief
    ``SIGN_IN_MAX_FAILURES`` guesses a lock, after which the browser counts as unknown."""
    days = int(current_app.config["SIGN_IN_KNOWN_BROWSER_DAYS"])
    raw = request.cookies.get(KNOWN_BROWSER_COOKIE)
    if not days or not raw:
        return None
    try:
        data = _known_browser_signer().loads(raw, max_age=days * 86400)
    except BadData:
        return None
    if not isinstance(data, dict) or data.get("e") != _email_digest(email):
        return None
    browser = data.get("b")
    return browser if isinstance(browser, str) and len(browser) == 32 and browser.isalnum() else None


def remember_browser(response, email: str) -> None:
    """Make this browser known for ``email`` (after a right password): a new id each sign-in, for
    ``SIGN_IN_KNOWN_BROWSER_DAYS``, HttpOnly, Secure as the session cookie, SameSite=Lax. A browser
    is known for one email at a time: the last one signed in to."""
    days = int(current_app.config["SIGN_IN_KNOWN_BROWSER_DAYS"])
    if not days:
        return
    value = _known_browser_signer().dumps({"b": secrets.token_hex(16), "e": _email_digest(email)})
    response.set_cookie(KNOWN_BROWSER_COOKIE, value, max_age=days * 86400, path="/", httponly=True,
                        secure=bool(current_app.config.get("SESSION_COOKIE_SECURE")), samesite="Lax")


def _attempt_counters(email: str, trust_browser: bool) -> list[_Counter]:
    """What this request's attempt at ``email`` counts towards, decided once per request (so the
    check after a wrong password reads the counts the attempt was added to): with
    ``trust_browser`` (the sign-in page), its known browser's count when it comes from one whose
    count is not locked; else ``_counters``' three. (Change password does not trust the browser:
    its wrong passwords come from a signed-in session, perhaps a stolen one, in that very browser.)"""
    decided = g.setdefault("_sign_in_counters", {})
    if email not in decided:
        browser = known_browser(email) if trust_browser else None
        if browser is not None:
            row = db.session.get(SignInThrottle, _browser_counter(browser, email).key)
            if row is not None and row.seconds_locked(utcnow()):
                browser = None  # locked by its own failures: an unknown browser from here on
        decided[email] = [_browser_counter(browser, email)] if browser else _counters(email, client_address())
    return decided[email]


def _browser_counter(browser: str, email: str) -> _Counter:
    config = current_app.config
    return _Counter(sign_in_throttle_browser_key(browser, email), int(config["SIGN_IN_MAX_FAILURES"]),
                    timedelta(seconds=int(config["SIGN_IN_LOCK_SECONDS"])), True, forgotten=True)


def _counters(email: str, address: str) -> list[_Counter]:
    """What an attempt at ``email`` from ``address`` (not from a known browser) counts towards, in
    the order their rows are locked (by key, the same in every request: two attempts never wait for
    each other's rows in opposite orders, a deadlock on PostgreSQL).

    - the email from this address: ``SIGN_IN_MAX_FAILURES``, then locked for ``SIGN_IN_LOCK_SECONDS``.
      Guessing from one place is stopped, and the email's owner, elsewhere, is not locked out;
    - the address, at any emails: ``SIGN_IN_MAX_FAILURES_PER_ADDRESS``, then locked for
      ``SIGN_IN_LOCK_SECONDS`` (password spraying: a password or two tried on many emails);
    - the email, from every address: ``SIGN_IN_MAX_FAILURES_PER_EMAIL``, then each further attempt
      waits ``SIGN_IN_SLOWDOWN_SECONDS`` after the one before, until the window is over. Guesses
      from many addresses are slowed down, never locked out: at worst the owner waits that long."""
    config = current_app.config
    window = timedelta(seconds=int(config["SIGN_IN_LOCK_SECONDS"]))
    counters = [
        _Counter(_throttle_key(email, address), int(config["SIGN_IN_MAX_FAILURES"]), window, True, forgotten=True),
        _Counter(sign_in_throttle_address_key(address), int(config["SIGN_IN_MAX_FAILURES_PER_ADDRESS"]), window, True),
        _Counter(_throttle_key(email), int(config["SIGN_IN_MAX_FAILURES_PER_EMAIL"]),
                 timedelta(seconds=int(config["SIGN_IN_SLOWDOWN_SECONDS"])), False, forgotten=True),
    ]
    return sorted(counters, key=lambda counter: counter.key)


def locked_for(email: str, *, trust_browser: bool = False) -> int:
    """Seconds until ``email`` may be tried again from this request's address, or known browser with
    ``trust_browser`` (0 when it may). A known browser whose own count is locked is not kept
    waiting by it: its next attempt counts as an unknown browser's (``_attempt_counters``), so the
    wait is that of the counts it will add to then."""
    now = utcnow()
    counters = _attempt_counters(email, trust_browser)
    rows = [db.session.get(SignInThrottle, counter.key) for counter in counters]
    if (trust_browser and len(counters) == 1 and counters[0].key.startswith("browser:")
            and rows[0] is not None and rows[0].seconds_locked(now)):
        rows = [db.session.get(SignInThrottle, counter.key) for counter in _counters(email, client_address())]
    return max((row.seconds_locked(now) for row in rows if row is not None), default=0)


def reserve_attempt(email: str, *, trust_browser: bool = False) -> int:
    """Count an attempt at ``email``'s password from this request's address (or, with
    ``trust_browser``, its known browser: ``_attempt_counters``) before it is checked: the seconds until it may be tried (nothing counted), else 0 (counted: go on and
    check it). The counts are taken under their rows' locks (``SELECT ... FOR UPDATE`` on
    PostgreSQL; SQLite's transactions take the write lock), so guesses sent in parallel get the
    limit's checks in all, not that many each: counted after the check, every one of them passed
    ``locked_for`` before the first was counted. The attempt that reaches a limit is still checked,
    and locks (or slows down) unless it is right: a right password forgets the email's failures and
    takes its attempt back from the address's (``forget_attempt``). Commits."""
    window = timedelta(seconds=int(current_app.config["SIGN_IN_LOCK_SECONDS"]))
    address = client_address()
    counters = _attempt_counters(email, trust_browser)
    now = utcnow()
    rows = [_locked_row(counter.key, now) for counter in counters]
    wait = max(row.seconds_locked(now) for row in rows)
    if wait:
        # nothing is counted, and nothing is kept: the rows made for this attempt (an email this
        # address had not tried) would let a locked address fill the table at the speed of a 429
        db.session.rollback()
        return wait
    for counter, row in zip(counters, rows):
        # a lock starts afresh once it has ended; a slowdown goes on until its window is over
        afresh = row.starts_afresh(now, window) if counter.locks else row.first_failure_at + window < now
        if afresh:
            row.failures, row.first_failure_at, row.locked_until = 0, now, None
        row.failures += 1
        if row.failures >= counter.limit:
            row.locked_until = now + counter.wait
            if row.failures == counter.limit and counter.key == sign_in_throttle_address_key(address):
                _note_address_locked(address, counter)
    db.session.commit()
    return 0


def _locked_row(key: str, now) -> SignInThrottle:
    """The throttle row of ``key``, created when missing, locked until the transaction ends."""
    row = None
    while row is None:  # a row deleted between the two statements (see _insert_or_lock): again
        db.session.execute(_insert_or_lock(key, now))
        row = db.session.scalar(sa.select(SignInThrottle).where(SignInThrottle.key == key).with_for_update()
                                .execution_options(populate_existing=True))
    return row


def _note_address_locked(address: str, counter: _Counter) -> None:
    """Tell the operator that an address is locked (it may be spraying passwords), and, when the
    request carries a forwarding header the hub does not believe, that the address may be a proxy's:
    every client behind it would share one count, and one lock."""
    hint = ""
    if request.headers.get("X-Forwarded-For") and not current_app.config.get("TRUSTED_PROXIES"):
        hint = (" The request came with X-Forwarded-For and HUB_TRUSTED_PROXIES is 0: if the hub is behind"
                " a proxy, set it, or every client behind the proxy shares this address's limit.")
    log.warning("sign-in: %s failed sign-ins from %s (at any emails): it may not try again for %s.%s",
                counter.limit, address, wait_text(int(counter.wait.total_seconds())), hint)


def _insert_or_lock(key: str, now):
    """The throttle row of ``key`` with no attempt counted, or, when it exists, the same row locked
    by an update that changes nothing: a row only found (``DO NOTHING``) could be deleted by
    another transaction (a right password, the purge) before the ``SELECT ... FOR UPDATE`` that
    follows, which would then find none. (On PostgreSQL the update's lock makes such a delete wait
    for this transaction; ``_locked_row`` still tries again should the row be gone.)"""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert(SignInThrottle).values(key=key, failures=0, first_failure_at=now).on_conflict_do_update(
        index_elements=[SignInThrottle.key], set_={"key": key})


def forget_attempt(email: str, *, trust_browser: bool = False) -> None:
    """A right password for ``email`` from this request's address: forget the email's failures (from
    this address and from all), and take this attempt (counted before the check,
    ``reserve_attempt``) back out of the address's count, with its lock when that goes back under
    the limit. The address's other failures stay: a sprayer who signs in to an account of its own
    now and then wipes nothing. From a known browser (``trust_browser``) only that browser's count is
    forgotten: the others were not added to. Call it once per attempt; the caller commits."""
    table = SignInThrottle
    for counter in _attempt_counters(email, trust_browser):
        if counter.forgotten:
            db.session.execute(sa.delete(table).where(table.key == counter.key))
            continue
        db.session.execute(sa.update(table).where(table.key == counter.key, table.failures > 0).values(
            failures=table.failures - 1,
            locked_until=sa.case((table.failures - 1 < counter.limit, sa.null()), else_=table.locked_until)))
        db.session.execute(sa.delete(table).where(table.key == counter.key, table.failures <= 0,
                                                  table.locked_until.is_(None)))


def wait_text(seconds: int) -> str:
    """``seconds`` for a message: "20 seconds" under a minute, else whole minutes rounded up
    ("1 minute", "5 minutes")."""
    if seconds < 60:
        seconds = max(1, seconds)
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = (seconds + 59) // 60
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


def throttled(template: str, message: str, wait: int, **context):
    """The 429 page of an attempt refused for ``wait`` seconds, with ``Retry-After``."""
    response = current_app.make_response((render_template(template, error=message, **context), 429))
    response.headers["Retry-After"] = str(wait)
    return response


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

    wait = reserve_attempt(email, trust_browser=True)
    if wait:
        return throttled("auth/sign_in.html", f"Too many failed sign-ins. Try again in {wait_text(wait)}.", wait,
                         email=email, next_url=next_url)

    user = db.session.scalar(sa.select(User).where(User.email == email))
    valid = check_password_hash(user.password_hash if user else _dummy_hash(), password)
    if not valid or user is None or not user.active:
        wait = locked_for(email, trust_browser=True)  # this attempt, counted before the check, may have reached a limit
        if wait:
            return throttled("auth/sign_in.html", f"Too many failed sign-ins. Try again in {wait_text(wait)}.", wait,
                             email=email, next_url=next_url)
        return render_template("auth/sign_in.html", email=email, next_url=next_url,
                               error="That email and password do not match an active account."), 401

    forget_attempt(email, trust_browser=True)
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
    response = redirect(next_url or url_for("ui.dashboard"))
    remember_browser(response, user.email)
    return response


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
