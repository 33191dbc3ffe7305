"""Property-based fuzzing of every webhook endpoint: malformed, oversized, wrongly typed and mutated
bodies and headers never give a 5xx; every refusal is a JSON 4xx that names the problem."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hub import services
from hub.runtime import get_runtime
from tests.support.engine import dispose, enable

LEVER_TOKEN = "fuzz-signature-token"
CANDITECH_SECRET = "fuzz-webhook-secret"

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, module_database_url):
    from hub.testing import make_test_app

    app = make_test_app(tmp_path_factory.mktemp("fuzz"), {"PLUGINS": "lever,canditech", "LOG_LEVEL": "ERROR"},
                        database_url=module_database_url)
    keys = enable(app, "lever", "canditech")
    with app.app_context():
        runtime = get_runtime()
        services.save_settings(runtime, 1, "lever", {"environment": "custom", "base_url": "http://127.0.0.1:9",
                                                     "auth_mode": "api_key", "api_key": "k",
                                                     "signature_tokens": LEVER_TOKEN}, "fuzz")
        services.save_settings(runtime, 1, "canditech", {"base_url": "http://127.0.0.1:9", "api_key": "k",
                                                         "webhook_secrets": CANDITECH_SECRET}, "fuzz")
    yield app, keys
    dispose(app)


def lever_body(**overrides):
    token, triggered = "a" * 48, int(time.time() * 1000)
    body = {"id": "e1", "event": "candidateStageChange", "triggeredAt": triggered, "token": token,
            "signature": hmac.new(LEVER_TOKEN.encode(), f"{token}{triggered}".encode(), hashlib.sha256).hexdigest(),
            "data": {"opportunityId": "o1", "toStageId": "s1", "fromStageId": "s0"}}
    body.update(overrides)
    return body


def check(response) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        error = response.get_json()["error"]
        assert error["code"] and isinstance(error["message"], str) and error["message"]


FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@FUZZ
@given(body=st.binary(max_size=2000))
def test_lever_arbitrary_bytes(fuzz_app, body):
    app, keys = fuzz_app
    check(app.test_client().post(f"/webhooks/lever/{keys['lever']}", data=body,
                                 headers={"Content-Type": "application/json"}))


@FUZZ
@given(value=json_values)
def test_lever_arbitrary_json(fuzz_app, value):
    app, keys = fuzz_app
    check(app.test_client().post(f"/webhooks/lever/{keys['lever']}", json=value))


@FUZZ
@given(field=st.sampled_from(["id", "event", "triggeredAt", "token", "signature", "data"]), value=json_values)
def test_lever_mutated_fields_of_a_signed_body(fuzz_app, field, value):
    app, keys = fuzz_app
    answer = app.test_client().post(f"/webhooks/lever/{keys['lever']}", json=lever_body(**{field: value}))
    check(answer)


@FUZZ
@given(value=json_values, header=header_values)
def test_canditech_arbitrary_json_and_signature_headers(fuzz_app, value, header):
    app, keys = fuzz_app
    check(app.test_client().post(f"/webhooks/canditech/{keys['canditech']}", json=value,
                                 headers={"Canditech-Signature": header}))


@FUZZ
@given(value=json_values, skew=st.integers(min_value=-10**6, max_value=10**6))
def test_canditech_correctly_signed_but_wrongly_shaped_bodies(fuzz_app, value, skew):
    app, keys = fuzz_app
    body = json.dumps(value).encode()
    stamp = int(time.time()) + skew
    signature = hmac.new(CANDITECH_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    answer = app.test_client().post(f"/webhooks/canditech/{keys['canditech']}", data=body,
                                    headers={"Canditech-Signature": f"t={stamp},v1={signature}",
                                             "Content-Type": "application/json"})
    check(answer)


def test_oversized_bodies_are_413_json(fuzz_app):
    app, keys = fuzz_app
    for plugin in ("lever", "canditech"):
        answer = app.test_client().post(f"/webhooks/{plugin}/{keys[plugin]}", data=b"{" + b" " * 1_100_000 + b"}")
        assert answer.status_code == 413 and "too large" in answer.get_json()["error"]["message"]
