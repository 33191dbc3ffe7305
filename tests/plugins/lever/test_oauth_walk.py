"""The OAuth lifecycle as an admin lives it, against the Lever sandbox: a grant revoked at Lever is
refused once and then not offered to Lever again; a reconnect while a worker refreshes keeps the
new grant (and its status); a token endpoint that fails for a while is a retry later, never "needs
re-authorization", and says so in plain words."""

from __future__ import annotations

import dataclasses
import http.server
import threading
import time

import pytest
from authlib.integrations.requests_client import OAuth2Session

from hub.errors import HubError, NeedsReauthorization, TemporaryError
from plugins.lever import auth

from .conftest import CLIENT_ID, oauth_connect
from .test_oauth_keepalive_and_scopes import REDIRECT, consent_with_scopes


def token_calls(sandbox) -> int:
    """Every answer of the sandbox's token endpoint, successful or not."""
    stats = sandbox.stats()
    return sum(stats.get("oauth_token_grants", {}).values()) + sum(stats.get("oauth_failures", {}).values())


def api_calls(sandbox) -> int:
    return sum(n for path, n in sandbox.stats().get("requests_by_path", {}).items() if path.startswith("/v1/"))


def expire_soon(hub, seconds: float = 60) -> None:
    hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_expires_at": time.time() + seconds}))


# --------------------------------------------------------------------------- revoked at Lever


@pytest.mark.parametrize("expired", [True, False], ids=["token-expired", "token-rejected"])
def test_a_grant_lever_refused_is_not_offered_to_lever_again(oauth_hub, sandbox, expired):
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})  # the admin revoked the app
    if expired:
        expire_soon(oauth_hub)
    with pytest.raises(NeedsReauthorization) as first:
        oauth_hub.call("source_list_stages", posting_id=None)
    assert oauth_hub.integration()["status"] == "needs_reauthorization"
    tokens, api = token_calls(sandbox), api_calls(sandbox)
    assert sandbox.stats()["oauth_failures"] == {"invalid_grant": 1}
    # every retry of every delivery, every page that reads Lever: the dead grant is not sent again
    for hook, kwargs in [("source_list_stages", {"posting_id": None}), ("source_get_candidate",
                                                                         {"opportunity_id": "opp-alice"})] * 3:
        with pytest.raises(NeedsReauthorization) as again:
            oauth_hub.call(hook, **kwargs)
        assert str(again.value) == str(first.value)
    assert (token_calls(sandbox), api_calls(sandbox)) == (tokens, api)
    assert oauth_hub.integration()["status"] == "needs_reauthorization"

    oauth_connect(oauth_hub, sandbox)  # "Reconnect with Lever"
    assert oauth_hub.integration()["status"] == "connected"
    assert [s.id for s in oauth_hub.call("source_list_stages", posting_id=None)][2] == "stage-canditech"
    expire_soon(oauth_hub)  # and the new grant refreshes
    assert oauth_hub.call("source_get_candidate", opportunity_id="opp-alice").name == "Alice Anders"
    assert sandbox.stats()["oauth_refreshes"] == {CLIENT_ID: 1}


def test_a_refused_grant_stays_refused_for_a_worker_that_read_it_before(oauth_hub, sandbox):
    """A context made before the refusal (a delivery that had started) learns it from the store."""
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})
    expire_soon(oauth_hub)
    with oauth_hub.app.app_context():
        early = oauth_hub.runtime.context(1, "lever")
        early.secrets  # read now, before another worker is refused
        with pytest.raises(NeedsReauthorization):
            oauth_hub.call("source_list_users")
        tokens = token_calls(sandbox)
        with pytest.raises(NeedsReauthorization):
            auth.access_token(early)
    assert token_calls(sandbox) == tokens


# --------------------------------------------------------------------------- reconnect during a refresh


def reconnect_while_refreshing(hub, sandbox, monkeypatch) -> list[BaseException]:
    """A worker refreshes the stored grant (slowly) while the admin completes "Reconnect with
    Lever" with every scope; returns what the worker raised."""
    real = OAuth2Session.refresh_token
    inside, reconnected = threading.Event(), threading.Event()

    def slow_refresh(self, *args, **kwargs):  # the worker is in Lever's token endpoint...
        inside.set()
        reconnected.wait(timeout=2)  # ...while the admin reconnects (or, fixed, waits for it)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(OAuth2Session, "refresh_token", slow_refresh)
    expire_soon(hub)
    raised: list[BaseException] = []

    def worker():
        try:
            hub.call("source_list_users")
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            raised.append(exc)

    thread = threading.Thread(target=worker)
    thread.start()
    assert inside.wait(timeout=10)
    params = sandbox.consent(hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="again"))
    hub.call("oauth_complete", redirect_uri=REDIRECT, params=params)
    reconnected.set()
    thread.join(timeout=30)
    assert not thread.is_alive()
    return raised


def test_a_reconnect_during_a_refresh_keeps_the_new_grant(hub, sandbox, monkeypatch):
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    narrow = " ".join(s for s in auth.SCOPES if s != "contact:read:admin")
    url = hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="first")
    hub.call("oauth_complete", redirect_uri=REDIRECT, params=consent_with_scopes(sandbox, url, narrow))
    assert hub.with_ctx(auth.grant_warnings)  # the first consent lacked a scope
    assert reconnect_while_refreshing(hub, sandbox, monkeypatch) == []
    secrets = hub.secrets()
    assert "contact:read:admin" in secrets["oauth_scope"].split()  # the reconnect's grant, not the old one's
    assert hub.with_ctx(auth.grant_warnings) == ()
    assert hub.integration()["status"] == "connected"


def test_a_refusal_of_the_old_grant_does_not_mark_the_new_one(oauth_hub, sandbox, monkeypatch):
    sandbox.control("POST", "/oauth/revoke", json={"client_id": CLIENT_ID})  # revoked at Lever...
    raised = reconnect_while_refreshing(oauth_hub, sandbox, monkeypatch)  # ...and reconnected meanwhile
    assert all(isinstance(exc, NeedsReauthorization) for exc in raised)  # that worker's grant was gone
    state = oauth_hub.integration()
    assert state["status"] == "connected", state
    assert {u.id for u in oauth_hub.call("source_list_users")} >= {"user-super-admin"}  # the new grant works


# --------------------------------------------------------------------------- the token endpoint fails


class FailingTokenEndpoint:
    """A token endpoint answering ``status`` with ``body``, or (``hang``) answering too late."""

    def __init__(self, status: int = 503, body: bytes = b"<html><body>Service Unavailable</body></html>",
                 content_type: str = "text/html", hang: float = 0.0):
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                outer.calls += 1
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if hang:
                    time.sleep(hang)
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.calls = 0
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/oauth/token"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def closed_port_url() -> str:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/oauth/token"


@pytest.mark.parametrize("failure", ["503-html", "500-json", "429", "timeout", "refused"])
def test_a_token_endpoint_failing_for_a_while_is_a_retry_later(oauth_hub, sandbox, monkeypatch, failure):
    endpoint = None
    if failure == "refused":
        token_url = closed_port_url()
    else:
        if failure == "503-html":
            endpoint = FailingTokenEndpoint()
        elif failure == "500-json":
            endpoint = FailingTokenEndpoint(500, b'{"error": "server_error"}', "application/json")
        elif failure == "429":
            endpoint = FailingTokenEndpoint(429, b'{"error": "too_many_requests", "error_description": "slow down"}',
                                            "application/json")
        else:
            endpoint = FailingTokenEndpoint(200, b"{}", "application/json", hang=1.0)
            monkeypatch.setattr(auth, "TOKEN_TIMEOUT", 0.2)
        token_url = endpoint.url
    real_hosts = auth._hosts
    monkeypatch.setattr(auth, "_hosts", lambda ctx: dataclasses.replace(real_hosts(ctx), token_url=token_url))
    before = oauth_hub.secrets()
    expire_soon(oauth_hub)
    try:
        for _ in range(2):  # a retry later tries Lever again: a transient failure is not remembered
            with pytest.raises(TemporaryError) as info:
                oauth_hub.call("source_list_stages", posting_id=None)
            message = str(info.value)
            assert message.startswith("Lever's token endpoint"), message
            for noise in ("HTTPConnectionPool", "Max retries", "Caused by", "<html", "object at 0x"):
                assert noise not in message, message
        if endpoint is not None:
            assert endpoint.calls == 2
    finally:
        if endpoint is not None:
            endpoint.close()
    state = oauth_hub.integration()
    assert state["status"] == "connected", state
    after = oauth_hub.secrets()
    assert after["oauth_refresh_token"] == before["oauth_refresh_token"]
    monkeypatch.setattr(auth, "_hosts", real_hosts)  # Lever is back: the same grant refreshes
    assert [s.id for s in oauth_hub.call("source_list_stages", posting_id=None)][2] == "stage-canditech"
    assert sandbox.stats()["oauth_refreshes"] == {CLIENT_ID: 1}


def test_the_code_exchange_failing_for_a_while_says_to_try_again(hub, sandbox, monkeypatch):
    hub.configure({"environment": "custom", "base_url": sandbox.base, "auth_mode": "oauth"})
    params = sandbox.consent(hub.call("oauth_authorize_url", redirect_uri=REDIRECT, state="st"))
    endpoint = FailingTokenEndpoint()
    real_hosts = auth._hosts
    monkeypatch.setattr(auth, "_hosts", lambda ctx: dataclasses.replace(real_hosts(ctx), token_url=endpoint.url))
    try:
        with pytest.raises(HubError) as info:
            hub.call("oauth_complete", redirect_uri=REDIRECT, params=params)
    finally:
        endpoint.close()
    assert info.value.status == 502
    assert "<html" not in info.value.message and "for url" not in info.value.message, info.value.message
    assert "Connect with Lever" in info.value.message, info.value.message
    assert "oauth_access_token" not in hub.secrets()
