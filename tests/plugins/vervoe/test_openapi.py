"""The OpenAPI validator itself, then every endpoint of the sandbox the plugin uses (and their error
answers) exercised and checked against Vervoe's OpenAPI document (the ``api_exchanges`` recorder
validates every exchange of every test that touches the sandbox; this module makes sure each
operation and its documented errors are covered at least once)."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from .conftest import SANDBOX_KEY, SANDBOX_SECRET, SLUG
from .openapi import Exchange, SpecViolation, to_json_schema

API = "https://api.vervoe.com/api"


def exchange(method: str, path: str, *, body: dict | None = None, status: int = 200, answer: dict | None = None,
             auth: str = "Bearer t") -> Exchange:
    return Exchange(method, API + path, {"Authorization": auth, "Content-Type": "application/json"},
                    json.dumps(body).encode() if body is not None else None, status,
                    {"Content-Type": "application/json"}, json.dumps(answer if answer is not None else {}).encode())


# --------------------------------------------------------------------------- the validator


def test_the_conversion_makes_nullable_and_strict_json_schema():
    converted = to_json_schema({"type": "object", "x-stoplight": {"id": "1"}, "description": "d", "properties": {
        "a": {"type": "string", "nullable": True, "example": "x"},
        "b": {"type": ["object", "integer"], "nullable": True, "properties": {"c": {"type": "integer"}}}}})
    assert converted == {"type": "object", "additionalProperties": False, "properties": {
        "a": {"type": ["string", "null"]},
        "b": {"type": ["object", "integer", "null"], "properties": {"c": {"type": "integer"}},
              "additionalProperties": False}}}


def test_documented_examples_pass(spec):
    invite = spec.operation("post", "/integration/assessments/{slug}/invite").operation
    example = invite["requestBody"]["content"]["application/json"]["examples"]["Example 1"]["value"]
    answer = invite["responses"]["200"]["content"]["application/json"]["examples"]["200"]["value"]
    spec.validate(exchange("POST", "/integration/assessments/assessment_1/invite", body=example, answer=answer))
    token = spec.operation("get", "/public/ats-api/token").operation["responses"]
    spec.validate(exchange("GET", "/public/ats-api/token", auth="Basic a2V5OnNlY3JldA==",
                           answer=token["200"]["content"]["application/json"]["examples"]["Example 1"]["value"]))


@pytest.mark.parametrize("bad,message", [
    (exchange("GET", "/integration/candidates"), "unknown path"),
    (exchange("DELETE", "/integration/user-assessments/u-1"), "method not documented"),
    (exchange("GET", "/integration/user-assessments?page=1&email=a@b.co"), "'email' is not documented"),
    (exchange("GET", "/integration/user-assessments"), "required query parameter 'page'"),
    (exchange("GET", "/integration/user-assessments?page=one"), "must be an integer"),
    (exchange("GET", "/integration/assessments", auth="Basic eDp5"), "Authorization must be Bearer"),
    (exchange("GET", "/public/ats-api/token", auth="Bearer t"), "Authorization must be Basic"),
    (exchange("POST", "/integration/assessments/s/invite", body={"candidateEmail": "a@b.co"}),
     "'candidateFirstName' is a required property"),
    (exchange("POST", "/integration/assessments/s/invite",
              body={"candidateEmail": "a@b.co", "candidateFirstName": "A", "externalReference": "hub-inv-1"}),
     "Additional properties are not allowed"),
    (exchange("PATCH", "/integration/user-assessments/u-1/reject", body={"reason": "x"}), "takes no body"),
    (exchange("GET", "/integration/user-assessments/u-1", answer={"success": True, "data": {"status": 3}}),
     "3 is not of type 'string'"),
    (exchange("GET", "/integration/assessments?page=1", answer={"items": [{"slug": "s", "questionCount": 4}]}),
     "'questionCount' was unexpected"),
    (exchange("GET", "/integration/user-assessments/u-1", status=201, answer={}), "not documented"),
    (exchange("GET", "/integration/user-assessments/u-1", status=404, answer={"error": "x"}), "unexpected"),
    (exchange("GET", "/integration/user-assessments/u-1", status=401, answer={"success": False}), "unexpected"),
    (Exchange("GET", "https://api.vervoe.com/v2/integration/assessments", {}, None, 200, {}, b"{}"),
     "not under the API's base path"),
])
def test_violations_are_caught(spec, bad, message):
    with pytest.raises(SpecViolation, match=message):
        spec.validate(bad)


# --------------------------------------------------------------------------- the sandbox, endpoint by endpoint


def test_every_operation_the_plugin_uses_and_its_errors(sandbox, api_exchanges):
    api = sandbox.api
    session = requests.Session()
    try:
        basic = "Basic " + base64.b64encode(f"{SANDBOX_KEY}:{SANDBOX_SECRET}".encode()).decode()
        wrong = "Basic " + base64.b64encode(f"{SANDBOX_KEY}:nope".encode()).decode()
        with api_exchanges.invalid_requests():
            assert session.get(api + "/public/ats-api/token").status_code == 400        # no credentials
        assert session.get(api + "/public/ats-api/token", headers={"Authorization": wrong}).status_code == 401
        answer = session.get(api + "/public/ats-api/token", headers={"Authorization": basic})
        assert answer.status_code == 200
        bearer = {"Authorization": "Bearer " + answer.json()["data"]["token"]}

        assert session.get(api + f"/public/apihealthcheck/{SANDBOX_KEY}").json() == {"success": True, "data": "ok"}
        assert session.get(api + "/public/apihealthcheck/unknown").status_code == 403

        assert session.get(api + "/integration/assessments", headers={"Authorization": "Bearer nope"}).status_code == 401
        first = session.get(api + "/integration/assessments", params={"page": 1}, headers=bearer).json()
        second = session.get(api + "/integration/assessments", params={"page": 2}, headers=bearer).json()
        assert (first["hasMorePages"], second["hasMorePages"], first["total"]) == (True, False, 3)
        assert [a["slug"] for a in first["items"] + second["items"]] == [
            "backend-developer-test", "customer-support-test", "sales-skills-test"]
        assert session.get(api + "/integration/assessments", params={"page": 0}, headers=bearer).status_code == 400

        invite = api + f"/integration/assessments/{SLUG}/invite"
        body = {"candidateEmail": "ada@example.com", "candidateFirstName": "Ada", "candidateLastName": "Lovelace",
                "sendInvitationEmail": True}
        created = session.post(invite, json=body, headers=bearer)
        assert created.status_code == 200
        uuid, url = created.json()["data"]["candidateAssessmentUuid"], created.json()["data"]["candidateUrl"]
        again = session.post(invite, json={**body, "candidateEmail": "ADA@example.com"}, headers=bearer)
        assert again.status_code == 400
        assert again.json() == {"success": False, "errors": "The invitation has been already sent.",
                                "data": {"candidateAssessmentUuid": uuid, "candidateUrl": url}}
        with api_exchanges.invalid_requests():  # candidateFirstName is required
            assert session.post(invite, json={"candidateEmail": "x@example.com"}, headers=bearer).status_code == 400
        assert session.post(invite, json={**body, "candidateEmail": "not-an-email"}, headers=bearer).status_code == 400
        assert session.post(api + "/integration/assessments/no-such/invite", json=body,
                            headers=bearer).status_code == 404

        report = session.get(api + f"/integration/user-assessments/{uuid}", headers=bearer).json()["data"]
        assert (report["status"], report["candidateEmail"], report["assessmentSlug"]) == ("invited", "ada@example.com",
                                                                                         SLUG)
        assert session.get(api + "/integration/user-assessments/nope", headers=bearer).status_code == 404
        link = session.get(api + f"/integration/user-assessments/{uuid}/candidateUrl", headers=bearer).json()
        assert link == {"success": True, "data": {"candidateUrl": url}}

        sandbox.act(uuid, "complete", answers={"q1": "b", "q2": "b", "q3": "a", "q4": "a"})
        report = session.get(api + f"/integration/user-assessments/{uuid}", headers=bearer).json()["data"]
        assert report["status"] == "complete" and report["score"] == {"type": "TYPE_AI", "score": 75,
                                                                      "scoreByFormat": 75}
        listed = session.get(api + "/integration/user-assessments", headers=bearer,
                             params={"page": 1, "sort": "created", "order": "desc"}).json()["data"]
        assert listed["total"] == 1 and listed["items"][0]["candidateAssessmentUuid"] == uuid
        with api_exchanges.invalid_requests():  # page is required
            assert session.get(api + "/integration/user-assessments", headers=bearer).status_code == 400
        assert session.get(api + "/integration/user-assessments", headers=bearer,
                           params={"page": 1, "sort": "completed"}).status_code == 400

        rejected = session.patch(api + f"/integration/user-assessments/{uuid}/reject", headers=bearer).json()["data"]
        assert rejected["status"] == "rejected"
        assert session.patch(api + f"/integration/user-assessments/{uuid}/reject", headers=bearer).status_code == 200
        reset = session.patch(api + f"/integration/user-assessments/{uuid}/reset", headers=bearer).json()["data"]
        assert (reset["status"], reset["score"], reset["completedAt"]) == ("invited", None, None)

        sandbox.faults(down=True)
        assert session.get(api + "/integration/assessments", headers=bearer).status_code == 503
        sandbox.faults(error_rate=1.0, error_codes=[429])
        limited = session.get(api + "/integration/assessments", headers=bearer)
        assert limited.status_code == 429 and limited.headers["Retry-After"] == "1"
        sandbox.faults()
    finally:
        session.close()

    assert api_exchanges.check() == 26  # every exchange above is valid against the document
    assert api_exchanges.operations() == {
        "GET /public/ats-api/token", "GET /public/apihealthcheck/{apiKey}", "GET /integration/assessments",
        "POST /integration/assessments/{slug}/invite", "GET /integration/user-assessments/{candidateAssessmentUuid}",
        "GET /integration/user-assessments/{candidateAssessmentUuid}/candidateUrl", "GET /integration/user-assessments",
        "PATCH /integration/user-assessments/{candidateAssessmentUuid}/reject",
        "PATCH /integration/user-assessments/{candidateAssessmentUuid}/reset"}


def test_the_recorder_fails_a_request_the_document_does_not_know(sandbox, api_exchanges):
    answer = requests.get(sandbox.api + "/integration/candidates", timeout=10)
    assert answer.status_code == 404  # the sandbox has no such route either
    with pytest.raises(SpecViolation, match="unknown path"):
        api_exchanges.check()
    api_exchanges.clear()
