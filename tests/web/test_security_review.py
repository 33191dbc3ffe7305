"""Findings of a security review of the web surface, each shown by a request (the test failed
before its fix)."""

from __future__ import annotations

import re

import pytest

from tests.web.support import PASSWORD, seed

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def csrf_app(make_app, fakes):
    source, assess = fakes
    app = make_app({"WTF_CSRF_ENABLED": True}, plugins=[("fakesource", source), ("fakeassess", assess)],
                   entry_points=False)
    seed(app)
    return app


def test_the_csrf_token_of_the_session_before_sign_in_is_refused_after_it(csrf_app):
    """CSRF-token fixation: whoever knows the token of a browser's session before its user signs
    in (someone who used the browser before, or who planted a session cookie of their own in it)
    must not be able to forge the signed-in user's forms with it. Signing in starts a new session."""
    client = csrf_app.test_client()
    before = TOKEN.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    signed_in = client.post("/sign-in", data={"email": "super_admin@acme.test", "password": PASSWORD,
                                              "csrf_token": before})
    assert signed_in.status_code == 302

    forged = client.post("/integrations/fakesource/disable", data={"csrf_token": before})
    assert forged.status_code == 400
    with csrf_app.app_context():
        from hub.runtime import get_runtime

        assert get_runtime().integration(1, "fakesource").enabled is True
    # the pages give the new session's token, which works
    page = client.get("/integrations/fakesource").get_data(as_text=True)
    after = TOKEN.search(page).group(1)
    assert client.post("/integrations/fakesource/disable", data={"csrf_token": after}).status_code == 302


def test_signing_in_keeps_nothing_of_the_session_from_before(csrf_app):
    """What an earlier visitor left in the browser's session (a sealed secret shown once, an OAuth
    state) does not survive another user's sign-in."""
    client = csrf_app.test_client()
    client.get("/sign-in")
    with client.session_transaction() as session:
        session["oauth_state:fakesource"] = "planted-state"
    token = TOKEN.search(client.get("/sign-in").get_data(as_text=True)).group(1)
    client.post("/sign-in", data={"email": "super_admin@acme.test", "password": PASSWORD, "csrf_token": token})
    with client.session_transaction() as session:
        assert "oauth_state:fakesource" not in session
        assert "_user_id" in session


def _token_acting_as(app, issuer_id: int, user_id: int) -> str:
    from hub import services
    from hub.extensions import db
    from hub.store.models import User

    with app.app_context():
        return services.create_api_token(db.session.get(User, user_id), "reporting",
                                         issuer=db.session.get(User, issuer_id))


def _second_super_admin(app, seeded) -> int:
    from hub.extensions import db
    from tests.web.support import make_user

    with app.app_context():
        user_id = make_user(seeded.workspace_id, "second_super@acme.test", "super_admin").id
        db.session.commit()
        return user_id


def test_a_token_acting_as_someone_else_stops_when_its_issuer_is_deactivated(hub_app, seeded):
    """Offboarding: a Super Admin who made a token acting as another Super Admin, then was
    deactivated, kept that Super Admin's API access with it (only the deactivated user's *own*
    tokens were revoked)."""
    leaving = _second_super_admin(hub_app, seeded)
    token = _token_acting_as(hub_app, leaving, seeded.users["super_admin"])
    client = hub_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/users", headers=headers).status_code == 200

    admin = {"Authorization": f"Bearer {seeded.tokens['super_admin']}"}
    assert client.patch(f"/api/v1/users/{leaving}", json={"active": False}, headers=admin).status_code == 200

    refused = client.get("/api/v1/users", headers=headers)
    assert refused.status_code == 401
    assert refused.get_json()["error"]["code"] == "unauthorized"
    assert client.post("/api/v1/users", json={"email": "backdoor@acme.test", "role": "super_admin"},
                       headers=headers).status_code == 401
    # the users' own tokens are untouched
    assert client.get("/api/v1/users", headers=admin).status_code == 200
    # revoked for good, as the issuer's own tokens are: reactivating the issuer does not bring it back
    assert client.patch(f"/api/v1/users/{leaving}", json={"active": True}, headers=admin).status_code == 200
    assert client.get("/api/v1/users", headers=headers).status_code == 401
    audit = client.get("/api/v1/audit?action=user.deactivate", headers=admin).get_json()
    assert [entry["detail"].get("api_tokens_revoked") for entry in audit["items"]] == [1]


def test_a_token_acting_as_someone_else_stops_when_its_issuer_is_no_longer_a_super_admin(hub_app, seeded):
    """Only a Super Admin may act in someone else's name through a token; one demoted to Team
    Member kept a Super Admin's access through a token made before."""
    demoted = _second_super_admin(hub_app, seeded)
    token = _token_acting_as(hub_app, demoted, seeded.users["super_admin"])
    own = _token_acting_as(hub_app, demoted, demoted)
    client = hub_app.test_client()
    admin = {"Authorization": f"Bearer {seeded.tokens['super_admin']}"}
    assert client.patch(f"/api/v1/users/{demoted}", json={"role": "team_member"}, headers=admin).status_code == 200

    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    # their own token goes on, with their new role
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {own}"}).status_code == 200
    assert client.get("/api/v1/users", headers={"Authorization": f"Bearer {own}"}).status_code == 403


def test_parallel_guesses_get_no_more_password_checks_than_the_limit(make_app, fakes):
    """Each guess used to be counted after its password check, and every guess sent at the same
    moment had passed the lock's check before the first was counted: on PostgreSQL a burst of
    parallel guesses got that many checks. An attempt is now counted first, under the row's lock."""
    from concurrent.futures import ThreadPoolExecutor

    from tests.web.support import sign_in

    source, assess = fakes
    app = make_app({"SIGN_IN_MAX_FAILURES": 3, "SIGN_IN_LOCK_SECONDS": 600},
                   plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    seed(app)

    import threading

    import hub.web.auth as auth

    # every guess that gets to the password check waits there for the others (briefly): guesses
    # counted only after their check were all inside it at once (on PostgreSQL; SQLite's
    # transactions queue them anyway), counted first only the first three get there
    together = threading.Barrier(12, timeout=0.5)
    real_check = auth.check_password_hash

    def slow_check(*args):
        try:
            together.wait()
        except threading.BrokenBarrierError:
            pass
        return real_check(*args)

    def guess(n: int) -> int:
        return sign_in(app.test_client(), "admin@acme.test", f"wrong guess {n}").status_code

    auth.check_password_hash = slow_check
    try:
        with ThreadPoolExecutor(max_workers=12) as pool:
            statuses = sorted(pool.map(guess, range(12)))
    finally:
        auth.check_password_hash = real_check
    assert statuses.count(401) <= 3 and statuses.count(401) + statuses.count(429) == 12
    assert sign_in(app.test_client(), "admin@acme.test", PASSWORD).status_code == 429


def test_the_attempt_that_reaches_the_limit_is_still_checked(make_app, fakes):
    """Counting first must not refuse the last allowed attempt: with a limit of 3, two wrong
    passwords and then the right one sign in, and the count is forgotten."""
    from tests.web.support import sign_in

    source, assess = fakes
    app = make_app({"SIGN_IN_MAX_FAILURES": 3, "SIGN_IN_LOCK_SECONDS": 600},
                   plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    seed(app)
    client = app.test_client()
    assert [sign_in(client, "admin@acme.test", "wrong password!").status_code for _ in range(2)] == [401, 401]
    assert sign_in(client, "admin@acme.test", PASSWORD).status_code == 302
    assert [sign_in(app.test_client(), "admin@acme.test", "wrong password!").status_code
            for _ in range(3)] == [401, 401, 429]


def test_a_right_current_password_with_another_field_wrong_is_not_counted_as_a_guess(hub_app, seeded):
    """The password change counts an attempt at the current password before checking it: a right
    one is forgotten even when the new password is refused."""
    from hub.extensions import db
    from hub.store.models import SignInThrottle
    from tests.web.support import sign_in

    client = hub_app.test_client()
    assert sign_in(client, "admin@acme.test").status_code == 302
    refused = client.post("/account/password", data={"current_password": PASSWORD, "new_password": "short",
                                                     "confirm_password": "short"})
    assert refused.status_code == 422
    with hub_app.app_context():
        assert db.session.get(SignInThrottle, "email:admin@acme.test") is None


def test_the_retention_purge_deletes_sign_in_throttles_that_slow_no_one(hub_app, seeded):
    """Each failed sign-in with a new email added a row that was kept for ever: anyone, signed out,
    could grow the database without end. Rows whose window or lock has passed go with the purge;
    a live lock stays."""
    from datetime import timedelta

    from hub.engine import sweeper
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import SignInThrottle, utcnow
    from tests.web.support import sign_in

    client = hub_app.test_client()
    for n in range(6):
        assert sign_in(client, f"nobody{n}@example.test", "wrong password").status_code == 401
    window = timedelta(seconds=int(hub_app.config["SIGN_IN_LOCK_SECONDS"]))
    with hub_app.app_context():
        rows = {row.key: row for row in db.session.scalars(db.select(SignInThrottle))
                if row.key.startswith("email:")}  # (each email's; those from the address go the same way)
        assert len(rows) == 6
        now = utcnow()
        rows["email:nobody0@example.test"].first_failure_at = now - window - timedelta(seconds=1)  # window over
        rows["email:nobody1@example.test"].first_failure_at = now - window - timedelta(seconds=2)
        rows["email:nobody1@example.test"].locked_until = now - timedelta(seconds=1)  # lock over
        rows["email:nobody2@example.test"].first_failure_at = now - window - timedelta(seconds=1)
        rows["email:nobody2@example.test"].locked_until = now + timedelta(minutes=3)  # still locked
        db.session.commit()
        sweeper.purge(get_runtime())
        left = sorted(key for key in db.session.scalars(db.select(SignInThrottle.key)) if key.startswith("email:"))
    assert left == [f"email:nobody{n}@example.test" for n in (2, 3, 4, 5)]


def test_a_session_left_idle_longer_than_the_setting_must_sign_in_again(make_app, fakes, monkeypatch):
    """A session cookie was accepted for 31 days after its last request (Flask's default), a copied
    one too: an admin's browser left signed in stayed so for a month. Sessions are now permanent
    for HUB_SESSION_IDLE_SECONDS after the last request."""
    import itsdangerous.timed
    from tests.web.support import sign_in

    source, assess = fakes
    app = make_app({"SESSION_IDLE_SECONDS": 600}, plugins=[("fakesource", source), ("fakeassess", assess)],
                   entry_points=False)
    seed(app)
    client = app.test_client()
    signed_in = sign_in(client, "admin@acme.test")
    assert signed_in.status_code == 302
    cookie = next(h for h in signed_in.headers.getlist("Set-Cookie") if h.startswith("session="))
    assert "Expires=" in cookie  # the browser forgets it too, not only at its closing
    assert client.get("/candidates").status_code == 200

    real = itsdangerous.timed.TimestampSigner.get_timestamp
    # the cookie's signature says when it was last written: 601 seconds ago
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: real(self) - 601)
    stale = sign_in(app.test_client(), "admin@acme.test")
    stale_cookie = next(h for h in stale.headers.getlist("Set-Cookie") if h.startswith("session="))
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", real)
    idle = app.test_client()
    idle.set_cookie("session", stale_cookie.split(";", 1)[0].split("=", 1)[1])
    answer = idle.get("/candidates")
    assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in")
