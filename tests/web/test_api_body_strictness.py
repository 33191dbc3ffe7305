"""JSON bodies the API refuses say why: a number too long is not "not valid JSON" (it is JSON; it
is no value the API takes: Python's ``int`` refuses one of over 4,300 digits), as the webhook
ingress's plugin kit says it (``hub.kit.json_body``); NaN and Infinity, which Python's parser
takes, are not JSON. And ``DELETE`` refuses a body with fields, as the actions do, instead of
ignoring it."""

from __future__ import annotations

import pytest

from tests.reliability.contract import check_answer
from tests.web.support import api_headers

JSON = {"Content-Type": "application/json"}


@pytest.fixture
def api(hub_app, seeded):
    client = hub_app.test_client()

    def call(method, path, role="super_admin", **kwargs):
        headers = {**api_headers(seeded, role), **kwargs.pop("headers", {})}
        response = client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)
        check_answer(f"{method} {path}", response.status_code, response.content_type, response.get_data())
        return response

    return call


def _error(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]


@pytest.mark.parametrize("method, path", [("POST", "/users"), ("PUT", "/integrations/fakesource"),
                                          ("POST", "/attachments"), ("POST", "/integrations/fakesource/enable"),
                                          ("POST", "/deliveries/replay")])
def test_a_number_of_more_than_100_digits_is_named_as_such(api, method, path):
    too_long = {"code": "bad_request", "message": "a number in the body has more than 100 digits"}
    for number in ("1" * 5000, "-" + "9" * 101, "1" * 101 + ".5", "0." + "3" * 200, "1" * 150 + "e2"):
        body = '{"limit": ' + number + ', "nested": [{"a": 1}]}'
        assert _error(api(method, path, data=body, headers=JSON), 400) == too_long, number[:20]
    assert _error(api(method, path, data="[" + "1" * 5000 + "]", headers=JSON), 400) == too_long
    # a hundred digits are a number: the body goes on to be validated (an unknown field, here)
    response = api(method, path, data='{"nope": ' + "1" * 100 + "}", headers=JSON)
    assert response.status_code == 422 and "nope" in response.get_json()["error"]["fields"]


@pytest.mark.parametrize("number", ["1e400", "-2.5E+999", "1" * 99 + "e999"])
def test_a_number_too_large_for_a_float_is_named_as_such(api, number):
    """Few digits, but infinity once parsed: it passed the digit count and was refused by each
    field as "not a decimal number", or reached one that takes any number."""
    error = _error(api("POST", "/deliveries/replay", data='{"status": "dead", "limit": ' + number + "}",
                       headers=JSON), 400)
    assert error == {"code": "bad_request",
                     "message": "a number in the body is too large (it would be infinity, which is not a JSON value)"}


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_not_json(api, constant):
    error = _error(api("POST", "/users", data='{"email": "a@acme.test", "role": "team_member", "name": ' + constant
                       + "}", headers=JSON), 400)
    assert error == {"code": "bad_request", "message": f"the body is not valid JSON: {constant} is not a JSON value"}
    error = _error(api("POST", "/deliveries/replay", data='{"status": "dead", "limit": ' + constant + "}",
                       headers=JSON), 400)
    assert error["message"] == f"the body is not valid JSON: {constant} is not a JSON value"


def test_delete_takes_no_body_or_an_empty_object_and_refuses_fields(api, seeded):
    attachment = seeded.per_role["super_admin"]["att_detach_api"]
    path = f"/attachments/{attachment}"
    error = _error(api("DELETE", path, json={"x": 1}), 422)
    assert error == {"code": "validation_failed", "message": "unknown field: x", "fields": {"x": ["Unknown field."]}}
    error = _error(api("DELETE", path, data="x=1", headers={"Content-Type": "application/x-www-form-urlencoded"}), 400)
    assert error["message"] == "send a JSON body with Content-Type: application/json"
    assert _error(api("DELETE", path, json=[1]), 422)["message"] == "the body must be a JSON object"
    assert api("GET", path).status_code == 200  # refused: still attached
    assert api("DELETE", path, json={}).status_code == 204
    assert api("GET", path).status_code == 404
