"""The integration page after the vendor refused the credentials, and its settings form's errors
(found by a UX review on /integrations/lever):

- after "Connection test failed. Lever rejected the API key", the next step was "register the
  webhooks in Lever" with a Register button that failed the same way: it is now the credentials
  (a valid key for an API-key connection, connecting again for OAuth), in the plugin's own words
  (its title and its settings' labels), and no Register button is offered until the connection works;
- saving a new key kept "Needs reconnecting" and the red "Invalid API key" until the next test:
  a new credential typed in now takes the connection back to "not tested yet" (not for OAuth,
  whose refused grant no setting revives);
- Lever's form showed its errors one save at a time (its schema's check of the base URL was
  skipped while another field had an error), and the hub's form did the same with a required
  field left empty; a refused save dropped the typed API key without saying so.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from hub import hookimpl
from hub.entities import SOURCE, IntegrationSpec
from hub.errors import HubError
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import AuditEntry
from plugins.lever.sandbox import SEED, serve_in_thread
from tests.web.support import make_user, sign_in, vendor_error

OWNER = "owner@next-step.test"
GOOD_KEY = SEED["api_key"]
REFUSAL_CLEARED = "API key changed since Lever refused the credentials: test the connection again"
LEVER_FORM = {"environment": "custom", "auth_mode": "api_key", "api_key": "", "signature_tokens": "",
              "perform_as": "", "max_webhook_age_hours": "72", "max_clock_skew_minutes": "5", "tag_results": "y"}


# --------------------------------------------------------------------------- helpers


def _owner(app):
    with app.app_context():
        make_user(1, OWNER, "super_admin")
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, OWNER).status_code == 302
    return client


def _next_step(html: str) -> str:
    match = re.search(r'<div class="alert alert--\w+" id="next-step"><strong>(.*?)</strong> (.*?)</div>', html, re.S)
    assert match, "no next step on the page"
    return f"{match.group(1)} {match.group(2)}"


def _status(app, plugin: str) -> tuple[str, str | None]:
    with app.app_context():
        row = get_runtime().integration(1, plugin)
        return row.status, row.status_message


def _field_error(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="setting-{name}-error">(.*?)</p>', html, re.S)
    assert match, f"no error under {name}"
    return match.group(1)


def _flashes(html: str) -> str:
    match = re.search(r'<div class="flashes" id="flashes">(.*?)</div>\s*\n\s*</div>', html, re.S)
    return match.group(1) if match else ""


@pytest.fixture
def lever_sandbox():
    base, stop = serve_in_thread()
    yield base
    stop()


@pytest.fixture
def lever(make_app, lever_sandbox):
    """A hub with the Lever plugin, enabled, its base URL the sandbox's; the owner signed in."""
    app = make_app(overrides={"PLUGINS": "lever", "LEVER_CLIENT_ID": SEED["oauth_client_id"],
                              "LEVER_CLIENT_SECRET": SEED["oauth_client_secret"],
                              "LEVER_RETRY_BASE_SECONDS": 0.001, "LEVER_RETRY_MAX_SECONDS": 0.01})
    client = _owner(app)
    assert client.post("/integrations/lever/enable").status_code == 302
    return app, client, {**LEVER_FORM, "base_url": lever_sandbox}


def _refused(lever) -> str:
    """Save the wrong key and press Test connection, as the review did: the page after it."""
    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "api_key": "wrong-key"}).status_code == 302
    return client.post("/integrations/lever/test", follow_redirects=True).get_data(as_text=True)


# --------------------------------------------------------------------------- 1. the next step


def test_after_lever_refuses_the_key_the_next_step_is_the_key_and_nothing_to_register(lever):
    app, client, _ = lever
    html = _refused(lever)
    assert "Connection test failed. Lever rejected the API key: Invalid API key" in _flashes(html)
    assert re.search(r'id="connection-status"[^>]*>Needs reconnecting<', html)
    assert _next_step(html) == ("Next step: paste a valid API key from Lever in the settings below, save, "
                                "then test the connection.")
    assert "register the webhooks" not in html
    # the button that would fail with the same rejection is not offered; the page says why
    assert 'id="register-webhooks"' not in html and 'id="webhooks-form"' not in html
    note = re.search(r'<p class="small muted" id="register-needs-credentials">(.*?)</p>', html, re.S).group(1)
    assert note == ("Registering webhooks needs a working connection first. The last test or use of the "
                    "connection failed: follow the next step above.")
    assert "Lever refused the credentials when they were last tested or used." in html
    assert _status(app, "lever")[0] == "needs_reauthorization"


def test_a_refused_oauth_grant_asks_to_connect_again(lever):
    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "auth_mode": "oauth"}).status_code == 302
    with app.app_context():
        ctx = get_runtime().context(1, "lever")
        ctx.update_secrets({"oauth_access_token": "dead", "oauth_refresh_token": "dead"})
        ctx.set_status("needs_reauthorization", "Lever refused to refresh the connection (invalid_grant)")
    html = client.get("/integrations/lever").get_data(as_text=True)
    assert _next_step(html) == ("Next step: connect with Lever (OAuth) again: Lever no longer accepts the "
                                "hub's access.").replace("'", "&#39;")
    assert re.search(r'id="connect-lever">Reconnect with Lever<', html)
    assert 'id="register-webhooks"' not in html


class KeyOnly:
    """A third-party plugin the hub knows nothing of: an API-key connection (no OAuth) whose
    test sets "needs reconnecting" itself when the vendor refuses the key."""

    class Settings(Schema):
        access_token = fields.String(required=True, metadata={"label": "Access token", "connection": True})
        region = fields.String(load_default="eu")

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Acme ATS", settings_schema=self.Settings,
                                 secret_fields=("access_token",), supports_webhook_setup=True))

    @hookimpl
    def test_connection(self, ctx):
        if ctx.secrets.get("access_token") == "vendor-down":
            raise HubError("Acme ATS answered 503", status=502)
        if ctx.secrets.get("access_token") != "good-token":
            ctx.set_status("needs_reauthorization", "Acme ATS refused the access token")
            raise HubError("Acme ATS refused the access token", status=401)
        return "Acme ATS answered."

    @hookimpl
    def setup_webhooks(self, ctx):
        return "Webhooks registered at Acme ATS."

    @hookimpl
    def verify_webhook(self, ctx, request):
        raise HubError("not in this test", status=400)


@pytest.fixture
def acme(make_app):
    app = make_app(plugins=[("acme", KeyOnly())], entry_points=False)
    client = _owner(app)
    assert client.post("/integrations/acme/enable").status_code == 302
    return app, client


def test_the_hub_says_it_in_any_plugins_words_and_new_credentials_clear_the_refusal(acme):
    app, client = acme
    assert client.post("/integrations/acme/settings", data={"access_token": "bad", "region": "eu"}).status_code == 302
    html = client.post("/integrations/acme/test", follow_redirects=True).get_data(as_text=True)
    assert _next_step(html) == ("Next step: paste a valid access token from Acme ATS in the settings below, "
                                "save, then test the connection.")
    assert 'id="register-webhooks"' not in html
    # another setting saved: still refused; the same bad token again: nothing changed either
    for data in ({"access_token": "", "region": "us"}, {"access_token": "bad", "region": "us"}):
        assert client.post("/integrations/acme/settings", data=data).status_code == 302
        assert _status(app, "acme") == ("needs_reauthorization", "Acme ATS refused the access token")
    assert client.post("/integrations/acme/settings", data={"access_token": "good-token", "region": "us"}
                       ).status_code == 302
    assert _status(app, "acme") == ("configured", "Access token changed since Acme ATS refused the credentials: "
                                                  "test the connection again")
    html = client.post("/integrations/acme/test", follow_redirects=True).get_data(as_text=True)
    assert _next_step(html) == "Next step: register the webhooks in Acme ATS."
    assert 'id="register-webhooks"' in html
    # a failure that is not a refusal ("error"): what the message says, the credential named too
    assert client.post("/integrations/acme/settings", data={"access_token": "vendor-down", "region": "us"}
                       ).status_code == 302
    html = client.post("/integrations/acme/test", follow_redirects=True).get_data(as_text=True)
    assert _status(app, "acme") == ("error", "Acme ATS answered 503")
    assert _next_step(html) == ("Next step: fix what the message above names (the access token or another "
                                "setting), save, then test the connection again.")
    assert 'id="register-webhooks"' not in html


def test_a_failed_test_of_another_kind_asks_to_fix_what_the_message_says(hub_app, seeded, as_role, fakes):
    fakes[0].fail = vendor_error("Fake ATS answered 503")
    client = as_role("super_admin")
    html = client.post("/integrations/fakesource/test", follow_redirects=True).get_data(as_text=True)
    assert _status(hub_app, "fakesource")[0] == "error"
    # Fake ATS signs in with OAuth (the hub's default for a plugin implementing it): "the credentials"
    assert _next_step(html) == ("Next step: fix what the message above names (the credentials or another "
                                "setting), save, then test the connection again.")
    assert 'id="register-webhooks"' not in html
    fakes[0].fail = None
    html = client.post("/integrations/fakesource/test", follow_redirects=True).get_data(as_text=True)
    assert _next_step(html) == "Next step: register the webhooks in Fake ATS."
    assert 'id="register-webhooks"' in html


# --------------------------------------------------------------------------- 2. new credentials


def test_saving_a_new_key_clears_the_stale_refusal(lever):
    app, client, form = lever
    _refused(lever)
    saved = client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY}, follow_redirects=True)
    html = saved.get_data(as_text=True)
    assert "Lever settings saved." in _flashes(html)
    assert "Invalid API key" not in html and "Needs reconnecting" not in html
    assert re.search(r'id="connection-status"[^>]*>Not tested yet<', html)
    assert ('<div class="alert alert--info" id="status-message">API key changed since Lever refused the '
            'credentials: test the connection again</div>') in html
    assert _next_step(html) == "Next step: test the connection."
    assert _status(app, "lever") == ("configured", REFUSAL_CLEARED)
    with app.app_context():  # the audit log says what the admin changed, as for any save
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "integration.settings")
                                   .order_by(AuditEntry.id.desc())).first()
        assert entry.actor == OWNER and entry.detail == {"changed": ["api_key"]}
    tested = client.post("/integrations/lever/test", follow_redirects=True).get_data(as_text=True)
    assert _status(app, "lever")[0] == "connected"
    assert _next_step(tested) == "Next step: register the webhooks in Lever."


def test_the_api_clears_the_refusal_the_same_way(lever):
    from hub import services
    from hub.store.models import User

    app, client, form = lever
    _refused(lever)
    with app.app_context():
        token = services.create_api_token(db.session.scalar(sa.select(User).where(User.email == OWNER)), "t")
    answer = app.test_client().put("/api/v1/integrations/lever", json={"api_key": GOOD_KEY},
                                   headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200
    assert (answer.get_json()["status"], answer.get_json()["status_message"]) == ("configured", REFUSAL_CLEARED)


def test_a_refused_oauth_grant_is_not_cleared_by_a_typed_api_key(lever):
    """The API key is not what an OAuth connection signs in with: "needs reconnecting" stays
    until a connect or test (the dashboard and backfills must still see the dead grant)."""
    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "auth_mode": "oauth"}).status_code == 302
    with app.app_context():
        get_runtime().context(1, "lever").set_status("needs_reauthorization", "invalid_grant")
    assert client.post("/integrations/lever/settings", data={**form, "auth_mode": "oauth", "api_key": GOOD_KEY}
                       ).status_code == 302
    assert _status(app, "lever") == ("needs_reauthorization", "invalid_grant")


# --------------------------------------------------------------------------- 3. the form's errors


def test_every_lever_field_error_shows_in_one_save(lever):
    _, client, form = lever
    answer = client.post("/integrations/lever/settings",
                         data={**form, "base_url": "abc", "max_webhook_age_hours": "0"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert _field_error(html, "max_webhook_age_hours") == "Enter a number from 1 to 168."
    assert _field_error(html, "base_url") == "Enter a URL starting with http:// or https://."


def test_the_lever_schema_reports_the_base_url_beside_other_fields_errors():
    from marshmallow import ValidationError

    from plugins.lever.settings import LeverSettingsSchema

    with pytest.raises(ValidationError) as caught:
        LeverSettingsSchema().load({"environment": "custom", "base_url": "abc", "max_webhook_age_hours": 0})
    assert set(caught.value.messages) == {"base_url", "max_webhook_age_hours"}
    # a base URL with an error of its own (too long) gets that one only, not "required" besides
    with pytest.raises(ValidationError) as caught:
        LeverSettingsSchema().load({"environment": "custom", "base_url": "http://x/" + "a" * 2000,
                                    "max_webhook_age_hours": 0})
    assert caught.value.messages["base_url"] == ["Longer than maximum length 2000."]


def test_a_required_field_left_empty_does_not_hide_the_other_errors(hub_app, seeded, as_role):
    answer = as_role("super_admin").post("/integrations/fakesource/settings", data={
        "account": "", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "0"})
    assert answer.status_code == 422
    html = answer.get_data(as_text=True)
    assert _field_error(html, "account") == "This field is required."
    assert _field_error(html, "max_rate") == "Enter a number from 1 to 50."


def test_a_refused_save_says_the_typed_secret_was_not_kept(lever):
    _, client, form = lever
    html = client.post("/integrations/lever/settings", data={**form, "api_key": "typed-key", "base_url": "abc"}
                       ).get_data(as_text=True)
    assert ("Some settings need your attention; nothing was saved. The API key you typed was not kept: "
            "paste it again.") in _flashes(html)
    assert "typed-key" not in html
    both = client.post("/integrations/lever/settings", data={**form, "api_key": "typed-key", "base_url": "abc",
                                                             "signature_tokens": "tok"}).get_data(as_text=True)
    assert ("The API key and webhook signature tokens you typed were not kept: paste them again."
            in _flashes(both))
    # nothing typed in a secret field: nothing to paste again
    plain = client.post("/integrations/lever/settings", data={**form, "base_url": "abc"}).get_data(as_text=True)
    assert "Some settings need your attention; nothing was saved." in _flashes(plain)
    assert "not kept" not in _flashes(plain)
