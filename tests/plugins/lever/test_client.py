"""Unit tests of ``LeverClient`` with ``responses``: auth, pagination, errors, retries, rate limit."""

from __future__ import annotations

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import responses
from responses import matchers

from hub.errors import NeedsReauthorization, PermanentError, TemporaryError
from plugins.lever.client import LeverAPIError, LeverClient, LeverNotFound, endpoint_label

BASE = "http://lever.test"
API = BASE + "/v1"


class SpyLimiter:
    def __init__(self):
        self.acquired = 0
        self.created_with = None

    def __call__(self, name, rate, burst):
        self.created_with = (name, rate, burst)
        return self

    def acquire(self, timeout: float = 60.0):
        self.acquired += 1
        self.timeouts = getattr(self, "timeouts", []) + [timeout]


@pytest.fixture
def lever(hub):
    hub.configure({"environment": "custom", "base_url": BASE, "auth_mode": "api_key", "api_key": "key-123",
                   "perform_as": "user-admin"})
    return hub


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def run(hub, fn, limiter=None, sleeps=None):
    """``fn(client, ctx)`` with a client whose rate limiter and sleep are observed."""
    def inner(ctx):
        if limiter is not None:
            ctx.rate_limiter = limiter
        client = LeverClient(ctx, sleep=(sleeps.append if sleeps is not None else (lambda s: None)))
        return fn(client, ctx)
    return hub.with_ctx(inner)


def query(call) -> dict:
    return parse_qs(urlsplit(call.request.url).query)


def test_api_key_is_http_basic_with_empty_password(lever, rsps):
    rsps.get(API + "/stages", json={"data": [], "hasNext": False})
    run(lever, lambda c, ctx: c.get("/stages"))
    header = rsps.calls[0].request.headers["Authorization"]
    assert header == "Basic " + base64.b64encode(b"key-123:").decode()


def test_pagination_follows_next_while_has_next(lever, rsps):
    rsps.get(API + "/users", json={"data": [{"id": "u1"}, {"id": "u2"}], "hasNext": True, "next": "tok-1"})
    rsps.get(API + "/users", json={"data": [{"id": "u3"}], "hasNext": True, "next": "tok-2"})
    rsps.get(API + "/users", json={"data": [{"id": "u4"}], "hasNext": False})
    items = run(lever, lambda c, ctx: c.list("/users", {"includeDeactivated": "true"}))
    assert [i["id"] for i in items] == ["u1", "u2", "u3", "u4"]
    offsets = [query(call).get("offset") for call in rsps.calls]
    assert offsets == [None, ["tok-1"], ["tok-2"]]
    assert all(query(call)["limit"] == ["100"] and query(call)["includeDeactivated"] == ["true"]
               for call in rsps.calls)


def test_pagination_that_does_not_advance_stops(lever, rsps):
    rsps.get(API + "/users", json={"data": [{"id": "u1"}], "hasNext": True, "next": "same"})
    with pytest.raises(TemporaryError, match="did not advance"):
        run(lever, lambda c, ctx: c.list("/users"))
    assert len(rsps.calls) == 2  # the second page handed back the offset it was asked for


def test_lever_error_body_is_surfaced(lever, rsps):
    rsps.get(API + "/users", status=400, json={"code": "BadRequestError", "message": "Invalid offset token"})
    with pytest.raises(LeverAPIError) as info:
        run(lever, lambda c, ctx: c.get("/users"))
    assert info.value.status == 400 and info.value.code == "BadRequestError"
    assert "Invalid offset token" in str(info.value)
    assert isinstance(info.value, PermanentError)  # retrying a 400 cannot help


def test_not_found(lever, rsps):
    rsps.get(API + "/opportunities/nope", status=404,
             json={"code": "ResourceNotFound", "message": "opportunities nope was not found"})
    with pytest.raises(LeverNotFound, match="was not found"):
        run(lever, lambda c, ctx: c.get("/opportunities/nope"))


def test_an_empty_error_body_adds_nothing_after_the_status(lever, rsps):
    """An empty body says nothing (``describe_error_body(..., empty="")``): no "an empty body"."""
    rsps.get(API + "/opportunities/nope", status=404, body="")
    rsps.get(API + "/stages", status=401, body="  \n")
    with pytest.raises(LeverNotFound) as info:
        run(lever, lambda c, ctx: c.get("/opportunities/nope"))
    assert (info.value.code, info.value.lever_message) == ("Not Found", "")
    with pytest.raises(NeedsReauthorization) as refused:
        run(lever, lambda c, ctx: c.get("/stages"))
    assert str(refused.value) == "Lever rejected the API key: Unauthorized"


def test_429_and_503_are_retried_with_backoff_and_every_try_takes_a_rate_limit_token(lever, rsps):
    rsps.get(API + "/stages", status=429, json={"code": "TooManyRequests", "message": "slow down"})
    rsps.get(API + "/stages", status=503, json={"code": "ServiceUnavailable", "message": "busy"})
    rsps.get(API + "/stages", json={"data": [{"id": "s1", "text": "One"}], "hasNext": False})
    limiter, sleeps = SpyLimiter(), []
    body = run(lever, lambda c, ctx: c.get("/stages"), limiter, sleeps)
    assert body["data"][0]["id"] == "s1"
    assert limiter.created_with == ("api", 9.5, 10) and limiter.acquired == 3
    assert len(sleeps) == 2 and sleeps[1] > 0


def test_retry_after_is_honoured(lever, rsps):
    rsps.get(API + "/stages", status=429, headers={"Retry-After": "0.005"}, json={"code": "TooManyRequests"})
    rsps.get(API + "/stages", json={"data": []})
    sleeps = []
    run(lever, lambda c, ctx: c.get("/stages"), sleeps=sleeps)
    assert sleeps == [0.005]


def test_an_infinite_retry_after_is_ignored_for_the_backoff(lever, rsps):
    rsps.get(API + "/stages", status=429, headers={"Retry-After": "1e400"}, json={"code": "TooManyRequests"})
    rsps.get(API + "/stages", json={"data": []})
    sleeps = []
    run(lever, lambda c, ctx: c.get("/stages"), sleeps=sleeps)
    assert len(sleeps) == 1 and 0 < sleeps[0] < 1  # its own backoff, not "wait for ever"


@pytest.mark.parametrize("value", ["-5", "nan", "soon"])
def test_a_retry_after_that_is_no_wait_is_ignored_for_the_backoff(lever, rsps, value):
    """Read by hub.kit.retry_after: "-5" used to mean "retry at once"."""
    rsps.get(API + "/stages", status=429, headers={"Retry-After": value}, json={"code": "TooManyRequests"})
    rsps.get(API + "/stages", json={"data": []})
    sleeps = []
    run(lever, lambda c, ctx: c.get("/stages"), sleeps=sleeps)
    assert len(sleeps) == 1 and 0 < sleeps[0] < 1


def test_retry_after_as_an_http_date_is_honoured(lever, rsps):
    from datetime import datetime, timedelta, timezone
    from email.utils import format_datetime

    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=3), usegmt=True)
    rsps.get(API + "/stages", status=429, headers={"Retry-After": when}, json={"code": "TooManyRequests"})
    sleeps = []
    with pytest.raises(TemporaryError) as caught:  # longer than the tests' LEVER_RETRY_MAX_SECONDS
        run(lever, lambda c, ctx: c.get("/stages"), sleeps=sleeps)
    assert sleeps == [] and 1 < caught.value.retry_after <= 3


def test_persistent_5xx_becomes_a_temporary_error(lever, rsps):
    for _ in range(4):
        rsps.get(API + "/stages", status=503, json={"code": "ServiceUnavailable", "message": "maintenance"})
    with pytest.raises(TemporaryError, match="503 ServiceUnavailable.*maintenance"):
        run(lever, lambda c, ctx: c.get("/stages"))
    assert len(rsps.calls) == 4  # one try and three retries


def test_timeouts_are_retried(lever, rsps):
    rsps.get(API + "/stages", body=requests.ReadTimeout("read timed out"))
    rsps.get(API + "/stages", json={"data": [{"id": "s1"}]})
    assert run(lever, lambda c, ctx: c.get("/stages"))["data"] == [{"id": "s1"}]


def test_a_post_with_an_unclear_outcome_is_not_sent_twice(lever, rsps):
    rsps.post(API + "/opportunities/o1/notes", status=503, json={"code": "ServiceUnavailable"})
    with pytest.raises(TemporaryError):
        run(lever, lambda c, ctx: c.request("POST", "/opportunities/o1/notes", json={"value": "x"}))
    rsps.post(API + "/opportunities/o2/notes", body=requests.ReadTimeout("read timed out"))
    with pytest.raises(TemporaryError):
        run(lever, lambda c, ctx: c.request("POST", "/opportunities/o2/notes", json={"value": "x"}))
    assert len(rsps.calls) == 2


def test_a_post_refused_with_429_is_retried(lever, rsps):
    rsps.post(API + "/opportunities/o1/notes", status=429, json={"code": "TooManyRequests"})
    rsps.post(API + "/opportunities/o1/notes", status=201, json={"data": {"noteId": "n1"}})
    body = run(lever, lambda c, ctx: c.request("POST", "/opportunities/o1/notes", json={"value": "x"},
                                               perform_as=True))
    assert body == {"data": {"noteId": "n1"}}
    assert query(rsps.calls[1])["perform_as"] == ["user-admin"]


def test_non_json_success_body(lever, rsps):
    rsps.get(API + "/stages", body="<html>maintenance</html>", content_type="text/html")
    with pytest.raises(TemporaryError, match="not JSON"):
        run(lever, lambda c, ctx: c.get("/stages"))


def test_401_with_an_api_key_needs_reauthorization(lever, rsps):
    rsps.get(API + "/stages", status=401, json={"code": "Unauthorized", "message": "Invalid API key"})
    with pytest.raises(NeedsReauthorization, match="Invalid API key"):
        run(lever, lambda c, ctx: c.get("/stages"))
    assert lever.integration()["status"] == "needs_reauthorization"


def test_401_with_oauth_forces_one_refresh_then_retries(hub, rsps):
    hub.configure({"environment": "custom", "base_url": BASE, "auth_mode": "oauth"})
    hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_access_token": "old", "oauth_refresh_token": "r1",
                                                 "oauth_expires_at": time.time() + 3600}))
    rsps.get(API + "/stages", status=401, json={"code": "Unauthorized", "message": "Access token is revoked"},
             match=[matchers.header_matcher({"Authorization": "Bearer old"})])
    rsps.post(BASE + "/oauth/token", json={"access_token": "new", "refresh_token": "r2", "token_type": "Bearer",
                                           "expires_in": 3600})
    rsps.get(API + "/stages", json={"data": []}, match=[matchers.header_matcher({"Authorization": "Bearer new"})])
    assert run(hub, lambda c, ctx: c.get("/stages")) == {"data": []}
    refresh = parse_qs(rsps.calls[1].request.body)
    assert refresh["grant_type"] == ["refresh_token"] and refresh["refresh_token"] == ["r1"]
    assert refresh["client_id"] == ["hub-sandbox-client"] and refresh["client_secret"] == ["hub-sandbox-secret"]
    secrets = hub.secrets()
    assert secrets["oauth_access_token"] == "new" and secrets["oauth_refresh_token"] == "r2"


def test_401_after_a_refresh_needs_reauthorization(hub, rsps):
    hub.configure({"environment": "custom", "base_url": BASE, "auth_mode": "oauth"})
    hub.with_ctx(lambda ctx: ctx.update_secrets({"oauth_access_token": "old", "oauth_refresh_token": "r1",
                                                 "oauth_expires_at": time.time() + 3600}))
    rsps.get(API + "/stages", status=401, json={"code": "Unauthorized", "message": "nope"})
    rsps.post(BASE + "/oauth/token", json={"access_token": "new", "refresh_token": "r2", "expires_in": 3600})
    rsps.get(API + "/stages", status=401, json={"code": "Unauthorized", "message": "still nope"})
    with pytest.raises(NeedsReauthorization, match="still nope"):
        run(hub, lambda c, ctx: c.get("/stages"))
    assert hub.integration()["status"] == "needs_reauthorization"


def test_endpoint_labels_hide_ids():
    assert endpoint_label("get", "/opportunities/abc-123/notes") == "GET /opportunities/:id/notes"
    assert endpoint_label("PUT", "/opportunities/x/stage") == "PUT /opportunities/:id/stage"
    assert endpoint_label("DELETE", "/webhooks/w1") == "DELETE /webhooks/:id"
