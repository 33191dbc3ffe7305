"""OAuth against the Lever sandbox over real HTTP: authorize URL, consent, code exchange, refresh
with rotation, single-flight refresh across workers, and invalid_grant."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from hub.errors import HubError, NeedsReauthorization
from plugins.lever import auth
from plugins.lever.auth import SCOPES

from .conftest import CLIENT_ID, CLIENT_SECRET

REDIRECT = "http://hub.test/integrations/lever/oauth/callback"


def refreshes(sandbox) -> int:
    return sandbox.stats().get("oauth_refreshes", {}).get(CLIENT_ID, 0)


def refresh_metric(hub, outcome: str) -> float:
    value = hub.runtime.metrics.registry.get_sample_value("hub_token_refreshes_total",
                                                          {"plugin": "lever", "outcome": outcome})
    return value or 0.0


def expire_soon(hub, seconds: float = 60) -> None:
    """Make the stored access token look like it expires within the refresh margin."""
    hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_expires_at": time.time() + seconds}))


def test_authorize_url(hub, sandbox):
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    url = hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="s-1")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == sandbox.base + "/authorize"
    params = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert params["client_id"] == CLIENT_ID
    assert params["redirect_uri"] == REDIRECT
    assert params["response_type"] == "code"
    assert params["state"] == "s-1"
    assert params["audience"] == sandbox.base + "/v1/"
    assert params["prompt"] == "consent"
    assert params["scope"].split() == list(SCOPES)
    assert {"offline_access", "opportunities:write:admin", "notes:write:admin", "stages:read:admin",
            "tags:read:admin", "webhooks:write:admin", "postings:read:admin", "users:read:admin",
            "archive_reasons:read:admin", "applications:read:admin", "contact:read:admin"} == set(SCOPES)
    assert "client_secret" not in url and CLIENT_SECRET not in url


@pytest.mark.parametrize("environment,authorize,audience", [
    ("production", "https://auth.lever.co/authorize", "https://api.lever.co/v1/"),
    ("sandbox", "https://sandbox-lever.auth0.com/authorize", "https://api.sandbox.lever.co/v1/"),
])
def test_authorize_url_of_lever_hosts(hub, environment, authorize, audience):
    hub.configure({"environment": environment, "auth_mode": "oauth"})
    url = hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="s")
    assert url.startswith(authorize + "?")
    assert parse_qs(urlsplit(url).query)["audience"] == [audience]


def test_oauth_needs_the_client_configured(make_hub):
    hub = make_hub(LEVER_CLIENT_ID=None)
    hub.configure({"environment": "production", "auth_mode": "oauth"})
    with pytest.raises(HubError, match="HUB_LEVER_CLIENT_ID"):
        hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="s")


def test_code_exchange_stores_tokens_and_connects(hub, sandbox):
    hub.configure({"environment": "custom", "base_url": sandbox.base})  # auth_mode left at api_key
    url = hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="st")
    params = sandbox.consent(url)
    assert params["state"] == "st" and params["code"]
    message = hub.call("oauth_complete", redirect_uri=REDIRECT, params=params)
    assert "account-sandbox" in message
    secrets = hub.secrets()
    assert secrets["oauth_access_token"] and secrets["oauth_refresh_token"]
    assert abs(secrets["oauth_expires_at"] - (time.time() + 3600)) < 60
    assert secrets["oauth_account_id"] == "account-sandbox"
    state = hub.integration()
    assert state["settings"]["auth_mode"] == "oauth" and state["status"] == "connected"
    assert sandbox.stats()["oauth_token_grants"] == {"authorization_code": 1}
    assert "with OAuth (account account-sandbox)" in hub.call("test_connection")
    with pytest.raises(HubError) as info:  # a code is single-use
        hub.call("oauth_complete", redirect_uri=REDIRECT, params=params)
    assert info.value.status == 400


def test_denied_consent(hub, sandbox):
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    params = sandbox.consent(hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="st"), decision="deny")
    assert params["error"] == "access_denied"
    with pytest.raises(HubError) as info:
        hub.call("oauth_complete", redirect_uri=REDIRECT, params=params)
    assert info.value.status == 400
    assert "The user denied access to your app" in info.value.message
    assert "oauth_access_token" not in hub.secrets()


def test_refresh_before_expiry_rotates_the_refresh_token(oauth_hub, sandbox):
    before = oauth_hub.secrets()
    expire_soon(oauth_hub)
    assert [s.id for s in oauth_hub.call("source_list_stages", posting_id=None)][2] == "stage-canditech"
    after = oauth_hub.secrets()
    assert refreshes(sandbox) == 1
    assert after["oauth_access_token"] != before["oauth_access_token"]
    assert after["oauth_refresh_token"] != before["oauth_refresh_token"]
    assert after["oauth_expires_at"] > time.time() + 3000
    assert refresh_metric(oauth_hub, "ok") == 1
    spent = requests.post(sandbox.base + "/oauth/token", timeout=10, data={
        "grant_type": "refresh_token", "refresh_token": before["oauth_refresh_token"],
        "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET})
    assert spent.status_code == 400 and spent.json()["error"] == "invalid_grant"
    oauth_hub.call("source_list_users")  # the new token is fresh: no second refresh
    assert refreshes(sandbox) == 1


def test_a_token_lever_no_longer_accepts_is_refreshed_once(oauth_hub, sandbox):
    sandbox.control("POST", "/oauth/expire", json={"client_id": CLIENT_ID})
    users = oauth_hub.call("source_list_users")
    assert {u.id for u in users} >= {"user-super-admin", "user-admin"}
    assert refreshes(sandbox) == 1


def test_concurrent_workers_refresh_once(oauth_hub, sandbox, monkeypatch):
    old = oauth_hub.secrets()["oauth_access_token"]
    expire_soon(oauth_hub)
    slow_refresh = auth._refresh

    def slowly(ctx, secrets):  # a slow token endpoint: both workers want a token meanwhile
        time.sleep(0.3)
        return slow_refresh(ctx, secrets)

    monkeypatch.setattr(auth, "_refresh", slowly)
    app = oauth_hub.app
    barrier = threading.Barrier(2)
    tokens, errors = [], []

    def worker():
        try:
            with app.app_context():
                ctx = oauth_hub.runtime.context(1, "lever")
                barrier.wait(timeout=10)
                tokens.append(auth.access_token(ctx))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(tokens) == 2 and tokens[0] == tokens[1] != old
    assert refreshes(sandbox) == 1
    assert oauth_hub.secrets()["oauth_access_token"] == tokens[0]


def test_invalid_grant_needs_reauthorization(oauth_hub, sandbox):
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})  # the admin revoked the app
    expire_soon(oauth_hub)
    with pytest.raises(NeedsReauthorization, match="invalid"):
        oauth_hub.call("source_list_stages", posting_id=None)
    state = oauth_hub.integration()
    assert state["status"] == "needs_reauthorization"
    assert "connect with OAuth again" in state["status_message"]
    assert refresh_metric(oauth_hub, "failed") == 1
    with pytest.raises(HubError) as info:  # the admin's "test connection" says so too
        oauth_hub.call("test_connection")
    assert info.value.status == 401
