"""The Canditech plugin's hooks in a real hub (migrated database, real ingress, inline deliveries)
against the Canditech sandbox over real HTTP."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

import plugins.canditech.invite as invite
from hub.entities import ArchiveChange, AssessmentResult, InvitationProgress, StageChange
from hub.errors import HubError

from .conftest import OTHER_STAGE, PYTHON_ANSWERS, SANDBOX_SECRET, STAGE, canditech_settings, invited


def signed(body: bytes, secret: str = SANDBOX_SECRET, at: int | None = None) -> dict:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Canditech-Signature": f"t={stamp},v1={digest}", "Content-Type": "application/json"}


# --------------------------------------------------------------------------- inviting exactly once


def test_stage_change_invites_once_even_when_ingested_twice(hub):
    first = hub.move(external_id="lever-evt-1")
    again = hub.move(external_id="lever-evt-1")  # the same webhook delivered twice
    assert first.outcome == "accepted" and again.duplicate

    inv = hub.invitation()
    (remote,) = hub.sandbox.invitations()
    assert inv.status == "invited"
    assert inv.provider_invitation_id == remote["id"] and inv.invite_url == remote["invite_url"]
    assert remote["external_reference"] == inv.external_reference == f"hub-inv-{inv.id}-{inv.reference_token}"
    assert len(inv.reference_token) == 10
    assert remote["assessment_id"] == "asmt-python"
    assert remote["candidate"] == {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}
    assert remote["callback_url"] == f"{hub.app.config['PUBLIC_URL']}/webhooks/canditech/" \
                                     f"{hub.runtime.integration(1, 'canditech').webhook_key}"
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    assert [s.status for s in hub.source.statuses] == ["invited"]
    assert set(hub.deliveries()) == {"done"}


def test_hook_running_again_after_a_lost_result_finds_the_first_invitation(hub):
    inv, remote = invited(hub)
    # a worker crashed after Canditech created the invitation but before the hub recorded it
    hub.update_invitation(inv.id, status="pending", provider_invitation_id=None, invite_url=None)

    hub.call("on_stage_change", change=StageChange(opportunity_id="opp-1", to_stage_id=STAGE))

    again = hub.invitation()
    assert again.status == "invited" and again.provider_invitation_id == remote["id"]
    assert len(hub.sandbox.invitations()) == 1
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}  # found by reference: no second POST


def test_crash_between_vendor_call_and_recording_is_retried_without_a_second_invitation(hub, monkeypatch):
    from hub.engine.sweeper import sweep

    real = invite._record_sent
    crashes = []

    def crash_once(ctx, client, invitation_id, found):
        if not crashes:
            crashes.append(found["id"])
            raise RuntimeError("worker died after the vendor call")
        real(ctx, client, invitation_id, found)

    monkeypatch.setattr(invite, "_record_sent", crash_once)
    hub.move()
    assert len(crashes) == 1 and len(hub.sandbox.invitations()) == 1

    # the retry: inline already if its short delay had passed, else the sweeper's
    time.sleep(0.06)  # past the retry delay (RETRY_MAX_SECONDS is 0.05 in tests)
    sweep(hub.runtime)

    inv = hub.invitation()
    assert inv.status == "invited" and inv.provider_invitation_id == crashes[0]
    assert len(hub.sandbox.invitations()) == 1
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    assert set(hub.deliveries()) == {"done"}


def test_vendor_faults_after_processing_still_give_one_invitation(hub):
    # calls fail with 500 *after* Canditech acted (seeded: the first POST created the invitation but
    # answered 500); the delivery is retried, and the retry looks the reference up before sending
    # again, finds the invitation and adopts it: the POST is never sent a second time (DESIGN: a
    # retry asks first)
    from hub.engine.sweeper import sweep

    hub.sandbox.faults(error_rate=0.5, error_codes=[500], fault_after_processing=True, seed=3)
    hub.move()
    hub.sandbox.faults()
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}
    hub.wait_for(lambda: sweep(hub.runtime) >= 0 and "retry" not in hub.deliveries(), what="the retry")
    assert set(hub.deliveries()) == {"done"}
    inv = hub.invitation()
    (remote,) = hub.sandbox.invitations()
    assert inv.status == "invited" and inv.provider_invitation_id == remote["id"]
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    routes = hub.sandbox._call("GET", "/_sandbox/stats")["by_route"]
    assert routes["POST /v1/invitations"] == {"500": 1}


def test_no_email_fails_with_a_reason_and_never_calls_canditech(hub):
    hub.candidate("opp-1", email=None)
    hub.candidate("opp-2", email="ada at example dot com")
    hub.move("opp-1")
    hub.move("opp-2")

    invitations = hub.invitations()
    assert [i.status for i in invitations] == ["failed", "failed"]
    assert all(i.failure_reason == "candidate has no valid email address in the ATS" for i in invitations)
    assert all("example" not in (i.failure_reason or "") for i in invitations)
    assert [(s.status, s.reason) for s in hub.source.statuses] == \
        [("failed", "candidate has no valid email address in the ATS")] * 2
    assert hub.sandbox.api_calls() == 0


def test_canditech_refusing_the_invitation_fails_it_with_canditechs_message(hub):
    hub.attach(posting_id="posting-data", posting_name="Data", assessment_id="asmt-retired",
               assessment_name="Retired test")  # in the same stage
    hub.candidate("opp-1", posting_id="posting-data")
    hub.move()

    inv = hub.invitation()
    assert inv.status == "failed"
    assert inv.failure_reason == "Canditech refused the invitation: assessment_id: unknown assessment 'asmt-retired'"
    assert hub.sandbox.invitations() == []
    assert set(hub.deliveries()) == {"done"}


def test_reentry_sends_nothing_new(hub):
    inv, _ = invited(hub)
    hub.move(stage=OTHER_STAGE)
    hub.move(stage=STAGE)
    hub.move(stage=STAGE)
    assert hub.invitation().status == "invited"
    assert len(hub.sandbox.invitations()) == 1
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    assert "reminder_skipped" not in [kind for kind, _ in hub.timeline(inv.id)]


def test_reentry_with_reminders_on_notes_that_canditech_cannot_remind(hub):
    hub.save_settings(canditech_settings(hub.sandbox, remind_on_reentry=True))
    inv, _ = invited(hub)
    hub.move(stage=OTHER_STAGE)
    hub.move(stage=STAGE)
    assert len(hub.sandbox.invitations()) == 1
    assert "reminder_skipped" in [kind for kind, _ in hub.timeline(inv.id)]


def test_stale_or_foreign_stage_changes_invite_nobody(hub):
    hub.candidate("opp-1", stage_id=OTHER_STAGE)  # the source says the candidate already left the stage
    hub.ingest(StageChange(opportunity_id="opp-1", to_stage_id=STAGE))
    hub.candidate("opp-2", posting_id="another-posting")
    hub.move("opp-2")
    hub.ingest(StageChange(opportunity_id="opp-unknown", to_stage_id=STAGE))
    assert hub.invitations() == []
    assert hub.sandbox.api_calls() == 0
    assert set(hub.deliveries()) == {"done"}


def test_reinvite_sends_a_new_round_and_ignores_the_old_one(hub):
    inv, first = invited(hub)
    hub.sandbox.complete(first["id"], PYTHON_ANSWERS)
    hub.wait_for(lambda: hub.source.results, what="round 1's result")
    hub.sandbox.quiet()

    hub.reinvite(inv.id)

    again = hub.invitation()
    assert again.status == "invited" and again.external_reference == f"{inv.external_reference}-r2"
    remotes = {r["external_reference"]: r for r in hub.sandbox.invitations()}
    assert set(remotes) == {inv.external_reference, f"{inv.external_reference}-r2"}
    assert again.provider_invitation_id == remotes[again.external_reference]["id"] != first["id"]

    # a late verdict on the first round is not this round's
    hub.sandbox.verdict(first["id"], "thumbs_up")
    hub.wait_for(lambda: any("earlier round" in m for _, m in hub.webhook_outcomes()), what="ignored webhook")
    assert hub.invitation().verdict is None and hub.source.verdicts == []
    assert hub.call("reconcile") == []  # nor does reconciliation pick it up


def test_an_admin_cancel_withdraws_the_invitation_at_canditech(hub):
    inv, remote = invited(hub)
    hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.invitations()[0]["status"] == "cancelled"
    assert set(hub.deliveries()) == {"done"}


def _cancel_after_completion(hub, **faults):
    """The candidate completes at Canditech; its webhook is held back (``faults``) while an admin
    cancels in the hub. Canditech refuses the cancel (completed)."""
    inv, remote = invited(hub)
    hub.sandbox.faults(**faults)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.cancel(inv.id)
    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.invitations()[0]["status"] == "completed"
    assert "cancel_skipped" in [kind for kind, _ in hub.timeline(inv.id)]
    return inv


def test_a_cancel_that_reached_canditech_after_the_completion_keeps_the_result(hub):
    """The row was cancelled (final) before Canditech was asked, so the completion webhook that
    followed was answered "no_change" and the result never reached the source."""
    _cancel_after_completion(hub, webhook_reorder=True, webhook_reorder_batch=100, webhook_reorder_hold_ms=600_000)
    hub.sandbox.faults(webhook_reorder=False)
    hub.sandbox.flush()  # the completion webhook arrives now
    hub.wait_for(lambda: hub.source.results, what="the result at the source")
    final = hub.invitation()
    assert final.status == "completed" and final.score is not None
    assert [r.score for r in hub.source.results] == [final.score]


def test_a_result_whose_webhook_was_lost_after_a_late_cancel_is_found_by_reconciliation(hub):
    from hub.engine.sweeper import reconcile_all
    from hub.extensions import db

    _cancel_after_completion(hub, webhook_drop_rate=1.0, webhook_drop_forever=True)
    hub.sandbox.quiet()
    with hub.app.app_context():
        assert reconcile_all(hub.runtime) == 1
        db.session.commit()
    hub.wait_for(lambda: hub.source.results, what="the result at the source")
    assert hub.invitation().status == "completed" and len(hub.source.results) == 1
    with hub.app.app_context():
        assert reconcile_all(hub.runtime) == 0  # recorded: no longer watched
        assert hub.ctx().records.keys("result_after_cancel:") == []
        db.session.commit()


# --------------------------------------------------------------------------- archive


def test_archive_cancels_open_invitations_at_canditech(hub):
    inv, remote = invited(hub)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))

    assert hub.invitation().status == "cancelled"
    assert hub.sandbox.invitations()[0]["status"] == "cancelled"
    assert [s.status for s in hub.source.statuses] == ["invited", "cancelled"]

    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=False))  # unarchiving reopens nothing
    assert hub.invitation().status == "cancelled" and len(hub.sandbox.invitations()) == 1


def test_archive_leaves_an_invitation_canditech_already_completed(hub):
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)  # the hub never hears of it
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))

    assert hub.invitation().status == "invited"
    assert hub.sandbox.invitations()[0]["status"] == "completed"
    assert "cancel_skipped" in [kind for kind, _ in hub.timeline(inv.id)]
    assert set(hub.deliveries()) == {"done"}


def test_a_stale_archive_event_cancels_nothing(hub):
    invited(hub)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))  # the source says: not archived now
    assert hub.invitation().status == "invited"
    assert hub.sandbox.invitations()[0]["status"] == "invited"


# --------------------------------------------------------------------------- results back


def test_completion_and_verdict_webhooks_from_the_sandbox(hub):
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], {**PYTHON_ANSWERS, "q4": "c"})  # 3 of 4 right

    hub.wait_for(lambda: hub.source.results, what="the result delivered to the source")
    done = hub.invitation()
    assert done.status == "completed"
    assert done.score == 75 and done.max_score == 100
    assert done.report_url == f"{hub.sandbox.url}/reports/{remote['id']}"
    assert hub.source.results == [AssessmentResult(invitation_id=inv.id, score=75.0, max_score=100.0,
                                                   report_url=done.report_url, completed_at=done.completed_at,
                                                   round=1)]

    hub.sandbox.verdict(remote["id"], "thumbs_up")
    hub.wait_for(lambda: hub.source.verdicts, what="the verdict delivered to the source")
    assert hub.invitation().verdict == "thumbs_up"
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up"]
    assert [s.status for s in hub.source.statuses] == ["invited", "started"]
    records = hub.runtime.context(1, "canditech").records
    # the watch goes on after the verdict (a changed one may be lost too), at its slowest pace
    hub.wait_for(lambda: (records.get(f"awaiting_verdict:{inv.id}") or {}).get("checked_at"),
                 what="the verdict watch to slow down")
    hub.sandbox.quiet()
    assert {e["status"] for e in hub.sandbox.webhook_log()["events"]} == {"delivered"}
    assert "dead" not in hub.deliveries() and "dead" not in hub.deliveries("fakesource")


def test_duplicated_and_reordered_webhooks_end_in_the_same_state(hub):
    inv, remote = invited(hub)
    hub.sandbox.faults(webhook_duplicate_rate=1.0, webhook_reorder=True, webhook_reorder_batch=3,
                       webhook_reorder_hold_ms=50)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.sandbox.verdict(remote["id"], "thumbs_down")
    hub.sandbox.flush()

    hub.wait_for(lambda: hub.source.results and hub.source.verdicts, what="completion and verdict")
    hub.sandbox.quiet()
    assert hub.invitation().status == "completed" and hub.invitation().verdict == "thumbs_down"
    assert hub.invitation().score == 100
    assert len(hub.source.results) == 1 and [v.verdict for v in hub.source.verdicts] == ["thumbs_down"]
    assert any(o == "duplicate" for o, _ in hub.webhook_outcomes())


def test_webhook_ingress_rejects_bad_signatures_and_rereads_thin_payloads(hub):
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)  # so the re-read finds a completed invitation
    hub.wait_for(lambda: hub.source.results, what="completion")
    hub.sandbox.quiet()
    hub.update_invitation(inv.id, status="invited", score=None, report_url=None)

    client = hub.app.test_client()
    url = f"/webhooks/canditech/{hub.runtime.integration(1, 'canditech').webhook_key}"
    thin = json.dumps({"id": "evt-thin-1", "type": "invitation.completed", "created_at": "2026-03-01T10:00:00Z",
                       "data": {"invitation": {"id": remote["id"]}}}).encode()

    bad = client.post(url, data=thin, headers=signed(thin, secret="wrong-secret-123"))
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "invalid_signature"
    assert "wrong-secret" not in bad.get_data(as_text=True)
    stale = client.post(url, data=thin, headers=signed(thin, at=int(time.time()) - 3600))
    assert stale.status_code == 401 and "timestamp" in stale.get_json()["error"]["message"]
    assert client.post(url, data=b"{nope", headers=signed(b"{nope")).status_code == 400

    ok = client.post(url, data=thin, headers=signed(thin))
    assert ok.status_code == 200 and ok.get_json()["status"] == "accepted"
    assert hub.invitation().status == "completed" and hub.invitation().score == 100
    again = client.post(url, data=thin, headers=signed(thin))
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    assert [o for o, _ in hub.webhook_outcomes()][-5:] == ["rejected", "rejected", "rejected", "accepted",
                                                            "duplicate"]


def test_webhook_ingress_answers_4xx_never_500_to_bodies_the_hub_cannot_use(hub):
    inv, remote = invited(hub)
    client = hub.app.test_client()
    url = f"/webhooks/canditech/{hub.runtime.integration(1, 'canditech').webhook_key}"

    def post(body: bytes):
        answer = client.post(url, data=body, headers=signed(body))
        return answer.status_code, answer.get_json()

    def completion(event_id: str, **values) -> bytes:
        invitation = {"id": remote["id"], "status": "completed", "external_reference": inv.external_reference,
                      "score": 75, "max_score": 100, "report_url": "https://canditech.test/reports/1",
                      "completed_at": "2026-03-01T09:55:00Z", **values}
        return json.dumps({"id": event_id, "type": "invitation.completed", "created_at": "2026-03-01T10:00:00Z",
                           "data": {"invitation": invitation}}).encode()

    status, answer = post(b"[" * 50_000)
    assert status == 400 and answer["error"]["message"] == "body is not valid JSON: it is nested too deeply"

    status, answer = post(completion("evt-far", external_reference="hub-inv-1000000000000000000000000000000"))
    assert status == 200 and answer["status"] == "ignored" and "no Canditech invitation" in answer["message"]

    stale = completion("evt-old").replace(b'"created_at": "2026-03-01T10:00:00Z"', b'"created_at": "1999-01-01T00:00:00Z"')
    status, answer = post(stale)  # a completion is recorded without a bad value of its own, not a bad envelope
    assert status == 422 and answer["error"]["code"] == "invalid_fields"
    assert "created_at must be an ISO 8601 timestamp" in answer["error"]["message"]

    assert hub.invitation().status == "invited" and hub.source.results == []
    assert [(o, m[:30]) for o, m in hub.webhook_outcomes()][-3:] == [
        ("rejected", "body is not valid JSON: it is "), ("ignored", "the hub has no Canditech invit"),
        ("rejected", "created_at must be an ISO 8601")]

    status, answer = post(completion("evt-ok"))  # the same completion with usable values is accepted
    assert status == 200 and answer["status"] == "accepted"
    hub.wait_for(lambda: hub.source.results, what="the result")
    assert (hub.invitation().score, hub.invitation().max_score) == (75.0, 100.0)


# --------------------------------------------------------------------------- reconciliation


def test_reconciliation_completes_what_dropped_webhooks_missed(hub):
    from hub.engine.sweeper import reconcile_all

    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    inv, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.sandbox.quiet()
    assert hub.invitation().status == "invited"  # every webhook was lost

    assert reconcile_all(hub.runtime) == 1
    records = hub.runtime.context(1, "canditech").records
    assert records.keys("awaiting_verdict:") == [f"awaiting_verdict:{inv.id}"]  # watched for a verdict
    done = hub.invitation()
    assert done.status == "completed" and done.score == 100
    assert done.report_url == f"{hub.sandbox.url}/reports/{remote['id']}"
    assert [r.score for r in hub.source.results] == [100.0]

    hub.sandbox.verdict(remote["id"], "thumbs_up")  # its webhook is lost too
    assert reconcile_all(hub.runtime) == 1
    assert hub.invitation().verdict == "thumbs_up"
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up"]

    assert records.keys("awaiting_verdict:") == [f"awaiting_verdict:{inv.id}"]  # a changed verdict is still looked for
    assert hub.call("reconcile") == []  # nothing left to find
    assert len(hub.source.results) == 1 and len(hub.source.verdicts) == 1


def test_reconciliation_reports_started_and_expired(hub, monkeypatch):
    from datetime import datetime, timedelta, timezone

    from plugins.canditech import reconciliation

    inv, remote = invited(hub)
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    hub.sandbox._call("POST", f"/_sandbox/invitations/{remote['id']}/start")
    events = hub.call("reconcile")
    assert [(e.external_id, e.event) for e in events] == [
        (f"reconcile:{remote['id']}:started",
         InvitationProgress(invitation_id=inv.id, status="started", occurred_at=events[0].event.occurred_at,
                            round=1))]
    hub.ingest(events[0].event, events[0].external_id, source="canditech")
    hub.sandbox._call("POST", f"/_sandbox/invitations/{remote['id']}/expire")
    # the next check of an invitation checked moments ago is due a tenth of its age later: a
    # clock an hour on makes it due however long the steps above took
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    monkeypatch.setattr(reconciliation, "_now", lambda: later)
    (expired,) = hub.call("reconcile")
    assert expired.external_id == f"reconcile:{remote['id']}:expired" and expired.event.status == "expired"


def test_reconciliation_waits_for_the_configured_age(hub):
    hub.save_settings(canditech_settings(hub.sandbox, reconcile_after_minutes=10))
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    _, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    assert hub.call("reconcile") == []  # invited seconds ago: not yet


# --------------------------------------------------------------------------- connection


def test_registered_by_entry_point_with_test_connection_and_assessments(make_app, sandbox):
    from hub import services
    from hub.runtime import get_runtime

    app = make_app(overrides={"PLUGINS": "canditech"}, entry_points=True)
    with app.app_context():
        runtime = get_runtime()
        spec = runtime.registry.spec("canditech")
        assert (spec.kind, spec.title, spec.secret_fields) == ("assessment", "Canditech", ("api_key", "webhook_secrets"))
        services.save_settings(runtime, 1, "canditech", canditech_settings(sandbox), "test")

        def call(hook):
            return runtime.registry.call("canditech", hook, ctx=runtime.context(1, "canditech"))

        assert call("test_connection") == "Canditech is connected: 4 assessments"  # two pages of two
        assert [a.id for a in call("list_assessments")] == ["asmt-python", "asmt-data", "asmt-support", "asmt-sql"]

        services.save_settings(runtime, 1, "canditech", {"api_key": "not-the-key"}, "test")
        with pytest.raises(HubError, match="missing or invalid API key"):
            call("test_connection")


def test_a_pending_invitation_cut_off_by_a_disable_is_sent_by_replaying_its_cancelled_delivery(hub):
    """What the candidate page tells an admin: disabling cancels the delivery that was sending
    the invitation, which stays pending; once the provider is enabled again, replaying that
    delivery sends it, once."""
    import sqlalchemy as sa

    from hub import services
    from hub.extensions import db
    from hub.store.models import Delivery

    hub.sandbox.faults(error_rate=1.0, error_codes=[503], seed=1)  # Canditech down: the send is retried
    hub.move()
    hub.sandbox.faults()
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}

    services.set_enabled(hub.runtime, 1, "canditech", False, "test")
    assert hub.deliveries() == {"cancelled": 1} and hub.invitation().status == "pending"
    services.set_enabled(hub.runtime, 1, "canditech", True, "test")
    delivery_id = db.session.scalar(sa.select(Delivery.id).where(Delivery.plugin == "canditech"))
    services.replay_delivery(hub.runtime, 1, delivery_id, "test")

    inv = hub.invitation()
    (remote,) = hub.sandbox.invitations()
    assert inv.status == "invited" and inv.provider_invitation_id == remote["id"]
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    assert db.session.get(Delivery, delivery_id, populate_existing=True).status == "done"


def test_two_hubs_on_one_canditech_account_never_share_an_invitation(hub, make_app, tmp_path):
    """Ids repeat across databases (staging and production on one Canditech account, or a hub
    restored from a backup). The reference used to be ``hub-inv-<id>`` alone: the second hub found
    the first one's invitation under it, called its candidate invited, and later took the first
    candidate's score for its own."""
    from hub.engine.sweeper import reconcile_all
    from hub.extensions import db

    from .conftest import POSTING, HubEnv, RecordingSource, canditech

    ada, _ = invited(hub)
    source = RecordingSource()
    other = make_app({"DATABASE_URL": f"sqlite:///{tmp_path}/other-hub.db"},
                     plugins=[("canditech", canditech), ("fakesource", source)], entry_points=False)
    attachment = {"posting_id": POSTING, "posting_name": "Backend Engineer", "stage_id": STAGE,
                  "stage_name": "Canditech Stage", "assessment_id": "asmt-python", "assessment_name": "Python"}
    with HubEnv.serve(other, "canditech", source, settings=canditech_settings(hub.sandbox),
                      attachment=attachment) as second:
        second.candidate("opp-bob", name="Bob Builder", email="bob@example.com")
        second.move("opp-bob")
        bob = second.invitation()
        assert bob.id == ada.id and bob.external_reference != ada.external_reference
        by_email = {r["candidate"]["email"]: r for r in hub.sandbox.invitations()}
        assert set(by_email) == {"ada@example.com", "bob@example.com"}  # Bob was invited too
        assert bob.provider_invitation_id == by_email["bob@example.com"]["id"]

        hub.sandbox.complete(by_email["ada@example.com"]["id"], PYTHON_ANSWERS)
        hub.sandbox.quiet()
        with other.app_context():
            reconcile_all(second.runtime)
            db.session.commit()
        assert second.invitation().status == "invited" and source.results == []  # Ada's score is not Bob's


def test_the_verdict_watch_reads_its_records_in_one_query_however_many(hub):
    """Each watched completion used to cost a query (and a commit) per run just to be looked at:
    14 days of completions are thousands of records, every few minutes."""
    from datetime import datetime, timezone

    import sqlalchemy as sa

    from hub.extensions import db
    from plugins.canditech import reconciliation

    hub.save_settings(canditech_settings(hub.sandbox, reconcile_after_minutes=10))
    now = datetime.now(timezone.utc).isoformat()
    with hub.app.app_context():
        ctx = hub.ctx()
        for n in range(40):  # checked just now, looked at every 10 minutes at most: none is due
            ctx.records.put(f"{reconciliation.AWAITING_VERDICT}{1000 + n}",
                            {"provider_invitation_id": f"inv_{n}", "since": now, "checked_at": now, "verdict": None})
        statements: list[str] = []

        def seen(conn, cursor, statement, *args):
            statements.append(statement)

        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            assert reconciliation.reconcile(ctx) == []
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        assert len(ctx.records.keys(reconciliation.AWAITING_VERDICT)) == 40  # none dropped
    reads = [s for s in statements if "plugin_records" in s and s.lstrip().upper().startswith("SELECT")]
    assert len(reads) <= 5, reads
