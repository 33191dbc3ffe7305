"""``PluginContract.tampered_webhooks``'s default cases include a stale one: the request as it was
sent, received a day after the hub stops remembering event ids (``ctx.dedupe_window``). The
guide and the hookspec ask ``verify_webhook`` for a timestamp window, but the kit never checked
one, so a plugin without it passed (the scaffold's did).

The contract object is made by hand (its class name does not start with ``Test``, so pytest does
not run the whole contract for it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub import hookimpl
from hub.entities import ASSESSMENT, IntegrationSpec, WebhookRequest
from hub.testing import AssessmentPluginContract, enable_plugins
from hub.testing.contract import _describe_tampering

SENT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


class ToyProvider:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy"))


class ToyContract(AssessmentPluginContract):
    plugin_name = "toy"


class UndatedToyContract(ToyContract):
    stale_webhook_case = False  # a vendor that signs no time


@pytest.fixture
def ctx(make_app):
    from hub.runtime import get_runtime

    app = make_app(plugins=[("toy", ToyProvider())], entry_points=False)
    enable_plugins(app, "toy")
    with app.app_context():
        yield get_runtime().context(1, "toy")


def valid() -> WebhookRequest:
    return WebhookRequest(body=b'{"id": "evt-1", "type": "ping"}', headers={"X-Signature": "sig", "X-Timestamp": "1"},
                          received_at=SENT, remote_addr="127.0.0.1")


def test_the_default_cases_end_with_the_request_received_after_the_dedupe_window(ctx):
    request = valid()
    cases = ToyContract().tampered_webhooks(ctx, request)

    assert len(cases) == 4
    stale = cases[-1]
    assert (stale.body, dict(stale.headers), stale.remote_addr) == (request.body, dict(request.headers), "127.0.0.1")
    assert stale.received_at == SENT + ctx.dedupe_window + timedelta(days=1)
    assert ctx.dedupe_window >= timedelta(days=7)
    assert "refuse a stale timestamp" in _describe_tampering(request, stale)
    assert _describe_tampering(request, cases[0]) == "body changed"  # the other descriptions unchanged


def test_a_vendor_that_signs_no_time_leaves_the_stale_case_out(ctx):
    request = valid()
    cases = UndatedToyContract().tampered_webhooks(ctx, request)

    assert len(cases) == 3 and all(case.received_at == SENT for case in cases)
