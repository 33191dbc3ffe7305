"""Editing an attachment whose assessment provider cannot list its assessments now (disabled,
revoked, or failing), or while no ATS is enabled (a roles walk): the current assessment stays
selectable, and the other fields (the pass threshold...) save, through the page and the API,
with the names the hub already had; a change of what cannot be checked now is refused, saying why.
The edit used to drop the assessment from the page's list, so every save failed with "Choose an
assessment", and an API PUT of one option failed with 422 (or 409 while no ATS was enabled)."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment
from tests.web.support import api_error, vendor_error


def _row(app, attachment_id: int) -> Attachment:
    with app.app_context():
        row = db.session.scalar(sa.select(Attachment).where(Attachment.id == attachment_id))
        db.session.expunge(row)
        return row


def _make_idle(hub_app, seeded, fakes, how: str, plugin: str = "fakeassess") -> None:
    from hub import services
    from hub.runtime import get_runtime

    if how == "failing":
        fakes[1].fail = vendor_error()
        return
    with hub_app.app_context():
        if how == "disabled":
            services.set_enabled(get_runtime(), seeded.workspace_id, plugin, False, "test")
        else:
            services.revoke(get_runtime(), seeded.workspace_id, plugin, "test")


def _assessment_field(html: str) -> str:
    return unescape(re.search(r'<label for="assessment">.*?</div>', html, re.S).group(0))


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


KEPT_LABELS = {
    "disabled": "Python Developer — Fake Tests (current; Fake Tests is disabled, its list cannot be read)",
    "revoked": "Python Developer — Fake Tests (current; Fake Tests has its access revoked, its list cannot be read)",
    "failing": "Python Developer — Fake Tests (current; Fake Tests could not be read now)",
}


@pytest.mark.parametrize("how", ["disabled", "revoked", "failing"])
def test_the_pass_threshold_saves_while_the_provider_cannot_list_its_assessments(hub_app, seeded, as_role, fakes,
                                                                                  how):
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]  # Python Developer (fakeassess:py) on p1's Stage 4
    _make_idle(hub_app, seeded, fakes, how)
    page = client.get(f"/pipeline/{attachment_id}/edit").get_data(as_text=True)
    field = _assessment_field(page)
    assert f'<option value="fakeassess:py" selected>{KEPT_LABELS[how]}</option>' in field, field
    note = re.search(r'<p class="help" id="assessment-kept">(.*?)</p>', field, re.S)
    assert note, field
    assert ("of its assessments, only the current one is offered. The other fields can still be changed and saved"
            in _text(note.group(1))), note.group(1)
    assert 'aria-describedby="assessment-kept"' in field
    assert "Connect your integrations first" not in page  # the options can be changed: nothing to connect first
    saved = client.post(f"/pipeline/{attachment_id}/edit", data={
        "posting_id": "p1", "stage_id": "s4", "assessment": "fakeassess:py", "pass_threshold": "70"})
    assert saved.status_code == 302, _text(saved.get_data(as_text=True))[:2000]
    row = _row(hub_app, attachment_id)
    assert (row.provider, row.assessment_id, row.assessment_name) == ("fakeassess", "py", "Python Developer")
    assert row.options == {"pass_threshold": 70.0}


@pytest.mark.parametrize("how, why", [("disabled", "Fake Tests is disabled"),
                                      ("revoked", "Fake Tests has its access revoked")])
def test_a_change_of_assessment_that_cannot_be_checked_is_refused_saying_why(hub_app, seeded, as_role, fakes, how,
                                                                             why):
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]
    _make_idle(hub_app, seeded, fakes, how)
    refused = client.post(f"/pipeline/{attachment_id}/edit", data={
        "posting_id": "p1", "stage_id": "s4", "assessment": "fakeassess:sup", "pass_threshold": "70"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    error = re.search(r'<p class="field-error" id="assessment-error">(.*?)</p>', html, re.S)
    assert error, _text(html)[:2000]
    assert _text(error.group(1)).startswith(f"{why}: its assessments cannot be read, so the assessment cannot be "
                                            "changed now."), error.group(1)
    assert "Choose an assessment." not in html
    row = _row(hub_app, attachment_id)
    assert (row.assessment_id, row.options) == ("py", {})


@pytest.mark.parametrize("how", ["disabled", "revoked", "failing"])
def test_an_api_put_of_an_option_works_while_the_provider_cannot_list_its_assessments(hub_app, seeded, api, fakes,
                                                                                      how):
    attachment_id = seeded.per_role["admin"]["att_keep"]
    _make_idle(hub_app, seeded, fakes, how)
    answer = api("PUT", f"/attachments/{attachment_id}", role="admin", json={"options": {"pass_threshold": 70}})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["assessment_id"], body["assessment_name"], body["options"]) == (
        "py", "Python Developer", {"pass_threshold": 70.0})
    # sending the same assessment back is no change either
    again = api("PUT", f"/attachments/{attachment_id}", role="admin",
                json={"provider": "fakeassess", "assessment_id": "py", "options": {"pass_threshold": 60}})
    assert again.status_code == 200, again.get_data(as_text=True)


@pytest.mark.parametrize("how", ["disabled", "revoked"])
def test_an_api_put_changing_the_assessment_of_an_idle_provider_is_refused(hub_app, seeded, api, fakes, how):
    attachment_id = seeded.per_role["admin"]["att_keep"]
    _make_idle(hub_app, seeded, fakes, how)
    error = api_error(api("PUT", f"/attachments/{attachment_id}", role="admin", json={"assessment_id": "sup"}), 422)
    assert list(error["fields"]) == ["assessment_id"]
    [message] = error["fields"]["assessment_id"]
    assert "its assessments cannot be read, so the assessment cannot be changed now" in message
    assert _row(hub_app, attachment_id).assessment_id == "py"


@pytest.mark.parametrize("how", ["disabled", "revoked"])
def test_an_api_put_of_an_option_works_while_no_ats_is_enabled(hub_app, seeded, api, fakes, how):
    source, _ = fakes
    attachment_id = seeded.per_role["admin"]["att_keep"]
    _make_idle(hub_app, seeded, fakes, how, plugin="fakesource")
    source.calls.clear()
    answer = api("PUT", f"/attachments/{attachment_id}", role="admin", json={"options": {"pass_threshold": 70}})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    body = answer.get_json()
    assert (body["posting_name"], body["stage_name"], body["options"]) == (
        "Python Developer", "Stage 4", {"pass_threshold": 70.0})
    # a change of stage needs the ATS: refused as before, saying so
    error = api_error(api("PUT", f"/attachments/{attachment_id}", role="admin", json={"stage_id": "s9"}), 409)
    assert error["code"] == "not_available" and "No source (ATS) integration is enabled" in error["message"]
    assert _row(hub_app, attachment_id).stage_id == "s4"


def test_an_api_put_of_an_option_works_while_the_ats_cannot_be_read(hub_app, seeded, api, fakes):
    source, _ = fakes
    attachment_id = seeded.per_role["admin"]["att_keep"]
    source.fail = vendor_error()
    answer = api("PUT", f"/attachments/{attachment_id}", role="admin", json={"options": {"tag_results": True}})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    assert answer.get_json()["options"] == {"tag_results": True}
    # a new stage to move to cannot be checked: the source's failure is said, as before
    error = api_error(api("PUT", f"/attachments/{attachment_id}", role="admin",
                          json={"options": {"move_to_stage_on_thumbs_up": "s9"}}), 502)
    assert "vendor is down" in error["message"]


def test_a_reachable_provider_still_checks_and_renames_the_kept_assessment(hub_app, seeded, api, fakes):
    """Only an assessment that cannot be read is taken as stored: one the provider answers for is
    checked, and its new name saved, as before."""
    from hub.entities import Assessment

    _, assess = fakes
    attachment_id = seeded.per_role["admin"]["att_keep"]
    assess.assessments = [Assessment("py", "Python Developer (2024)", 60, 100.0)]
    answer = api("PUT", f"/attachments/{attachment_id}", role="admin", json={"options": {"pass_threshold": 70}})
    assert answer.status_code == 200 and answer.get_json()["assessment_name"] == "Python Developer (2024)"
    assess.assessments = []
    error = api_error(api("PUT", f"/attachments/{attachment_id}", role="admin", json={"options": {}}), 422)
    assert error["fields"] == {"assessment_id": ["This assessment does not exist (any more) at the provider."]}


def test_an_assessment_the_provider_no_longer_offers_is_shown_and_its_save_says_so(hub_app, seeded, as_role, fakes):
    """Not dropped from the list either (its save then said "Choose an assessment")."""
    _, assess = fakes
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]
    assess.assessments = [a for a in assess.assessments if a.id != "py"]
    field = _assessment_field(client.get(f"/pipeline/{attachment_id}/edit").get_data(as_text=True))
    assert ('<option value="fakeassess:py" selected>Python Developer — Fake Tests (current; Fake Tests no longer '
            'offers it)</option>') in field, field
    assert "Fake Tests no longer offers the current assessment: choose another, or detach this attachment." in field
    refused = client.post(f"/pipeline/{attachment_id}/edit", data={
        "posting_id": "p1", "stage_id": "s4", "assessment": "fakeassess:py", "pass_threshold": "70"})
    assert refused.status_code == 422
    assert ('<p class="field-error" id="assessment-error">This assessment does not exist (any more) at the '
            'provider.</p>') in refused.get_data(as_text=True)
