"""A 403 from Vervoe's API is a missing permission for that request, not refused credentials:
Vervoe's guide 04 reads "403 - Forbidden, The API User doesn't have needed permissions to perform
the request" (bad credentials are 401). The work it was for fails, or is skipped, with words saying
so, and the connection is not flagged "needs re-authorization" (which ends every delivery of the
connection and asks an admin for a key and secret that Vervoe took)."""

from __future__ import annotations


import pytest

import plugins.vervoe as vervoe
from hub.engine.sweeper import reconcile_all
from hub.errors import HubError
from plugins.vervoe import auth, wire
from plugins.vervoe.client import VervoeClient, VervoeForbidden

from .client_fakes import BASE, FakeCtx

PERMISSION = "403 Forbidden: the API user lacks a permission this request needs"


def forbid(hub) -> str:
    """Cache a token (the token endpoint is not asked again), then have Vervoe's API answer every
    call 403 with its JSON error ("Simulated failure"); returns the integration's status before."""
    hub.call("list_assessments")
    hub.sandbox.faults(error_rate=1.0, error_codes=[403])
    return hub.integration().status


def report_reads(api_exchanges, status: int) -> int:
    return sum(1 for e in api_exchanges.exchanges if e.method == "GET" and e.status == status
               and "/integration/user-assessments/" in e.url)


def test_an_invitation_vervoe_forbids_fails_with_why_and_the_connection_is_not_flagged(hub):
    before = forbid(hub)
    hub.move()

    invitation = hub.invitation()
    assert invitation.status == "failed"
    assert invitation.failure_reason == f"Vervoe refused the invitation: Simulated failure ({PERMISSION})"
    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
    assert hub.integration().status == before != "needs_reauthorization"


def test_a_cancel_vervoe_forbids_ends_that_delivery_alone_with_why(hub):
    hub.move()
    invitation = hub.invitation()
    assert invitation.status == "invited"
    before = forbid(hub)

    hub.cancel(invitation.id)
    (dead,) = [d for d in hub.delivery_list() if d.status == "dead"]
    assert dead.hook == "on_invitation_status"
    assert "needs re-authorization" not in dead.last_error
    assert dead.last_error == ("VervoeForbidden: Vervoe answered 403 Forbidden (the API user lacks a permission "
                               "this request needs): Simulated failure")
    assert hub.integration().status == before != "needs_reauthorization"


def test_reconciliation_skips_an_invitation_vervoe_forbids_and_asks_about_the_others(hub, api_exchanges):
    for opportunity in ("opp-1", "opp-2"):
        hub.candidate(opportunity, email=f"{opportunity}@example.com")
        hub.move(opportunity)
    assert sorted(i.status for i in hub.invitations()) == ["invited", "invited"]
    before = forbid(hub)

    reconcile_all(hub.runtime)
    assert report_reads(api_exchanges, 403) == 2  # the first 403 no longer ends the run
    assert hub.integration().status == before != "needs_reauthorization"
    reconcile_all(hub.runtime)
    assert report_reads(api_exchanges, 403) == 4  # asked again next run
    hub.sandbox.faults()
    assert sorted(i.status for i in hub.invitations()) == ["invited", "invited"]


# --------------------------------------------------------------------------- the words (no sandbox)

def test_a_403_is_the_request_s_permission_not_the_credentials(rsps):
    rsps.add("GET", BASE + wire.report_path("u-1"), status=403,
             json={"success": False, "errors": "Access denied", "msg": "Access denied"})
    ctx = FakeCtx()

    with pytest.raises(VervoeForbidden) as caught:
        VervoeClient(ctx, sleep=lambda s: None).get_report("u-1")
    assert not isinstance(caught.value, auth.VervoeAuthError)
    assert str(caught.value) == ("Vervoe answered 403 Forbidden (the API user lacks a permission this request "
                                 "needs): Access denied")
    assert ctx.statuses == []  # not flagged
    assert len(rsps.calls) == 1  # no new token asked for: the key and secret were taken


def test_the_connection_test_says_what_a_403_means_and_what_to_ask_vervoe(rsps):
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=403,
             json={"success": False, "errors": "Access denied", "msg": "Access denied"})
    ctx = FakeCtx()

    with pytest.raises(HubError) as caught:
        vervoe.test_connection(ctx)
    assert (caught.value.status, caught.value.code) == (502, "vendor_error")  # the hub shows "error"
    assert caught.value.message == (
        f"Vervoe: Access denied ({PERMISSION}). Vervoe took the API key and secret but does not let this API "
        "user list assessments: ask Vervoe to give it that permission (Vervoe's API needs an Enterprise plan "
        "or partner access)")
    assert ctx.statuses == []
