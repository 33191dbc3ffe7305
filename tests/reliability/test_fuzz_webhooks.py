"""Property-based fuzzing of every webhook endpoint (Lever, Canditech, Vervoe): malformed, oversized,
wrongly typed and mutated bodies and headers, unsigned and correctly signed, never give a 5xx;
every refusal is a JSON 4xx that names the problem (``tests.reliability.contract``). The vendors'
base URLs point at a closed port: no request fuzzed here may need the vendor (a signed Vervoe
report names a candidate assessment the hub never sent, which is answered without asking Vervoe)."""

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
from plugins.vervoe import wire as vervoe_wire
from tests.reliability.contract import check_answer
from tests.support.engine import dispose, enable

LEVER_TOKEN = "fuzz-signature-token"
CANDITECH_SECRET = "fuzz-webhook-secret"
VERVOE_SECRET = "fuzz-vervoe-webhook-secret"

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)
header_values = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=80)


@pytest.fixture(scope="module")
def fuzz_app(tmp_path_factory, module_database_url):
    from hub.testing import make_test_app

    app = make_test_app(tmp_path_factory.mktemp("fuzz"), {"PLUGINS": "lever,canditech,vervoe", "LOG_LEVEL": "ERROR"},
                        database_url=module_database_url)
    keys = enable(app, "lever", "canditech", "vervoe")
    with app.app_context():
        runtime = get_runtime()
        services.save_settings(runtime, 1, "lever", {"environment": "custom", "base_url": "http://127.0.0.1:9",
                                                     "auth_mode": "api_key", "api_key": "k",
                                                     "signature_tokens": LEVER_TOKEN}, "fuzz")
        services.save_settings(runtime, 1, "canditech", {"base_url": "http://127.0.0.1:9", "api_key": "k",
                                                         "webhook_secrets": CANDITECH_SECRET}, "fuzz")
        services.save_settings(runtime, 1, "vervoe", {"base_url": "http://127.0.0.1:9/api", "api_key": "k",
                                                      "api_secret": "s", "webhook_secret": VERVOE_SECRET}, "fuzz")
    yield app, keys
    dispose(app)


def lever_body(**overrides):
    token, triggered = "a" * 48, int(time.time() * 1000)
    body = {"id": "e1", "event": "candidateStageChange", "triggeredAt": triggered, "token": token,
            "signature": hmac.new(LEVER_TOKEN.encode(), f"{token}{triggered}".encode(), hashlib.sha256).hexdigest(),
            "data": {"opportunityId": "o1", "toStageId": "s1", "fromStageId": "s0"}}
    body.update(overrides)
    return body


def vervoe_report(**overrides):
    """A completed report of a candidate assessment the hub did not send (so it is answered 200
    and ignored, without asking Vervoe), as Vervoe's report webhook sends one."""
    body = {"candidateAssessmentUuid": "ca-fuzz-not-sent-by-the-hub", "status": "COMPLETED",
            "candidateEmail": "fuzz@example.test", "assessmentSlug": "backend-developer-test",
            "startedAt": "2024-05-01T10:00:00Z", "completedAt": "2024-05-01T11:00:00Z",
            "score": {"type": "TYPE_AI", "score": 75, "scoreByFormat": 75},
            "integrationCandidateCardUrl": "https://app.vervoe.example/card/1"}
    body.update(overrides)
    return body


def check(response) -> None:
    where = response.request.path.rsplit("/", 1)[0]  # /webhooks/<plugin>, without the connection's key
    check_answer(where, response.status_code, response.content_type, response.get_data())


# deterministic (derandomize): the same examples on every run and every machine
FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                derandomize=True, database=None)


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


def vervoe_post(app, keys, body: bytes, signature: str | None):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers[vervoe_wire.SIGNATURE_HEADER] = signature
    return app.test_client().post(f"/webhooks/vervoe/{keys['vervoe']}", data=body, headers=headers)


@FUZZ
@given(body=st.binary(max_size=2000) | json_values.map(lambda value: json.dumps(value).encode()),
       header=st.none() | header_values)
def test_vervoe_arbitrary_bodies_and_signature_headers(fuzz_app, body, header):
    app, keys = fuzz_app
    check(vervoe_post(app, keys, body, header))


@FUZZ
@given(body=st.binary(max_size=500) | json_values.map(lambda value: json.dumps(value).encode()),
       skew=st.integers(min_value=-10**6, max_value=10**6))
def test_vervoe_correctly_signed_but_wrongly_shaped_bodies(fuzz_app, body, skew):
    app, keys = fuzz_app
    check(vervoe_post(app, keys, body, vervoe_wire.sign(VERVOE_SECRET, body, int(time.time()) + skew)))


@FUZZ
@given(field=st.sampled_from(sorted(vervoe_report())), value=json_values)
def test_vervoe_mutated_fields_of_a_signed_report(fuzz_app, field, value):
    app, keys = fuzz_app
    body = json.dumps(vervoe_report(**{field: value})).encode()
    check(vervoe_post(app, keys, body, vervoe_wire.sign(VERVOE_SECRET, body, int(time.time()))))


def test_a_signed_report_the_hub_did_not_send_is_answered_200(fuzz_app):
    """The unmutated report the test above mutates is accepted: the mutations reach the checks
    after the signature, not a refusal of the report itself."""
    app, keys = fuzz_app
    body = json.dumps(vervoe_report()).encode()
    answer = vervoe_post(app, keys, body, vervoe_wire.sign(VERVOE_SECRET, body, int(time.time())))
    assert answer.status_code == 200, answer.get_data(as_text=True)


def test_oversized_bodies_are_413_json(fuzz_app):
    app, keys = fuzz_app
    for plugin in ("lever", "canditech", "vervoe"):
        answer = app.test_client().post(f"/webhooks/{plugin}/{keys[plugin]}", data=b"{" + b" " * 1_100_000 + b"}")
        assert answer.status_code == 413 and "too large" in answer.get_json()["error"]["message"]
