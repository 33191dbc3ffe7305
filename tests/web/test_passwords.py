"""Passwords: everyone changes their own (/account/password); an admin resets the password of a user
they may manage (Users page, a one-time password shown once); both end the user's other sessions
and are audited without the password."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import AuditEntry, SignInThrottle, User
from tests.web.support import PASSWORD, ROLES, sign_in

NEW = "a brand new passphrase"


def _change(client, current=PASSWORD, new=NEW, confirm=None, follow=False):
    return client.post("/account/password", data={"current_password": current, "new_password": new,
                                                   "confirm_password": new if confirm is None else confirm},
                       follow_redirects=follow)


def _field_error(html: str, field: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{field}-error">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


def _audit(app, action: str) -> list[AuditEntry]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == action)))
        for row in rows:
            db.session.expunge(row)
        return rows


def _no_password_in_audit(app, *passwords: str) -> None:
    with app.app_context():
        for row in db.session.scalars(sa.select(AuditEntry)):
            text = f"{row.actor} {row.action} {row.target} {row.detail}"
            for password in passwords:
                assert password not in text


@pytest.mark.parametrize("role", ROLES)
def test_every_role_finds_the_page_from_the_menu(as_role, role):
    client = as_role(role)
    html = client.get("/").get_data(as_text=True)
    assert re.search(r'<a href="/account/password"[^>]*id="change-password-link"', html)
    page = client.get("/account/password")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    html = page.get_data(as_text=True)
    for element in ('<label for="current-password">', 'autocomplete="current-password"', '<label for="new-password">',
                    'autocomplete="new-password"', '<label for="confirm-password">', 'id="change-password"'):
        assert element in html


@pytest.mark.parametrize("form, field, message", [
    ({"current": "not my password"}, "current-password", "That is not your current password."),
    ({"current": ""}, "current-password", "Enter your current password."),
    ({"confirm": "a brand new passphrasE"}, "confirm-password", "This does not match the new password."),
    ({"confirm": ""}, "confirm-password", "Enter the new password again."),
    ({"new": "short one", "confirm": "short one"}, "new-password", "Use at least 10 characters (this one has 9)."),
    ({"new": "long " * 60, "confirm": "long " * 60}, "new-password", "Use at most 256 characters (this one has 300)."),
    ({"new": "", "confirm": ""}, "new-password", "Enter a new password."),
    ({"new": " " * 12, "confirm": " " * 12}, "new-password", "Use some characters other than spaces."),
    ({"new": PASSWORD, "confirm": PASSWORD}, "new-password", "Choose a password different from your current one."),
], ids=["wrong-current", "no-current", "mismatch", "no-confirmation", "too-short", "too-long", "no-new",
        "only-spaces", "same-as-current"])
def test_a_refused_change_says_why_next_to_the_field_and_changes_nothing(hub_app, seeded, as_role, form, field,
                                                                        message):
    client = as_role("team_member")
    response = _change(client, **form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(html, field) == message
    assert f'aria-describedby="{field}-error' in html or f'aria-describedby="{field}-help {field}-error"' in html
    assert NEW not in html and PASSWORD not in html  # passwords are never echoed back
    assert client.get("/").status_code == 200  # still signed in
    assert sign_in(hub_app.test_client(), "team_member@acme.test").status_code == 302  # old password still works
    assert not _audit(hub_app, "user.password_change")


def test_a_new_password_of_only_spaces_is_refused_and_spaces_around_one_are_kept(hub_app, as_role):
    """A new password of 12 spaces was taken (only its length was checked). Only a password of
    nothing but spaces is refused: one with spaces around its words is a password as typed, and
    signing in takes it so."""
    client = as_role("team_member")
    assert _change(client, new=" " * 12).status_code == 422
    spaced = "  " + NEW + " "
    assert _change(client, new=spaced).status_code == 302
    assert sign_in(hub_app.test_client(), "team_member@acme.test", spaced).status_code == 302
    assert sign_in(hub_app.test_client(), "team_member@acme.test", NEW).status_code != 302


def test_a_password_of_only_spaces_is_refused_through_the_api(api):
    """``POST /api/v1/users`` took a password of 12 spaces (only its length was checked)."""
    response = api("POST", "/users", role="admin", json={"email": "spaces@acme.test", "role": "team_member",
                                                         "password": " " * 12})
    assert response.status_code == 422, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["message"] == "password must not be only spaces" and error["fields"] == {"password": ["only spaces"]}
    kept = api("POST", "/users", role="admin", json={"email": "spaced@acme.test", "role": "team_member",
                                                     "password": " a spaced passphrase "})
    assert kept.status_code == 201, kept.get_data(as_text=True)


def test_every_problem_is_shown_at_once(as_role):
    response = _change(as_role("admin"), current="wrong password", new="short", confirm="other")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert _field_error(html, "current-password") == "That is not your current password."
    assert _field_error(html, "new-password") == "Use at least 10 characters (this one has 5)."
    assert _field_error(html, "confirm-password") == "This does not match the new password."


def test_change_own_password_keeps_this_session_and_ends_the_others(hub_app, seeded, as_role):
    client, elsewhere = as_role("limited_team_member"), as_role("limited_team_member")
    response = _change(client)
    assert response.status_code == 302 and response.headers["Location"] == "/account/password"
    page = client.get("/account/password").get_data(as_text=True)
    assert "Your password is changed." in page
    assert client.get("/").status_code == 200  # this session stays signed in
    other = elsewhere.get("/")  # a session signed in with the old password is signed out
    assert other.status_code == 302 and other.headers["Location"].startswith("/sign-in?next=")

    fresh = hub_app.test_client()
    assert sign_in(fresh, "limited_team_member@acme.test").status_code == 401  # not the old password
    assert sign_in(fresh, "limited_team_member@acme.test", NEW).status_code == 302  # the new one
    assert fresh.get("/").status_code == 200

    [entry] = _audit(hub_app, "user.password_change")
    assert entry.actor == "limited_team_member@acme.test" and entry.target == "user:limited_team_member@acme.test"
    _no_password_in_audit(hub_app, NEW, PASSWORD)


def test_wrong_current_passwords_count_as_failed_sign_ins(make_app, fakes):
    from tests.web.support import seed

    source, assess = fakes
    app = make_app({"SIGN_IN_MAX_FAILURES": 3}, plugins=[("fakesource", source), ("fakeassess", assess)],
                   entry_points=False)
    seed(app)
    client = app.test_client()
    assert sign_in(client, "admin@acme.test").status_code == 302
    assert _change(client, current="guess one").status_code == 422
    assert _change(client, current="guess two").status_code == 422
    locked = _change(client, current="guess three")
    assert locked.status_code == 429 and "Too many wrong passwords. Try again in 5 minutes." in locked.get_data(
        as_text=True)
    # even the right password is refused while locked, and so is signing in elsewhere
    assert _change(client).status_code == 429
    assert sign_in(app.test_client(), "admin@acme.test").status_code == 429


def test_a_session_from_before_the_fingerprint_is_signed_out(hub_app, seeded):
    """Sessions made before sessions carried a password fingerprint (or with a forged one) end."""
    client = hub_app.test_client()
    for user_id in (str(seeded.users["admin"]), f"{seeded.users['admin']}:{'0' * 32}", "99999999999:abc", "x:y"):
        with client.session_transaction() as session:
            session["_user_id"] = user_id
        response = client.get("/")
        assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in"), user_id


# --------------------------------------------------------------------------- admin reset


def _reset(client, user_id):
    """Reset, and open the page it redirects to (where the new password is shown)."""
    return client.post(f"/users/{user_id}/password", follow_redirects=True)


@pytest.mark.parametrize("actor, target", [("super_admin", "admin"), ("admin", "team_member"),
                                           ("admin", "limited_team_member"), ("super_admin", "team_member")])
def test_an_admin_resets_a_password_and_sees_it_once(hub_app, seeded, as_role, actor, target):
    target_session = as_role(target)
    client = as_role(actor)
    page = client.get("/users").get_data(as_text=True)
    assert f'id="reset-password-{seeded.users[target]}"' in page
    response = _reset(client, seeded.users[target])
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert f"{target}@acme.test has a new password" in html
    password = re.search(r'id="reset-password" value="([^"]+)"', html).group(1)
    assert len(password) >= 10
    assert password not in client.get("/users").get_data(as_text=True)  # shown once

    # the target's session is over; the old password fails, the new one works
    assert target_session.get("/").status_code == 302
    fresh = hub_app.test_client()
    assert sign_in(fresh, f"{target}@acme.test").status_code == 401
    assert sign_in(fresh, f"{target}@acme.test", password).status_code == 302
    # ...and they can then choose their own
    assert _change(fresh, current=password).status_code == 302

    [reset] = _audit(hub_app, "user.password_reset")
    assert reset.actor == f"{actor}@acme.test" and reset.target == f"user:{target}@acme.test"
    _no_password_in_audit(hub_app, password, NEW)
    assert client.get("/users").status_code == 200  # the admin's own session is untouched


def test_a_reset_redirects_and_shows_the_password_once_without_putting_it_in_a_url_or_cookie(hub_app, seeded,
                                                                                              as_role):
    """Post/redirect/get: reloading the page after a reset neither resets again nor shows it again."""
    client = as_role("admin")
    target = seeded.users["team_member"]
    posted = client.post(f"/users/{target}/password")
    assert posted.status_code == 303 and posted.headers["Location"] == "/users"
    with client.session_transaction() as session:
        sealed = repr(dict(session))
    page = client.get("/users")
    html = page.get_data(as_text=True)
    password = re.search(r'id="reset-password" value="([^"]+)"', html).group(1)
    assert "team_member@acme.test has a new password" in html and page.headers["Cache-Control"] == "no-store"
    assert password not in sealed and password not in posted.headers["Location"]  # sealed in the session
    for header, value in posted.headers.items():
        assert password not in value, header
    with client.session_transaction() as session:
        assert "shown_once.password_reset" not in session  # dropped once shown
    again = client.get("/users").get_data(as_text=True)  # the reload
    assert 'id="password-reset"' not in again and password not in again
    assert len(_audit(hub_app, "user.password_reset")) == 1
    assert sign_in(hub_app.test_client(), "team_member@acme.test", password).status_code == 302

    # shown only to whoever reset it
    client.post(f"/users/{target}/password")
    with client.session_transaction() as session:
        stolen = dict(session)["shown_once.password_reset"]
    other = as_role("super_admin")
    with other.session_transaction() as session:
        session["shown_once.password_reset"] = stolen
    assert 'id="password-reset"' not in other.get("/users").get_data(as_text=True)


def test_an_admin_cannot_reset_a_password_they_may_not_manage(hub_app, seeded, as_role):
    client = as_role("admin")
    page = client.get("/users").get_data(as_text=True)
    for who in ("super_admin", "admin"):  # a Super Admin's row and the admin's own row have no reset button
        assert f'id="reset-password-{seeded.users[who]}"' not in page
    refused = _reset(client, seeded.users["super_admin"])
    assert refused.status_code == 403
    assert "An Admin cannot reset a Super Admin&#39;s password; ask a Super Admin." in refused.get_data(as_text=True)
    own = _reset(client, seeded.users["admin"])
    assert own.status_code == 403 and "Change your own password under Change password" in own.get_data(as_text=True)
    assert _reset(client, seeded.other["user_id"]).status_code == 404  # another workspace's user
    assert _reset(client, 99999999).status_code == 404
    assert sign_in(hub_app.test_client(), "super_admin@acme.test").status_code == 302  # unchanged
    assert not _audit(hub_app, "user.password_reset")


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_a_team_member_cannot_reset_anyone(hub_app, seeded, as_role, role):
    client = as_role(role)
    for target in ROLES:
        assert _reset(client, seeded.users[target]).status_code == 403
    assert not _audit(hub_app, "user.password_reset")


def test_a_reset_lifts_the_sign_in_lock(hub_app, seeded, as_role):
    for _ in range(5):
        sign_in(hub_app.test_client(), "team_member@acme.test", "wrong password")
    assert sign_in(hub_app.test_client(), "team_member@acme.test").status_code == 429
    html = _reset(as_role("admin"), seeded.users["team_member"]).get_data(as_text=True)
    password = re.search(r'id="reset-password" value="([^"]+)"', html).group(1)
    with hub_app.app_context():  # the email's counts are gone; the address's (failures at any email) stay
        assert sorted(db.session.scalars(sa.select(SignInThrottle.key))) == ["address:127.0.0.1"]
    assert sign_in(hub_app.test_client(), "team_member@acme.test", password).status_code == 302


def test_the_created_and_reset_notices_say_where_to_change_it(as_role, seeded):
    client = as_role("admin")
    created = client.post("/users", data={"email": "fresh@acme.test", "role": "team_member"},
                          follow_redirects=True).get_data(as_text=True)
    reset = _reset(client, seeded.users["team_member"]).get_data(as_text=True)
    for html in (created, reset):
        assert "they can change it under <strong>Change password</strong>" in html
        assert "change it later" not in html
    deactivated = seeded.per_role["admin"]["target_user"]
    assert client.post(f"/users/{deactivated}/active", data={"active": "0"}).status_code == 302
    assert "Their account is deactivated" in _reset(client, deactivated).get_data(as_text=True)


def test_the_sign_in_page_says_who_resets_a_forgotten_password(hub_app):
    html = hub_app.test_client().get("/sign-in").get_data(as_text=True)
    assert "Forgot your password? Ask an Admin or a Super Admin of your workspace to reset it." in html


def test_the_stored_hash_changes_and_is_never_the_password(hub_app, seeded, as_role):
    with hub_app.app_context():
        before = db.session.get(User, seeded.users["admin"]).password_hash
    assert _change(as_role("admin")).status_code == 302
    with hub_app.app_context():
        after = db.session.get(User, seeded.users["admin"]).password_hash
    assert after != before and NEW not in after


def test_the_api_resets_a_password_with_the_same_rule(hub_app, seeded):
    from tests.web.support import api_headers

    client = hub_app.test_client()
    target = seeded.users["team_member"]
    answer = client.post(f"/api/v1/users/{target}/password-reset", headers=api_headers(seeded, "admin"))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["id"] == target and len(body["generated_password"]) >= 10
    fresh = hub_app.test_client()
    assert sign_in(fresh, seeded.email("team_member"), body["generated_password"]).status_code == 302
    assert sign_in(hub_app.test_client(), seeded.email("team_member")).status_code != 302  # the old one is gone
    refused = client.post(f"/api/v1/users/{seeded.users['super_admin']}/password-reset",
                          headers=api_headers(seeded, "admin"))
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "forbidden"
    own = client.post(f"/api/v1/users/{seeded.users['admin']}/password-reset", headers=api_headers(seeded, "admin"))
    assert own.status_code == 403 and "Change password" in own.get_json()["error"]["message"]


@pytest.mark.parametrize("length, created", [(256, True), (257, False)])
def test_the_api_creates_a_user_with_the_one_password_rule(hub_app, seeded, length, created):
    """``POST /api/v1/users`` takes the passwords the UI and the commands take (``MIN_PASSWORD`` to
    ``MAX_PASSWORD`` characters): its own schema refused 201 to 256."""
    from hub.services import MAX_PASSWORD
    from tests.web.support import api_headers

    assert MAX_PASSWORD == 256
    password = "word " * (length // 5) + "x" * (length % 5)
    answer = hub_app.test_client().post("/api/v1/users", headers=api_headers(seeded, "admin"), json={
        "email": f"long{length}@acme.test", "role": "team_member", "password": password})
    assert answer.status_code == (201 if created else 422), answer.get_json()
    if created:
        assert sign_in(hub_app.test_client(), f"long{length}@acme.test", password).status_code == 302
    else:
        assert "password" in answer.get_json()["error"]["fields"]
