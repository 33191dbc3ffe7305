"""One invitation per candidate even when Canditech does NOT deduplicate by ``external_reference``
(the sandbox's ``no_reference_dedup``) and the answer to the create is lost after Canditech acted
(``fault_after_processing``): the plugin does not send the create again in that run; the engine's
retry looks the reference up first. The real hub and the Canditech sandbox over real HTTP. (A
create still running at Canditech when its answer is lost: ``test_create_resend.py``.)"""

from __future__ import annotations

import pytest

# Seeded so that the first lookup passes and the create itself meets the fault (the sandbox draws
# one fault per /v1 call, in order).
LOST_CREATE = {
    "500": {"error_rate": 0.5, "error_codes": [500], "seed": 22},
    "503": {"error_rate": 0.5, "error_codes": [503], "seed": 22},
    "reset": {"reset_rate": 0.5, "seed": 10},
}


def routes(hub) -> dict:
    return hub.sandbox._call("GET", "/_sandbox/stats")["by_route"]


def run_retries(hub) -> None:
    """Let the engine run the deliveries waiting for a retry (their backoff is short in tests)."""
    from hub.engine.sweeper import sweep

    def settled() -> bool:
        sweep(hub.runtime)
        return "retry" not in hub.deliveries()

    hub.wait_for(settled, timeout=10, what="the retries to run")


def test_the_sandbox_option_really_creates_a_second_invitation_for_a_known_reference(hub):
    """The premise: with ``no_reference_dedup`` a plain re-send would email the candidate twice."""
    hub.sandbox.faults(no_reference_dedup=True)
    body = {"assessment_id": "asmt-python", "external_reference": "hub-inv-1-premise",
            "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}}
    for _ in range(2):
        hub.sandbox._call("POST", "/v1/invitations", json=body,
                          headers={"Authorization": "Bearer canditech-sandbox-key"})
    assert len(hub.sandbox.invitations()) == 2


@pytest.mark.parametrize("fault", sorted(LOST_CREATE))
def test_a_lost_create_answer_gives_one_invitation_without_dedup(hub, fault):
    hub.sandbox.faults(no_reference_dedup=True, fault_after_processing=True, **LOST_CREATE[fault])
    hub.move()
    assert hub.invitation().status == "pending" and hub.deliveries() == {"retry": 1}  # not re-sent at once
    hub.sandbox.faults(no_reference_dedup=True)
    run_retries(hub)

    inv = hub.invitation()
    (remote,) = hub.sandbox.invitations()  # exactly one invitation email
    assert inv.status == "invited" and inv.provider_invitation_id == remote["id"]
    assert inv.invite_url == remote["invite_url"]
    assert hub.sandbox.post_counts() == {inv.external_reference: 1}
    if fault == "reset":
        assert hub.sandbox._call("GET", "/_sandbox/stats")["counters"]["fault_reset"] == 1
    else:
        assert routes(hub)["POST /v1/invitations"] == {fault: 1}  # the create's answer was the fault
    assert routes(hub)["GET /v1/invitations"] == {"200": 2}  # the first lookup, and the retry's
    assert [s.status for s in hub.source.statuses] == ["invited"]
    assert set(hub.deliveries()) == {"done"}


def test_many_candidates_under_random_lost_answers_each_get_one_invitation_without_dedup(hub):
    """Seeded random faults after processing on every call: whatever the client or the engine
    retries, no reference is ever created twice."""
    from hub.engine.sweeper import sweep

    hub.sandbox.faults(no_reference_dedup=True, fault_after_processing=True, error_rate=0.3,
                       error_codes=[500], seed=7)
    people = [f"opp-{n}" for n in range(1, 9)]
    for opportunity in people:
        hub.move(opportunity)

    def all_invited() -> bool:
        sweep(hub.runtime)  # runs again the deliveries whose attempt ended in TemporaryError
        return all(i.status == "invited" for i in hub.invitations())

    hub.wait_for(all_invited, timeout=20, what="every candidate invited")
    hub.sandbox.faults()

    invitations = hub.invitations()
    remote = hub.sandbox.invitations()
    assert len(invitations) == len(people) and {i.status for i in invitations} == {"invited"}
    assert sorted(r["external_reference"] for r in remote) == sorted(i.external_reference for i in invitations)
    assert {i.provider_invitation_id for i in invitations} == {r["id"] for r in remote}
    assert routes(hub)["POST /v1/invitations"]["500"] >= 2  # answers were lost after Canditech acted
