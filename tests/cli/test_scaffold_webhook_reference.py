"""A scaffolded assessment plugin acts on a vendor's webhook only for this hub's current
invitation: the whole external reference must match (``parse_external_reference``'s contract),
not just the invitation id inside it. The scaffold used to record another hub's result (staging
and production sharing one vendor account issue the same ids), or an earlier round's, on this
hub's invitation; and a reference of thousands of digits raised ``ValueError`` (answered 500, so
the vendor retried it for ever)."""

import json
import types

from hub.cli.scaffold import render_plugin
from hub.entities import AssessmentResult, Invitation, WebhookRequest
from hub.store.models import utcnow


def invitation(invitation_id: int, token: str, provider: str = "acme", round: int = 1) -> Invitation:
    return Invitation(id=invitation_id, attachment_id=1, opportunity_id="opp-1", candidate_name="Ada",
                      candidate_email="ada@example.com", provider=provider, assessment_id="basic",
                      assessment_name="Basic skills", status="invited", reference_token=token, round=round)


def _verify(payload: dict, *invitations: Invitation):
    """The rendered assessment plugin's ``verify_webhook`` answer to ``payload``, signed right, in
    a hub holding ``invitations``."""
    rendered = render_plugin("acme", "assessment")
    plugin: dict = {}
    exec(compile(rendered["ats_hub_acme/__init__.py"], "plugin", "exec"), plugin)
    sandbox: dict = {}  # signed as the scaffold's vendor signs (a timestamp, then the body)
    exec(compile(rendered["ats_hub_acme/sandbox/__init__.py"], "sandbox", "exec"), sandbox)
    known = {item.id: item for item in invitations}
    ctx = types.SimpleNamespace(secrets={"webhook_secret": "secret"}, plugin_name="acme",
                                invitations=types.SimpleNamespace(get=known.get))
    body = json.dumps(payload).encode()
    return plugin["verify_webhook"](ctx, WebhookRequest(body=body, headers=sandbox["sign_webhook"]("secret", body),
                                                        received_at=utcnow(), remote_addr="127.0.0.1"))


def _completed(reference) -> dict:
    return {"id": "evt-1", "type": "completed", "reference": reference, "score": 8, "max_score": 10}


def test_a_completion_for_the_current_invitation_becomes_its_result():
    result = _verify(_completed("hub-inv-7-tok"), invitation(7, "tok"))
    (inbound,) = result.events
    assert inbound.external_id == "evt-1"
    assert inbound.event == AssessmentResult(invitation_id=7, score=8, max_score=10, round=1)
    # the round it matched, so the hub drops it if a re-invite lands before it is stored
    (later,) = _verify(_completed("hub-inv-7-tok-r3"), invitation(7, "tok", round=3)).events
    assert later.event.round == 3


def test_a_completion_for_another_hubs_invitation_with_the_same_id_is_ignored():
    result = _verify(_completed("hub-inv-7-othertoken"), invitation(7, "tok"))
    assert result.events == () and "no current invitation of this hub" in result.note


def test_a_completion_of_an_earlier_round_is_ignored():
    result = _verify(_completed("hub-inv-7-tok"), invitation(7, "tok", round=2))
    assert result.events == () and "hub-inv-7-tok" in result.note


def test_a_completion_for_another_providers_invitation_is_ignored():
    result = _verify(_completed("hub-inv-7-tok"), invitation(7, "tok", provider="canditech"))
    assert result.events == ()


def test_a_reference_of_thousands_of_digits_is_ignored_not_a_crash():
    result = _verify(_completed("hub-inv-" + "9" * 5000), invitation(7, "tok"))
    assert result.events == () and len(result.note) < 200


def test_the_vendors_ping_verifies_the_connection():
    result = _verify({"id": "evt-ping", "type": "ping"})
    assert result.ping and result.events == ()


def test_a_signature_header_with_non_ascii_characters_is_refused_not_a_500():
    """WSGI decodes header bytes as latin-1; compare_digest refuses a non-ASCII str (TypeError)."""
    import pytest

    from hub.errors import WebhookRejected

    for source in ("assessment", "source"):
        rendered = render_plugin("acme", source)
        plugin: dict = {}
        exec(compile(rendered["ats_hub_acme/__init__.py"], "plugin", "exec"), plugin)
        ctx = types.SimpleNamespace(secrets={"webhook_secret": "secret"}, plugin_name="acme")
        request = WebhookRequest(body=b"{}", headers={"X-Signature": "é" * 64}, received_at=utcnow(),
                                 remote_addr="127.0.0.1")
        with pytest.raises(WebhookRejected) as refused:
            plugin["verify_webhook"](ctx, request)
        assert refused.value.status == 401, source
