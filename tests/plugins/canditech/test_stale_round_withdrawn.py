"""Round 1's send reaches Canditech only after an admin cancelled and re-invited the invitation
(round 2, a new reference): the admin's cancel found nothing at Canditech yet (round 1's create had
not been made), and ``record_sent`` writes nothing for round 1 and returns the row in round 2. The
plugin withdraws round 1's invitation at Canditech then, so the candidate is not left with two live
tests, and round 2's own invitation stays open (its reference and id are its own).

The real hub (deliveries inline) and the Canditech sandbox over HTTP: round 1's send is the
delivery of the stage change, in this thread; the admin acts in another thread while that send is
at Canditech, as a second worker would; round 2's send waits for round 1's lease."""

from __future__ import annotations

import threading

from plugins.canditech.client import CanditechClient


def test_round_1s_invitation_reaching_canditech_after_a_re_invite_is_withdrawn_there(hub, monkeypatch):
    real_create = CanditechClient.create_invitation
    admin: dict = {}

    def admin_cancels_and_re_invites(invitation_id):
        with hub.app.app_context():
            try:
                admin["cancelled"] = hub.cancel(invitation_id)
                admin["at_canditech_on_cancel"] = len(hub.sandbox.invitations())
                admin["reinvited"] = hub.reinvite(invitation_id)  # round 2's send waits for round 1's lease
            except BaseException as exc:  # noqa: BLE001 - reported by the test below
                admin["error"] = exc

    def create_late(self, **kwargs):
        if "thread" not in admin:  # round 1's create: the admin acts before it reaches Canditech
            (row,) = [i for i in hub.invitations() if i.external_reference == kwargs["external_reference"]]
            admin["thread"] = threading.Thread(target=admin_cancels_and_re_invites, args=(row.id,))
            admin["thread"].start()
            hub.wait_for(lambda: "error" in admin or hub.invitation().round == 2, timeout=10,
                         what="the admin's cancel and re-invite")
        return real_create(self, **kwargs)

    monkeypatch.setattr(CanditechClient, "create_invitation", create_late)
    hub.move()  # round 1's send, in this thread
    admin["thread"].join(timeout=30)
    assert not admin["thread"].is_alive() and "error" not in admin, admin.get("error")
    assert admin["cancelled"].status == "cancelled" and admin["at_canditech_on_cancel"] == 0
    assert admin["reinvited"].round == 2
    hub.sandbox.quiet()

    now = hub.invitation()
    remotes = {r["external_reference"]: r for r in hub.sandbox.invitations()}
    first_reference = now.external_reference.removesuffix("-r2")
    assert set(remotes) == {first_reference, now.external_reference} != {now.external_reference}
    assert remotes[first_reference]["status"] == "cancelled"  # round 1's: withdrawn, not a second live test
    assert remotes[now.external_reference]["status"] == "invited"  # round 2's: open
    assert (now.round, now.status, now.provider_invitation_id, now.invite_url) == \
        (2, "invited", remotes[now.external_reference]["id"], remotes[now.external_reference]["invite_url"])
    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
