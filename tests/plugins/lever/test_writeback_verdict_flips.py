"""A verdict whose write-back stopped half-way (its tag and note written, its stage move refused)
and is then flipped by the reviewer: the new verdict writes its own tag and note, once. Before,
the records of a write were keyed by its number only, which the flipped verdict got again: it
found the first verdict's records and skipped, so Lever kept showing thumbs up."""

from __future__ import annotations

import pytest

from hub.entities import Verdict
from hub.errors import PermanentError
from hub.extensions import db
from hub.store.models import Attachment, Invitation
from plugins.lever import writeback
from plugins.lever.client import LeverClient
from tests.plugins.lever.test_writeback import complete, make_invitation, note_texts, ref, set_verdict, timeline

UP, DOWN = "Canditech: thumbs up", "Canditech: thumbs down"
ADD_TAGS = "POST /v1/opportunities/<opp_id>/addTags"  # the sandbox's route


@pytest.fixture
def lever(api_key_hub):
    api_key_hub.configure({"perform_as": "user-admin"})
    return api_key_hub


def decide(lever, inv: int, verdict: str) -> None:
    """The reviewer decides ``verdict``: the hub records it and delivers ``on_verdict``."""
    set_verdict(lever, inv, verdict)
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict=verdict))


def verdict_notes(sandbox) -> list[str]:
    return [text.split("\n")[0] for text in note_texts(sandbox) if " verdict on " in text]


def thumbs_up_refused(lever, **options) -> int:
    """Thumbs up whose tag and note reach Lever but whose stage move Lever refuses (the stage was
    deleted): the delivery is dead, the verdict not marked as written."""
    inv = make_invitation(lever, options={"move_to_stage_on_thumbs_up": "stage-deleted", **options})
    complete(lever, inv)
    with pytest.raises(PermanentError):
        decide(lever, inv, "thumbs_up")
    return inv


def test_a_verdict_flipped_after_a_refused_stage_move_writes_its_own_tag_and_note_once(lever, sandbox):
    inv = thumbs_up_refused(lever)
    assert UP in sandbox.tags("opp-alice")
    assert verdict_notes(sandbox) == ["Canditech verdict on Python Basics: thumbs up"]

    decide(lever, inv, "thumbs_down")
    assert DOWN in sandbox.tags("opp-alice") and UP not in sandbox.tags("opp-alice")
    assert verdict_notes(sandbox) == ["Canditech verdict on Python Basics: thumbs up",
                                      "Canditech verdict on Python Basics: thumbs down"]
    assert timeline(lever, inv).count("verdict_written") == 2
    assert lever.records(f"verdict:{ref(lever, inv)}")[f"verdict:{ref(lever, inv)}"]["verdict"] == "thumbs_down"

    notes, tags = len(sandbox.notes("opp-alice")), sandbox.tags("opp-alice")
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_down"))  # a replay
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))  # the dead one, replayed
    assert len(sandbox.notes("opp-alice")) == notes and sandbox.tags("opp-alice") == tags
    assert timeline(lever, inv).count("verdict_written") == 2


def test_up_down_up_each_unfinished_shows_the_last_one(lever, sandbox):
    inv = thumbs_up_refused(lever, archive_reason_on_thumbs_down="reason-deleted")
    with pytest.raises(PermanentError):  # its archive is refused: unfinished too
        decide(lever, inv, "thumbs_down")
    with pytest.raises(PermanentError):  # the stage is still refused, after the tag and note
        decide(lever, inv, "thumbs_up")
    assert UP in sandbox.tags("opp-alice") and DOWN not in sandbox.tags("opp-alice")
    assert [line.rsplit(" ", 2)[-2:] for line in verdict_notes(sandbox)] == [
        ["thumbs", "up"], ["thumbs", "down"], ["thumbs", "up"]]


def test_a_fixed_refusal_replayed_moves_without_writing_again(lever, sandbox):
    inv = thumbs_up_refused(lever)
    notes, tags = len(sandbox.notes("opp-alice")), sandbox.tags("opp-alice")
    with lever.app.app_context():  # the admin picks an existing stage, then replays the dead delivery
        attachment = db.session.get(Attachment, db.session.get(Invitation, inv).attachment_id)
        attachment.options = {"move_to_stage_on_thumbs_up": "stage-phone-interview"}
        db.session.commit()
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert sandbox.opportunity("opp-alice")["stage"]["id"] == "stage-phone-interview"
    assert len(sandbox.notes("opp-alice")) == notes and sandbox.tags("opp-alice") == tags
    assert lever.records(f"verdict-pending:{ref(lever, inv)}") == {}


def test_an_unfinished_write_of_the_version_before_is_taken_over_not_repeated(lever, sandbox):
    """Records of a write keyed by its number only (before this change): replaying the same verdict
    finds its tag record and its note (by the old marker) and writes nothing twice."""
    inv = make_invitation(lever)
    complete(lever, inv)
    set_verdict(lever, inv, "thumbs_up")
    reference = ref(lever, inv)

    def old_version_wrote(ctx):  # what the version before wrote for write 1 before a refusal
        client = LeverClient(ctx)
        writeback.tag_once(ctx, client, "opp-alice", f"verdict-tag:{reference}:1", [UP], remove=[DOWN])
        writeback.write_note_once(ctx, client, "opp-alice", f"verdict-note:{reference}:1",
                                  writeback.marker(reference, "verdict-1"),
                                  "Canditech verdict on Python Basics: thumbs up")

    lever.with_ctx(old_version_wrote)
    routes = sandbox.route_count(ADD_TAGS)
    assert routes >= 1
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))
    assert verdict_notes(sandbox) == ["Canditech verdict on Python Basics: thumbs up"]
    assert sandbox.route_count(ADD_TAGS) == routes
    record = lever.records(f"verdict:{reference}")[f"verdict:{reference}"]
    assert (record["verdict"], record["n"]) == ("thumbs_up", 1)


def test_back_to_a_finished_verdict_after_an_unfinished_other_one_is_written_again(lever, sandbox):
    """Thumbs up written in full; thumbs down's tag and note written, its archive refused; then
    thumbs up again. The last finished write said "thumbs up", so it was skipped as shown, and
    Lever kept the thumbs-down tag and note while the decision was thumbs up."""
    inv = make_invitation(lever, options={"archive_reason_on_thumbs_down": "reason-deleted"})
    complete(lever, inv)
    decide(lever, inv, "thumbs_up")
    with pytest.raises(PermanentError):
        decide(lever, inv, "thumbs_down")
    assert DOWN in sandbox.tags("opp-alice")
    decide(lever, inv, "thumbs_up")
    assert UP in sandbox.tags("opp-alice") and DOWN not in sandbox.tags("opp-alice")
    assert [line.rsplit(" ", 2)[-2:] for line in verdict_notes(sandbox)] == [
        ["thumbs", "up"], ["thumbs", "down"], ["thumbs", "up"]]
    notes = len(sandbox.notes("opp-alice"))
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up"))  # a replay
    assert len(sandbox.notes("opp-alice")) == notes and DOWN not in sandbox.tags("opp-alice")
