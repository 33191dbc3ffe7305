"""Registering webhooks through Lever's API (sandbox), manual tokens, and disconnecting."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest
import responses

from hub import services
from hub.entities import StageChange, WebhookRequest
from hub.errors import HubError, WebhookRejected
from plugins.lever.sandbox import sign
from tests.plugins.lever.conftest import API_KEY

EVENTS = {"candidateStageChange", "candidateArchiveChange", "candidateDeleted", "candidateHired", "applicationCreated"}


def webhook_url(hub) -> str:
    return hub.with_ctx(lambda ctx: ctx.webhook_url)


def ours(sandbox, hub) -> list[dict]:
    url = webhook_url(hub)
    return [w for w in sandbox.webhooks() if w["url"] == url]


def lever_body(signature_token: str, event: str = "candidateStageChange") -> bytes:
    """A delivery as the sandbox's signer builds it."""
    token, triggered_at = "c" * 48, int(datetime.now(timezone.utc).timestamp() * 1000)
    return json.dumps({"id": "evt-setup", "event": event, "triggeredAt": triggered_at, "token": token,
                       "signature": sign(signature_token, token, triggered_at),
                       "data": {"opportunityId": "opp-alice", "toStageId": "stage-canditech",
                                "fromStageId": "stage-new-applicant"}}).encode()


def verify(hub, raw: bytes):
    return hub.call("verify_webhook", request=WebhookRequest(body=raw, headers={},
                                                             received_at=datetime.now(timezone.utc)))


def test_setup_registers_each_event_once_and_stores_the_tokens(api_key_hub, sandbox):
    message = api_key_hub.call("setup_webhooks")
    hooks = ours(sandbox, api_key_hub)
    assert {w["event"] for w in hooks} == EVENTS and len(hooks) == len(EVENTS)
    assert "Super Admin" in message and "switch on" in message
    tokens = api_key_hub.secrets()["webhook_tokens"]
    assert tokens == {w["id"]: w["signatureToken"] for w in hooks}
    recorded = api_key_hub.records("webhooks")["webhooks"]
    assert {e: r["id"] for e, r in recorded.items()} == {w["event"]: w["id"] for w in hooks}

    again = api_key_hub.call("setup_webhooks")
    assert len(ours(sandbox, api_key_hub)) == len(EVENTS) and "Already registered" in again
    # events named as Lever's webhook settings page names them, not by their API names
    assert "Candidate Stage Change" in message and "Candidate Stage Change" in again
    assert "candidateStageChange" not in message + again
    assert sandbox.route_count("POST /v1/webhooks") == len(EVENTS)

    stage_hook = next(w for w in hooks if w["event"] == "candidateStageChange")
    (inbound,) = verify(api_key_hub, lever_body(stage_hook["signatureToken"])).events
    assert isinstance(inbound.event, StageChange)


def test_a_webhook_whose_token_was_lost_is_replaced(api_key_hub, sandbox):
    api_key_hub.call("setup_webhooks")
    lost = next(w for w in ours(sandbox, api_key_hub) if w["event"] == "candidateHired")
    api_key_hub.with_ctx(lambda ctx: ctx.update_secrets({"webhook_tokens": {
        k: v for k, v in ctx.secrets["webhook_tokens"].items() if k != lost["id"]}}))
    api_key_hub.call("setup_webhooks")
    hooks = ours(sandbox, api_key_hub)
    assert len(hooks) == len(EVENTS) and lost["id"] not in {w["id"] for w in hooks}
    assert set(api_key_hub.secrets()["webhook_tokens"]) == {w["id"] for w in hooks}


def test_webhooks_configured_in_lever_ui_need_their_token_pasted(api_key_hub, sandbox):
    manual = sandbox.control("POST", "/manual_webhooks", json={"url": webhook_url(api_key_hub),
                                                                "event": "candidateHired"})
    message = api_key_hub.call("setup_webhooks")
    assert "not through the API: Candidate Hired;" in message and "paste" in message
    assert len(ours(sandbox, api_key_hub)) == len(EVENTS)  # the others through the API plus the UI one
    with pytest.raises(WebhookRejected):
        verify(api_key_hub, lever_body(manual["signatureToken"], "candidateHired"))
    api_key_hub.configure({"signature_tokens": manual["signatureToken"]})
    assert verify(api_key_hub, lever_body(manual["signatureToken"], "candidateHired")).events
    regenerated = sandbox.control("POST", f"/manual_webhooks/{manual['id']}/regenerate")
    with pytest.raises(WebhookRejected):  # the admin regenerated it in Lever: the old token stops working
        verify(api_key_hub, lever_body(regenerated["signatureToken"], "candidateHired"))


def test_disconnect_deletes_the_webhooks_and_forgets_the_tokens(api_key_hub, sandbox):
    api_key_hub.call("setup_webhooks")
    with api_key_hub.app.app_context():
        warnings = services.revoke(api_key_hub.runtime, 1, "lever", "test")
    assert warnings == []
    assert [w for w in sandbox.webhooks() if w["source"] == "api"] == []
    assert sandbox.route_count("DELETE /v1/webhooks/<webhook_id>") == len(EVENTS)
    assert api_key_hub.records("webhooks") == {}
    assert api_key_hub.secrets() == {}
    assert api_key_hub.integration()["status"] == "revoked"


def test_disconnect_reports_what_it_could_not_delete(api_key_hub, sandbox):
    api_key_hub.call("setup_webhooks")
    sandbox.control("POST", "/faults", json={"down": True})
    with pytest.raises(HubError) as info:
        api_key_hub.call("disconnect")
    # by the events Lever's settings page shows, not by bare ids
    assert info.value.message.startswith(
        "could not delete 5 webhooks at Lever (Candidate Stage Change, Application Created, Candidate Archive "
        "State Change, Candidate Deleted, Candidate Hired): Lever answered 503")
    assert "“Register webhooks” deletes them" in info.value.message
    assert "webhook_tokens" not in api_key_hub.secrets()


def test_webhooks_a_revoke_left_at_lever_are_deleted_by_the_next_registration(api_key_hub, sandbox):
    """Revoked while Lever was down, the old webhooks stayed at Lever, pointing at the dead URL,
    and nothing in the hub mentioned them after reconnecting."""
    api_key_hub.call("setup_webhooks")
    old = {w["id"] for w in ours(sandbox, api_key_hub)}
    sandbox.control("POST", "/faults", json={"down": True})
    with api_key_hub.app.app_context():
        (warning,) = services.revoke(api_key_hub.runtime, 1, "lever", "test")
    assert "could not delete 5 webhooks at Lever" in warning
    sandbox.control("POST", "/faults", json={"down": False})
    assert old <= {w["id"] for w in sandbox.webhooks()}

    api_key_hub.configure({"api_key": API_KEY})  # reconnected (a new webhook URL)
    (left,) = api_key_hub.call("connection_state").warnings
    assert left.startswith("5 webhooks of an earlier, revoked connection could not be deleted at Lever "
                           "(Candidate Stage Change, ")
    message = api_key_hub.call("setup_webhooks")
    assert "Registered 5 webhooks" in message
    assert old.isdisjoint({w["id"] for w in sandbox.webhooks()})
    assert len(sandbox.webhooks()) == len(EVENTS)
    assert api_key_hub.call("connection_state").warnings == ()


@pytest.mark.parametrize("nested", [False, True])
def test_create_response_with_one_or_two_data_levels(hub, nested):
    base = "http://lever.test"
    hub.configure({"environment": "custom", "base_url": base, "api_key": "k"})
    with responses.RequestsMock() as rsps:
        rsps.get(base + "/v1/webhooks", json={"data": []})
        for n, event in enumerate(sorted(EVENTS)):
            webhook = {"id": f"wh-{n}", "event": event, "url": "x",
                       "configuration": {"signatureToken": f"token-{n}"}, "createdAt": 1, "updatedAt": 1}
            rsps.post(base + "/v1/webhooks", status=201, json={"data": {"data": webhook} if nested else webhook})
        hub.call("setup_webhooks")
    assert hub.secrets()["webhook_tokens"] == {f"wh-{n}": f"token-{n}" for n in range(len(EVENTS))}


@pytest.mark.parametrize("environment", ["production", "sandbox"])
def test_lever_gets_no_webhook_at_an_http_url(make_hub, environment):
    """Lever delivers webhooks over HTTPS only (lever.md §1.2): at a real Lever, registering the
    hub's http:// URL would leave webhooks that never arrive, so nothing is registered."""
    hub = make_hub(PUBLIC_URL="http://hub.example")
    hub.configure({"environment": environment, "api_key": "k"})
    with responses.RequestsMock():  # any call to Lever fails the test
        with pytest.raises(HubError) as caught:
            hub.call("setup_webhooks")
    assert caught.value.status == 400
    assert "http://hub.example/webhooks/lever/" in caught.value.message
    assert "https" in caught.value.message and "HUB_PUBLIC_URL" in caught.value.message
    assert "webhook_tokens" not in hub.secrets()
