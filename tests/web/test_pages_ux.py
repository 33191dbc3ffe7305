"""Page UX: providers that invite nobody, live candidates pages, the invite link, names instead of
ids, busy forms, empty states on a fresh instance, timeline attribution, replay wording, focus
and form-level error sentences."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import sqlalchemy as sa

from hub.engine.invitations import add_timeline
from hub.extensions import db
from hub.store.models import Attachment, Invitation

STATIC = Path(__file__).resolve().parents[2] / "hub" / "web" / "static"


def _row(html: str, attachment_id: int) -> str:
    return re.search(rf'<tr id="attachment-{attachment_id}"(.*?)</tr>', html, re.S).group(1)


def test_a_disabled_provider_is_flagged_on_the_pipeline_and_the_dashboard(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    owner.post("/integrations/fakeassess/disable")
    html = owner.get("/pipeline").get_data(as_text=True)
    row = _row(html, seeded.ids["attachment"])
    assert 'data-provider-idle="true"' in row
    assert "Fake Tests is disabled: candidates entering this stage are not invited." in row
    assert 'href="/integrations/fakeassess"' in row
    assert 'id="idle-providers"' in html
    dash = owner.get("/").get_data(as_text=True)
    idle = re.search(r'id="attention-idle-providers"(.*?)</div>', dash, re.S).group(1)
    assert "Fake Tests is disabled:" in idle and "invite nobody" in idle and 'href="/integrations/fakeassess"' in idle
    assert "Every delivery reached its plugin" not in dash
    # an Admin (no integrations.manage) sees it too, with the link (integrations.view)
    assert 'id="attention-idle-providers"' in as_role("admin").get("/").get_data(as_text=True)
    # a Team Member has no pipeline.view: no warning about attachments
    assert 'id="attention-idle-providers"' not in as_role("team_member").get("/").get_data(as_text=True)


def test_a_disconnected_ats_is_flagged_on_the_dashboard(hub_app, seeded, as_role):
    """With the only source disabled (or revoked) every attachment invites nobody; the dashboard
    said nothing needed attention."""
    owner = as_role("super_admin")
    assert 'id="attention-no-source"' not in owner.get("/").get_data(as_text=True)
    owner.post("/integrations/fakesource/disable")
    alert = re.search(r'id="attention-no-source"(.*?)</div>', owner.get("/").get_data(as_text=True), re.S).group(1)
    with hub_app.app_context():
        from hub.web import queries

        attached = len(queries.attachments(seeded.workspace_id))
    assert "No ATS is enabled" in alert and f"the {attached} attached assessments invite nobody" in alert
    assert 'href="/integrations/fakesource"' in alert
    assert 'id="attention-no-source"' not in as_role("team_member").get("/").get_data(as_text=True)


def test_a_connected_provider_is_not_flagged(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    owner.post("/integrations/fakeassess/settings", data={"api_key": "k"})
    with hub_app.app_context():
        from hub import services
        from hub.runtime import get_runtime
        services.save_settings(get_runtime(), seeded.workspace_id, "fakeassess", {"api_key": "k"}, "test")
        db.session.commit()
    html = owner.get("/pipeline").get_data(as_text=True)
    assert 'id="attachment-' in html  # the attachments are listed, none of them flagged
    assert 'data-provider-idle' not in html and 'id="idle-providers"' not in html
    assert 'id="attention-idle-providers"' not in owner.get("/").get_data(as_text=True)


def test_candidates_list_and_detail_serve_fragments_for_the_live_refresh(hub_app, seeded, as_role):
    client = as_role("team_member")
    page = client.get("/candidates?status=invited").get_data(as_text=True)
    assert 'id="candidates-list" data-poll-url="/candidates?status=invited"' in page
    assert 'data-live-indicator' in page
    fragment = client.get("/candidates?status=invited&fragment=1").get_data(as_text=True)
    assert "<html" not in fragment and 'id="candidates-results"' in fragment and "data-pending=" in fragment
    assert "Grace Hopper" in fragment and "Ada Lovelace" not in fragment  # the filters apply
    # the Limited Team Member's fragment is the same view: only the postings they are on
    limited = as_role("limited_team_member")
    fragment = limited.get("/candidates?fragment=1").get_data(as_text=True)
    assert "Ada Lovelace" in fragment and "Grace Hopper" not in fragment
    assert limited.get(f"/candidates/{seeded.ids['invitation_p2']}?fragment=1").status_code == 404
    detail = client.get(f"/candidates/{seeded.ids['invitation']}").get_data(as_text=True)
    assert f'id="candidate-live" data-poll-url="/candidates/{seeded.ids["invitation"]}"' in detail
    fragment = client.get(f"/candidates/{seeded.ids['invitation']}?fragment=1").get_data(as_text=True)
    assert "<html" not in fragment and 'id="timeline"' in fragment and 'id="candidate-detail"' in fragment


def test_the_detail_shows_the_invite_link_while_the_invitation_is_open(hub_app, seeded, as_role):
    inv = seeded.per_role["admin"]["inv_cancel_ui"]
    with hub_app.app_context():
        db.session.execute(sa.update(Invitation).where(Invitation.id == inv)
                           .values(invite_url="https://tests.example/take/abc"))
        db.session.commit()
    for role in ("team_member", "admin"):
        html = as_role(role).get(f"/candidates/{inv}").get_data(as_text=True)
        assert 'id="invite-link"' in html and 'href="https://tests.example/take/abc"' in html
    for closed in ("expired", "completed"):  # "while open": pending, invited, started
        with hub_app.app_context():
            db.session.execute(sa.update(Invitation).where(Invitation.id == inv).values(status=closed))
            db.session.commit()
        assert 'id="invite-link"' not in as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True)


def test_options_show_stage_and_reason_names_and_numbers_without_a_useless_zero(hub_app, seeded, as_role):
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]
    with hub_app.app_context():
        db.session.execute(sa.update(Attachment).where(Attachment.id == attachment_id).values(options={
            "pass_threshold": 70.0, "move_to_stage_on_thumbs_up": "s2", "archive_reason_on_thumbs_down": "reason-1"}))
        db.session.commit()
    row = _row(client.get("/pipeline").get_data(as_text=True), attachment_id)
    assert "Pass at 70%" in row and "70.0" not in row
    assert "Thumbs up: move to “Stage 2”" in row and "stage-" not in row and "s2" not in row
    assert "Thumbs down: archive, reason “Not a fit”" in row and "reason-1" not in row
    edit = client.get(f"/pipeline/{attachment_id}/edit").get_data(as_text=True)
    assert 'name="pass_threshold" min="0" max="100" step="any" value="70"' in edit


def test_an_archive_reason_id_is_shown_when_the_source_does_not_list_them(make_app):
    from tests.web.support import FakeAssess, FakeSource, seed, sign_in

    class SourceWithoutReasons(FakeSource):
        source_list_archive_reasons = None

    app = make_app(plugins=[("fakesource", SourceWithoutReasons()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with app.app_context():
        db.session.execute(sa.update(Attachment).where(Attachment.id == seeded.ids["attachment"]).values(
            options={"archive_reason_on_thumbs_down": "typed-reason", "pass_threshold": 72.5}))
        db.session.commit()
    client = app.test_client()
    sign_in(client, seeded.email("admin"))
    row = _row(client.get("/pipeline").get_data(as_text=True), seeded.ids["attachment"])
    assert "Thumbs down: archive, reason “typed-reason”" in row and "Pass at 72.5%" in row


def test_forms_that_call_vendors_are_marked_busy_and_no_inline_script(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    pages = {
        "/integrations/fakesource": ('id="test-form" data-busy-label="Testing…"', 'id="webhooks-form" data-busy-label='),
        "/pipeline/new?posting_id=p1": ('data-busy-label="Reading the stages…"', 'data-busy-label="Attaching…"'),
        f"/candidates/{seeded.per_role['super_admin']['inv_cancel_ui']}": ('id="cancel-form" data-busy-label=',),
        "/activity": ('data-busy-label="Replaying…"',),
    }
    for url, markers in pages.items():
        html = owner.get(url).get_data(as_text=True)
        for marker in markers:
            assert marker in html, (url, marker)
        assert re.findall(r"<script(?![^>]*\bsrc=)", html) == [], url  # the CSP allows no inline script
        assert " onclick=" not in html and " onsubmit=" not in html
    script = (STATIC / "hub.js").read_text()
    for needle in ("data-busy-label", "aria-busy", "aria-disabled", "data-focus-on-load", "fragment=1",
                   "candidates-list", "candidate-live"):
        assert needle in script, needle


def test_a_fresh_instance_points_to_integrations_first(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    owner.post("/integrations/fakesource/disable")
    owner.post("/integrations/fakeassess/disable")
    with hub_app.app_context():
        db.session.execute(sa.update(Attachment).values(detached_at=sa.func.now()))
        db.session.commit()
    html = owner.get("/pipeline").get_data(as_text=True)
    empty = re.search(r'id="no-attachments"(.*?)</div>', html, re.S).group(1)
    assert 'href="/integrations"' in empty and "Open Integrations" in empty and "/pipeline/new" not in empty
    attach = owner.get("/pipeline/new").get_data(as_text=True)
    assert 'id="connect-first"' in attach and 'id="connect-first-link"' in attach
    dash = owner.get("/").get_data(as_text=True)
    assert "Every delivery reached its plugin" not in dash


def test_the_dashboard_empty_state_points_to_integrations_without_invitations(make_app):
    from tests.web.support import FakeAssess, FakeSource, make_user, sign_in
    from hub import services

    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    with app.app_context():
        make_user(services.default_workspace().id, "owner@acme.test", "super_admin")
        db.session.commit()
    client = app.test_client()
    sign_in(client, "owner@acme.test")
    dash = client.get("/").get_data(as_text=True)
    assert 'id="dashboard-integrations"' in dash and 'id="dashboard-attach"' not in dash
    assert 'id="nothing-connected"' in dash


def test_the_timeline_says_what_the_hub_did_and_what_a_vendor_reported(hub_app, seeded, as_role):
    inv = seeded.ids["invitation"]
    with hub_app.app_context():
        row = db.session.get(Invitation, inv)
        add_timeline(db.session, row, "invited", "fakeassess", "")
        add_timeline(db.session, row, "completed", "fakeassess", "")
        add_timeline(db.session, row, "reinvite", "admin@acme.test", "")
        db.session.commit()
    html = as_role("admin").get(f"/candidates/{inv}").get_data(as_text=True)
    items = dict(re.findall(r'data-kind="(\w+)">\s*<div class="timeline__head">.*?<span class="small muted">([^<]*)</span>',
                            html, re.S))
    assert items["created"] == "by the hub (for Fake Tests)"
    assert items["invited"] == "by the hub (for Fake Tests)"
    assert items["completed"] == "reported by Fake Tests"
    assert items["reinvite"] == "by admin@acme.test"
    assert "by fakeassess" not in html


def test_activity_says_what_can_be_replayed_and_asks_before_replaying_a_done_delivery(hub_app, seeded, as_role):
    client = as_role("admin")
    delivery_id = seeded.per_role["admin"]["dlv_ui"]
    client.post(f"/activity/deliveries/{delivery_id}/replay")
    html = client.get("/activity").get_data(as_text=True)
    assert "Failed deliveries can be replayed" not in html
    assert "a finished one (dead, cancelled or done) can be replayed" in html
    done = re.search(rf'id="replay-{delivery_id}"[^>]*>', html).group(0)
    assert "data-confirm=" in done
    dead = re.search(rf'id="replay-{seeded.per_role["admin"]["dlv_api"]}"[^>]*>', html).group(0)
    assert "data-confirm=" not in dead


def test_a_rejected_attach_form_has_a_focusable_error_summary_in_full_sentences(hub_app, seeded, as_role):
    client = as_role("admin")
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "", "assessment": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    summary = re.search(r'<div class="alert alert--danger error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert 'tabindex="-1" data-focus-on-load' in summary.group(0)
    assert '<a href="#stage">Choose a stage.</a>' in summary.group(1)
    assert '<a href="#assessment">Choose an assessment.</a>' in summary.group(1)
    dup = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s1", "assessment": "fakeassess:py"})
    assert dup.status_code == 422
    assert "This assessment is already attached to that stage of that posting." in dup.get_data(as_text=True)


def test_the_focus_ring_has_enough_contrast():
    css = (STATIC / "hub.css").read_text()
    assert "#8ea0ff" not in css
    assert re.search(r":focus-visible \{ outline: 3px solid var\(--primary\)", css)


@pytest.mark.parametrize("page", ["/candidates", "/activity"])
@pytest.mark.parametrize("query", ["_method=POST", "endpoint=x", "_external=1&status=", "_anchor=x"])
def test_query_parameters_that_name_url_for_arguments_are_plain_filters(hub_app, seeded, as_role, page, query):
    response = as_role("super_admin").get(f"{page}?{query}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "http://localhost" not in html and "#x" not in html  # links and the poll URL stay relative, anchor-free


def test_a_limited_team_members_refresh_reuses_a_recent_read_and_keeps_its_list_when_the_source_fails(
        hub_app, seeded, as_role, fakes):
    from hub.store.models import Delivery, Event
    from tests.web.support import vendor_error

    source, _ = fakes
    with hub_app.app_context():  # work waiting somewhere in the workspace
        event = Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="stage_change",
                      external_id="pending-1", payload={})
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin="fakeassess",
                                hook="on_stage_change", status="pending"))
        db.session.commit()
    assert 'data-pending="true"' in as_role("team_member").get("/candidates?fragment=1").get_data(as_text=True)

    limited = as_role("limited_team_member")
    assert "Ada Lovelace" in limited.get("/candidates").get_data(as_text=True)  # the page reads the ATS
    calls = source.calls.count("source_list_postings")
    for _ in range(3):
        fragment = limited.get("/candidates?fragment=1")
        assert fragment.status_code == 200 and "Ada Lovelace" in fragment.get_data(as_text=True)
    assert source.calls.count("source_list_postings") == calls  # its refreshes did not
    assert 'data-pending="false"' in fragment.get_data(as_text=True)  # nothing told of others' work

    source.fail = vendor_error("Fake ATS is down")
    hub_app.extensions["hub.polled_visibility"].clear()  # as when the minute has passed
    failed = limited.get("/candidates?fragment=1")
    assert failed.status_code == 503 and "cannot be shown right now" in failed.get_data(as_text=True)
    assert 'id="visibility-notice"' in limited.get("/candidates").get_data(as_text=True)
