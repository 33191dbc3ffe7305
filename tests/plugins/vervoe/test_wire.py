"""Vervoe's wire format as the plugin reads it: the signature (against vectors computed here with
``hmac``, not with the plugin's code), scores, statuses, reports, the report -> hub event mapping,
and the settings schema (marshmallow 4)."""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from hub.entities import AssessmentResult, InvitationProgress, Verdict
from plugins.vervoe import events, wire
from plugins.vervoe.settings import VervoeSettingsSchema

SECRET = "whsec-vervoe-0001"
OTHER = "whsec-vervoe-0002"
T = 1494224576
# Guide 03's example body (its missing comma after "score" added so that it is JSON).
GUIDE_BODY = json.dumps({
    "candidateAssessmentUuid": "cbb3e136-ef30-4452-955b-1835a79caa65", "status": "complete",
    "completedAt": "2020-03-10T08:39:58+00:00", "startedAt": "2020-03-10T08:39:46+00:00",
    "score": {"type": "TYPE_MANUAL", "score": 100, "scoreByFormat": 100},
    "integrationCandidateCardUrl": "https://api.vervoe.com/integration_candidate_card",
    "timeTaken": "2 minutes 19 seconds", "submitTime": "11 minutes 49 seconds"}).encode()


def header(secret: str, body: bytes, t: int) -> str:
    """The Vervoe-Signature value per guide 03, computed independently of the plugin."""
    payload = str(t).encode() + b"." + body
    return f"t={t},hash={hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()}"


# --------------------------------------------------------------------------- signature


def test_sign_matches_the_guides_recipe():
    assert wire.sign(SECRET, GUIDE_BODY, T) == header(SECRET, GUIDE_BODY, T)
    # a fixed vector: HMAC-SHA256("whsec-vervoe-0001", "1494224576.{}")
    expected = hmac.new(b"whsec-vervoe-0001", b"1494224576.{}", hashlib.sha256).hexdigest()
    assert wire.sign(SECRET, b"{}", T) == f"t=1494224576,hash={expected}"


def test_a_valid_signature_verifies_and_returns_its_time():
    assert wire.verify_signature(header(SECRET, GUIDE_BODY, T), GUIDE_BODY, [SECRET], now=T + 10, tolerance=300) == T
    spaced = header(SECRET, GUIDE_BODY, T).replace(",", " , ").replace("hash=", "hash= ")
    assert wire.verify_signature(spaced, GUIDE_BODY, [SECRET], now=T, tolerance=300) == T


def test_any_active_secret_verifies_during_rotation():
    signed = header(OTHER, GUIDE_BODY, T)
    assert wire.verify_signature(signed, GUIDE_BODY, [SECRET, OTHER], now=T, tolerance=300) == T
    with pytest.raises(wire.SignatureError, match="does not match"):
        wire.verify_signature(signed, GUIDE_BODY, [SECRET], now=T, tolerance=300)


@pytest.mark.parametrize("mutate", [
    lambda b: b.replace(b"100", b"101", 1),      # score changed
    lambda b: b + b" ",                          # trailing byte
    lambda b: b[:-1],                            # truncated
])
def test_a_tampered_body_is_refused(mutate):
    with pytest.raises(wire.SignatureError, match="does not match"):
        wire.verify_signature(header(SECRET, GUIDE_BODY, T), mutate(GUIDE_BODY), [SECRET], now=T, tolerance=300)


def test_the_timestamp_is_part_of_the_signed_payload():
    signed = header(SECRET, GUIDE_BODY, T)
    moved = signed.replace(f"t={T}", f"t={T + 1}")
    with pytest.raises(wire.SignatureError, match="does not match"):
        wire.verify_signature(moved, GUIDE_BODY, [SECRET], now=T, tolerance=300)


@pytest.mark.parametrize("now", [T + 301, T - 301])
def test_stale_or_future_timestamps_are_refused(now):
    with pytest.raises(wire.SignatureError, match="tolerance"):
        wire.verify_signature(header(SECRET, GUIDE_BODY, T), GUIDE_BODY, [SECRET], now=now, tolerance=300)


@pytest.mark.parametrize("value,message", [
    (None, "missing"), ("", "missing"), (f"hash={'0' * 64}", "no timestamp"), (f"t={T}", "no hash"),
    (f"t=abc,hash={'0' * 64}", "bad timestamp"), (f"t={T},t={T},hash={'0' * 64}", "bad timestamp"),
    ("garbage", "no timestamp"), pytest.param(f"t=\xb2,hash={'0' * 64}", "bad timestamp", id="superscript-timestamp"),
])
def test_malformed_headers_are_refused(value, message):
    with pytest.raises(wire.SignatureError, match=message):
        wire.verify_signature(value, GUIDE_BODY, [SECRET], now=T, tolerance=300)


def test_a_signature_made_with_v1_style_or_sha1_is_refused():
    sha1 = hmac.new(SECRET.encode(), f"{T}.".encode() + GUIDE_BODY, hashlib.sha1).hexdigest()
    with pytest.raises(wire.SignatureError):
        wire.verify_signature(f"t={T},hash={sha1}", GUIDE_BODY, [SECRET], now=T, tolerance=300)
    good = header(SECRET, GUIDE_BODY, T).split("hash=")[1]
    with pytest.raises(wire.SignatureError, match="no hash"):
        wire.verify_signature(f"t={T},v1={good}", GUIDE_BODY, [SECRET], now=T, tolerance=300)


# --------------------------------------------------------------------------- scores and statuses


@pytest.mark.parametrize("score,expected", [
    ({"type": "TYPE_AI", "score": 75, "scoreByFormat": 75}, 75.0),
    ({"type": "TYPE_MANUAL", "score": 0, "scoreByFormat": 0}, 0.0),
    ({"type": "TYPE_MANUAL", "scoreByFormat": "60"}, 60.0),
    ({"type": "TYPE_MANUAL", "scoreByFormat": "35%"}, 35.0),
    ({"type": "TYPE_MANUAL", "score": None, "scoreByFormat": [
        {"groupName": "A", "scoreType": 1, "result": "60", "scorePercentage": 60},
        {"groupName": "B", "scoreType": 1, "result": "81", "scorePercentage": 81}]}, 70.5),
    ({"type": "TYPE_MANUAL", "scoreByFormat": {"groupName": "A", "scoreType": 1, "scorePercentage": 90}}, 90.0),
    ({"type": "TYPE_AI", "score": 140}, None),      # not a percentage: not trusted
    ({"type": "TYPE_AI", "score": True}, None),
    ({"type": "TYPE_AI"}, None),
    (None, None),
    ("100", None),
    ({"type": "TYPE_AI", "score": "NaN"}, None),     # not a finite number: no score
    ({"type": "TYPE_AI", "score": "Infinity", "scoreByFormat": "-Infinity"}, None),
    ({"type": "TYPE_AI", "score": "nan%", "scoreByFormat": [{"scorePercentage": "NaN"}]}, None),
    ({"type": "TYPE_AI", "score": 1e400}, None),
])
def test_score_percentage(score, expected):
    assert wire.score_percentage(score) == expected


@pytest.mark.parametrize("raw,kind", [
    ("complete", wire.KIND_COMPLETED), ("in progress", wire.KIND_STARTED), ("in_progress", wire.KIND_STARTED),
    ("In progress", wire.KIND_STARTED), ("expired", wire.KIND_EXPIRED), ("hired", wire.KIND_HIRED),
    ("rejected", wire.KIND_REJECTED), ("incomplete", wire.KIND_INVITED), ("invited", wire.KIND_INVITED),
    ("screeningFailed", wire.KIND_SCREENING), ("Screening in progress", wire.KIND_SCREENING),
    ("somethingNew", None), (None, None), (3, None),
])
def test_status_kinds(raw, kind):
    assert wire.status_kind(raw) == kind


def test_parse_report_of_the_guides_webhook_body():
    report = wire.parse_report(json.loads(GUIDE_BODY))
    assert report == {
        "uuid": "cbb3e136-ef30-4452-955b-1835a79caa65", "kind": wire.KIND_COMPLETED, "raw_status": "complete",
        "started_at": datetime(2020, 3, 10, 8, 39, 46, tzinfo=timezone.utc),
        "completed_at": datetime(2020, 3, 10, 8, 39, 58, tzinfo=timezone.utc),
        "score": 100.0, "score_type": "TYPE_MANUAL",
        "report_url": "https://api.vervoe.com/integration_candidate_card", "email": None, "slug": None,
        "problems": {},
    }


def test_parse_report_of_an_api_answer_converts_times_to_utc_and_reads_null_strings_as_missing():
    report = wire.parse_report({"success": True, "data": {
        "candidateAssessmentUuid": "u-1", "status": "rejected", "startedAt": "2021-03-03T15:44:44+00:00",
        "completedAt": "null", "score": "null", "integrationCandidateCardUrl": "https://x/card",
        "candidateEmail": "ada@example.com", "assessmentSlug": "s"}})
    assert report["kind"] == wire.KIND_REJECTED and report["completed_at"] is None and report["score"] is None
    assert wire.parse_time("2020-01-13T22:04:24+11:00") == datetime(2020, 1, 13, 11, 4, 24, tzinfo=timezone.utc)
    assert wire.parse_time("not a time") is None and wire.parse_time(12) is None


def test_parse_assessment_page_of_the_documented_example():
    example = {"count": 2, "total": 2, "hasMorePages": False, "currentPage": 1, "items": [
        {"name": "Backend developer test", "description": "Testing php backend developers", "slug": "assessment_1",
         "questionCount": 4, "skills": ["php"], "auditionFolder": None},
        {"name": "Frontend developer test", "slug": "assessment_2", "auditionFolder": {"name": "my_folder"}},
        {"name": "no slug: skipped"}]}
    found, more, page = wire.parse_assessment_page(example)
    assert [(a.id, a.name, a.max_score) for a in found] == [
        ("assessment_1", "Backend developer test", 100.0), ("assessment_2", "Frontend developer test", 100.0)]
    assert more is False and page == 1
    with pytest.raises(ValueError):
        wire.parse_assessment_page({"success": False, "errors": "x"})


def test_invite_body_and_answers():
    assert wire.build_invite_body(email="ada@example.com", first_name="Ada", last_name="", send_email=True) == {
        "candidateEmail": "ada@example.com", "candidateFirstName": "Ada", "sendInvitationEmail": True}
    assert wire.build_invite_body(email="a@b.co", first_name="", last_name="L", send_email=False,
                                  redirect_url="https://x.test/done") == {
        "candidateEmail": "a@b.co", "candidateFirstName": "Candidate", "candidateLastName": "L",
        "sendInvitationEmail": False, "redirectCandidateUrl": "https://x.test/done"}
    already = {"success": False, "errors": "The invitation has been already sent.",
               "data": {"candidateAssessmentUuid": "u-1", "candidateUrl": "http://x/login?token=t"}}
    assert wire.parse_invitation(already) == ("u-1", "http://x/login?token=t")
    assert wire.parse_invitation({"success": False, "errors": "bad"}) == (None, None)
    assert wire.parse_error(already, 400) == ("The invitation has been already sent.",
                                              "Vervoe answered 400: The invitation has been already sent.")
    assert wire.parse_error({"type": "t", "title": "An error occurred", "status": 401, "detail": "Unauthorized"},
                            401) == ("Unauthorized", "Vervoe answered 401: Unauthorized")
    assert wire.parse_error(None, 502, "") == ("HTTP 502", "Vervoe answered 502 Bad Gateway with an empty body")
    assert wire.basic_auth_header("key", "secret") == {"Authorization": "Basic a2V5OnNlY3JldA=="}


# --------------------------------------------------------------------------- report -> hub events


@dataclass(frozen=True)
class Inv:
    id: int = 7
    round: int = 1


AT = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)


def report(status: str, score: int | None = None, completed: bool = True) -> dict:
    body = {"candidateAssessmentUuid": "u-1", "status": status, "startedAt": "2026-03-01T10:00:00+00:00",
            "completedAt": "2026-03-01T10:30:00+00:00" if completed else None,
            "score": {"type": "TYPE_AI", "score": score, "scoreByFormat": score} if score is not None else None,
            "integrationCandidateCardUrl": "https://vervoe.test/card/u-1"}
    return wire.parse_report(body)


def mapped(status: str, **kwargs) -> list[tuple[str, object]]:
    found, _ = events.events_for(report(status, **kwargs), Inv(), at=AT, verdict_tag="1700000000")
    return [(e.external_id, e.event) for e in found]


def test_in_progress_is_started():
    ((eid, event),) = mapped("in progress", completed=False)
    assert eid == "vervoe:u-1:7:r1:started"
    assert event == InvitationProgress(invitation_id=7, status="started",
                                       occurred_at=datetime(2026, 3, 1, 10, 0, tzinfo=timezone.utc), round=1)


def test_a_scored_completion_is_the_result_as_a_percentage():
    ((eid, event),) = mapped("complete", score=75)
    assert eid == "vervoe:u-1:7:r1:completed"
    assert event == AssessmentResult(invitation_id=7, score=75.0, max_score=100.0,
                                     report_url="https://vervoe.test/card/u-1",
                                     completed_at=datetime(2026, 3, 1, 10, 30, tzinfo=timezone.utc), round=1)


def test_an_unscored_completion_waits_for_the_grade():
    found, note = events.events_for(report("complete"), Inv(), at=AT, verdict_tag="1")
    assert [(e.external_id, e.event.status) for e in found] == [("vervoe:u-1:7:r1:started", "started")]
    assert "waiting for its score" in note


def test_hired_and_rejected_after_completing_are_result_plus_verdict():
    (result_id, result), (verdict_id, verdict) = mapped("hired", score=80)
    assert result_id == "vervoe:u-1:7:r1:completed" and isinstance(result, AssessmentResult) and result.score == 80
    assert verdict_id == "vervoe:u-1:7:r1:hired:1700000000"
    assert verdict == Verdict(invitation_id=7, verdict="thumbs_up", decided_at=AT, round=1)
    (_, _), (verdict_id, verdict) = mapped("rejected", score=20)
    assert verdict_id == "vervoe:u-1:7:r1:rejected:1700000000" and verdict.verdict == "thumbs_down"


def test_every_event_names_the_round_it_was_found_to_be_about():
    """The hub drops it if the invitation is re-invited before the event is stored."""
    found, _ = events.events_for(report("hired", score=80), Inv(round=3), at=AT, verdict_tag="1")
    assert [e.event.round for e in found] == [3, 3]


def test_rejected_before_completing_is_cancelled_and_hired_before_completing_is_nothing():
    ((eid, event),) = mapped("rejected", completed=False)
    assert eid == "vervoe:u-1:7:r1:rejected"
    assert event.status == "cancelled" and event.reason == events.REJECTED_BEFORE_COMPLETING
    assert mapped("hired", completed=False) == []


def test_expired_and_unused_statuses():
    ((eid, event),) = mapped("expired", completed=False)
    assert eid == "vervoe:u-1:7:r1:expired" and event.status == "expired" and event.occurred_at == AT
    for status in ("invited", "incomplete", "screeningPassed", "brandNew"):
        found, note = events.events_for(report(status, completed=False), Inv(), at=AT, verdict_tag="1")
        assert found == [] and "not used" in note


def test_reports_of_an_earlier_round_are_ignored_after_a_reset():
    since = datetime(2026, 3, 2, tzinfo=timezone.utc)  # reset a day after the first round's completion
    found, note = events.events_for(report("complete", score=50), Inv(round=2), at=AT, verdict_tag="1", since=since)
    assert found == [] and "earlier round" in note
    found, _ = events.events_for(report("complete", score=50), Inv(round=1), at=AT, verdict_tag="1", since=since)
    assert len(found) == 1  # round 1 has no earlier round


def test_while_a_re_invite_is_not_linked_only_reports_timed_after_its_round_began_count():
    """Round 2 not linked yet (``linked=False``): Vervoe's state is round 1's unless the report's
    latest time is at or after round 2's send first called Vervoe (``since``)."""
    round_two = Inv(round=2)
    reject_before_completing = report("rejected", completed=False)  # no time of its own
    for since in (None, datetime(2026, 3, 1, 9, tzinfo=timezone.utc)):
        found, note = events.events_for(reject_before_completing, round_two, at=AT, verdict_tag="1", since=since,
                                        linked=False)
        assert found == [] and "earlier round" in note and "has not reached Vervoe yet" in note
    later = datetime(2026, 3, 2, tzinfo=timezone.utc)  # round 2 began after round 1's completion
    found, _ = events.events_for(report("rejected", score=20), round_two, at=AT, verdict_tag="1", since=later,
                                 linked=False)
    assert found == []  # round 1's thumbs down and result, not round 2's
    found, _ = events.events_for(report("complete", score=50), round_two, at=AT, verdict_tag="1", since=None,
                                 linked=False)
    assert found == []  # round 2 has not called Vervoe: nothing there is its own
    earlier = datetime(2026, 3, 1, 9, tzinfo=timezone.utc)  # the candidate took the reset assessment
    found, _ = events.events_for(report("complete", score=50), round_two, at=AT, verdict_tag="1", since=earlier,
                                 linked=False)
    assert [e.external_id for e in found] == ["vervoe:u-1:7:r2:completed"]
    # linked in round 2 (before the candidate started it), a reject read from Vervoe is round 2's, as before
    found, _ = events.events_for(reject_before_completing, round_two, at=AT, verdict_tag="1", since=earlier)
    assert [(e.external_id, e.event.status) for e in found] == [("vervoe:u-1:7:r2:rejected", "cancelled")]


# --------------------------------------------------------------------------- settings


def test_settings_defaults_and_normalisation():
    loaded = VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s",
                                          "webhook_secret": " whsec-one-1 \n\n whsec-two-2 ,",
                                          "base_url": "http://127.0.0.1:5003/api/"})
    assert loaded == {"base_url": "http://127.0.0.1:5003/api", "api_key": "k", "api_secret": "s",
                      "webhook_secret": "whsec-one-1\nwhsec-two-2", "signature_tolerance_seconds": 300,
                      "send_invitation_email": True, "redirect_candidate_url": None, "reject_on_archive": True,
                      "reconcile_after_minutes": 30, "unscored_result_after_minutes": 1440,
                      "verdict_watch_days": 14, "sending_window_seconds": 300, "rate_limit_per_second": 5.0, "rate_limit_burst": 10}
    assert VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s"})["base_url"] == "https://api.vervoe.com/api"


@pytest.mark.parametrize("values,field", [
    ({"api_secret": "s"}, "api_key"),
    ({"api_key": "k"}, "api_secret"),
    ({"api_key": "k", "api_secret": "s", "base_url": "ftp://vervoe"}, "base_url"),
    ({"api_key": "k", "api_secret": "s", "webhook_secret": "short"}, "webhook_secret"),
    ({"api_key": "k", "api_secret": "s", "signature_tolerance_seconds": 0}, "signature_tolerance_seconds"),
    ({"api_key": "k", "api_secret": "s", "redirect_candidate_url": "not a url"}, "redirect_candidate_url"),
    ({"api_key": "k", "api_secret": "s", "sending_window_seconds": -1}, "sending_window_seconds"),
    ({"api_key": "k", "api_secret": "s", "webhook_url": "x"}, "webhook_url"),  # unknown: refused (marshmallow 4)
])
def test_settings_validation(values, field):
    with pytest.raises(ValidationError) as info:
        VervoeSettingsSchema().load(values)
    assert field in info.value.messages


# --------------------------------------------------------------------------- values the hub cannot use


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00-23:59", "0001-01-01T00:00:00+23:59",
                                   "9999-12-31T23:00:00-05:00", "1999-12-31T23:59:59Z", "yesterday", 1583829598])
def test_times_outside_2000_to_9999_or_not_iso_are_no_time(value):
    assert wire.parse_time(value) is None


@pytest.mark.parametrize("value", ["javascript:alert(1)", "data:text/html,x", "ftp://vervoe.test/card", "https://",
                                   "/card/1", "https://vervoe.test/card\n1", 42,
                                   "https://vervoe.test/card/" + "a" * 2000])
def test_report_links_must_be_http_urls_the_hub_can_keep(value):
    report = wire.parse_report({"candidateAssessmentUuid": "u-1", "status": "complete",
                                "integrationCandidateCardUrl": value})
    assert report["report_url"] is None
    assert report["problems"] == {"integrationCandidateCardUrl": "must be an http or https URL of at most 2000 characters"}


def test_a_report_link_of_exactly_max_url_length_is_kept():
    prefix = "https://vervoe.test/card/"
    longest = prefix + "a" * (wire.MAX_URL_LENGTH - len(prefix))
    assert wire.MAX_URL_LENGTH == 2000  # the hub keeps links up to 2000 characters
    assert wire.parse_url(longest) == longest and wire.parse_url(longest + "a") is None
    report = wire.parse_report({"candidateAssessmentUuid": "u-1", "status": "complete",
                                "integrationCandidateCardUrl": longest})
    assert report["report_url"] == longest and report["problems"] == {}


def test_report_problems_name_each_present_field_that_breaks_its_rule():
    report = wire.parse_report({"candidateAssessmentUuid": "u-1", "status": "complete",
                                "startedAt": "0001-01-01T00:00:00-23:59", "completedAt": "null",
                                "integrationCandidateUrl": "javascript:alert(1)",
                                "integrationCandidateCardUrl": None})
    assert set(report["problems"]) == {"startedAt", "integrationCandidateUrl"}  # null and "null" are absent
    assert wire.describe_problems(report["problems"]).startswith(
        "startedAt must be an ISO 8601 timestamp from the year 2000 to 9999 (UTC); integrationCandidateUrl must be")
    assert wire.parse_report(json.loads(GUIDE_BODY))["problems"] == {}


@pytest.mark.parametrize("body, words", [
    (b"[" * 50_000, "it is nested too deeply"),
    (b"not json", "Expecting value at line 1 column 1 (character 0)"),
    (b"\xff\xfe", "it is not UTF-8 text (byte 0)"),
    (b'{"score": {"score": NaN}}', "NaN is not a JSON value"),
    (b"[" + b"1" * 200 + b"]", "a number has more than 100 digits"),
])
def test_parse_json_says_why_a_body_is_not_json(body, words):
    with pytest.raises(wire.BodyError) as caught:
        wire.parse_json(body)
    assert str(caught.value) == f"the body is not valid JSON: {words}"


def test_an_integer_score_beyond_any_float_is_no_score():
    report = wire.parse_report({"candidateAssessmentUuid": "u", "score": {"score": 10**400}})
    assert report["score"] is None
