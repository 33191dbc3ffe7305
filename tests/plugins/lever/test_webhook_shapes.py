"""Lever webhooks in the shapes its documentation leaves open (lever.md §1.2, §1.3, §1.6), sent by
the sandbox over real HTTP to a served hub with an assessment provider built on ``hub.kit.provider``:
``applicationCreated`` (a stage change into the stage the provider's re-read finds) invites a
candidate created in an attached stage, a creation announced both ways invites once, a retry
without ``id`` re-signed with a fresh token is a duplicate, an archive change without
``toArchived`` counts as an archive, and a body without ``signature`` is a 401."""

from __future__ import annotations

import json
import threading
import time

import pytest
import sqlalchemy as sa
from werkzeug.serving import make_server

from hub import hookimpl, services
from hub.entities import ASSESSMENT, CANCELLED, INVITED, PENDING, IntegrationSpec
from hub.extensions import db
from hub.kit import provider
from hub.store.models import Delivery, Event, Invitation, WebhookLog
from plugins.lever.sandbox.signing import make_body
from tests.plugins.lever.conftest import CLIENT_ID, CLIENT_SECRET, Hub
from tests.support.processes import free_port

POSTING = "posting-backend-engineer"
ENTRY_STAGE = "stage-new-applicant"
ASSESS_STAGE = "stage-canditech"
KIT = "kit-inviter"


class Inviter:
    """An assessment provider that invites the way the bundled ones do (``hub.kit.provider``) and
    records every stage change it is handed and every invitation it sends to its "vendor"."""

    def __init__(self):
        self.stage_changes = []
        self.sent = []
        self.lock = threading.Lock()

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Kit inviter"))

    @hookimpl
    def on_stage_change(self, ctx, change):
        with self.lock:
            self.stage_changes.append(change)
        found = provider.candidate_in_stage(ctx, change)
        if found is None:
            return
        attachments, candidate = found
        for attachment in attachments:
            invitation, _ = ctx.invitations.get_or_create(attachment, candidate)
            if invitation.status == PENDING:
                provider.send_once(ctx, invitation, candidate, lambda current, email: self._send(ctx, current))

    def _send(self, ctx, invitation):
        with self.lock:
            self.sent.append(invitation.opportunity_id)
        provider.record_sent(ctx, invitation.id, f"vendor-{invitation.id}", None)

    @hookimpl
    def on_archive_change(self, ctx, change):
        found = provider.archived_open_invitations(ctx, change)
        for invitation in (found[0] if found else ()):
            ctx.invitations.transition(invitation.id, CANCELLED)


class LoseAnswers:
    """WSGI middleware: the hub handles the first ``count`` webhooks, then their answers are
    lost (Lever sees a 502 and retries what the hub already stored)."""

    def __init__(self, app, count: int = 0):
        self.app, self.count = app, count

    def __call__(self, environ, start_response):
        if environ["PATH_INFO"].startswith("/webhooks/lever/") and self.count > 0:
            self.count -= 1
            answer = self.app(environ, lambda status, headers, exc_info=None: (lambda data: None))
            try:
                b"".join(answer)
            finally:
                getattr(answer, "close", lambda: None)()
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b"the answer was lost"]
        return self.app(environ, start_response)


@pytest.fixture
def stack(make_app, sandbox):
    """A served hub (Lever + the inviter) connected to the sandbox, the inviter attached to the
    entry stage and to the assessment stage of the backend posting."""
    port = free_port()
    inviter = Inviter()
    app = make_app({"PLUGINS": f"lever,{KIT}", "LEVER_CLIENT_ID": CLIENT_ID, "LEVER_CLIENT_SECRET": CLIENT_SECRET,
                    "LEVER_RETRY_BASE_SECONDS": 0.001, "LEVER_RETRY_MAX_SECONDS": 0.01,
                    "PUBLIC_URL": f"http://127.0.0.1:{port}"}, plugins=[(KIT, inviter)])
    hub = Hub(app)
    lose = LoseAnswers(app.wsgi_app)
    app.wsgi_app = lose
    with app.app_context():
        services.set_enabled(hub.runtime, 1, "lever", True, "test")
        services.set_enabled(hub.runtime, 1, KIT, True, "test")
        for stage in (ENTRY_STAGE, ASSESS_STAGE):
            services.save_attachment(1, dict(posting_id=POSTING, posting_name="Backend Engineer", stage_id=stage,
                                             stage_name=stage, provider=KIT, assessment_id="a-1",
                                             assessment_name="Kit test"), "test")
    hub.call("connect_sandbox", sandbox_url=sandbox.base)
    hub.configure({"invite_on_creation": True})  # off by default (each creation costs a Lever read)
    sandbox.control("POST", "/settings", json={"webhook_retry_delays": [0.05, 0.05, 0.05]})
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield hub, sandbox, inviter, lose
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def settle(sandbox) -> list[dict]:
    assert sandbox.control("POST", "/webhooks/wait_idle", json={"timeout": 20})["idle"]
    return sandbox.control("GET", "/webhook_log?kind=event")["data"]


def invitations(hub) -> list[tuple[str, str, str]]:
    with hub.app.app_context():
        rows = db.session.scalars(sa.select(Invitation).order_by(Invitation.id)).all()
        return [(row.opportunity_id, row.status, str(row.attachment_id)) for row in rows]


def deliveries_of(hub, plugin: str) -> list[str]:
    with hub.app.app_context():
        return list(db.session.scalars(sa.select(Delivery.status).where(Delivery.plugin == plugin)
                                       .order_by(Delivery.id)))


def outcomes(hub) -> list[str]:
    with hub.app.app_context():
        return [row.outcome for row in db.session.scalars(sa.select(WebhookLog).order_by(WebhookLog.id))]


def create_candidate(sandbox, stage: str = ENTRY_STAGE) -> str:
    opp = sandbox.control("POST", "/opportunities", json={"name": "Carla Created", "email": "carla@example.com",
                                                         "posting_id": POSTING, "stage_id": stage})
    return opp["id"]


def hook_token(sandbox, event: str) -> str:
    return next(w["signatureToken"] for w in sandbox.webhooks() if w["event"] == event)


def post_to_hub(hub, body: dict):
    with hub.app.app_context():
        key = hub.runtime.integration(1, "lever").webhook_key
    return hub.app.test_client().post(f"/webhooks/lever/{key}", data=json.dumps(body),
                                      content_type="application/json")


# --------------------------------------------------------------------------- applicationCreated


def test_a_candidate_created_in_an_attached_stage_is_invited(stack):
    hub, sandbox, inviter, _ = stack
    assert "applicationCreated" in {w["event"] for w in sandbox.webhooks()}  # registered by the hub
    opportunity = create_candidate(sandbox)
    (delivery,) = settle(sandbox)
    assert delivery["event"] == "applicationCreated" and delivery["status_code"] == 200
    assert [c.to_stage_id for c in inviter.stage_changes] == [""]  # no stage named: the one the re-read finds
    assert inviter.sent == [opportunity]
    assert [(opp, status) for opp, status, _ in invitations(hub)] == [(opportunity, INVITED)]


@pytest.mark.parametrize("reorder", [False, True], ids=["created-first", "stage-change-first"])
def test_a_creation_announced_both_ways_invites_once(stack, reorder):
    """If Lever announces a creation with ``applicationCreated`` and a ``candidateStageChange``
    from no stage, in either order, both are handed on (nothing ties them together for good: a
    later entry from no stage into the same stage is a real one) and the invitation, unique per
    opportunity and attachment, is sent once."""
    hub, sandbox, inviter, _ = stack
    faults = {"webhook_stage_change_on_create": True}
    if reorder:
        faults.update(webhook_reorder=True, webhook_reorder_batch=2)
    sandbox.control("POST", "/faults", json=faults)
    opportunity = create_candidate(sandbox)
    deliveries = settle(sandbox)
    sent_order = [d["event"] for d in deliveries]
    expected = ["applicationCreated", "candidateStageChange"]
    assert sent_order == (expected[::-1] if reorder else expected)
    assert all(d["status_code"] == 200 for d in deliveries)
    stage_change = next(d for d in deliveries if d["event"] == "candidateStageChange")
    assert stage_change["payload"]["data"]["fromStageId"] is None
    assert outcomes(hub) == ["accepted", "accepted"]
    handed_on = sorted((c.opportunity_id, c.to_stage_id) for c in inviter.stage_changes)
    assert handed_on == [(opportunity, ""), (opportunity, ENTRY_STAGE)]
    assert inviter.sent == [opportunity]
    assert [(opp, status) for opp, status, _ in invitations(hub)] == [(opportunity, INVITED)]


def test_application_created_for_a_candidate_already_moved_on_uses_the_current_stage(stack):
    """``applicationCreated`` is about the stage the provider's re-read finds: a candidate moved
    meanwhile is considered in the stage they are in, and invited once per attachment."""
    hub, sandbox, inviter, _ = stack
    for hook in sandbox.webhooks():
        if hook["event"] == "applicationCreated":
            sandbox.control("POST", f"/webhooks/{hook['id']}/disable")
    opportunity = create_candidate(sandbox, stage="stage-recruiter-screen")
    sandbox.control("POST", f"/opportunities/{opportunity}/move", json={"stage_id": ASSESS_STAGE})
    settle(sandbox)
    assert inviter.sent == [opportunity]  # from the stage change
    body = make_body("applicationCreated", {"opportunityId": opportunity, "candidateId": opportunity,
                                            "applicationId": "app-1"}, hook_token(sandbox, "applicationCreated"),
                     with_id=False)
    answer = post_to_hub(hub, body)
    assert answer.status_code == 200 and answer.get_json()["status"] == "accepted", answer.get_json()
    assert [c.to_stage_id for c in inviter.stage_changes] == [ASSESS_STAGE, ""]
    assert inviter.sent == [opportunity] and len(invitations(hub)) == 1  # one invitation per attachment


def test_application_created_for_a_gone_opportunity_is_accepted_and_invites_nobody(stack):
    """The webhook's answer does not ask Lever: an opportunity Lever does not know (yet, or any
    more) is an accepted event, and the provider's re-read finds nobody to invite."""
    hub, sandbox, inviter, _ = stack
    gone = make_body("applicationCreated", {"opportunityId": "opp-never-existed"},
                     hook_token(sandbox, "applicationCreated"))
    answer = post_to_hub(hub, gone)
    assert answer.status_code == 200 and answer.get_json()["status"] == "accepted", answer.get_json()
    assert [(c.opportunity_id, c.to_stage_id) for c in inviter.stage_changes] == [("opp-never-existed", "")]
    assert invitations(hub) == [] and inviter.sent == []


def test_lever_down_when_application_created_arrives_invites_once_lever_is_back(stack):
    """Lever unreachable is no reason to make Lever send the webhook again: it is answered 200,
    and the provider's delivery, which reads the candidate, is retried until Lever answers."""
    from hub.engine.sweeper import sweep

    hub, sandbox, inviter, _ = stack
    sandbox.control("POST", "/faults", json={"down": True})
    answer = post_to_hub(hub, make_body("applicationCreated", {"opportunityId": "opp-alice"},
                                        hook_token(sandbox, "applicationCreated")))
    assert answer.status_code == 200 and answer.get_json()["status"] == "accepted", answer.get_json()
    assert invitations(hub) == [] and deliveries_of(hub, KIT) == ["retry"]

    sandbox.control("POST", "/faults", json={"down": False})
    time.sleep(0.06)  # past the retry's delay (RETRY_MAX_SECONDS is 0.05 in tests)
    with hub.app.app_context():
        sweep(hub.runtime)
    assert deliveries_of(hub, KIT) == ["done"]
    assert inviter.sent == ["opp-alice"]
    assert [(opp, status) for opp, status, _ in invitations(hub)] == [("opp-alice", INVITED)]


# --------------------------------------------------------------------------- retries without id


def test_a_retry_without_id_resigned_with_a_fresh_token_is_a_duplicate(stack):
    hub, sandbox, inviter, lose = stack
    sandbox.control("POST", "/faults", json={"webhook_omit_id": True, "webhook_resign_retries": True})
    lose.count = 1  # the hub stores the stage change, its answer is lost, Lever retries
    sandbox.control("POST", "/opportunities/opp-alice/move", json={"stage_id": ASSESS_STAGE})
    first, retry = settle(sandbox)
    assert (first["status_code"], retry["status_code"]) == (502, 200)
    assert "id" not in first["payload"] and "id" not in retry["payload"]
    assert first["payload"]["token"] != retry["payload"]["token"]
    assert first["payload"]["triggeredAt"] == retry["payload"]["triggeredAt"]
    assert outcomes(hub) == ["accepted", "duplicate"]
    assert len(inviter.stage_changes) == 1 and inviter.sent == ["opp-alice"]


def test_a_retry_resigned_with_a_new_time_too_is_a_second_event_but_no_second_invitation(stack):
    """Nothing signed ties such a retry to the first delivery: the hub takes it for a second
    move into the stage. The invitation is unique per opportunity and attachment: one is sent."""
    hub, sandbox, inviter, lose = stack
    sandbox.control("POST", "/faults", json={"webhook_omit_id": True, "webhook_resign_retries": True,
                                             "webhook_retry_new_timestamp": True})
    lose.count = 1
    sandbox.control("POST", "/opportunities/opp-alice/move", json={"stage_id": ASSESS_STAGE})
    first, retry = settle(sandbox)
    assert first["payload"]["triggeredAt"] != retry["payload"]["triggeredAt"]
    assert outcomes(hub) == ["accepted", "accepted"]
    assert len(inviter.stage_changes) == 2
    assert inviter.sent == ["opp-alice"]
    assert [(opp, status) for opp, status, _ in invitations(hub)] == [("opp-alice", INVITED)]


def test_a_candidate_id_distinct_from_the_opportunity_id_is_not_used(stack):
    hub, sandbox, inviter, _ = stack
    sandbox.control("POST", "/faults", json={"webhook_distinct_candidate_id": True})
    sandbox.control("POST", "/opportunities/opp-alice/move", json={"stage_id": ASSESS_STAGE})
    (delivery,) = settle(sandbox)
    data = delivery["payload"]["data"]
    assert data["opportunityId"] == "opp-alice" and data["candidateId"] not in ("", "opp-alice")
    with hub.app.app_context():
        assert [e.subject for e in db.session.scalars(sa.select(Event).where(Event.type == "stage_change"))] == ["opp-alice"]
    assert inviter.sent == ["opp-alice"]


# --------------------------------------------------------------------------- archive change


def test_an_archive_change_without_to_archived_counts_as_an_archive(stack):
    """The kit re-reads the candidate: still active at Lever, the invitation stays open; archived
    there, it is closed. (Read as "unarchived", it was never closed.)"""
    hub, sandbox, inviter, _ = stack
    sandbox.control("POST", "/opportunities/opp-alice/move", json={"stage_id": ASSESS_STAGE})
    settle(sandbox)
    token = hook_token(sandbox, "candidateArchiveChange")
    keyless = {"opportunityId": "opp-alice", "candidateId": "opp-alice"}
    assert post_to_hub(hub, make_body("candidateArchiveChange", keyless, token)).status_code == 200
    assert [status for _, status, _ in invitations(hub)] == [INVITED]  # not archived at Lever: stays open

    archive_hook = next(w for w in sandbox.webhooks() if w["event"] == "candidateArchiveChange")
    sandbox.control("POST", f"/webhooks/{archive_hook['id']}/disable")  # only the keyless body reaches the hub
    sandbox.control("POST", "/opportunities/opp-alice/archive", json={"reason_id": "reason-underqualified"})
    assert post_to_hub(hub, make_body("candidateArchiveChange", keyless, token)).status_code == 200
    assert [status for _, status, _ in invitations(hub)] == [CANCELLED]


# --------------------------------------------------------------------------- no signature


def test_a_webhook_without_signature_is_a_401_saying_to_generate_a_token(stack):
    hub, sandbox, _, _ = stack
    unsigned = make_body("candidateStageChange", {"opportunityId": "opp-alice", "toStageId": ASSESS_STAGE}, None)
    assert "signature" not in unsigned
    answer = post_to_hub(hub, unsigned)
    assert answer.status_code == 401
    message = answer.get_json()["error"]["message"]
    assert "no signature" in message and "Generate one in Lever" in message and "signature_tokens" in message
    assert outcomes(hub)[-1] == "rejected"


def test_application_created_is_ignored_unless_switched_on(stack):
    """Off by default: each creation would cost every assessment integration a Lever read (a bulk
    import would queue them ahead of the invitations of candidates moved meanwhile)."""
    hub, sandbox, inviter, _ = stack
    hub.configure({"invite_on_creation": False})
    create_candidate(sandbox)
    (delivery,) = settle(sandbox)
    assert delivery["event"] == "applicationCreated" and delivery["status_code"] == 200
    assert outcomes(hub) == ["ignored"]
    assert inviter.stage_changes == [] and inviter.sent == [] and invitations(hub) == []
