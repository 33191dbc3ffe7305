"""A body sent without Content-Length (``Transfer-Encoding: chunked``) is held to the size limit as
one with it is: over ``MAX_CONTENT_LENGTH`` it is a 413 naming the limit, on the API and the webhook
ingress alike, never a body cut at the limit without a word (Werkzeug's stream stops reading there:
1.8 MB of valid JSON read as "the body is not valid JSON", a correctly signed webhook as a bad
signature). A chunked body within the limit reaches the view whole.

The test client always sends a Content-Length (it measures the body it is given), so these tests
build the WSGI environ a server makes of a chunked request (no ``CONTENT_LENGTH``, the body stream
ended by the server: ``wsgi.input_terminated``) and check that it is one (``_chunked_environ``);
the last tests send real chunked requests to a served hub (``hub run``'s server) over loopback."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import http.client
import io
import json
import threading

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server
from werkzeug.test import EnvironBuilder
from werkzeug.wrappers import Request

from hub import hookimpl
from hub.entities import SOURCE, InboundEvent, IntegrationSpec, StageChange, WebhookResult
from hub.errors import WebhookRejected
from hub.extensions import db
from hub.store.models import Event, User, WebhookLog
from tests.support.engine import enable
from tests.support.plugins import Recorder
from tests.support.processes import free_port
from tests.web.support import api_headers, seed

SIGNING_KEY = b"chunked-test-signing-key"
TOO_LARGE = "request body too large (limit {limit} bytes)"


class SignedSource:
    """A source whose webhooks carry ``X-Signature``: the HMAC-SHA256 of the whole body."""

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Signed ATS"))

    @hookimpl
    def verify_webhook(self, ctx, request):
        expected = hmac.new(SIGNING_KEY, request.body, hashlib.sha256).hexdigest()
        headers = {name.lower(): value for name, value in request.headers.items()}
        if not hmac.compare_digest(headers.get("x-signature", ""), expected):
            raise WebhookRejected("signature does not match", status=401)
        body = json.loads(request.body)
        return WebhookResult(events=(InboundEvent(external_id=body["id"], event=StageChange(
            opportunity_id="opp-1", to_stage_id="stage-1")),))


def _sign(body: bytes) -> dict:
    return {"X-Signature": hmac.new(SIGNING_KEY, body, hashlib.sha256).hexdigest()}


class _Chunks(io.RawIOBase):
    """A body stream as a server hands on a chunked body: not seekable, read in pieces, ended by
    the server; ``fail_after`` bytes, then the connection breaks (``OSError``)."""

    def __init__(self, body: bytes, fail_after: int | None = None):
        self._body = io.BytesIO(body)
        self._fail_after = fail_after
        self.read_bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self._fail_after is not None and self.read_bytes >= self._fail_after:
            raise OSError("connection reset by peer")
        data = self._body.read(min(len(buffer), 8192))
        buffer[:len(data)] = data
        self.read_bytes += len(data)
        return len(data)


def _chunked_environ(method: str, path: str, body: _Chunks, headers: dict) -> dict:
    environ = EnvironBuilder(path=path, method=method, headers=headers).get_environ()
    environ.pop("CONTENT_LENGTH", None)
    environ.update({"wsgi.input": body, "wsgi.input_terminated": True, "HTTP_TRANSFER_ENCODING": "chunked"})
    # what the app is given is a chunked request: no length, a stream Werkzeug reads to the limit
    assert Request(dict(environ)).content_length is None and "wsgi.input_terminated" in environ
    return environ


def send_chunked(client, method: str, path: str, body: bytes | _Chunks, headers: dict | None = None):
    stream = body if isinstance(body, _Chunks) else _Chunks(body)
    return client.open(Request(_chunked_environ(method, path, stream, headers or {})))


def _count(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.rollback()
        return value


def _new_user(size: int) -> bytes:
    """A valid user creation body of ``size`` bytes (a name padded to it: the schema refuses a
    name over 200 characters, so only a body read whole is refused for its name)."""
    start = {"email": "chunked@acme.test", "role": "team_member", "name": ""}
    padding = size - len(json.dumps(start).encode())
    assert padding >= 0
    return json.dumps({**start, "name": "n" * padding}).encode()


@pytest.fixture
def api(hub_app, seeded):
    return hub_app.test_client(), {**api_headers(seeded, "super_admin"), "Content-Type": "application/json"}


def test_an_api_body_over_the_limit_is_413_chunked_as_with_a_content_length(hub_app, api):
    client, headers = api
    limit = hub_app.config["MAX_CONTENT_LENGTH"]
    body = _new_user(1_800_000)  # valid JSON, 1.8 MB
    users = _count(hub_app, User)

    with_length = client.post("/api/v1/users", headers=headers, data=body)
    chunked = send_chunked(client, "POST", "/api/v1/users", body, headers)
    assert chunked.status_code == 413, chunked.get_data(as_text=True)[:300]
    assert chunked.get_json() == with_length.get_json() == {"error": {
        "code": "request_entity_too_large", "message": TOO_LARGE.format(limit=limit)}}
    assert _count(hub_app, User) == users

    # within the limit, a chunked body reaches the view whole: one larger than a read is refused
    # for the name it holds (422), not cut; a small one creates the user
    large = send_chunked(client, "POST", "/api/v1/users", _new_user(300_000), headers)
    assert large.status_code == 422 and list(large.get_json()["error"]["fields"]) == ["name"]
    small = json.dumps({"email": "small.chunked@acme.test", "role": "team_member", "name": "Small"}).encode()
    created = send_chunked(client, "POST", "/api/v1/users", small, headers)
    assert created.status_code == 201 and created.get_json()["name"] == "Small"


def test_the_limit_itself_is_taken_and_one_byte_more_is_413(make_app, fakes):
    source, assess = fakes
    limit = 5000
    app = make_app({"WEBHOOK_MAX_BYTES": limit}, plugins=[("fakesource", source), ("fakeassess", assess)],
                   entry_points=False)
    headers = {**api_headers(seed(app), "super_admin"), "Content-Type": "application/json"}
    start = b'{"email": "edge@acme.test", "role": "team_member", "x": "'
    for size in (limit + 1, limit):
        body = start + b"a" * (size - len(start) - 2) + b'"}'  # JSON of exactly that many bytes
        assert len(body) == size
        response = send_chunked(app.test_client(), "POST", "/api/v1/users", body, headers)
        if size > limit:
            assert response.status_code == 413, response.get_data(as_text=True)[:300]
            assert response.get_json()["error"]["message"] == TOO_LARGE.format(limit=limit)
        else:  # read whole: the field it carries is refused by name
            assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"x": ["Unknown field."]}


@pytest.fixture
def signed_hub(make_app):
    app = make_app(plugins=[("signed", SignedSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "signed", "rec")
    return app, f"/webhooks/signed/{keys['signed']}"


def test_a_signed_webhook_over_the_limit_is_413_chunked_as_with_a_content_length(signed_hub):
    app, url = signed_hub
    client = app.test_client()
    body = json.dumps({"id": "evt-big", "padding": "x" * 1_500_000}).encode()  # 1.5 MB, correctly signed

    with_length = client.post(url, data=body, headers=_sign(body))
    chunked = send_chunked(client, "POST", url, body, _sign(body))
    assert chunked.status_code == 413, chunked.get_data(as_text=True)[:300]
    assert chunked.get_json() == with_length.get_json() == {"error": {
        "code": "request_entity_too_large", "message": TOO_LARGE.format(limit=app.config["MAX_CONTENT_LENGTH"])}}
    assert _count(app, Event) == 0
    with app.app_context():  # refused before the plugin: no "signature does not match" in the log
        assert list(db.session.scalars(sa.select(WebhookLog.message))) == []

    # within the limit, the plugin verifies the signature of the whole body
    body = json.dumps({"id": "evt-chunked", "padding": "x" * 200_000}).encode()
    answer = send_chunked(client, "POST", url, body, _sign(body))
    assert answer.status_code == 200 and answer.get_json()["status"] == "accepted"
    assert _count(app, Event) == 1


def test_a_chunked_body_broken_off_is_a_400_that_says_so(hub_app, api):
    client, headers = api
    body = _Chunks(_new_user(100_000), fail_after=40_000)
    response = send_chunked(client, "POST", "/api/v1/users", body, headers)
    assert response.status_code == 400
    assert response.get_json()["error"] == {
        "code": "bad_request", "message": "the request body ended before all of it arrived (the connection closed, "
                                          "or its chunked encoding is malformed): send it again"}


# --------------------------------------------------------------------------- over loopback


@contextlib.contextmanager
def serving(app):
    """``app`` served as ``hub run`` serves it (Werkzeug's threaded server) on a free port."""
    server = make_server("127.0.0.1", free_port(), app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _post_chunked(port: int, path: str, body: bytes, headers: dict) -> tuple[int, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    try:
        pieces = (body[i:i + 65536] for i in range(0, len(body), 65536))
        connection.request("POST", path, body=pieces, headers=headers, encode_chunked=True)
        response = connection.getresponse()
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_over_loopback_a_chunked_api_body_over_the_limit_is_413(hub_app, seeded):
    headers = {**api_headers(seeded, "super_admin"), "Content-Type": "application/json"}
    with serving(hub_app) as port:
        status, answer = _post_chunked(port, "/api/v1/users", _new_user(1_800_000), headers)
        assert status == 413
        assert answer["error"]["message"] == TOO_LARGE.format(limit=hub_app.config["MAX_CONTENT_LENGTH"])
        small = json.dumps({"email": "loopback@acme.test", "role": "team_member", "name": "Loop"}).encode()
        status, answer = _post_chunked(port, "/api/v1/users", small, headers)
        assert status == 201 and answer["email"] == "loopback@acme.test"


def test_over_loopback_a_signed_chunked_webhook_over_the_limit_is_413(signed_hub):
    app, url = signed_hub
    big = json.dumps({"id": "evt-big", "padding": "x" * 1_500_000}).encode()
    small = json.dumps({"id": "evt-small"}).encode()
    with serving(app) as port:
        status, answer = _post_chunked(port, url, big, _sign(big))
        assert status == 413 and answer["error"]["code"] == "request_entity_too_large"
        status, answer = _post_chunked(port, url, small, _sign(small))
        assert status == 200 and answer["status"] == "accepted"
    assert _count(app, Event) == 1
