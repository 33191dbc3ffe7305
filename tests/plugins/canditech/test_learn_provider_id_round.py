"""``webhooks.learn_provider_id`` fills Canditech's id only on a row still pending *in the round
its webhook matched*: an admin's cancel and Re-invite landing between the verification's read and
its write leave a row pending again in the next round, not sent yet, which must not receive the
earlier round's id (it would then never be sent as its own: the send finds it no longer pending,
and the earlier round's webhooks are ignored)."""

from __future__ import annotations

from plugins.canditech.webhooks import learn_provider_id

from .test_create_without_dedup import run_retries


def test_a_stale_pending_read_does_not_give_the_next_round_its_id(hub):
    hub.move()
    first = hub.invitation()
    # round 1's create answered, but its answer was lost: pending, no Canditech id
    hub.update_invitation(first.id, status="pending", provider_invitation_id=None, invite_url=None)
    stale = hub.invitation()  # what the verification of round 1's webhook read
    assert (stale.status, stale.round, stale.provider_invitation_id) == ("pending", 1, None)

    hub.cancel(first.id)  # an admin cancels and re-invites before that verification writes;
    hub.sandbox.faults(down=True)  # round 2's send waits for its retry
    hub.reinvite(first.id)
    hub.sandbox.faults()
    assert (hub.invitation().status, hub.invitation().round, hub.invitation().provider_invitation_id) == \
        ("pending", 2, None)

    learn_provider_id(hub.ctx(), stale, {"id": "inv_round_1", "invite_url": "https://canditech.test/take/r1"})

    now = hub.invitation()
    assert (now.status, now.round, now.provider_invitation_id, now.invite_url) == ("pending", 2, None, None)
    run_retries(hub)  # round 2 is sent as its own
    sent = hub.invitation()
    assert sent.status == "invited" and sent.provider_invitation_id not in (None, "inv_round_1")
