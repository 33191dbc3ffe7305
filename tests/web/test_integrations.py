"""Integrations pages: the settings form generated from a plugin's schema, write-only secrets,
enable/disable, connect (OAuth), webhooks, test connection, revoke."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Integration, WebhookLog, utcnow
from tests.web.support import SECRET_VALUE, vendor_error


def _integration(app, plugin="fakesource") -> Integration:
    with app.app_context():
        row = get_runtime().integration(1, plugin)
        db.session.expunge(row)
        return row


def _field_html(html: str, name: str) -> str:
    match = re.search(rf'<div class="field[^"]*" id="field-{name}">(.*?)</div>\s*(?=<div class="field|<button|</fieldset)',
                      html, re.S)
    assert match, name
    return match.group(1)


def test_settings_form_is_generated_from_the_schema(hub_app, seeded, as_role):
    html = as_role("super_admin").get("/integrations/fakesource").get_data(as_text=True)
    assert 'id="settings-form"' in html
    account = _field_html(html, "account")
    assert 'type="text"' in account and 'name="account"' in account and 'value="acme"' in account
    assert "required" in account and "Your account name at Fake ATS." in account
    assert '<label for="setting-account">Account' in account
    region = _field_html(html, "region")
    assert '<select id="setting-region" name="region"' in region
    assert '<option value="eu" selected>Europe</option>' in region and '<option value="us">United States</option>' in region
    assert 'type="url"' in _field_html(html, "base_url")
    assert 'type="email"' in _field_html(html, "contact")
    rate = _field_html(html, "max_rate")
    assert 'type="number"' in rate and 'step="1"' in rate and 'min="1"' in rate and 'max="50"' in rate
    assert "Requests per second" in rate  # metadata title is the label
    assert 'type="checkbox"' in _field_html(html, "sandbox")
    api_key = _field_html(html, "api_key")
    assert 'type="password"' in api_key and 'value=""' in api_key
    assert re.search(r"Set on \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC by test", api_key)
    assert "Not set yet." in _field_html(html, "signature_token")


def test_secrets_are_write_only(hub_app, seeded, as_role):
    client = as_role("super_admin")
    new_secret = "whsec-NEW-SIGNATURE-TOKEN-987"
    response = client.post("/integrations/fakesource/settings", data={
        "account": "acme", "region": "us", "base_url": "https://api.fake-ats.example", "max_rate": "7",
        "sandbox": "y", "api_key": "", "signature_token": new_secret})
    assert response.status_code == 302
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        assert row.settings["region"] == "us" and row.settings["max_rate"] == 7 and row.settings["sandbox"] is True
        stored = get_runtime().secret_box.decrypt(row.secrets_encrypted)
        assert stored == {"api_key": SECRET_VALUE, "signature_token": new_secret}  # empty kept the old key
        assert new_secret not in (row.secrets_encrypted or "")
        assert row.secrets_meta["signature_token"]["set_by"] == "super_admin@acme.test"
    # a validation error re-renders the form: still without any secret
    failed = client.post("/integrations/fakesource/settings", data={
        "account": "acme", "max_rate": "500", "api_key": "another-secret-VALUE-555"})
    assert failed.status_code == 422
    assert "another-secret-VALUE-555" not in failed.get_data(as_text=True)
    # no page, for any role, ever shows a secret (the API neither)
    pages = ["/", "/integrations", "/integrations/fakesource", "/integrations/fakesource/revoke", "/activity",
             "/audit", "/pipeline", "/candidates"]
    for role in ("super_admin", "admin"):
        viewer = as_role(role)
        for page in pages:
            body = viewer.get(page).get_data(as_text=True)
            assert SECRET_VALUE not in body and new_secret not in body, (role, page)
    api = hub_app.test_client().get("/api/v1/integrations/fakesource",
                                    headers={"Authorization": f"Bearer {seeded.tokens['super_admin']}"})
    assert SECRET_VALUE not in api.get_data(as_text=True)
    assert api.get_json()["secrets"]["api_key"]["set"] is True


def test_invalid_settings_are_shown_inline_and_nothing_is_saved(hub_app, seeded, as_role):
    client = as_role("super_admin")
    response = client.post("/integrations/fakesource/settings", data={
        "account": "", "region": "mars", "base_url": "not a url", "max_rate": "500", "contact": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="setting-account-error"' in html and "This field is required." in html
    response = client.post("/integrations/fakesource/settings", data={
        "account": "acme", "region": "mars", "base_url": "not a url", "max_rate": "500", "contact": "nope"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for name in ("region", "base_url", "max_rate", "contact"):
        assert f'id="setting-{name}-error"' in html, name
    assert 'aria-invalid="true"' in html
    assert 'value="not a url"' in html  # what was typed is kept
    assert _integration(hub_app).settings["region"] == "eu"


def test_only_a_super_admin_enables_and_disables(hub_app, seeded, as_role):
    admin = as_role("admin")
    html = admin.get("/integrations/fakesource").get_data(as_text=True)
    assert 'id="disable-fakesource"' not in html and 'id="save-settings"' not in html
    assert 'id="read-only-notice"' in html and "<fieldset disabled>" in html
    # the stored key's field tells an Admin it is set, not what only a Super Admin may do with it
    assert 'placeholder="Set"' in html and "Leave empty to keep the current value" not in html
    assert "Leave empty to keep the current value" in as_role("super_admin").get(
        "/integrations/fakesource").get_data(as_text=True)
    assert admin.post("/integrations/fakesource/disable").status_code == 403
    assert _integration(hub_app).enabled is True

    owner = as_role("super_admin")
    assert 'id="disable-fakesource"' in owner.get("/integrations/fakesource").get_data(as_text=True)
    response = owner.post("/integrations/fakesource/disable", follow_redirects=True)
    assert "Fake ATS is disabled" in response.get_data(as_text=True)
    assert _integration(hub_app).enabled is False
    html = owner.get("/integrations").get_data(as_text=True)
    assert re.search(r'id="integration-fakesource" data-enabled="false"', html)
    assert 'id="enable-fakesource"' in owner.get("/integrations/fakesource").get_data(as_text=True)
    assert owner.post("/integrations/fakesource/enable").status_code == 302
    assert _integration(hub_app).enabled is True


def test_unknown_plugin_is_404(as_role):
    response = as_role("super_admin").get("/integrations/nope")
    assert response.status_code == 404
    assert "No plugin named" in response.get_data(as_text=True)


def test_oauth_connect_checks_the_state(hub_app, seeded, as_role, fakes):
    client = as_role("super_admin")
    start = client.post("/integrations/fakesource/oauth/start")
    assert start.status_code == 302
    location = urlsplit(start.headers["Location"])
    assert location.netloc == "auth.fake-ats.example"
    params = parse_qs(location.query)
    assert params["redirect_uri"] == ["http://hub.test/integrations/fakesource/oauth/callback"]
    state = params["state"][0]

    bad = client.get("/integrations/fakesource/oauth/callback?state=forged&code=abc")
    assert bad.status_code == 400 and "state mismatch" in bad.get_data(as_text=True)
    # the state is single-use: after a mismatch the flow must start again
    assert client.get(f"/integrations/fakesource/oauth/callback?state={state}&code=abc").status_code == 400

    start = client.post("/integrations/fakesource/oauth/start")
    state = parse_qs(urlsplit(start.headers["Location"]).query)["state"][0]
    done = client.get(f"/integrations/fakesource/oauth/callback?state={state}&code=abc", follow_redirects=True)
    assert done.status_code == 200 and "Fake ATS is connected." in done.get_data(as_text=True)
    assert "oauth_complete" in fakes[0].calls
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        assert get_runtime().secret_box.decrypt(row.secrets_encrypted)["api_key"] == "oauth-abc"
        assert row.status == "connected"


def test_webhook_url_registration_and_verification(hub_app, seeded, as_role, fakes):
    client = as_role("super_admin")
    row = _integration(hub_app)
    html = client.get("/integrations/fakesource").get_data(as_text=True)
    assert f'value="http://hub.test/webhooks/fakesource/{row.webhook_key}"' in html
    assert 'id="register-webhooks"' in html and 'id="copy-webhook-url"' in html
    assert "Not verified yet. The first signed webhook from Fake ATS verifies the connection." in html
    assert "Verify connection" not in html  # no button the vendor does not have is promised

    response = client.post("/integrations/fakesource/webhooks", follow_redirects=True)
    assert "Webhooks registered at Fake ATS." in response.get_data(as_text=True)

    # the vendor's "verify connection" ping arrives at the URL; then the page says verified
    assert hub_app.test_client().post(f"/webhooks/fakesource/{row.webhook_key}", data=b"{}").status_code == 200
    with hub_app.app_context():
        db.session.add(WebhookLog(workspace_id=1, plugin="fakesource", outcome="rejected", status_code=401,
                                  message="bad signature"))
        db.session.commit()
    html = client.get("/integrations/fakesource").get_data(as_text=True)
    status = re.search(r'<p id="verification-status" data-verified="true">(.*?)</p>', html, re.S).group(1)
    # a verify ping is a webhook, not an event: "last webhook" (Activity lists events)
    assert "Verified" in status and "<time datetime=" in status and "last webhook" in status
    log = re.search(r'<table class="[^"]*" id="webhook-log">(.*?)</table>', html, re.S).group(1)
    assert 'data-outcome="rejected"' in log and "bad signature" in log and 'data-outcome="ping"' in log


def test_vendor_failures_are_shown_not_500(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    client = as_role("super_admin")
    source.fail = vendor_error("Fake ATS answered 503")
    response = client.post("/integrations/fakesource/test", follow_redirects=True)
    assert response.status_code == 200
    assert "Connection test failed. Fake ATS answered 503" in response.get_data(as_text=True)  # named once
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        assert row.status == "error" and "503" in row.status_message
    source.fail = RuntimeError("connection reset")
    response = client.post("/integrations/fakesource/webhooks", follow_redirects=True)
    assert response.status_code == 200
    assert "Fake ATS failed: RuntimeError (the hub&#39;s log has the details)" in response.get_data(as_text=True)
    assert "connection reset" not in response.get_data(as_text=True)  # its text is in the log only
    from hub.errors import TemporaryError

    source.fail = TemporaryError("rate limited, retry in 30 s")  # a plugin's deliberate error: its message
    response = client.post("/integrations/fakesource/test", follow_redirects=True)
    assert "Connection test failed. Fake ATS: rate limited, retry in 30 s" in response.get_data(as_text=True)
    source.fail = None
    response = client.post("/integrations/fakesource/test", follow_redirects=True)
    assert "Fake ATS answered." in response.get_data(as_text=True)
    assert "Fake ATS: Fake ATS" not in response.get_data(as_text=True)
    assert _integration(hub_app).status == "connected"


def test_admin_may_test_but_not_register_webhooks(hub_app, seeded, as_role):
    admin = as_role("admin")
    assert admin.post("/integrations/fakesource/test").status_code == 302
    assert admin.post("/integrations/fakesource/webhooks").status_code == 403
    html = admin.get("/integrations/fakesource").get_data(as_text=True)
    assert 'id="test-connection"' in html and 'id="register-webhooks"' not in html and 'id="revoke-link"' not in html


def test_revoke_asks_for_confirmation_then_does_exactly_that(hub_app, seeded, as_role, fakes):
    with hub_app.app_context():
        from tests.web.support import _dead_delivery

        pending = _dead_delivery(1)
        pending.plugin, pending.status = "fakesource", "retry"
        pending.next_attempt_at = utcnow() + timedelta(hours=1)
        db.session.commit()
        pending_id = pending.id
    client = as_role("super_admin")
    old_key = _integration(hub_app).webhook_key
    page = client.get("/integrations/fakesource/revoke")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'id="revoke-confirm"' in html
    consequences = re.search(r'<ul id="revoke-consequences">(.*?)</ul>', html, re.S).group(1)
    assert "undo what it set up at Fake ATS (its disconnect step)" in consequences
    assert "Every stored credential is forgotten: API key." in consequences
    assert "1 pending delivery to Fake ATS is cancelled." in consequences
    assert "running right now" not in consequences
    assert "webhook URL stops working" in consequences
    assert _integration(hub_app).enabled is True  # the GET changed nothing

    # one running now: the page used to count it as pending and promise it cancelled, yet what it
    # had already sent went out
    with hub_app.app_context():
        db.session.get(Delivery, pending_id).status = "running"
        db.session.commit()
    html = client.get("/integrations/fakesource/revoke").get_data(as_text=True)
    consequences = re.search(r'<ul id="revoke-consequences">(.*?)</ul>', html, re.S).group(1)
    assert "1 of them is running right now: what it has already sent to Fake ATS stays sent" in consequences

    done = client.post("/integrations/fakesource/revoke", follow_redirects=True)
    assert "Access to Fake ATS is revoked, and its 1 pending delivery was cancelled." in done.get_data(as_text=True)
    assert "disconnect" in fakes[0].calls
    row = _integration(hub_app)
    assert row.enabled is False and row.secrets_encrypted is None and row.status == "revoked"
    assert row.webhook_key != old_key
    with hub_app.app_context():
        assert db.session.get(Delivery, pending_id).status == "cancelled"
    assert hub_app.test_client().post(f"/webhooks/fakesource/{old_key}", data=b"{}").status_code == 404


def test_integrations_list(hub_app, seeded, as_role):
    html = as_role("admin").get("/integrations").get_data(as_text=True)
    row = re.search(r'<tr id="integration-fakesource"(.*?)</tr>', html, re.S).group(1)
    assert "Fake ATS" in row and "Source" in row and "1.2.3" in row and "Enabled" in row
    assert 'id="integration-fakeassess"' in html


@pytest.mark.parametrize("enabled, status, label", [
    (False, "not_connected", "Set up"), (True, "enabled", "Set up"), (True, "configured", "Set up"),
    (False, "revoked", "Set up"), (False, "connected", "Manage"), (True, "connected", "Manage"),
    (True, "needs_reauthorization", "Manage"), (True, "error", "Manage"), (False, "error", "Manage")])
def test_the_integrations_list_says_set_up_until_the_connection_is_set_up(
        hub_app, seeded, as_role, enabled, status, label):
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.enabled, row.status = enabled, status
        db.session.commit()
    action = re.compile(r'<a [^>]*id="action-fakesource">([^<]*)</a>')
    assert action.search(as_role("super_admin").get("/integrations").get_data(as_text=True)).group(1) == label
    assert action.search(as_role("admin").get("/integrations").get_data(as_text=True)).group(1) == "View"


def test_dashboard_health_and_attention(hub_app, seeded, as_role):
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.status, row.status_message = "needs_reauthorization", "invalid_grant"
        row.verified_at = row.last_webhook_at = utcnow() - timedelta(minutes=5)
        db.session.commit()
    html = as_role("admin").get("/").get_data(as_text=True)
    card = re.search(r'<article class="card health-card" id="health-fakesource">(.*?)</article>', html, re.S).group(1)
    assert "Needs reconnecting" in card and "invalid_grant" in card and "Verified" in card
    assert re.search(r'<time datetime="[^"]+" title="[^"]+ UTC" data-relative>5 minutes ago</time>', card)
    attention = re.search(r'id="attention-deliveries">(.*?)</article>', html, re.S).group(1)
    assert "1 dead" in attention or "dead" in attention
    assert 'href="/activity?status=dead' in attention
    stats = re.search(r'<ul class="stats" id="invitations-this-week">(.*?)</ul>', html, re.S).group(1)
    assert re.search(r'id="stat-failed">\s*<a href="/candidates\?status=failed">\s*<span class="stat__value">4<', stats)
    # a Team Member sees the invitations but not the integrations or the deliveries
    member = as_role("team_member").get("/").get_data(as_text=True)
    assert 'id="integration-health"' not in member and 'id="attention-deliveries"' not in member
    assert 'id="invitations-this-week"' in member
    with hub_app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status == "dead")) >= 1


def test_revoked_integration_offers_only_reconnecting_and_a_test_keeps_the_state(hub_app, seeded, as_role, fakes):
    client = as_role("super_admin")
    client.post("/integrations/fakesource/revoke")
    html = client.get("/integrations/fakesource").get_data(as_text=True)
    for absent in ('id="revoke-link"', 'id="register-webhooks"', 'id="connect-fakesource"', 'id="test-connection"',
                   'id="webhook-url"', 'id="status-message"'):
        assert absent not in html, absent
    assert "Access revoked.</strong> The hub forgot Fake ATS&#39;s credentials" in html
    assert 'id="enable-fakesource"' in html
    fakes[0].calls.clear()
    tested = client.post("/integrations/fakesource/test", follow_redirects=True).get_data(as_text=True)
    assert "Fake ATS has no credentials yet, so there is nothing to test" in tested
    assert "test_connection" not in fakes[0].calls  # nothing was called
    assert _integration(hub_app).status == "revoked"
    # the API says the same (409), and registering webhooks without credentials is refused too
    headers = {"Authorization": f"Bearer {seeded.tokens['super_admin']}"}
    api = hub_app.test_client()
    assert api.post("/api/v1/integrations/fakesource/test", headers=headers).status_code == 409
    assert api.post("/api/v1/integrations/fakesource/webhooks/setup", headers=headers).status_code == 409
    assert _integration(hub_app).status == "revoked"
    # enabling without credentials says it is not connected yet and what to do
    enabled = client.post("/integrations/fakesource/enable", follow_redirects=True).get_data(as_text=True)
    # (connecting with OAuth tests the connection itself: no "then test the connection", a walk found)
    assert "Fake ATS is enabled, but not connected yet: connect with Fake ATS." in enabled
    assert re.search(r'class="btn btn--primary" id="connect-fakesource">Connect with Fake ATS<', enabled)


def test_enable_with_credentials_just_says_enabled(hub_app, seeded, as_role):
    client = as_role("super_admin")
    client.post("/integrations/fakesource/disable")
    done = client.post("/integrations/fakesource/enable", follow_redirects=True).get_data(as_text=True)
    assert "Fake ATS is enabled." in done and "not connected yet" not in done


def test_messages_name_the_plugin_once(hub_app, seeded, as_role, fakes):
    from hub.web.live import titled

    assert titled("Lever", "Lever is not connected: enter an API key") == "Lever is not connected: enter an API key"
    assert titled("Lever", "timed out") == "Lever: timed out"
    fakes[0].fail = vendor_error("fake ats is not connected: enter an API key in the settings")
    html = as_role("super_admin").post("/integrations/fakesource/test", follow_redirects=True).get_data(as_text=True)
    assert "Connection test failed. fake ats is not connected: enter an API key in the settings" in html
    assert "Fake ATS: fake ats" not in html


def _real_plugins_app(make_app):
    from tests.web.support import make_user, sign_in

    app = make_app(overrides={"PLUGINS": "canditech,vervoe"})
    with app.app_context():
        make_user(1, "owner@real.test", "super_admin")
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "owner@real.test").status_code == 302
    return app, client


def test_vervoe_and_canditech_pages_promise_only_what_they_do(make_app):
    app, client = _real_plugins_app(make_app)
    for plugin in ("vervoe", "canditech"):
        client.post(f"/integrations/{plugin}/enable")
    vervoe = client.get("/integrations/vervoe").get_data(as_text=True)
    assert 'id="register-webhooks"' not in vervoe and "Register them automatically" not in vervoe
    assert "Vervoe has no API to register webhooks: in Vervoe&#39;s dashboard, API webhook settings" in vervoe
    assert "Vervoe has no verify button: the first signed report webhook from Vervoe verifies" in vervoe
    assert "Verify connection" not in vervoe
    refused = client.post("/integrations/vervoe/webhooks", follow_redirects=True).get_data(as_text=True)
    assert "alert--success" not in refused.split('id="flashes"')[-1].split("</main>")[0] or \
        "Registering webhooks with Vervoe failed" in refused
    assert "Registering webhooks with Vervoe failed" in refused

    canditech = client.get("/integrations/canditech").get_data(as_text=True)
    assert "Nothing to paste at Canditech" in canditech and 'id="register-webhooks"' not in canditech
    assert "Canditech has no verify button: the first signed webhook from Canditech verifies" in canditech
    assert "Verify connection" not in canditech
    # revoke: the card and the confirmation say the same, true thing
    danger = re.search(r'<section class="card card--danger"[^>]*>(.*?)</section>', canditech, re.S).group(1)
    assert "Nothing is undone at Canditech" in danger and "deleted at the vendor" not in danger
    confirm = client.get("/integrations/canditech/revoke").get_data(as_text=True)
    consequences = re.search(r'<ul id="revoke-consequences">(.*?)</ul>', confirm, re.S).group(1)
    assert "Nothing is undone at Canditech" in consequences and "delete the hub&#39;s webhooks" not in consequences
    vervoe_confirm = client.get("/integrations/vervoe/revoke").get_data(as_text=True)
    assert "remove the hub&#39;s report webhook URL in Vervoe&#39;s dashboard" in vervoe_confirm
    # without an API key there is no test button, and the next step says which key
    assert 'id="test-connection"' not in canditech
    assert "Next step:</strong> enter Canditech&#39;s API key in the settings and save." in canditech


def test_work_running_across_a_revoke_cannot_write_its_tokens_or_status_back(hub_app, seeded):
    """A delivery refreshing a token while a Super Admin revokes: its context was made for the
    old connection, so what it stores afterwards is refused, and "Access revoked" stays."""
    from hub import services
    from hub.errors import PermanentError
    from hub.runtime import get_runtime

    ws = seeded.workspace_id
    with hub_app.app_context():
        runtime = get_runtime()
        running = runtime.context(ws, "fakesource")  # made before the revoke, as a running delivery's
        services.revoke(runtime, ws, "fakesource", "test")
        with pytest.raises(PermanentError, match="disconnected while this work ran"):
            running.update_secrets({"access_token": "refreshed-after-revoke"})
        with pytest.raises(PermanentError):
            running.update_settings({"account": "changed"})
        running.set_status("needs_reauthorization", "the vendor refused the token")
        row = runtime.integration(ws, "fakesource")
        db.session.refresh(row)
        assert row.secrets_encrypted is None and row.status == "revoked"
        assert row.settings.get("account") != "changed"

        services.set_enabled(runtime, ws, "fakesource", True, "test")
        fresh = runtime.context(ws, "fakesource")  # a context of the new connection works
        fresh.update_secrets({"api_key": "new-key"})
        fresh.set_status("connected", "ok")
        db.session.refresh(row)
        assert runtime.secret_box.decrypt(row.secrets_encrypted) == {"api_key": "new-key"}
        assert row.status == "connected"


def test_a_plugin_cannot_store_a_secret_or_an_undeclared_key_through_update_settings(hub_app, seeded):
    """``ctx.update_settings({"api_key": ...})`` stored the secret in clear, and any key was taken."""
    from hub.runtime import get_runtime

    ws = seeded.workspace_id
    with hub_app.app_context():
        runtime = get_runtime()
        ctx = runtime.context(ws, "fakesource")
        before = dict(runtime.integration(ws, "fakesource").settings)
        with pytest.raises(ValueError, match="secret field.s. api_key to ctx.update_settings.*use ctx.update_secrets"):
            ctx.update_settings({"api_key": "in-clear", "account": "changed"})
        with pytest.raises(ValueError, match="passed bogus to ctx.update_settings, which its settings schema does "
                                             "not declare"):
            ctx.update_settings({"bogus": 1})
        row = runtime.integration(ws, "fakesource")
        db.session.refresh(row)
        assert row.settings == before and "in-clear" not in str(row.settings)
        ctx.update_settings({"account": "changed"})  # a declared, non-secret field is stored
        db.session.refresh(row)
        assert row.settings["account"] == "changed"


def test_credentials_saved_after_a_revoke_are_not_tested_yet_before_and_after_enable(hub_app, seeded, as_role):
    """The revoked page offers the settings before Enable: saving a key there left "Access revoked"
    beside "has credentials stored", and Enable then said "No credentials yet"."""
    client = as_role("super_admin")
    client.post("/integrations/fakeassess/revoke")
    assert _integration(hub_app, "fakeassess").status == "revoked"
    client.post("/integrations/fakeassess/settings", data={"api_key": "a-new-key"})
    row = _integration(hub_app, "fakeassess")
    assert (row.status, row.status_message, row.enabled) == ("configured", None, False)
    client.post("/integrations/fakeassess/enable")
    row = _integration(hub_app, "fakeassess")
    assert (row.status, row.enabled) == ("configured", True)
    assert "Not tested yet" in client.get("/integrations/fakeassess").get_data(as_text=True)


def test_enabling_after_a_revoke_without_new_credentials_says_none_are_entered(hub_app, seeded, as_role):
    client = as_role("super_admin")
    client.post("/integrations/fakeassess/revoke")
    client.post("/integrations/fakeassess/enable")
    assert _integration(hub_app, "fakeassess").status == "enabled"  # "No credentials yet"


def test_recent_webhooks_say_what_each_request_carried_in_words(hub_app, seeded, as_role):
    """The Message column read "stage_change:accepted" (the log's own notation); the API keeps it."""
    from html import unescape

    with hub_app.app_context():
        for message in ("stage_change:accepted, archive_change:duplicate", "signature does not match"):
            db.session.add(WebhookLog(workspace_id=1, plugin="fakesource", outcome="accepted", status_code=200,
                                      message=message, event_count=2))
        db.session.commit()
    html = as_role("admin").get("/integrations/fakesource").get_data(as_text=True)
    cells = [unescape(re.sub(r"<details .*?</details>", "", c, flags=re.S))  # the recorded text a click away
             for c in re.findall(r'<td class="wrap" data-label="Message"[^>]*>(.*?)</td>', html, re.S)]
    assert "Stage change accepted; Archive change already received" in cells
    assert "signature does not match" in cells and not any(":accepted" in cell for cell in cells)
    assert 'title="stage_change:accepted, archive_change:duplicate"' in html  # the recorded text on hover
