"""Vervoe's report webhooks reaching the hub: the sandbox's candidate and reviewer pages over real
HTTP, its signed webhooks into the hub's real ingress, the hub's invitation state machine and the
source plugin's hooks; and the ingress answers to bad requests (signatures computed here with
``hmac``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

import requests

from tests.support.ratelimit import spend

from plugins.vervoe import links

from .conftest import BACKEND_ANSWERS, SLUG, WEBHOOK_SECRET, vervoe_settings


def signed(body: bytes, secret: str = WEBHOOK_SECRET, at: int | None = None) -> dict:
    stamp = int(time.time()) if at is None else at
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Vervoe-Signature": f"t={stamp},hash={digest}", "Content-Type": "application/json"}


def invited(hub):
    hub.move()
    inv = hub.invitation()
    assert inv.status == "invited"
    return inv, inv.provider_invitation_id


def take_assessment(invite_url: str, answers: dict) -> str:
    """The candidate opens the link, starts, answers and submits, as in a browser."""
    with requests.Session() as browser:
        page = browser.get(invite_url, timeout=10)
        assert page.status_code == 200 and "Start assessment" in page.text
        token = re.search(r'name="token" value="([^"]+)"', page.text).group(1)
        base = invite_url.split("/login")[0]
        questions = browser.post(base + "/login/start", data={"token": token}, timeout=10)
        assert questions.status_code == 200 and "Submit answers" in questions.text
        done = browser.post(base + "/login/submit", data={"token": token, **answers}, timeout=10)
        assert done.status_code == 200 and "your answers were submitted" in done.text
        return done.text


def review(card_url: str, action: str, **form: str) -> str:
    base, query = card_url.split("?")
    with requests.Session() as browser:
        page = browser.post(f"{base}/{action}?{query}", data=form, timeout=10)
        assert page.status_code == 200, page.text
        return page.text


# --------------------------------------------------------------------------- end to end


def test_a_completion_on_the_sandbox_reaches_the_hub_and_the_source(hub):
    inv, uuid = invited(hub)
    take_assessment(inv.invite_url, {**BACKEND_ANSWERS, "q3": "a"})  # 3 of 4 right

    hub.wait_for(lambda: hub.source.results, what="the result written back")
    done = hub.invitation()
    remote = hub.sandbox.only()
    assert (done.status, done.score, done.max_score) == ("completed", 75.0, 100.0)
    assert done.report_url == remote["integrationCandidateCardUrl"]
    assert remote["score"] == {"type": "TYPE_AI", "score": 75, "scoreByFormat": 75}
    (result,) = hub.source.results
    assert (result.invitation_id, result.score, result.max_score, result.report_url) == (
        inv.id, 75.0, 100.0, remote["integrationCandidateCardUrl"])
    assert [s.status for s in hub.source.statuses] == ["invited", "started"]
    assert [o[:2] for o in hub.webhook_outcomes()] == [("accepted", 200), ("accepted", 200)]
    # the sandbox marks a report delivered once it has read the hub's answer, which may come after
    # the hub has already acted on it
    hub.sandbox.quiet()
    sent = hub.sandbox.webhook_log()["events"]
    assert [(e["status"], e["delivery"], e["attempts"]) for e in sent] == [
        ("in progress", "delivered", 1), ("complete", "delivered", 1)]
    assert {e["candidateAssessmentUuid"] for e in sent} == {uuid}


def test_hire_and_reject_on_the_card_are_verdicts_after_the_result(hub):
    inv, uuid = invited(hub)
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.source.results, what="the result")
    card = hub.invitation().report_url

    assert "hired" in review(card, "hire")
    hub.wait_for(lambda: hub.source.verdicts, what="the hire")
    assert hub.invitation().verdict == "thumbs_up"
    review(card, "unhire")  # back to "complete": the hub has no withdrawn verdict
    time.sleep(0.05)
    review(card, "reject")
    hub.wait_for(lambda: len(hub.source.verdicts) == 2, what="the rejection")
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up", "thumbs_down"]
    assert hub.invitation().verdict == "thumbs_down"
    assert len(hub.source.results) == 1  # the result rode along with each verdict, recorded once
    hub.sandbox.quiet()
    outcomes = [m for _, _, m in hub.webhook_outcomes()]
    assert "assessment_completed:duplicate, verdict:accepted" in outcomes


def test_a_late_retry_of_an_old_decision_is_checked_against_vervoe(hub):
    inv, uuid = invited(hub)
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.act(uuid, "hire")
    hub.wait_for(lambda: hub.source.verdicts, what="the hire")
    hired_body = json.dumps(hub.sandbox.webhook_log()["events"][-1]["body"]).encode()
    assert json.loads(hired_body)["status"] == "hired"
    hub.sandbox.act(uuid, "unhire")
    hub.sandbox.act(uuid, "reject")
    hub.sandbox.quiet()
    hub.wait_for(lambda: hub.invitation().verdict == "thumbs_down", what="the rejection")

    # Vervoe's retry of the old "hired" report arrives now, freshly signed
    answer = requests.post(hub.url + hub.webhook_path(), data=hired_body, headers=signed(hired_body), timeout=10)
    assert answer.status_code == 200
    assert hub.invitation().verdict == "thumbs_down"  # re-read: Vervoe says rejected, not hired
    assert [v.verdict for v in hub.source.verdicts] == ["thumbs_up", "thumbs_down"]


def test_an_unscored_completion_waits_for_the_manual_grade(hub):
    hub.sandbox.config(auto_grade=False)
    inv, uuid = invited(hub)
    take_assessment(inv.invite_url, BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.invitation().status == "started", what="the unscored completion")
    hub.sandbox.quiet()
    assert hub.source.results == []
    # the unscored "complete" report only confirms "started" (already known from "in progress")
    assert hub.webhook_outcomes() == [("accepted", 200, "invitation_progress:accepted"),
                                      ("duplicate", 200, "invitation_progress:duplicate")]

    review(hub.sandbox.only()["integrationCandidateCardUrl"], "grade", score="40")
    hub.wait_for(lambda: hub.source.results, what="the graded result")
    assert (hub.invitation().status, hub.invitation().score) == ("completed", 40.0)

    review(hub.sandbox.only()["integrationCandidateCardUrl"], "grade", score="55")  # re-graded later
    hub.sandbox.quiet()
    assert hub.invitation().score == 40.0 and len(hub.source.results) == 1
    assert hub.webhook_outcomes()[-1][:2] == ("duplicate", 200)


def test_expiry_and_rejection_before_completing(hub):
    hub.candidate("opp-2", email="grace@example.com")
    first, uuid1 = invited(hub)
    hub.move("opp-2")
    second = [i for i in hub.invitations() if i.opportunity_id == "opp-2"][0]
    hub.sandbox.act(uuid1, "expire")
    hub.sandbox.act(second.provider_invitation_id, "reject")
    hub.sandbox.quiet()
    by_id = {i.id: i for i in hub.invitations()}
    assert by_id[first.id].status == "expired"
    assert by_id[second.id].status == "cancelled"
    assert by_id[second.id].failure_reason is None  # the reason travels with the event, not as a failure
    statuses = sorted((s.invitation_id, s.status, s.reason) for s in hub.source.statuses if s.status != "invited")
    assert statuses == [(first.id, "expired", None),
                        (second.id, "cancelled", "rejected at Vervoe before completing the assessment")]


def test_a_late_expiry_of_the_earlier_round_does_not_expire_the_reset_one(hub):
    inv, uuid = invited(hub)
    hub.sandbox.act(uuid, "expire")
    hub.wait_for(lambda: hub.invitation().status == "expired", what="the expiry")
    expired_body = json.dumps(hub.sandbox.webhook_log()["events"][-1]["body"]).encode()
    hub.reinvite(inv.id)
    assert hub.invitation().status == "invited"

    answer = requests.post(hub.url + hub.webhook_path(), data=expired_body, headers=signed(expired_body), timeout=10)
    assert answer.status_code == 200
    assert hub.invitation().status == "invited"  # re-read: Vervoe says invited again


def test_duplicated_and_dropped_webhooks_give_one_result(hub):
    inv, uuid = invited(hub)
    hub.sandbox.faults(webhook_duplicate_rate=1.0, webhook_drop_rate=1.0)  # every report: first try lost, sent twice
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.quiet()
    hub.wait_for(lambda: hub.source.results, what="the result")
    assert [r.score for r in hub.source.results] == [100.0]
    attempts = hub.sandbox.webhook_log()["attempts"]
    assert sorted(a["outcome"] for a in attempts) == ["delivered"] * 4 + ["dropped"] * 2
    assert sorted(o for o, _, _ in hub.webhook_outcomes()) == ["accepted", "accepted", "duplicate", "duplicate"]


def test_vervoe_unreachable_during_a_reread_answers_503_and_the_retry_lands(hub):
    inv, uuid = invited(hub)
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.wait_for(lambda: hub.source.results, what="the result")
    hub.sandbox.config(retry_delays=[0.3, 0.3, 0.3])
    hub.sandbox.faults(down=True)
    hub.sandbox.act(uuid, "hire")
    hub.wait_for(lambda: any(a["status_code"] == 503 for a in hub.sandbox.webhook_log()["attempts"]),
                 what="the 503")
    hub.sandbox.faults()
    hub.sandbox.call("POST", "/_sandbox/webhooks/flush")
    hub.wait_for(lambda: hub.source.verdicts, what="the verdict after the retry")
    assert hub.invitation().verdict == "thumbs_up"


# --------------------------------------------------------------------------- ingress answers


def test_ingress_rejects_what_is_not_a_signed_vervoe_report(hub):
    inv, uuid = invited(hub)
    client = hub.app.test_client()
    path = hub.webhook_path()
    body = json.dumps({"candidateAssessmentUuid": uuid, "status": "in progress",
                       "startedAt": "2026-03-01T10:00:00+00:00"}).encode()

    def post(data: bytes, headers: dict) -> tuple[int, str]:
        answer = client.post(path, data=data, headers=headers)
        return answer.status_code, answer.get_json()["error"]["code"] if answer.status_code >= 400 else "ok"

    assert post(body, {"Content-Type": "application/json"}) == (401, "invalid_signature")
    assert post(body, signed(body, secret="not-the-secret")) == (401, "invalid_signature")
    assert post(body.replace(b"in progress", b"complete"), signed(body)) == (401, "invalid_signature")
    assert post(body, signed(body, at=int(time.time()) - 301)) == (401, "invalid_signature")
    assert post(body, signed(body, at=int(time.time()) + 301)) == (401, "invalid_signature")
    assert post(b"not json", signed(b"not json")) == (400, "malformed_body")
    assert post(b"[1, 2]", signed(b"[1, 2]")) == (400, "malformed_body")
    no_uuid = json.dumps({"status": "complete"}).encode()
    assert post(no_uuid, signed(no_uuid)) == (422, "missing_fields")
    assert hub.invitation().status == "invited"
    rejected = [(o, c) for o, c, _ in hub.webhook_outcomes()]
    assert rejected == [("rejected", 401)] * 5 + [("rejected", 400)] * 2 + [("rejected", 422)]
    assert all(WEBHOOK_SECRET not in m for _, _, m in hub.webhook_outcomes())

    assert post(body, signed(body)) == (200, "ok")
    assert hub.invitation().status == "started"


def test_reports_the_hub_did_not_send_are_answered_and_ignored(hub):
    invited(hub)
    body = json.dumps({"candidateAssessmentUuid": "someone-elses", "status": "complete",
                       "score": {"type": "TYPE_AI", "score": 10, "scoreByFormat": 10}}).encode()
    answer = hub.app.test_client().post(hub.webhook_path(), data=body, headers=signed(body))
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"
    assert "not sent by the hub" in answer.get_json()["message"]
    assert hub.invitation().status == "invited"


def test_webhook_secrets_can_be_rotated(hub):
    inv, uuid = invited(hub)
    hub.save_settings(vervoe_settings(hub.sandbox, webhook_secret=f"{WEBHOOK_SECRET}\nwhsec-the-new-one"))
    body = json.dumps({"candidateAssessmentUuid": uuid, "status": "in progress"}).encode()
    client = hub.app.test_client()
    assert client.post(hub.webhook_path(), data=body, headers=signed(body, secret="whsec-the-new-one")).status_code == 200
    assert client.post(hub.webhook_path(), data=body, headers=signed(body)).status_code == 200  # old: still active
    assert hub.invitation().status == "started"


def test_without_a_webhook_secret_every_webhook_is_refused(hub):
    invited(hub)
    hub.ctx().update_secrets({}, remove=("webhook_secret",))
    body = json.dumps({"candidateAssessmentUuid": hub.invitation().provider_invitation_id,
                       "status": "in progress"}).encode()
    answer = hub.app.test_client().post(hub.webhook_path(), data=body, headers=signed(body))
    assert answer.status_code == 401 and answer.get_json()["error"]["code"] == "no_webhook_secret"
    assert links.invitations_for(hub.ctx(), hub.invitation().provider_invitation_id) == [hub.invitation().id]


def test_reports_out_of_order_and_twice_give_one_result_before_its_verdict(hub):
    inv, uuid = invited(hub)
    hub.sandbox.act(uuid, "start")
    hub.wait_for(lambda: hub.invitation().status == "started", what="the start")
    # the completion and the hire are held and sent in reverse order, each twice
    hub.sandbox.faults(webhook_reorder=True, webhook_reorder_batch=4, webhook_reorder_hold_ms=2000,
                       webhook_duplicate_rate=1.0)
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.act(uuid, "hire")
    hub.sandbox.quiet()
    log = hub.sandbox.webhook_log()
    statuses = {e["id"]: e["status"] for e in log["events"]}
    assert [(statuses[a["event_id"]], a["outcome"]) for a in log["attempts"]] == [
        ("in progress", "delivered"), ("hired", "delivered"), ("hired", "delivered"),
        ("complete", "delivered"), ("complete", "delivered")]
    hub.wait_for(lambda: hub.source.verdicts, what="the verdict")
    done = hub.invitation()
    assert (done.status, done.score, done.verdict) == ("completed", 100.0, "thumbs_up")
    assert len(hub.source.results) == 1 and len(hub.source.verdicts) == 1
    first, *rest = [(o, m) for o, _, m in hub.webhook_outcomes()][-4:]
    assert first == ("accepted", "assessment_completed:accepted, verdict:accepted")
    # the copies are no-ops: duplicates (a copy re-signed in another second has another verdict id,
    # which the state machine finds unchanged)
    assert all(o == "duplicate" or m == "assessment_completed:duplicate, verdict:no_change" for o, m in rest)


def test_ingress_answers_4xx_never_500_to_bodies_the_hub_cannot_use(hub, monkeypatch):
    inv, uuid = invited(hub)
    client = hub.app.test_client()
    path = hub.webhook_path()

    def post(body) -> tuple[int, dict]:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        answer = client.post(path, data=data, headers=signed(data))
        return answer.status_code, answer.get_json()

    def report(**values) -> dict:
        return {"candidateAssessmentUuid": uuid, "status": "complete", "startedAt": "2026-03-01T10:00:00+00:00",
                "completedAt": "2026-03-01T10:20:00+00:00", "score": {"type": "TYPE_AI", "score": 75},
                "integrationCandidateCardUrl": "https://vervoe.test/card/1", **values}

    # Python's parser raised RecursionError (a 500) on this
    assert post(b"[" * 50_000) == (400, {"error": {"code": "malformed_body",
                                                  "message": "the body is not valid JSON: it is nested too deeply"}})
    status, answer = post(b"not json")
    assert status == 400 and answer["error"]["message"] == (
        "the body is not valid JSON: Expecting value at line 1 column 1 (character 0)")

    for value, words in [(5, "a number"), (["x"], "an array"), ({"uuid": "x"}, "an object"), (True, "a boolean"),
                         ("", "an empty string")]:
        status, answer = post({"candidateAssessmentUuid": value, "status": "complete"})
        assert (status, answer["error"]["code"]) == (422, "invalid_fields")
        assert answer["error"]["message"] == f"candidateAssessmentUuid must be a non-empty string, not {words}"
    status, answer = post({"candidateAssessmentUuid": None, "status": "complete"})
    assert status == 422 and answer["error"]["message"] == "candidateAssessmentUuid is missing"

    status, answer = post(report(integrationCandidateCardUrl="javascript:alert(1)"))
    assert status == 422 and answer["error"]["message"] == (
        "integrationCandidateCardUrl must be an http or https URL of at most 2000 characters")
    # longer than the hub keeps (PostgreSQL's varchar(2000) refused it: a 500)
    status, answer = post(report(integrationCandidateCardUrl="https://vervoe.test/card/" + "a" * 2100))
    assert (status, answer["error"]["code"]) == (422, "invalid_fields")
    assert answer["error"]["message"] == (
        "integrationCandidateCardUrl must be an http or https URL of at most 2000 characters")
    status, answer = post(report(completedAt="0001-01-01T00:00:00-23:59", startedAt="9999-12-31T23:00:00-05:00"))
    assert status == 422 and answer["error"]["message"] == (
        "startedAt must be an ISO 8601 timestamp from the year 2000 to 9999 (UTC); "
        "completedAt must be an ISO 8601 timestamp from the year 2000 to 9999 (UTC)")
    assert hub.invitation().status == "invited" and hub.source.results == []

    # a score that is not a finite number is no score (as one outside 0-100): the completion waits for its grade
    status, answer = post(report(score={"type": "TYPE_AI", "score": "NaN", "scoreByFormat": "Infinity"}))
    assert status == 200 and answer["status"] == "accepted"
    assert hub.invitation().status == "started" and hub.source.results == []

    # a report re-read from Vervoe is held to the same rules
    from plugins.vervoe import wire
    from plugins.vervoe.client import VervoeClient
    monkeypatch.setattr(VervoeClient, "get_report", lambda self, u: wire.parse_report(
        report(status="hired", integrationCandidateCardUrl="javascript:alert(1)")))
    status, answer = post(report(status="hired"))
    assert status == 422 and answer["error"]["message"] == (
        f"Vervoe's report of candidate assessment {uuid}: "
        "integrationCandidateCardUrl must be an http or https URL of at most 2000 characters")
    monkeypatch.undo()

    assert post(report())[0] == 200
    hub.wait_for(lambda: hub.source.results, what="the result")
    done = hub.invitation()
    assert (done.status, done.score, done.max_score, done.report_url) == (
        "completed", 75.0, 100.0, "https://vervoe.test/card/1")


# --------------------------------------------------------------------------- before the hub linked its send


REPORT_ROUTE = "GET /api/integration/user-assessments/<uuid>"


def unclear_send(hub):
    """Vervoe creates the candidate assessment and answers 500: the hub's invitation stays pending
    (its delivery will look Vervoe up and link it), Vervoe's uuid unknown to the hub."""
    hub.call("list_assessments")  # a token first: the fault below hits only the invitation POST
    hub.sandbox.faults(error_rate=1.0, error_codes=[500], fault_after_processing=True)
    hub.move()
    hub.sandbox.faults()
    inv = hub.invitation()
    assert inv.status == "pending" and inv.provider_invitation_id is None
    return inv, hub.sandbox.only()["candidateAssessmentUuid"]


def someone_elses(hub, email: str = "grace@example.com") -> str:
    """A candidate assessment of the same assessment for another candidate, sent at Vervoe by someone
    else (the dashboard, another integration)."""
    from plugins.vervoe import wire
    from plugins.vervoe.client import VervoeClient

    body = wire.build_invite_body(email=email, first_name="Grace", last_name="Hopper", send_email=False)
    uuid, _url, created = VervoeClient(hub.ctx()).invite(SLUG, body)
    assert created
    return uuid


def test_a_report_the_hub_has_not_linked_yet_is_refused_503_until_it_has(hub):
    """The candidate starts from Vervoe's own email while the hub's invitation is still pending
    after an unclear POST: the report used to be answered 200 "ignored", and lost."""
    from hub.engine.sweeper import sweep

    inv, uuid = unclear_send(hub)
    hub.sandbox.config(retry_delays=[0.3, 0.3, 0.3, 0.3])
    hub.sandbox.act(uuid, "start")
    hub.wait_for(lambda: hub.sandbox.webhook_log()["attempts"], what="Vervoe's first report")
    assert hub.webhook_outcomes()[0][:2] == ("rejected", 503)
    assert "may be what the hub is sending" in hub.webhook_outcomes()[0][2]
    assert hub.invitation().status == "pending"

    time.sleep(0.06)
    sweep(hub.runtime)  # the send's retry finds the candidate assessment at Vervoe and links it
    assert hub.invitation().provider_invitation_id == uuid
    assert hub.ctx().records.keys(links.SENDING_PREFIX) == []
    hub.sandbox.call("POST", "/_sandbox/webhooks/flush")
    hub.wait_for(lambda: hub.invitation().status == "started", what="the report sent again")
    outcomes = [(o, c) for o, c, _ in hub.webhook_outcomes()]
    # refused for as long as the link was missing (Vervoe retries within a second), then taken
    assert len(outcomes) >= 2 and outcomes[-1] == ("accepted", 200) and set(outcomes[:-1]) == {("rejected", 503)}


def test_a_report_arriving_before_vervoes_answer_is_recorded_is_sent_again(hub, monkeypatch):
    """Vervoe's webhook comes before its answer to the POST has been recorded by the hub."""
    from plugins.vervoe import invite

    real = invite.VervoeClient.invite
    created = []

    def answered_after_the_candidate_started(self, slug, body):
        uuid, url, new = real(self, slug, body)
        created.append(uuid)
        hub.sandbox.act(uuid, "start")
        hub.wait_for(lambda: hub.sandbox.webhook_log()["attempts"], what="Vervoe's report")
        return uuid, url, new

    hub.sandbox.config(retry_delays=[0.2, 0.3, 0.5, 1.0])
    monkeypatch.setattr(invite.VervoeClient, "invite", answered_after_the_candidate_started)
    hub.move()
    # Vervoe's retry (0.2 s later) may already have been taken on a busy machine: invited or started
    assert created and hub.invitation().status in ("invited", "started")
    hub.wait_for(lambda: hub.invitation().status == "started", what="the report sent again")
    outcomes = [(o, c) for o, c, _ in hub.webhook_outcomes()]
    # refused for as long as the link was missing (Vervoe retries within a second), then taken
    assert len(outcomes) >= 2 and outcomes[-1] == ("accepted", 200) and set(outcomes[:-1]) == {("rejected", 503)}


def test_while_a_send_is_in_flight_a_report_it_cannot_have_created_is_still_ignored(hub):
    inv, uuid = unclear_send(hub)
    other = someone_elses(hub)
    hub.sandbox.act(other, "start")  # another candidate, the same assessment
    hub.sandbox.quiet()
    client = hub.app.test_client()
    unknown = json.dumps({"candidateAssessmentUuid": "not-at-vervoe", "status": "in progress"}).encode()
    answer = client.post(hub.webhook_path(), data=unknown, headers=signed(unknown))
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"
    assert [(o, c) for o, c, _ in hub.webhook_outcomes()] == [("ignored", 200), ("ignored", 200)]
    assert hub.invitation().status == "pending"

    # Vervoe unreachable: the hub cannot tell whether it is what it is sending, so Vervoe retries
    hub.sandbox.faults(down=True)
    answer = client.post(hub.webhook_path(), data=unknown, headers=signed(unknown))
    hub.sandbox.faults()
    assert answer.status_code == 503


def test_a_report_the_hub_did_not_send_is_not_looked_up_when_nothing_is_being_sent(hub):
    invited(hub)
    other = someone_elses(hub)
    hub.sandbox.act(other, "start")
    hub.sandbox.quiet()
    assert [(o, c) for o, c, _ in hub.webhook_outcomes()] == [("ignored", 200)]
    assert REPORT_ROUTE not in hub.sandbox.stats()["by_route"]  # no send in flight: no question to Vervoe


def test_a_report_read_while_its_send_ends_is_taken_not_ignored(hub, monkeypatch):
    """The report found no link; the send then wrote its link and took its marker away before the
    report read the markers: the report was answered 200 "ignored", and lost."""
    from plugins.vervoe import webhooks

    inv, uuid = unclear_send(hub)
    real = webhooks._refuse_while_it_may_be_being_sent

    def the_send_ends_meanwhile(ctx, settings, found_uuid, report):
        links.link(ctx, found_uuid, ctx.invitations.get(inv.id))  # the send's last steps: link, then
        links.forget_sending(ctx, inv.id)  # no marker any more
        return real(ctx, settings, found_uuid, report)

    monkeypatch.setattr(webhooks, "_refuse_while_it_may_be_being_sent", the_send_ends_meanwhile)
    hub.sandbox.act(uuid, "start")
    hub.sandbox.quiet()
    outcomes = [(o, c) for o, c, _ in hub.webhook_outcomes()]
    assert outcomes == [("accepted", 200)]


def report_reads(hub) -> int:
    """How many times the hub has read a candidate assessment from Vervoe."""
    return sum(hub.sandbox.stats()["by_route"].get(REPORT_ROUTE, {}).values())


def marker_from(hub, inv, seconds_ago: float) -> None:
    """The send's ``sending:`` marker as a try that ended ``seconds_ago`` left it."""
    from datetime import datetime, timedelta, timezone

    at = datetime.now(timezone.utc) - timedelta(seconds=seconds_ago)
    hub.ctx().records.put(f"{links.SENDING_PREFIX}{inv.id}", {"at": at.isoformat(), "round": inv.round})


def post_report(hub, uuid: str):
    body = json.dumps({"candidateAssessmentUuid": uuid, "status": "in progress"}).encode()
    return hub.app.test_client().post(hub.webhook_path(), data=body, headers=signed(body))


def test_a_send_counts_as_in_flight_while_its_lease_is_held_not_for_a_fixed_time(hub):
    """The marker of a send whose invitation stopped being pending counted for 120 s, the ttl the
    invitation's lease once had: a send still running after that (its lease now lives as long as its
    delivery runs) went unseen, and one long over still cost a read and a 503."""
    from hub.kit import provider

    inv, uuid = unclear_send(hub)
    hub.update_invitation(inv.id, status="cancelled")  # the row moved on; its send's marker stands

    # a try is running (it holds the invitation's lease), however old its marker
    marker_from(hub, inv, 3600)
    with hub.ctx().lock(provider.invitation_lock(inv.id), ttl=60):
        answer = post_report(hub, uuid)
    assert answer.status_code == 503 and "may be what the hub is sending" in answer.get_json()["error"]["message"]
    assert report_reads(hub) == 1

    # the lease is free: no try runs, and none will for a cancelled invitation: over, however fresh
    marker_from(hub, inv, 0)
    answer = post_report(hub, uuid)
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"
    assert report_reads(hub) == 1  # no question to Vervoe
    assert hub.ctx().records.keys(links.SENDING_PREFIX) == []  # forgotten


def test_a_dead_sends_marker_no_longer_costs_a_read_or_a_503(hub):
    """A send that ended without a link left its marker, its invitation pending: every report the
    hub had not linked cost a read from Vervoe, and a 503 when that read failed, for ever."""
    from hub.engine.sweeper import sweep

    inv, uuid = unclear_send(hub)
    marker_from(hub, inv, 3600)  # no try for an hour (the window is 300 s): dead, or waiting that long

    hub.sandbox.faults(down=True)
    try:
        answer = post_report(hub, uuid)
    finally:
        hub.sandbox.faults()
    assert answer.status_code == 200 and answer.get_json()["status"] == "ignored"
    assert hub.ctx().records.keys(links.SENDING_PREFIX) == []  # forgotten
    assert post_report(hub, "not-at-vervoe").status_code == 200
    assert report_reads(hub) == 0

    # a retry that does come after all still finds and links what the send created
    time.sleep(0.06)
    sweep(hub.runtime)
    assert hub.invitation().status == "invited" and hub.invitation().provider_invitation_id == uuid


def test_how_long_a_sends_retry_is_awaited_is_a_setting(hub):
    hub.save_settings(sending_window_seconds=7200)
    inv, uuid = unclear_send(hub)
    marker_from(hub, inv, 3600)
    answer = post_report(hub, uuid)
    assert answer.status_code == 503 and "may be what the hub is sending" in answer.get_json()["error"]["message"]
    assert hub.ctx().records.keys(links.SENDING_PREFIX) == [f"{links.SENDING_PREFIX}{inv.id}"]


def test_a_report_re_read_does_not_wait_for_vervoe_s_rate_budget(hub):
    """The re-read of a decision holds Vervoe's request: with the connection's budget spent it
    answers 503 at once (Vervoe sends the report again later), where it waited for the next token
    (here about 8 s; up to 60 s), and a burst of reports would hold every request thread."""
    from plugins.vervoe import wire

    inv, uuid = invited(hub)
    hub.sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    hub.sandbox.act(uuid, "hire")
    hub.wait_for(lambda: hub.source.verdicts, what="the hire")
    hub.sandbox.quiet()
    hired_body = json.dumps(hub.sandbox.webhook_log()["events"][-1]["body"]).encode()

    # the client's bucket: one token every 8 s, none now
    spend(hub.ctx().rate_limiter("api", wire.RATE_LIMIT_PER_SECOND, wire.RATE_LIMIT_BURST))
    answer = hub.app.test_client().post(hub.webhook_path(), data=hired_body, headers=signed(hired_body))
    assert answer.status_code == 503 and "rate limit" in answer.get_json()["error"]["message"], answer.get_json()
