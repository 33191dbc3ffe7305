"""A 403 from Canditech is not taken for the API key without asking. Canditech's notes do not say
what a 403 means, and the key refused ("needs re-authorization") holds every delivery of the plugin
until an admin reconnects. So after a 403 the client checks the key once, with the first page of
the assessments: refused too, the key is refused (as before); answered, the 403 refuses that one
request (``CanditechForbidden``, a ``PermanentError``): the work it was for fails or is skipped with
why, and the connection is not flagged; no answer, the work is tried again later."""

from __future__ import annotations

import pytest
import requests
import responses
from responses import matchers

from hub.engine.sweeper import reconcile_all
from hub.entities import ArchiveChange
from hub.errors import NeedsReauthorization, PermanentError, TemporaryError
from plugins.canditech import verify_webhook
from plugins.canditech.client import (
    CanditechAuthError, CanditechClient, CanditechError, CanditechForbidden, CanditechUnavailable,
)

from .conftest import PYTHON_ANSWERS
from .helpers import BASE_URL, FakeContext, hub_invitation
from .test_webhook_reread import RecordingLimiter, thin_request

ASSESSMENTS = f"{BASE_URL}/v1/assessments"
INVITATIONS = f"{BASE_URL}/v1/invitations"
FORBIDDEN = {"status": 403, "json": {"error": {"code": "forbidden", "message": "not your team's assessment"}}}
REFUSED = {"status": 401, "json": {"error": {"code": "unauthorized", "message": "invalid API key"}}}
DOWN = {"status": 503, "json": {"error": {"code": "service_unavailable", "message": "down"}}}
ONE_PAGE = {"json": {"data": [{"id": "a1", "name": "Python"}], "next_cursor": None}}
WORKS = "(403 Forbidden, although the API key works)"
DATA_STAGE = "stage-canditech-data"


def routes(hub) -> dict:
    return hub.sandbox._call("GET", "/_sandbox/stats")["by_route"]


def status(hub) -> str:
    return hub.runtime.integration(1, "canditech").status


def attach_data_assessment(hub) -> int:
    """A second attachment: Canditech's "Data Analysis" on another stage of the same posting."""
    return hub.attach(assessment_id="asmt-data", assessment_name="Data Analysis", stage_id=DATA_STAGE,
                      stage_name="Canditech Data Stage")


# --------------------------------------------------------------------------- the real hub and the sandbox


def test_a_403_for_one_invitation_with_a_working_key_fails_it_with_why_and_others_are_still_invited(hub):
    attach_data_assessment(hub)
    hub.sandbox.faults(forbidden_assessments=["asmt-python"])
    hub.candidate("opp-2", name="Grace Hopper", email="grace@example.com")

    hub.move("opp-1")
    refused = hub.invitation()
    expected = ("Canditech refused the invitation: this API key may not use assessment asmt-python (injected fault) "
                f"{WORKS}")
    assert refused.status == "failed" and refused.failure_reason == expected
    assert [(s.status, s.reason) for s in hub.source.statuses] == [("failed", expected)]  # mirrored to the ATS
    assert status(hub) != "needs_reauthorization"
    assert routes(hub)["GET /v1/assessments"] == {"200": 1}  # the key check, once

    hub.move("opp-2", stage=DATA_STAGE)  # the plugin's work goes on, with the fault still on
    (other,) = [i for i in hub.invitations() if i.opportunity_id == "opp-2"]
    assert other.status == "invited"
    assert [i["assessment_id"] for i in hub.sandbox.invitations()] == ["asmt-data"]
    assert set(hub.deliveries()) == {"done"}, hub.delivery_list()
    assert status(hub) != "needs_reauthorization"


def test_a_403_with_a_key_refused_everywhere_still_asks_for_reauthorization(hub):
    hub.sandbox.faults(error_rate=1.0, error_codes=[403])
    hub.move()
    hub.sandbox.faults()

    assert hub.invitation().status == "pending"  # not failed: it waits for the key
    assert hub.source.statuses == []
    assert status(hub) == "needs_reauthorization"
    assert routes(hub)["GET /v1/assessments"] == {"403": 1}  # the key check was refused too


def test_an_archive_cancel_canditech_forbids_is_noted_and_its_delivery_dead_not_the_connection(hub):
    hub.move()
    invitation = hub.invitation()
    assert invitation.status == "invited"
    hub.sandbox.faults(forbidden_assessments=["asmt-python"])

    hub.candidate("opp-1", archived=True)
    hub.ingest(ArchiveChange(opportunity_id="opp-1", archived=True))

    assert hub.invitation().status == "invited"  # not pretended cancelled: Canditech did not say
    assert hub.sandbox.invitations()[0]["status"] == "invited"
    (failed,) = [detail for kind, detail in hub.timeline(invitation.id) if kind == "cancel_failed"]
    assert failed == ("Canditech refused to cancel the invitation, and to show its state: this API key may not use "
                      f"assessment asmt-python (injected fault) {WORKS}. Cancel it in Canditech, or replay the "
                      "delivery.")
    (dead,) = [d for d in hub.delivery_list() if d.status == "dead"]
    assert dead.hook == "on_archive_change"
    assert dead.last_error.startswith("CanditechForbidden: Canditech refused this request (403 Forbidden) although "
                                      "the API key works: this API key may not use assessment asmt-python")
    assert status(hub) != "needs_reauthorization"


def test_reconciliation_skips_an_invitation_canditech_forbids_and_finds_the_others(hub):
    attach_data_assessment(hub)
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)
    hub.candidate("opp-2", name="Grace Hopper", email="grace@example.com")
    hub.move("opp-1")
    hub.move("opp-2", stage=DATA_STAGE)
    for remote in hub.sandbox.invitations():
        hub.sandbox.complete(remote["id"], PYTHON_ANSWERS if remote["assessment_id"] == "asmt-python"
                             else {"q1": "a"})
    hub.sandbox.quiet()
    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True, forbidden_assessments=["asmt-python"])

    reconcile_all(hub.runtime)  # the python one's 403 no longer ends the run, nor flags the connection
    hub.wait_for(lambda: hub.source.results, what="the data assessment's result at the source")
    by_opportunity = {i.opportunity_id: i.status for i in hub.invitations()}
    assert by_opportunity == {"opp-1": "invited", "opp-2": "completed"}
    assert routes(hub)["GET /v1/invitations/<invitation_id>"] == {"403": 1, "200": 1}
    assert status(hub) != "needs_reauthorization"

    hub.sandbox.faults(webhook_drop_rate=1.0, webhook_drop_forever=True)  # the permission granted
    reconcile_all(hub.runtime)
    hub.wait_for(lambda: len(hub.source.results) == 2, what="the python assessment's result at the source")
    assert {i.status for i in hub.invitations()} == {"completed"}


# --------------------------------------------------------------------------- the client (no sandbox)


def test_a_403_with_the_key_working_is_that_request_s_alone(rsps, client):
    rsps.add("POST", f"{INVITATIONS}/inv_abc/cancel", **FORBIDDEN)
    rsps.add("GET", ASSESSMENTS, match=[matchers.query_param_matcher({})], **ONE_PAGE)

    with pytest.raises(CanditechForbidden) as caught:
        client.cancel_invitation("inv_abc")
    assert isinstance(caught.value, PermanentError) and not isinstance(caught.value, NeedsReauthorization)
    assert str(caught.value) == ("Canditech refused this request (403 Forbidden) although the API key works: not your "
                                 "team's assessment (POST /v1/invitations/{id}/cancel)")
    assert caught.value.vendor_message == "not your team's assessment" and caught.value.status == 403
    assert [c.request.url for c in rsps.calls] == [f"{INVITATIONS}/inv_abc/cancel", ASSESSMENTS]


@pytest.mark.parametrize("check", [FORBIDDEN, REFUSED], ids=["403", "401"])
def test_a_403_with_the_key_refused_by_the_key_check_too_is_the_key(rsps, client, check):
    rsps.add("GET", f"{INVITATIONS}/inv_abc", **FORBIDDEN)
    rsps.add("GET", ASSESSMENTS, **check)

    with pytest.raises(CanditechAuthError) as caught:
        client.get_invitation("inv_abc")
    assert caught.value.status == check["status"]  # the key check's answer: it is about the key
    assert len(rsps.calls) == 2


def test_a_key_check_that_gets_no_answer_decides_nothing_and_the_create_is_not_sent_again(rsps, client, sleeps):
    rsps.add("POST", INVITATIONS, **FORBIDDEN)
    for _ in range(3):
        rsps.add("GET", ASSESSMENTS, **DOWN)

    with pytest.raises(TemporaryError) as caught:
        client.create_invitation(assessment_id="asmt-python", first_name="Ada", last_name="Lovelace",
                                 email="ada@example.com", external_reference="hub-inv-1-x", callback_url=None)
    assert not isinstance(caught.value, (CanditechUnavailable, PermanentError))
    assert "Whether Canditech refuses the API key or only this request is not known" in str(caught.value)
    assert [c.request.method for c in rsps.calls] == ["POST", "GET", "GET", "GET"]  # the check's own tries


def test_the_key_check_is_asked_once_per_client(rsps, client):
    for invitation in ("inv_1", "inv_2"):
        rsps.add("GET", f"{INVITATIONS}/{invitation}", **FORBIDDEN)
    rsps.add("GET", ASSESSMENTS, **ONE_PAGE)

    for invitation in ("inv_1", "inv_2"):
        with pytest.raises(CanditechForbidden):
            client.get_invitation(invitation)
    assert [c.request.url for c in rsps.calls] == [f"{INVITATIONS}/inv_1", ASSESSMENTS, f"{INVITATIONS}/inv_2"]


def test_the_key_check_is_not_checked_again_and_a_later_page_after_it_is_that_page_s(rsps, ctx):
    """The first page of the assessments is the key check (and the connection test's call): its
    403 is the key's, with no other check. A later page's 403 once the first was answered is that
    page's: the key works, and nothing else is asked."""
    rsps.add("GET", ASSESSMENTS, match=[matchers.query_param_matcher({})], **FORBIDDEN)
    with pytest.raises(CanditechAuthError):
        CanditechClient(ctx).list_assessments()
    assert len(rsps.calls) == 1

    rsps.replace("GET", ASSESSMENTS, match=[matchers.query_param_matcher({})],
                 json={"data": [{"id": "a1", "name": "Python"}], "next_cursor": "c2"})
    rsps.add("GET", ASSESSMENTS, match=[matchers.query_param_matcher({"cursor": "c2"})], **FORBIDDEN)
    with pytest.raises(CanditechForbidden):
        CanditechClient(ctx).list_assessments()
    assert len(rsps.calls) == 3


def test_a_409_whose_lookup_canditech_forbids_is_not_a_refusal_of_the_invitation(rsps, client):
    """A 409 says the invitation exists (its candidate was emailed): it must not be failed as a
    refused one, so the lookup's 403 is a plain ``PermanentError`` (the row stays pending)."""
    rsps.add("POST", INVITATIONS, status=409, json={"error": {"code": "duplicate_external_reference",
                                                              "message": "known reference"}})
    rsps.add("GET", INVITATIONS, **FORBIDDEN)
    rsps.add("GET", ASSESSMENTS, **ONE_PAGE)

    with pytest.raises(PermanentError) as caught:
        client.create_invitation(assessment_id="asmt-python", first_name="Ada", last_name="Lovelace",
                                 email="ada@example.com", external_reference="hub-inv-1-x", callback_url=None)
    assert not isinstance(caught.value, CanditechError)
    assert "so it has it, but looking it up was refused" in str(caught.value)


def test_a_webhook_s_re_read_checks_the_key_with_one_short_try_too(ctx):
    """Canditech waits for the hub's answer: the key check keeps the re-read's budget (one try, a
    short wait for the rate budget), and a re-read Canditech forbids answers 503 (sent again later)."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", f"{INVITATIONS}/inv_abc", **FORBIDDEN)
        rsps.add("GET", ASSESSMENTS, **DOWN)
        rsps.add("GET", ASSESSMENTS, **ONE_PAGE)
        with pytest.raises(TemporaryError, match="checking the key failed"):
            verify_webhook(ctx, thin_request())
        assert len(rsps.calls) == 2  # one try of the re-read, one of the key check

    with responses.RequestsMock() as rsps:
        rsps.add("GET", f"{INVITATIONS}/inv_abc", **FORBIDDEN)
        rsps.add("GET", ASSESSMENTS, **ONE_PAGE)
        with pytest.raises(TemporaryError, match="although the API key works"):
            verify_webhook(ctx, thin_request())
    assert ctx.limiter.timeouts and max(ctx.limiter.timeouts) <= 1.0


@pytest.fixture
def ctx():
    """``conftest``'s fake context (the ``client`` fixture's too), with invitation 7 for the
    webhook test, and a limiter that remembers how long each caller would wait."""
    context = FakeContext(invitations=[hub_invitation(7)])
    context.limiter = RecordingLimiter()
    yield context
    context.close()


def test_the_sandbox_fault_refuses_only_that_assessment(sandbox):
    """``forbidden_assessments``: the key works (the list answers), that assessment's invitations
    are refused 403 (create, read, cancel), another assessment's are not."""
    auth = {"Authorization": "Bearer canditech-sandbox-key"}

    def invite(assessment: str) -> requests.Response:
        return requests.post(f"{sandbox.url}/v1/invitations", headers=auth, timeout=5, json={
            "assessment_id": assessment, "external_reference": f"ref-{assessment}",
            "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}})

    python = invite("asmt-python").json()
    sandbox.faults(forbidden_assessments=["asmt-python"])
    assert requests.get(f"{sandbox.url}/v1/assessments", headers=auth, timeout=5).status_code == 200
    refused = invite("asmt-python")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert requests.get(f"{sandbox.url}/v1/invitations/{python['id']}", headers=auth, timeout=5).status_code == 403
    assert requests.post(f"{sandbox.url}/v1/invitations/{python['id']}/cancel", headers=auth,
                         timeout=5).status_code == 403
    assert invite("asmt-data").status_code == 201
    bad = requests.post(f"{sandbox.url}/_sandbox/faults", json={"forbidden_assessments": "asmt-python"}, timeout=5)
    assert bad.status_code == 400 and "forbidden_assessments" in bad.json()["error"]["message"]
