"""OAuth upkeep against the Lever sandbox over real HTTP: the periodic keep-alive refresh (Lever
drops a refresh token after 90 days without use), the scopes requested (default, configurable
with HUB_LEVER_SCOPES) and the integration page's warning while the grant lacks some of them."""

from __future__ import annotations

import html
import logging
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest

from hub import services
from hub.engine.sweeper import reconcile_all
from hub.errors import HubError
from hub.extensions import db
from plugins.lever import auth
from plugins.lever.client import LeverClient
from tests.web.support import make_user, sign_in

from .conftest import API_KEY, CLIENT_ID, WORKSPACE

REDIRECT = "http://hub.test/integrations/lever/oauth/callback"
DAY = 24 * 3600


def refreshes(sandbox) -> int:
    return sandbox.stats().get("oauth_refreshes", {}).get(CLIENT_ID, 0)


def idle_for(hub, seconds: float) -> None:
    """Make the stored grant look as if Lever last issued its tokens ``seconds`` ago."""
    hub.with_ctx(lambda ctx: ctx.update_secrets({auth.REFRESHED_AT: time.time() - seconds}))


def run_periodic_work(hub) -> None:
    """What every worker runs periodically: the plugins' ``reconcile`` hooks."""
    with hub.app.app_context():
        assert reconcile_all(hub.runtime) == 0  # Lever's hook returns no events


def consent_with_scopes(sandbox, authorize_url: str, granted: str) -> dict[str, str]:
    """Approve on the sandbox's consent page, granting ``granted`` instead of what was requested
    (as when Lever's app registration or the approving admin allows fewer scopes)."""
    page = sandbox.http.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text
    fields = {html.unescape(name): html.unescape(value) for name, value in
              re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text)}
    answer = sandbox.http.post(f"{sandbox.base}/authorize", data={**fields, "scope": granted, "decision": "allow"},
                               allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text
    return {k: v[0] for k, v in parse_qs(urlsplit(answer.headers["Location"]).query).items()}


def requested_scopes(hub) -> list[str]:
    url = hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="s")
    return parse_qs(urlsplit(url).query)["scope"][0].split()


# --------------------------------------------------------------------------- keep-alive


def test_the_periodic_work_refreshes_a_grant_idle_for_a_week(oauth_hub, sandbox):
    before = oauth_hub.secrets()
    assert before[auth.REFRESHED_AT] > time.time() - 60  # the code exchange counts as a renewal
    idle_for(oauth_hub, auth.KEEPALIVE_AFTER_SECONDS + 60)
    run_periodic_work(oauth_hub)
    after = oauth_hub.secrets()
    assert refreshes(sandbox) == 1
    assert after["oauth_refresh_token"] != before["oauth_refresh_token"]  # rotated and stored
    assert after[auth.REFRESHED_AT] > time.time() - 60
    run_periodic_work(oauth_hub)  # renewed just now: nothing more to do
    assert refreshes(sandbox) == 1
    assert {u.id for u in oauth_hub.call("source_list_users")} >= {"user-super-admin"}


def test_a_grant_stored_before_the_refresh_time_was_kept_is_refreshed(oauth_hub, sandbox):
    oauth_hub.with_ctx(lambda ctx: ctx.update_secrets({}, remove=(auth.REFRESHED_AT,)))
    run_periodic_work(oauth_hub)
    assert refreshes(sandbox) == 1
    assert oauth_hub.secrets()[auth.REFRESHED_AT] > time.time() - 60


def test_a_grant_renewed_within_the_week_is_left_alone(oauth_hub, sandbox):
    idle_for(oauth_hub, auth.KEEPALIVE_AFTER_SECONDS - 3600)
    run_periodic_work(oauth_hub)
    assert refreshes(sandbox) == 0
    assert sandbox.stats().get("oauth_token_grants") == {"authorization_code": 1}


def test_api_key_connections_are_never_refreshed(oauth_hub, sandbox):
    idle_for(oauth_hub, 30 * DAY)  # left-over OAuth tokens of an earlier connection
    oauth_hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "api_key",
                         "api_key": API_KEY})
    run_periodic_work(oauth_hub)
    assert refreshes(sandbox) == 0 and not sandbox.stats().get("oauth_failures")


def test_a_refresh_under_way_elsewhere_is_not_repeated(oauth_hub, sandbox):
    idle_for(oauth_hub, 30 * DAY)

    def while_another_worker_refreshes(ctx):
        with ctx.lock(auth.REFRESH_LOCK, ttl=60.0, wait=0):
            assert auth.keep_alive(oauth_hub.runtime.context(WORKSPACE, "lever")) is False

    oauth_hub.with_ctx(while_another_worker_refreshes)
    assert refreshes(sandbox) == 0


def test_a_dead_grant_needs_reauthorization_and_is_not_hammered(oauth_hub, sandbox, caplog):
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})  # as after 90 idle days
    idle_for(oauth_hub, 30 * DAY)
    with caplog.at_level(logging.WARNING, logger="hub.plugin.lever"):
        run_periodic_work(oauth_hub)
    state = oauth_hub.integration()
    assert state["status"] == "needs_reauthorization"
    assert "connect with OAuth again" in state["status_message"]
    assert sandbox.stats()["oauth_failures"] == {"invalid_grant": 1}
    assert any("keep-alive" in r.getMessage() for r in caplog.records)
    run_periodic_work(oauth_hub)  # the next run, minutes later, does not try again at once
    assert sandbox.stats()["oauth_failures"] == {"invalid_grant": 1}


# --------------------------------------------------------------------------- scopes


def test_the_default_scopes_cover_the_application_and_contact_reads(oauth_hub, sandbox):
    assert {"applications:read:admin", "contact:read:admin"} <= set(requested_scopes(oauth_hub))
    assert len(auth.SCOPES) <= 20  # the reported maximum (lever.md §2.3)
    sandbox.control("POST", "/settings", json={"enforce_scopes": True})

    def read(ctx):
        client = LeverClient(ctx)
        return (client.get_data("/opportunities/opp-alice/applications/app-alice"),
                client.get_data("/contacts/contact-alice"))

    application, contact = oauth_hub.with_ctx(read)
    assert application["id"] == "app-alice" and contact["id"] == "contact-alice"


@pytest.mark.parametrize("value", ["stages:read:admin notes:write:admin",
                                   "stages:read:admin, notes:write:admin,stages:read:admin",
                                   ["stages:read:admin", "notes:write:admin"]])
def test_hub_lever_scopes_replaces_the_list_and_keeps_offline_access(make_hub, sandbox, value):
    hub = make_hub(LEVER_SCOPES=value)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    assert requested_scopes(hub) == ["offline_access", "stages:read:admin", "notes:write:admin"]


def test_an_empty_hub_lever_scopes_means_the_default(make_hub, sandbox):
    hub = make_hub(LEVER_SCOPES=" ")
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    assert requested_scopes(hub) == list(auth.SCOPES)


def test_an_unreadable_hub_lever_scopes_says_what_to_fix(make_hub, sandbox):
    hub = make_hub(LEVER_SCOPES=5)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    with pytest.raises(HubError, match="HUB_LEVER_SCOPES must list"):
        hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="s")


def test_missing_scopes_compares_write_with_read_and_trusts_an_absent_scope():
    requested = ("offline_access", "opportunities:read:admin", "contact:read:admin", "notes:write:admin")
    assert auth.missing_scopes(requested, "opportunities:write:admin notes:write:admin") == ["contact:read:admin"]
    assert auth.missing_scopes(requested, None) == []
    assert auth.missing_scopes(requested, "notes:read:admin") == [
        "opportunities:read:admin", "contact:read:admin", "notes:write:admin"]


def warnings(hub) -> tuple[str, ...]:
    return hub.with_ctx(lambda ctx: hub.runtime.registry.call("lever", "connection_state", ctx=ctx)).warnings


def test_a_narrower_grant_is_connected_with_a_warning(hub, sandbox, caplog):
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    url = hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="s")
    granted = " ".join(s for s in auth.SCOPES if s not in ("contact:read:admin", "applications:read:admin"))
    params = consent_with_scopes(sandbox, url, granted)
    with caplog.at_level(logging.WARNING, logger="hub.plugin.lever"):
        message = hub.call("oauth_complete", redirect_uri=REDIRECT, params=params)
    assert message.startswith("Lever is connected with OAuth") and "did not grant" not in message
    assert hub.integration()["status"] == "connected"
    (warning,) = warnings(hub)
    assert "Lever did not grant applications:read:admin, contact:read:admin" in warning
    assert "ask a Lever Super Admin to approve every scope" in warning
    assert any("applications:read:admin contact:read:admin" in r.getMessage() for r in caplog.records)


def test_a_full_grant_carries_no_warning(oauth_hub):
    assert "did not grant" not in (oauth_hub.integration()["status_message"] or "")
    assert warnings(oauth_hub) == ()


def test_a_connection_made_before_the_hub_requested_more_scopes_is_warned_about(oauth_hub):
    """A grant stored before applications:read:admin and contact:read:admin were requested: nothing
    told the admin that the reads needing them were refused."""
    old_grant = " ".join(s for s in auth.SCOPES if s not in ("contact:read:admin", "applications:read:admin"))
    oauth_hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_scope": old_grant}))
    (warning,) = warnings(oauth_hub)
    assert warning.startswith("Lever did not grant applications:read:admin, contact:read:admin, so the hub's calls "
                              "that need them will be refused")
    with oauth_hub.app.app_context():
        token = services.create_api_token(make_user(WORKSPACE, "owner@lever-old-grant.test", "super_admin"), "t")
        db.session.commit()
    answer = oauth_hub.app.test_client().get("/api/v1/integrations/lever", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200 and answer.get_json()["connection"]["warnings"] == [warning]
    oauth_hub.with_ctx(lambda ctx: ctx.update_secrets({}, remove=("oauth_scope",)))  # Lever gave no scope: all
    assert warnings(oauth_hub) == ()


def test_the_connect_flow_shows_the_admin_the_missing_scopes(hub, sandbox):
    with hub.app.app_context():
        make_user(WORKSPACE, "owner@lever-scopes.test", "super_admin")
        db.session.commit()
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    client = hub.app.test_client()
    assert sign_in(client, "owner@lever-scopes.test").status_code == 302
    start = client.post("/integrations/lever/oauth/start")
    assert start.status_code == 302 and start.headers["Location"].startswith(sandbox.base + "/authorize")
    params = consent_with_scopes(sandbox, start.headers["Location"],
                                 " ".join(s for s in auth.SCOPES if s != "contact:read:admin"))
    page = client.get("/integrations/lever/oauth/callback", query_string=params, follow_redirects=True)
    text = html.unescape(page.get_data(as_text=True))
    assert page.status_code == 200
    (warning,) = re.findall(r'<p class="alert alert--warning connection-warning" role="alert">([^<]*)</p>', text)
    assert warning.startswith("Lever did not grant contact:read:admin, so the hub's calls that need it will be refused")
    assert re.search(r'<div class="alert alert--success" role="status">Lever is connected with OAuth[^<]*</div>', text)
    params = consent_with_scopes(sandbox, client.post("/integrations/lever/oauth/start").headers["Location"],
                                 " ".join(auth.SCOPES))  # reconnected with every scope: the warning goes
    page = client.get("/integrations/lever/oauth/callback", query_string=params, follow_redirects=True)
    assert page.status_code == 200 and "connection-warning" not in page.get_data(as_text=True)
