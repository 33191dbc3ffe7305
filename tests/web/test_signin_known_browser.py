"""A browser that signed in to an email before ("known browser" cookie, OWASP's device cookies)
is counted by itself alone: guesses from elsewhere, at any rate and from any addresses (or from
behind the same proxy), neither slow its owner down nor lock them out. Before, an attacker timing
guesses from a few addresses kept the owner waiting, and behind a proxy with
``HUB_TRUSTED_PROXIES=0`` twenty failures stopped every user's sign-in."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from tests.web.support import FakeAssess, FakeSource, PASSWORD, client_from, seed, sign_in

EMAIL, OTHER = "super_admin@acme.test", "admin@acme.test"
COOKIE = "hub_known_browser"


@pytest.fixture
def app(make_app):
    app = make_app({"SIGN_IN_MAX_FAILURES_PER_EMAIL": 6, "SIGN_IN_SLOWDOWN_SECONDS": 20},
                   plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    return app


def _known(app, address: str, email: str = EMAIL):
    """A client from ``address`` that signed in to ``email`` and out again: its browser is known."""
    client = client_from(app, address)
    assert sign_in(client, email).status_code == 302
    assert client.get_cookie(COOKIE) is not None
    assert client.post("/sign-out").status_code == 302
    return client


def _throttle_keys(app) -> list[str]:
    from hub.extensions import db
    from hub.store.models import SignInThrottle

    with app.app_context():
        return sorted(db.session.scalars(sa.select(SignInThrottle.key)))


def test_guesses_from_many_addresses_do_not_slow_down_a_known_browser(app):
    owner = _known(app, "203.0.113.20")
    for n in range(7):
        sign_in(client_from(app, f"198.51.100.{n + 1}"), EMAIL, "guess")
    assert sign_in(client_from(app, "198.51.100.60"), EMAIL, "guess").status_code == 429  # slowed down
    assert sign_in(client_from(app, "203.0.113.20"), EMAIL).status_code == 429  # a new browser waits

    answer = sign_in(owner, EMAIL)
    assert answer.status_code == 302, answer.get_data(as_text=True)[:300]  # before: 429
    assert owner.get("/").status_code == 200


def test_a_known_browser_signs_in_behind_a_proxy_whose_address_is_locked(app):
    """Every client shares the proxy's address (``HUB_TRUSTED_PROXIES=0``): 20 failures lock it."""
    proxy = "10.0.0.2"
    owner = _known(app, proxy)
    attacker = client_from(app, proxy)
    statuses = [sign_in(attacker, f"nobody{n}@acme.test", "guess").status_code for n in range(21)]
    assert statuses[-1] == 429
    assert sign_in(client_from(app, proxy), OTHER).status_code == 429  # an unknown browser: locked with the proxy
    assert sign_in(owner, EMAIL).status_code == 302  # before: 429 for 5 minutes


def test_a_known_browsers_own_failures_lock_it_then_it_counts_as_unknown(app):
    """A stolen cookie buys its thief ``SIGN_IN_MAX_FAILURES`` guesses; then the browser's attempts
    count as any other's, from its address (and at the email from everywhere)."""
    thief = _known(app, "198.51.100.9")
    statuses = [sign_in(thief, EMAIL, f"guess {n}").status_code for n in range(5)]
    assert statuses == [401, 401, 401, 401, 401]  # the 5th: not told to wait, its next attempt is taken
    keys = _throttle_keys(app)
    assert [k for k in keys if k.startswith("browser:")] and f"from:198.51.100.9 email:{EMAIL}" not in keys
    assert f"email:{EMAIL}" not in keys  # a known browser's failures slow nobody else down

    assert sign_in(thief, EMAIL, "guess 6").status_code == 401  # unknown now: counted from its address
    keys = _throttle_keys(app)
    assert f"from:198.51.100.9 email:{EMAIL}" in keys and f"email:{EMAIL}" in keys
    # the owner, in another known browser, is not affected
    assert sign_in(_known(app, "203.0.113.20"), EMAIL).status_code == 302


def test_a_browser_is_known_only_for_the_email_it_signed_in_to(app):
    client = _known(app, "198.51.100.9", OTHER)
    assert [sign_in(client, EMAIL, f"guess {n}").status_code for n in range(5)] == [401] * 4 + [429]
    assert f"from:198.51.100.9 email:{EMAIL}" in _throttle_keys(app)


def test_a_tampered_cookie_is_an_unknown_browser(app):
    client = _known(app, "198.51.100.9")
    value = client.get_cookie(COOKIE).value
    client.set_cookie(COOKIE, value[:-2] + ("AA" if not value.endswith("AA") else "BB"))
    sign_in(client, EMAIL, "guess")
    keys = _throttle_keys(app)
    assert f"from:198.51.100.9 email:{EMAIL}" in keys and not [k for k in keys if k.startswith("browser:")]


def test_the_cookie_is_http_only_same_site_and_right_passwords_forget_the_browsers_count(app):
    client = client_from(app, "198.51.100.9")
    answer = sign_in(client, EMAIL)
    header = next(h for h in answer.headers.getlist("Set-Cookie") if h.startswith(COOKIE + "="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Max-Age=15552000" in header  # 180 days
    assert EMAIL not in header
    client.post("/sign-out")
    assert sign_in(client, EMAIL, "guess").status_code == 401
    assert [k for k in _throttle_keys(app) if k.startswith("browser:")]
    assert sign_in(client, EMAIL, PASSWORD).status_code == 302
    assert not [k for k in _throttle_keys(app) if k.startswith("browser:")]


def test_an_admins_password_reset_lifts_a_known_browsers_lock(app):
    from hub import services
    from hub.extensions import db
    from hub.store.models import User

    client = _known(app, "198.51.100.9")
    for n in range(5):
        sign_in(client, EMAIL, f"guess {n}")
    assert [k for k in _throttle_keys(app) if k.startswith("browser:")]
    with app.app_context():
        services.set_password(db.session.scalar(sa.select(User).where(User.email == EMAIL)),
                              "a new password 1")
    assert not [k for k in _throttle_keys(app) if k.startswith("browser:")]


def test_the_cookie_is_secure_where_the_session_cookie_is(make_app):
    app = make_app({"SESSION_COOKIE_SECURE": True}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())],
                   entry_points=False)
    seed(app)
    header = next(h for h in sign_in(client_from(app, "198.51.100.9"), EMAIL).headers.getlist("Set-Cookie")
                  if h.startswith(COOKIE + "="))
    assert "Secure" in header


def test_no_cookie_when_turned_off(make_app):
    off = make_app({"SIGN_IN_KNOWN_BROWSER_DAYS": 0}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())],
                   entry_points=False)
    seed(off)
    client = client_from(off, "198.51.100.9")
    assert sign_in(client, EMAIL).status_code == 302
    assert client.get_cookie(COOKIE) is None


def test_a_known_browser_reaching_its_own_limit_is_told_the_wait_of_its_next_attempt(app):
    """Its own limit turns it into an unknown browser at once: "Try again in 5 minutes" (and
    ``Retry-After``) would be untrue, as the owner's next attempt, right, signs in. Only when the
    counts it falls back to are locked (its address, for this email) is it told to wait, and how long."""
    owner = _known(app, "203.0.113.20")
    answers = [sign_in(owner, EMAIL, f"typo {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 5  # before: the 5th was a 429 "Try again in 5 minutes"
    assert "Retry-After" not in answers[-1].headers
    assert "Too many failed sign-ins" not in answers[-1].get_data(as_text=True)
    assert sign_in(owner, EMAIL).status_code == 302

    other = _known(app, "198.51.100.30", OTHER)
    for n in range(5):  # another browser at the same address locks this email from there
        sign_in(client_from(app, "198.51.100.30"), OTHER, f"guess {n}")
    answers = [sign_in(other, OTHER, f"typo {n}") for n in range(5)]
    assert [a.status_code for a in answers] == [401] * 4 + [429]
    assert 0 < int(answers[-1].headers["Retry-After"]) <= 300
    assert sign_in(other, OTHER).status_code == 429
