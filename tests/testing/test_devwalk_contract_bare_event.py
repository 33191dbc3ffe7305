"""The contract kit's webhook test, on a ``verify_webhook`` that returns a hub event without its
``InboundEvent`` wrapper (a mistake a vendor's developer made on their walk, "devwalk"): the kit said
"WebhookResult.events holds a InvitationProgress, not an InboundEvent", neither what to write nor
why, where the hub's own ingress (and reconcile's check) names ``InboundEvent(external_id=...,
event=...)``. A ``verify_webhook`` returning something else than a ``WebhookResult`` is told what to
return too."""

from __future__ import annotations

import pytest

from hub import hookimpl
from hub.entities import InvitationProgress, WebhookResult
from tests.testing.test_kit_messages_contract import SANDBOX_URL, ToyContract, ToyVendor, kit_fixture


class BareEventVendor(ToyVendor):
    @hookimpl
    def verify_webhook(self, ctx, request):
        return WebhookResult(events=(InvitationProgress(invitation_id=1, status="started"),))


class ListVendor(ToyVendor):
    @hookimpl
    def verify_webhook(self, ctx, request):
        return [InvitationProgress(invitation_id=1, status="started")]


def failure_of(make_app, vendor) -> str:
    contract = ToyContract()
    app = make_app(plugins=[("toy", vendor), *contract.extra_plugins()], entry_points=False)
    connected = kit_fixture("connected")(contract, app, SANDBOX_URL)
    with pytest.raises(AssertionError) as failed:
        contract.test_contract_signed_webhook_parses_into_hub_events(connected)
    return str(failed.value)


def test_a_bare_event_is_told_to_be_wrapped_in_an_inbound_event(make_app):
    message = failure_of(make_app, BareEventVendor())

    assert message.startswith("WebhookResult.events holds an InvitationProgress where an InboundEvent belongs: wrap "
                              "each event with the vendor's id of it, InboundEvent(external_id=..., event=...)"), message


def test_a_result_that_is_no_webhook_result_is_told_what_to_return(make_app):
    message = failure_of(make_app, ListVendor())

    assert message.startswith("verify_webhook returned a list, not a WebhookResult: return "
                              "WebhookResult(events=(InboundEvent(external_id=..., event=...),))"), message
