"""The Vervoe sandbox on its own: the command line, the candidate and reviewer pages, signed report
webhooks (checked here with ``hmac``) with retries until a 200, the control API and its faults.
(Its API answers are validated against the OpenAPI document by the ``api_exchanges`` recorder.)"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from plugins.vervoe.sandbox import create_sandbox_app, serve_in_thread

from .conftest import BACKEND_ANSWERS, SANDBOX_KEY, SANDBOX_SECRET, SLUG

ROOT = Path(__file__).resolve().parents[3]


class Receiver:
    """A webhook endpoint that records what it gets and answers the statuses it is told to."""

    def __init__(self, statuses: list[int]) -> None:
        self.statuses = list(statuses)
        self.received: list[tuple[dict, bytes]] = []
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def wsgi(self, environ, start_response):
        request = Request(environ)
        self.received.append((dict(request.headers), request.get_data()))
        status = self.statuses.pop(0) if self.statuses else 200
        return Response("{}", status=status, content_type="application/json")(environ, start_response)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def receiver():
    made = []

    def factory(statuses=()):
        made.append(Receiver(statuses))
        return made[-1]

    yield factory
    for item in made:
        item.close()


def token(sandbox) -> dict:
    basic = base64.b64encode(f"{SANDBOX_KEY}:{SANDBOX_SECRET}".encode()).decode()
    answer = requests.get(sandbox.api + "/public/ats-api/token", headers={"Authorization": "Basic " + basic}, timeout=10)
    return {"Authorization": "Bearer " + answer.json()["data"]["token"]}


def invite(sandbox, email: str = "ada@example.com") -> dict:
    answer = requests.post(sandbox.api + f"/integration/assessments/{SLUG}/invite", headers=token(sandbox), timeout=10,
                           json={"candidateEmail": email, "candidateFirstName": "Ada", "candidateLastName": "Lovelace"})
    assert answer.status_code == 200
    return answer.json()["data"]


def verify(headers: dict, body: bytes, secret: str) -> int:
    """The guide's recipe, step by step: split, payload "<t>.<body>", HMAC-SHA256, compare, tolerance."""
    parts = dict(item.split("=", 1) for item in headers["Vervoe-Signature"].split(","))
    expected = hmac.new(secret.encode(), parts["t"].encode() + b"." + body, hashlib.sha256).hexdigest()
    assert hmac.compare_digest(expected, parts["hash"])
    assert abs(time.time() - int(parts["t"])) < 60
    return int(parts["t"])


# --------------------------------------------------------------------------- command line


def test_the_command_line_prints_one_line_and_serves():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-m", "plugins.vervoe.sandbox", "--host", "127.0.0.1", "--port", "0",
                                "--retry-delays", "0.3,0.6,1"], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline().strip()
        assert line.startswith("VERVOE_SANDBOX_URL=http://127.0.0.1:")
        url = line.split("=", 1)[1]
        config = requests.get(url + "/_sandbox/config", timeout=10).json()
        assert config["webhook_retry_delays"] == [0.3, 0.6, 1.0]
        assert requests.get(url + "/api/integration/assessments", timeout=10).status_code == 401
    finally:
        process.terminate()
        remaining, _ = process.communicate(timeout=10)
    assert remaining == ""  # exactly one line
    assert process.returncode == 0


def test_bad_command_line_values_exit_2():
    result = subprocess.run([sys.executable, "-m", "plugins.vervoe.sandbox", "--retry-delays", "soon"], cwd=ROOT,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=30)
    assert result.returncode == 2 and "retry-delays" in result.stderr and result.stdout == ""


def test_serve_in_thread_and_bad_config():
    url, stop = serve_in_thread({"webhook_secret": "s3cret-value", "PAGE_SIZE": 1})
    try:
        assert requests.get(url + "/_sandbox/config", timeout=10).json()["page_size"] == 1
        assert stop.app.extensions["vervoe_sandbox"].setting("WEBHOOK_SECRET") == "s3cret-value"
    finally:
        stop()
    with pytest.raises(ValueError, match="WEBHOOK_URL"):
        create_sandbox_app({"WEBHOOK_URL": "not a url"})


# --------------------------------------------------------------------------- pages and webhooks


def test_the_candidate_page_scores_and_signed_webhooks_go_out(sandbox, receiver):
    hook = receiver()
    sandbox.config(webhook_url=hook.url, webhook_secret="whsec-test-secret")
    data = invite(sandbox)
    with requests.Session() as browser:
        page = browser.get(data["candidateUrl"], timeout=10).text
        assert "Backend developer test" in page and "4 questions" in page
        login_token = data["candidateUrl"].split("token=")[1].split("&")[0]
        browser.post(sandbox.url + "/login/start", data={"token": login_token}, timeout=10)
        browser.post(sandbox.url + "/login/submit", data={"token": login_token, **BACKEND_ANSWERS, "q2": "a"},
                     timeout=10)
        assert "expired" not in browser.get(data["candidateUrl"], timeout=10).text
        assert browser.get(sandbox.url + "/login?token=wrong", timeout=10).status_code == 404
    sandbox.quiet()
    remote = sandbox.only()
    assert (remote["status"], remote["score"]["score"], remote["score"]["type"]) == ("complete", 75, "TYPE_AI")
    assert remote["answers"] == {**BACKEND_ANSWERS, "q2": "a"}
    bodies = []
    for headers, body in hook.received:
        verify(headers, body, "whsec-test-secret")
        assert headers["Content-Type"] == "application/json"
        bodies.append(json.loads(body))
    assert [b["status"] for b in bodies] == ["in progress", "complete"]
    assert set(bodies[1]) == {"candidateAssessmentUuid", "status", "completedAt", "startedAt", "score",
                              "integrationCandidateCardUrl", "timeTaken", "submitTime"}  # guide 03's fields
    assert bodies[1]["score"] == {"type": "TYPE_AI", "score": 75, "scoreByFormat": 75}
    assert bodies[1]["candidateAssessmentUuid"] == data["candidateAssessmentUuid"]


def test_webhooks_are_retried_until_a_200(sandbox, receiver):
    hook = receiver([500, 202])  # only 200 counts as received at Vervoe
    sandbox.config(webhook_url=hook.url)
    data = invite(sandbox)
    sandbox.act(data["candidateAssessmentUuid"], "expire")
    sandbox.quiet()
    (event,) = sandbox.webhook_log()["events"]
    assert (event["delivery"], event["attempts"]) == ("delivered", 3)
    assert len(hook.received) == 3 and len({body for _, body in hook.received}) == 1  # the same body each time
    stamps = [verify(headers, body, "vervoe-sandbox-webhook-secret") for headers, body in hook.received]
    assert stamps == sorted(stamps)


def test_webhooks_give_up_after_the_last_delay_and_no_target_sends_nothing(sandbox, receiver):
    data = invite(sandbox)
    sandbox.act(data["candidateAssessmentUuid"], "start")  # no webhook URL configured yet
    hook = receiver([500, 500, 500, 500])
    sandbox.config(webhook_url=hook.url)
    sandbox.act(data["candidateAssessmentUuid"], "expire")
    sandbox.quiet()
    events = sandbox.webhook_log()["events"]
    assert [(e["status"], e["delivery"]) for e in events] == [("in progress", "no_target"), ("expired", "failed")]
    assert len(hook.received) == 4  # the first attempt and three retries


def test_the_reviewer_card_hires_rejects_and_grades(sandbox):
    sandbox.config(auto_grade=False)
    data = invite(sandbox)
    uuid = data["candidateAssessmentUuid"]
    sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)
    card = sandbox.only()["integrationCandidateCardUrl"]
    base, query = card.split("?")
    with requests.Session() as browser:
        assert "not graded" in browser.get(card, timeout=10).text
        assert browser.get(base + "?token=wrong", timeout=10).status_code == 404
        assert "90%" in browser.post(f"{base}/grade?{query}", data={"score": "90"}, timeout=10).text
        assert browser.post(f"{base}/grade?{query}", data={"score": "101"}, timeout=10).status_code == 400
        assert "Un-hire" in browser.post(f"{base}/hire?{query}", timeout=10).text
        assert sandbox.only()["status"] == "hired"
        browser.post(f"{base}/unhire?{query}", timeout=10)
        browser.post(f"{base}/reject?{query}", timeout=10)
        assert sandbox.only()["status"] == "rejected"
        browser.post(f"{base}/unreject?{query}", timeout=10)
    assert (sandbox.only()["status"], sandbox.only()["score"]["type"]) == ("complete", "TYPE_MANUAL")
    assert "ada@example.com" in requests.get(sandbox.url + "/", timeout=10).text


# --------------------------------------------------------------------------- control API


def test_transitions_that_are_not_possible_are_409(sandbox):
    uuid = invite(sandbox)["candidateAssessmentUuid"]
    assert requests.post(sandbox.url + f"/_sandbox/user-assessments/{uuid}/hire", timeout=10).status_code == 409
    assert requests.post(sandbox.url + f"/_sandbox/user-assessments/{uuid}/unreject", timeout=10).status_code == 409
    sandbox.act(uuid, "expire")
    answer = requests.post(sandbox.url + f"/_sandbox/user-assessments/{uuid}/complete", json={"score": 50}, timeout=10)
    assert answer.status_code == 409 and "expired" in answer.json()["errors"]
    assert requests.post(sandbox.url + "/_sandbox/user-assessments/nope/start", timeout=10).status_code == 404
    assert requests.post(sandbox.url + f"/_sandbox/user-assessments/{uuid}/dance", timeout=10).status_code == 404


@pytest.mark.parametrize("path,body", [
    ("/_sandbox/config", {"webhook_url": "ftp://x"}),
    ("/_sandbox/config", {"nonsense": 1}),
    ("/_sandbox/config", {"page_size": 0}),
    ("/_sandbox/faults", {"error_rate": 2}),
    ("/_sandbox/faults", {"error_codes": [200]}),
    ("/_sandbox/faults", {"explode": True}),
])
def test_bad_control_values_are_400(sandbox, path, body):
    answer = requests.post(sandbox.url + path, json=body, timeout=10)
    assert answer.status_code == 400 and answer.json()["success"] is False


def test_reset_state_tokens_and_stats(sandbox):
    headers = token(sandbox)
    invite(sandbox)
    state = sandbox.call("GET", "/_sandbox/state")
    assert state["tokens_issued"] == 2 and len(state["user_assessments"]) == 1
    assert state["invite_posts"] == {f"ada@example.com|{SLUG}": 1}
    assert [a["slug"] for a in state["assessments"]] == [SLUG, "customer-support-test", "sales-skills-test"]
    assert state["assessments"][0]["questions"][0]["answer"] == BACKEND_ANSWERS["q1"]
    assert sandbox.call("POST", "/_sandbox/tokens/expire") == {"expired": 2}
    assert requests.get(sandbox.api + "/integration/assessments", headers=headers, timeout=10).status_code == 401
    sandbox.call("POST", "/_sandbox/reset")
    state = sandbox.call("GET", "/_sandbox/state")
    assert (state["tokens_issued"], state["user_assessments"], state["by_route"]) == (0, [], {})


def test_seeded_faults_repeat_and_can_fail_after_processing(sandbox):
    headers = token(sandbox)

    def run() -> list[int]:
        sandbox.faults(error_rate=0.5, error_codes=[500, 503], seed=7)
        return [requests.get(sandbox.api + "/integration/assessments", headers=headers, timeout=10).status_code
                for _ in range(12)]

    first = run()
    assert first == run() and {200, 500, 503} >= set(first) and 200 in first and len(set(first)) > 1
    sandbox.faults(error_rate=1.0, error_codes=[500], fault_after_processing=True)
    answer = requests.post(sandbox.api + f"/integration/assessments/{SLUG}/invite", headers=headers, timeout=10,
                           json={"candidateEmail": "late@example.com", "candidateFirstName": "Late"})
    sandbox.faults()
    assert answer.status_code == 500
    assert [u["candidateEmail"] for u in sandbox.user_assessments()] == ["late@example.com"]  # it happened anyway


def test_held_webhooks_are_released_in_reverse_after_the_hold(sandbox, receiver):
    hook = receiver()
    sandbox.config(webhook_url=hook.url)
    sandbox.faults(webhook_reorder=True, webhook_reorder_batch=10, webhook_reorder_hold_ms=150)
    uuid = invite(sandbox)["candidateAssessmentUuid"]
    sandbox.act(uuid, "complete", answers=BACKEND_ANSWERS)  # "in progress", then "complete"
    assert sandbox.webhook_log()["pending"] == 2 and hook.received == []
    sandbox.quiet()
    assert [json.loads(body)["status"] for _, body in hook.received] == ["complete", "in progress"]
    with pytest.raises(AssertionError):
        sandbox.faults(webhook_reorder_batch=0)
