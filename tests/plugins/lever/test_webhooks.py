"""Webhook verification and parsing, against signatures computed here with ``hmac`` (lever.md §1.4)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
from datetime import datetime, timezone

import pytest

from hub.entities import ArchiveChange, CandidateDeleted, CandidateHired, StageChange, WebhookRequest
from hub.errors import WebhookRejected

TOKEN_A = secrets.token_hex(24)
TOKEN_B = secrets.token_hex(24)
REGISTERED = secrets.token_hex(24)


def lever_signature(signature_token: str, token: str, triggered_at) -> str:
    return hmac.new(signature_token.encode("utf-8"), f"{token}{triggered_at}".encode("utf-8"),
                    hashlib.sha256).hexdigest()


def now_ms() -> int:
    return int(time.time() * 1000)


def make_body(key: str = TOKEN_A, event: str = "candidateStageChange", data=None, triggered_at=None,
              token: str | None = None, event_id: str | None = "evt-1", **overrides) -> dict:
    triggered_at = now_ms() if triggered_at is None else triggered_at
    token = token or secrets.token_hex(24)
    if data is None:
        data = {"opportunityId": "opp-1", "candidateId": "opp-1", "contactId": "contact-1",
                "toStageId": "stage-canditech", "fromStageId": "stage-new-applicant"}
    body = {"triggeredAt": triggered_at, "event": event, "data": data,
            "signature": lever_signature(key, token, triggered_at), "token": token}
    if event_id is not None:
        body["id"] = event_id
    body.update(overrides)
    return body


@pytest.fixture
def wh_hub(hub):
    hub.configure({"signature_tokens": f"{TOKEN_A}\n {TOKEN_B} \n"})
    return hub


def verify(hub, payload, received_at: datetime | None = None):
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    request = WebhookRequest(body=raw, headers={"Content-Type": "application/json"},
                             received_at=received_at or datetime.now(timezone.utc))
    return hub.call("verify_webhook", request=request)


def rejected(hub, payload, status: int, fragment: str = "") -> WebhookRejected:
    with pytest.raises(WebhookRejected) as info:
        verify(hub, payload)
    assert info.value.status == status, info.value.message
    assert fragment in info.value.message
    return info.value


# --------------------------------------------------------------------------- accepted


def test_stage_change_becomes_a_stage_change_event(wh_hub):
    body = make_body(triggered_at=1_767_225_600_123)
    result = verify(wh_hub, body, received_at=datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc))
    assert not result.ping
    (inbound,) = result.events
    assert inbound.external_id == "evt-1"
    assert inbound.alias_ids == (body["token"],)  # an event with an id needs no retry key: a retry keeps it
    assert inbound.event == StageChange(opportunity_id="opp-1", to_stage_id="stage-canditech",
                                        from_stage_id="stage-new-applicant",
                                        occurred_at=datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=timezone.utc))


def test_without_id_the_token_is_the_external_id(wh_hub):
    body = make_body(event_id=None)
    (inbound,) = verify(wh_hub, body).events
    assert inbound.external_id == body["token"]


def test_only_an_event_without_id_carries_one_short_retry_key(wh_hub):
    """A retry keeps its ``id``: such an event is known by its id and token alone. Without an id,
    one hashed key of what the signature pins down (kind, opportunity, ``triggeredAt``, stages)
    makes a retry re-signed with a fresh token a duplicate; a short one, for the dedupe index."""
    (with_id,) = verify(wh_hub, make_body(event_id="evt-7")).events
    assert not [alias for alias in with_id.alias_ids if alias.startswith("lever:retry:")]
    triggered_at = now_ms()
    first, resigned = (verify(wh_hub, make_body(event_id=None, triggered_at=triggered_at)).events[0]
                       for _ in range(2))
    (key,) = first.alias_ids
    assert re.fullmatch(r"lever:retry:[0-9a-f]{32}", key) and "opp-1" not in key
    assert first.external_id != resigned.external_id and resigned.alias_ids == (key,)
    moved_back = make_body(event_id=None, triggered_at=triggered_at,
                           data={"opportunityId": "opp-1", "toStageId": "stage-new-applicant",
                                 "fromStageId": "stage-canditech"})
    assert verify(wh_hub, moved_back).events[0].alias_ids != (key,)  # another move at the same millisecond


def test_application_created_is_a_stage_change_into_an_unnamed_stage_without_calling_lever(wh_hub, monkeypatch):
    """``applicationCreated`` names no stage: it becomes a stage change with an empty
    ``to_stage_id`` (the providers re-read the candidate's stage in the worker). Nothing in the
    webhook's request waits for Lever, and a creation from no stage shares no key with it."""
    def no_lever(*args, **kwargs):
        raise AssertionError("verify_webhook called Lever")

    monkeypatch.setattr("plugins.lever.client.LeverClient.request", no_lever)
    wh_hub.configure({"invite_on_creation": True})
    created = make_body(event="applicationCreated", event_id=None, triggered_at=1_767_225_600_123,
                        data={"opportunityId": "opp-1", "candidateId": "opp-1", "applicationId": "app-1"})
    (inbound,) = verify(wh_hub, created, received_at=datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc)).events
    assert inbound.event == StageChange(opportunity_id="opp-1", to_stage_id="",
                                        occurred_at=datetime(2026, 1, 1, 0, 0, 0, 123000, tzinfo=timezone.utc))
    entry = make_body(event_id=None, triggered_at=1_767_225_600_123,
                      data={"opportunityId": "opp-1", "toStageId": "stage-new-applicant"})
    (stage_entry,) = verify(wh_hub, entry, received_at=datetime(2026, 1, 1, 0, 1, tzinfo=timezone.utc)).events
    assert not {inbound.external_id, *inbound.alias_ids} & {stage_entry.external_id, *stage_entry.alias_ids}


def test_a_second_active_token_verifies(wh_hub):
    (inbound,) = verify(wh_hub, make_body(key=TOKEN_B)).events
    assert inbound.event.opportunity_id == "opp-1"


def test_tokens_of_registered_webhooks_verify(wh_hub):
    wh_hub.with_ctx(lambda ctx: ctx.update_secrets({"webhook_tokens": {"wh-1": REGISTERED}}))
    assert verify(wh_hub, make_body(key=REGISTERED)).events
    assert verify(wh_hub, make_body(key=TOKEN_A)).events  # the pasted ones still count


def test_uppercase_hex_signature_is_accepted(wh_hub):
    body = make_body()
    body["signature"] = body["signature"].upper()
    assert verify(wh_hub, body).events


def test_archive_change_archived_and_unarchived(wh_hub):
    data = {"opportunityId": "opp-1", "fromArchived": None,
            "toArchived": {"archivedAt": now_ms(), "reason": "reason-underqualified"}}
    (inbound,) = verify(wh_hub, make_body(event="candidateArchiveChange", data=data)).events
    assert isinstance(inbound.event, ArchiveChange)
    assert inbound.event.archived is True and inbound.event.reason == "reason-underqualified"
    data = {"opportunityId": "opp-1", "fromArchived": {"reason": "r"}, "toArchived": None}
    (inbound,) = verify(wh_hub, make_body(event="candidateArchiveChange", data=data, event_id="e2")).events
    assert inbound.event.archived is False and inbound.event.reason is None


def test_deleted_and_hired(wh_hub):
    (deleted,) = verify(wh_hub, make_body(event="candidateDeleted", data={"opportunityId": "opp-9"})).events
    assert isinstance(deleted.event, CandidateDeleted) and deleted.event.opportunity_id == "opp-9"
    (hired,) = verify(wh_hub, make_body(event="candidateHired", data={"candidateId": "opp-8"}, event_id="e3")).events
    assert isinstance(hired.event, CandidateHired) and hired.event.opportunity_id == "opp-8"


def test_verify_connection_ping(wh_hub):
    result = verify(wh_hub, make_body(event="candidateHired", data={}))
    assert result.ping is True and result.events == ()
    result = verify(wh_hub, make_body(event="candidateStageChange", data={"contactId": "c"}))
    assert result.ping is True


def test_events_the_hub_does_not_use_are_ignored(wh_hub):
    result = verify(wh_hub, make_body(event="contactCreated", data={"contactId": "c-1"}))
    assert result.events == () and not result.ping
    assert "ignored event contactCreated" in result.note


def test_an_event_the_hub_does_not_use_is_ignored_whatever_its_data(wh_hub):
    """Lever's other events are answered 200 "ignored"; their data is not the hub's to judge
    (a 422 would make Lever retry a request that can never pass)."""
    for data in ({"candidateId": 5}, {"opportunityId": ""}, {"opportunityId": "x" * 500}):
        result = verify(wh_hub, make_body(event="contactCreated", data=data))
        assert result.events == () and not result.ping and "ignored" in result.note


def test_every_signed_request_leaves_its_token_for_deduplication(wh_hub):
    """The signature covers ``token + triggeredAt``, not the body: a signed request without an
    event hands its token to the hub (``seen_ids``), so the token cannot carry another body."""
    ping = make_body(event="candidateHired", data={})
    assert verify(wh_hub, ping).seen_ids == (ping["token"],)
    ignored = make_body(event="contactCreated", data={"contactId": "c-1"})
    assert verify(wh_hub, ignored).seen_ids == (ignored["token"],)
    refused = make_body(data={"opportunityId": "opp-1"})  # no toStageId: 422
    assert rejected(wh_hub, refused, 422, "toStageId").seen_ids == (refused["token"],)
    # an unsigned or badly signed request proves nothing: its token is not remembered
    assert rejected(wh_hub, make_body(key=secrets.token_hex(24)), 401).seen_ids == ()


def test_within_the_age_window_and_the_skew_allowance(wh_hub):
    assert verify(wh_hub, make_body(triggered_at=now_ms() - 71 * 3_600_000)).events
    assert verify(wh_hub, make_body(triggered_at=now_ms() + 4 * 60_000)).events


# --------------------------------------------------------------------------- rejected


def test_wrong_token(wh_hub):
    rejected(wh_hub, make_body(key=secrets.token_hex(24)), 401, "signature")


def test_tampered_triggered_at(wh_hub):
    body = make_body()
    body["triggeredAt"] += 1
    rejected(wh_hub, body, 401, "signature")


def test_tampered_token(wh_hub):
    body = make_body()
    body["token"] = secrets.token_hex(24)
    rejected(wh_hub, body, 401, "signature")


def test_stale_and_future_timestamps(wh_hub):
    rejected(wh_hub, make_body(triggered_at=now_ms() - 73 * 3_600_000), 401, "stale")
    rejected(wh_hub, make_body(triggered_at=now_ms() + 6 * 60_000), 401, "future")
    rejected(wh_hub, make_body(triggered_at=10**20), 401, "future")
    rejected(wh_hub, make_body(triggered_at=-5), 401, "stale")


def test_age_window_is_configurable(wh_hub):
    wh_hub.configure({"max_webhook_age_hours": 1, "max_clock_skew_minutes": 0})
    rejected(wh_hub, make_body(triggered_at=now_ms() - 2 * 3_600_000), 401, "stale")
    rejected(wh_hub, make_body(triggered_at=now_ms() + 60_000), 401, "future")


@pytest.mark.parametrize("field", ["token", "triggeredAt", "event", "data"])
def test_missing_fields(wh_hub, field):
    body = make_body()
    del body[field]
    rejected(wh_hub, body, 422, field)


def test_an_unsigned_webhook_is_unauthorized_and_told_to_get_a_signing_token(wh_hub):
    """Lever signs only once a signing token exists (lever.md): no ``signature`` is an
    authentication failure (401), not a malformed body."""
    body = make_body()
    del body["signature"]
    rejected(wh_hub, body, 401, "signing token")


@pytest.mark.parametrize("field,value", [
    ("triggeredAt", "1431454330072"), ("triggeredAt", 1431454330072.5), ("triggeredAt", True),
    ("token", 12345), ("token", ""), ("event", ["candidateHired"]), ("data", []), ("data", "x"),
    ("signature", "abc"), ("signature", "g" * 64), ("signature", None),
])
def test_wrongly_typed_fields(wh_hub, field, value):
    body = make_body()
    body[field] = value
    rejected(wh_hub, body, 422, field)


def test_stage_change_without_target_stage(wh_hub):
    rejected(wh_hub, make_body(data={"opportunityId": "opp-1"}), 422, "toStageId")


def test_non_json_bodies(wh_hub):
    rejected(wh_hub, b"token=abc&signature=def", 400, "JSON")
    rejected(wh_hub, b"\xff\xfe{}", 400, "JSON")
    rejected(wh_hub, b"", 400, "JSON")
    rejected(wh_hub, b"[1, 2, 3]", 400, "object")
    rejected(wh_hub, b'"candidateHired"', 400, "object")
    rejected(wh_hub, b"[" * 100_000, 400)


def test_huge_bodies(wh_hub):
    body = make_body()
    body["data"]["padding"] = "x" * 300_000
    rejected(wh_hub, body, 413, "too large")


def test_no_token_configured(hub):
    hub.configure({"environment": "production"})
    rejected(hub, make_body(), 401, "no signature token configured: register webhooks or paste the token")


# --------------------------------------------------------------------------- over the hub's ingress


def test_ingress_accepts_dedupes_and_rejects(wh_hub):
    with wh_hub.app.app_context():
        key = wh_hub.runtime.integration(1, "lever").webhook_key
    client = wh_hub.app.test_client()
    url = f"/webhooks/lever/{key}"
    body = make_body(event="candidateHired", data={"opportunityId": "opp-1"})

    first = client.post(url, json=body)
    assert first.status_code == 200 and first.get_json()["status"] == "accepted"
    again = client.post(url, json=body)  # Lever's retry with the same token and signature
    assert again.status_code == 200 and again.get_json()["status"] == "duplicate"
    same_id = make_body(event="candidateHired", data={"opportunityId": "opp-1"})  # new token, same event id
    assert client.post(url, json=same_id).get_json()["status"] == "duplicate"
    replayed_token = make_body(event="candidateHired", data={"opportunityId": "opp-1"}, event_id=None,
                               token=body["token"], triggered_at=body["triggeredAt"])
    assert client.post(url, json=replayed_token).get_json()["status"] == "duplicate"

    bad = client.post(url, json=make_body(key=secrets.token_hex(24), event_id="e-bad"))
    assert bad.status_code == 401
    assert bad.get_json()["error"]["code"] == "webhook_rejected"
    assert TOKEN_A not in bad.get_data(as_text=True)

    ping = client.post(url, json=make_body(event="candidateHired", data={}, event_id="e-ping"))
    assert ping.status_code == 200 and ping.get_json()["status"] == "verified"
    assert wh_hub.integration()["verified_at"] is not None


@pytest.mark.parametrize("captured", [
    pytest.param({"event": "candidateHired", "data": {}}, id="verify-connection-ping"),
    pytest.param({"event": "contactCreated", "data": {"contactId": "c-1"}}, id="ignored-event"),
    pytest.param({"event": "candidateStageChange", "data": {"opportunityId": "opp-9"}}, id="refused-422"),
])
def test_a_captured_signed_request_cannot_carry_another_event(wh_hub, captured):
    """Anyone who saw one signed request (Lever's delivery history, a proxy's log) holds a valid
    token, timestamp and signature. Sent again with a candidate deletion in its body, it is a
    duplicate: nothing is stored, nothing erased."""
    from hub.extensions import db
    from hub.store.models import Event

    with wh_hub.app.app_context():
        key = wh_hub.runtime.integration(1, "lever").webhook_key
    client = wh_hub.app.test_client()
    url = f"/webhooks/lever/{key}"
    original = make_body(event_id=None, **captured)
    first = client.post(url, json=original)
    assert first.status_code in (200, 422), first.get_json()

    forged = {**original, "event": "candidateDeleted", "data": {"opportunityId": "victim"}, "id": "forged-1"}
    answer = client.post(url, json=forged)
    assert answer.status_code == 200 and answer.get_json()["status"] == "duplicate", answer.get_json()
    with wh_hub.app.app_context():
        assert db.session.query(Event).filter(Event.subject == "victim").count() == 0
    # a request Lever signed afresh is still accepted
    fresh = make_body(event="candidateDeleted", data={"opportunityId": "victim"}, event_id="real-1")
    assert client.post(url, json=fresh).get_json()["status"] == "accepted"


def test_a_token_change_takes_effect_at_once_over_the_ingress(wh_hub):
    """The ingress verifies against a cached integration; the commit sees the change and the
    request is verified again against the new settings (never accepted with a removed token)."""
    with wh_hub.app.app_context():
        key = wh_hub.runtime.integration(1, "lever").webhook_key
    client = wh_hub.app.test_client()
    url = f"/webhooks/lever/{key}"
    assert client.post(url, json=make_body(key=TOKEN_A, event_id="e-1")).get_json()["status"] == "accepted"

    wh_hub.configure({"signature_tokens": TOKEN_B})  # TOKEN_A removed by an admin
    removed = client.post(url, json=make_body(key=TOKEN_A, event_id="e-2"))
    assert removed.status_code == 401, removed.get_json()
    assert client.post(url, json=make_body(key=TOKEN_B, event_id="e-3")).get_json()["status"] == "accepted"

    wh_hub.configure({"signature_tokens": f"{TOKEN_B}\n{TOKEN_A}"})  # and added back
    assert client.post(url, json=make_body(key=TOKEN_A, event_id="e-4")).get_json()["status"] == "accepted"


def test_a_webhook_whose_commit_failed_has_not_verified_the_integration(wh_hub, monkeypatch):
    """The first signed webhook marks the integration verified. If its commit fails (503, and
    Lever retries), nothing was written: the retry must write it (the process used to note it as
    done before the commit, so no later webhook wrote it)."""
    import sqlalchemy as sa

    from hub.engine.group_commit import GroupCommit

    from hub.engine import pipelined_ingest
    from hub.extensions import db

    failures = [sa.exc.OperationalError("COMMIT", {}, Exception("database is locked"))]
    with wh_hub.app.app_context():
        pipelined = db.engine.dialect.name == "postgresql"  # the ingress commits on its own connection there
    if pipelined:
        real_write = pipelined_ingest.write_and_commit

        def write_failing_once(connection, *args, **kwargs):
            if failures:
                connection.execute("ROLLBACK")
                raise failures.pop()
            return real_write(connection, *args, **kwargs)

        monkeypatch.setattr(pipelined_ingest, "write_and_commit", write_failing_once)
    else:
        real = GroupCommit._stage_and_commit

        def commit_failing_once(self, jobs):
            if not failures:
                return real(self, jobs)
            with self.app.app_context():  # stage everything, then the commit fails
                try:
                    self.handler(jobs)
                    raise failures.pop()
                finally:
                    db.session.rollback()
                    db.session.close()

        monkeypatch.setattr(GroupCommit, "_stage_and_commit", commit_failing_once)
    with wh_hub.app.app_context():
        key = wh_hub.runtime.integration(1, "lever").webhook_key
    client = wh_hub.app.test_client()
    body = make_body(event_id="evt-commit-fails")
    assert wh_hub.integration()["verified_at"] is None
    assert client.post(f"/webhooks/lever/{key}", json=body).status_code == 503
    assert wh_hub.integration()["verified_at"] is None
    retry = client.post(f"/webhooks/lever/{key}", json=body)
    assert retry.status_code == 200 and retry.get_json()["status"] == "accepted"
    assert wh_hub.integration()["verified_at"] is not None


def test_an_application_created_test_request_is_a_ping_whatever_the_setting(wh_hub):
    """Lever's test request of the "Application Created" group names no opportunity: it verifies
    the connection even while the hub does not act on creations (``invite_on_creation`` off)."""
    body = make_body(event="applicationCreated", data={"applicationId": "app-1"})
    result = verify(wh_hub, body)
    assert result.ping and not result.events
