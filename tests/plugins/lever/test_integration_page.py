"""The Lever integration page with the real plugin and its sandbox: first step on a fresh hub,
enabling without a key, testing without credentials, OAuth only when configured and chosen,
registered webhooks and stored tokens shown (never their values), revoked state, and who stored
a credential."""

from __future__ import annotations

import re

import pytest

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from tests.web.support import make_user, sign_in

from .conftest import API_KEY, WORKSPACE

SUPER = "owner@lever-page.test"
ADMIN = "admin@lever-page.test"


def _users(hub) -> None:
    with hub.app.app_context():
        make_user(WORKSPACE, SUPER, "super_admin")
        make_user(WORKSPACE, ADMIN, "admin")
        db.session.commit()


def _client(hub, email: str = SUPER):
    client = hub.app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _page(client) -> str:
    response = client.get("/integrations/lever")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def _flashes(html: str) -> str:
    match = re.search(r'id="flashes"(.*?)</div>\s*</div>', html, re.S) or re.search(r'id="flashes"(.*)', html, re.S)
    return match.group(1) if match else ""


def test_fresh_hub_shows_one_first_step_and_no_actions_that_cannot_work(hub):
    _users(hub)
    html = _page(_client(hub))
    assert 'id="next-step"' in html
    assert "First step:</strong> enable Lever with the button above. Then enter its credentials in the settings below" in html
    assert 'id="enable-lever"' in html
    for absent in ('id="test-connection"', 'id="register-webhooks"', 'id="connect-lever"', 'id="revoke-link"',
                   'id="verification-status"', "Verify connection"):
        assert absent not in html, absent
    assert "webhook URL is shown here once it is enabled" in html
    # an Admin (who cannot act) gets no instructions, only the state
    admin = _page(_client(hub, ADMIN))
    assert "A Super Admin enables Lever and enters its credentials here." in admin
    assert 'id="credentials-help"' not in admin and 'id="oauth-alternative"' not in admin
    assert "First step" not in admin and "API-key mode" not in admin


def test_enable_without_key_says_what_is_next_and_test_keeps_the_state(hub):
    _users(hub)
    client = _client(hub)
    done = client.post("/integrations/lever/enable", follow_redirects=True).get_data(as_text=True)
    assert ("Lever is enabled, but not connected yet: enter Lever&#39;s API key in the settings and save, "
            "then test the connection.") in done
    assert "Lever is enabled." not in done
    assert 'id="test-connection"' not in done
    tested = client.post("/integrations/lever/test", follow_redirects=True).get_data(as_text=True)
    assert "nothing to test" in tested and "Lever: Lever" not in tested
    assert hub.integration()["status"] == "enabled"  # not turned into "error"


def test_api_key_mode_is_primary_when_oauth_is_not_configured(make_hub):
    hub = make_hub(LEVER_CLIENT_ID=None, LEVER_CLIENT_SECRET=None)
    _users(hub)
    hub.configure({"environment": "sandbox", "auth_mode": "api_key"})
    html = _page(_client(hub))
    assert 'id="connect-lever"' not in html and 'id="oauth-alternative"' not in html
    assert 'id="credentials-help"' in html
    hub.configure({"environment": "sandbox", "auth_mode": "oauth"})
    html = _page(_client(hub))
    assert 'id="connect-lever"' not in html
    assert 'id="oauth-unavailable"' in html and "HUB_LEVER_CLIENT_ID" in html


def test_oauth_connect_only_when_configured_and_chosen(hub):
    _users(hub)
    hub.configure({"environment": "sandbox", "auth_mode": "api_key"})
    html = _page(_client(hub))
    assert 'id="connect-lever"' not in html and 'id="oauth-alternative"' in html
    assert 'id="oauth-alternative"' not in _page(_client(hub, ADMIN))
    hub.configure({"environment": "sandbox", "auth_mode": "oauth"})
    html = _page(_client(hub))
    assert re.search(r'class="btn btn--primary" id="connect-lever">Connect with Lever<', html)
    assert 'id="oauth-unavailable"' not in html
    admin = _page(_client(hub, ADMIN))  # state only, no instructions for someone who cannot act
    assert 'id="connect-lever"' not in admin and "grant the hub access" not in admin
    assert 'id="credentials-help"' not in admin and "Lever is enabled but has no credentials: a Super Admin can enter them." in admin


def test_registered_webhooks_and_stored_tokens_are_shown_without_values(api_key_hub, sandbox):
    hub = api_key_hub
    _users(hub)
    client = _client(hub)
    html = _page(client)
    assert 'id="no-registered-webhooks"' in html
    assert re.search(r'class="btn btn--primary" id="register-webhooks">Register webhooks in Lever<', html)
    assert "Test connection" in html
    client.post("/integrations/lever/webhooks")
    html = _page(client)
    listed = re.search(r'<ul id="registered-webhooks-list">(.*?)</ul>', html, re.S).group(1)
    assert listed.count("<li>") == 5 and "Application Created" in listed and "Candidate Stage Change" in listed and "Candidate Hired" in listed
    assert "5 webhooks registered at Lever by the hub; their signature tokens are stored" in html
    assert "Register webhooks in Lever" not in html and "Check the webhooks at Lever again" in html
    assert 'id="webhooks-missing"' not in html
    state = re.search(r'id="setting-signature_tokens-state">(.*?)</span>', html, re.S).group(1)
    assert "Not set yet" not in state and "the 5 webhooks the hub registered are stored separately" in state
    # a token regenerated in Lever makes its webhooks refused: this field is where the new one goes
    assert "or for a webhook the hub registered whose signature token was regenerated there since " \
           "(paste the new token here)" in state
    stored = re.search(r'id="stored-secret-webhook_tokens">(.*?)</li>', html, re.S).group(1)
    assert f"by {SUPER} (stored by the Lever plugin)" in stored  # the admin who pressed the button
    tokens = hub.secrets()["webhook_tokens"]
    assert tokens and not any(token in html for token in tokens.values()) and API_KEY not in html
    # the page says how Lever verifies: its own button, or the first webhook
    assert "press &#34;Verify connection&#34; next to the hub&#39;s URL" in html or \
        "Verify connection" in html and "first signed webhook" in html


def test_revoke_texts_are_true_for_lever_and_the_revoked_page_offers_only_reconnecting(api_key_hub, sandbox):
    hub = api_key_hub
    _users(hub)
    client = _client(hub)
    client.post("/integrations/lever/webhooks")
    html = _page(client)
    danger = re.search(r'<section class="card card--danger"[^>]*>(.*?)</section>', html, re.S).group(1)
    assert "deletes at Lever the webhooks it registered" in danger
    confirm = client.get("/integrations/lever/revoke").get_data(as_text=True)
    consequences = re.search(r'<ul id="revoke-consequences">(.*?)</ul>', confirm, re.S).group(1)
    assert "deletes at Lever the webhooks it registered" in consequences
    assert "cannot undo anything" not in consequences
    with hub.app.app_context():  # Lever's webhooks had been arriving
        from hub.store.models import utcnow

        get_runtime().integration(WORKSPACE, "lever").last_webhook_at = utcnow()
        db.session.commit()
    client.post("/integrations/lever/revoke")
    assert sandbox.webhooks() == []  # what the text promised
    html = _page(client)
    for absent in ('id="revoke-link"', 'id="register-webhooks"', 'id="connect-lever"', 'id="test-connection"',
                   'id="webhook-url"'):
        assert absent not in html, absent
    assert "Access revoked.</strong> The hub forgot Lever&#39;s credentials" in html
    assert "To reconnect: enable Lever, then enter Lever&#39;s API key" in html
    assert 'id="enable-lever"' in html
    tested = client.post("/integrations/lever/test", follow_redirects=True).get_data(as_text=True)
    assert "nothing to test" in tested and "Lever: Lever" not in tested
    assert hub.integration()["status"] == "revoked"
    assert 'data-status="revoked"' in tested
    # enabling again: a new webhook URL, the old "access revoked" message is gone, the next step is the key
    enabled = client.post("/integrations/lever/enable", follow_redirects=True).get_data(as_text=True)
    assert "access revoked; connect again" not in enabled and 'id="webhook-url"' in enabled
    assert "Next step:</strong> enter Lever&#39;s API key in the settings and save." in enabled
    # connected again: nothing has arrived at the new URL, so the page offers to register it (it
    # took the old URL's last webhook for webhooks arriving, and offered nothing)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "api_key", "api_key": API_KEY})
    assert 'id="register-webhooks"' in _page(client)


@pytest.mark.parametrize("actor, expected", [("hub demo", "by hub demo (stored by the Lever plugin)"),
                                             (None, "by the Lever plugin")])
def test_credentials_stored_by_the_plugin_name_who_it_acted_for(hub, sandbox, actor, expected):
    _users(hub)
    with hub.app.app_context():
        runtime = get_runtime()
        services.set_enabled(runtime, WORKSPACE, "lever", True, "hub demo")
        runtime.registry.call("lever", "connect_sandbox", ctx=runtime.context(WORKSPACE, "lever", actor=actor),
                              sandbox_url=sandbox.base)
    html = _page(_client(hub))
    state = re.search(r'id="setting-api_key-state">(.*?)</span>', html, re.S).group(1)
    assert expected in state and "plugin:lever" not in state


def test_webhooks_set_up_by_hand_are_not_flagged_for_registration(api_key_hub, sandbox):
    hub = api_key_hub
    _users(hub)
    client = _client(hub)
    assert re.search(r'class="btn btn--primary" id="register-webhooks"', _page(client))  # nothing set up yet
    # set up by hand in Lever's settings: the admin pasted their signature token (WEBHOOK_HELP)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "api_key", "api_key": API_KEY,
                   "signature_tokens": "manual-" + "t" * 30})
    html = _page(client)
    assert "register the webhooks in Lever" not in html  # registering too would make Lever send twice
    assert not re.search(r'class="btn btn--primary" id="register-webhooks"', html)


def test_the_api_reports_the_connection_state_without_secrets(api_key_hub, sandbox):
    hub = api_key_hub
    _users(hub)
    client = _client(hub)
    client.post("/integrations/lever/webhooks")  # the hub registers its 5 webhooks at Lever
    with hub.app.app_context():
        from hub.store.models import User

        owner = db.session.scalar(db.select(User).where(User.email == SUPER))
        raw = services.create_api_token(owner, "state")
    answer = hub.app.test_client().get("/api/v1/integrations/lever", headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 200
    connection = answer.get_json()["connection"]
    assert connection["credentials_present"] is True and connection["webhooks_missing"] == []
    assert len(connection["webhooks"]) == 5 and all(w["token_stored"] for w in connection["webhooks"])
    assert API_KEY not in answer.get_data(as_text=True)


def test_the_settings_drop_downs_name_their_choices_for_people(hub):
    _users(hub)
    html = _page(_client(hub))
    assert re.search(r'<option value="production"[^>]*>Production \(api\.lever\.co\)</option>', html)
    assert re.search(r'<option value="custom"[^>]*>Custom base URL</option>', html)
    assert re.search(r'<option value="api_key"[^>]*>API key</option>', html)
    assert re.search(r'<option value="oauth"[^>]*>OAuth \(partner app\)</option>', html)
    assert ">api_key</option>" not in html and ">custom</option>" not in html


def test_a_time_zone_that_is_a_region_is_refused_on_the_page_and_the_api_not_a_500(hub):
    """The notes' time zone "Europe" (a region: a folder of the time zone database, not a zone) was
    a 500 on saving the settings, on the page and through the API."""
    _users(hub)
    client = _client(hub)
    client.post("/integrations/lever/enable")
    saved = client.post("/integrations/lever/settings", data={"environment": "production", "auth_mode": "api_key",
                                                              "note_time_zone": "Europe"})
    assert saved.status_code == 422
    assert "Unknown time zone “Europe”" in saved.get_data(as_text=True)
    with hub.app.app_context():
        from hub.store.models import User

        owner = db.session.scalar(db.select(User).where(User.email == SUPER))
        raw = services.create_api_token(owner, "settings")
    answer = hub.app.test_client().put("/api/v1/integrations/lever", json={"note_time_zone": "Europe"},
                                       headers={"Authorization": f"Bearer {raw}"})
    assert answer.status_code == 422
    assert answer.get_json()["error"]["fields"]["note_time_zone"] == [
        "Unknown time zone “Europe”. Enter an IANA time zone name such as Europe/Berlin or America/New_York, or UTC."]
