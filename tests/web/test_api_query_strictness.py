"""The API's query parameters are taken as sent or refused naming the parameter, never half taken:
a parameter given twice (``?per_page=2&per_page=3000``: which was meant?) is a 422, for every
query parameter of every operation (they are all single-valued); a page number is ASCII digits
(Python's ``int`` takes other scripts' digits: ``page=%D9%A3`` was page 3); and a filter the view
itself finds invalid (a plugin, a user that is not there) is worded as any other query
parameter's refusal, not as a body field's."""

from __future__ import annotations

import pytest

from tests.reliability.contract import check_answer
from tests.web.support import api_headers

REPEATED = "Given more than once: give it once."
VALID = {"assessment": "fakeassess:py", "plugin": "fakesource", "user": "none", "posting_id": "p1",
         "updated_since": "2026-01-01T00:00:00Z"}
PAGED = ("/invitations", "/activity", "/audit", "/integrations/fakesource/webhooks")


@pytest.fixture
def api(hub_app, seeded):
    client = hub_app.test_client()

    def call(path, role="super_admin", **kwargs):
        response = client.get(f"/api/v1{path}", headers=api_headers(seeded, role), **kwargs)
        check_answer(path, response.status_code, response.content_type, response.get_data())
        return response

    return call


def _refused(response, status=422) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]


def test_a_page_parameter_given_twice_is_refused_naming_it(api):
    for path in PAGED:
        for query, name in (("per_page=2&per_page=3000", "per_page"), ("page=1&page=2", "page"),
                            ("per_page=5&page=1&per_page=5", "per_page")):
            error = _refused(api(f"{path}?{query}"))
            assert error["message"] == f"query parameter given more than once: {name}", (path, query)
            assert error["fields"] == {name: [REPEATED]}


def test_every_query_parameter_of_every_operation_is_taken_once(api):
    """From the OpenAPI document, so a parameter added later is covered; the values are the
    parameter's own (an enum's first value) so that only the repetition is wrong."""
    document = api("/openapi.json").get_json()
    checked = 0
    for path, item in document["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter["in"] != "query":
                continue
            name, schema = parameter["name"], parameter["schema"]
            value = schema["enum"][0] if "enum" in schema else VALID.get(name, "1")
            url = path.replace("{plugin}", "fakesource")
            error = _refused(api(url, query_string=[(name, value), (name, value)]))
            assert error == {"code": "validation_failed", "fields": {name: [REPEATED]},
                             "message": f"query parameter given more than once: {name}"}, (path, name)
            assert api(url, query_string=[(name, value)]).status_code == 200, (path, name)
            checked += 1
    assert checked >= 17


def test_repeated_unknown_and_invalid_parameters_are_all_named_at_once(api):
    error = _refused(api("/activity?page=1&page=2&stauts=dead&per_page=0"))
    assert error["fields"] == {"page": [REPEATED], "stauts": ["Unknown query parameter."],
                               "per_page": ["Must be greater than or equal to 1 and less than or equal to 200."]}
    assert error["message"] == ("unknown query parameter: 'stauts' (this endpoint takes page, per_page, before_id, "
                                "plugin, status, about); query parameter given more than once: page; invalid query "
                                "parameter: per_page")
    error = _refused(api("/audit?page=1&per_page=1&page=1&per_page=1"))
    assert error["message"] == "query parameters given more than once: page, per_page"


def test_a_page_number_is_ascii_digits(api):
    """Not an Arabic-Indic 3, a fullwidth 1, a Devanagari 2, nor what else ``int`` forgives."""
    for value in ("%D9%A3", "%EF%BC%91", "%E0%A5%A8", "+3", "%203", "3%20", "1_0", "%0A3", "0x1", "3.0"):
        for name in ("page", "per_page"):
            for path in PAGED:
                error = _refused(api(f"{path}?{name}={value}"))
                assert error == {"code": "validation_failed", "fields": {name: ["Not a valid integer."]},
                                 "message": f"invalid query parameter: {name}"}, (path, name, value)
    answer = api("/audit?page=3&per_page=2").get_json()
    assert (answer["page"], answer["per_page"]) == (3, 2)
    assert _refused(api("/audit?page=-1"))["fields"] == {
        "page": ["Must be greater than or equal to 1 and less than or equal to 1000000."]}


def test_a_plugin_or_user_the_view_refuses_is_an_invalid_query_parameter(hub_app, seeded, api):
    error = _refused(api("/activity?plugin=nope"))
    assert error == {"code": "validation_failed",
                     "message": "invalid query parameter: plugin (no plugin named 'nope' is installed or has events "
                                "here)",
                     "fields": {"plugin": ["No plugin named 'nope' is installed or has events here."]}}
    error = _refused(api("/audit?user=999999999999999999"))
    assert error == {"code": "validation_failed",
                     "message": "invalid query parameter: user (no user with id 999999999999999999 in this workspace)",
                     "fields": {"user": ["No user with id 999999999999999999 in this workspace."]}}
    # the same check of the bulk replay's body field is worded as the body's other fields
    response = hub_app.test_client().post("/api/v1/deliveries/replay", headers=api_headers(seeded, "admin"),
                                          json={"status": "dead", "plugin": "nope"})
    assert _refused(response) == {
        "code": "validation_failed", "message": "invalid field: plugin (no plugin named 'nope' is installed or has "
                                                "events here)",
        "fields": {"plugin": ["No plugin named 'nope' is installed or has events here."]}}
