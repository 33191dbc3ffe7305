"""An OAuth grant goes only to the Lever that issued it: a Super Admin who points the environment or
the custom base URL elsewhere (anyone's server) gets "connect with OAuth again", and the stored
access and refresh tokens are never sent to the new address (secrets are write-only)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from hub.errors import NeedsReauthorization, ValidationFailed
from plugins.lever import auth

from .test_oauth import expire_soon


@pytest.fixture
def elsewhere():
    """A server standing for someone else's: every request it was sent (path, Authorization, body)."""
    seen: list[tuple[str, str, bytes]] = []

    class Handler(BaseHTTPRequestHandler):
        def _answer(self):
            length = int(self.headers.get("Content-Length") or 0)
            seen.append((self.path, self.headers.get("Authorization") or "", self.rfile.read(length)))
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"code": "Unauthorized", "message": "no"}')

        do_GET = do_POST = _answer  # noqa: N815 - the stdlib's names

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    server.server_close()


def test_the_grant_records_the_lever_that_issued_it(oauth_hub, sandbox):
    assert oauth_hub.secrets()["oauth_api_base"] == sandbox.base + "/v1"


def test_a_new_base_url_never_receives_the_tokens(oauth_hub, sandbox, elsewhere):
    address, seen = elsewhere
    oauth_hub.configure({"environment": "custom", "base_url": address, "auth_mode": "oauth"})
    oauth_hub.with_ctx(lambda ctx: ctx.update_secrets({auth.REFRESHED_AT: 0}))  # the keep-alive is due
    assert oauth_hub.with_ctx(auth.keep_alive) is False
    with pytest.raises(NeedsReauthorization, match="connect with OAuth again"):
        oauth_hub.call("source_list_users")
    expire_soon(oauth_hub)  # a refresh (or the keep-alive's) would send the refresh token there
    with pytest.raises(NeedsReauthorization, match=r"now 127\.0\.0\.1:\d+: connect with OAuth again"):
        oauth_hub.call("source_list_users")
    assert seen == []
    assert oauth_hub.integration()["status"] == "needs_reauthorization"
    # pointed back at the Lever that issued it, the grant works again
    oauth_hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    assert {u.id for u in oauth_hub.call("source_list_users")} >= {"user-admin"}


def test_an_api_key_kept_unused_under_oauth_is_forgotten_with_the_old_address(hub, sandbox, elsewhere):
    address, seen = elsewhere
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "api_key", "api_key": "key-1"})
    with pytest.raises(ValidationFailed, match="API key"):  # used: asked for again, not sent on
        hub.configure({"base_url": address})
    hub.configure({"auth_mode": "oauth"})  # the key stays stored, unused (switching back uses it)
    assert hub.secrets()["api_key"] == "key-1"
    hub.configure({"base_url": address})  # nothing to type in: the unused key is forgotten instead
    assert "api_key" not in hub.secrets()
    hub.configure({"auth_mode": "api_key"})
    with pytest.raises(NeedsReauthorization):
        hub.call("source_list_users")
    assert seen == []


def test_the_saved_settings_say_which_credentials_the_new_address_would_get(hub, sandbox, elsewhere):
    """Whether the stored key is used is read from the settings being saved, not the old ones: a
    save choosing OAuth with a new address forgets the key, one choosing the API key asks for it."""
    address, _ = elsewhere
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "api_key", "api_key": "key-1"})
    with pytest.raises(ValidationFailed, match="API key"):  # to Lever's own host: a new address all the same
        hub.configure({"environment": "production"})
    hub.configure({"environment": "custom", "auth_mode": "oauth", "base_url": address})  # one save: OAuth, elsewhere
    assert "api_key" not in hub.secrets()
    hub.configure({"auth_mode": "api_key", "api_key": "key-2", "base_url": sandbox.base})
    hub.configure({"auth_mode": "oauth"})  # the key kept, unused
    with pytest.raises(ValidationFailed, match="API key"):  # back to the key, elsewhere, in one save: asked for
        hub.configure({"auth_mode": "api_key", "base_url": address})
    assert hub.secrets()["api_key"] == "key-2"


def test_a_custom_base_url_kept_unused_needs_no_key(hub, sandbox, elsewhere):
    address, _ = elsewhere
    hub.configure({"environment": "production", "auth_mode": "api_key", "api_key": "key-1", "base_url": sandbox.base})
    hub.configure({"base_url": address})  # the production environment sends nothing to it
    assert hub.secrets()["api_key"] == "key-1"
    with pytest.raises(ValidationFailed, match="API key"):  # choosing it sends the key there: asked for
        hub.configure({"environment": "custom"})
