"""HUB_TRUSTED_PROXIES: behind a load balancer, a plugin's WebhookRequest.remote_addr was the
balancer's address, whatever it forwarded; a client's own X-Forwarded-For must not count either."""

from __future__ import annotations

import json

import pytest

from hub import hookimpl
from hub.config import ConfigError
from hub.entities import IntegrationSpec, WebhookResult
from hub.testing import enable_plugins


class Listener:
    """A source that records the address each webhook came from."""

    def __init__(self):
        self.addresses = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Listener"))

    @hookimpl
    def verify_webhook(self, ctx, request):
        self.addresses.append(request.remote_addr)
        return WebhookResult(ping=True)


def _post(make_app, proxies: int, forwarded: str) -> str:
    listener = Listener()
    app = make_app({"TRUSTED_PROXIES": proxies}, plugins=[("listener", listener)], entry_points=False)
    keys = enable_plugins(app, "listener")
    answer = app.test_client().post(f"/webhooks/listener/{keys['listener']}", data=json.dumps({}),
                                    headers={"X-Forwarded-For": forwarded}, environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    return listener.addresses[-1]


def test_by_default_the_hub_believes_no_forwarded_header(make_app):
    assert _post(make_app, 0, "203.0.113.9") == "10.0.0.5"


def test_behind_one_trusted_proxy_the_plugin_sees_the_address_it_forwarded(make_app):
    assert _post(make_app, 1, "203.0.113.9") == "203.0.113.9"


def test_a_client_s_own_forwarded_header_is_not_believed_beyond_the_trusted_hops(make_app):
    # the client wrote 198.51.100.7 itself; the one trusted proxy appended the address it saw
    assert _post(make_app, 1, "198.51.100.7, 203.0.113.9") == "203.0.113.9"


@pytest.mark.parametrize("value", [-1, 11, "two"])
def test_a_number_of_proxies_that_cannot_be_is_refused_at_start_up(make_app, value):
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        make_app({"TRUSTED_PROXIES": value})
