"""The JSON API: validation errors (422 naming the fields, 400 for non-JSON), the error envelope,
and the operations the pages offer, done through the API."""

from __future__ import annotations

import pytest



def test_unknown_fields_are_named(api):
    response = api("POST", "/attachments", json={"posting_id": "p1", "stage_id": "s9", "provider": "fakeassess",
                                                 "assessment_id": "py", "colour": "red", "options": {"speed": 1}})
    body = response.get_json()
    assert response.status_code == 422 and body["error"]["code"] == "validation_failed"
    assert body["error"]["fields"] == {"colour": ["Unknown field."], "options.speed": ["Unknown field."]}
    assert body["error"]["message"] == "unknown fields: colour, options.speed"


def test_wrong_types_get_per_field_messages(api):
    response = api("POST", "/attachments", json={"posting_id": 5, "stage_id": "s9", "provider": "fakeassess",
                                                 "options": {"pass_threshold": "high", "tag_results": "maybe"}})
    fields = response.get_json()["error"]["fields"]
    assert response.status_code == 422
    assert fields == {"posting_id": ["Not a valid string."], "assessment_id": ["Missing data for required field."],
                      "options.pass_threshold": ["Not a JSON number: send a number such as 60 or 62.5, not a string."],
                      "options.tag_results": ["Not a JSON boolean: send true or false, not a string."]}
    response = api("PATCH", "/users/3", json={})
    assert response.status_code == 422 and "_schema" in response.get_json()["error"]["fields"]
    response = api("PATCH", "/users/3", json={"role": "boss", "active": "perhaps"})
    assert set(response.get_json()["error"]["fields"]) == {"role", "active"}


def test_bodies_that_are_not_json(api):
    response = api("POST", "/attachments", data="posting_id=p1", headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400 and "Content-Type: application/json" in response.get_json()["error"]["message"]
    response = api("POST", "/attachments", data="{not json", headers={"Content-Type": "application/json"})
    assert response.status_code == 400 and response.get_json()["error"] == {
        "code": "bad_request", "message": "the body is not valid JSON"}
    response = api("POST", "/attachments", json=[1, 2])
    assert response.status_code == 422 and response.get_json()["error"] == {
        "code": "validation_failed", "message": "the body must be a JSON object",
        "fields": {"_schema": ["Invalid input type."]}}
    response = api("PUT", "/integrations/fakesource", json=["not", "an", "object"])
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "the body must be a JSON object of settings"
    # action endpoints take no body, but refuse unknown fields if one is sent
    assert api("POST", "/integrations/fakesource/enable", json={"force": True}).status_code == 422
    assert api("POST", "/integrations/fakesource/enable").status_code == 200


NESTED = "[" * 50_000  # deeper than the JSON parser's recursion limit: RecursionError, not ValueError


@pytest.mark.parametrize("method, path", [("POST", "/users"), ("POST", "/attachments"),
                                          ("PUT", "/integrations/fakesource"),
                                          ("POST", "/integrations/fakesource/enable")])
def test_json_nested_too_deep_is_malformed_json(api, method, path):
    for body in (NESTED, '{"a":' * 50_000):
        response = api(method, path, data=body, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, response.get_data(as_text=True)[:200]
        assert response.get_json()["error"] == {"code": "bad_request", "message": "the body is not valid JSON"}


def test_json_nested_too_deep_with_an_escape_is_malformed_json(api):
    # the input guard parses bodies holding an escape; deep nesting must not fail it either
    response = api("POST", "/users", data=NESTED + '"\\u0041"', headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    assert response.get_json()["error"] == {"code": "bad_request", "message": "the body is not valid JSON"}


@pytest.mark.parametrize("method, path", [("POST", "/users"), ("POST", "/attachments"), ("PATCH", "/users/1"),
                                          ("POST", "/integrations/fakesource/enable"),
                                          ("POST", "/integrations/fakesource/revoke")])
@pytest.mark.parametrize("body", ["[]", '"str"', "5", "null", "true"])
def test_bodies_that_are_not_objects_are_named(api, method, path, body):
    response = api(method, path, data=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == "the body must be a JSON object"


def test_plugin_settings_are_validated_by_the_plugin_schema(api):
    response = api("PUT", "/integrations/fakesource", json={"max_rate": 500, "region": "mars", "nope": 1})
    error = response.get_json()["error"]
    assert response.status_code == 422
    assert set(error["fields"]) == {"max_rate", "region", "nope"}
    assert error["message"] == "unknown field: nope; invalid fields: max_rate, region"
    response = api("PUT", "/integrations/fakesource", json={"region": "us", "api_key": "new-key-value"})
    body = response.get_json()
    assert response.status_code == 200 and body["settings"]["region"] == "us"
    assert body["secrets"]["api_key"]["set_by"] == "super_admin@acme.test" and "new-key-value" not in str(body)


def test_errors_use_the_envelope(api):
    assert api("GET", "/attachments/99999").get_json() == {"error": {"code": "not_found", "message": "no such attachment"}}
    assert api("GET", "/integrations/nope").status_code == 404
    response = api("DELETE", "/invitations")
    assert response.status_code == 405 and response.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in response.headers["Allow"]
    assert api("GET", "/nothing-here").get_json()["error"]["code"] == "not_found"


def test_attachments_through_the_api(api, seeded):
    created = api("POST", "/attachments", role="admin", json={
        "posting_id": "p1", "stage_id": "canditech", "provider": "fakeassess", "assessment_id": "py",
        "options": {"pass_threshold": 65, "remind_on_reentry": True}})
    body = created.get_json()
    assert created.status_code == 201 and created.headers["Location"] == f"/api/v1/attachments/{body['id']}"
    assert (body["posting_name"], body["stage_name"], body["assessment_name"]) == (
        "Python Developer", "Canditech Stage", "Python Developer")
    assert body["options"] == {"pass_threshold": 65.0, "remind_on_reentry": True}
    duplicate = api("POST", "/attachments", role="admin", json={
        "posting_id": "p1", "stage_id": "canditech", "provider": "fakeassess", "assessment_id": "py"})
    # a script sending its create again learns which attachment is already there
    assert duplicate.status_code == 409 and duplicate.get_json() == {"error": {
        "code": "conflict", "message": "this assessment is already attached to that stage of that posting",
        "attachment_id": body["id"]}}
    unknown = api("POST", "/attachments", role="admin", json={
        "posting_id": "p1", "stage_id": "nowhere", "provider": "fakeassess", "assessment_id": "py"})
    assert unknown.status_code == 422 and list(unknown.get_json()["error"]["fields"]) == ["stage_id"]

    # an edit may not make it a copy of another live attachment: each candidate would be invited twice
    other = api("POST", "/attachments", role="admin", json={
        "posting_id": "p1", "stage_id": "s7", "provider": "fakeassess", "assessment_id": "py"}).get_json()
    onto_copy = api("PUT", f"/attachments/{other['id']}", role="admin", json={"stage_id": "canditech"})
    assert onto_copy.status_code == 409 and "already attached" in onto_copy.get_json()["error"]["message"]
    assert onto_copy.get_json()["error"]["attachment_id"] == body["id"]
    assert api("GET", f"/attachments/{other['id']}", role="admin").get_json()["stage_id"] == "s7"
    assert api("PUT", f"/attachments/{other['id']}", role="admin", json={"options": {}}).status_code == 200

    updated = api("PUT", f"/attachments/{body['id']}", role="admin", json={"stage_id": "s2"})
    assert updated.status_code == 200 and updated.get_json()["stage_name"] == "Stage 2"
    assert updated.get_json()["options"] == body["options"]  # left out: kept
    listed = api("GET", "/attachments", role="admin").get_json()["items"]
    assert body["id"] in [item["id"] for item in listed]
    assert api("DELETE", f"/attachments/{body['id']}", role="admin").status_code == 204
    assert api("GET", f"/attachments/{body['id']}", role="admin").status_code == 404
    stages = api("GET", "/stages?posting_id=p1", role="admin").get_json()["items"]
    assert {"id": "canditech", "name": "Canditech Stage"} in stages
    postings = api("GET", "/postings", role="admin").get_json()["items"]
    assert postings[0]["follower_emails"] == ["limited_team_member@acme.test"]
    assessments = api("GET", "/assessments", role="admin").get_json()
    assert assessments["items"][0] == {"provider": "fakeassess", "id": "py", "name": "Python Developer",
                                       "duration_minutes": 60, "max_score": 100.0}


def test_unknown_provider_or_assessment_names_the_field_sent(api, seeded):
    good = {"posting_id": "p1", "stage_id": "s9", "provider": "fakeassess", "assessment_id": "py"}
    for field, expected in (("provider", "“nosuch” is not an enabled assessment provider."),
                            ("assessment_id", "This assessment does not exist (any more) at the provider.")):
        response = api("POST", "/attachments", role="admin", json={**good, field: "nosuch"})
        assert response.status_code == 422
        assert response.get_json()["error"] == {"code": "validation_failed",
                                                "message": f"some choices are not valid: {field}",
                                                "fields": {field: [expected]}}
        response = api("PUT", f"/attachments/{seeded.ids['attachment']}", role="admin", json={field: "nosuch"})
        assert response.status_code == 422 and list(response.get_json()["error"]["fields"]) == [field]
    both = api("POST", "/attachments", role="admin", json={**good, "stage_id": "gone", "provider": "nosuch"})
    assert both.get_json()["error"]["message"] == "some choices are not valid: provider, stage_id"


def test_invitations_through_the_api(api, seeded, fakes):
    _, assess = fakes
    listed = api("GET", "/invitations?status=failed&per_page=2", role="team_member").get_json()
    assert listed["total"] == 4 and len(listed["items"]) == 2 and listed["pages"] == 2
    assert {item["status"] for item in listed["items"]} == {"failed"}
    assert api("GET", "/invitations?status=weird", role="team_member").status_code == 422
    assert api("GET", "/invitations?page=0", role="team_member").status_code == 422
    one = api("GET", f"/invitations/{seeded.ids['invitation']}", role="team_member").get_json()
    assert one["candidate_name"] == "Ada Lovelace" and one["posting_name"] == "Python Developer"
    assert one["timeline"][0]["kind"] == "created" and one["score"] == 81.0

    target = seeded.per_role["admin"]["inv_reinvite_api"]
    response = api("POST", f"/invitations/{target}/reinvite", role="admin")
    assert response.status_code == 200 and response.get_json()["status"] == "pending" and response.get_json()["round"] == 2
    assert response.get_json()["timeline"][-1]["kind"] == "reinvite"
    assert assess.reinvites == [target]
    again = api("POST", f"/invitations/{target}/reinvite", role="admin")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "conflict"
    cancelled = api("POST", f"/invitations/{seeded.per_role['admin']['inv_cancel_api']}/cancel", role="admin")
    assert cancelled.get_json()["status"] == "cancelled"


def test_users_through_the_api(api, seeded):
    created = api("POST", "/users", role="admin", json={"email": "api.user@acme.test", "role": "team_member"})
    body = created.get_json()
    assert created.status_code == 201 and body["role"] == "team_member" and len(body["generated_password"]) >= 10
    patched = api("PATCH", f"/users/{body['id']}", role="admin", json={"role": "limited_team_member", "active": False})
    assert patched.get_json()["role"] == "limited_team_member" and patched.get_json()["active"] is False
    bad = api("POST", "/users", role="admin", json={"email": "nope", "role": "team_member", "extra": 1})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"email", "extra"}
    long_name = api("POST", "/users", role="admin", json={"email": "long@acme.test", "role": "team_member",
                                                          "name": "n" * 201})
    assert long_name.status_code == 422 and list(long_name.get_json()["error"]["fields"]) == ["name"]
    long_local = api("POST", "/users", role="admin", json={"email": "a" * 65 + "@acme.test", "role": "team_member"})
    assert long_local.status_code == 422 and long_local.get_json()["error"]["fields"] == {
        "email": ["The part before @ is longer than 64 characters."]}
    longest = api("POST", "/users", role="admin", json={"email": "longest@acme.test", "role": "team_member",
                                                        "name": "n" * 200})
    assert longest.status_code == 201 and longest.get_json()["name"] == "n" * 200
    audit = api("GET", "/audit?action=user.", role="admin").get_json()
    assert {"user.create", "user.role", "user.deactivate"} <= {item["action"] for item in audit["items"]}


def test_integration_actions_through_the_api(api, fakes):
    source, _ = fakes
    assert api("POST", "/integrations/fakesource/test", role="admin").get_json()["message"] == "Fake ATS answered."
    from tests.web.support import vendor_error

    source.fail = vendor_error("nope")
    failed = api("POST", "/integrations/fakesource/webhooks/setup")
    assert failed.status_code == 502 and failed.get_json()["error"]["message"] == "Fake ATS: nope"
    source.fail = None
    assert api("POST", "/integrations/fakeassess/webhooks/setup").status_code == 409  # not supported by that plugin
    revoked = api("POST", "/integrations/fakesource/revoke").get_json()
    assert revoked["integration"]["status"] == "revoked" and revoked["integration"]["enabled"] is False
    assert revoked["integration"]["secrets"]["api_key"]["set"] is False


def test_an_archive_reason_the_source_does_not_offer_is_named(api):
    body = {"posting_id": "p1", "stage_id": "s9", "provider": "fakeassess", "assessment_id": "py",
            "options": {"archive_reason_on_thumbs_down": "no-such-reason"}}
    response = api("POST", "/attachments", json=body)
    assert response.status_code == 422
    # named as the body has it, as the body's own validation names an option
    assert response.get_json()["error"]["fields"] == {
        "options.archive_reason_on_thumbs_down": ["This archive reason does not exist at the source."]}
    body["options"]["archive_reason_on_thumbs_down"] = "reason-2"
    assert api("POST", "/attachments", json=body).status_code == 201


def test_put_merges_options_key_by_key(api, seeded):
    """Options left out of ``options`` keep their value, as fields left out do; null clears one."""
    path = f"/attachments/{seeded.per_role['admin']['att_keep']}"
    full = {"pass_threshold": 70, "tag_results": True, "remind_on_reentry": False,
            "move_to_stage_on_thumbs_up": "s2", "archive_reason_on_thumbs_down": "reason-1"}
    assert api("PUT", path, role="admin", json={"options": full}).status_code == 200
    one = api("PUT", path, role="admin", json={"options": {"pass_threshold": 80}})
    assert one.status_code == 200
    assert one.get_json()["options"] == {**full, "pass_threshold": 80.0}
    assert api("PUT", path, role="admin", json={"options": {}}).get_json()["options"] == one.get_json()["options"]
    assert api("PUT", path, role="admin", json={"stage_id": "s9"}).get_json()["options"] == one.get_json()["options"]
    cleared = api("PUT", path, role="admin", json={"options": {"move_to_stage_on_thumbs_up": None,
                                                               "tag_results": None, "pass_threshold": None}})
    assert cleared.status_code == 200
    assert cleared.get_json()["options"] == {"remind_on_reentry": False, "archive_reason_on_thumbs_down": "reason-1"}
    assert api("GET", path, role="admin").get_json()["options"] == cleared.get_json()["options"]
    # a merged option is still checked against the (new) posting's stages
    bad = api("PUT", path, role="admin", json={"options": {"move_to_stage_on_thumbs_up": "nowhere"}})
    assert bad.status_code == 422 and list(bad.get_json()["error"]["fields"]) == ["options.move_to_stage_on_thumbs_up"]


def test_a_search_or_filter_too_long_is_refused_naming_the_parameter(api):
    """Not a 503 "database unavailable" (SQLite refuses a LIKE pattern over 50,000 bytes)."""
    for path, name, value in (("/invitations", "q", "_" * 26000), ("/invitations", "q", "a" * 201),
                              ("/audit", "action", "_" * 26000), ("/audit", "action", "%" * 201)):
        response = api("GET", path, query_string={name: value})
        assert response.status_code == 422, (path, len(value))
        assert response.get_json()["error"]["fields"] == {name: ["Longer than maximum length 200."]}
        assert response.get_json()["error"]["message"] == f"invalid query parameter: {name}"
    assert api("GET", "/invitations", query_string={"q": "a" * 200}).get_json()["total"] == 0
    assert api("GET", "/audit", query_string={"action": "_" * 200}).get_json()["total"] == 0
