"""Sign-in, sign-out, throttling, CSRF and session handling."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub.store.models import AuditEntry, SignInThrottle, User
from tests.web.support import PASSWORD, sign_in


def test_sign_in_and_out(hub_app, seeded):
    client = hub_app.test_client()
    page = client.get("/sign-in")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    for element in ('id="sign-in-form"', 'id="email"', 'id="password"', 'id="sign-in-submit"',
                    '<label for="email">', '<label for="password">'):
        assert element in html

    response = sign_in(client, "Admin@ACME.test")  # emails are case-insensitive
    assert response.status_code == 302 and response.headers["Location"] == "/"
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "Signed in as admin@acme.test." in dashboard.get_data(as_text=True)
    with hub_app.app_context():
        user = User.query.filter_by(email="admin@acme.test").one()
        assert user.last_login_at is not None

    # sign-out is a POST (a link or image cannot sign anyone out)
    assert client.get("/sign-out").status_code == 405
    out = client.post("/sign-out")
    assert out.status_code == 302 and out.headers["Location"] == "/sign-in"
    again = client.get("/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/sign-in?next=")


def test_signing_out_ends_every_copy_of_the_session_but_no_api_token(hub_app, seeded):
    """The session is a signed cookie: a copy taken before the sign-out (a shared computer, a
    proxy's log) kept working for as long as the cookie's signature was valid."""
    from tests.web.support import api_headers

    laptop, phone = hub_app.test_client(), hub_app.test_client()
    for client in (laptop, phone):
        assert sign_in(client, "team_member@acme.test").status_code == 302
    copied = hub_app.test_client()
    copied.set_cookie("session", laptop.get_cookie("session").value)
    assert copied.get("/candidates").status_code == 200

    out = laptop.post("/sign-out", follow_redirects=True)
    assert "You are signed out everywhere." in out.get_data(as_text=True)
    for client in (laptop, copied, phone):
        answer = client.get("/candidates")
        assert answer.status_code == 302 and answer.headers["Location"].startswith("/sign-in?next=")
    api = hub_app.test_client()
    assert api.get("/api/v1/me", headers=api_headers(seeded, "team_member")).status_code == 200
    assert sign_in(laptop, "team_member@acme.test").status_code == 302 and laptop.get("/candidates").status_code == 200


def test_wrong_password_and_unknown_email_get_the_same_answer(hub_app, seeded):
    client = hub_app.test_client()
    wrong = sign_in(client, "admin@acme.test", "not the password")
    unknown = sign_in(client, "nobody@acme.test", "not the password")
    assert wrong.status_code == unknown.status_code == 401
    for response in (wrong, unknown):
        assert "That email and password do not match an active account." in response.get_data(as_text=True)
    assert client.get("/").status_code == 302  # still signed out


def test_missing_fields_are_shown_inline(hub_app, seeded):
    response = hub_app.test_client().post("/sign-in", data={"email": "", "password": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="email-error"' in html and "Enter your email address." in html
    assert 'aria-invalid="true"' in html


def test_sign_in_is_throttled_per_email(make_app, fakes):
    """Per email from one address (the test client's): other addresses, ``test_signin_lockout_*``."""
    source, assess = fakes
    app = make_app({"SIGN_IN_MAX_FAILURES": 3, "SIGN_IN_LOCK_SECONDS": 600},
                   plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    from tests.web.support import seed

    seed(app)
    client = app.test_client()
    statuses = [sign_in(client, "admin@acme.test", "wrong password!").status_code for _ in range(3)]
    assert statuses == [401, 401, 429]
    # locked: even the right password is refused now, and the page says for how long
    locked = sign_in(client, "admin@acme.test", PASSWORD)
    assert locked.status_code == 429
    assert re.search(r"Too many failed sign-ins\. Try again in 10 minutes\.", locked.get_data(as_text=True))
    assert client.get("/").status_code == 302
    # another email is not affected
    assert sign_in(app.test_client(), "team_member@acme.test").status_code == 302
    with app.app_context():
        from hub.extensions import db

        row = db.session.get(SignInThrottle, "from:127.0.0.1 email:admin@acme.test")
        assert row.failures == 3 and row.locked_until is not None
        assert db.session.get(SignInThrottle, "email:admin@acme.test").failures == 3  # (a slowdown from 10)


def test_a_very_long_email_gets_the_same_answer_as_an_unknown_one_and_is_throttled(make_app, fakes):
    """An email longer than any account's (and than the throttle's key column, which PostgreSQL
    enforces) is answered like an unknown email, 401 then 429 once locked, never a 500; its
    failures are counted under a key that fits the column."""
    source, assess = fakes
    app = make_app({"SIGN_IN_MAX_FAILURES": 3, "SIGN_IN_LOCK_SECONDS": 600},
                   plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    from tests.web.support import seed

    seed(app)
    client = app.test_client()
    long_email = "x" * 500 + "@acme.test"
    first = sign_in(client, long_email, "wrong password!")
    assert first.status_code == 401
    assert "That email and password do not match an active account." in first.get_data(as_text=True)
    statuses = [sign_in(client, long_email, "wrong password!").status_code for _ in range(2)]
    assert statuses == [401, 429]
    assert sign_in(app.test_client(), "admin@acme.test").status_code == 302  # other emails are not affected
    with app.app_context():
        from hub.extensions import db

        rows = db.session.scalars(sa.select(SignInThrottle)).all()  # from the address, the address, the email
        assert [row.failures for row in rows] == [3, 3, 3]
        assert all(len(row.key) <= SignInThrottle.__table__.c.key.type.length for row in rows)


def test_a_successful_sign_in_clears_the_failures(hub_app, seeded):
    client = hub_app.test_client()
    sign_in(client, "admin@acme.test", "wrong password!")
    assert sign_in(client, "admin@acme.test").status_code == 302
    with hub_app.app_context():
        from hub.extensions import db

        assert db.session.get(SignInThrottle, "email:admin@acme.test") is None
        actions = db.session.scalars(sa.select(AuditEntry.action)).all()
        assert "user.sign_in" in actions


def test_next_only_redirects_within_the_site(hub_app, seeded):
    client = hub_app.test_client()
    first = client.get("/candidates?status=failed")
    assert first.headers["Location"] == "/sign-in?next=%2Fcandidates%3Fstatus%3Dfailed"
    response = client.post("/sign-in?next=/candidates%3Fstatus%3Dfailed",
                           data={"email": "admin@acme.test", "password": PASSWORD})
    assert response.headers["Location"] == "/candidates?status=failed"
    for evil in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        other = hub_app.test_client()
        response = other.post("/sign-in", data={"email": "admin@acme.test", "password": PASSWORD, "next": evil})
        assert response.headers["Location"] == "/", evil


def test_a_deactivated_user_is_signed_out_and_cannot_sign_in(hub_app, seeded, as_role):
    member = as_role("team_member")
    assert member.get("/candidates").status_code == 200
    admin = as_role("admin")
    assert admin.post(f"/users/{seeded.users['team_member']}/active", data={"active": "0"}).status_code == 302
    assert member.get("/candidates").status_code == 302  # the session no longer loads the user
    assert sign_in(hub_app.test_client(), "team_member@acme.test").status_code == 401


def test_reactivating_a_user_brings_back_no_session_or_token_from_before(hub_app, seeded, as_role):
    """A cookie or token taken before the deactivation (a lost laptop) used to work again as soon
    as the user was reactivated."""
    from tests.web.support import api_headers

    old_headers = api_headers(seeded, "team_member")
    api = hub_app.test_client()
    assert api.get("/api/v1/me", headers=old_headers).status_code == 200
    member = as_role("team_member")
    admin = as_role("admin")
    user_id = seeded.users["team_member"]
    assert admin.post(f"/users/{user_id}/active", data={"active": "0"}).status_code == 302
    assert admin.post(f"/users/{user_id}/active", data={"active": "1"}).status_code == 302
    assert member.get("/candidates").status_code == 302  # still signed out
    assert api.get("/api/v1/me", headers=old_headers).status_code == 401  # revoked, not only refused
    fresh = hub_app.test_client()
    assert sign_in(fresh, "team_member@acme.test").status_code == 302  # signing in again works
    assert fresh.get("/candidates").status_code == 200
    with hub_app.app_context():
        entry = AuditEntry.query.filter_by(action="user.deactivate").one()
        assert entry.detail == {"api_tokens_revoked": 1}


def test_forms_without_a_csrf_token_are_refused(make_app, fakes):
    source, assess = fakes
    app = make_app({"WTF_CSRF_ENABLED": True}, plugins=[("fakesource", source), ("fakeassess", assess)],
                   entry_points=False)
    from tests.web.support import seed

    seed(app)
    client = app.test_client()
    refused = client.post("/sign-in", data={"email": "super_admin@acme.test", "password": PASSWORD})
    assert refused.status_code == 400
    assert "This form has expired or did not come from this hub&#39;s pages." in refused.get_data(as_text=True)

    page = client.get("/sign-in").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    ok = client.post("/sign-in", data={"email": "super_admin@acme.test", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302

    # signed in, a state-changing form without the token is still refused and changes nothing
    assert client.post("/integrations/fakesource/disable").status_code == 400
    with app.app_context():
        from hub.runtime import get_runtime

        assert get_runtime().integration(1, "fakesource").enabled is True
    detail = client.get("/integrations/fakesource").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', detail).group(1)
    assert client.post("/integrations/fakesource/disable", data={"csrf_token": token}).status_code == 302
    # the API is exempt from CSRF: it authenticates with a token header, not a cookie
    api = app.test_client()
    with app.app_context():
        from hub import services
        from hub.extensions import db

        user = db.session.scalar(sa.select(User).where(User.email == "super_admin@acme.test"))
        token_value = services.create_api_token(user, "csrf test")
    response = api.post("/api/v1/integrations/fakesource/enable", headers={"Authorization": f"Bearer {token_value}"})
    assert response.status_code == 200 and response.get_json()["integration"]["enabled"] is True


def test_session_cookie_flags(hub_app, seeded):
    client = hub_app.test_client()
    response = sign_in(client, "admin@acme.test")
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_next_with_a_control_character_falls_back_to_the_dashboard(hub_app, seeded):
    """A newline cannot go in a Location header (it was a 500, after signing in); browsers drop
    tabs and newlines from URLs, so "/\\t/host" would become "//host". Such a next is ignored."""
    for bad in ("/candidates\nX", "/x\r\nSet-Cookie: a=b", "/\t/evil.example", "/candidates\x7f", "/a\x85b", "//[x"):
        client = hub_app.test_client()
        response = client.post("/sign-in", query_string={"next": bad},
                               data={"email": "admin@acme.test", "password": PASSWORD})
        assert response.status_code == 302 and response.headers["Location"] == "/", repr(bad)
        signed_in = client.get("/sign-in", query_string={"next": bad})
        assert signed_in.status_code == 302 and signed_in.headers["Location"] == "/", repr(bad)
    form = hub_app.test_client().get("/sign-in", query_string={"next": "/candidates\nX"}).get_data(as_text=True)
    assert 'name="next"' not in form
    kept = hub_app.test_client().post("/sign-in", query_string={"next": "/candidates?q=Émile"},
                                      data={"email": "admin@acme.test", "password": PASSWORD})
    assert kept.headers["Location"] == "/candidates?q=%C3%89mile"
