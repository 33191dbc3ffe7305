"""Wording found walking the admin UI: one name for one thing across pages (a delivery that failed
for good is "dead" everywhere, as the status filter and the API call it), the same empty state on
every filtered list, and headings and messages that say what happened."""

from __future__ import annotations

import re
from html import unescape

from hub import services
from hub.extensions import db
from hub.store.models import Invitation, User
from tests.web.test_attach_summary_links import summary
from tests.web.test_attach_form import field_error
from tests.web.test_empty_states import empty_state


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_a_delivery_that_failed_for_good_is_called_dead_on_the_dashboard_and_activity(seeded, as_role):
    client = as_role("admin")
    dashboard = client.get("/").get_data(as_text=True)
    card = re.search(r'id="attention-deliveries">(.*?)</article>', dashboard, re.S).group(1)
    assert "<h3>Dead deliveries</h3>" in card and re.search(r">\d+ dead</span>", card)
    assert "Failed deliveries" not in dashboard
    activity = client.get("/activity").get_data(as_text=True)
    assert "a finished one (dead, cancelled or done) can be replayed" in activity
    assert '<option value="dead">Dead</option>' in activity


def test_the_candidates_list_says_no_email_as_the_detail_page_does(hub_app, seeded, as_role):
    with hub_app.app_context():
        row = db.session.get(Invitation, seeded.ids["invitation"])
        row.candidate_email = None
        db.session.commit()
    client = as_role("admin")
    listed = client.get("/candidates").get_data(as_text=True)
    cell = re.search(rf'<tr id="invitation-{seeded.ids["invitation"]}".*?<div class="small muted">([^<]*)</div>',
                     listed, re.S).group(1)
    assert cell == "no email"
    detail = client.get(f"/candidates/{seeded.ids['invitation']}").get_data(as_text=True)
    assert '<p class="muted">no email · ' in detail


def _summary_title(html: str) -> str:
    return re.search(r'<h2 id="error-summary-title" class="error-summary__title">(.*?)</h2>', html, re.S).group(1)


def test_the_attach_form_says_nothing_was_attached_only_after_an_attempt(seeded, as_role):
    client = as_role("admin")
    opened = client.get("/pipeline/new?posting_id=junk").get_data(as_text=True)
    assert _summary_title(opened) == "Check the form"
    assert "This posting does not exist (any more) at the source." in summary(opened)
    posted = client.post("/pipeline/new", data={"posting_id": "junk", "stage_id": "s8", "assessment": "fakeassess:py"})
    assert posted.status_code == 422 and _summary_title(posted.get_data(as_text=True)) == "The assessment was not attached"
    edit = seeded.per_role["admin"]["att_keep"]
    opened = client.get(f"/pipeline/{edit}/edit?posting_id=junk").get_data(as_text=True)
    assert _summary_title(opened) == "Check the form"
    posted = client.post(f"/pipeline/{edit}/edit", data={"posting_id": "p1", "stage_id": "", "assessment": ""})
    assert posted.status_code == 422 and _summary_title(posted.get_data(as_text=True)) == "The changes were not saved"


def test_an_unknown_provider_reads_the_same_in_the_summary_and_under_the_field(seeded, as_role):
    html = as_role("admin").post("/pipeline/new", data={
        "posting_id": "p1", "stage_id": "s8", "assessment": "nope:py"}).get_data(as_text=True)
    under_field = field_error(html, "assessment-error")
    assert under_field == "“nope” is not an enabled assessment provider."
    assert re.search(rf'<li><a href="#assessment">{re.escape(under_field)}</a></li>', summary(html))


def test_an_edit_says_which_attachment_was_updated(seeded, as_role):
    client = as_role("admin")
    edit = seeded.per_role["admin"]["att_keep"]
    failed = client.post(f"/pipeline/{edit}/edit", data={"posting_id": "p1", "stage_id": "canditech",
                                                        "assessment": "fakeassess:py", "pass_threshold": "150"})
    assert failed.status_code == 422
    saved = client.post(f"/pipeline/{edit}/edit", data={"posting_id": "p1", "stage_id": "canditech",
                                                       "assessment": "fakeassess:py", "pass_threshold": "60"},
                        follow_redirects=True).get_data(as_text=True)
    assert "Python Developer on “Canditech Stage” of Python Developer updated." in saved
    assert "updated to" not in saved


def test_every_filtered_list_that_matches_nothing_says_it_the_same_way(seeded, as_role):
    client = as_role("admin")
    for path, id, things in (("/candidates?status=completed&q=nobody", "no-candidates", "candidates"),
                             ("/activity?plugin=fakesource&status=running", "no-activity", "events"),
                             ("/audit?action=nothing.", "no-audit", "entries")):
        html = client.get(path).get_data(as_text=True)
        _, state = empty_state(html, id)
        assert f"<h2>No {things} match these filters</h2>" in state, path
        assert re.search(r'<a class="btn btn--primary" href="[^"]+"[^>]*>Clear filters</a>', state), path
        assert "or clear the filters." in state, path


def test_the_audit_log_says_yes_or_no_for_a_yes_no_detail(hub_app, seeded, as_role):
    with hub_app.app_context():
        admin = db.session.get(User, seeded.users["super_admin"])
        services.audit(seeded.workspace_id, admin, "integration.test", "plugin:fakesource", ok=True)
        services.audit(seeded.workspace_id, admin, "integration.test", "plugin:fakeassess", ok=False)
        db.session.commit()
    page = as_role("admin").get("/audit?action=integration.test").get_data(as_text=True)
    assert '<span class="muted">Result:</span> Succeeded<' in page and '<span class="muted">Result:</span> Failed<' in page
    assert "true" not in _text(page.split('id="audit-table"', 1)[1]).lower().split()
    assert "<code>integration.test</code>" in page  # the action stays in its documented form


def test_a_failed_invitation_never_says_not_yet(seeded, as_role):
    client = as_role("admin")
    failed = client.get(f"/candidates/{seeded.per_role['admin']['inv_reinvite_ui']}").get_data(as_text=True)
    details = re.search(r'<dl class="kv" id="invitation-details">(.*?)</dl>', failed, re.S).group(1)
    for label in ("Score", "Verdict", "Invited", "Started", "Completed"):
        assert re.search(rf'<dt>{label}</dt><dd[^>]*><span class="muted">—</span></dd>', details), label
    assert "not yet" not in details
    invited = client.get(f"/candidates/{seeded.per_role['admin']['inv_cancel_ui']}").get_data(as_text=True)
    assert re.search(r'<dt>Completed</dt><dd><span class="muted">not yet</span></dd>', invited)


def test_the_reminder_option_does_not_promise_a_second_invitation_is_avoided_by_it(as_role):
    """It said "Remind instead of inviting again": re-entering never invites again, and Canditech
    cannot remind at all."""
    page = as_role("super_admin").get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert "Remind instead of inviting again" not in page
    assert "Remind an invited candidate who re-enters the stage (where the provider can)" in page
