"""Failures at one email from many addresses together (``HUB_SIGN_IN_MAX_FAILURES_PER_EMAIL``) slow
further attempts at it down (one every ``HUB_SIGN_IN_SLOWDOWN_SECONDS``) instead of locking it: a
botnet cannot keep its owner out, and still gets few guesses."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from tests.web.support import FakeAssess, FakeSource, client_from, seed, sign_in


@pytest.fixture
def app(make_app):
    app = make_app({"SIGN_IN_MAX_FAILURES_PER_EMAIL": 6, "SIGN_IN_SLOWDOWN_SECONDS": 20},
                   plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    return app


def _rewind(app, key: str, seconds: float):
    """Move the throttle row ``key`` ``seconds`` into the past (its lock and its window)."""
    from hub.extensions import db
    from hub.store.models import SignInThrottle

    with app.app_context():
        row = db.session.get(SignInThrottle, key)
        row.first_failure_at -= timedelta(seconds=seconds)
        if row.locked_until is not None:
            row.locked_until -= timedelta(seconds=seconds)
        db.session.commit()


def test_many_addresses_slow_an_email_down_without_locking_its_owner_out(app):
    from hub.extensions import db
    from hub.store.models import SignInThrottle

    email = "super_admin@acme.test"
    for n in range(3):  # three addresses, two guesses each: no address reaches its own limit
        bot = client_from(app, f"198.51.100.{n + 1}")
        expected = [401, 401] if n < 2 else [401, 429]  # the 6th failure at the email starts the slowdown
        assert [sign_in(bot, email, "guess").status_code for _ in range(2)] == expected
    slowed = sign_in(client_from(app, "198.51.100.50"), email, "guess")
    assert slowed.status_code == 429
    assert "Too many failed sign-ins. Try again in 20 seconds." in slowed.get_data(as_text=True)
    assert slowed.headers["Retry-After"] == "20"
    assert sign_in(client_from(app, "203.0.113.20"), email).status_code == 429  # the owner too waits, briefly

    # past the wait one guess is let through (and checked: wrong, it starts the next wait), not a new allowance
    _rewind(app, f"email:{email}", 20)
    assert sign_in(client_from(app, "198.51.100.60"), email, "guess").status_code == 429
    with app.app_context():
        assert db.session.get(SignInThrottle, f"email:{email}").failures == 7
    assert sign_in(client_from(app, "203.0.113.20"), email).status_code == 429

    _rewind(app, f"email:{email}", 20)
    user = client_from(app, "203.0.113.20")
    assert sign_in(user, email).status_code == 302  # a wait, never a lockout
    assert user.get("/").status_code == 200
    with app.app_context():
        assert db.session.get(SignInThrottle, f"email:{email}") is None  # a right password forgets the email's count


def test_the_slowdown_ends_with_the_window(app):
    email = "admin@acme.test"
    for n in range(6):
        sign_in(client_from(app, f"198.51.100.{n + 1}"), email, "guess")
    assert sign_in(client_from(app, "198.51.100.70"), email, "guess").status_code == 429
    _rewind(app, f"email:{email}", 301)  # HUB_SIGN_IN_LOCK_SECONDS
    assert [sign_in(client_from(app, f"198.51.100.{n + 80}"), email, "guess").status_code
            for n in range(6)] == [401] * 5 + [429]


def test_the_purge_keeps_an_email_slowed_down_within_its_window(app):
    """A slowed-down email's count outlives each short wait; the purge deletes it with its window."""
    from hub.engine import sweeper
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import SignInThrottle

    email = "admin@acme.test"
    for n in range(6):
        sign_in(client_from(app, f"198.51.100.{n + 1}"), email, "guess")
    _rewind(app, f"email:{email}", 60)  # the wait is over, the window is not
    with app.app_context():
        sweeper.purge(get_runtime())
        assert db.session.get(SignInThrottle, f"email:{email}").failures == 6
    _rewind(app, f"email:{email}", 300)
    with app.app_context():
        sweeper.purge(get_runtime())
        assert db.session.get(SignInThrottle, f"email:{email}") is None


def test_a_reset_lifts_the_email_s_locks_from_every_address_but_not_the_addresses_counts(make_app):
    from hub.extensions import db
    from hub.store.models import SignInThrottle

    app = make_app({}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    email = "team_member@acme.test"
    for address in ("198.51.100.1", "198.51.100.2"):
        bot = client_from(app, address)
        assert [sign_in(bot, email, "guess").status_code for _ in range(5)][-1] == 429
    admin = client_from(app, "203.0.113.5")
    assert sign_in(admin, "admin@acme.test").status_code == 302
    assert admin.post(f"/users/{seeded.users['team_member']}/password", follow_redirects=True).status_code == 200
    with app.app_context():
        keys = sorted(db.session.scalars(sa.select(SignInThrottle.key)))
    assert keys == ["address:198.51.100.1", "address:198.51.100.2"]  # what those addresses did stays counted
