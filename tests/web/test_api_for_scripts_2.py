"""More of what a script author met (tests/web/test_api_for_scripts.py): invitations could not be
found by the opportunity id a script holds from the ATS; an Admin refused a change of a Super Admin
was not told why; and enabling an integration again told a script to use a page's button."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub import hookimpl
from hub.entities import StageCandidate
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Invitation, User
from tests.web.support import api_error, FakeAssess, FakeSource


class BackfillSource(FakeSource):
    """The fake ATS, listing a stage's candidates: Pipeline offers the backfill."""

    @hookimpl
    def source_list_stage_candidates(self, ctx, posting_id, stage_id, limit):
        return [StageCandidate("opp-in-stage", "Someone In Stage", "https://ats.example/opp-in-stage")]


@pytest.fixture
def fakes():
    return BackfillSource(), FakeAssess()


# --------------------------------------------------------------------------- invitations by opportunity


def test_invitations_are_found_by_their_opportunity_id_exactly(hub_app, seeded, api):
    ada = api("GET", f"/invitations/{seeded.ids['invitation']}").get_json()
    opportunity = ada["opportunity_id"]
    with hub_app.app_context():  # a second invitation of the same candidate, and one whose id contains theirs
        first = db.session.get(Invitation, seeded.ids["invitation"])
        other = db.session.get(Invitation, seeded.ids["invitation_p2"])
        other.opportunity_id = opportunity + "0"
        db.session.add(Invitation(workspace_id=first.workspace_id, attachment_id=seeded.per_role["admin"]["att_keep"],
                                  opportunity_id=opportunity, posting_id="p1", candidate_name="Ada Lovelace",
                                  provider="fakeassess", assessment_id="py", assessment_name="Python Developer",
                                  status="failed"))
        db.session.commit()
    found = api("GET", f"/invitations?opportunity={opportunity}").get_json()
    assert found["total"] == 2 and {i["opportunity_id"] for i in found["items"]} == {opportunity}
    assert ada["id"] in {i["id"] for i in found["items"]}
    # with the other filters, and no prefix or case-folded match
    assert api("GET", f"/invitations?opportunity={opportunity}&status=completed").get_json()["total"] == 1
    assert api("GET", f"/invitations?opportunity={opportunity[:-1]}").get_json()["total"] == 0
    assert api("GET", f"/invitations?opportunity={opportunity.upper()}").get_json()["total"] == 0
    assert api("GET", "/invitations?opportunity=opp-nobody").get_json()["items"] == []


def test_the_opportunity_parameter_is_validated_like_the_others(api):
    error = api_error(api("GET", "/invitations?opportunity="), 422)
    assert error["message"] == "invalid query parameter: opportunity"
    assert error["fields"] == {"opportunity": ["Length must be between 1 and 200."]}
    error = api_error(api("GET", "/invitations?opportunity=" + "x" * 201), 422)
    assert list(error["fields"]) == ["opportunity"]
    error = api_error(api("GET", "/invitations?opportunity=a&opportunity=b"), 422)
    assert error["message"] == "query parameter given more than once: opportunity"
    assert api_error(api("GET", "/invitations?opportunity=%00"), 400)["code"] == "unstorable_character"


@pytest.mark.parametrize("value", ["", "%20", "%20%09%20"], ids=["empty", "a space", "spaces and a tab"])
def test_an_empty_or_blank_posting_filter_is_refused_like_an_empty_opportunity(api, value):
    """``posting=`` (a script's variable left empty) listed every invitation, as no filter; a
    blank one listed none: both are a 422 naming the parameter, as ``opportunity=`` is."""
    error = api_error(api("GET", f"/invitations?posting={value}"), 422)
    assert error["message"] == "invalid query parameter: posting"
    expected = ["Length must be between 1 and 200."] if value == "" else [
        "Give a posting's id (GET /api/v1/postings lists them), not only spaces."]
    assert error["fields"] == {"posting": expected}


def test_the_posting_filter_still_finds_a_posting_s_invitations(api):
    assert {i["posting_id"] for i in api("GET", "/invitations?posting=p2").get_json()["items"]} == {"p2"}
    assert list(api_error(api("GET", "/invitations?posting=" + "x" * 201), 422)["fields"]) == ["posting"]
    parameter = next(p for p in api("GET", "/openapi.json").get_json()["paths"]["/invitations"]["get"]["parameters"]
                     if p["name"] == "posting")
    assert parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}


def test_the_openapi_document_lists_the_opportunity_parameter(api):
    operation = api("GET", "/openapi.json").get_json()["paths"]["/invitations"]["get"]
    parameter = next(p for p in operation["parameters"] if p["name"] == "opportunity")
    assert parameter["in"] == "query" and parameter["required"] is False
    assert parameter["schema"] == {"type": "string", "minLength": 1, "maxLength": 200, "pattern": "\\S"}
    assert "opportunity id" in parameter["description"]


def test_a_blank_opportunity_filter_is_refused(api):
    """A blank ``opportunity=`` listed no invitation, as if the candidate had none: a 422 instead."""
    error = api_error(api("GET", "/invitations?opportunity=%20%09"), 422)
    assert error["message"] == "invalid query parameter: opportunity"
    assert error["fields"] == {"opportunity": [
        "Give an opportunity's id (a candidate's opportunity_id at the source), not only spaces."]}


# --------------------------------------------------------------------------- an Admin and a Super Admin


SAID = "an Admin cannot change a Super Admin; ask a Super Admin"


def test_an_admin_refused_a_change_of_a_super_admin_is_told_why(hub_app, seeded, api):
    super_admin = seeded.users["super_admin"]
    for body in ({"active": False}, {"role": "team_member"}, {"role": "super_admin"}):
        error = api_error(api("PATCH", f"/users/{super_admin}", role="admin", json=body), 403)
        assert error == {"code": "forbidden", "message": SAID}, body
    error = api_error(api("POST", f"/users/{super_admin}/password-reset", role="admin"), 403)
    assert error["message"] == "an Admin cannot reset a Super Admin's password; ask a Super Admin"
    with hub_app.app_context():
        user = db.session.get(User, super_admin)
        assert (user.role, user.active) == ("super_admin", True)
    # the other refusals keep their words
    own = api_error(api("PATCH", f"/users/{seeded.users['admin']}", role="admin", json={"active": False}), 403)
    assert own["message"] == "you cannot change your own role or deactivate yourself; ask another admin"


def test_the_users_page_says_why_too(hub_app, seeded, as_role):
    client = as_role("admin")
    super_admin = seeded.users["super_admin"]
    for path, data in (("role", {"role": "team_member"}), ("active", {"active": "0"})):
        answer = client.post(f"/users/{super_admin}/{path}", data=data)
        assert answer.status_code == 403, path
        message = re.search(r'<p id="error-message">(.*?)</p>', answer.get_data(as_text=True), re.S).group(1)
        assert message == "An Admin cannot change a Super Admin; ask a Super Admin.", path


# --------------------------------------------------------------------------- enabling again, through the API


def test_enabling_again_through_the_api_names_the_api_s_requests(hub_app, seeded, api, as_role):
    from tests.web.test_integration_disable_confirm import _pending_delivery

    with hub_app.app_context():
        from hub import services

        services.save_settings(get_runtime(), 1, "fakeassess", {"api_key": "key-1"}, "test")
    _pending_delivery(hub_app, "fakeassess")
    assert api("POST", "/integrations/fakeassess/disable").status_code == 200
    enabled = api("POST", "/integrations/fakeassess/enable").get_json()
    assert enabled["warnings"] == [
        "Candidates who entered the stages of its 14 attachments while it was disabled were not invited: to invite "
        "them, use POST /api/v1/attachments/<id>/backfill for each of its attachments. 1 delivery to Fake Tests "
        "cancelled by a disable or revoke was never sent: replay it with POST /api/v1/deliveries/replay "
        '{"status": "cancelled", "plugin": "fakeassess"}.']
    # the ATS's answer too
    api("POST", "/integrations/fakesource/disable")
    warnings = api("POST", "/integrations/fakesource/enable").get_json()["warnings"]
    assert len(warnings) == 1 and "Invite candidates already in stage" not in warnings[0]
    assert ("Candidates who entered the stages of the 14 attachments meanwhile were not invited, unless Fake ATS sends "
            "their stage change again: to invite them, use POST /api/v1/attachments/<id>/backfill for each "
            "attachment.") in warnings[0]
    # the page keeps its words and links
    client = as_role("super_admin")
    client.post("/integrations/fakeassess/disable")
    html = client.post("/integrations/fakeassess/enable", follow_redirects=True).get_data(as_text=True)
    assert "to invite them, use “Invite candidates already in stage” on <a href=\"/pipeline\">Pipeline</a>." in html
    assert "/api/v1" not in html


def test_what_the_warning_names_does_what_it_says(hub_app, seeded, api):
    """The request the warning names replays the cancelled delivery."""
    from tests.web.test_integration_disable_confirm import _pending_delivery

    delivery = _pending_delivery(hub_app, "fakeassess")
    api("POST", "/integrations/fakeassess/disable")
    api("POST", "/integrations/fakeassess/enable")
    replayed = api("POST", "/deliveries/replay", json={"status": "cancelled", "plugin": "fakeassess"}).get_json()
    assert delivery in replayed["replayed"]
    with hub_app.app_context():
        from hub.store.models import Delivery

        assert db.session.scalar(sa.select(Delivery.status).where(Delivery.id == delivery)) != "cancelled"
