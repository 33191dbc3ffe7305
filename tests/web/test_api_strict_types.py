"""An API body is JSON: a boolean field takes a JSON boolean, a number field a JSON number. The
audit found marshmallow's form-friendly loading in the API: ``{"active": "no"}`` deactivated a
user, ``"yes"``, ``1`` and ``"true"`` passed as booleans, and ``"pass_threshold": "50"`` as a
number. Each is now a 422 naming the field and the type to send, in the shape of the API's other
422s; the attach form, which posts text, keeps working (its schema is the form's own)."""

from __future__ import annotations

import pytest



BOOLEAN = "Not a JSON boolean: send true or false, not {}."
NUMBER = "Not a JSON number: send a number such as 60 or 62.5, not {}."
WHOLE = "Not a whole JSON number: send a number such as 5, not {}."


def _refused(response, fields: dict[str, list[str]]) -> None:
    assert response.status_code == 422, response.get_data(as_text=True)
    names = sorted(fields)
    assert response.get_json()["error"] == {
        "code": "validation_failed", "fields": fields,
        "message": f"invalid field{'s' if len(names) > 1 else ''}: {', '.join(names)}"}


@pytest.mark.parametrize("value, kind", [("no", "a string"), ("yes", "a string"), ("true", "a string"),
                                         ("false", "a string"), (1, "a whole number"), (0, "a whole number"),
                                         (0.0, "a decimal number"), ([], "an array"), ({}, "an object")])
def test_a_user_s_active_takes_a_json_boolean_only(api, seeded, value, kind):
    target = seeded.per_role["admin"]["target_user"]
    _refused(api("PATCH", f"/users/{target}", role="admin", json={"active": value}),
             {"active": [BOOLEAN.format(kind)]})
    assert api("GET", f"/users/{target}").get_json()["active"] is True  # not deactivated by "no" nor by 0


def test_a_user_s_active_as_true_or_false_works(api, seeded):
    target = seeded.per_role["admin"]["target_user"]
    answer = api("PATCH", f"/users/{target}", role="admin", json={"active": False})
    assert answer.status_code == 200 and answer.get_json()["active"] is False
    answer = api("PATCH", f"/users/{target}", role="admin", json={"active": True, "role": "limited_team_member"})
    assert answer.status_code == 200 and answer.get_json()["active"] is True
    # every problem of the body at once: the type with the others
    answer = api("PATCH", f"/users/{target}", role="admin", json={"active": "no", "role": "boss", "x": 1})
    error = answer.get_json()["error"]
    assert answer.status_code == 422 and error["fields"]["active"] == [BOOLEAN.format("a string")]
    assert error["message"] == "unknown field: x; invalid fields: active, role"


def test_an_attachment_s_options_take_json_types_only(api, seeded):
    path = f"/attachments/{seeded.per_role['admin']['att_keep']}"
    before = api("GET", path).get_json()["options"]
    _refused(api("PUT", path, role="admin", json={"options": {"pass_threshold": "50"}}),
             {"options.pass_threshold": [NUMBER.format("a string")]})
    _refused(api("PUT", path, role="admin", json={"options": {"pass_threshold": True, "tag_results": "yes",
                                                              "remind_on_reentry": 1}}),
             {"options.pass_threshold": [NUMBER.format("a boolean")],
              "options.tag_results": [BOOLEAN.format("a string")],
              "options.remind_on_reentry": [BOOLEAN.format("a whole number")]})
    assert api("GET", path).get_json()["options"] == before  # nothing saved
    created = api("POST", "/attachments", role="admin", json={
        "posting_id": "p1", "stage_id": "canditech", "provider": "fakeassess", "assessment_id": "py",
        "options": {"pass_threshold": "60", "tag_results": "true"}})
    _refused(created, {"options.pass_threshold": [NUMBER.format("a string")],
                       "options.tag_results": [BOOLEAN.format("a string")]})
    # JSON numbers (whole or not) and booleans, and null for "the integration's setting", are taken
    saved = api("PUT", path, role="admin", json={"options": {"pass_threshold": 62.5, "tag_results": False,
                                                             "remind_on_reentry": None}})
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json()["options"] == {**before, "pass_threshold": 62.5, "tag_results": False}
    saved = api("PUT", path, role="admin", json={"options": {"pass_threshold": 50, "remind_on_reentry": True}})
    assert saved.status_code == 200 and saved.get_json()["options"]["pass_threshold"] == 50.0


def test_the_attach_form_still_takes_what_it_posts(hub_app, seeded, as_role, api):
    """The pipeline page posts the threshold as text and the yes/no choices as words: the API's
    strictness is its own, not the form's schema's."""
    answer = as_role("admin").post("/pipeline/new", data={
        "posting_id": "p1", "stage_id": "canditech", "assessment": "fakeassess:py", "pass_threshold": "70",
        "tag_results": "yes", "remind_on_reentry": "no"})
    assert answer.status_code in (302, 303), answer.get_data(as_text=True)
    options = [a["options"] for a in api("GET", "/attachments").get_json()["items"]
               if (a["posting_id"], a["stage_id"], a["assessment_id"]) == ("p1", "canditech", "py")]
    assert options == [{"pass_threshold": 70.0, "tag_results": True, "remind_on_reentry": False}]


@pytest.mark.parametrize("value, kind", [("3", "a string"), (True, "a boolean"), (2.5, "a decimal number"),
                                         (3.0, "a decimal number")])
def test_a_backfill_s_expected_count_takes_a_whole_json_number(api, seeded, value, kind):
    path = f"/attachments/{seeded.ids['attachment']}/backfill"
    _refused(api("POST", path, role="admin", json={"expected": value}), {"expected": [WHOLE.format(kind)]})


@pytest.mark.parametrize("value, kind", [("10", "a string"), (False, "a boolean"), (1.5, "a decimal number")])
def test_a_bulk_replay_s_limit_takes_a_whole_json_number(api, value, kind):
    _refused(api("POST", "/deliveries/replay", role="admin", json={"status": "dead", "limit": value}),
             {"limit": [WHOLE.format(kind)]})
    assert api("POST", "/deliveries/replay", role="admin", json={"status": "dead", "limit": 1}).status_code == 200


def test_the_openapi_document_gives_the_api_s_options_under_their_name(api):
    schemas = api("GET", "/openapi.json").get_json()["components"]["schemas"]
    assert schemas["AttachmentIn"]["properties"]["options"] == {"$ref": "#/components/schemas/AttachmentOptions"}
    options = schemas["AttachmentOptions"]["properties"]
    assert options["pass_threshold"]["type"] == ["number", "null"]
    assert options["tag_results"]["type"] == options["remind_on_reentry"]["type"] == ["boolean", "null"]
    assert "JsonAttachmentOptions" not in schemas and "ApiAttachmentOptions" not in schemas
    assert schemas["UserPatch"]["properties"]["active"] == {"type": "boolean"}
