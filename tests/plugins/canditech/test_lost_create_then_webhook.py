"""A create whose answer was lost, then a webhook of that invitation before the retry: the hub
keeps Canditech's id and link all the same (from a Canditech walk).

The first POST reached Canditech but answered 500 (seeded fault after processing), so the row
stays ``pending`` with no Canditech id. Before the engine's retry (which would look the reference
up and record the id) the candidate opens the test and Canditech's ``invitation.started`` moves the
row to ``started``. The retry then finds the row no longer pending and sends nothing, as it must;
but the Canditech id was never recorded, and ``ctx.invitations.list_open`` lists only invitations
with one: reconciliation would never ask about this invitation, so a lost completion webhook would
never reach the ATS, and no verdict would be watched for."""

from __future__ import annotations

from datetime import timedelta

from hub.engine.sweeper import sweep


def test_a_webhook_before_the_retry_of_a_lost_create_keeps_canditech_s_id_and_link(hub):
    hub.sandbox.faults(error_rate=0.5, error_codes=[500], fault_after_processing=True, seed=3)
    hub.move()
    hub.sandbox.faults()
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}
    (remote,) = hub.sandbox.invitations()  # the lost POST created it

    hub.sandbox._call("POST", f"/_sandbox/invitations/{remote['id']}/start")  # the candidate opens the test
    hub.sandbox.quiet()
    hub.wait_for(lambda: hub.invitation().status == "started", what="the started webhook")
    hub.wait_for(lambda: sweep(hub.runtime) >= 0 and "retry" not in hub.deliveries(), what="the retry")

    inv = hub.invitation()
    assert inv.status == "started"
    assert inv.provider_invitation_id == remote["id"]
    assert inv.invite_url == remote["invite_url"]
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    # reconciliation asks about it (a lost completion webhook is then recovered)
    assert [i.id for i in hub.ctx().invitations.list_open("canditech", older_than=timedelta(0))] == [inv.id]


def test_only_an_invitation_without_canditech_s_id_learns_it_from_a_webhook():
    """Only an invitation without Canditech's id learns it: one with an id keeps its own."""
    from hub import entities as e
    from plugins.canditech.webhooks import verify

    from .helpers import FakeContext, event_body, hub_invitation, sign, wire_invitation
    from .test_webhooks import NOW, SECRET, request

    pending = hub_invitation(8, status=e.PENDING, provider_invitation_id=None, reference_token=None)
    known = hub_invitation(7)
    ctx = FakeContext(invitations=[pending, known])
    for reference, canditech_id in ((known.external_reference, "inv_other"), (pending.external_reference, "inv_8")):
        body = event_body("invitation.started", wire_invitation(id=canditech_id, external_reference=reference,
                                                                status="started"))
        verify(ctx, request(body, sign(SECRET, body, NOW)))
    assert ctx.invitations.get(7).provider_invitation_id == "inv_abc"
    assert ctx.invitations.get(8).provider_invitation_id == "inv_8"
    assert ctx.invitations.get(8).invite_url == wire_invitation()["invite_url"]
    ctx.close()
