"""``webhooks.learn_provider_id`` runs in the webhook's verification, outside any invitation lock,
with the invitation as ``ctx.invitations.get`` read it a moment earlier. It must only fill the
Canditech id of a row still pending without one: never move the row. An admin's Re-invite landing between that read and the write (the SQLite write lock or a
PostgreSQL row lock waited for) must not be cancelled by it (diff-review)."""

from __future__ import annotations

from plugins.canditech.webhooks import learn_provider_id


def test_a_stale_read_of_a_cancelled_round_does_not_cancel_the_re_invite(hub):
    hub.move()
    first = hub.invitation()
    assert first.status == "invited"
    # round 1 was cancelled while its create's answer was lost: no Canditech id on the row
    hub.update_invitation(first.id, status="cancelled", provider_invitation_id=None, invite_url=None)
    stale = hub.invitation()  # what the verification of round 1's late webhook read
    assert stale.status == "cancelled" and stale.round == 1

    hub.reinvite(first.id)  # an admin re-invites before that verification writes
    hub.wait_for(lambda: hub.invitation().status == "invited", what="round 2 sent")
    fresh = hub.invitation()

    learn_provider_id(hub.ctx(), stale, {"id": "inv_round_1", "invite_url": "https://canditech.test/take/r1"})

    now = hub.invitation()
    assert (now.round, now.status) == (2, "invited")  # not cancelled by round 1's webhook
    assert now.provider_invitation_id == fresh.provider_invitation_id != "inv_round_1"
