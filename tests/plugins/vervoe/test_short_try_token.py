"""The short try of a report webhook's re-read (``webhooks.REREAD_*``: one try, a 2 s HTTP timeout,
at most 0.5 s for the connection's rate budget; 503 otherwise, and Vervoe sends the report again)
is short also when no token is cached: the token request obeys the same budget, and so does the
wait for another worker's token refresh. It waited for the rate budget up to 60 s, for the refresh
lock up to 30 s, and tried the token endpoint three times with the hub's 15 s timeout, holding
Vervoe's request and a request thread meanwhile."""

from __future__ import annotations

import contextlib
import json
import threading
import time

import pytest
import requests

from hub.errors import TemporaryError
from plugins.vervoe import auth, webhooks, wire
from plugins.vervoe.client import VervoeClient
from plugins.vervoe.settings import VervoeSettings

from tests.support.ratelimit import spend

from . import client_fakes
from .conftest import BACKEND_ANSWERS
from .test_webhooks import signed


def hired_report(hub) -> bytes:
    """A hire at Vervoe, delivered; returns its report's body, to post again (a report that is re-read)."""
    hub.move()
    uuid = hub.invitation().provider_invitation_id
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.act(uuid, "hire")
    hub.wait_for(lambda: hub.source.verdicts, what="the hire")
    hub.sandbox.quiet()
    return json.dumps(hub.sandbox.webhook_log()["events"][-1]["body"]).encode()


def forget_token(hub) -> None:
    hub.ctx().update_secrets({}, remove=auth.TOKEN_SECRETS)


def post(hub, body: bytes):
    started = time.monotonic()
    answer = hub.app.test_client().post(hub.webhook_path(), data=body, headers=signed(body))
    return answer, time.monotonic() - started


def test_without_a_token_the_re_read_does_not_wait_for_the_rate_budget(hub):
    body = hired_report(hub)
    forget_token(hub)
    spend(hub.ctx().rate_limiter("api", wire.RATE_LIMIT_PER_SECOND, wire.RATE_LIMIT_BURST), refill_seconds=3.0)
    tokens = hub.sandbox.stats()["tokens_issued"]

    answer, took = post(hub, body)
    assert answer.status_code == 503 and "rate limit" in answer.get_json()["error"]["message"], answer.get_json()
    assert took < 1.5  # the token request waited for the budget's next token (3 s here; up to 60 s)
    assert hub.sandbox.stats()["tokens_issued"] == tokens  # not asked: there was no budget for it


def test_without_a_token_the_re_read_does_not_wait_for_another_worker_s_refresh(hub):
    body = hired_report(hub)
    forget_token(hub)
    held, release = threading.Event(), threading.Event()

    def another_worker():  # a refresh under way elsewhere (a slow token endpoint)
        with hub.app.app_context():
            with hub.runtime.context(1, "vervoe").lock(auth.LOCK, ttl=auth.LOCK_TTL):
                held.set()
                release.wait(6)

    thread = threading.Thread(target=another_worker)
    thread.start()
    try:
        assert held.wait(5)
        answer, took = post(hub, body)
    finally:
        release.set()
        thread.join(10)
    assert answer.status_code == 503, answer.get_json()
    assert took < 3  # it waited for the other worker's refresh (up to 30 s; here until it let go after 6 s)


# --------------------------------------------------------------------------- the budget, call by call


BASE = client_fakes.BASE


class Session(requests.Session):
    """Records each request's timeout."""

    def __init__(self):
        super().__init__()
        self.timeouts: list[tuple[str, float | None]] = []

    def request(self, method, url, **kwargs):
        self.timeouts.append((url.split("/api", 1)[1], kwargs.get("timeout")))
        return super().request(method, url, **kwargs)


class FakeCtx(client_fakes.FakeCtx):
    """The client tests' context without a token, recording each wait it is given (the rate
    budget's, the refresh lock's) and each request's timeout."""

    def __init__(self):
        super().__init__(token=False)
        self.http = Session()
        self.limiter_waits: list[float | None] = []
        self.lock_waits: list[float | None] = []

    def acquire(self, timeout=None):
        self.limiter_waits.append(timeout)

    def lock(self, name, ttl=None, wait=None):
        self.lock_waits.append(wait)
        return contextlib.nullcontext()


def test_the_token_request_of_a_re_read_has_the_re_read_s_budget(rsps):
    for _ in range(2):
        rsps.add("GET", BASE + wire.TOKEN_PATH, json={"success": True, "data": {"token": "tok"}})
        rsps.add("GET", BASE + wire.report_path("u-1"), json={"candidateAssessmentUuid": "u-1", "status": "hired"})
    ctx = FakeCtx()

    webhooks._rereading_client(ctx, VervoeSettings.from_context(ctx)).get_report("u-1")
    assert ctx.http.timeouts == [(wire.TOKEN_PATH, webhooks.REREAD_TIMEOUT),
                                 (wire.report_path("u-1"), webhooks.REREAD_TIMEOUT)]
    assert ctx.limiter_waits == [webhooks.REREAD_LIMITER_WAIT, webhooks.REREAD_LIMITER_WAIT]
    assert ctx.lock_waits == [webhooks.REREAD_LIMITER_WAIT]

    # a worker's client (its calls wait up to 60 s for the budget) keeps its token request's longer one
    worker = FakeCtx()
    VervoeClient(worker).get_report("u-1")
    assert worker.http.timeouts == [(wire.TOKEN_PATH, None), (wire.report_path("u-1"), None)]  # ctx.http's
    assert worker.limiter_waits == [60.0, 60.0] and worker.lock_waits == [auth.LOCK_WAIT]


def test_the_token_endpoint_failing_a_re_read_is_tried_once(rsps):
    rsps.add("GET", BASE + wire.TOKEN_PATH, status=503, json={"success": False, "errors": "down", "msg": "down"})
    ctx = FakeCtx()

    with pytest.raises(TemporaryError):
        webhooks._rereading_client(ctx, VervoeSettings.from_context(ctx)).get_report("u-1")
    assert len(rsps.calls) == 1  # three tries, with pauses, before
