"""What a script author met walking through the API (docs/api.md): a misspelt query parameter or
filter value named instead of ignored, refusals that say what is missing and who may, the
candidate's invite link, a user's own address, a second detach, a wrong method."""

from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Invitation
from tests.web.support import api_error


def test_an_unknown_query_parameter_is_named_with_the_ones_the_endpoint_takes(api):
    error = api_error(api("GET", "/invitations?stauts=failed"), 422)
    assert error["message"] == ("unknown query parameter: 'stauts' (this endpoint takes page, per_page, before_id, "
                                "status, assessment, posting, q, opportunity, updated_since)")
    assert error["fields"] == {"stauts": ["Unknown query parameter."]}
    error = api_error(api("GET", "/integrations?verbose=1&x=2"), 422)
    assert error["message"] == "unknown query parameters: 'verbose', 'x' (this endpoint takes no query parameters)"
    assert api("GET", "/invitations?status=failed&per_page=5").status_code == 200
    # who may not use the endpoint is told that first, whatever the query
    assert api_error(api("GET", "/activity?stauts=dead", role="team_member"), 403)["code"] == "forbidden"


def test_the_assessment_filter_needs_its_provider(api):
    error = api_error(api("GET", "/invitations?assessment=py"), 422)
    assert error["fields"] == {"assessment": [
        "give the provider and the assessment's id as provider:assessment_id, e.g. canditech:asmt-python"]}
    assert api("GET", "/invitations?assessment=fakeassess:py").get_json()["total"] >= 1


def test_activity_names_a_plugin_it_does_not_know(api):
    error = api_error(api("GET", "/activity?plugin=fakesorce"), 422)
    assert error["fields"] == {"plugin": ["No plugin named 'fakesorce' is installed or has events here."]}
    assert api("GET", "/activity?plugin=fakesource").status_code == 200


def test_missing_fields_are_said_missing(api):
    error = api_error(api("POST", "/attachments", json={"posting_id": "p1"}), 422)
    assert error["message"] == "missing fields: assessment_id, provider, stage_id"


def test_a_403_names_the_role_the_permission_and_who_has_it(api):
    error = api_error(api("POST", "/integrations/fakesource/disable", role="admin"), 403)
    assert error == {"code": "forbidden", "permission": "integrations.manage",
                     "message": "your role (Admin) does not allow this: it needs the permission integrations.manage, "
                                "which a Super Admin has"}
    error = api_error(api("GET", "/activity", role="team_member"), 403)
    assert error["message"].endswith("it needs the permission activity.view, which an Admin or a Super Admin has")


def test_an_open_invitation_carries_the_candidate_s_link_and_a_closed_one_none(hub_app, seeded, api):
    invitation_id = seeded.ids["invitation"]
    with hub_app.app_context():
        db.session.execute(sa.update(Invitation).where(Invitation.id == invitation_id).values(
            status="invited", invite_url="https://tests.example/take/1"))
        db.session.commit()
    assert api("GET", f"/invitations/{invitation_id}").get_json()["invite_url"] == "https://tests.example/take/1"
    listed = api("GET", "/invitations?status=invited").get_json()["items"]
    assert {item["id"]: item["invite_url"] for item in listed}[invitation_id] == "https://tests.example/take/1"
    with hub_app.app_context():  # a vendor's link that is no web page is never passed on
        db.session.execute(sa.update(Invitation).where(Invitation.id == invitation_id).values(
            invite_url="javascript:alert(1)"))
        db.session.commit()
    assert api("GET", f"/invitations/{invitation_id}").get_json()["invite_url"] is None
    with hub_app.app_context():
        db.session.execute(sa.update(Invitation).where(Invitation.id == invitation_id).values(
            status="completed", invite_url="https://tests.example/take/1"))
        db.session.commit()
    assert api("GET", f"/invitations/{invitation_id}").get_json()["invite_url"] is None


def test_a_created_user_s_location_is_its_own_address(api):
    created = api("POST", "/users", json={"email": "new.one@acme.test", "role": "team_member"})
    assert created.status_code == 201
    location = created.headers["Location"]
    assert location == f"/api/v1/users/{created.get_json()['id']}"
    user = api("GET", location.removeprefix("/api/v1")).get_json()
    assert user["email"] == "new.one@acme.test" and "generated_password" not in user
    assert api_error(api("GET", "/users/999999"), 404)["code"] == "not_found"


def test_a_second_detach_says_it_was_detached_and_a_204_has_no_type(api, seeded):
    attachment_id = seeded.ids["attachment"]
    first = api("DELETE", f"/attachments/{attachment_id}")
    assert first.status_code == 204 and first.data == b"" and "Content-Type" not in first.headers
    error = api_error(api("DELETE", f"/attachments/{attachment_id}"), 404)
    assert error["message"] == api_error(api("GET", f"/attachments/{attachment_id}"), 404)["message"]
    assert "detached" in error["message"]


def test_a_wrong_method_names_the_methods_the_address_takes(api):
    response = api("DELETE", "/users")
    error = api_error(response, 405)
    assert error["message"] == "DELETE is not allowed at this address; it takes GET, POST"
    assert set(response.headers["Allow"].split(", ")) >= {"GET", "POST"}


def test_every_api_answer_is_not_stored_errors_of_routing_included(api, hub_app):
    for method, path in (("GET", "/me"), ("GET", "/no-such-endpoint"), ("DELETE", "/users"), ("GET", "/invitations/abc")):
        assert api(method, path).headers.get("Cache-Control") == "no-store", (method, path)
    assert hub_app.test_client().get("/sign-in").headers.get("Cache-Control") != "no-store"  # pages: their own rule


def test_who_may_not_use_an_endpoint_learns_that_before_its_query_is_refused(hub_app, api):
    anonymous = hub_app.test_client()
    assert api_error(anonymous.get("/api/v1/integrations?x=1"), 401)["code"] == "unauthorized"
    assert api_error(api("GET", "/users?x=1", role="team_member"), 403)["code"] == "forbidden"
    assert api_error(api("GET", "/integrations?x=%00"), 400)["code"] == "unstorable_character"
    # every unknown and invalid parameter at once, names said back shortened
    error = api_error(api("GET", "/audit?per_page=abc&" + "z" * 300 + "=1"), 422)
    assert error["fields"] == {"z" * 40 + "…": ["Unknown query parameter."], "per_page": ["Not a valid integer."]}
    assert error["message"] == ("unknown query parameter: '" + "z" * 40 + "…' (this endpoint takes page, per_page, "
                                "before_id, action, user); invalid query parameter: per_page")
    assert api("OPTIONS", "/invitations?x=1").status_code == 200  # the framework's answer, whatever the query


def test_a_wrong_method_on_a_page_names_the_methods_too(hub_app, as_role):
    html = as_role("admin").put("/candidates").get_data(as_text=True)
    assert "PUT is not allowed at this address; it takes GET." in html
