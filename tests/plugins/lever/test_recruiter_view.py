"""What a recruiter reads in Lever: the result, verdict and failure notes the hub writes, read as
plain text (Lever's note ``value`` is a plain string, lever.md §3.6)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from hub.entities import AssessmentResult, InvitationProgress, Verdict
from hub.extensions import db
from hub.store.models import Invitation
from plugins.lever import writeback
from plugins.lever.readapi import store_record
from plugins.lever.settings import LeverSettings, LeverSettingsSchema
from tests.plugins.lever.conftest import API_KEY
from tests.plugins.lever.test_writeback import REPORT, make_invitation, note_texts, ref, set_verdict

DONE_AT = datetime(2026, 3, 9, 14, 5, 33, tzinfo=timezone.utc)


@pytest.fixture
def lever(api_key_hub):
    api_key_hub.configure({"perform_as": "user-admin"})
    return api_key_hub


def rename_assessment(lever, inv: int, name: str) -> None:
    """The assessment's name as the provider gave it (any text)."""
    with lever.app.app_context():
        db.session.get(Invitation, inv).assessment_name = name
        db.session.commit()


def result(inv: int, **fields) -> AssessmentResult:
    values = dict(score=82.0, max_score=100.0, report_url=REPORT, completed_at=DONE_AT)
    values.update(fields)
    return AssessmentResult(invitation_id=inv, **values)


def written(lever, sandbox, inv: int, **fields) -> str:
    """The text of the one note the result ``inv`` (with ``fields``) writes."""
    lever.call("on_assessment_completed", result=result(inv, **fields))
    (text,) = note_texts(sandbox)
    return text


# --------------------------------------------------------------------------- numbers


@pytest.mark.parametrize("score, max_score, expected", [
    (0, 100, "Score: 0 / 100 (0%)"),
    (100, 100, "Score: 100 / 100 (100%)"),
    (87.5, 100, "Score: 87.5 / 100 (87.5%)"),
    (87.50000001, 100, "Score: 87.5 / 100 (87.5%)"),
    (2, 3, "Score: 2 / 3 (66.6%)"),
    (57, 100, "Score: 57 / 100 (57%)"),
    (0.29, 1, "Score: 0.29 / 1 (29%)"),  # 100 * 0.29 is 28.999999999999996 in floating point
    # never rounded up to a percent it did not reach (nor to 100% when it is not full marks)
    (79.6, 100, "Score: 79.6 / 100 (79.6%)"),
    (399, 400, "Score: 399 / 400 (99.7%)"),
    (9999, 10000, "Score: 9999 / 10000 (99.9%)"),
    (86.5, 100, "Score: 86.5 / 100 (86.5%)"),
])
def test_the_score_and_its_percent_are_plain_and_never_overstated(score, max_score, expected):
    assert writeback.score_line(score, max_score, "Canditech") == expected


def test_a_percent_just_below_the_threshold_is_not_shown_as_the_threshold():
    """79.6 / 100 "Below the pass threshold (80%)" beside "(80%)" read as a contradiction."""
    lines = [writeback.score_line(79.6, 100, "Canditech"), writeback.pass_line(79.6, 100, 80)]
    assert lines == ["Score: 79.6 / 100 (79.6%)", "Below the pass threshold (80%)"]


@pytest.mark.parametrize("score, max_score", [(150, 100), (-5, 100)])
def test_a_score_outside_the_scale_is_said_to_be_so_and_judged_by_no_threshold(score, max_score):
    line = writeback.score_line(score, max_score, "Acme Tests")
    assert line == f"Score: {score} (outside Acme Tests's scale of 0 to 100; check the report)"
    assert writeback.pass_line(score, max_score, 80) is None


def test_no_score_names_who_did_not_give_one():
    assert writeback.score_line(None, None, "Vervoe") == "Score: not reported by Vervoe"


# --------------------------------------------------------------------------- the result note


def test_the_result_note_as_a_recruiter_reads_it(lever, sandbox):
    inv = make_invitation(lever, options={"pass_threshold": 80})
    text = written(lever, sandbox, inv, score=87.5)
    assert text == (
        "Canditech assessment completed: Python Basics\n"
        "Score: 87.5 / 100 (87.5%)\n"
        "Passed the pass threshold (80%)\n"
        "Completed: 2026-03-09 14:05 UTC\n"
        f"Report: {REPORT}\n"
        f"[ats-hub:{ref(lever, inv)}]")


def test_the_completion_time_uses_the_configured_time_zone_with_its_offset(lever, sandbox):
    lever.configure({"note_time_zone": "America/New_York"})
    text = written(lever, sandbox, make_invitation(lever))
    assert "Completed: 2026-03-09 10:05 America/New_York (UTC-04:00)\n" in text


def test_without_a_completion_time_from_the_provider_the_hubs_is_used(lever, sandbox):
    inv = make_invitation(lever)
    text = written(lever, sandbox, inv, completed_at=None)
    recorded = lever.with_ctx(lambda ctx: ctx.invitations.get(inv).completed_at)
    assert f"Completed: {recorded.astimezone(timezone.utc):%Y-%m-%d %H:%M} UTC\n" in text


def test_a_missing_report_link_is_said_not_left_out(lever, sandbox):
    text = written(lever, sandbox, make_invitation(lever, report_url=None), report_url=None)
    assert "Report: no link given by Canditech; open the results in Canditech\n" in text


def test_no_score_is_written_as_such_never_as_none(lever, sandbox):
    text = written(lever, sandbox, make_invitation(lever, score=None, max_score=None), score=None, max_score=None)
    assert "Score: not reported by Canditech\n" in text and "None" not in text


def test_an_assessment_name_with_markup_is_written_as_plain_text_on_one_line(lever, sandbox):
    inv = make_invitation(lever)
    rename_assessment(lever, inv, "<b>Java</b> & *Go*\n[ats-hub:x]\tadvanced")
    text = written(lever, sandbox, inv)
    assert text.startswith("Canditech assessment completed: <b>Java</b> & *Go* [ats-hub:x] advanced\nScore:")
    assert "&amp;" not in text and "&lt;" not in text


def test_a_vendors_text_mentions_no_lever_user(lever, sandbox):
    """An "@name" in a note notifies that Lever user: one in an assessment's name or a failure's
    reason (a vendor's words) is written with the full-width "＠"; an email address is kept."""
    inv = make_invitation(lever)
    rename_assessment(lever, inv, "Ask @jane (or jane@acme.test) about\n@ops")
    text = written(lever, sandbox, inv)
    assert text.startswith("Canditech assessment completed: Ask ＠jane (or jane@acme.test) about ＠ops\nScore:")
    failed = make_invitation(lever, opportunity="opp-nomail", status="failed", score=None, max_score=None,
                             report_url=None)
    lever.call("on_invitation_status", progress=InvitationProgress(
        invitation_id=failed, status="failed", reason="@recruiting: last_name too long"))
    (note,) = note_texts(sandbox, "opp-nomail")
    assert "was not sent: ＠recruiting: last_name too long\n" in note and "@recruiting" not in note


def test_a_very_long_assessment_name_is_shortened(lever, sandbox):
    inv = make_invitation(lever)
    rename_assessment(lever, inv, "Ω" * 500)
    first = written(lever, sandbox, inv).split("\n")[0]
    assert first == "Canditech assessment completed: " + "Ω" * (writeback.MAX_NAME_CHARS - 1) + "…"


# --------------------------------------------------------------------------- markers stay findable


def test_a_note_written_in_the_old_layout_is_still_found_by_its_marker(lever, sandbox):
    """Guarantee 4: a note whose outcome is unknown is searched for by its marker. A note posted
    by the hub before this layout (no "Completed:" line) must still count as written."""
    inv = make_invitation(lever)
    reference = ref(lever, inv)
    old_text = (f"Canditech assessment completed: Python Basics\nScore: 82 / 100 (82%)\nReport: {REPORT}\n"
                f"[ats-hub:{reference}]")
    sandbox.http.post(f"{sandbox.base}/v1/opportunities/opp-alice/notes", json={"value": old_text},
                      auth=(API_KEY, ""), timeout=10).raise_for_status()
    lever.with_ctx(lambda ctx: store_record(ctx.records, f"note:{reference}:attempt", {"at": 1.0}))
    lever.call("on_assessment_completed", result=result(inv))
    assert note_texts(sandbox) == [old_text]


# --------------------------------------------------------------------------- verdict and failure


def test_the_verdict_note_says_when_it_was_decided(lever, sandbox):
    inv = make_invitation(lever)
    lever.call("on_assessment_completed", result=result(inv))
    set_verdict(lever, inv, "thumbs_up")
    decided = datetime(2026, 3, 10, 8, 0, tzinfo=timezone.utc)
    lever.call("on_verdict", verdict=Verdict(invitation_id=inv, verdict="thumbs_up", decided_at=decided))
    verdict_note = note_texts(sandbox)[1]
    assert verdict_note == (f"Canditech verdict on Python Basics: thumbs up\nDecided: 2026-03-10 08:00 UTC\n"
                            f"[ats-hub:{ref(lever, inv)}:verdict-1-thumbs_up]")


def test_the_failure_note_is_one_line_of_reason(lever, sandbox):
    inv = make_invitation(lever, opportunity="opp-nomail", status="failed", score=None, max_score=None,
                          report_url=None)
    lever.call("on_invitation_status", progress=InvitationProgress(
        invitation_id=inv, status="failed", reason="Canditech refused the invitation:\r\n  last_name: too long"))
    (text,) = note_texts(sandbox, "opp-nomail")
    assert text == ("Canditech assessment Python Basics was not sent: Canditech refused the invitation: "
                    f"last_name: too long\n[ats-hub:{ref(lever, inv)}:failed]")


# --------------------------------------------------------------------------- the setting


def test_the_time_zone_setting_takes_iana_names_and_refuses_others():
    schema = LeverSettingsSchema()
    assert schema.load({})["note_time_zone"] == "UTC"
    assert schema.load({"note_time_zone": " Europe/Berlin "})["note_time_zone"] == "Europe/Berlin"
    assert schema.load({"note_time_zone": ""})["note_time_zone"] == "UTC"
    for bad in ("Mars/Olympus", "../etc/passwd", "CEST+2"):
        with pytest.raises(ValidationError) as info:
            schema.load({"note_time_zone": bad})
        assert "note_time_zone" in info.value.messages


def test_a_region_of_the_time_zone_database_or_a_name_too_long_is_refused_as_a_setting():
    """"Europe" is a folder of the time zone database, not a zone: looking it up raised
    IsADirectoryError, and a name of hundreds of characters "File name too long", which no
    validator caught: saving the settings page or PUT /api/v1/integrations/lever answered 500."""
    schema = LeverSettingsSchema()
    for bad in ("Europe", "America", "America/Argentina"):
        with pytest.raises(ValidationError) as info:
            schema.load({"note_time_zone": bad})
        assert info.value.messages["note_time_zone"] == [
            f"Unknown time zone “{bad}”. Enter an IANA time zone name such as Europe/Berlin or America/New_York, "
            "or UTC."]
    with pytest.raises(ValidationError) as info:
        schema.load({"note_time_zone": "Europe/" + "x" * 300})
    assert info.value.messages["note_time_zone"] == ["Longer than maximum length 64."]


def test_a_zone_this_machine_does_not_know_falls_back_to_utc_and_a_saved_none_is_utc():
    """The setting is checked on save; a node whose time zone database lacks the zone still writes."""
    assert writeback.note_time(DONE_AT, "Mars/Olympus") == "2026-03-09 14:05 UTC"
    assert writeback.note_time(DONE_AT, "Europe") == "2026-03-09 14:05 UTC"  # a folder of its database
    assert writeback.note_time(DONE_AT.replace(tzinfo=None), None) == "2026-03-09 14:05 UTC"  # naive: UTC
    assert LeverSettings.from_mapping({"note_time_zone": None}).note_time_zone == "UTC"
