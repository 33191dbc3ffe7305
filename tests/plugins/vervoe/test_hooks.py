"""The Vervoe plugin's event and lifecycle hooks in a real hub (database, ingest, inline deliveries)
against the Vervoe sandbox over real HTTP: inviting exactly once, find-before-create after an
unclear failure, failures with reasons, re-invite, archive, reconciliation, connect_sandbox."""

from __future__ import annotations

import time

import pytest

import plugins.vervoe.invite as invite
from hub import services
from hub.errors import TemporaryError
from hub.entities import ArchiveChange, StageChange
from plugins.vervoe import links
from plugins.vervoe.settings import VervoeSettingsSchema

from .conftest import BACKEND_ANSWERS, OTHER_STAGE, SLUG, STAGE, WEBHOOK_SECRET, vervoe_settings


def invited(hub, opportunity_id: str = "opp-1"):
    hub.move(opportunity_id)
    inv = next(i for i in hub.invitations() if i.opportunity_id == opportunity_id)
    assert inv.status == "invited"
    return inv


def posts(hub) -> int:
    return sum(hub.sandbox.invite_posts().values())


# --------------------------------------------------------------------------- registration


def test_registers_an_assessment_integration_and_its_sandbox(hub):
    spec = hub.runtime.registry.spec("vervoe")
    assert (spec.kind, spec.title, spec.secret_fields) == ("assessment", "Vervoe",
                                                           ("api_key", "api_secret", "webhook_secret"))
    assert spec.settings_schema is VervoeSettingsSchema
    # Vervoe's API cannot register webhooks: no button, no setup_webhooks; the page shows the manual step
    assert not spec.supports_webhook_setup and not hub.runtime.registry.implements("vervoe", "setup_webhooks")
    assert "dashboard" in spec.webhook_help and "Webhook secret(s)" in spec.webhook_help
    assert hub.runtime.registry.versions["vervoe"] == "0.1.0"  # loaded from its entry point
    from hub.demo import sandbox_specs

    sandbox = sandbox_specs(hub.runtime.registry)["vervoe"]
    assert (sandbox.module, sandbox.title) == ("plugins.vervoe.sandbox", "Vervoe sandbox")


# --------------------------------------------------------------------------- inviting exactly once


def test_stage_change_invites_once_even_when_ingested_twice(hub):
    first = hub.move(external_id="ats-evt-1")
    again = hub.move(external_id="ats-evt-1")    # the same webhook delivered twice: a duplicate
    other = hub.move(external_id="ats-evt-2")    # the same move reported again under another id
    assert first.outcome == "accepted" and again.duplicate and other.outcome == "accepted"

    inv = hub.invitation()
    remote = hub.sandbox.only()
    assert inv.status == "invited"
    assert inv.provider_invitation_id == remote["candidateAssessmentUuid"]
    assert inv.invite_url == remote["candidateUrl"]
    assert (remote["candidateEmail"], remote["candidateFirstName"], remote["candidateLastName"]) == (
        "ada@example.com", "Ada", "Lovelace")
    assert remote["assessmentSlug"] == SLUG and remote["sendInvitationEmail"] is True
    assert hub.sandbox.invite_posts() == {f"ada@example.com|{SLUG}": 1}
    assert [s.status for s in hub.source.statuses] == ["invited"]
    assert hub.deliveries() == {"done": 3}  # two stage changes; "invited" to the source and to on_invitation_status


def test_running_the_hook_again_sends_nothing(hub):
    inv = invited(hub)
    for _ in range(2):
        hub.call("on_stage_change", change=StageChange(opportunity_id="opp-1", to_stage_id=STAGE))
    assert posts(hub) == 1 and hub.invitation() == inv


def test_an_unclear_post_is_looked_up_before_sending_again(hub):
    hub.call("list_assessments")  # a token first: the fault below hits only the invitation POST
    # Vervoe creates the candidate assessment, then answers 500: the outcome is unclear to the hub
    hub.sandbox.faults(error_rate=1.0, error_codes=[500], fault_after_processing=True)
    hub.move()
    hub.sandbox.faults()
    inv = hub.invitation()
    assert inv.status == "pending" and hub.deliveries() == {"retry": 1}
    assert posts(hub) == 1  # not repeated inside the call
    attempt = hub.ctx().records.get(links.attempt_key(inv))
    assert attempt["mode"] == "invite" and "uuid" not in attempt  # recorded before the call, outcome unknown

    time.sleep(0.06)  # past the retry delay (RETRY_MAX_SECONDS is 0.05 in tests)
    from hub.engine.sweeper import sweep

    sweep(hub.runtime)
    inv = hub.invitation()
    remote = hub.sandbox.only()
    assert inv.status == "invited" and inv.provider_invitation_id == remote["candidateAssessmentUuid"]
    assert inv.invite_url == remote["candidateUrl"]
    assert posts(hub) == 1  # found by email + assessment: no second POST
    routes = hub.sandbox.stats()["by_route"]
    assert routes["POST /api/integration/assessments/<slug>/invite"] == {"500": 1}
    assert routes["GET /api/integration/user-assessments"] == {"200": 1}
    assert hub.deliveries() == {"done": 2}  # the stage change, and "invited" to on_invitation_status


def test_an_unclear_attempt_that_never_reached_vervoe_is_sent_after_the_lookup(hub):
    hub.candidate("opp-1", stage_id=STAGE)
    attachment = hub.ctx().attachments.get(hub.attachment_id)
    inv, _ = hub.ctx().invitations.get_or_create(attachment, hub.source.candidates["opp-1"])
    hub.ctx().records.put(links.attempt_key(inv), {"at": "2026-01-01T00:00:00+00:00", "mode": "invite"})

    hub.call("on_stage_change", change=StageChange(opportunity_id="opp-1", to_stage_id=STAGE))

    assert hub.invitation().status == "invited" and posts(hub) == 1
    assert hub.sandbox.stats()["by_route"]["GET /api/integration/user-assessments"] == {"200": 1}


def test_a_crash_after_vervoe_answered_is_retried_without_a_second_post(hub, monkeypatch):
    from hub.engine.sweeper import sweep

    real = invite._record_sent
    crashes = []

    def crash_once(ctx, invitation_id, uuid, url):
        if not crashes:
            crashes.append(uuid)
            raise RuntimeError("worker died after the vendor call")
        real(ctx, invitation_id, uuid, url)

    monkeypatch.setattr(invite, "_record_sent", crash_once)
    hub.move()
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}
    time.sleep(0.06)
    sweep(hub.runtime)
    inv = hub.invitation()
    assert inv.status == "invited" and inv.provider_invitation_id == crashes[0]
    assert posts(hub) == 1
    assert "GET /api/integration/user-assessments" not in hub.sandbox.stats()["by_route"]  # the answer was recorded


def test_a_try_ending_without_a_link_restarts_the_wait_for_its_retry(hub, monkeypatch):
    """The send's marker kept the time its try started: a try that ran longer than the window
    (``sending_window_seconds``) before it failed was not awaited at all."""
    from datetime import datetime, timedelta, timezone

    from hub.errors import TemporaryError

    an_hour_ago = datetime.now(timezone.utc) - timedelta(hours=1)

    def slow_then_unclear(self, slug, body):
        (pending,) = hub.invitations()  # as if this try had started an hour ago
        hub.ctx().records.put(f"{links.SENDING_PREFIX}{pending.id}", {"at": an_hour_ago.isoformat(), "round": 1})
        raise TemporaryError("Vervoe is unreachable or slow (ReadTimeout)")

    monkeypatch.setattr(invite.VervoeClient, "invite", slow_then_unclear)
    hub.move()
    inv = hub.invitation()
    assert inv.status == "pending"
    marker = hub.ctx().records.get(f"{links.SENDING_PREFIX}{inv.id}")
    assert links.since_of(marker, "at") > an_hour_ago + timedelta(minutes=30)  # stamped as the try ended
    assert [i.id for i in links.sends_in_flight(hub.ctx(), 300)] == [inv.id]


def test_vervoe_answering_already_invited_is_the_same_invitation(hub):
    # the same person applied twice (two opportunities, one email): Vervoe keeps one candidate assessment
    first = invited(hub, "opp-1")
    hub.candidate("opp-2", email="ADA@example.com")
    second = invited(hub, "opp-2")
    assert first.provider_invitation_id == second.provider_invitation_id
    assert first.invite_url == second.invite_url
    assert len(hub.sandbox.user_assessments()) == 1 and posts(hub) == 2
    assert links.invitations_for(hub.ctx(), first.provider_invitation_id) == [first.id, second.id]


# --------------------------------------------------------------------------- not sending


def test_no_or_invalid_email_fails_with_a_reason_and_never_calls_vervoe(hub):
    hub.candidate("opp-1", email=None)
    hub.candidate("opp-2", email="ada at example dot com")
    hub.move("opp-1")
    hub.move("opp-2")
    invitations = hub.invitations()
    assert [i.status for i in invitations] == ["failed", "failed"]
    assert {i.failure_reason for i in invitations} == {"candidate has no valid email address in the ATS"}
    assert [s.status for s in hub.source.statuses] == ["failed", "failed"]
    assert hub.sandbox.stats()["by_route"] == {}  # not a single call to Vervoe


def test_stale_archived_or_other_posting_changes_invite_nobody(hub):
    hub.candidate("opp-1", stage_id=OTHER_STAGE)   # moved on before the hook ran
    hub.ingest(StageChange(opportunity_id="opp-1", to_stage_id=STAGE))
    hub.candidate("opp-2", archived=True)
    hub.move("opp-2")
    hub.candidate("opp-3", posting_id="another-posting")
    hub.move("opp-3")
    hub.ingest(StageChange(opportunity_id="opp-gone", to_stage_id=STAGE))  # unknown at the source
    hub.move("opp-4", stage=OTHER_STAGE)           # a stage with nothing attached
    assert hub.invitations() == []
    assert hub.sandbox.stats()["by_route"] == {}
    assert hub.deliveries() == {"done": 5}


def test_vervoe_refusing_the_invitation_fails_it_with_vervoes_reason(hub):
    hub.attach(stage_id="stage-2", stage_name="Stage 2", assessment_id="deleted-assessment", assessment_name="Gone")
    hub.move(stage="stage-2")
    inv = hub.invitation()
    assert inv.status == "failed"
    assert inv.failure_reason == "Vervoe refused the invitation: Assessment not found."
    assert hub.ctx().records.get(links.attempt_key(inv)) is None  # a clear answer: nothing to look up


# --------------------------------------------------------------------------- re-invite


def test_reinvite_resets_the_same_candidate_assessment_with_a_new_deadline(hub):
    inv = invited(hub)
    uuid = inv.provider_invitation_id
    hub.sandbox.act(uuid, "expire")
    hub.wait_for(lambda: hub.invitation().status == "expired", what="the expired webhook")

    hub.reinvite(inv.id)

    again = hub.invitation()
    assert (again.status, again.round, again.provider_invitation_id) == ("invited", 2, uuid)
    remote = hub.sandbox.only()
    assert remote["status"] == "invited" and remote["resets"] == 1
    assert again.invite_url == remote["candidateUrl"]
    assert posts(hub) == 1  # reset, not a second invitation
    assert hub.ctx().records.get(f"invitation:{inv.id}")["round"] == 2

    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.source.results, what="the round-2 completion written back")
    assert hub.invitation().score == 100.0
    assert [(r.invitation_id, r.score) for r in hub.source.results] == [(inv.id, 100.0)]


def test_reinvite_after_a_failure_sends_a_first_invitation(hub):
    hub.candidate("opp-1", email=None)
    hub.move()
    inv = hub.invitation()
    assert inv.status == "failed"
    hub.candidate("opp-1", email="ada@example.com")
    hub.reinvite(inv.id)
    again = hub.invitation()
    assert (again.status, again.round) == ("invited", 2)
    assert hub.sandbox.only()["resets"] == 0 and posts(hub) == 1


# --------------------------------------------------------------------------- archive


def test_archiving_rejects_the_open_assessment_at_vervoe_and_cancels_it(hub):
    inv = invited(hub)
    hub.candidate("opp-1", archived=True)
    hub.sandbox.hold_webhooks()  # the report comes after the hub recorded its cancel (else a race of the test's)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True, reason="hired elsewhere"))
    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.only()["status"] == "rejected"
    # Vervoe's "rejected" report comes back: the hub already knows
    hub.sandbox.release_webhooks()
    assert hub.invitation().status == "cancelled"
    assert [s.status for s in hub.source.statuses] == ["invited", "cancelled"]
    assert hub.webhook_outcomes() == [("accepted", 200, "invitation_progress:no_change")]
    assert hub.sandbox.stats()["by_route"]["PATCH /api/integration/user-assessments/<uuid>/reject"] == {"200": 1}
    assert hub.invitation().provider_invitation_id == inv.provider_invitation_id


def test_a_stale_archive_event_or_an_unarchive_closes_nothing(hub):
    invited(hub)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))  # the candidate is not archived now
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=False))
    assert hub.invitation().status == "invited" and hub.sandbox.only()["status"] == "invited"


def test_without_reject_on_archive_the_archive_is_recorded_and_the_invitation_left_open(hub):
    hub.save_settings(reject_on_archive=False)
    inv = invited(hub)
    hub.candidate("opp-1", archived=True)
    for _ in range(2):
        hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))
    assert hub.invitation().status == "invited" and hub.sandbox.only()["status"] == "invited"
    assert hub.ctx().records.get(f"archived:{inv.id}")["round"] == 1
    notes = [t for t in hub.timeline(inv.id) if t[0] == "cancel_skipped"]
    assert len(notes) == 1 and "left open at Vervoe" in notes[0][1]


REJECT_ROUTE = "PATCH /api/integration/user-assessments/<uuid>/reject"


def completed_ungraded(hub):
    """Invited, then completed at Vervoe, which grades manually: the hub shows ``started``."""
    hub.sandbox.config(auto_grade=False)
    inv = invited(hub)
    hub.sandbox.act(inv.provider_invitation_id, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.invitation().status == "started", what="the unscored completion")
    hub.sandbox.quiet()
    return inv


def skipped_notes(hub, inv) -> list[str]:
    return [detail for kind, detail in hub.timeline(inv.id) if kind == "cancel_skipped"]


def test_archive_leaves_an_assessment_completed_at_vervoe_and_its_grade_is_written_back(hub):
    inv = completed_ungraded(hub)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))

    assert hub.invitation().status == "started"  # not cancelled: the result is on its way
    assert hub.sandbox.only()["status"] == "complete"  # not rejected at Vervoe
    assert REJECT_ROUTE not in hub.sandbox.stats()["by_route"]
    (note,) = skipped_notes(hub, inv)
    assert "already completed" in note and "its result will follow" in note

    hub.sandbox.act(inv.provider_invitation_id, "grade", score=90)  # the reviewer grades it
    hub.sandbox.quiet()
    done = hub.invitation()
    assert (done.status, done.score, done.max_score, done.verdict) == ("completed", 90.0, 100.0, None)
    assert [r.score for r in hub.source.results] == [90.0]
    assert hub.source.verdicts == []  # the hub caused no "thumbs down"
    assert set(hub.deliveries()) == {"done"}


def test_a_reject_landing_just_as_the_candidate_completes_brings_the_result_and_no_verdict(hub, monkeypatch):
    inv = completed_ungraded(hub)
    real = invite.VervoeClient.get_report
    stale = []

    def read_before_the_completion(self, uuid):  # the archive's read, just before the candidate submitted
        report = real(self, uuid)
        if stale:
            return report
        stale.append(uuid)
        return {**report, "kind": "started", "raw_status": "in progress", "completed_at": None}

    monkeypatch.setattr(invite.VervoeClient, "get_report", read_before_the_completion)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))
    hub.sandbox.quiet()  # Vervoe's "rejected" report (completed, no score yet) reaches the hub

    assert stale and hub.sandbox.only()["status"] == "rejected"
    assert hub.invitation().status == "started"  # not cancelled: still waiting for the grade
    (note,) = skipped_notes(hub, inv)
    assert "as the hub rejected it" in note

    hub.sandbox.act(inv.provider_invitation_id, "grade", score=90)
    hub.sandbox.quiet()
    done = hub.invitation()
    assert (done.status, done.score, done.verdict) == ("completed", 90.0, None)
    assert [r.score for r in hub.source.results] == [90.0]
    assert hub.source.verdicts == []  # Vervoe says "rejected", but that was the hub, not a reviewer


# --------------------------------------------------------------------------- admin cancel


def test_an_admin_cancel_rejects_the_invitation_at_vervoe(hub):
    inv = invited(hub)
    hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.only()["status"] == "rejected"  # the candidate can no longer take it
    hub.sandbox.quiet()  # Vervoe's "rejected" report: the hub already knows
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"200": 1}
    assert [s.status for s in hub.source.statuses] == ["invited", "cancelled"]
    assert hub.source.verdicts == [] and set(hub.deliveries()) == {"done"}


def test_an_admin_cancel_leaves_an_assessment_completed_at_vervoe_alone(hub):
    inv = completed_ungraded(hub)
    hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.only()["status"] == "complete"  # its result is not thrown away at Vervoe
    assert REJECT_ROUTE not in hub.sandbox.stats()["by_route"]
    (note,) = skipped_notes(hub, inv)
    assert "already completed" in note
    hub.sandbox.act(inv.provider_invitation_id, "grade", score=90)
    hub.sandbox.quiet()
    assert hub.source.verdicts == [] and set(hub.deliveries()) == {"done"}
    # the cancel came too late: the hub keeps the result (cancelled -> completed)
    assert hub.invitation().status == "completed" and [r.score for r in hub.source.results] == [90]


class ThenMeanwhile:
    """The plugin's ``ctx``, whose first read of an invitation is followed by ``meanwhile()``: what
    another worker did between that read and what the plugin does next."""

    class _Invitations:
        def __init__(self, real, meanwhile) -> None:
            self._real, self._meanwhile = real, meanwhile

        def get(self, invitation_id):
            found = self._real.get(invitation_id)
            if self._meanwhile is not None:
                meanwhile, self._meanwhile = self._meanwhile, None
                meanwhile()
            return found

        def __getattr__(self, name):
            return getattr(self._real, name)

    def __init__(self, ctx, meanwhile) -> None:
        self._ctx = ctx
        self.invitations = self._Invitations(ctx.invitations, meanwhile)

    def __getattr__(self, name):
        return getattr(self._ctx, name)


def test_an_admin_cancel_rejects_nothing_of_a_round_re_invited_since(hub):
    """The cancel's delivery read the invitation cancelled and rejected without its lease: a
    re-invite sent in between (its send resets this same candidate assessment at Vervoe) had its new
    round rejected. Under the lease the row is read again: re-invited, nothing is rejected."""
    from hub.entities import InvitationProgress

    inv = invited(hub)
    uuid = inv.provider_invitation_id
    hub.update_invitation(inv.id, status="cancelled")  # an admin's cancel, whose delivery runs below

    def reinvite():  # the admin changes their mind: round 2 is sent at once (a reset at Vervoe)
        hub.reinvite(inv.id)
        assert hub.invitation().status == "invited"

    progress = InvitationProgress(invitation_id=inv.id, status="cancelled", by="admin@example.com")
    invite.handle_status(ThenMeanwhile(hub.ctx(), reinvite), progress)

    again = hub.invitation()
    assert (again.status, again.round, again.provider_invitation_id) == ("invited", 2, uuid)
    remote = hub.sandbox.only()
    assert remote["status"] == "invited" and remote["resets"] == 1  # round 2 is open for the candidate
    assert REJECT_ROUTE not in hub.sandbox.stats()["by_route"]


# ------------------------------------------------- a late report of the cancelled round after a re-invite


def cancelled_with_its_report_held(hub):
    """Invited, then cancelled by an admin: the hub rejects round 1 at Vervoe, whose "rejected"
    report is held by the sandbox (late) until ``release_webhooks``."""
    inv = invited(hub)
    hub.sandbox.hold_webhooks()
    hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled" and hub.sandbox.only()["status"] == "rejected"
    assert hub.sandbox.webhook_log()["pending"] == 1  # round 1's "rejected", not delivered yet
    return inv


def test_a_late_reject_report_of_the_cancelled_round_leaves_the_re_invite_alone(hub, monkeypatch):
    """The admin re-invites at once; round 1's "rejected" report reaches the hub while round 2 is
    pending and not linked (its send is about to reset the candidate assessment). Matched through
    round 1's link, it cancelled round 2, and the send then rejected the reset assessment at Vervoe."""
    inv = cancelled_with_its_report_held(hub)
    uuid = inv.provider_invitation_id
    real = invite.VervoeClient.reset
    outcomes = []

    def report_arrives_first(self, target):
        # Vervoe's late report of round 1 (mapped to a cancel, its delivery would wait for the lease
        # this send holds, up to CANCEL_WAIT_SECONDS: time to see that through, not a deadline)
        hub.sandbox.release_webhooks(timeout=4 * invite.CANCEL_WAIT_SECONDS)
        outcomes.extend(hub.webhook_outcomes())
        return real(self, target)

    monkeypatch.setattr(invite.VervoeClient, "reset", report_arrives_first)
    hub.reinvite(inv.id)

    assert [(outcome, code) for outcome, code, _ in outcomes] == [("ignored", 200)]  # not a cancel of round 2
    assert "earlier round" in outcomes[0][2]
    again = hub.invitation()
    assert (again.status, again.round, again.provider_invitation_id) == ("invited", 2, uuid)
    remote = hub.sandbox.only()
    assert remote["status"] == "invited" and remote["resets"] == 1  # open for the candidate
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"200": 1}  # round 1's reject only
    assert [s.status for s in hub.source.statuses] == ["invited", "cancelled", "invited"]
    assert set(hub.deliveries()) == {"done"}


def test_a_late_reject_report_leaves_a_re_invite_pending_until_its_send_is_retried(hub):
    """The re-invite's send fails at Vervoe (503, before the reset took effect): round 2 stays
    pending, not linked, and round 1's late "rejected" report must not cancel it; the send's retry
    then resets the assessment and round 2 is invited."""
    from hub.engine.sweeper import sweep

    inv = cancelled_with_its_report_held(hub)
    hub.sandbox.hold_webhooks(error_rate=1.0, error_codes=[503])
    hub.reinvite(inv.id)
    assert (hub.invitation().status, hub.invitation().round) == ("pending", 2)
    assert hub.sandbox.only()["resets"] == 0 and hub.deliveries()["retry"] == 1

    hub.sandbox.release_webhooks()
    ((outcome, code, message),) = hub.webhook_outcomes()
    assert (outcome, code) == ("ignored", 200) and "earlier round" in message
    assert (hub.invitation().status, hub.invitation().round) == ("pending", 2)

    time.sleep(0.06)
    sweep(hub.runtime)  # the re-invite's retry
    again = hub.invitation()
    assert (again.status, again.round, again.provider_invitation_id) == ("invited", 2, inv.provider_invitation_id)
    assert hub.sandbox.only()["status"] == "invited" and hub.sandbox.only()["resets"] == 1
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"200": 1}
    assert set(hub.deliveries()) == {"done"}


def test_a_report_read_while_the_invitation_is_re_invited_is_sent_again(hub, monkeypatch):
    """Round 1's late "rejected" report is re-read from Vervoe before the re-invite's reset lands,
    and the invitation and its link read after that re-invite linked round 2: the stale "rejected"
    was mapped onto round 2 and cancelled it. The report is now refused (503) and, sent again, read
    against round 2: Vervoe says invited, nothing changes."""
    import json
    from datetime import datetime, timezone

    import pytest

    from hub.entities import WebhookRequest
    from hub.errors import TemporaryError
    from plugins.vervoe import webhooks

    from .test_webhooks import signed

    inv = cancelled_with_its_report_held(hub)
    body = json.dumps(hub.sandbox.webhook_log()["events"][-1]["body"]).encode()
    real = invite.VervoeClient.get_report

    def reinvited_meanwhile(self, uuid):
        report = real(self, uuid)  # "rejected": round 2's reset has not landed yet
        monkeypatch.setattr(invite.VervoeClient, "get_report", real)
        hub.reinvite(inv.id)
        return report

    monkeypatch.setattr(invite.VervoeClient, "get_report", reinvited_meanwhile)
    request = WebhookRequest(body=body, headers=signed(body), received_at=datetime.now(timezone.utc))
    with pytest.raises(TemporaryError, match="re-invited while"):
        webhooks.verify(hub.ctx(), request)
    assert (hub.invitation().status, hub.invitation().round) == ("invited", 2)

    hub.sandbox.release_webhooks()  # Vervoe's delivery of it, again: read against round 2
    assert hub.webhook_outcomes()[-1][:2] == ("ignored", 200)
    assert (hub.invitation().status, hub.invitation().round) == ("invited", 2)
    assert hub.sandbox.only()["status"] == "invited"


@pytest.mark.parametrize("completed", [False, True])
def test_a_reject_of_the_re_invited_round_at_vervoe_still_counts(hub, completed):
    """After round 1's cancel and late report, round 2 is linked: a reviewer rejecting it at Vervoe
    cancels it (before completing) or is a thumbs down (after), as in round 1."""
    inv = cancelled_with_its_report_held(hub)
    hub.reinvite(inv.id)
    assert hub.invitation().status == "invited"
    hub.sandbox.release_webhooks()  # round 1's report: Vervoe says invited (reset) now
    assert hub.webhook_outcomes()[-1][:2] == ("ignored", 200) and hub.invitation().status == "invited"
    uuid = inv.provider_invitation_id
    if completed:
        hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
        hub.wait_for(lambda: hub.invitation().status == "completed", what="round 2's result")
    hub.sandbox.act(uuid, "reject")  # a reviewer's decision at Vervoe
    hub.sandbox.quiet()
    again = hub.invitation()
    if completed:
        assert (again.status, again.score, again.verdict) == ("completed", 100.0, "thumbs_down")
        assert [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]
    else:
        assert (again.status, again.round) == ("cancelled", 2)
        assert hub.source.statuses[-1].reason == "rejected at Vervoe before completing the assessment"


def test_an_admin_cancel_waits_for_the_invitations_lease(hub, monkeypatch):
    """The cancel rejected at Vervoe while someone held the invitation's lease (a re-invite's send,
    resetting this same candidate assessment, holds it): its delivery is now deferred, without using
    up an attempt, and rejects once the lease is free."""
    import sqlalchemy as sa

    from hub.engine.sweeper import sweep
    from hub.extensions import db
    from hub.kit import provider
    from hub.store.models import Delivery, utcnow

    monkeypatch.setattr(invite, "CANCEL_WAIT_SECONDS", 0.0)  # how long is not the point
    inv = invited(hub)
    with hub.ctx().lock(provider.invitation_lock(inv.id), ttl=60):
        hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled"
    assert REJECT_ROUTE not in hub.sandbox.stats()["by_route"] and hub.sandbox.only()["status"] == "invited"
    (waiting,) = db.session.scalars(sa.select(Delivery).where(Delivery.plugin == "vervoe",
                                                              Delivery.status == "retry"))
    assert (waiting.hook, waiting.attempts, waiting.deferrals) == ("on_invitation_status", 0, 1)
    assert "busy" in waiting.last_error
    db.session.commit()

    db.session.execute(sa.update(Delivery).where(Delivery.status == "retry").values(next_attempt_at=utcnow()))
    db.session.commit()
    sweep(hub.runtime)  # the lease is free now
    assert hub.sandbox.only()["status"] == "rejected"
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"200": 1}
    assert hub.invitation().status == "cancelled" and set(hub.deliveries()) == {"done"}


def test_a_cancel_after_an_unclear_reset_rejects_the_reset_assessment(hub):
    """The re-invite's reset landed at Vervoe but the hub saw a 503 (the row stays pending, its
    attempt has no uuid): an admin's cancel then found no uuid and rejected nothing, leaving the
    reset assessment open at Vervoe while the hub showed the invitation cancelled."""
    inv = invited(hub)
    uuid = inv.provider_invitation_id
    hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled" and hub.sandbox.only()["status"] == "rejected"
    hub.sandbox.quiet()  # Vervoe's "rejected" report of round 1 is in before the re-invite
    hub.sandbox.faults(error_rate=1.0, error_codes=[503], fault_after_processing=True)
    hub.reinvite(inv.id)
    hub.sandbox.faults()
    pending = hub.invitation()
    assert (pending.status, pending.round, pending.provider_invitation_id) == ("pending", 2, None)
    assert hub.sandbox.only()["status"] == "invited"  # reset at Vervoe: open for the candidate again
    attempt = hub.ctx().records.get(links.attempt_key(pending))
    assert attempt["mode"] == "reset" and "uuid" not in attempt  # its outcome unknown to the hub

    hub.cancel(inv.id)

    assert hub.invitation().status == "cancelled"
    remote = hub.sandbox.only()
    assert remote["candidateAssessmentUuid"] == uuid and remote["status"] == "rejected"
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"200": 2}
    assert posts(hub) == 1


def fail_before_sending(monkeypatch):
    """The re-invite's delivery fails before its send calls Vervoe (no attempt recorded)."""
    from hub.errors import TemporaryError

    def send(*args, **kwargs):
        raise TemporaryError("the hub's database is unavailable for a moment")

    monkeypatch.setattr(invite, "send", send)


def cancel_whose_reject_fails_then_reinvite_and_cancel(hub, monkeypatch, reinvite_fails: str):
    """Round 1 is cancelled while Vervoe answers 503 (its delivery is retried later); it is
    re-invited, and that send never reaches Vervoe (``reinvite_fails``: "before the attempt", or
    "at Vervoe": a 503 before the reset took effect); then round 2 is cancelled too."""
    inv = invited(hub)
    hub.sandbox.faults(error_rate=1.0, error_codes=[503])
    hub.cancel(inv.id)
    hub.sandbox.faults()
    assert hub.invitation().status == "cancelled" and hub.deliveries()["retry"] == 1
    assert hub.sandbox.only()["status"] == "invited"  # round 1's cancel did not reach Vervoe
    if reinvite_fails == "before the attempt":
        fail_before_sending(monkeypatch)
    else:
        hub.sandbox.faults(error_rate=1.0, error_codes=[503])
    hub.reinvite(inv.id)
    hub.sandbox.faults()
    monkeypatch.undo()
    assert (hub.invitation().status, hub.invitation().round) == ("pending", 2)
    assert hub.sandbox.only()["resets"] == 0  # round 2 never reached Vervoe
    hub.cancel(inv.id)
    return inv


@pytest.mark.parametrize("reinvite_fails", ["before the attempt", "at Vervoe"])
def test_round_ones_assessment_is_rejected_when_a_re_invite_that_never_reached_vervoe_is_cancelled(
        hub, monkeypatch, reinvite_fails):
    """Both cancels read round 2, which had reached nothing at Vervoe, and rejected nothing: round
    1's assessment, the one the candidate still had open (a reset reuses it), stayed open."""
    from hub.engine.sweeper import sweep

    inv = cancel_whose_reject_fails_then_reinvite_and_cancel(hub, monkeypatch, reinvite_fails)
    assert hub.invitation().status == "cancelled"
    remote = hub.sandbox.only()
    assert remote["candidateAssessmentUuid"] == inv.provider_invitation_id and remote["status"] == "rejected"
    time.sleep(0.06)
    sweep(hub.runtime)  # round 1's cancel and the re-invite, retried: nothing more to do
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"200": 1}
    assert hub.sandbox.only()["resets"] == 0 and posts(hub) == 1
    assert hub.invitation().status == "cancelled" and set(hub.deliveries()) == {"done"}
    assert skipped_notes(hub, inv) == []


def test_an_earlier_rounds_assessment_shared_with_an_open_invitation_is_not_rejected(hub, monkeypatch):
    """Vervoe answered "already invited" to a second opportunity: both share one candidate
    assessment. Cancelling the first in a round that never reached Vervoe must not close the
    second's assessment on a guess about the first's earlier round."""
    first = invited(hub, "opp-1")
    hub.candidate("opp-2", email="ada@example.com")
    second = invited(hub, "opp-2")
    uuid = first.provider_invitation_id
    assert second.provider_invitation_id == uuid
    hub.update_invitation(first.id, status="cancelled")  # round 1 cancelled, say before the shared link
    fail_before_sending(monkeypatch)
    hub.reinvite(first.id)
    monkeypatch.undo()
    hub.cancel(first.id)

    statuses = {i.id: i.status for i in hub.invitations()}
    assert statuses == {first.id: "cancelled", second.id: "invited"}
    assert hub.sandbox.only()["status"] == "invited"  # still the second invitation's to take
    assert REJECT_ROUTE not in hub.sandbox.stats()["by_route"]


def test_archiving_a_re_invite_not_sent_yet_after_a_completed_round_cancels_it(hub, monkeypatch):
    """Round 1 was completed at Vervoe; round 2's send has not reached Vervoe when the candidate is
    archived: round 1's completion is not this round's, so the invitation is cancelled (not left
    open to be sent later), and nothing is rejected."""
    inv = invited(hub)
    hub.sandbox.act(inv.provider_invitation_id, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.invitation().status == "completed", what="the round-1 result")
    hub.sandbox.quiet()
    fail_before_sending(monkeypatch)
    hub.reinvite(inv.id)
    monkeypatch.undo()
    assert hub.invitation().status == "pending"
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True, reason="hired elsewhere"))

    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.only()["status"] == "complete" and REJECT_ROUTE not in hub.sandbox.stats()["by_route"]
    assert skipped_notes(hub, inv) == []


def test_a_send_racing_an_admin_cancel_rejects_what_it_created(hub, monkeypatch):
    real = invite.VervoeClient.invite
    cancelled = []

    def cancel_then_post(self, slug, body):  # the admin cancels while the invitation is being sent
        (pending,) = hub.invitations()
        hub.cancel(pending.id)
        cancelled.append(pending.id)
        return real(self, slug, body)  # Vervoe had nothing yet when the cancel was withdrawn

    monkeypatch.setattr(invite.VervoeClient, "invite", cancel_then_post)
    hub.move()

    inv = hub.invitation()
    remote = hub.sandbox.only()
    assert cancelled and inv.status == "cancelled"
    assert inv.provider_invitation_id == remote["candidateAssessmentUuid"]
    assert remote["status"] == "rejected"  # not left open at Vervoe
    assert set(hub.deliveries()) == {"done"}


def race_a_cancel(hub, monkeypatch, failing: int | None, **faults):
    """A send racing an admin's cancel; Vervoe fails the first ``failing`` rejects (every one when
    None; every inline try of each) with ``faults``. Returns the invitation and the rejected uuids."""
    real_invite, real_reject = invite.VervoeClient.invite, invite.VervoeClient.reject
    rejects = []

    def cancel_then_post(self, slug, body):
        (pending,) = hub.invitations()
        hub.cancel(pending.id)
        return real_invite(self, slug, body)

    def reject(self, uuid):
        rejects.append(uuid)
        if failing is not None and len(rejects) > failing:
            return real_reject(self, uuid)
        hub.sandbox.faults(error_rate=1.0, **faults)
        try:
            return real_reject(self, uuid)
        finally:
            hub.sandbox.faults()

    hub.call("list_assessments")  # a token first: the faults hit only the reject
    monkeypatch.setattr(invite.VervoeClient, "invite", cancel_then_post)
    monkeypatch.setattr(invite.VervoeClient, "reject", reject)
    hub.move()
    inv = hub.invitation()
    assert inv.status == "cancelled"
    return inv, rejects


def racing_cancel_whose_first_reject_fails(hub, monkeypatch, **faults):
    """A send racing an admin's cancel, and Vervoe failing its first reject (every inline try of it)
    with ``faults``; the later rejects go through."""
    inv, rejects = race_a_cancel(hub, monkeypatch, 1, **faults)
    assert inv.provider_invitation_id == hub.sandbox.only()["candidateAssessmentUuid"]
    assert rejects == [inv.provider_invitation_id]
    assert hub.ctx().records.get(links.withdraw_key(inv.id))["uuid"] == inv.provider_invitation_id  # kept
    assert hub.deliveries()["retry"] == 1  # the stage change: its withdraw is to be done again
    return inv, rejects


def rejected_reports(hub) -> int:
    """How many "rejected" reports Vervoe sent: one per reject that changed something."""
    hub.sandbox.quiet()
    return sum(1 for event in hub.sandbox.webhook_log()["events"] if event["status"] == "rejected")


def test_a_send_racing_a_cancel_whose_reject_fails_rejects_on_its_retry(hub, monkeypatch):
    """The reject of what a send racing a cancel created failed (503): nothing retried it and the
    assessment stayed open at Vervoe. The delivery's retry (which sends nothing) now rejects it."""
    from hub.engine.sweeper import sweep

    inv, rejects = racing_cancel_whose_first_reject_fails(hub, monkeypatch, error_codes=[503])
    assert hub.sandbox.only()["status"] != "rejected"  # still open at Vervoe after the failure

    time.sleep(0.06)
    sweep(hub.runtime)
    assert hub.sandbox.only()["status"] == "rejected"
    assert len(rejects) == 2 and hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"503": 3, "200": 1}
    assert rejected_reports(hub) == 1
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []
    assert hub.invitation().status == "cancelled" and set(hub.deliveries()) == {"done"}
    assert posts(hub) == 1
    time.sleep(0.06)
    sweep(hub.runtime)  # nothing left to do: rejected once
    from hub.engine.sweeper import reconcile_all

    reconcile_all(hub.runtime)
    assert len(rejects) == 2 and hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"503": 3, "200": 1}


def test_a_reject_that_landed_before_its_error_is_not_sent_again(hub, monkeypatch):
    """Vervoe rejected, then answered 500: the retry reads the assessment rejected, rejects nothing."""
    from hub.engine.sweeper import sweep

    inv, rejects = racing_cancel_whose_first_reject_fails(hub, monkeypatch, error_codes=[500],
                                                          fault_after_processing=True)
    assert hub.sandbox.only()["status"] == "rejected"
    time.sleep(0.06)
    sweep(hub.runtime)
    assert rejects == [inv.provider_invitation_id]  # read first: already rejected, no second reject
    assert rejected_reports(hub) == 1
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []
    assert set(hub.deliveries()) == {"done"}


def test_reconcile_completes_a_withdraw_the_delivery_did_not(hub, monkeypatch):
    from hub.engine.sweeper import reconcile_all, sweep

    inv, rejects = racing_cancel_whose_first_reject_fails(hub, monkeypatch, error_codes=[503])
    reconcile_all(hub.runtime)
    assert hub.sandbox.only()["status"] == "rejected" and len(rejects) == 2
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []
    time.sleep(0.06)
    sweep(hub.runtime)  # the delivery's retry: nothing pending any more
    assert len(rejects) == 2 and set(hub.deliveries()) == {"done"}
    assert hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"503": 3, "200": 1} and rejected_reports(hub) == 1


def test_a_withdraw_vervoe_refuses_for_good_is_dropped_not_retried_for_ever(hub, monkeypatch):
    """A reject refused with a 4xx (permanent) killed the delivery and kept the pending withdraw:
    every later stage change of that candidate tried it first and died the same way."""
    inv, rejects = race_a_cancel(hub, monkeypatch, None, error_codes=[422])
    assert inv.status == "cancelled" and len(rejects) == 1
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []  # nothing left to try again
    assert set(hub.deliveries()) == {"done"}
    skipped = [detail for kind, detail in hub.timeline(inv.id) if kind == "cancel_skipped"]
    assert len(skipped) == 1 and "Vervoe refused to close it" in skipped[0]


def test_reconcile_leaves_a_withdraw_alone_while_the_invitation_is_busy(hub, monkeypatch):
    """Reconciliation rejected without the invitation's lease: a re-invite's send, resetting the same
    candidate assessment at Vervoe meanwhile, could have its new round rejected."""
    from hub.engine.sweeper import reconcile_all
    from hub.kit import provider

    inv, rejects = racing_cancel_whose_first_reject_fails(hub, monkeypatch, error_codes=[503])
    with hub.ctx().lock(provider.invitation_lock(inv.id), ttl=60):  # e.g. a re-invite being sent
        reconcile_all(hub.runtime)
    assert rejects == [inv.provider_invitation_id]  # no reject sent
    assert hub.sandbox.only()["status"] != "rejected"
    assert hub.ctx().records.get(links.withdraw_key(inv.id))["uuid"] == inv.provider_invitation_id  # kept

    reconcile_all(hub.runtime)  # the lease is free again
    assert len(rejects) == 2 and hub.sandbox.only()["status"] == "rejected"
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []


def test_reconcile_rejects_nothing_for_an_invitation_re_invited_since(hub, monkeypatch):
    from hub.engine.sweeper import reconcile_all

    inv, rejects = racing_cancel_whose_first_reject_fails(hub, monkeypatch, error_codes=[503])
    hub.update_invitation(inv.id, status="pending", round=inv.round + 1)  # re-invited: its send resets it
    reconcile_all(hub.runtime)
    assert len(rejects) == 1 and hub.sandbox.only()["status"] != "rejected"
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []


def test_reconcile_drops_a_withdraw_vervoe_refuses_for_good(hub, monkeypatch):
    """The delivery's reject failed for a moment (503) and reconciliation took the withdraw over;
    Vervoe then refuses it for good (422): dropped with a line on the timeline, not asked again."""
    from hub.engine.sweeper import reconcile_all

    inv, rejects = racing_cancel_whose_first_reject_fails(hub, monkeypatch, error_codes=[503])
    counted = invite.VervoeClient.reject

    def refused(self, uuid):
        hub.sandbox.faults(error_rate=1.0, error_codes=[422])
        try:
            return counted(self, uuid)
        finally:
            hub.sandbox.faults()

    monkeypatch.setattr(invite.VervoeClient, "reject", refused)
    reconcile_all(hub.runtime)
    assert len(rejects) == 2 and hub.sandbox.stats()["by_route"][REJECT_ROUTE] == {"503": 3, "422": 1}
    assert hub.ctx().records.keys(links.WITHDRAW_PREFIX) == []
    skipped = [detail for kind, detail in hub.timeline(inv.id) if kind == "cancel_skipped"]
    assert len(skipped) == 1 and "Vervoe refused to close it" in skipped[0]
    reconcile_all(hub.runtime)
    assert len(rejects) == 2  # not asked again


# --------------------------------------------------------------------------- reconciliation


def test_reconcile_finds_a_completion_whose_webhook_was_lost(hub):
    from hub.engine.sweeper import reconcile_all

    inv = invited(hub)
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    hub.sandbox.act(inv.provider_invitation_id, "complete", answers={**BACKEND_ANSWERS, "q4": "c"})
    hub.sandbox.quiet()
    assert hub.invitation().status == "invited"  # the webhooks were lost

    assert reconcile_all(hub.runtime) == 1
    done = hub.invitation()
    assert (done.status, done.score, done.max_score) == ("completed", 75.0, 100.0)
    assert [r.score for r in hub.source.results] == [75.0]
    assert reconcile_all(hub.runtime) == 0  # completed: no longer open, nothing asked again


def test_reconcile_writes_an_unscored_completion_back_after_the_wait(hub):
    from hub.engine.sweeper import reconcile_all

    hub.sandbox.config(auto_grade=False)
    inv = invited(hub)
    hub.sandbox.act(inv.provider_invitation_id, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.invitation().status == "started", what="the unscored completion")
    assert reconcile_all(hub.runtime) >= 1
    assert hub.invitation().status == "started"  # still waiting for Vervoe's grade (24 h by default)

    hub.save_settings(unscored_result_after_minutes=0)
    reconcile_all(hub.runtime)
    done = hub.invitation()
    assert (done.status, done.score, done.max_score) == ("completed", None, None)
    assert done.report_url and [r.score for r in hub.source.results] == [None]


# --------------------------------------------------------------------------- connect_sandbox


def test_connect_sandbox_configures_both_sides(fast_app, sandbox):
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.testing import RecordingSource

    source = RecordingSource()
    app = fast_app({"PLUGINS": "vervoe,fakesource", "PUBLIC_URL": "http://hub.test"},
                   plugins=[("fakesource", source)])
    with app.app_context():
        runtime = get_runtime()
        services.set_enabled(runtime, 1, "vervoe", True, "test")
        ctx = runtime.context(1, "vervoe")
        message = runtime.registry.call("vervoe", "connect_sandbox", ctx=ctx, sandbox_url=sandbox.url)
        assert "3 assessments" in message and sandbox.url in message
        row = runtime.integration(1, "vervoe")
        assert row.settings["base_url"] == sandbox.api and row.status == "connected"
        # the dashboard's line, worded as the Lever and Canditech sandboxes word theirs
        assert row.status_message == f"connected to the Vervoe sandbox at {sandbox.url} (3 assessments)"
        secrets = runtime.context(1, "vervoe").secrets
        webhook_url = f"http://hub.test/webhooks/vervoe/{row.webhook_key}"
        db.session.commit()
    assert (secrets["api_key"], secrets["api_secret"]) == ("vervoe-sandbox-key", "vervoe-sandbox-secret")
    config = sandbox.call("GET", "/_sandbox/config")
    assert config["webhook_url"] == webhook_url and config["webhook_secret"] == secrets["webhook_secret"]
    assert secrets["webhook_secret"].startswith("vervoe-sandbox-") and secrets["webhook_secret"] != WEBHOOK_SECRET
    with app.app_context():  # connecting again keeps the secret
        runtime = get_runtime()
        runtime.registry.call("vervoe", "connect_sandbox", ctx=runtime.context(1, "vervoe"), sandbox_url=sandbox.url)
        assert runtime.context(1, "vervoe").secrets["webhook_secret"] == secrets["webhook_secret"]
        db.session.commit()


def test_settings_round_trip_through_the_hub(hub):
    hub.save_settings(vervoe_settings(hub.sandbox, signature_tolerance_seconds=120))
    row = hub.integration()
    assert "api_secret" not in row.settings and "webhook_secret" not in row.settings
    assert row.settings["signature_tolerance_seconds"] == 120
    assert hub.secrets()["api_secret"] == "vervoe-sandbox-secret"


def test_reconcile_skips_a_report_with_values_the_hub_cannot_use(hub, monkeypatch, caplog):
    from hub.engine.sweeper import reconcile_all
    from plugins.vervoe import wire
    from plugins.vervoe.client import VervoeClient

    inv = invited(hub)
    bad = {"candidateAssessmentUuid": inv.provider_invitation_id, "status": "complete",
           "completedAt": "2026-03-01T10:20:00+00:00", "score": {"type": "TYPE_AI", "score": 75},
           "integrationCandidateCardUrl": "javascript:alert(1)"}
    monkeypatch.setattr(VervoeClient, "get_report", lambda self, uuid: wire.parse_report(bad))
    with caplog.at_level("WARNING"):
        assert reconcile_all(hub.runtime) == 0
    assert hub.invitation().status == "invited" and hub.source.results == []
    assert any("unusable values" in r.getMessage() and "integrationCandidateCardUrl must be an http or https URL"
               in r.getMessage() for r in caplog.records)


def test_a_round_the_candidate_opened_before_its_link_was_recorded_still_gets_its_expiry(hub, monkeypatch):
    """Found by review: a re-invite's reset landed but its answer was lost; the candidate opened it
    (started: the send's retry then sends nothing, so the link stays round 1's for good), and every
    later report without a time of its own (an expiry) was taken for round 1's and ignored."""
    from hub.engine.sweeper import sweep

    inv = invited(hub)
    uuid = inv.provider_invitation_id
    hub.sandbox.act(uuid, "expire")
    hub.wait_for(lambda: hub.invitation().status == "expired", what="expired")

    real = invite.VervoeClient.reset
    calls = []

    def lost_answer(self, target):
        out = real(self, target)
        calls.append(target)
        if len(calls) == 1:
            raise TemporaryError("timed out reading Vervoe's answer")  # the reset landed
        return out

    monkeypatch.setattr(invite.VervoeClient, "reset", lost_answer)
    hub.reinvite(inv.id)
    assert calls and hub.invitation().status == "pending"  # the reset landed; its answer was lost
    time.sleep(1)  # the candidate opens it a moment later (Vervoe's times are whole seconds)
    hub.sandbox.act(uuid, "start")
    hub.sandbox.quiet()
    assert hub.invitation().status == "started"
    sweep(hub.runtime)  # the send's retry: the invitation is no longer pending, nothing is sent
    hub.sandbox.quiet()
    assert links.invitation_link(hub.ctx(), inv.id)["round"] == 1  # never linked to round 2
    hub.sandbox.act(uuid, "expire")
    hub.sandbox.quiet()
    assert (hub.invitation().status, hub.invitation().round) == ("expired", 2)



def test_reconcile_skips_an_invitation_vervoe_refuses_to_answer_for_and_stops_when_vervoe_is_down(
        hub, monkeypatch, caplog):
    """A 4xx other than 404 for one open invitation failed the whole run: the other invitations'
    lost news was never found while it lasted. Now it is skipped (as the verdict watch skips it);
    Vervoe failing for a while (5xx) still ends the run early, keeping what it found."""
    from hub.engine.sweeper import reconcile_all
    from plugins.vervoe.client import VervoeClient

    for opportunity_id in ("opp-1", "opp-2", "opp-3", "opp-4"):
        hub.candidate(opportunity_id, email=f"{opportunity_id}@example.com")
    refused, lost, down, later = (invited(hub, o) for o in ("opp-1", "opp-2", "opp-3", "opp-4"))
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    for inv in (lost, later):
        hub.sandbox.act(inv.provider_invitation_id, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.quiet()
    hub.sandbox.faults()
    read = VervoeClient.get_report
    asked = []

    def answering(self, uuid):  # Vervoe answers 422 for ``refused``, and is down from ``down``'s read on
        asked.append(uuid)
        if uuid == refused.provider_invitation_id:
            hub.sandbox.faults(error_rate=1.0, error_codes=[422])
            try:
                return read(self, uuid)
            finally:
                hub.sandbox.faults()
        if uuid == down.provider_invitation_id:
            hub.sandbox.faults(down=True)
        return read(self, uuid)

    monkeypatch.setattr(VervoeClient, "get_report", answering)
    try:
        with caplog.at_level("WARNING"):
            assert reconcile_all(hub.runtime) == 1
    finally:
        hub.sandbox.faults()
    assert asked == [refused.provider_invitation_id, lost.provider_invitation_id, down.provider_invitation_id]
    statuses = {i.id: (i.status, i.score) for i in hub.invitations()}
    assert statuses[lost.id] == ("completed", 100.0) and [r.score for r in hub.source.results] == [100.0]
    assert statuses[refused.id][0] == statuses[down.id][0] == statuses[later.id][0] == "invited"
    messages = [r.getMessage() for r in caplog.records]
    assert any("refused to answer for invitation" in m and "422" in m for m in messages)
    assert any("reconcile stopped early" in m for m in messages)


def test_reconcile_reads_every_open_invitation_in_turn_past_a_page(hub, monkeypatch):
    """Reconciliation read the first page of open invitations every run: with more open than a page
    (invitations of candidates who have not started stay open for weeks), a lost completion past
    it was never found. Now each run reads the page after the last run's, from the first again
    once past the last. (A page of two here: the hub's page is 500.)"""
    from hub.context import InvitationStore
    from hub.engine.sweeper import reconcile_all
    from plugins.vervoe import reconciliation
    from plugins.vervoe.client import VervoeClient

    listing = InvitationStore.list_open

    def small_pages(self, *args, limit=2, **kwargs):  # the hub's pages, two invitations long
        return listing(self, *args, limit=min(limit, 2), **kwargs)

    monkeypatch.setattr(InvitationStore, "list_open", small_pages)
    monkeypatch.setattr(reconciliation, "OPEN_PAGE_SIZE", 2, raising=False)
    for opportunity_id in ("opp-1", "opp-2", "opp-3"):
        hub.candidate(opportunity_id, email=f"{opportunity_id}@example.com")
    waiting, also_waiting, lost = (invited(hub, o) for o in ("opp-1", "opp-2", "opp-3"))
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    hub.sandbox.act(lost.provider_invitation_id, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.quiet()
    hub.sandbox.faults()
    read = VervoeClient.get_report
    asked = []

    def reading(self, uuid):
        asked.append(uuid)
        return read(self, uuid)

    monkeypatch.setattr(VervoeClient, "get_report", reading)
    runs = []
    for _ in range(3):
        asked.clear()
        found = reconcile_all(hub.runtime)
        runs.append((found, list(asked)))
    first, second, third = runs
    assert first == (0, [waiting.provider_invitation_id, also_waiting.provider_invitation_id])
    assert second == (1, [lost.provider_invitation_id])  # the page after the first's
    # the first page again; then the verdict watch of the completion run 2 found
    assert third == (0, [waiting.provider_invitation_id, also_waiting.provider_invitation_id,
                         lost.provider_invitation_id])
    assert {i.id: i.status for i in hub.invitations()}[lost.id] == "completed"
