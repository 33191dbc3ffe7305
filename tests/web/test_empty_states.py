"""Empty lists say the true reason they are empty and the next step for the viewer's role: never
"attach an assessment" when assessments are attached, never a step the role cannot take."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, Invitation, utcnow
from tests.web.support import FakeAssess, FakeSource, make_user, sign_in

ROLES = ("super_admin", "admin", "team_member", "limited_team_member")


def empty_state(html: str, id: str) -> tuple[str | None, str]:
    """The empty state ``id``: its ``data-reason`` and its text (tags removed)."""
    match = re.search(rf'<div class="empty-state" id="{id}"( data-reason="([^"]*)")?>(.*?)</div>', html, re.S)
    assert match, f"no empty state {id}"
    return match.group(2), match.group(3)


@pytest.fixture
def fresh(make_app):
    """A workspace with a user of every role and nothing set up."""
    source = FakeSource()
    app = make_app(plugins=[("fakesource", source), ("fakeassess", FakeAssess())], entry_points=False)
    from hub import services

    with app.app_context():
        ws = services.default_workspace().id
        for role in ROLES:
            make_user(ws, f"{role}@acme.test", role)
        db.session.commit()

    def client(role: str):
        c = app.test_client()
        assert sign_in(c, f"{role}@acme.test").status_code == 302
        return c

    app.client_for = client
    app.source = source
    return app


def connect(app, provider_credentials: bool = True, webhook_seen: bool = True) -> None:
    from hub import services
    from hub.runtime import get_runtime

    with app.app_context():
        runtime = get_runtime()
        for plugin in ("fakesource", "fakeassess"):
            services.set_enabled(runtime, 1, plugin, True, "test")
        services.save_settings(runtime, 1, "fakesource", {"account": "acme", "api_key": "k"}, "test")
        if provider_credentials:
            services.save_settings(runtime, 1, "fakeassess", {"api_key": "k"}, "test")
        if webhook_seen:
            runtime.integration(1, "fakesource").last_webhook_at = utcnow()
        db.session.commit()


def attach(app, *stages: tuple[str, str]) -> None:
    with app.app_context():
        for posting, stage in stages:
            db.session.add(Attachment(workspace_id=1, posting_id=posting, posting_name=posting, stage_id=stage,
                                      stage_name=stage, provider="fakeassess", assessment_id="py",
                                      assessment_name="Python Developer", options={}))
        db.session.commit()


def test_with_assessments_attached_and_no_candidate_yet_no_page_says_attach_one(fresh):
    connect(fresh)
    attach(fresh, ("p1", "s1"), ("p1", "s2"), ("p2", "s1"))  # three stages (p1 and p2 each have an "s1")
    for role in ("super_admin", "admin", "team_member"):
        client = fresh.client_for(role)
        for path, id in (("/candidates", "no-candidates"), ("/", "no-invitations")):
            html = client.get(path).get_data(as_text=True)
            reason, text = empty_state(html, id)
            assert "Attach" not in text and "/pipeline/new" not in text, (role, path)
            assert "3 assessments are attached to 3 stages" in text, (role, path, text)
            assert "when a recruiter moves one into one of those stages in Fake ATS" in text
            assert reason == "waiting-for-candidates", (role, path)
            if role == "team_member":
                assert 'href="/pipeline"' not in text  # a Team Member cannot open the pipeline
    reason, text = empty_state(fresh.client_for("admin").get("/activity").get_data(as_text=True), "no-activity")
    assert "Attach" not in text and "Check the webhook settings" not in text
    assert reason == "waiting-for-events" and "one of the 3 stages with an assessment attached" in text
    # a Limited Team Member hears only of the stages of their postings (p1)
    reason, text = empty_state(fresh.client_for("limited_team_member").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert reason == "waiting-for-candidates" and "2 assessments are attached to 2 stages of your postings" in text


def test_with_nothing_attached_only_those_who_can_attach_are_told_to(fresh):
    connect(fresh)
    for role in ("super_admin", "admin"):
        html = fresh.client_for(role).get("/candidates").get_data(as_text=True)
        reason, text = empty_state(html, "no-candidates")
        assert 'href="/pipeline/new"' in text and 'id="empty-attach"' in text and reason == "nothing-attached"
        reason, text = empty_state(fresh.client_for(role).get("/").get_data(as_text=True), "no-invitations")
        assert reason == "nothing-attached" and 'id="dashboard-attach"' in text
    for role in ("team_member", "limited_team_member"):
        for path, id in (("/candidates", "no-candidates"), ("/", "no-invitations")):
            reason, text = empty_state(fresh.client_for(role).get(path).get_data(as_text=True), id)
            assert "once an Admin or a Super Admin attaches an assessment" in text and "<a " not in text, (role, path)
            assert reason == "nothing-attached", (role, path)
    reason, text = empty_state(fresh.client_for("admin").get("/activity").get_data(as_text=True), "no-activity")
    assert reason == "nothing-attached" and 'href="/pipeline/new"' in text


def test_without_an_ats_each_role_is_told_who_connects_it(fresh):
    owner = empty_state(fresh.client_for("super_admin").get("/candidates").get_data(as_text=True), "no-candidates")
    admin = empty_state(fresh.client_for("admin").get("/candidates").get_data(as_text=True), "no-candidates")
    member = empty_state(fresh.client_for("team_member").get("/candidates").get_data(as_text=True), "no-candidates")
    assert "Enable and connect it (and an assessment provider) in Integrations." in owner[1]
    assert "A Super Admin can enable and connect it" in admin[1] and 'href="/integrations"' in admin[1]
    assert "Ask a Super Admin to enable and connect it" in member[1] and "<a " not in member[1]
    assert owner[0] == admin[0] == member[0] == "no-source"
    reason, text = empty_state(fresh.client_for("admin").get("/activity").get_data(as_text=True), "no-activity")
    assert reason == "no-source" and "A Super Admin can enable and connect it in Integrations." in text


def test_the_source_never_heard_from_is_named_on_activity(fresh):
    connect(fresh, webhook_seen=False)
    attach(fresh, ("p1", "s1"))
    reason, text = empty_state(fresh.client_for("super_admin").get("/activity").get_data(as_text=True),
                               "no-activity")
    assert "Fake ATS has not sent a webhook yet" in text and reason == "no-webhook-yet"
    assert "Register its webhooks" in text and 'href="/integrations/fakesource"' in text
    reason, text = empty_state(fresh.client_for("admin").get("/activity").get_data(as_text=True), "no-activity")
    assert "A Super Admin sets up its webhooks" in text and "Register its webhooks" not in text
    # the candidates list says so too, to those who can look at the integration
    reason, text = empty_state(fresh.client_for("super_admin").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert reason == "waiting-for-candidates" and "Fake ATS has not sent the hub a webhook yet" in text
    reason, text = empty_state(fresh.client_for("team_member").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert "webhook" not in text


def test_attached_assessments_of_a_disabled_provider_say_so(fresh):
    connect(fresh)
    attach(fresh, ("p1", "s1"))
    from hub import services
    from hub.runtime import get_runtime

    with fresh.app_context():
        services.set_enabled(get_runtime(), 1, "fakeassess", False, "test")
    reason, text = empty_state(fresh.client_for("super_admin").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert "Fake Tests is disabled" in text and "Enable it in Integrations." in text and reason == "providers-idle"
    reason, text = empty_state(fresh.client_for("team_member").get("/").get_data(as_text=True), "no-invitations")
    assert reason == "providers-idle" and "Ask a Super Admin to enable it." in text


def test_a_limited_team_member_on_no_posting_is_told_why_the_list_is_empty(fresh):
    connect(fresh)
    attach(fresh, ("p1", "s1"))
    fresh.source.postings = [p for p in fresh.source.postings if p.id != "p1"]  # they followed p1 only
    client = fresh.client_for("limited_team_member")
    for path, id in (("/candidates", "no-candidates"), ("/", "no-invitations")):
        reason, text = empty_state(client.get(path).get_data(as_text=True), id)
        assert "you see only the candidates of the postings you are on in Fake ATS" in text, path
        assert "you are on none yet" in text and "Ask an admin to add you to a posting in Fake ATS" in text
        assert reason == "on-no-posting", path
    # with invitations on other postings, the dashboard does not say "this week" of invisible ones either
    with fresh.app_context():
        row = db.session.scalar(sa.select(Attachment))
        db.session.add(Invitation(workspace_id=1, attachment_id=row.id, opportunity_id="o1", posting_id="p1",
                                  provider="fakeassess", assessment_id="py", assessment_name="Python Developer",
                                  status="invited"))
        db.session.commit()
    reason, _ = empty_state(client.get("/").get_data(as_text=True), "no-invitations")
    assert reason == "on-no-posting"


def test_the_audit_log_filter_that_matches_nothing_offers_to_clear_it(fresh):
    html = fresh.client_for("admin").get("/audit?action=nothing.").get_data(as_text=True)
    reason, text = empty_state(html, "no-audit")
    assert "nothing." in text and 'href="/audit"' in text and reason == "no-match"


def test_without_plugins_the_dashboard_says_who_installs_them(make_app):
    app = make_app(plugins=[], entry_points=False)
    from hub import services

    with app.app_context():
        make_user(services.default_workspace().id, "owner@acme.test", "super_admin")
        db.session.commit()
    client = app.test_client()
    sign_in(client, "owner@acme.test")
    _, text = empty_state(client.get("/").get_data(as_text=True), "no-plugins")
    assert "Whoever runs the hub&#39;s server installs" in text


def test_attached_assessments_of_an_uninstalled_provider_send_to_the_server_not_to_a_404(fresh):
    connect(fresh)
    with fresh.app_context():
        db.session.add(Attachment(workspace_id=1, posting_id="p1", posting_name="p1", stage_id="s1", stage_name="s1",
                                  provider="uninstalled", assessment_id="a", assessment_name="A", options={}))
        db.session.commit()
    reason, text = empty_state(fresh.client_for("super_admin").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert "uninstalled is not installed" in text and "must install it again" in text
    assert 'href="/integrations"' in text and "/integrations/uninstalled" not in text and reason == "providers-idle"


def test_an_ats_only_disabled_is_named_and_the_step_is_to_enable_it(fresh):
    """With the ATS disabled (its connection kept), the empty states said "No ATS is connected" and
    "enable and connect it" while its card said "Connection: Connected" (a walk-through)."""
    from hub import services
    from hub.runtime import get_runtime

    connect(fresh)
    with fresh.app_context():
        runtime = get_runtime()
        runtime.integration(1, "fakesource").status = "connected"
        db.session.commit()
        services.set_enabled(runtime, 1, "fakesource", False, "test")
    reason, text = empty_state(fresh.client_for("super_admin").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert reason == "no-source" and "No ATS is enabled" in text and "Fake ATS is disabled" in text
    assert "Enable it in Integrations." in text and 'href="/integrations/fakesource"' in text
    reason, text = empty_state(fresh.client_for("admin").get("/activity").get_data(as_text=True), "no-activity")
    assert reason == "no-source" and "No ATS is enabled" in text and "Fake ATS, your ATS, is disabled" in text
    assert "A Super Admin can enable it in Integrations." in text
    reason, text = empty_state(fresh.client_for("team_member").get("/candidates").get_data(as_text=True),
                               "no-candidates")
    assert "Ask a Super Admin to enable it." in text and "<a " not in text


def test_after_a_switch_of_ats_the_disabled_one_is_named_as_the_dashboard_names_it(make_app):
    """Old ATS revoked, new one disabled: the Dashboard named the disabled one while Pipeline and
    the empty states named none (a review): both name it now."""
    from hub import services
    from hub.runtime import get_runtime

    app = make_app(plugins=[("oldats", FakeSource()), ("newats", FakeSource()), ("fakeassess", FakeAssess())],
                   entry_points=False)
    with app.app_context():
        runtime = get_runtime()
        make_user(1, "owner@acme.test", "super_admin")
        services.set_enabled(runtime, 1, "oldats", True, "test")
        services.set_enabled(runtime, 1, "oldats", False, "test")
        runtime.integration(1, "oldats").status = "revoked"
        services.set_enabled(runtime, 1, "newats", True, "test")
        runtime.integration(1, "newats").status = "connected"
        db.session.commit()
        services.set_enabled(runtime, 1, "newats", False, "test")
    attach(app, ("p1", "s1"))  # the Dashboard names the ATS when attachments invite nobody
    client = app.test_client()
    assert sign_in(client, "owner@acme.test").status_code == 302
    reason, text = empty_state(client.get("/candidates").get_data(as_text=True), "no-candidates")
    assert reason == "no-source" and "No ATS is enabled" in text and 'href="/integrations/newats"' in text
    dashboard = client.get("/").get_data(as_text=True)
    assert 'href="/integrations/newats"' in re.search(r'id="attention-no-source"(.*?)</div>', dashboard, re.S).group(1)
