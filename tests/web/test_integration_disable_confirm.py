"""Disabling an integration asks for confirmation first, on a page that says what disabling does
now for this integration, with this workspace's counts; enabling it again says what was missed
meanwhile; the Revoke confirmation names the open invitations and the credentials by their labels;
a read-only view shows labels, never a secret's internal name, and marks nothing required. (The
Integrations list's "Set up" and "Manage": tests/web/test_integrations.py.)

Each claim a confirmation makes is checked against what the hub then does (webhooks refused, no
delivery for the disabled integration, deliveries cancelled)."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from hub import hookimpl
from hub.entities import StageCandidate, WebhookResult
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Integration, utcnow
from tests.web.support import FakeAssess, FakeSource, api_headers


class WritingSource(FakeSource):
    """The fake ATS, writing results back and listing a stage's candidates (the backfill)."""

    @hookimpl
    def on_assessment_completed(self, ctx, result):
        self.calls.append("on_assessment_completed")

    @hookimpl
    def source_list_stage_candidates(self, ctx, posting_id, stage_id, limit):
        return [StageCandidate("opp-in-stage", "Someone In Stage", "https://ats.example/opp-in-stage")]


class WebhookAssess(FakeAssess):
    """The fake provider, accepting webhooks (its results arrive by webhook)."""

    @hookimpl
    def verify_webhook(self, ctx, request):
        return WebhookResult(ping=True)


@pytest.fixture
def fakes():
    return WritingSource(), WebhookAssess()


def _text(html: str) -> str:
    """The words of ``html``; the seed's numbered candidates ("Candidate 12") as "Candidate N"."""
    return re.sub(r"Candidate \d+", "Candidate N", " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split()))


def _consequences(html: str, which: str) -> str:
    return re.search(rf'<ul id="{which}-consequences">(.*?)</ul>', html, re.S).group(1)


def _consequence_lines(html: str, which: str) -> list[str]:
    """The confirmation's list ``which`` ("disable", "revoke"), each line as text."""
    return [_text(li) for li in re.findall(r"<li>(.*?)</li>", _consequences(html, which), re.S)]


def _flashes(html: str) -> str:
    return re.search(r'id="flashes">(.*?)</div>\s*</div>\s*(?:<nav|<header|<div)', html, re.S).group(1)


def _row(app, plugin: str) -> Integration:
    with app.app_context():
        row = get_runtime().integration(1, plugin)
        db.session.expunge(row)
        return row


def _pending_delivery(app, plugin: str, status: str = "retry") -> int:
    with app.app_context():
        from tests.web.support import _dead_delivery

        delivery = _dead_delivery(1)
        delivery.plugin, delivery.status = plugin, status
        delivery.next_attempt_at = utcnow() + timedelta(hours=1)
        db.session.commit()
        return delivery.id


def _webhook(app, plugin: str):
    return app.test_client().post(f"/webhooks/{plugin}/{_row(app, plugin).webhook_key}", data=b"{}")


def _deliveries_to(app, plugin: str, event_id: int) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(
            Delivery.event_id == event_id, Delivery.plugin == plugin))


# --------------------------------------------------------------------------- the confirmation


def test_disable_leads_to_a_confirmation_that_says_what_stops_for_a_provider(hub_app, seeded, as_role):
    client = as_role("super_admin")
    page = client.get("/integrations/fakeassess").get_data(as_text=True)
    # a plain link (works without JavaScript), no form that disables in one click
    assert re.search(r'<a class="btn btn--secondary" href="/integrations/fakeassess/disable" '
                     r'id="disable-fakeassess">Disable…</a>', page)
    assert 'action="/integrations/fakeassess/disable"' not in page
    delivery = _pending_delivery(hub_app, "fakeassess")

    confirm = client.get("/integrations/fakeassess/disable")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200 and _row(hub_app, "fakeassess").enabled  # the GET changed nothing
    assert "<h1>Disable Fake Tests?</h1>" in html
    lines = _consequence_lines(html, "disable")
    assert lines == [
        "14 attachments on Pipeline stop inviting: candidates who enter their stages meanwhile are not invited, "
        "not even after you enable it again; then “Invite candidates already in stage” on Pipeline invites them.",
        "9 invitations are open (Grace Hopper, Candidate N, Candidate N, Candidate N, Candidate N and 4 more): "
        "the progress and results Fake Tests sends about them while it is disabled are refused, and Fake Tests may "
        "send them again later. They cannot be cancelled from the hub until you enable Fake Tests again.",
        "1 pending delivery to Fake Tests is cancelled. Replay it on Activity after you enable it again.",
        "Nothing is deleted: its settings, credentials and webhook URL are kept, and so are attachments and "
        "invitations. “Enable Fake Tests” turns it back on.",
    ], lines
    assert '<a href="/pipeline">Pipeline</a>' in html
    assert '<a href="/activity?plugin=fakeassess&amp;status=cancelled">Activity</a>' in html
    form = re.search(r'<form method="post" action="/integrations/fakeassess/disable" id="disable-form".*?</form>',
                     html, re.S).group(0)
    assert 'name="csrf_token"' in form and 'id="disable-confirm">Disable Fake Tests</button>' in form
    assert 'href="/integrations/fakeassess" id="disable-cancel">Keep it enabled</a>' in form
    # only a Super Admin: an Admin cannot even see the confirmation
    assert as_role("admin").get("/integrations/fakeassess/disable").status_code == 403

    done = client.post("/integrations/fakeassess/disable", follow_redirects=True).get_data(as_text=True)
    assert "Fake Tests is disabled: no new work goes to it, and its 1 pending delivery was cancelled." in done
    assert not _row(hub_app, "fakeassess").enabled
    # what the page said: the delivery cancelled, the provider's webhooks refused, a stage change
    # reaches nobody and no delivery is made for it later, an open invitation cannot be cancelled
    with hub_app.app_context():
        assert db.session.get(Delivery, delivery).status == "cancelled"
    refused = _webhook(hub_app, "fakeassess")
    assert refused.status_code == 404 and "Fake Tests is disabled in the hub" in refused.get_data(as_text=True)
    with hub_app.app_context():
        from hub.engine.ingest import ingest
        from hub.entities import InboundEvent, StageChange

        moved = ingest(get_runtime(), 1, "fakesource", InboundEvent(
            external_id="moved-while-disabled", event=StageChange(opportunity_id="opp-moved", to_stage_id="s1")),
            wake=False)
    assert moved.outcome == "no_subscribers"
    client.post("/integrations/fakeassess/enable")
    assert _deliveries_to(hub_app, "fakeassess", moved.event_id) == 0
    client.post("/integrations/fakeassess/disable")
    cancel = client.post(f"/candidates/{seeded.ids['invitation_p2']}/cancel", follow_redirects=True)
    assert "Fake Tests is not enabled; enable it first" in cancel.get_data(as_text=True)
    # once disabled, the confirmation has nothing to confirm
    again = client.get("/integrations/fakeassess/disable", follow_redirects=True).get_data(as_text=True)
    assert "Fake Tests is not enabled; there is nothing to disable." in again


def test_attachments_that_invite_nobody_already_are_not_said_to_stop(hub_app, seeded, as_role):
    """With no ATS enabled, a provider's attachments invite nobody already: the confirmation said
    they "stop inviting" (a review)."""
    client = as_role("super_admin")
    client.post("/integrations/fakesource/disable")
    html = client.get("/integrations/fakeassess/disable").get_data(as_text=True)
    lines = _consequence_lines(html, "disable")
    assert lines[0] == ("14 attachments on Pipeline invite nobody now anyway (no ATS is enabled): disabling Fake "
                        "Tests changes nothing there."), lines
    assert not any("stop inviting" in line for line in lines)


def test_the_confirmation_for_the_ats_words_it_for_the_ats(hub_app, seeded, as_role):
    client = as_role("super_admin")
    delivery = _pending_delivery(hub_app, "fakesource")
    html = client.get("/integrations/fakesource/disable").get_data(as_text=True)
    lines = _consequence_lines(html, "disable")
    assert lines == [
        "Webhooks Fake ATS sends while it is disabled (stage changes among them) are refused: the hub answers 404 "
        "and lists them as rejected under Recent webhooks. Fake ATS may send them again later.",
        "14 attachments on Pipeline stop inviting: candidates who enter their stages in Fake ATS meanwhile are not "
        "invited, unless Fake ATS sends their stage change again after you enable it again; “Invite candidates "
        "already in stage” on Pipeline invites the others then.",
        "9 invitations are open (Grace Hopper, Candidate N, Candidate N, Candidate N, Candidate N and 4 more): "
        "what the assessment providers report about them while it is disabled (progress, results, verdicts) is "
        "shown in the hub but not written to Fake ATS, not even after you enable it again.",
        "1 Limited Team Member sees no candidates meanwhile: the hub cannot read from Fake ATS which postings they "
        "are on.",
        "1 pending delivery to Fake ATS is cancelled. Replay it on Activity after you enable it again.",
        "Nothing is deleted: its settings, credentials and webhook URL are kept, and so are attachments and "
        "invitations. “Enable Fake ATS” turns it back on.",
    ], lines

    client.post("/integrations/fakesource/disable")
    with hub_app.app_context():
        assert db.session.get(Delivery, delivery).status == "cancelled"
    assert _webhook(hub_app, "fakesource").status_code == 404
    # a result arriving meanwhile is recorded, and no write-back to the ATS is made for it, not
    # even once the ATS is enabled again
    with hub_app.app_context():
        from hub.engine.ingest import ingest
        from hub.entities import AssessmentResult, InboundEvent

        result = ingest(get_runtime(), 1, "fakeassess", InboundEvent(
            external_id="result-while-ats-disabled",
            event=AssessmentResult(invitation_id=seeded.ids["invitation_p2"], score=70.0, max_score=100.0)),
            wake=False)
    client.post("/integrations/fakesource/enable")
    assert result.event_id is not None and _deliveries_to(hub_app, "fakesource", result.event_id) == 0


# --------------------------------------------------------------------------- enabling again


def test_enabling_a_provider_again_says_who_was_not_invited_and_how_to_invite_them(hub_app, seeded, as_role):
    with hub_app.app_context():
        from hub import services

        services.save_settings(get_runtime(), 1, "fakeassess", {"api_key": "key-1"}, "test")
    client = as_role("super_admin")
    _pending_delivery(hub_app, "fakeassess")
    client.post("/integrations/fakeassess/disable")
    assert _webhook(hub_app, "fakeassess").status_code == 404  # a result sent meanwhile
    html = client.post("/integrations/fakeassess/enable", follow_redirects=True).get_data(as_text=True)
    flashes = _flashes(html)
    assert _text(flashes).endswith(
        "Fake Tests is enabled. Candidates who entered the stages of its 14 attachments while it was disabled were "
        "not invited: to invite them, use “Invite candidates already in stage” on Pipeline. 1 webhook Fake Tests "
        "sent meanwhile was refused (listed under Recent webhooks below); Fake Tests may send it again. 1 delivery "
        "to Fake Tests cancelled by a disable or revoke was never sent: replay it on Activity."), _text(flashes)
    assert '<a href="/pipeline">Pipeline</a>' in flashes
    assert '<a href="/activity?plugin=fakeassess&amp;status=cancelled">Activity</a>' in flashes


def test_enabling_the_ats_again_says_its_stage_changes_were_refused(hub_app, seeded, as_role):
    client = as_role("super_admin")
    client.post("/integrations/fakesource/disable")
    assert _webhook(hub_app, "fakesource").status_code == 404
    assert _webhook(hub_app, "fakesource").status_code == 404
    flashes = _text(_flashes(client.post("/integrations/fakesource/enable", follow_redirects=True)
                             .get_data(as_text=True)))
    assert "Fake ATS is disabled: no new work goes to it." in flashes  # nothing was waiting: no count
    assert flashes.endswith(
        "Fake ATS is enabled. 2 webhooks Fake ATS sent while it was disabled were refused (listed as rejected under "
        "Recent webhooks below). Candidates who entered the stages of the 14 attachments on Pipeline meanwhile were "
        "not invited, unless Fake ATS sends their stage change again: “Invite candidates already in stage” there "
        "invites them. Recent webhooks below shows whether its webhooks arrive again."), flashes


def _disabled_long_ago(hub_app) -> None:
    """Date the last disable back past the webhook log's retention (its older lines purged)."""
    from hub.store.models import AuditEntry

    with hub_app.app_context():
        entry = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "integration.disable")
                                   .order_by(AuditEntry.id.desc())).first()
        entry.at = entry.at - timedelta(days=hub_app.config["RETENTION_DAYS"] + 10)
        db.session.commit()


def test_a_disable_older_than_the_webhook_log_never_claims_none_arrived(hub_app, seeded, as_role):
    """The count of refused webhooks comes from the webhook log, whose lines older than
    RETENTION_DAYS are purged: after a longer disable it said "No webhook from Fake ATS arrived while
    it was disabled" (a review). It says nothing then, and a count says its window."""
    client = as_role("super_admin")
    client.post("/integrations/fakesource/disable")
    _disabled_long_ago(hub_app)
    flashes = _text(_flashes(client.post("/integrations/fakesource/enable", follow_redirects=True)
                             .get_data(as_text=True)))
    assert "No webhook" not in flashes and "Fake ATS is enabled." in flashes, flashes
    client.post("/integrations/fakesource/disable")
    assert _webhook(hub_app, "fakesource").status_code == 404
    _disabled_long_ago(hub_app)
    flashes = _text(_flashes(client.post("/integrations/fakesource/enable", follow_redirects=True)
                             .get_data(as_text=True)))
    assert (f"1 webhook (of the last {hub_app.config['RETENTION_DAYS']} days: older ones are not kept) Fake ATS "
            "sent while it was disabled was refused") in flashes, flashes


def test_enabling_the_ats_after_a_revoke_does_not_count_on_its_webhooks(hub_app, seeded, as_role):
    """Revoking deleted its webhooks and changed the URL: nothing it sends again reaches the hub,
    and what the old URL refused is in no log."""
    client = as_role("super_admin")
    client.post("/integrations/fakesource/revoke")
    flashes = _text(_flashes(client.post("/integrations/fakesource/enable", follow_redirects=True)
                             .get_data(as_text=True)))
    assert ("Candidates who entered the stages of the 14 attachments on Pipeline meanwhile were not invited: "
            "“Invite candidates already in stage” there invites them.") in flashes, flashes
    assert "unless" not in flashes and "No webhook" not in flashes and "Recent webhooks" not in flashes


def test_a_first_enable_says_nothing_was_missed(hub_app, seeded, as_role):
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakeassess")
        row.enabled, row.enabled_at = False, None  # never enabled
        db.session.commit()
    html = as_role("super_admin").post("/integrations/fakeassess/enable", follow_redirects=True).get_data(as_text=True)
    assert "Fake Tests is enabled" in _text(_flashes(html))  # it was enabled, and that is all it says
    assert "were not invited" not in html and "alert--warning" not in _flashes(html)


# --------------------------------------------------------------------------- revoke


def test_the_revoke_confirmation_names_open_invitations_and_labels_credentials(hub_app, seeded, as_role):
    with hub_app.app_context():  # a secret the plugin stored itself, outside its settings form
        get_runtime().context(1, "fakesource").update_secrets({"webhook_tokens": {"wh-1": "token-1"}})
        db.session.commit()
    client = as_role("super_admin")
    html = client.get("/integrations/fakesource/revoke").get_data(as_text=True)
    consequences = _text(_consequences(html, "revoke"))
    assert "Every stored credential is forgotten: API key, Webhook tokens." in consequences
    assert "api_key" not in consequences and "webhook_tokens" not in consequences
    assert "pending deliver" not in consequences  # none: nothing to say ("0 pending deliveries")
    assert ("9 invitations are open (Grace Hopper, Candidate N, Candidate N, Candidate N, Candidate N and 4 more): "
            "what the assessment providers report about them from now on (progress, results, verdicts) is shown in "
            "the hub but not written to Fake ATS, not even after you connect it again.") in consequences

    provider = _text(_consequences(client.get("/integrations/fakeassess/revoke").get_data(as_text=True), "revoke"))
    assert ("9 invitations are open (Grace Hopper, Candidate N, Candidate N, Candidate N, Candidate N and 4 more): "
            "what Fake Tests sends about them to the old webhook URL is refused from now on. They can still be "
            "cancelled in the hub, but Fake Tests is not told: a candidate who has their link can still open it "
            "and take the test.") in provider
    assert ("14 attachments on Pipeline stop inviting: candidates who enter their stages meanwhile are not invited, "
            "not even after you connect it again") in provider
    # what it said: once revoked, an open invitation is cancelled in the hub only
    client.post("/integrations/fakeassess/revoke")
    cancelled = client.post(f"/candidates/{seeded.ids['invitation_p2']}/cancel", follow_redirects=True)
    assert cancelled.status_code == 200
    with hub_app.app_context():
        from hub.store.models import Invitation

        assert db.session.get(Invitation, seeded.ids["invitation_p2"]).status == "cancelled"


# --------------------------------------------------------------------------- the list and a read-only view


def test_a_read_only_view_shows_labels_and_marks_nothing_required(hub_app, seeded, as_role):
    with hub_app.app_context():
        get_runtime().context(1, "fakesource").update_secrets({"webhook_tokens": {"wh-1": "token-1"}})
        db.session.commit()
    admin = as_role("admin").get("/integrations/fakesource").get_data(as_text=True)
    settings = re.search(r'<section class="card" aria-labelledby="settings-title".*?</section>', admin, re.S).group(0)
    assert 'class="required"' not in settings and not re.search(r"<(input|select)[^>]* required[ >]", settings)
    stored = re.search(r'<li id="stored-secret-webhook_tokens">(.*?)</li>', admin, re.S).group(1)
    assert stored.startswith("Webhook tokens: set on")
    assert "webhook_tokens" not in re.sub(r'id="[^"]*"', "", admin)  # only in an element's id, never shown
    # the Super Admin, who fills the form in, still sees which fields are required
    owner = as_role("super_admin").get("/integrations/fakesource").get_data(as_text=True)
    assert owner.count('class="required"') == 2  # account and api_key
    assert re.search(r'<input type="text" id="setting-account" name="account" value="acme"[^>]* required', owner)


def test_the_api_says_what_the_pages_say_on_disable_and_enable(hub_app, seeded):
    """The API answered "X is disabled." and "X is enabled." with no warnings, while the pages said
    what was cancelled and what was missed (a script author's walk-through)."""
    api = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    disabled = api.post("/api/v1/integrations/fakesource/disable", headers=headers).get_json()
    assert disabled["message"] == "Fake ATS is disabled: no new work goes to it." and disabled["warnings"] == []
    assert _webhook(hub_app, "fakesource").status_code == 404
    enabled = api.post("/api/v1/integrations/fakesource/enable", headers=headers).get_json()
    assert enabled["message"] == "Fake ATS is enabled."
    assert enabled["warnings"] == [
        "1 webhook Fake ATS sent while it was disabled was refused (listed as rejected under GET "
        "/api/v1/integrations/fakesource/webhooks). Candidates who entered the stages of the 14 attachments "
        "meanwhile were not invited, unless Fake ATS sends their stage change again: to invite them, use POST "
        "/api/v1/attachments/<id>/backfill for each attachment. GET /api/v1/integrations/fakesource/webhooks shows "
        "whether its webhooks arrive again."]
    # a first enable has nothing to say
    api.post("/api/v1/integrations/fakeassess/disable", headers=headers)
    with hub_app.app_context():
        get_runtime().integration(1, "fakeassess").enabled_at = None
        db.session.commit()
    assert api.post("/api/v1/integrations/fakeassess/enable", headers=headers).get_json()["warnings"] == []
