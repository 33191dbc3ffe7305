"""Users: create (password shown once), roles limited by the actor's role, deactivate; audit log; API tokens."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub import services
from hub.errors import ValidationFailed
from hub.extensions import db
from hub.services import hash_token
from hub.store.models import ApiToken, User
from tests.web.support import api_headers, sign_in


def _user(app, email) -> User:
    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        db.session.expunge(user)
        return user


def test_create_a_user_and_show_the_password_once(hub_app, seeded, as_role):
    client = as_role("admin")
    page = client.get("/users").get_data(as_text=True)
    roles = re.search(r'<select id="new-role" name="role"[^>]*>(.*?)</select>', page, re.S).group(1)
    assert "super_admin" not in roles and 'value="admin"' in roles  # an Admin cannot create a Super Admin
    response = client.post("/users", data={"email": "New.Person@acme.test", "name": "New Person",
                                           "role": "limited_team_member"})
    # post/redirect/get: the password is shown by the page the creation redirects to, once
    assert response.status_code == 303 and response.headers["Location"].endswith("/users")
    assert "@" not in response.headers["Location"] and "password" not in response.headers["Location"]
    response = client.get("/users")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert "new.person@acme.test can now sign in" in html
    password = re.search(r'id="generated-password" value="([^"]+)"', html).group(1)
    assert _user(hub_app, "new.person@acme.test").role == "limited_team_member"
    assert password not in client.get("/users").get_data(as_text=True)  # shown once
    assert sign_in(hub_app.test_client(), "new.person@acme.test", password).status_code == 302

    duplicate = client.post("/users", data={"email": "new.person@acme.test", "role": "team_member"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    invalid = client.post("/users", data={"email": "not-an-email", "role": "team_member"})
    assert invalid.status_code == 422 and 'id="new-email-error"' in invalid.get_data(as_text=True)


def test_admin_cannot_create_or_promote_or_touch_a_super_admin(hub_app, seeded, as_role):
    client = as_role("admin")
    assert client.post("/users", data={"email": "boss@acme.test", "role": "super_admin"}).status_code == 422
    assert client.post(f"/users/{seeded.users['team_member']}/role", data={"role": "super_admin"}).status_code == 403
    assert client.post(f"/users/{seeded.users['super_admin']}/active", data={"active": "0"}).status_code == 403
    assert client.post(f"/users/{seeded.users['super_admin']}/role", data={"role": "admin"}).status_code == 403
    assert _user(hub_app, "super_admin@acme.test").role == "super_admin"
    api = hub_app.test_client()
    headers = api_headers(seeded, "admin")
    response = api.post("/api/v1/users", json={"email": "boss@acme.test", "role": "super_admin"}, headers=headers)
    assert response.status_code == 403
    response = api.patch(f"/api/v1/users/{seeded.users['team_member']}", json={"role": "super_admin"}, headers=headers)
    assert response.status_code == 403
    # the page offers no controls for a Super Admin's row
    page = client.get("/users").get_data(as_text=True)
    row = re.search(rf'<tr id="user-{seeded.users["super_admin"]}"(.*?)</tr>', page, re.S).group(1)
    assert "<form" not in row


def test_change_role_and_deactivate(hub_app, seeded, as_role):
    client = as_role("super_admin")
    target = seeded.users["team_member"]
    listing = client.get("/users").get_data(as_text=True)  # deactivating asks first, as a password reset does
    assert (f'id="deactivate-{target}" data-confirm="Deactivate team_member@acme.test? They are signed out and '
            "cannot sign in until reactivated, and their API tokens are revoked for good (reactivating does not "
            "bring them back).\"") in listing
    response = client.post(f"/users/{target}/role", data={"role": "admin"}, follow_redirects=True)
    assert "team_member@acme.test is now Admin." in response.get_data(as_text=True)
    response = client.post(f"/users/{target}/active", data={"active": "0"}, follow_redirects=True)
    html = response.get_data(as_text=True)
    assert re.search(rf'<tr id="user-{target}" data-role="admin" data-active="false"', html)
    assert f'id="reactivate-{target}"' in html
    # nobody changes their own role or deactivates themselves
    own = seeded.users["super_admin"]
    assert client.post(f"/users/{own}/active", data={"active": "0"}).status_code == 403
    assert _user(hub_app, "super_admin@acme.test").active is True
    audit = client.get("/audit").get_data(as_text=True)
    assert "user.role" in audit and "user.deactivate" in audit and "super_admin@acme.test" in audit
    assert client.get("/audit?action=user.role").get_data(as_text=True).count('<tr id="audit-') == 1


def test_api_tokens_are_shown_once_and_can_be_revoked(hub_app, seeded, as_role):
    client = as_role("super_admin")
    response = client.post("/settings/api-tokens", data={"name": "reporting", "user_id": seeded.users["team_member"]})
    # post/redirect/get: a reload shows the list, and cannot create a second token
    assert response.status_code == 303 and response.headers["Location"].endswith("/settings/api-tokens")
    response = client.get("/settings/api-tokens")
    html = response.get_data(as_text=True)
    assert response.headers["Cache-Control"] == "no-store"
    token = re.search(r'id="new-token" value="(hub_[^"]+)"', html).group(1)
    assert "Token “reporting” for team_member@acme.test" in html
    assert token not in client.get("/settings/api-tokens").get_data(as_text=True)
    with hub_app.app_context():
        row = db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "reporting"))
        assert row.token_hash == hash_token(token) and token not in row.token_hash
        token_id = row.id
    api = hub_app.test_client()
    me = api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).get_json()
    assert me["user"]["email"] == "team_member@acme.test" and "integrations.view" not in me["permissions"]
    assert client.post(f"/settings/api-tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401
    missing = client.post("/settings/api-tokens", data={"name": ""})
    assert missing.status_code == 422 and 'id="token-name-error"' in missing.get_data(as_text=True)
    # an error, not help text: it says what is wrong first
    assert "Enter a name: what will use the token, e.g. “reporting script”." in missing.get_data(as_text=True)


@pytest.mark.parametrize("user_id", ["²", "①", "9" * 5000, "999999", "x"])
def test_an_api_token_for_a_user_id_that_names_no_user_is_refused_with_a_422(hub_app, seeded, as_role, user_id):
    """Any ``user_id`` that is not an active user's id, Unicode digits (``str.isdigit()`` is true
    for "²" and "①") and a number longer than ``int()`` converts included, is a 422 with the
    field's message, and no token is made."""
    client = as_role("super_admin")
    response = client.post("/settings/api-tokens", data={"name": "script", "user_id": user_id})
    assert response.status_code == 422
    assert "Choose an active user of this workspace." in response.get_data(as_text=True)
    with hub_app.app_context():
        assert db.session.scalar(sa.select(ApiToken).where(ApiToken.name == "script")) is None


def _error_flashes(html: str) -> list[str]:
    return re.findall(r'<div class="alert alert--danger" role="alert">(.*?)</div>', html, re.S)


@pytest.mark.parametrize("role", ["bogus", "", "Admin"])
def test_an_unknown_role_is_refused_as_such(hub_app, seeded, as_role, role):
    client = as_role("admin")
    target = seeded.users["team_member"]
    response = client.post(f"/users/{target}/role", data={"role": role})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    # in the roles' names, as the page shows them (the API's message names the codes it takes)
    assert _error_flashes(html) == ["team_member@acme.test is unchanged: choose one of the roles offered "
                                    "(Admin, Team Member or Limited Team Member)."]
    assert 'id="users-table"' in html  # the page itself, re-rendered
    assert _user(hub_app, "team_member@acme.test").role == "team_member"
    missing = client.post(f"/users/{target}/role", data={})
    assert missing.status_code == 422 and "choose one of the roles offered" in missing.get_data(as_text=True)


@pytest.mark.parametrize("form", [{"active": "maybe"}, {"active": ""}, {"active": "true"}, {}])
def test_active_takes_only_what_the_page_sends(hub_app, seeded, as_role, form):
    client = as_role("admin")
    target = seeded.users["team_member"]
    page = client.get("/users").get_data(as_text=True)
    row = re.search(rf'<tr id="user-{target}"(.*?)</tr>', page, re.S).group(1)
    assert '<input type="hidden" name="active" value="0">' in row  # what Deactivate sends
    response = client.post(f"/users/{target}/active", data=form)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    [message] = _error_flashes(html)
    assert message == ("The form said neither Deactivate nor Reactivate, so team_member@acme.test is unchanged: "
                       "use the button on their row.")
    assert _user(hub_app, "team_member@acme.test").active is True
    assert client.post(f"/users/{target}/active", data={"active": "0"}).status_code == 302
    assert _user(hub_app, "team_member@acme.test").active is False
    assert client.post(f"/users/{target}/active", data={"active": "1"}).status_code == 302
    assert _user(hub_app, "team_member@acme.test").active is True


def test_a_name_too_long_for_its_column_is_refused_on_the_form(hub_app, seeded, as_role):
    client = as_role("admin")
    response = client.post("/users", data={"email": "long.name@acme.test", "name": "x" * 5000, "role": "team_member"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert '<p class="field-error" id="new-name-error">At most 200 characters.</p>' in html
    assert 'aria-describedby="new-name-error" aria-invalid="true"' in html
    response = client.post("/users", data={"email": "a" * 320 + "@acme.test", "role": "team_member"})
    assert response.status_code == 422
    assert "At most 320 characters." in response.get_data(as_text=True)
    response = client.post("/users", data={"email": "long.name@acme.test", "name": "x" * 200, "role": "team_member"})
    assert response.status_code == 303
    assert _user(hub_app, "long.name@acme.test").name == "x" * 200
    with hub_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(User.id)).where(User.email.like("aaaa%"))) == 0


def test_create_user_checks_name_and_email_against_their_columns(hub_app, seeded):
    """One check for the page, the API and the CLI (``services.create_user``); on PostgreSQL an
    oversized value would otherwise fail in the database."""
    with hub_app.app_context():
        ws = seeded.workspace_id
        with pytest.raises(ValidationFailed) as caught:
            services.create_user(ws, "n@acme.test", "team_member", name="y" * 201)
        assert caught.value.fields == {"name": ["Longer than maximum length 200."]}
        with pytest.raises(ValidationFailed) as caught:
            services.create_user(ws, "e" * 311 + "@acme.test", "team_member")
        assert list(caught.value.fields) == ["email"] and "too long" in caught.value.message
        # at most 64 characters before the @ (RFC 5321); no name given: the email's local part
        with pytest.raises(ValidationFailed) as caught:
            services.create_user(ws, f"{'l' * 65}@acme.test", "team_member")
        assert list(caught.value.fields) == ["email"] and "before @" in caught.value.message
        user, _ = services.create_user(ws, f"{'l' * 64}@acme.test", "team_member")
        assert user.name == "l" * 64
        user, _ = services.create_user(ws, "padded@acme.test", "team_member", name="  Padded Name  ")
        assert user.name == "Padded Name"


def test_the_last_active_super_admin_is_kept_and_an_inactive_one_can_be_demoted(hub_app, seeded, as_role):
    """The rule protects the workspace's last *active* Super Admin; a deactivated Super Admin
    counts for nothing, so demoting one must not be refused as "the last"."""
    from hub.errors import Conflict

    with hub_app.app_context():
        alice = db.session.get(User, seeded.users["super_admin"])
        bob = services.create_user(alice.workspace_id, "bob@acme.test", "super_admin", name="Bob", actor=alice)[0]
        services.set_active(bob, False, actor=alice)
        services.set_role(bob, "admin", actor=alice)  # inactive: demoting him leaves Alice, who is active
        assert db.session.get(User, bob.id).role == "admin"
        with pytest.raises(Conflict, match="last Super Admin"):
            services.set_role(alice, "admin", actor="cli")
        with pytest.raises(Conflict, match="last Super Admin"):
            services.set_active(alice, False, actor="cli")
        services.set_role(bob, "super_admin", actor=alice)
        services.set_active(bob, True, actor=alice)
        services.set_role(alice, "admin", actor=bob)  # another active Super Admin is left
        assert db.session.get(User, alice.id).role == "admin"


@pytest.mark.parametrize("path, form, secret_id, model", [
    ("/settings/api-tokens", {"name": "prg"}, "new-token", ApiToken),
    ("/users", {"email": "prg@acme.test", "role": "team_member"}, "generated-password", User),
])
def test_creating_redirects_and_shows_the_secret_once_sealed_in_the_session(hub_app, seeded, as_role, path, form,
                                                                            secret_id, model):
    """Post/redirect/get, as a password reset: a reload of the page neither creates again nor shows
    the secret again; the session holds the secret encrypted; only its creator sees it."""
    client = as_role("super_admin")
    with hub_app.app_context():
        before = db.session.scalar(sa.select(sa.func.count()).select_from(model))
    posted = client.post(path, data=form)
    assert posted.status_code == 303 and posted.headers["Location"] == path
    with client.session_transaction() as session:
        sealed = repr(dict(session))
        kept = [k for k in session if k.startswith("shown_once.")]
    assert len(kept) == 1
    html = client.get(path).get_data(as_text=True)
    secret = re.search(rf'id="{secret_id}" value="([^"]+)"', html).group(1)
    assert secret not in sealed
    again = client.get(path).get_data(as_text=True)
    assert secret not in again and f'id="{secret_id}"' not in again
    with hub_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(model)) == before + 1

    client.post(path, data={**form, **({"email": "prg2@acme.test"} if "email" in form else {})})
    with client.session_transaction() as session:
        for key in kept:  # as if another user had sealed it
            session[key] = {**session[key], "by": seeded.users["admin"]}
    assert f'id="{secret_id}"' not in client.get(path).get_data(as_text=True)


def test_a_name_with_control_characters_is_refused_by_the_api(hub_app, seeded):
    """``"\\u0001\\u0002\\u001b[31m"`` was stored as a user's name (a terminal escape, shown on
    every page and in every audit line about them)."""
    answer = hub_app.test_client().post("/api/v1/users", headers=api_headers(seeded, "admin"), json={
        "email": "named@acme.test", "role": "team_member", "name": "\u0001\u0002\u001b[31m"})
    assert answer.status_code == 422, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["fields"] == {"name": ["Holds an invisible or control character (U+0001)."]}
    with hub_app.app_context():
        assert db.session.scalar(sa.select(User.id).where(User.email == "named@acme.test")) is None


def test_a_token_name_with_an_invisible_character_is_refused(hub_app, seeded, as_role):
    response = as_role("super_admin").post("/settings/api-tokens", data={"name": "script\u200b"})
    assert response.status_code == 422
    assert ('<p class="field-error" id="token-name-error">Holds an invisible or control character (U+200B).</p>'
            in response.get_data(as_text=True))
    with hub_app.app_context():
        assert db.session.scalar(sa.select(ApiToken).where(ApiToken.name.startswith("script"))) is None
