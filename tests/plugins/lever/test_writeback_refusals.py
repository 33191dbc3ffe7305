"""A 404 to a write-back is not always a deleted candidate: Lever answers 404 as well for a
``perform_as`` user, a stage or an archive reason it does not know. Those fail the delivery for
good with Lever's words, visibly; only a truly deleted opportunity is skipped as deleted."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.engine.ingest import ingest
from hub.entities import AssessmentResult, InboundEvent, InvitationProgress, Verdict
from hub.errors import Deferred, HubError, PermanentError
from hub.extensions import db
from hub.store.models import D_DEAD, Delivery
from hub.testing import run_deliveries
from plugins.lever import readapi
from plugins.lever.settings import LeverSettingsSchema
from tests.plugins.lever.test_writeback import REPORT, complete, make_invitation, note_texts, ref, set_verdict, \
    timeline, timeline_entries

PERFORM_AS_HINT = "check “Write as Lever user” (perform_as) in the hub's Lever settings"


@pytest.fixture
def lever(api_key_hub):
    api_key_hub.configure({"perform_as": "user-admin"})
    return api_key_hub


def refusals(hub, inv: int) -> list[str]:
    return [detail for detail, _ in timeline_entries(hub, inv, "lever_refused")]


# --------------------------------------------------------------------------- the result note


def test_a_wrong_perform_as_fails_the_result_for_good_with_levers_message(lever, sandbox):
    lever.configure({"perform_as": "user-typo"})
    inv = make_invitation(lever)
    with pytest.raises(PermanentError) as info:  # the delivery is dead, not retried
        complete(lever, inv)
    message = info.value.args[0]
    assert message.startswith("Lever refused the note: users user-typo was not found; " + PERFORM_AS_HINT)
    assert refusals(lever, inv) == [message]
    assert "note_skipped" not in timeline(lever, inv)
    assert lever.records(f"note:{ref(lever, inv)}") == {}  # neither skipped nor a stale attempt
    assert sandbox.notes("opp-alice") == []

    lever.configure({"perform_as": "user-admin"})  # the admin fixes the setting and replays
    complete(lever, inv)
    assert len(sandbox.notes("opp-alice")) == 1 and "note_written" in timeline(lever, inv)


def test_the_verdict_of_a_refused_result_waits_instead_of_vanishing(lever, sandbox):
    lever.configure({"perform_as": "user-typo"})
    inv = make_invitation(lever, verdict="thumbs_up")
    with pytest.raises(PermanentError):
        complete(lever, inv)
    with pytest.raises(Deferred) as info:  # it used to return early as if the candidate were deleted
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    # its delivery says why it waits and what to do, not only "not in Lever yet"
    waiting = str(info.value)
    assert waiting.startswith("the completion note is not in Lever yet, and the verdict follows it. "
                              "Lever refused the note: users user-typo was not found; " + PERFORM_AS_HINT)
    assert "then replay the note's delivery on the Activity page" in waiting

    lever.configure({"perform_as": "user-admin"})  # fixed, and the note replayed
    complete(lever, inv)
    assert lever.records("note-refused:") == {}
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert [text for text in note_texts(sandbox) if "thumbs up" in text]


def test_the_verdict_runs_as_soon_as_the_replayed_note_is_done(lever, sandbox):
    """The verdict's delivery defers while the refused note's delivery is dead; replaying the note
    (once fixed) makes the verdict due at once, not after its deferral's wait."""
    from hub.engine.runner import replay, run_delivery
    from hub.store.models import utcnow

    lever.configure({"perform_as": "user-typo"})
    inv = make_invitation(lever, verdict="thumbs_up")
    with lever.app.app_context():
        lever.runtime.queue = None
        ingest(lever.runtime, 1, "hub", InboundEvent(external_id=f"result-{inv}", event=AssessmentResult(
            invitation_id=inv, score=82.0, max_score=100.0, report_url=REPORT)))
        ingest(lever.runtime, 1, "hub", InboundEvent(external_id=f"verdict-{inv}", event=Verdict(
            invitation_id=inv, verdict="thumbs_up")))
        note_id, verdict_id = db.session.scalars(sa.select(Delivery.id).where(
            Delivery.plugin == "lever").order_by(Delivery.id)).all()
        assert run_delivery(lever.runtime, note_id) == D_DEAD
        assert run_delivery(lever.runtime, verdict_id) == "deferred"
        waiting = db.session.get(Delivery, verdict_id)
        assert waiting.next_attempt_at > utcnow() and "Lever refused the note" in waiting.last_error
        db.session.commit()

        lever.configure({"perform_as": "user-admin"})
        assert replay(note_id, 1)
        assert run_delivery(lever.runtime, note_id) == "done"
        woken = db.session.get(Delivery, verdict_id, populate_existing=True)
        assert woken.status == "retry" and woken.next_attempt_at <= utcnow()
        assert run_delivery(lever.runtime, verdict_id) == "done"
    notes = note_texts(sandbox)
    assert len(notes) == 2 and "thumbs up" in notes[1]


def test_the_refused_delivery_is_dead_on_activity_with_levers_message(lever, sandbox):
    lever.configure({"perform_as": "user-typo"})
    inv = make_invitation(lever)
    with lever.app.app_context():
        lever.runtime.queue = None  # nothing runs by itself; run_deliveries runs it here
        ingest(lever.runtime, 1, "hub", InboundEvent(external_id=f"result-{inv}", event=AssessmentResult(
            invitation_id=inv, score=82.0, max_score=100.0, report_url=REPORT)))
    run_deliveries(lever.app)
    with lever.app.app_context():
        (row,) = db.session.execute(sa.select(Delivery.status, Delivery.attempts, Delivery.last_error).where(
            Delivery.plugin == "lever")).all()
    status, attempts, error = row
    assert status == D_DEAD and attempts == 1
    assert "Lever refused the note: users user-typo was not found; " + PERFORM_AS_HINT in error


def test_a_deleted_opportunity_is_still_skipped_as_deleted(lever, sandbox):
    inv = make_invitation(lever, opportunity="opp-erin")
    sandbox.control("DELETE", "/opportunities/opp-erin")
    complete(lever, inv)  # no error: there is nothing left to write to
    key = f"note:{ref(lever, inv)}"
    records = lever.records(key)
    assert records[key]["skipped"] == "opportunity not found"
    assert f"{key}:attempt" not in records  # Lever's 404 created nothing: no attempt to search for later
    assert timeline_entries(lever, inv, "note_skipped") == [("the candidate no longer exists in Lever", None)]
    assert refusals(lever, inv) == []


# --------------------------------------------------------------------------- verdicts and failures


def test_a_deleted_stage_to_move_to_on_thumbs_up_is_a_visible_failure(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_up", options={"move_to_stage_on_thumbs_up": "stage-deleted"})
    complete(lever, inv)
    with pytest.raises(PermanentError) as info:
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    message = info.value.args[0]
    assert message.startswith("Lever refused the stage move: stages stage-deleted was not found; check “On thumbs "
                              "up, move to stage” in the assessment's options")
    assert PERFORM_AS_HINT not in message  # Lever named the stage, not the user
    assert refusals(lever, inv) == [message]
    assert "stage_moved" not in timeline(lever, inv)
    assert sandbox.opportunity("opp-alice")["stage"]["id"] == "stage-new-applicant"
    assert lever.records(f"verdict:{ref(lever, inv)}") == {}  # not marked as written: a replay moves it


def test_a_deleted_archive_reason_for_thumbs_down_is_a_visible_failure(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_down", options={"archive_reason_on_thumbs_down": "reason-deleted"})
    complete(lever, inv)
    with pytest.raises(PermanentError) as info:
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_down"))
    assert info.value.args[0].startswith(
        "Lever refused the archiving: archive_reasons reason-deleted was not found; check “On thumbs down, "
        "archive with reason”")
    assert sandbox.opportunity("opp-alice")["archived"] is None


def test_a_verdict_written_as_an_unknown_user_is_refused(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_up")
    complete(lever, inv)
    lever.configure({"perform_as": "user-typo"})
    with pytest.raises(PermanentError) as info:
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert info.value.args[0].startswith("Lever refused the removal of a tag: users user-typo was not found; "
                                         + PERFORM_AS_HINT)
    assert "Canditech: thumbs up" not in sandbox.tags("opp-alice")


def test_a_failure_written_as_an_unknown_user_is_refused(lever, sandbox):
    lever.configure({"perform_as": "user-typo"})
    inv = make_invitation(lever, status="failed", failure_reason="no email address")
    with pytest.raises(PermanentError) as info:
        lever.call("on_invitation_status", progress=InvitationProgress(invitation_id=inv, status="failed",
                                                                       reason="no email address"))
    assert info.value.args[0].startswith("Lever refused the tags: users user-typo was not found; " + PERFORM_AS_HINT)
    assert refusals(lever, inv) == [info.value.args[0]]


def test_a_verdict_for_a_deleted_opportunity_is_not_an_error(lever, sandbox):
    inv = make_invitation(lever, opportunity="opp-erin", verdict="thumbs_up")
    complete(lever, inv)
    sandbox.control("DELETE", "/opportunities/opp-erin")
    set_verdict(lever, inv, "thumbs_up")
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert refusals(lever, inv) == []


# --------------------------------------------------------------------------- Test connection, caches, form


def test_test_connection_refuses_an_unknown_perform_as_user(lever, sandbox):
    lever.configure({"perform_as": "user-typo"})
    with pytest.raises(HubError) as info:
        lever.call("test_connection")
    assert "Lever has no user user-typo (“users user-typo was not found”)" in info.value.message
    assert "“Write as Lever user”" in info.value.message
    assert lever.integration()["status"] != "connected"
    lever.configure({"perform_as": "user-admin"})
    assert lever.call("test_connection").startswith("Lever is connected")


class _Users:
    """A client whose ``GET /users/:id`` answers ``user``."""

    def __init__(self, user: dict):
        self.user = user

    def get_data(self, path, params=None):
        assert path == "/users/" + self.user["id"]
        return self.user


def test_a_deactivated_perform_as_user_is_a_problem():
    assert readapi.perform_as_problem(_Users({"id": "u1", "deactivatedAt": 1700000000000}), "u1") == \
        "the Lever user u1 is deactivated"
    assert readapi.perform_as_problem(_Users({"id": "u1", "deactivatedAt": None}), "u1") is None
    assert readapi.perform_as_problem(_Users({"id": "u1"}), None) is None


def test_test_connection_clears_the_archive_reasons_cache(api_key_hub, sandbox):
    route = "GET /v1/archive_reasons"
    api_key_hub.call("source_list_archive_reasons")
    calls = sandbox.route_count(route)
    api_key_hub.call("test_connection")
    api_key_hub.call("source_list_archive_reasons")
    assert sandbox.route_count(route) == calls + 1


def test_the_perform_as_field_says_archives_are_written_as_that_user_too():
    description = LeverSettingsSchema().fields["perform_as"].metadata["description"]
    assert "archives" in description
