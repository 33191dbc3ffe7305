"""Switching Lever's Authentication between an API key and OAuth, as a walk of the integration page
found it: the page says one thing to do (no "test the connection again" beside "connect with
Lever"), and the credentials of the way not chosen, which the hub keeps, are said to be unused and
what becomes of them (switching back uses them; revoking forgets them)."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import User
from plugins.lever.sandbox import SEED, serve_in_thread
from tests.web.support import make_user, sign_in

OWNER = "owner@auth-mode.test"
VIEWER = "viewer@auth-mode.test"
LEVER_FORM = {"environment": "custom", "auth_mode": "api_key", "api_key": "", "signature_tokens": "",
              "perform_as": "", "max_webhook_age_hours": "72", "max_clock_skew_minutes": "5", "tag_results": "y"}
TEST_AGAIN = "test the connection again"
KEY_UNUSED = "Not used while OAuth is chosen under Authentication"


@pytest.fixture
def lever(make_app):
    """A hub with the Lever plugin (OAuth set up on the server), enabled, its base URL the sandbox's;
    the owner (Super Admin) signed in."""
    base, stop = serve_in_thread()
    app = make_app(overrides={"PLUGINS": "lever", "LEVER_CLIENT_ID": SEED["oauth_client_id"],
                              "LEVER_CLIENT_SECRET": SEED["oauth_client_secret"],
                              "LEVER_RETRY_BASE_SECONDS": 0.001, "LEVER_RETRY_MAX_SECONDS": 0.01})
    with app.app_context():
        make_user(1, OWNER, "super_admin")
        make_user(1, VIEWER, "admin")
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, OWNER).status_code == 302
    assert client.post("/integrations/lever/enable").status_code == 302
    yield app, client, {**LEVER_FORM, "base_url": base}
    stop()


def _save(client, form, **changes) -> str:
    answer = client.post("/integrations/lever/settings", data={**form, **changes}, follow_redirects=True)
    assert answer.status_code == 200
    return answer.get_data(as_text=True)


def _connect_oauth(app) -> None:
    """What a finished "Connect with Lever" leaves: tokens stored, the connection connected."""
    with app.app_context():
        ctx = get_runtime().context(1, "lever")
        ctx.update_secrets({"oauth_access_token": "access", "oauth_refresh_token": "refresh"})
        ctx.set_status("connected", "Lever is connected with OAuth")


def _next_step(html: str) -> str:
    match = re.search(r'id="next-step"><strong>(.*?)</strong> (.*?)</div>', html, re.S)
    assert match, "no next step on the page"
    return f"{match.group(1)} {match.group(2)}"


def _badge(html: str) -> str:
    return re.search(r'id="connection-status"[^>]*>(.*?)<', html).group(1)


def _key_connected(lever) -> None:
    app, client, form = lever
    _save(client, form, api_key=SEED["api_key"])
    assert "Lever is connected" in client.post("/integrations/lever/test", follow_redirects=True).get_data(as_text=True)


def test_api_key_to_oauth_before_connecting_says_connect_and_nothing_to_test(lever):
    app, client, form = lever
    _key_connected(lever)
    html = _save(client, form, auth_mode="oauth")
    assert _next_step(html) == "Next step: connect with Lever (OAuth)."
    # no "Authentication changed ...: test the connection again" beside it, and no Test button
    assert 'id="status-message"' not in html and TEST_AGAIN not in html
    assert 'id="test-connection"' not in html
    assert _badge(html) == "Not tested yet"  # the state's one name on every page
    assert re.search(r'class="btn btn--primary" id="connect-lever">Connect with Lever<', html)
    # the Admin's read-only view says the same state
    viewer = app.test_client()
    assert sign_in(viewer, VIEWER).status_code == 302
    seen = viewer.get("/integrations/lever").get_data(as_text=True)
    assert TEST_AGAIN not in seen and _badge(seen) == "Not tested yet"


def test_oauth_to_api_key_without_a_key_says_enter_the_key_only(lever):
    app, client, form = lever
    _save(client, form, auth_mode="oauth")
    _connect_oauth(app)
    html = _save(client, form, auth_mode="api_key")
    assert _next_step(html) == "Next step: enter Lever&#39;s API key in the settings and save."
    assert TEST_AGAIN not in html and _badge(html) == "Not tested yet"
    # the OAuth tokens are kept, unused, and the page says so and what becomes of them
    note = re.search(r'id="stored-secrets-unused">(.*?)</p>', html, re.S).group(1)
    assert note.startswith("The OAuth tokens are not used while the API key is chosen under Authentication")
    assert "Revoking access forgets them." in note


def test_a_key_typed_after_the_switch_is_tested_again(lever):
    """Where credentials of the chosen way are stored, "test again" is the next step and it stays."""
    app, client, form = lever
    _key_connected(lever)
    _save(client, form, auth_mode="oauth")
    _connect_oauth(app)
    html = _save(client, form, auth_mode="api_key")
    assert _next_step(html) == "Next step: test the connection."
    assert re.search(r'id="status-message">Authentication changed since the connection was last tested: '
                     r'test the connection again<', html)
    assert _badge(html) == "Not tested yet"


def test_the_api_key_kept_under_oauth_is_said_to_be_unused_and_forgotten_on_revoke(lever):
    app, client, form = lever
    _key_connected(lever)
    assert KEY_UNUSED not in client.get("/integrations/lever").get_data(as_text=True)
    _save(client, form, auth_mode="oauth")
    _connect_oauth(app)
    html = client.get("/integrations/lever").get_data(as_text=True)
    unused = re.search(r'id="setting-api_key-unused">(.*?)</span>', html, re.S).group(1)
    assert unused == (f"{KEY_UNUSED}: kept, so that choosing the API key again connects with it (test the "
                      "connection then). Revoking access forgets it.")
    assert 'id="stored-secrets-unused"' not in html  # the OAuth tokens are in use
    confirm = client.get("/integrations/lever/revoke").get_data(as_text=True)
    assert ("The API key is not in use (OAuth is chosen under Authentication), and forgotten too: to use it "
            "after reconnecting, enter it again.") in confirm
    # back to the API key: the key is in use again, the OAuth tokens are the unused ones
    back = _save(client, form, auth_mode="api_key")
    assert KEY_UNUSED not in back and 'id="stored-secrets-unused"' in back
    confirm = client.get("/integrations/lever/revoke").get_data(as_text=True)
    assert ("The OAuth tokens are not in use (the API key is chosen under Authentication), and they are "
            "forgotten too: to use OAuth after reconnecting, connect with Lever again.") in confirm
    assert "The API key is not in use" not in confirm


def test_connected_with_oauth_the_button_is_explained_as_reconnecting(lever):
    app, client, form = lever
    _save(client, form, auth_mode="oauth")
    before = client.get("/integrations/lever").get_data(as_text=True)
    assert 'id="oauth-connect-help"' in before and "No API key to copy" in before
    _connect_oauth(app)
    html = client.get("/integrations/lever").get_data(as_text=True)
    assert "No API key to copy" not in html
    assert re.search(r'id="oauth-reconnect-help">Connected with your Lever account\. Reconnect to grant the hub '
                     r'access again', html)
    assert re.search(r'id="connect-lever">Reconnect with Lever<', html)


def test_the_stored_message_names_the_chosen_ways_next_step_not_a_test(lever):
    """What the API (and the Dashboard) read: the status message says what the switch needs."""
    app, client, form = lever
    with app.app_context():
        token = services.create_api_token(db.session.scalar(sa.select(User).where(User.email == OWNER)), "t")
    api = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    _key_connected(lever)
    _save(client, form, auth_mode="oauth")
    answer = api.get("/api/v1/integrations/lever", headers=headers).get_json()
    assert answer["status"] == "configured"
    assert answer["status_message"] == ("Authentication changed since the connection was last tested: "
                                        "connect with Lever (OAuth)")
    # switching back to the key, which is still stored: testing is the next step again
    _save(client, form, auth_mode="api_key")
    answer = api.get("/api/v1/integrations/lever", headers=headers).get_json()
    assert answer["status_message"] == ("Authentication changed since the connection was last tested: "
                                        "test the connection again")
