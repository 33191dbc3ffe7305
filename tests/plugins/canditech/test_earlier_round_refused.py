"""Canditech refusing to withdraw an earlier round before a re-invite's round is sent (a 4xx, not
401/403): the plugin re-reads that invitation, as for any refused cancel. Finished or gone meanwhile,
it is left alone and the new round goes ahead; still open, the refusal is noted ``cancel_failed`` on
the timeline, in words naming the round, and raised (a ``PermanentError``: the delivery is dead and
shown), so the candidate is not left with two live tests. (Canditech's API is assumed: which 4xx it
uses to refuse a cancel is not known, see ``CanditechClient.cancel_invitation``.)"""

from __future__ import annotations

import pytest
import responses
from responses import matchers

from hub.entities import PENDING
from plugins.canditech import invite
from plugins.canditech.client import CanditechClient, CanditechRejected

from .helpers import BASE_URL, FakeContext, hub_invitation, wire_invitation

ROUND_2 = hub_invitation(7, status=PENDING, provider_invitation_id=None, round=2, reference_token="k3y")
ROUND_1 = "hub-inv-7-k3y"
INVITATIONS = f"{BASE_URL}/v1/invitations"
REFUSAL = {"error": {"code": "invalid_state", "message": "invitation cannot be cancelled"}}


@pytest.fixture
def ctx():
    context = FakeContext(invitations=[ROUND_2])
    context.notes = []
    context.invitations.note = lambda invitation_id, kind, detail: context.notes.append((kind, detail))
    yield context
    context.close()


def refused(rsps, status_after, refusal_status=422):
    rsps.add("GET", INVITATIONS, match=[matchers.query_param_matcher({"external_reference": ROUND_1})],
             json={"data": [wire_invitation(id="inv_1", status="invited", external_reference=ROUND_1)]})
    rsps.add("POST", f"{INVITATIONS}/inv_1/cancel", status=refusal_status, json=REFUSAL)
    rsps.add("GET", f"{INVITATIONS}/inv_1", json=wire_invitation(id="inv_1", status=status_after,
                                                                  external_reference=ROUND_1))


def test_an_earlier_round_still_open_after_a_refused_withdrawal_is_noted_and_raised(ctx):
    with responses.RequestsMock() as rsps:
        refused(rsps, "invited")
        with pytest.raises(CanditechRejected):
            invite._withdraw_earlier_rounds(ctx, CanditechClient(ctx), ROUND_2)
    assert ctx.notes == [("cancel_failed", "Canditech refused to withdraw round 1's invitation, which is still invited "
                                           "there: invitation cannot be cancelled. Round 2 is not sent while it is "
                                           "open: cancel it in Canditech, then replay the delivery.")]


@pytest.mark.parametrize("status_after", ["completed", "expired", "cancelled"])
def test_an_earlier_round_that_finished_before_its_withdrawal_is_left_alone(ctx, status_after):
    with responses.RequestsMock() as rsps:
        refused(rsps, status_after, refusal_status=409)
        invite._withdraw_earlier_rounds(ctx, CanditechClient(ctx), ROUND_2)  # not an error: round 2 goes ahead
    assert ctx.notes == []


def test_an_earlier_round_canditech_does_not_have_is_not_asked_to_cancel(ctx):
    with responses.RequestsMock() as rsps:  # an unexpected call (a cancel) fails the test
        rsps.add("GET", INVITATIONS, match=[matchers.query_param_matcher({"external_reference": ROUND_1})],
                 json={"data": []})
        invite._withdraw_earlier_rounds(ctx, CanditechClient(ctx), ROUND_2)
    assert ctx.notes == []
