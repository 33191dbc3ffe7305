"""A Lever context read while the grant was refused uses a reconnect made since (found by a review; failed before its fix)."""

from __future__ import annotations

import time

import pytest

from hub.errors import NeedsReauthorization
from plugins.lever import auth
from plugins.lever.sandbox import serve_in_thread
from tests.plugins.lever.conftest import CLIENT_ID, CLIENT_SECRET, Hub, Sandbox, oauth_connect


@pytest.fixture
def sandbox():
    base, stop = serve_in_thread()
    handle = Sandbox(base)
    yield handle
    handle.close()
    stop()


@pytest.fixture
def oauth_hub(make_app, sandbox):
    """The hub connected to the Lever sandbox with OAuth (as tests/plugins/lever/conftest.py's)."""
    hub = Hub(make_app(overrides={"PLUGINS": "lever", "LEVER_CLIENT_ID": CLIENT_ID,
                                  "LEVER_CLIENT_SECRET": CLIENT_SECRET, "LEVER_RETRY_BASE_SECONDS": 0.001,
                                  "LEVER_RETRY_MAX_SECONDS": 0.01}))
    oauth_connect(hub, sandbox)
    return hub


def test_a_context_read_while_the_grant_was_refused_uses_a_reconnect_made_since(oauth_hub, sandbox):
    """A delivery whose ctx was made while the refusal was remembered, and that asks for a token
    after the admin reconnected (e.g. it waited for the rate limiter or another lock), must use the
    new grant. access_token() checks the remembered refusal on its stale ``ctx.secrets`` before any
    reload, so it raises NeedsReauthorization: the runner then marks the delivery dead and sets the
    connection back to "needs re-authorization" over the reconnect. (Before the refusal was
    remembered, the stale ctx reloaded under the lock and found the new grant.)"""
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})
    oauth_hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_expires_at": time.time() + 60}))
    with pytest.raises(NeedsReauthorization):
        oauth_hub.call("source_list_users")  # refused, and remembered
    with oauth_hub.app.app_context():
        early = oauth_hub.runtime.context(1, "lever")
        assert early.secrets.get(auth.REFUSED)  # read while refused: a delivery starting now
        oauth_connect(oauth_hub, sandbox)  # "Reconnect with Lever", meanwhile
        assert oauth_hub.integration()["status"] == "connected"
        token = auth.access_token(early)  # raises NeedsReauthorization (the bug)
    assert token == oauth_hub.secrets()["oauth_access_token"]
