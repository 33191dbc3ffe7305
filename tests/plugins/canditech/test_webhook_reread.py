"""The re-read of a thin webhook runs while Canditech waits for the hub's answer: it is one short
try. It neither waits for the connection's rate budget (a worker's read waits up to 60 s) nor
retries with backoff or waits out a ``Retry-After``; anything slower answers 503, and Canditech
sends the webhook again later."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

import pytest
import responses

from hub.entities import WebhookRequest
from hub.errors import TemporaryError
from plugins.canditech import verify_webhook, wire
from tests.support.ratelimit import spend

from .conftest import SANDBOX_SECRET
from .helpers import BASE_URL, SECRET, FakeContext, FakeLimiter, event_body, hub_invitation, sign, wire_invitation

NOW = 1_772_000_000
INVITATION = f"{BASE_URL}/v1/invitations/inv_abc"


class RecordingLimiter(FakeLimiter):
    """Grants every token at once, and remembers how long each caller was willing to wait."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float] = []

    def acquire(self, timeout: float = 60.0) -> None:
        self.timeouts.append(timeout)
        super().acquire(timeout)


@pytest.fixture
def ctx():
    context = FakeContext(invitations=[hub_invitation(7)])
    context.limiter = RecordingLimiter()
    yield context
    context.close()


def thin_request() -> WebhookRequest:
    body = event_body("invitation.completed", {"id": "inv_abc"})
    return WebhookRequest(body=body, headers={"Content-Type": "application/json",
                                              "Canditech-Signature": sign(SECRET, body, NOW)},
                          received_at=datetime.fromtimestamp(NOW, timezone.utc))


def test_the_re_read_waits_at_most_a_moment_for_the_rate_budget(ctx):
    with responses.RequestsMock() as rsps:
        rsps.add("GET", INVITATION, json=wire_invitation())
        assert verify_webhook(ctx, thin_request()).events[0].event.score == 75.0

    assert len(ctx.limiter.timeouts) == 1 and ctx.limiter.timeouts[0] <= 1.0


@pytest.mark.parametrize("failure", [
    {"status": 503, "json": {"error": {"code": "service_unavailable", "message": "down"}}},
    {"status": 429, "headers": {"Retry-After": "1"}, "json": {"error": {"code": "rate_limited", "message": "1 s"}}},
], ids=["503", "429-retry-after-1"])
def test_a_re_read_canditech_cannot_answer_now_is_one_try_then_503(ctx, failure):
    """Retried inside the request, a 503 cost a backoff and a 429 a second's wait (and a second
    HTTP timeout each): Canditech's own retry of the webhook does that job."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", INVITATION, **failure)
        rsps.add("GET", INVITATION, json=wire_invitation())
        with pytest.raises(TemporaryError):
            verify_webhook(ctx, thin_request())
        assert len(rsps.calls) == 1


# --------------------------------------------------------------------------- the real hub


def signed(body: bytes) -> dict:
    stamp = int(time.time())
    digest = hmac.new(SANDBOX_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Canditech-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


def test_a_thin_webhook_does_not_wait_for_canditech_s_rate_budget(hub):
    """With the connection's budget spent (say, by a burst of invitations) the re-read answers 503
    at once, and Canditech sends the webhook again later. Waiting for the next token (here about
    8 s; up to 60 s) would hold a request thread, and a burst of such webhooks all of them."""
    hub.move()
    inv = hub.invitation()
    assert inv.status == "invited"

    # the client's bucket: one token every 8 s, none now
    spend(hub.ctx().rate_limiter("api", wire.RATE_LIMIT_PER_SECOND, wire.RATE_LIMIT_BURST))

    body = json.dumps({"id": "evt-thin-budget", "type": "invitation.started", "created_at": "2026-03-01T10:00:00Z",
                       "data": {"invitation": {"id": inv.provider_invitation_id}}}).encode()
    url = f"/webhooks/canditech/{hub.runtime.integration(1, 'canditech').webhook_key}"
    answer = hub.app.test_client().post(url, data=body, headers=signed(body))

    assert answer.status_code == 503 and "rate limit" in answer.get_json()["error"]["message"], answer.get_json()
    assert hub.invitation().status == "invited"
