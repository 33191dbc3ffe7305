"""Editing an attachment while the ATS cannot be read (it fails: down, or refusing the hub's
credentials; or none is enabled: disabled or revoked): the edit form shows the posting and stage the attachment has, by the names the hub
stored, and says that they cannot be changed now; the assessment and the options can still be
changed and saved, and a save never changes the posting or the stage then. The page used to show
only the ATS's error (or "Connect your integrations first"), with no form at all, though the save
itself (and the API's PUT) already kept the posting and stage as stored."""

from __future__ import annotations

import re
from html import unescape

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment
from tests.web.support import vendor_error


def _row(app, attachment_id: int) -> Attachment:
    with app.app_context():
        row = db.session.scalar(sa.select(Attachment).where(Attachment.id == attachment_id))
        db.session.expunge(row)
        return row


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _choices(html: str, select_id: str) -> list[tuple[str, str, bool]]:
    """The options of the page's select ``select_id``: (value, label, selected)."""
    select = re.search(rf'<select id="{select_id}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select #{select_id}: {_text(html)[:2000]}"
    return [(value, unescape(label), bool(selected))
            for value, selected, label in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>',
                                                      select.group(1))]


def _make_unreadable(hub_app, seeded, fakes, how: str) -> None:
    """The ATS (Fake ATS) failing as it is asked (down, or refusing its credentials: it needs
    reconnecting), or not enabled (disabled or revoked)."""
    from hub import services
    from hub.runtime import get_runtime

    source, _ = fakes
    if how == "failing":
        source.fail = vendor_error("Fake ATS is down for maintenance")
        return
    if how == "needs_reconnecting":
        source.fail = vendor_error("Fake ATS rejected the API key")
        with hub_app.app_context():
            get_runtime().integration(seeded.workspace_id, "fakesource").status = "needs_reauthorization"
            db.session.commit()
        return
    with hub_app.app_context():
        if how == "disabled":
            services.set_enabled(get_runtime(), seeded.workspace_id, "fakesource", False, "test")
        else:
            services.revoke(get_runtime(), seeded.workspace_id, "fakesource", "test")


KEPT = ("so the posting and the stage cannot be changed: they stay as saved. The assessment and the options can "
        "still be changed and saved")
NOTICES = {  # as an Admin reads them (a Super Admin enables and connects integrations)
    "failing": f"Fake ATS could not be read now, {KEPT}; to change the posting or the stage, try again once Fake ATS "
               "answers.",
    "needs_reconnecting": f"Fake ATS needs reconnecting, {KEPT}. A Super Admin can connect Fake ATS again in "
                          "Integrations; then the posting and the stage can be changed.",
    "disabled": f"Fake ATS, your ATS, is disabled, {KEPT}. A Super Admin can enable Fake ATS in Integrations; then "
                "the posting and the stage can be changed.",
    "revoked": f"Fake ATS, your ATS, has its access revoked, {KEPT}. A Super Admin can connect Fake ATS again in "
               "Integrations; then the posting and the stage can be changed.",
}


@pytest.mark.parametrize("how", ["failing", "needs_reconnecting", "disabled", "revoked"])
def test_the_edit_form_keeps_the_stored_posting_and_stage_and_saves_the_rest(hub_app, seeded, as_role, fakes, how):
    from hub.entities import Assessment

    fakes[1].assessments.append(Assessment("sql", "SQL Basics", 20, 10.0))  # not attached to the stage yet
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]  # Python Developer (fakeassess:py) on p1's Stage 4
    _make_unreadable(hub_app, seeded, fakes, how)
    answer = client.get(f"/pipeline/{attachment_id}/edit")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert 'id="attach-form"' in page, _text(page)[-1500:]
    assert "Stage, assessment and options for “Python Developer”" in page  # the posting, by its stored name
    assert 'id="posting"' not in page  # no other posting to choose: the source cannot list them
    assert '<input type="hidden" name="posting_id" value="p1">' in page
    assert _choices(page, "stage") == [("", "Choose a stage…", False), ("s4", "Stage 4", True)]
    notice = re.search(r'<p class="alert alert--warning" id="ats-unreadable">(.*?)</p>', page, re.S)
    assert notice and _text(notice.group(1)) == NOTICES[how], notice and notice.group(1)
    assert 'aria-describedby="stage-help ats-unreadable"' in page
    assert "Connect your integrations first" not in page
    # the fields that do not need the ATS: every assessment the provider lists, and the options
    assert [(v, s) for v, _, s in _choices(page, "assessment")] == [
        ("", False), ("fakeassess:py", True), ("fakeassess:sup", False), ("fakeassess:sql", False)]
    saved = client.post(f"/pipeline/{attachment_id}/edit", data={
        "posting_id": "p1", "stage_id": "s4", "assessment": "fakeassess:sql", "pass_threshold": "70",
        "tag_results": "yes"})
    assert saved.status_code == 302, _text(saved.get_data(as_text=True))[:2000]
    row = _row(hub_app, attachment_id)
    assert (row.posting_id, row.posting_name, row.stage_id, row.stage_name) == ("p1", "Python Developer", "s4",
                                                                                "Stage 4")
    assert (row.assessment_id, row.assessment_name) == ("sql", "SQL Basics")
    assert row.options == {"pass_threshold": 70.0, "tag_results": True}
    # who may not manage the pipeline is refused as before: nothing of the attachment is shown
    for role in ("team_member", "limited_team_member"):
        refused = as_role(role).get(f"/pipeline/{attachment_id}/edit")
        assert refused.status_code == 403 and "Stage 4" not in refused.get_data(as_text=True), role


@pytest.mark.parametrize("how", ["failing", "disabled"])
@pytest.mark.parametrize("place", [{"posting_id": "p2", "stage_id": "s4"}, {"posting_id": "p1", "stage_id": "s5"}])
def test_a_save_changing_the_posting_or_stage_is_refused_and_the_form_shows_them_as_saved(
        hub_app, seeded, as_role, fakes, how, place):
    """A form read while the ATS answered, sent after it stopped (or a hand-made request)."""
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]
    _make_unreadable(hub_app, seeded, fakes, how)
    refused = client.post(f"/pipeline/{attachment_id}/edit", data={
        **place, "assessment": "fakeassess:py", "pass_threshold": "70"})
    html = refused.get_data(as_text=True)
    assert refused.status_code == 422
    assert "The changes were not saved" in html
    reason = {"failing": "Fake ATS is down for maintenance", "disabled": "No source (ATS) integration is enabled"}[how]
    assert reason in _text(re.search(r'<p id="attach-error">(.*?)</p>', html, re.S).group(1))
    assert 'id="attach-form"' in html and 'id="ats-unreadable"' in html
    assert '<input type="hidden" name="posting_id" value="p1">' in html
    assert _choices(html, "stage") == [("", "Choose a stage…", False), ("s4", "Stage 4", True)]
    assert 'value="70"' in html  # what can be saved is still there to send again
    row = _row(hub_app, attachment_id)
    assert (row.posting_id, row.stage_id, row.options) == ("p1", "s4", {})


def test_the_stage_to_move_to_and_the_archive_reason_can_be_kept_or_removed(hub_app, seeded, as_role, fakes):
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]
    with hub_app.app_context():
        db.session.get(Attachment, attachment_id).options = {"move_to_stage_on_thumbs_up": "s9",
                                                             "archive_reason_on_thumbs_down": "reason-1"}
        db.session.commit()
    _make_unreadable(hub_app, seeded, fakes, "failing")
    page = client.get(f"/pipeline/{attachment_id}/edit").get_data(as_text=True)
    assert _choices(page, "move_to_stage_on_thumbs_up") == [
        ("", "Do not move", False), ("s9", "s9 (current; the stage's name cannot be read now)", True)]
    assert _choices(page, "archive_reason_on_thumbs_down") == [
        ("", "Do not archive", False), ("reason-1", "reason-1 (current; the reason's name cannot be read now)", True)]
    assert "The stages cannot be read now: keep the current one, or choose Do not move." in page
    assert "The archive reasons cannot be read now: keep the current one, or choose Do not archive." in page
    assert "your ATS does not list them" not in page  # it does, but cannot be read now
    form = {"posting_id": "p1", "stage_id": "s4", "assessment": "fakeassess:py"}
    kept = client.post(f"/pipeline/{attachment_id}/edit", data={
        **form, "pass_threshold": "50", "move_to_stage_on_thumbs_up": "s9", "archive_reason_on_thumbs_down": "reason-1"})
    assert kept.status_code == 302, _text(kept.get_data(as_text=True))[:2000]
    assert _row(hub_app, attachment_id).options == {
        "pass_threshold": 50.0, "move_to_stage_on_thumbs_up": "s9", "archive_reason_on_thumbs_down": "reason-1"}
    # a new stage to move to cannot be checked: refused, and the form shows the current one again
    refused = client.post(f"/pipeline/{attachment_id}/edit", data={**form, "move_to_stage_on_thumbs_up": "s5"})
    assert refused.status_code == 422
    assert ("s9", "s9 (current; the stage's name cannot be read now)", True) in _choices(
        refused.get_data(as_text=True), "move_to_stage_on_thumbs_up")
    removed = client.post(f"/pipeline/{attachment_id}/edit", data={**form, "pass_threshold": "50"})
    assert removed.status_code == 302, _text(removed.get_data(as_text=True))[:2000]
    assert _row(hub_app, attachment_id).options == {"pass_threshold": 50.0}
    page = client.get(f"/pipeline/{attachment_id}/edit").get_data(as_text=True)
    assert _choices(page, "move_to_stage_on_thumbs_up") == [("", "Do not move", False)]  # the only choice
    assert "The stages cannot be read now, so no stage to move to can be chosen." in page
