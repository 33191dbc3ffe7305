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
