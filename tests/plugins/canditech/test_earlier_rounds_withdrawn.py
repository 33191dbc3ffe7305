"""Round N > 1 of a re-invited invitation is sent only once what earlier rounds left open at Canditech
is withdrawn there: the candidate never has a stale test beside the new one (whose result the hub
would drop as an earlier round's).

How a round is left open: an admin cancels it while Canditech fails every call, so the cancel's
delivery waits for a retry, and re-invites before that retry runs; the retry then finds the row no
longer cancelled and withdraws nothing. The real hub (deliveries inline, retries run by the
sweeper) and the Canditech sandbox over HTTP."""

from __future__ import annotations

from hub.engine.sweeper import sweep
from hub.errors import TemporaryError
from plugins.canditech.client import CanditechClient, CanditechUnavailable

from .conftest import PYTHON_ANSWERS, invited

OPEN = ("invited", "started")
CANCEL_ROUTE = "POST /v1/invitations/<invitation_id>/cancel"


def leave_open(hub, inv):
    """Cancel ``inv`` in the hub while Canditech fails: it stays open at Canditech, its cancel's
    delivery waiting for a retry."""
    hub.sandbox.faults(error_rate=1.0, error_codes=[500])
    try:
        assert hub.cancel(inv.id).status == "cancelled"
    finally:
        hub.sandbox.faults()
    (waiting,) = [d for d in hub.delivery_list() if d.hook == "on_invitation_status" and d.status == "retry"]
    return waiting


def at_canditech(hub):
    return {r["external_reference"]: r for r in hub.sandbox.invitations()}


def run_retries(hub):
    hub.wait_for(lambda: sweep(hub.runtime) >= 0 and "retry" not in hub.deliveries(), what="the retries")


def reinvite_delivery(hub):
    (delivery,) = [d for d in hub.delivery_list() if d.hook == "on_reinvite_requested"]
    return delivery


def test_a_round_1_still_open_at_canditech_is_withdrawn_before_round_2_is_sent(hub):
    first, remote = invited(hub)
    leave_open(hub, first)
    assert at_canditech(hub)[first.external_reference]["status"] == "invited"

    second = hub.reinvite(first.id)

    remotes = at_canditech(hub)
    assert set(remotes) == {first.external_reference, second.external_reference}
    assert remotes[first.external_reference]["status"] == "cancelled"  # withdrawn, not a stale test
    assert remotes[second.external_reference]["status"] == "invited"
    assert [ref for ref, r in remotes.items() if r["status"] in OPEN] == [second.external_reference]
    now = hub.invitation()
    assert (now.round, now.status) == (2, "invited")
    assert now.provider_invitation_id == remotes[second.external_reference]["id"]
    assert ("earlier_round_withdrawn", "round 1's invitation, still open at Canditech, withdrawn there before round 2 "
                                       "was sent") in hub.timeline(first.id)
    assert reinvite_delivery(hub).status == "done"

    run_retries(hub)  # the admin's cancel of round 1, retried now: the row is in round 2, nothing to do
    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
    assert {r["status"] for r in hub.sandbox.invitations()} == {"cancelled", "invited"}
    assert hub.invitation().status == "invited"


def test_a_completed_round_is_left_alone_and_an_open_one_withdrawn(hub):
    """Round 1 completed at Canditech (its result in the hub) and round 2 left open: round 3's send
    leaves round 1 as it is, without asking Canditech to cancel it, and withdraws round 2."""
    first, remote = invited(hub)
    hub.sandbox.complete(remote["id"], PYTHON_ANSWERS)
    hub.wait_for(lambda: hub.source.results, what="round 1's result")
    hub.sandbox.quiet()
    assert hub.invitation().status == "completed"
    done = at_canditech(hub)[first.external_reference]

    second = hub.reinvite(first.id)
    assert (second.round, hub.invitation().status) == (2, "invited")
    assert at_canditech(hub)[first.external_reference] == done  # untouched, not an error
    assert reinvite_delivery(hub).status == "done"
    leave_open(hub, second)

    third = hub.reinvite(first.id)

    remotes = at_canditech(hub)
    assert set(remotes) == {first.external_reference, second.external_reference, third.external_reference}
    assert remotes[first.external_reference] == done  # completed, its result as it was
    assert remotes[second.external_reference]["status"] == "cancelled"
    assert [ref for ref, r in remotes.items() if r["status"] in OPEN] == [third.external_reference]
    now = hub.invitation()
    assert (now.round, now.status) == (3, "invited")
    assert now.provider_invitation_id == remotes[third.external_reference]["id"]
    routes = hub.sandbox._call("GET", "/_sandbox/stats")["by_route"]
    assert set(routes[CANCEL_ROUTE]) == {"200", "500"}  # never refused: the completed round was not asked
    kinds = [kind for kind, _ in hub.timeline(first.id)]
    assert kinds.count("earlier_round_withdrawn") == 1
    assert "cancel_skipped" not in kinds and "cancel_failed" not in kinds


def test_a_withdrawal_that_fails_for_now_sends_nothing_and_is_retried(hub, monkeypatch):
    """Canditech fails the cancel of round 1 (its lookup answered): the re-invite's delivery ends with
    Canditech's ``TemporaryError`` and waits for a retry, round 2 not created at Canditech and still
    pending in the hub; the retry withdraws round 1 and sends round 2, once."""
    first, remote = invited(hub)
    leave_open(hub, first)
    real_cancel = CanditechClient.cancel_invitation
    outage = [True]

    def cancel_while_canditech_fails(self, invitation_id):
        if outage[0]:
            hub.sandbox.faults(error_rate=1.0, error_codes=[500])
        try:
            return real_cancel(self, invitation_id)
        finally:
            hub.sandbox.faults()

    monkeypatch.setattr(CanditechClient, "cancel_invitation", cancel_while_canditech_fails)

    second = hub.reinvite(first.id)

    delivery = reinvite_delivery(hub)
    assert delivery.status == "retry" and delivery.last_error.startswith("CanditechUnavailable: "), delivery
    assert issubclass(CanditechUnavailable, TemporaryError)
    assert set(at_canditech(hub)) == {first.external_reference}  # no round 2 at Canditech
    assert at_canditech(hub)[first.external_reference]["status"] == "invited"
    assert second.external_reference not in hub.sandbox.post_counts()
    now = hub.invitation()
    assert (now.round, now.status, now.provider_invitation_id) == (2, "pending", None)

    outage[0] = False
    run_retries(hub)

    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
    remotes = at_canditech(hub)
    assert remotes[first.external_reference]["status"] == "cancelled"
    assert [ref for ref, r in remotes.items() if r["status"] in OPEN] == [second.external_reference]
    assert hub.sandbox.post_counts()[second.external_reference] == 1
    now = hub.invitation()
    assert (now.round, now.status) == (2, "invited")
    assert now.provider_invitation_id == remotes[second.external_reference]["id"]
