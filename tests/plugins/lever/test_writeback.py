"""Write-back hooks against the Lever sandbox: notes, tags, verdicts, stage moves, exactly once."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from hub import services
from hub.entities import AssessmentResult, CandidateDeleted, InvitationProgress, Verdict
from hub.errors import Deferred, TemporaryError
from hub.extensions import db
from hub.store.models import Invitation, TimelineEntry, utcnow
from plugins.lever import writeback
from plugins.lever.readapi import store_record

REPORT = "https://canditech.test/reports/r-1"


@pytest.fixture
def lever(api_key_hub):
    api_key_hub.configure({"perform_as": "user-admin"})
    return api_key_hub


def make_invitation(hub, opportunity: str = "opp-alice", options: dict | None = None, **fields) -> int:
    values = dict(status="completed", score=82.0, max_score=100.0, report_url=REPORT)
    if values["status"] == "completed" or fields.get("status") == "completed":
        # as the hub records a result: when, and the threshold it is judged by
        values.update(completed_at=utcnow(), pass_threshold=(options or {}).get("pass_threshold"))
    values.update(fields)
    with hub.app.app_context():
        attachment = services.save_attachment(1, dict(
            posting_id="posting-backend-engineer", posting_name="Backend Engineer", stage_id="stage-canditech",
            stage_name="Canditech Stage", provider="canditech", assessment_id=f"a-{opportunity}",
            assessment_name="Python Basics", options=options or {}), "test")
        row = Invitation(workspace_id=1, attachment_id=attachment.id, opportunity_id=opportunity,
                         provider="canditech", assessment_id=attachment.assessment_id,
                         assessment_name="Python Basics", **values)
        db.session.add(row)
        db.session.commit()
        return row.id


def set_verdict(hub, invitation_id: int, verdict: str) -> None:
    """A new decision, as the hub records it (``hub.engine.invitations.apply_event``)."""
    with hub.app.app_context():
        row = db.session.get(Invitation, invitation_id)
        row.verdict, row.verdict_at = verdict, utcnow()
        db.session.commit()


def timeline(hub, invitation_id: int) -> list[str]:
    with hub.app.app_context():
        return list(db.session.scalars(sa.select(TimelineEntry.kind).where(
            TimelineEntry.invitation_id == invitation_id).order_by(TimelineEntry.id)))


def timeline_entries(hub, invitation_id: int, kind: str) -> list[tuple[str, dict | None]]:
    """``(detail, refs)`` of the invitation's timeline entries of ``kind``."""
    with hub.app.app_context():
        return [tuple(row) for row in db.session.execute(sa.select(TimelineEntry.detail, TimelineEntry.refs).where(
            TimelineEntry.invitation_id == invitation_id, TimelineEntry.kind == kind).order_by(TimelineEntry.id))]


def note_texts(sandbox, opportunity: str = "opp-alice") -> list[str]:
    return [field["value"] for note in sandbox.notes(opportunity) for field in note["fields"]]


def complete(hub, invitation_id: int, **kwargs):
    result = AssessmentResult(invitation_id=invitation_id, score=kwargs.get("score", 82.0),
                              max_score=kwargs.get("max_score", 100.0), report_url=REPORT)
    hub.call("on_assessment_completed", result=result)


def ref(lever, inv: int) -> str:
    """The invitation's external reference (``hub-inv-<id>-<token>``)."""
    return lever.with_ctx(lambda ctx: ctx.invitations.get(inv).external_reference)


# --------------------------------------------------------------------------- completion


def test_result_note_is_written_once(lever, sandbox):
    inv = make_invitation(lever)
    complete(lever, inv)
    complete(lever, inv)  # a retried delivery
    notes = sandbox.notes("opp-alice")
    assert len(notes) == 1 and sandbox.stats()["notes_created"] == 1
    text = notes[0]["fields"][0]["value"]
    assert "Canditech assessment completed: Python Basics" in text
    assert "Score: 82 / 100 (82%)" in text
    assert f"Report: {REPORT}" in text
    assert text.endswith(f"[ats-hub:{ref(lever, inv)}]") and ref(lever, inv).startswith(f"hub-inv-{inv}-")
    assert notes[0]["user"] == "user-admin"  # perform_as
    assert sandbox.tags("opp-alice") == ["Canditech: completed"]
    assert timeline(lever, inv).count("note_written") == 1
    assert lever.records(f"note:{ref(lever, inv)}")[f"note:{ref(lever, inv)}"]["noteId"] == notes[0]["id"]
    # the note's id is data for the hub (refs), not words on the candidate's page
    assert timeline_entries(lever, inv, "note_written") == [
        ("note with the result written to Lever", {"ats_note": notes[0]["id"]})]


@pytest.mark.parametrize("threshold, line", [(80, "Passed the pass threshold (80%)"),
                                              (90, "Below the pass threshold (90%)"), (None, None)])
def test_the_result_note_says_whether_the_pass_threshold_was_reached(lever, sandbox, threshold, line):
    options = {"pass_threshold": threshold} if threshold is not None else {}
    complete(lever, make_invitation(lever, options=options))  # 82 / 100
    (text,) = note_texts(sandbox)
    assert (line in text) if line else ("pass threshold" not in text)


def test_the_result_note_uses_the_threshold_recorded_with_the_result(lever, sandbox):
    """The attachment's threshold was edited between the result's recording and its note: the
    note must say what the hub's candidate page says (the threshold the result was judged by)."""
    inv = make_invitation(lever, options={"pass_threshold": 80})
    with lever.app.app_context():
        attachment = db.session.get(Invitation, inv).attachment
        attachment.options = {"pass_threshold": 90}
        db.session.commit()
    complete(lever, inv)  # 82 / 100
    (text,) = note_texts(sandbox)
    assert "Passed the pass threshold (80%)" in text


def test_no_tag_when_tagging_is_off(lever, sandbox):
    lever.configure({"tag_results": False})
    complete(lever, make_invitation(lever))
    assert len(sandbox.notes("opp-alice")) == 1 and sandbox.tags("opp-alice") == []


def test_an_unclear_failure_after_the_post_is_recovered_by_the_marker(lever, sandbox, monkeypatch):
    inv = make_invitation(lever)
    key_of_note = f"note:{ref(lever, inv)}"
    real = writeback.store_record
    crashed = []

    def crash_after_post(records, key, value):
        if key == key_of_note and not crashed:
            crashed.append(key)
            raise RuntimeError("worker died after Lever created the note")
        real(records, key, value)

    monkeypatch.setattr(writeback, "store_record", crash_after_post)
    with pytest.raises(RuntimeError):
        complete(lever, inv)
    assert len(sandbox.notes("opp-alice")) == 1
    complete(lever, inv)  # the retry finds the marker instead of posting again
    notes = sandbox.notes("opp-alice")
    assert len(notes) == 1 and sandbox.stats()["notes_created"] == 1
    record = lever.records(key_of_note)
    assert record[key_of_note]["noteId"] == notes[0]["id"]
    assert f"{key_of_note}:attempt" not in record


def test_a_timed_out_post_is_not_repeated(lever, sandbox):
    inv = make_invitation(lever)
    sandbox.control("POST", "/faults", json={"latency_ms": 400})

    def slow(ctx):
        ctx.http.default_timeout = 0.15
        return lever.runtime.registry.call("lever", "on_assessment_completed", ctx=ctx, result=AssessmentResult(
            invitation_id=inv, score=82.0, max_score=100.0, report_url=REPORT))

    with pytest.raises(TemporaryError):
        lever.with_ctx(slow)
    deadline = time.monotonic() + 5
    while not sandbox.notes("opp-alice") and time.monotonic() < deadline:
        time.sleep(0.05)  # Lever finishes the request we stopped waiting for
    sandbox.control("DELETE", "/faults")
    complete(lever, inv)
    assert len(sandbox.notes("opp-alice")) == 1
    assert sandbox.route_count("POST /v1/opportunities/<opp_id>/notes") == 1


def test_candidate_gone_from_lever(lever, sandbox):
    inv = make_invitation(lever, opportunity="opp-erin")
    sandbox.control("DELETE", "/opportunities/opp-erin")
    complete(lever, inv)
    assert "note_skipped" in timeline(lever, inv)
    set_verdict(lever, inv, "thumbs_up")
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))  # not deferred forever


# --------------------------------------------------------------------------- verdicts


def test_verdict_waits_for_the_completion_note(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_up")
    verdict = Verdict(invitation_id=inv, verdict="thumbs_up")
    with pytest.raises(Deferred):
        lever.call("on_verdict", verdict=verdict)
    assert sandbox.notes("opp-alice") == [] and sandbox.tags("opp-alice") == []
    complete(lever, inv)
    lever.call("on_verdict", verdict=verdict)
    lever.call("on_verdict", verdict=verdict)
    texts = note_texts(sandbox)
    assert len(texts) == 2
    assert "completed" in texts[0] and texts[1].startswith("Canditech verdict on Python Basics: thumbs up")
    assert sandbox.tags("opp-alice") == ["Canditech: completed", "Canditech: thumbs up"]


def test_thumbs_up_moves_the_candidate_once(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_up", options={"move_to_stage_on_thumbs_up": "stage-phone-interview"})
    complete(lever, inv)
    for _ in range(3):
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    opportunity = sandbox.opportunity("opp-alice")
    assert opportunity["stage"]["id"] == "stage-phone-interview"
    assert [c["toStageId"] for c in opportunity["stageChanges"]] == ["stage-new-applicant", "stage-phone-interview"]
    assert opportunity["stageChanges"][-1]["userId"] == "user-admin"
    assert sandbox.route_count("PUT /v1/opportunities/<opp_id>/stage") == 1
    assert timeline_entries(lever, inv, "stage_moved") == [
        ("moved in Lever to stage “{stage}” on thumbs up", {"stage": "stage-phone-interview"})]


def test_thumbs_down_archives_with_the_chosen_reason(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_down",
                          options={"archive_reason_on_thumbs_down": "reason-underqualified",
                                   "move_to_stage_on_thumbs_up": "stage-offer"})
    complete(lever, inv)
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_down"))
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_down"))
    opportunity = sandbox.opportunity("opp-alice")
    assert opportunity["archived"]["reason"] == "reason-underqualified"
    assert opportunity["stage"]["id"] == "stage-new-applicant"
    assert sandbox.route_count("PUT /v1/opportunities/<opp_id>/archived") == 1
    assert "Canditech: thumbs down" in sandbox.tags("opp-alice")
    assert timeline_entries(lever, inv, "archived") == [
        ("archived in Lever (reason: {archive_reason}) on thumbs down", {"archive_reason": "reason-underqualified"})]


def test_the_candidate_page_names_the_stage_and_reason_lever_wrote_and_hides_the_note_id(lever, sandbox):
    from tests.web.support import make_user, sign_in

    up = make_invitation(lever, verdict="thumbs_up", options={"move_to_stage_on_thumbs_up": "stage-phone-interview"})
    complete(lever, up)
    lever.call("on_verdict", verdict=Verdict(invitation_id=up, verdict="thumbs_up"))
    down = make_invitation(lever, "opp-bob", verdict="thumbs_down",
                           options={"archive_reason_on_thumbs_down": "reason-underqualified"})
    complete(lever, down)
    lever.call("on_verdict", verdict=Verdict(invitation_id=down, verdict="thumbs_down"))
    with lever.app.app_context():
        make_user(1, "admin@writeback.test", "admin")
        db.session.commit()
    client = lever.app.test_client()
    assert sign_in(client, "admin@writeback.test").status_code == 302
    moved = client.get(f"/candidates/{up}").get_data(as_text=True)
    assert "moved in Lever to stage “Phone Interview” on thumbs up" in moved
    assert "note with the result written to Lever" in moved
    assert sandbox.notes("opp-alice")[0]["id"] not in moved
    archived = client.get(f"/candidates/{down}").get_data(as_text=True)
    assert "archived in Lever (reason: Underqualified) on thumbs down" in archived


def test_a_changed_verdict_replaces_the_tag_and_a_stale_one_is_ignored(lever, sandbox):
    inv = make_invitation(lever, verdict="thumbs_up")
    complete(lever, inv)
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    set_verdict(lever, inv, "thumbs_down")
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_down"))
    assert sandbox.tags("opp-alice") == ["Canditech: completed", "Canditech: thumbs down"]
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))  # late redelivery
    assert sandbox.tags("opp-alice") == ["Canditech: completed", "Canditech: thumbs down"]
    assert len(sandbox.notes("opp-alice")) == 3


def test_a_verdict_changed_back_is_written_again(lever, sandbox):
    """Up, then down, then up again: Lever ends with "thumbs up" and a note for each decision (the
    third found the first one's records and wrote nothing, leaving "thumbs down" in Lever)."""
    inv = make_invitation(lever)
    complete(lever, inv)
    for decision in ("thumbs_up", "thumbs_down", "thumbs_up"):
        set_verdict(lever, inv, decision)
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict=decision))
        lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict=decision))  # a redelivery
    assert sandbox.tags("opp-alice") == ["Canditech: completed", "Canditech: thumbs up"]
    verdict_notes = [text for text in note_texts(sandbox) if " verdict on " in text]
    assert [text.split(": ")[1].split("\n")[0] for text in verdict_notes] == ["thumbs up", "thumbs down", "thumbs up"]


def test_a_verdict_changed_and_back_before_the_change_was_written_writes_nothing_new(lever, sandbox):
    """Up written; the reviewer goes down and back up before the "down" delivery runs: Lever shows
    "thumbs up" already, so neither delivery writes anything (a second "up" note was posted)."""
    inv = make_invitation(lever)
    complete(lever, inv)
    set_verdict(lever, inv, "thumbs_up")
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    set_verdict(lever, inv, "thumbs_down")
    set_verdict(lever, inv, "thumbs_up")
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_down"))  # superseded
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert sandbox.tags("opp-alice") == ["Canditech: completed", "Canditech: thumbs up"]
    assert len([text for text in note_texts(sandbox) if " verdict on " in text]) == 1


def test_a_verdict_written_before_keys_named_the_decision_is_not_written_again(lever, sandbox):
    inv = make_invitation(lever)
    complete(lever, inv)
    set_verdict(lever, inv, "thumbs_up")
    reference = ref(lever, inv)
    for prefix in (f"verdict-tag:{reference}:thumbs_up", f"verdict-note:{reference}:thumbs_up"):
        lever.with_ctx(lambda ctx: store_record(ctx.records, prefix, {"noteId": "n-old", "at": time.time() + 1}))
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert sandbox.tags("opp-alice") == ["Canditech: completed"]  # the legacy records count as done
    assert not [text for text in note_texts(sandbox) if " verdict on " in text]


# --------------------------------------------------------------------------- invitation failures, deletion


def test_failed_invitation_is_tagged_once(lever, sandbox):
    inv = make_invitation(lever, opportunity="opp-nomail", status="failed", score=None, max_score=None,
                          report_url=None, failure_reason="the candidate has no email address")
    lever.call("on_invitation_status", progress=InvitationProgress(invitation_id=inv, status="invited"))
    assert sandbox.tags("opp-nomail") == []
    progress = InvitationProgress(invitation_id=inv, status="failed", reason="the candidate has no email address")
    lever.call("on_invitation_status", progress=progress)
    lever.call("on_invitation_status", progress=progress)
    assert sandbox.tags("opp-nomail") == ["Assessment not sent"]
    (text,) = note_texts(sandbox, "opp-nomail")
    assert "Python Basics was not sent: the candidate has no email address" in text


def test_candidate_deleted_forgets_the_candidates_records(lever, sandbox):
    gone = make_invitation(lever, opportunity="opp-bob")
    kept = make_invitation(lever, opportunity="opp-carol")
    complete(lever, gone)
    complete(lever, kept)
    lever.call("on_candidate_deleted", deletion=CandidateDeleted(opportunity_id="opp-bob"))
    keys = set(lever.records())
    assert not any(ref(lever, gone) in key.split(":") for key in keys)
    assert f"note:{ref(lever, kept)}" in keys
