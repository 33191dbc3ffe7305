"""The Lever sandbox over real HTTP: API, OAuth, signed webhooks, faults, control API, UI.

Each test runs its own sandbox (``serve_in_thread``) and, where webhooks matter, a tiny
werkzeug receiver on another loopback port. Signatures are checked with an HMAC computed here,
independently of the sandbox's code (lever.md §1.4).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from plugins.lever.sandbox import SEED, serve_in_thread

ROOT = Path(__file__).resolve().parents[2]
API_KEY = SEED["api_key"]
CLIENT_ID, CLIENT_SECRET = SEED["oauth_client_id"], SEED["oauth_client_secret"]
ALICE, BOB, NOMAIL = (SEED["opportunities"][k] for k in ("alice", "bob", "nomail"))
STAGES = SEED["stages"]
FAST = {"WEBHOOK_RETRY_DELAYS": [0.05] * 5, "WEBHOOK_TIMEOUT": 2}


def expected_signature(signature_token: str, body: dict) -> str:
    message = (body["token"] + str(body["triggeredAt"])).encode()
    return hmac.new(signature_token.encode(), message, hashlib.sha256).hexdigest()


class _Quiet(WSGIRequestHandler):
    def log_request(self, code="-", size="-") -> None:
        pass


class Receiver:
    """Captures webhook POSTs; answers each with the next scripted status (then 200)."""

    def __init__(self) -> None:
        self.hits: list[dict] = []
        self.statuses: list[int] = []
        self._cond = threading.Condition()
        self._server = make_server("127.0.0.1", 0, self._app, threaded=True,
                                   request_handler=_Quiet)
        self.url = f"http://127.0.0.1:{self._server.server_port}/lever/webhook"
        self._thread = threading.Thread(target=self._server.serve_forever,
                                        kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()

    def _app(self, environ, start_response):
        request = Request(environ)
        raw = request.get_data()
        with self._cond:
            status = self.statuses.pop(0) if self.statuses else 200
            self.hits.append({"raw": raw, "body": json.loads(raw),
                              "headers": dict(request.headers), "status": status})
            self._cond.notify_all()
        return Response("ok", status)(environ, start_response)

    def wait_for(self, count: int, timeout: float = 5.0) -> list[dict]:
        with self._cond:
            assert self._cond.wait_for(lambda: len(self.hits) >= count, timeout), (
                f"expected {count} webhook(s), got {len(self.hits)}")
            return list(self.hits)

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def sandbox(request):
    config = getattr(request, "param", None) or FAST
    base, stop = serve_in_thread(config)
    yield base
    stop()


@pytest.fixture
def receiver():
    rec = Receiver()
    yield rec
    rec.stop()


@pytest.fixture
def api():
    with requests.Session() as session:
        session.auth = (API_KEY, "")
        yield session


def register_webhook(api, base, url, event="candidateStageChange") -> dict:
    resp = api.post(f"{base}/v1/webhooks", json={"url": url, "event": event})
    assert resp.status_code == 201, resp.text
    return resp.json()["data"]


def control(method: str, base: str, path: str, **kwargs) -> requests.Response:
    return requests.request(method, f"{base}/_sandbox{path}", timeout=10, **kwargs)


# ----------------------------------------------------------------------------- auth
def test_basic_auth_and_lever_error_bodies(sandbox, api):
    missing = requests.get(f"{sandbox}/v1/stages", timeout=5)
    assert missing.status_code == 401 and missing.json()["code"] == "Unauthorized"
    wrong = requests.get(f"{sandbox}/v1/stages", auth=("not-a-key", ""), timeout=5)
    assert wrong.status_code == 401 and wrong.json()["code"] == "Unauthorized"

    stages = api.get(f"{sandbox}/v1/stages").json()["data"]
    assert [s["id"] for s in stages] == list(STAGES.values())
    assert stages[2] == {"id": "stage-canditech", "text": "Canditech Stage"}

    gone = api.get(f"{sandbox}/v1/opportunities/opp-missing")
    assert gone.status_code == 404
    assert gone.json() == {"code": "ResourceNotFound",
                           "message": "opportunities opp-missing was not found"}
    bad_stage = api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage", json={})
    assert bad_stage.status_code == 400 and bad_stage.json()["code"] == "BadRequest"


def test_catalog_users_and_postings(sandbox, api):
    users = api.get(f"{sandbox}/v1/users", params={"email": "LENA.limited@example.com"})
    assert [(u["id"], u["accessRole"]) for u in users.json()["data"]] == [
        ("user-limited", "limited team member")]
    backend = api.get(f"{sandbox}/v1/postings/{SEED['postings']['backend']}").json()["data"]
    assert backend["owner"] == "user-admin" and backend["hiringManager"] == "user-team-member"
    assert "user-limited" in backend["followers"]
    analyst = api.get(f"{sandbox}/v1/postings/{SEED['postings']['data_analyst']}").json()["data"]
    assert "user-limited" not in analyst["followers"]
    closed = api.get(f"{sandbox}/v1/postings", params={"state": "closed"}).json()["data"]
    assert [p["id"] for p in closed] == [SEED["postings"]["closed"]]
    reasons = api.get(f"{sandbox}/v1/archive_reasons").json()["data"]
    assert {(r["text"], r["type"]) for r in reasons} == {("Underqualified", "non-hired"),
                                                         ("Hired", "hired")}


# ----------------------------------------------------------------------- pagination
def test_pagination_with_opaque_offsets(sandbox, api):
    seen, offset, pages = [], None, 0
    while True:
        params = {"limit": 2, **({"offset": offset} if offset else {})}
        page = api.get(f"{sandbox}/v1/opportunities", params=params).json()
        pages += 1
        seen += [o["id"] for o in page["data"]]
        assert len(page["data"]) <= 2
        if not page["hasNext"]:
            assert page.get("next") is None
            break
        offset = page["next"]
    assert pages == 3
    assert seen == list(SEED["opportunities"].values())

    bad = api.get(f"{sandbox}/v1/opportunities", params={"offset": "2"})
    assert bad.status_code == 400
    assert bad.json() == {"code": "BadRequestError", "message": "Invalid offset token"}
    stages_token = api.get(f"{sandbox}/v1/stages", params={"limit": 1}).json()["next"]
    foreign = api.get(f"{sandbox}/v1/opportunities", params={"offset": stages_token})
    assert foreign.status_code == 400
    assert api.get(f"{sandbox}/v1/opportunities", params={"limit": 101}).status_code == 400


def test_filters_and_expand(sandbox, api):
    backend = api.get(f"{sandbox}/v1/opportunities",
                      params={"posting_id": SEED["postings"]["backend"]}).json()["data"]
    assert {o["id"] for o in backend} == {ALICE, BOB, SEED["opportunities"]["carol"], NOMAIL}
    by_email = api.get(f"{sandbox}/v1/opportunities", params={"email": "bob@example.com"})
    assert [o["id"] for o in by_email.json()["data"]] == [BOB]

    params = [("expand", x) for x in ("applications", "stage", "contact", "owner", "followers")]
    opp = api.get(f"{sandbox}/v1/opportunities/{ALICE}", params=params).json()["data"]
    assert opp["stage"] == {"id": STAGES["new_applicant"], "text": "New applicant"}
    assert opp["applications"][0]["posting"] == SEED["postings"]["backend"]
    assert opp["applications"][0]["opportunityId"] == ALICE
    assert opp["contact"]["emails"] == ["alice@example.com"]
    assert opp["owner"]["accessRole"] == "admin"
    assert opp["followers"][0]["id"] == "user-admin"
    assert opp["urls"]["show"] == f"{sandbox}/candidates/{ALICE}"
    plain = api.get(f"{sandbox}/v1/opportunities/{NOMAIL}").json()["data"]
    assert plain["emails"] == [] and plain["stage"] == STAGES["new_applicant"]
    assert plain["archived"] is None and isinstance(plain["applications"][0], str)


# ------------------------------------------------------------------------- webhooks
def test_stage_move_sends_signed_webhook(sandbox, api, receiver):
    hook = register_webhook(api, sandbox, receiver.url)
    token = hook["configuration"]["signatureToken"]
    assert re.fullmatch(r"[0-9a-f]{48}", token)
    listed = api.get(f"{sandbox}/v1/webhooks").json()["data"]
    assert [h["id"] for h in listed] == [hook["id"]]
    assert "signatureToken" not in listed[0]["configuration"]

    resp = api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage",
                   params={"perform_as": "user-super-admin"}, json={"stage": STAGES["canditech"]})
    assert resp.status_code == 200
    opp = resp.json()["data"]
    assert opp["stage"] == STAGES["canditech"]
    assert opp["stageChanges"][-1]["toStageId"] == STAGES["canditech"]
    assert opp["stageChanges"][-1]["userId"] == "user-super-admin"

    hit = receiver.wait_for(1)[0]
    body = hit["body"]
    assert hit["headers"]["User-Agent"] == "Lever-Webhooks"
    assert hit["headers"]["Content-Type"] == "application/json"
    assert body["event"] == "candidateStageChange"
    assert body["data"] == {"opportunityId": ALICE, "candidateId": ALICE,
                            "contactId": "contact-alice", "toStageId": STAGES["canditech"],
                            "fromStageId": STAGES["new_applicant"]}
    assert isinstance(body["triggeredAt"], int) and re.fullmatch(r"[0-9a-f]{48}", body["token"])
    assert body["signature"] == expected_signature(token, body)
    assert body["signature"] != expected_signature("0" * 48, body)


def test_ui_and_control_moves_fire_webhooks(sandbox, api, receiver):
    token = register_webhook(api, sandbox, receiver.url)["configuration"]["signatureToken"]
    page = requests.get(f"{sandbox}/", timeout=5).text
    assert f'<select id="move-{BOB}" name="stage_id">' in page
    assert f'<label class="visually-hidden" for="move-{BOB}">' in page
    form = requests.post(f"{sandbox}/candidates/{BOB}/move",
                         data={"stage_id": STAGES["phone_interview"]}, allow_redirects=False,
                         timeout=5)
    assert form.status_code == 302
    moved = control("POST", sandbox, f"/opportunities/{ALICE}/move",
                    json={"stage_id": STAGES["offer"]})
    assert moved.json()["stage"]["id"] == STAGES["offer"]
    bodies = [h["body"] for h in receiver.wait_for(2)]
    assert [(b["data"]["opportunityId"], b["data"]["toStageId"]) for b in bodies] == [
        (BOB, STAGES["phone_interview"]), (ALICE, STAGES["offer"])]
    assert all(b["signature"] == expected_signature(token, b) for b in bodies)
    assert "Phone Interview" in requests.get(f"{sandbox}/candidates/{BOB}", timeout=5).text


def test_retries_resend_the_same_body(sandbox, api, receiver):
    register_webhook(api, sandbox, receiver.url)
    receiver.statuses = [500, 503]
    api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage", json={"stage": STAGES["offer"]})
    hits = receiver.wait_for(3)
    assert [h["status"] for h in hits] == [500, 503, 200]
    assert hits[0]["raw"] == hits[1]["raw"] == hits[2]["raw"]
    assert control("POST", sandbox, "/webhooks/wait_idle", json={"timeout": 5}).json()["idle"]
    log = control("GET", sandbox, "/webhook_log").json()["data"]
    assert [(e["attempt"], e["status_code"], e["ok"]) for e in log] == [
        (1, 500, False), (2, 503, False), (3, 200, True)]


def test_gives_up_after_five_retries(sandbox, api, receiver):
    register_webhook(api, sandbox, receiver.url)
    receiver.statuses = [500] * 10
    api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage", json={"stage": STAGES["offer"]})
    receiver.wait_for(6)
    assert control("POST", sandbox, "/webhooks/wait_idle", json={"timeout": 5}).json()["idle"]
    assert len(receiver.hits) == 6
    stats = control("GET", sandbox, "/stats").json()
    assert stats["webhook_attempts"] == 6 and stats["webhook_gave_up"] == 1


def test_archive_hire_delete_and_create_events(sandbox, api, receiver):
    for event in ("candidateArchiveChange", "candidateHired", "candidateDeleted",
                  "applicationCreated"):
        register_webhook(api, sandbox, receiver.url, event)
    archived = api.put(f"{sandbox}/v1/opportunities/{BOB}/archived",
                       json={"reason": "reason-underqualified"}).json()["data"]
    assert archived["archived"]["reason"] == "reason-underqualified"
    body = receiver.wait_for(1)[0]["body"]
    assert body["event"] == "candidateArchiveChange"
    assert body["data"]["fromArchived"] is None
    assert body["data"]["toArchived"]["reason"] == "reason-underqualified"

    control("POST", sandbox, f"/opportunities/{ALICE}/hire")
    events = [h["body"]["event"] for h in receiver.wait_for(3)]
    assert events[1:] == ["candidateArchiveChange", "candidateHired"]

    assert control("DELETE", sandbox, f"/opportunities/{ALICE}").status_code == 200
    deleted = receiver.wait_for(4)[3]["body"]
    assert deleted["event"] == "candidateDeleted"
    assert deleted["data"] == {"opportunityId": ALICE, "candidateId": ALICE,
                               "contactId": "contact-alice"}
    assert api.get(f"{sandbox}/v1/opportunities/{ALICE}").status_code == 404

    created = control("POST", sandbox, "/opportunities", json={
        "name": "Zed Zulu", "email": None, "posting_id": SEED["postings"]["data_analyst"],
        "stage_id": STAGES["canditech"]})
    assert created.status_code == 201 and created.json()["emails"] == []
    new = receiver.wait_for(5)[4]["body"]
    assert new["event"] == "applicationCreated"
    assert new["data"]["opportunityId"] == created.json()["id"]


def test_webhook_validation_toggle_and_delete(sandbox, api, receiver):
    assert api.post(f"{sandbox}/v1/webhooks",
                    json={"url": receiver.url, "event": "candidateMoved"}).status_code == 400
    assert api.post(f"{sandbox}/v1/webhooks",
                    json={"event": "candidateStageChange"}).status_code == 400

    control("POST", sandbox, "/settings", json={"require_toggle": True})
    hook = register_webhook(api, sandbox, receiver.url)
    api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage", json={"stage": STAGES["offer"]})
    assert control("POST", sandbox, "/webhooks/wait_idle", json={"timeout": 2}).json()["idle"]
    assert receiver.hits == []
    control("POST", sandbox, f"/webhooks/{hook['id']}/enable")
    api.put(f"{sandbox}/v1/opportunities/{BOB}/stage", json={"stage": STAGES["offer"]})
    assert receiver.wait_for(1)[0]["body"]["data"]["opportunityId"] == BOB

    assert api.delete(f"{sandbox}/v1/webhooks/{hook['id']}").status_code == 204
    assert api.get(f"{sandbox}/v1/webhooks").json()["data"] == []


def test_verify_connection_and_manual_webhook_tokens(sandbox, receiver):
    manual = control("POST", sandbox, "/manual_webhooks",
                     json={"url": receiver.url, "event": "candidateStageChange"})
    assert manual.status_code == 201
    hook_id, token = manual.json()["id"], manual.json()["signatureToken"]

    result = control("POST", sandbox, f"/webhooks/{hook_id}/test").json()
    assert result["status_code"] == 200 and result["ok"] is True
    body = receiver.wait_for(1)[0]["body"]
    assert body["event"] == "candidateHired" and body["data"] == {}
    assert body["signature"] == expected_signature(token, body)

    receiver.statuses = [500]
    failed = control("POST", sandbox, f"/webhooks/{hook_id}/test").json()
    assert failed["status_code"] == 500 and failed["ok"] is False
    assert len(receiver.wait_for(2)) == 2  # a test request is never retried

    new_token = control("POST", sandbox, f"/manual_webhooks/{hook_id}/regenerate").json()[
        "signatureToken"]
    assert new_token != token
    control("POST", sandbox, f"/opportunities/{ALICE}/move", json={"stage_id": STAGES["offer"]})
    moved = receiver.wait_for(3)[2]["body"]
    assert moved["signature"] == expected_signature(new_token, moved)
    assert moved["signature"] != expected_signature(token, moved)

    page = requests.post(f"{sandbox}/settings/webhooks/{hook_id}/verify", timeout=5).text
    assert 'id="verify-result"' in page and "succeeded (200)" in page


def test_webhook_duplicate_and_reorder_faults(sandbox, api, receiver):
    register_webhook(api, sandbox, receiver.url)
    control("POST", sandbox, "/faults", json={"webhook_duplicate_rate": 1.0})
    api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage", json={"stage": STAGES["offer"]})
    first, second = receiver.wait_for(2)
    assert first["raw"] == second["raw"]

    control("POST", sandbox, "/faults", json={"webhook_reorder": True, "webhook_reorder_batch": 2})
    api.put(f"{sandbox}/v1/opportunities/{BOB}/stage", json={"stage": STAGES["offer"]})
    api.put(f"{sandbox}/v1/opportunities/{NOMAIL}/stage", json={"stage": STAGES["offer"]})
    later = receiver.wait_for(4)[2:]
    assert [h["body"]["data"]["opportunityId"] for h in later] == [NOMAIL, BOB]


# ----------------------------------------------------------------- rate limits, faults
@pytest.mark.parametrize("sandbox", [{**FAST, "RATE_LIMIT_PER_SECOND": 1,
                                      "RATE_LIMIT_BURST": 5}], indirect=True)
def test_rate_limit_answers_429_above_burst(sandbox, api):
    codes = [api.get(f"{sandbox}/v1/stages").status_code for _ in range(10)]
    assert codes[:5] == [200] * 5
    assert codes.count(429) >= 4
    limited = api.get(f"{sandbox}/v1/stages")
    assert limited.status_code == 429
    assert limited.json()["code"] == "TooManyRequests"
    assert "Retry-After" not in limited.headers
    assert control("GET", sandbox, "/stats").json()["rate_limited"] >= 5

    control("POST", sandbox, "/settings", json={"retry_after_header": True})
    assert api.get(f"{sandbox}/v1/stages").headers.get("Retry-After") == "1"


def test_fault_error_rate_is_total_and_seeded(sandbox, api):
    def run() -> list[int]:
        control("POST", sandbox, "/faults", json={"error_rate": 1.0, "seed": 7})
        return [api.get(f"{sandbox}/v1/stages").status_code for _ in range(12)]

    first = run()
    assert set(first) <= {500, 503, 429} and len(set(first)) > 1
    assert run() == first
    body = api.get(f"{sandbox}/v1/stages").json()
    assert set(body) == {"code", "message"}

    control("POST", sandbox, "/faults", json={"down": True})
    assert api.get(f"{sandbox}/v1/stages").status_code == 503
    control("DELETE", sandbox, "/faults")
    assert api.get(f"{sandbox}/v1/stages").status_code == 200


def test_fault_reset_closes_connection(sandbox, api):
    control("POST", sandbox, "/faults", json={"reset_rate": 1.0})
    with pytest.raises(requests.ConnectionError):
        api.get(f"{sandbox}/v1/stages")
    control("DELETE", sandbox, "/faults")
    assert api.get(f"{sandbox}/v1/stages").status_code == 200


# ----------------------------------------------------------------------------- OAuth
def _authorize(base: str, scope: str, decision: str = "allow") -> dict:
    params = {"client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:9/callback",
              "response_type": "code", "state": "st-123", "audience": f"{base}/v1/",
              "scope": scope, "prompt": "consent"}
    page = requests.get(f"{base}/authorize", params=params, timeout=5)
    assert page.status_code == 200
    for s in scope.split():
        assert f"<code>{s}</code>" in page.text
    assert 'value="allow"' in page.text and 'value="deny"' in page.text
    resp = requests.post(f"{base}/authorize", data={**params, "decision": decision},
                         allow_redirects=False, timeout=5)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["Location"])
    assert location.path == "/callback"
    return {k: v[0] for k, v in parse_qs(location.query).items()}


def test_oauth_code_flow_with_rotating_refresh_tokens(sandbox):
    query = _authorize(sandbox, "offline_access opportunities:read:admin stages:read:admin")
    assert query["state"] == "st-123"
    exchange = {"grant_type": "authorization_code", "code": query["code"],
                "redirect_uri": "http://127.0.0.1:9/callback"}
    tokens = requests.post(f"{sandbox}/oauth/token", timeout=5, data={
        **exchange, "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}).json()
    assert tokens["token_type"] == "Bearer" and tokens["expires_in"] == 3600
    assert tokens["refresh_token"]
    reused = requests.post(f"{sandbox}/oauth/token", auth=(CLIENT_ID, CLIENT_SECRET),
                           data=exchange, timeout=5)
    assert reused.status_code == 400 and reused.json()["error"] == "invalid_grant"

    bearer = {"Authorization": f"Bearer {tokens['access_token']}"}
    assert requests.get(f"{sandbox}/v1/stages", headers=bearer, timeout=5).status_code == 200

    refresh = {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]}
    renewed = requests.post(f"{sandbox}/oauth/token", auth=(CLIENT_ID, CLIENT_SECRET),
                            data=refresh, timeout=5).json()
    assert renewed["refresh_token"] != tokens["refresh_token"]
    assert renewed["access_token"] != tokens["access_token"]
    old = requests.post(f"{sandbox}/oauth/token", auth=(CLIENT_ID, CLIENT_SECRET),
                        data=refresh, timeout=5)
    assert old.status_code == 400 and old.json()["error"] == "invalid_grant"
    assert control("GET", sandbox, "/stats").json()["oauth_refreshes"] == {CLIENT_ID: 1}

    bad_client = requests.post(f"{sandbox}/oauth/token", auth=(CLIENT_ID, "wrong"),
                               data={"grant_type": "refresh_token",
                                     "refresh_token": renewed["refresh_token"]}, timeout=5)
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"

    control("POST", sandbox, "/oauth/expire", json={"client_id": CLIENT_ID})
    expired = {"Authorization": f"Bearer {renewed['access_token']}"}
    assert requests.get(f"{sandbox}/v1/stages", headers=expired, timeout=5).status_code == 401
    control("POST", sandbox, "/oauth/revoke", json={"client_id": CLIENT_ID})
    revoked = requests.post(f"{sandbox}/oauth/token", auth=(CLIENT_ID, CLIENT_SECRET), data={
        "grant_type": "refresh_token", "refresh_token": renewed["refresh_token"]}, timeout=5)
    assert revoked.status_code == 400 and revoked.json()["error"] == "invalid_grant"


def test_oauth_deny_audience_and_offline_access(sandbox):
    denied = _authorize(sandbox, "opportunities:read:admin", decision="deny")
    assert denied["error"] == "access_denied" and denied["state"] == "st-123"

    granted = _authorize(sandbox, "opportunities:read:admin")
    tokens = requests.post(f"{sandbox}/oauth/token", timeout=5, data={
        "grant_type": "authorization_code", "code": granted["code"],
        "redirect_uri": "http://127.0.0.1:9/callback", "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()
    assert "access_token" in tokens and "refresh_token" not in tokens

    wrong_audience = requests.get(f"{sandbox}/authorize", timeout=5, params={
        "client_id": CLIENT_ID, "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
        "state": "s", "audience": "https://api.lever.co/v1/", "scope": "offline_access"})
    assert wrong_audience.status_code == 400
    unknown_client = requests.get(f"{sandbox}/authorize", timeout=5, params={
        "client_id": "nope", "redirect_uri": "http://127.0.0.1:9/cb", "response_type": "code",
        "state": "s", "audience": f"{sandbox}/v1/", "scope": "offline_access"})
    assert unknown_client.status_code == 400


# ------------------------------------------------------------------------ notes, tags
def test_notes_and_tags(sandbox, api):
    created = api.post(f"{sandbox}/v1/opportunities/{ALICE}/notes",
                       params={"perform_as": "user-super-admin"},
                       json={"value": "Canditech score 82/100", "score": 3})
    assert created.status_code == 201
    note_id = created.json()["data"]["noteId"]
    assert api.post(f"{sandbox}/v1/opportunities/{ALICE}/notes", json={}).status_code == 400

    notes = api.get(f"{sandbox}/v1/opportunities/{ALICE}/notes").json()
    assert notes["hasNext"] is False
    note = notes["data"][0]
    assert note["id"] == note_id and note["text"] == "Note" and note["user"] == "user-super-admin"
    assert note["fields"][0]["type"] == "note" and note["fields"][0]["text"] == "Comment"
    assert note["fields"][0]["value"] == "Canditech score 82/100"
    seen = control("GET", sandbox, f"/opportunities/{ALICE}/notes").json()["data"]
    assert [n["id"] for n in seen] == [note_id]
    assert "Canditech score 82/100" in requests.get(f"{sandbox}/candidates/{ALICE}", timeout=5).text
    stats = control("GET", sandbox, "/stats").json()
    assert stats["notes_created"] == 1 and stats["notes_current"] == 1

    tagged = api.post(f"{sandbox}/v1/opportunities/{ALICE}/addTags",
                      json={"tags": ["canditech:passed", "shortlist"]})
    assert tagged.json()["data"]["tags"] == ["canditech:passed", "shortlist"]
    api.post(f"{sandbox}/v1/opportunities/{ALICE}/removeTags", json={"tags": ["shortlist"]})
    assert control("GET", sandbox, f"/opportunities/{ALICE}/tags").json()["data"] == [
        "canditech:passed"]

    assert api.delete(f"{sandbox}/v1/opportunities/{ALICE}/notes/{note_id}").status_code == 204
    assert api.get(f"{sandbox}/v1/opportunities/{ALICE}/notes").json()["data"] == []


def test_reset_restores_seed(sandbox, api):
    api.put(f"{sandbox}/v1/opportunities/{ALICE}/stage", json={"stage": STAGES["offer"]})
    control("POST", sandbox, "/faults", json={"latency_ms": 5})
    assert control("POST", sandbox, "/reset").status_code == 200
    state = control("GET", sandbox, "/state").json()
    alice = next(o for o in state["opportunities"] if o["id"] == ALICE)
    assert alice["stage"] == STAGES["new_applicant"] and state["faults"]["latency_ms"] == 0


# ------------------------------------------------------------------------------- CLI
def test_cli_prints_url_and_serves():
    proc = subprocess.Popen([sys.executable, "-m", "plugins.lever.sandbox", "--port", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            text=True)
    try:
        line = proc.stdout.readline().strip()
        match = re.fullmatch(r"LEVER_SANDBOX_URL=(http://127\.0\.0\.1:\d+)", line)
        assert match, line
        resp = requests.get(f"{match.group(1)}/v1/stages", auth=(API_KEY, ""), timeout=5)
        assert resp.status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        proc.stdout.close()
    help_text = subprocess.run([sys.executable, "-m", "plugins.lever.sandbox", "--help"],
                               cwd=ROOT, capture_output=True, text=True, timeout=20)
    assert help_text.returncode == 0 and "--port" in help_text.stdout


def test_verify_connection_request_has_the_documented_keys_only(sandbox, receiver):
    """Lever's verbatim test request (lever.md §1.5) carries triggeredAt, event, data, signature
    and token: no ``id``."""
    hook = control("POST", sandbox, "/manual_webhooks",
                   json={"url": receiver.url, "event": "candidateStageChange"}).json()
    control("POST", sandbox, f"/webhooks/{hook['id']}/test")
    body = receiver.wait_for(1)[0]["body"]
    assert set(body) == {"triggeredAt", "event", "data", "signature", "token"}
    assert body["signature"] == expected_signature(hook["signatureToken"], body)


def test_a_ui_webhook_without_a_signing_token_sends_no_signature(sandbox, receiver):
    """Lever includes ``signature`` only once a signing token was generated (lever.md §1.4): a
    webhook configured in the UI with ``"signed": false`` sends none until its token is
    (re)generated."""
    hook = control("POST", sandbox, "/manual_webhooks",
                   json={"url": receiver.url, "event": "candidateStageChange", "signed": False})
    assert hook.status_code == 201 and hook.json()["signatureToken"] is None
    hook_id = hook.json()["id"]
    control("POST", sandbox, f"/webhooks/{hook_id}/test")
    control("POST", sandbox, f"/opportunities/{ALICE}/move", json={"stage_id": STAGES["offer"]})
    test, moved = (hit["body"] for hit in receiver.wait_for(2))
    assert "signature" not in test and "signature" not in moved
    assert moved["event"] == "candidateStageChange" and moved["token"]

    token = control("POST", sandbox, f"/manual_webhooks/{hook_id}/regenerate").json()["signatureToken"]
    assert isinstance(token, str) and len(token) == 48
    control("POST", sandbox, f"/opportunities/{ALICE}/move", json={"stage_id": STAGES["phone_interview"]})
    signed = receiver.wait_for(3)[2]["body"]
    assert signed["signature"] == expected_signature(token, signed)


@pytest.mark.parametrize("signed", ["no", 0, None])
def test_manual_webhook_signed_must_be_a_boolean(sandbox, signed):
    answer = control("POST", sandbox, "/manual_webhooks",
                     json={"url": "http://127.0.0.1:9/x", "event": "candidateStageChange", "signed": signed})
    assert answer.status_code == 400 and "signed" in answer.json()["message"]
