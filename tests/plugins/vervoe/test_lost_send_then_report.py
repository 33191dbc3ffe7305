"""A send whose outcome was lost, then Vervoe's report of it before the send's retry: the hub keeps
Vervoe's candidate assessment uuid all the same (from a lost-create walk, after Canditech's fix).

The row stays ``pending`` with no Vervoe id while the send's retry is awaited. When Vervoe's report
(the candidate opened the test) moves the row on first (``started``), the retry finds the row no
longer pending and, rightly, sends nothing: its lookup, which would have recorded the uuid, never
runs. Without the uuid ``ctx.invitations.list_open`` never lists the invitation, so reconciliation
never asks Vervoe about it (a lost completion report would never reach the ATS) and no verdict is
watched for; the candidate page has no invite link either.

Vervoe refuses (503) a report of a candidate assessment it has not linked while a send is in
flight, so the report can move the row only once the uuid is linked: after a re-invite (the reset
reuses round 1's candidate assessment, linked), or when the first send's retry linked what it found
but failed reading its login link."""

from __future__ import annotations

import time
from datetime import timedelta

from hub.engine.sweeper import sweep
from plugins.vervoe import links


def _retry(hub) -> None:
    """The engine's retry of the failed send, once its backoff has passed."""
    time.sleep(0.06)  # RETRY_MAX_SECONDS is 0.05 in tests
    hub.wait_for(lambda: sweep(hub.runtime) >= 0 and "retry" not in hub.deliveries(), what="the retry")


def _assert_kept(hub, uuid: str) -> None:
    inv = hub.invitation()
    assert inv.status == "started"
    assert inv.provider_invitation_id == uuid
    assert inv.invite_url == hub.sandbox.only()["candidateUrl"]
    # reconciliation asks Vervoe about it (a lost completion report is then recovered)
    assert [i.id for i in hub.ctx().invitations.list_open("vervoe", older_than=timedelta(0))] == [inv.id]


def test_a_report_before_the_retry_of_an_unclear_reset_keeps_vervoes_uuid(hub):
    hub.move()
    inv = hub.invitation()
    assert inv.status == "invited"
    uuid = inv.provider_invitation_id
    hub.cancel(inv.id)
    hub.sandbox.quiet()  # round 1's "rejected" report is in before the re-invite
    # the re-invite's reset lands at Vervoe, but every answer is a 503: the outcome is unclear
    hub.sandbox.faults(error_rate=1.0, error_codes=[503], fault_after_processing=True)
    hub.reinvite(inv.id)
    hub.sandbox.faults()
    pending = hub.invitation()
    assert (pending.status, pending.round, pending.provider_invitation_id) == ("pending", 2, None)
    assert hub.deliveries().get("retry") == 1

    hub.sandbox.act(uuid, "start")  # the candidate opens the reset test before the hub's retry
    hub.sandbox.quiet()
    hub.wait_for(lambda: hub.invitation().status == "started", what="the in-progress report")
    _retry(hub)

    _assert_kept(hub, uuid)
    assert sum(hub.sandbox.invite_posts().values()) == 1


def test_a_report_before_the_retry_of_a_send_that_linked_but_lost_the_link_keeps_vervoes_uuid(hub):
    hub.call("list_assessments")  # a token first: the faults below hit only the calls of the send
    # Vervoe creates the candidate assessment, then answers 500: the outcome is unclear to the hub
    hub.sandbox.faults(error_rate=1.0, error_codes=[500], fault_after_processing=True)
    hub.move()
    hub.sandbox.faults()
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}
    uuid = hub.sandbox.only()["candidateAssessmentUuid"]

    # the retry finds it by email and links it, then Vervoe fails to give its login link (every try)
    hub.sandbox.faults(error_rate=0.5, error_codes=[503], seed=SEED)
    _retry_once(hub)
    hub.sandbox.faults()
    inv = hub.invitation()
    assert inv.status == "pending" and links.invitations_for(hub.ctx(), uuid) == [inv.id]

    hub.sandbox.act(uuid, "start")  # the candidate opens the test before the hub's next retry
    hub.sandbox.quiet()
    hub.wait_for(lambda: hub.invitation().status == "started", what="the in-progress report")
    _retry(hub)

    _assert_kept(hub, uuid)
    assert sum(hub.sandbox.invite_posts().values()) == 1


def _retry_once(hub) -> None:
    time.sleep(0.06)
    sweep(hub.runtime)
    assert hub.deliveries().get("retry") == 1, hub.deliveries()


def _seed() -> int:
    """A seed whose first API call passes (the lookup) and next three fail (the login link, every
    inline try), drawn as the sandbox's faults draw them."""
    from hub.kit.sandbox.faults import Faults

    for seed in range(10_000):
        faults = Faults()
        faults.configure({"error_rate": 0.5, "error_codes": [503], "seed": seed})
        if faults.api_fault() is None and all(faults.api_fault() is not None for _ in range(3)):
            return seed
    raise AssertionError("no seed")


SEED = _seed()
