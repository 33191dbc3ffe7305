"""End-to-end tests of the Canditech sandbox over real HTTP.

The sandbox runs with ``serve_in_thread``; a tiny WSGI receiver in another thread captures the
webhooks it sends. Signatures are checked with an HMAC computed here, independently of the
sandbox's own ``wire.sign``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from collections import deque
from datetime import datetime, timezone
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server

from plugins.canditech.sandbox import create_sandbox_app, serve_in_thread

KEY = "canditech-sandbox-key"
AUTH = {"Authorization": f"Bearer {KEY}"}
SECRET = "canditech-sandbox-webhook-secret"
ROOT = Path(__file__).resolve().parents[2]

# Answer key of the seeded "Python Developer" assessment, written out independently.
PYTHON_KEY = {"q1": "b", "q2": "b", "q3": "c", "q4": "a"}
SUPPORT_KEY = {"q1": "a", "q2": "b", "q3": "a", "q4": "b", "q5": "a"}


# --- a webhook receiver ------------------------------------------------------------------
class Receiver:
    """WSGI app recording every request; ``fail_next(n, status)`` answers n errors first."""

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self.hits: list[dict] = []
        self._failures: deque[int] = deque()
        self.delay = 0.0  # seconds to wait before answering

    def __call__(self, environ, start_response):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length)
        time.sleep(self.delay)
        with self._cv:
            status = self._failures.popleft() if self._failures else 200
            self.hits.append({
                "path": environ["PATH_INFO"],
                "signature": environ.get("HTTP_CANDITECH_SIGNATURE"),
                "content_type": environ.get("CONTENT_TYPE"),
                "body": body,
                "json": json.loads(body) if body else None,
                "answered": status,
                "received": time.time(),
            })
            self._cv.notify_all()
        start_response(f"{status} X", [("Content-Type", "text/plain")])
        return [b"ok"]

    def clear(self) -> None:
        with self._cv:
            self.hits.clear()
            self._failures.clear()
            self.delay = 0.0

    def fail_next(self, count: int, status: int = 500) -> None:
        with self._cv:
            self._failures.extend([status] * count)

    def for_invitation(self, invitation_id: str) -> list[dict]:
        with self._cv:
            return [h for h in self.hits
                    if h["json"]["data"]["invitation"]["id"] == invitation_id]

    def wait(self, invitation_id: str, count: int, timeout: float = 5.0) -> list[dict]:
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                hits = [h for h in self.hits
                        if h["json"]["data"]["invitation"]["id"] == invitation_id]
                if len(hits) >= count or time.monotonic() >= deadline:
                    return hits
                self._cv.wait(max(0.0, deadline - time.monotonic()))


def verify(signature: str, body: bytes, secret: str = SECRET) -> int:
    """Check ``t=..,v1=..`` with our own HMAC; returns t."""
    parts = dict(item.split("=", 1) for item in signature.split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body,
                        hashlib.sha256).hexdigest()
    assert hmac.compare_digest(parts["v1"], expected), "signature does not verify"
    return int(parts["t"])


def parse_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    assert parsed.utcoffset() == timezone.utc.utcoffset(None)
    return parsed


# --- fixtures ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def receiver():
    app = Receiver()
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    app.url = f"http://127.0.0.1:{server.server_port}"
    yield app
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def server(receiver):
    base_url, stop = serve_in_thread({
        "WEBHOOK_URL": receiver.url + "/hooks/canditech",
        "WEBHOOK_RETRY_DELAYS": [0.2, 0.2, 0.2],
        "RATE_LIMIT_PER_SECOND": 1000,
        "RATE_LIMIT_BURST": 1000,
    })
    yield base_url
    stop()


@pytest.fixture()
def sandbox(server, receiver):
    """Base URL of a sandbox reset to its seed, start-up config and no faults."""
    assert requests.post(f"{server}/_sandbox/reset", json={"config": True}).status_code == 200
    receiver.clear()
    return server


def invite(base: str, reference: str = "opp-1", assessment: str = "asmt-python",
           **extra) -> requests.Response:
    body = {
        "assessment_id": assessment,
        "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"},
        "external_reference": reference,
        **extra,
    }
    return requests.post(f"{base}/v1/invitations", json=body, headers=AUTH, timeout=5)


def get_invitation(base: str, invitation_id: str) -> dict:
    response = requests.get(f"{base}/v1/invitations/{invitation_id}", headers=AUTH, timeout=5)
    assert response.status_code == 200
    return response.json()


def webhook_log(base: str) -> dict:
    return requests.get(f"{base}/_sandbox/webhook_log", timeout=5).json()


def wait_until(predicate, timeout: float = 5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    return predicate()


# --- auth and assessments ----------------------------------------------------------------
def test_requests_without_a_valid_key_are_refused(sandbox):
    for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": KEY},
                    {"Authorization": f"Basic {KEY}"}):
        response = requests.get(f"{sandbox}/v1/assessments", headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.json()["error"]["message"]
    assert requests.get(f"{sandbox}/v1/assessments", headers=AUTH).status_code == 200


def test_assessments_are_paginated_with_a_cursor(sandbox):
    seen, cursor, pages = [], None, 0
    while True:
        params = {"cursor": cursor} if cursor else {}
        body = requests.get(f"{sandbox}/v1/assessments", headers=AUTH, params=params).json()
        pages += 1
        assert len(body["data"]) <= 2
        for item in body["data"]:
            assert set(item) == {"id", "name", "duration_minutes", "max_score"}
            assert item["max_score"] == 100
        seen.extend(body["data"])
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert pages >= 2
    names = {a["id"]: a["name"] for a in seen}
    assert names["asmt-python"] == "Python Developer"
    assert names["asmt-data"] == "Data Analysis"
    assert names["asmt-support"] == "Customer Support"
    assert len(names) == len(seen)
    bad = requests.get(f"{sandbox}/v1/assessments", headers=AUTH, params={"cursor": "!!"})
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "validation_error"


# --- invitations ------------------------------------------------------------------------
def test_invite_then_same_reference_answers_409_with_the_existing_invitation(sandbox):
    first = invite(sandbox, "opp-42")
    assert first.status_code == 201
    inv = first.json()
    assert inv["status"] == "invited"
    assert inv["assessment_id"] == "asmt-python"
    assert inv["external_reference"] == "opp-42"
    assert inv["candidate"]["email"] == "ada@example.com"
    assert inv["invite_url"] == f"{sandbox}/take/{inv['id']}"
    parse_iso(inv["created_at"])
    assert inv["verdict"] is None and "score" not in inv

    second = invite(sandbox, "opp-42", assessment="asmt-data")
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "duplicate_external_reference"
    assert second.json()["invitation"]["id"] == inv["id"]
    assert second.json()["invitation"]["assessment_id"] == "asmt-python"

    control = requests.get(f"{sandbox}/_sandbox/invitations").json()
    assert [i["id"] for i in control["data"]] == [inv["id"]]
    assert control["post_counts"] == {"opp-42": 2}
    assert control["data"][0]["post_count"] == 2


@pytest.mark.parametrize(("change", "field"), [
    ({"candidate": {"first_name": "A", "last_name": "B", "email": "not-an-email"}},
     "candidate.email"),
    ({"assessment_id": "asmt-nope"}, "assessment_id"),
    ({"external_reference": ""}, "external_reference"),
    ({"candidate": {"first_name": "", "last_name": "B", "email": "a@b.co"}},
     "candidate.first_name"),
    ({"callback_url": "ftp://x"}, "callback_url"),
])
def test_invalid_invitations_are_422_naming_the_field(sandbox, change, field):
    body = {"assessment_id": "asmt-python", "external_reference": "opp-bad",
            "candidate": {"first_name": "A", "last_name": "B", "email": "a@b.co"}, **change}
    response = requests.post(f"{sandbox}/v1/invitations", json=body, headers=AUTH)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert field in error["message"] and error["field"] == field
    assert requests.get(f"{sandbox}/_sandbox/invitations").json()["data"] == []


def test_non_json_body_is_400(sandbox):
    response = requests.post(f"{sandbox}/v1/invitations", data="x", headers=AUTH)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_request"


def test_concurrent_posts_of_one_reference_create_exactly_one_invitation(sandbox):
    results: list[int] = []
    threads = [threading.Thread(target=lambda: results.append(invite(sandbox, "opp-race")
                                                              .status_code))
               for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [201] + [409] * 9
    control = requests.get(f"{sandbox}/_sandbox/invitations").json()
    assert len(control["data"]) == 1 and control["post_counts"] == {"opp-race": 10}


def test_lookup_by_external_reference_and_id(sandbox):
    inv = invite(sandbox, "opp-7").json()
    found = requests.get(f"{sandbox}/v1/invitations", headers=AUTH,
                         params={"external_reference": "opp-7"}).json()
    assert [i["id"] for i in found["data"]] == [inv["id"]]
    none = requests.get(f"{sandbox}/v1/invitations", headers=AUTH,
                        params={"external_reference": "opp-unknown"}).json()
    assert none == {"data": []}
    assert get_invitation(sandbox, inv["id"]) == inv
    missing = requests.get(f"{sandbox}/v1/invitations/inv_missing", headers=AUTH)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_cancel(sandbox, receiver):
    inv = invite(sandbox, "opp-c").json()
    response = requests.post(f"{sandbox}/v1/invitations/{inv['id']}/cancel", headers=AUTH)
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert get_invitation(sandbox, inv["id"])["status"] == "cancelled"
    page = requests.get(inv["invite_url"])
    assert page.status_code == 410 and "cancelled" in page.text
    assert 'id="submit-assessment"' not in page.text

    done = invite(sandbox, "opp-d").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{done['id']}/complete", json={"score": 10})
    refused = requests.post(f"{sandbox}/v1/invitations/{done['id']}/cancel", headers=AUTH)
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "invalid_state"
    assert get_invitation(sandbox, done["id"])["status"] == "completed"


# --- candidate page, report, review, webhooks ---------------------------------------------
def test_opening_the_take_page_starts_the_invitation_and_fires_started(sandbox, receiver):
    inv = invite(sandbox, "opp-s").json()
    page = requests.get(inv["invite_url"])
    assert page.status_code == 200
    assert "Python Developer" in page.text
    for n in range(1, 5):
        assert f'name="q{n}"' in page.text
    assert 'id="submit-assessment"' in page.text and "<label" in page.text
    assert get_invitation(sandbox, inv["id"])["status"] == "started"

    hits = receiver.wait(inv["id"], 1)
    assert [h["json"]["type"] for h in hits] == ["invitation.started"]
    hit = hits[0]
    assert hit["path"] == "/hooks/canditech"
    assert hit["content_type"] == "application/json"
    assert hit["json"]["data"]["invitation"]["status"] == "started"
    assert hit["json"]["data"]["invitation"]["external_reference"] == "opp-s"
    parse_iso(hit["json"]["created_at"])

    requests.get(inv["invite_url"])  # reopening does not start it again
    time.sleep(0.3)
    assert len(receiver.for_invitation(inv["id"])) == 1


def test_submitting_answers_completes_with_the_computed_score(sandbox, receiver):
    inv = invite(sandbox, "opp-score", assessment="asmt-support").json()
    requests.get(inv["invite_url"])
    answers = dict(SUPPORT_KEY, q3="b")  # four of five right -> 80
    done = requests.post(inv["invite_url"], data=answers)
    assert done.status_code == 200 and 'id="thank-you"' in done.text

    got = get_invitation(sandbox, inv["id"])
    assert got["status"] == "completed"
    assert (got["score"], got["max_score"]) == (80, 100)
    assert got["report_url"] == f"{sandbox}/reports/{inv['id']}"
    assert parse_iso(got["completed_at"]) >= parse_iso(got["created_at"])

    hits = receiver.wait(inv["id"], 2)
    assert [h["json"]["type"] for h in hits] == ["invitation.started", "invitation.completed"]
    assert hits[1]["json"]["data"]["invitation"]["score"] == 80
    assert hits[0]["json"]["id"] != hits[1]["json"]["id"]

    report = requests.get(got["report_url"])
    assert report.status_code == 200 and "80 / 100" in report.text and "Ada" in report.text
    again = requests.get(inv["invite_url"])
    assert "already submitted" in again.text and 'id="submit-assessment"' not in again.text


@pytest.mark.parametrize(("answers", "score"), [
    (PYTHON_KEY, 100),
    (dict(PYTHON_KEY, q1="a"), 75),
    ({"q1": "b"}, 25),
    ({}, 0),
])
def test_known_answer_sets_give_known_scores(sandbox, answers, score):
    inv = invite(sandbox, f"opp-known-{score}").json()
    response = requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/complete",
                             json={"answers": answers})
    assert response.status_code == 200 and response.json()["score"] == score


def test_review_page_verdict_fires_webhooks_and_can_change(sandbox, receiver):
    inv = invite(sandbox, "opp-v").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/complete",
                  json={"answers": PYTHON_KEY})
    listing = requests.get(f"{sandbox}/review")
    assert f'id="review-{inv["id"]}"' in listing.text
    review = requests.get(f"{sandbox}/review/{inv['id']}")
    assert 'id="thumbs-up"' in review.text and 'id="thumbs-down"' in review.text

    posted = requests.post(f"{sandbox}/review/{inv['id']}", data={"verdict": "thumbs_up"})
    assert posted.status_code == 200  # after the redirect
    got = get_invitation(sandbox, inv["id"])
    assert got["verdict"] == "thumbs_up" and parse_iso(got["verdict_at"])
    requests.post(f"{sandbox}/review/{inv['id']}", data={"verdict": "thumbs_down"})
    requests.post(f"{sandbox}/review/{inv['id']}", data={"verdict": "thumbs_down"})  # no change

    hits = receiver.wait(inv["id"], 4)
    time.sleep(0.3)
    hits = receiver.for_invitation(inv["id"])
    types = [h["json"]["type"] for h in hits]
    assert types == ["invitation.started", "invitation.completed",
                     "invitation.verdict", "invitation.verdict"]
    assert [h["json"]["data"]["invitation"]["verdict"] for h in hits[2:]] == [
        "thumbs_up", "thumbs_down"]
    assert get_invitation(sandbox, inv["id"])["verdict"] == "thumbs_down"


def test_a_slow_receiver_does_not_block_the_candidate_page(sandbox, receiver):
    receiver.delay = 1.0
    inv = invite(sandbox, "opp-slow").json()
    started = time.monotonic()
    assert requests.get(inv["invite_url"]).status_code == 200
    assert time.monotonic() - started < 0.5
    assert len(receiver.wait(inv["id"], 1)) == 1


def test_webhook_signature_verifies_with_an_independent_hmac(sandbox, receiver):
    inv = invite(sandbox, "opp-sig").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/start")
    hit = receiver.wait(inv["id"], 1)[0]
    t = verify(hit["signature"], hit["body"])
    assert abs(time.time() - t) < 5
    with pytest.raises(AssertionError):
        verify(hit["signature"], hit["body"], secret="another-secret")
    with pytest.raises(AssertionError):
        verify(hit["signature"], hit["body"] + b" ")

    config = requests.post(f"{sandbox}/_sandbox/config", json={"WEBHOOK_SECRET": "s3cret"})
    assert config.json()["WEBHOOK_SECRET"] == "s3cret"
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/complete", json={"score": 50})
    completed = receiver.wait(inv["id"], 2)[1]
    verify(completed["signature"], completed["body"], secret="s3cret")


def test_failed_delivery_is_retried_resigned_with_the_same_event_id(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/config", json={"WEBHOOK_RETRY_DELAYS": [1.1, 1.1]})
    receiver.fail_next(1, 500)
    inv = invite(sandbox, "opp-retry").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/start")
    first, second = receiver.wait(inv["id"], 2)
    assert (first["answered"], second["answered"]) == (500, 200)
    assert first["json"]["id"] == second["json"]["id"]
    assert first["body"] == second["body"]
    assert first["signature"] != second["signature"]
    assert verify(second["signature"], second["body"]) > verify(first["signature"], first["body"])

    log = wait_until(lambda: (lg := webhook_log(sandbox))["events"][0]["status"] == "delivered"
                     and lg)
    assert [a["outcome"] for a in log["attempts"]] == ["failed", "delivered"]
    assert [a["status_code"] for a in log["attempts"]] == [500, 200]
    assert log["events"][0]["attempts"] == 2


def test_delivery_gives_up_after_the_last_retry(sandbox, receiver):
    receiver.fail_next(4, 503)
    inv = invite(sandbox, "opp-give-up").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/start")
    log = wait_until(lambda: (lg := webhook_log(sandbox))["events"][0]["status"] == "failed"
                     and lg)
    assert log, "event never marked failed"
    assert len(receiver.for_invitation(inv["id"])) == 4  # first try + 3 retries


def test_callback_url_overrides_the_configured_webhook_url(sandbox, receiver):
    inv = invite(sandbox, "opp-cb", callback_url=receiver.url + "/per-invitation").json()
    assert inv["callback_url"] == receiver.url + "/per-invitation"
    requests.get(inv["invite_url"])
    assert receiver.wait(inv["id"], 1)[0]["path"] == "/per-invitation"


def test_no_webhook_url_means_no_delivery(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/config", json={"WEBHOOK_URL": None})
    inv = invite(sandbox, "opp-none").json()
    requests.get(inv["invite_url"])
    time.sleep(0.2)
    assert receiver.for_invitation(inv["id"]) == []
    assert webhook_log(sandbox)["events"][0]["status"] == "no_target"


def test_control_expire_fires_expired(sandbox, receiver):
    inv = invite(sandbox, "opp-exp").json()
    response = requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/expire")
    assert response.json()["status"] == "expired"
    assert [h["json"]["type"] for h in receiver.wait(inv["id"], 1)] == ["invitation.expired"]
    assert requests.get(inv["invite_url"]).status_code == 410
    again = requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/expire")
    assert again.status_code == 409


def test_reset_forgets_invitations(sandbox):
    invite(sandbox, "opp-r")
    requests.post(f"{sandbox}/_sandbox/reset")
    assert requests.get(f"{sandbox}/_sandbox/invitations").json() == {"data": [],
                                                                      "post_counts": {}}
    assert invite(sandbox, "opp-r").status_code == 201
    state = requests.get(f"{sandbox}/_sandbox/state").json()
    assert {a["id"] for a in state["assessments"]} >= {"asmt-python", "asmt-data",
                                                       "asmt-support"}


def test_index_lists_invitations_and_unknown_pages_answer_html(sandbox):
    inv = invite(sandbox, "opp-index").json()
    index = requests.get(f"{sandbox}/")
    assert index.status_code == 200
    assert f'id="invitation-{inv["id"]}"' in index.text and 'href="/review"' in index.text
    missing = requests.get(f"{sandbox}/take/inv_missing")
    assert missing.status_code == 404 and "text/html" in missing.headers["Content-Type"]
    unknown = requests.get(f"{sandbox}/no/such/page")
    assert unknown.status_code == 404 and "text/html" in unknown.headers["Content-Type"]
    api_unknown = requests.get(f"{sandbox}/v1/no/such", headers=AUTH)
    assert api_unknown.status_code == 404 and api_unknown.json()["error"]["code"] == "not_found"


# --- rate limit and faults ----------------------------------------------------------------
def test_rate_limit_answers_429_with_retry_after(sandbox):
    requests.post(f"{sandbox}/_sandbox/config", json={
        "RATE_LIMIT_PER_SECOND": 0.5, "RATE_LIMIT_BURST": 3,
        "API_KEYS": [KEY, "second-key"]})
    statuses = [requests.get(f"{sandbox}/v1/assessments", headers=AUTH) for _ in range(4)]
    assert [r.status_code for r in statuses] == [200, 200, 200, 429]
    limited = statuses[-1]
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    other = requests.get(f"{sandbox}/v1/assessments",
                         headers={"Authorization": "Bearer second-key"})
    assert other.status_code == 200  # the bucket is per key
    stats = requests.get(f"{sandbox}/_sandbox/stats").json()
    assert stats["status_429"] == 1 and stats["counters"]["rate_limited"] == 1
    assert stats["by_route"]["GET /v1/assessments"] == {"200": 4, "429": 1}


def test_error_faults_are_seeded_and_reproducible(sandbox):
    def run() -> list[int]:
        faults = requests.post(f"{sandbox}/_sandbox/faults",
                               json={"error_rate": 0.5, "error_codes": [500, 503], "seed": 7})
        assert faults.status_code == 200 and faults.json()["error_rate"] == 0.5
        return [requests.get(f"{sandbox}/v1/assessments", headers=AUTH).status_code
                for _ in range(16)]

    first, second = run(), run()
    assert first == second
    assert 200 in first and {500, 503} & set(first)
    error = next(r for r in [requests.get(f"{sandbox}/v1/assessments", headers=AUTH)
                             for _ in range(20)] if r.status_code >= 500)
    assert error.json()["error"]["code"] in ("internal_error", "service_unavailable")
    assert requests.delete(f"{sandbox}/_sandbox/faults").json()["error_rate"] == 0
    assert requests.get(f"{sandbox}/v1/assessments", headers=AUTH).status_code == 200


def test_fault_429_carries_retry_after_and_down_answers_503(sandbox):
    requests.post(f"{sandbox}/_sandbox/faults", json={"error_rate": 1, "error_codes": [429]})
    response = requests.get(f"{sandbox}/v1/assessments", headers=AUTH)
    assert response.status_code == 429 and response.headers["Retry-After"] == "1"
    assert response.json()["error"]["code"] == "rate_limited"

    requests.post(f"{sandbox}/_sandbox/faults", json={"down": True})
    down = requests.get(f"{sandbox}/v1/invitations/x", headers=AUTH)
    assert down.status_code == 503 and down.json()["error"]["code"] == "service_unavailable"
    assert requests.get(f"{sandbox}/_sandbox/state").status_code == 200  # control stays up
    requests.delete(f"{sandbox}/_sandbox/faults")
    assert requests.get(f"{sandbox}/v1/assessments", headers=AUTH).status_code == 200


def test_unknown_fault_setting_is_refused(sandbox):
    response = requests.post(f"{sandbox}/_sandbox/faults", json={"eror_rate": 1})
    assert response.status_code == 400 and "eror_rate" in response.json()["error"]["message"]


def test_fault_after_processing_loses_the_answer_but_keeps_the_invitation(sandbox):
    requests.post(f"{sandbox}/_sandbox/faults",
                  json={"error_rate": 1, "error_codes": [500], "fault_after_processing": True})
    assert invite(sandbox, "opp-lost").status_code == 500
    requests.delete(f"{sandbox}/_sandbox/faults")
    retry = invite(sandbox, "opp-lost")
    assert retry.status_code == 409
    control = requests.get(f"{sandbox}/_sandbox/invitations").json()
    assert len(control["data"]) == 1 and control["post_counts"] == {"opp-lost": 2}
    assert retry.json()["invitation"]["id"] == control["data"][0]["id"]


def test_reset_and_timeout_faults(sandbox):
    requests.post(f"{sandbox}/_sandbox/faults", json={"reset_rate": 1})
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{sandbox}/v1/assessments", headers=AUTH, timeout=5)
    requests.post(f"{sandbox}/_sandbox/faults", json={"timeout_rate": 1, "timeout_seconds": 1})
    with pytest.raises(requests.Timeout):
        requests.get(f"{sandbox}/v1/assessments", headers=AUTH, timeout=0.3)
    requests.delete(f"{sandbox}/_sandbox/faults")
    counters = requests.get(f"{sandbox}/_sandbox/stats").json()["counters"]
    assert counters["fault_reset"] == 1 and counters["fault_timeout"] == 1
    assert requests.get(f"{sandbox}/v1/assessments", headers=AUTH).status_code == 200


def test_latency_fault_delays_answers(sandbox):
    requests.post(f"{sandbox}/_sandbox/faults", json={"latency_ms": 300})
    started = time.monotonic()
    assert requests.get(f"{sandbox}/v1/assessments", headers=AUTH).status_code == 200
    assert time.monotonic() - started >= 0.3


def test_dropped_webhook_is_delivered_by_the_retry(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/faults", json={"webhook_drop_rate": 1})
    inv = invite(sandbox, "opp-drop").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/start")
    hits = receiver.wait(inv["id"], 1)
    assert len(hits) == 1
    log = wait_until(lambda: (lg := webhook_log(sandbox))["events"][0]["status"] == "delivered"
                     and lg)
    assert [a["outcome"] for a in log["attempts"]] == ["dropped", "delivered"]


def test_webhook_dropped_forever_is_lost(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/faults",
                  json={"webhook_drop_rate": 1, "webhook_drop_forever": True})
    inv = invite(sandbox, "opp-lost-hook").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/start")
    assert wait_until(lambda: webhook_log(sandbox)["events"][0]["status"] == "lost")
    time.sleep(0.4)
    assert receiver.for_invitation(inv["id"]) == []


def test_duplicated_webhook_repeats_the_same_event(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/faults", json={"webhook_duplicate_rate": 1})
    inv = invite(sandbox, "opp-dup").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/start")
    hits = receiver.wait(inv["id"], 2)
    assert len(hits) == 2 and hits[0]["json"]["id"] == hits[1]["json"]["id"]


def test_reordered_webhooks_arrive_in_reverse(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/faults", json={"webhook_reorder": True})
    inv = invite(sandbox, "opp-order").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/complete",
                  json={"answers": PYTHON_KEY})
    hits = receiver.wait(inv["id"], 2)
    assert [h["json"]["type"] for h in hits] == ["invitation.completed", "invitation.started"]


def test_thin_webhooks_carry_only_the_invitation_id(sandbox, receiver):
    requests.post(f"{sandbox}/_sandbox/faults", json={"thin_webhooks": True})
    inv = invite(sandbox, "opp-thin").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{inv['id']}/complete", json={"score": 70})
    hits = receiver.wait(inv["id"], 2)
    assert [h["json"]["data"] for h in hits] == [{"invitation": {"id": inv["id"]}}] * 2
    assert get_invitation(sandbox, inv["id"])["score"] == 70


# --- entry points -------------------------------------------------------------------------
def test_create_sandbox_app_rejects_bad_config():
    with pytest.raises(ValueError):
        create_sandbox_app({"WEBHOOK_URL": "not a url"})
    app = create_sandbox_app({"PAGE_SIZE": 3, "TESTING": True})
    body = app.test_client().get("/v1/assessments", headers=AUTH).get_json()
    assert len(body["data"]) == 3


def test_command_line_prints_its_url():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "plugins.canditech.sandbox", "--host", "127.0.0.1", "--port", "0"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("CANDITECH_SANDBOX_URL=http://127.0.0.1:")
        base = line.split("=", 1)[1]
        assert requests.get(f"{base}/v1/assessments", timeout=5).status_code == 401
        assert requests.get(f"{base}/v1/assessments", headers=AUTH, timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(5)
        proc.stdout.close()
