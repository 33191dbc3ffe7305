"""The texts an admin reads beyond the connection test (the status line after reconciling, an
invitation's failure reason, its timeline's cancel notes) name the HTTP status of an answer that
is not Canditech's JSON error (a web server's HTML page at a wrong base URL), as the connection
test does: they said "Canditech ...: an HTML page, not its API's JSON: ..." without it.
Canditech's own JSON error keeps its message as it was."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
import responses

from hub.entities import INVITED
from plugins.canditech import invite
from plugins.canditech.client import CanditechClient, CanditechRejected
from plugins.canditech.reconciliation import reconcile
from tests.support.html_server import HTML_404, html_404_server

from .helpers import BASE_URL, FakeContext, FakeRecords, hub_invitation, wire_invitation

SAID = "an HTML page, not its API's JSON: check the API base URL"
HTML_401 = HTML_404.replace("404 Not Found", "401 Unauthorized").replace("Not Found", "Unauthorized")
HTML_400 = HTML_404.replace("404 Not Found", "400 Bad Request").replace("Not Found", "Bad Request")


def url(provider_id: str) -> str:
    return f"{BASE_URL}/v1/invitations/{provider_id}"


# --------------------------------------------------------------------------- reconciliation


@pytest.fixture
def ctx():
    context = FakeContext()
    context.records = FakeRecords()
    context.statuses = []
    context.notes = []
    context.set_status = lambda status, message=None: context.statuses.append((status, message))
    open_one = hub_invitation(1, status=INVITED, provider_invitation_id="inv_1",
                              created_at=datetime.now(timezone.utc) - timedelta(days=2))
    context.invitations.rows[1] = open_one
    context.invitations.list_open = lambda provider, older_than, **page: [open_one]
    context.invitations.note = lambda invitation_id, kind, detail: context.notes.append((kind, detail))
    yield context
    context.close()


def test_a_401_html_page_while_reconciling_keeps_its_status_on_the_status_line(ctx):
    """It said "Canditech refused the API key while reconciling: an HTML page, not its API's JSON:
    check the API base URL. Enter a new key ...": no status."""
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_1"), status=401, body=HTML_401, content_type="text/html")
        assert reconcile(ctx) == []
    assert ctx.statuses == [(
        "needs_reauthorization",
        f"While reconciling, Canditech answered 401 Unauthorized with {SAID}. Correct the API base URL or enter "
        "a new key in the settings, and save.")]


@pytest.mark.parametrize("status, body, said", [
    (403, "", "Canditech answered 403 Forbidden with an empty body"),  # its words were "HTTP 403"
    (401, "key expired", "Canditech answered 401 Unauthorized: “key expired”"),
])
def test_any_other_answer_to_the_key_is_worded_with_its_status(ctx, status, body, said):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add("GET", url("inv_1"), status=status, body=body, content_type="text/plain")
        # a 403 is the key's only when the key check is refused too (``test_forbidden.py``)
        rsps.add("GET", f"{BASE_URL}/v1/assessments", status=status, body=body, content_type="text/plain")
        reconcile(ctx)
    ((flag, message),) = ctx.statuses
    assert flag == "needs_reauthorization" and message.startswith(f"While reconciling, {said}. ")


def test_canditech_s_own_refusal_of_the_key_keeps_its_message(ctx):
    with responses.RequestsMock() as rsps:
        rsps.add("GET", url("inv_1"), status=401,
                 json={"error": {"code": "unauthorized", "message": "invalid API key"}})
        reconcile(ctx)
    assert ctx.statuses == [("needs_reauthorization", "Canditech refused the API key while reconciling: invalid API "
                                                      "key. Enter a new key in the settings and save.")]


# --------------------------------------------------------------------------- a refused cancel


@pytest.mark.parametrize("remote_status, kind, said", [
    ("completed", "cancel_skipped",
     f"not cancelled at Canditech: it is already completed there (Canditech answered 400 Bad Request with {SAID})"),
    ("invited", "cancel_failed",
     f"The invitation was not cancelled at Canditech, where it is still invited: Canditech answered 400 Bad Request "
     f"with {SAID}. Cancel it in Canditech, or replay the delivery."),
])
def test_a_cancel_refused_with_an_html_page_is_noted_with_its_status(ctx, remote_status, kind, said):
    """The notes said "(an HTML page, not its API's JSON: ...)" and "...: an HTML page, ...": no status."""
    invitation = ctx.invitations.rows[1]
    with responses.RequestsMock() as rsps:
        rsps.add("POST", f"{url('inv_1')}/cancel", status=400, body=HTML_400, content_type="text/html")
        rsps.add("GET", url("inv_1"), json=wire_invitation(id="inv_1", status=remote_status))
        if remote_status == "completed":
            assert invite._withdraw(ctx, CanditechClient(ctx), invitation, "inv_1") is False
        else:
            with pytest.raises(CanditechRejected):
                invite._withdraw(ctx, CanditechClient(ctx), invitation, "inv_1")
    assert ctx.notes == [(kind, said)]


def test_a_cancel_canditech_refuses_with_its_json_keeps_its_message(ctx):
    invitation = ctx.invitations.rows[1]
    with responses.RequestsMock() as rsps:
        rsps.add("POST", f"{url('inv_1')}/cancel", status=422,
                 json={"error": {"code": "invalid_state", "message": "invitation cannot be cancelled"}})
        rsps.add("GET", url("inv_1"), json=wire_invitation(id="inv_1", status="invited"))
        with pytest.raises(CanditechRejected):
            invite._withdraw(ctx, CanditechClient(ctx), invitation, "inv_1")
    assert ctx.notes == [("cancel_failed", "Canditech refused to cancel the invitation, which is still invited there: "
                                           "invitation cannot be cancelled. Cancel it in Canditech, or replay the "
                                           "delivery.")]


# --------------------------------------------------------------------------- a refused invitation


def test_an_invitation_sent_to_a_web_server_s_404_page_fails_with_the_status(hub):
    """A wrong base URL: the lookup before the create meets a web server's 404 page. The reason was
    "Canditech refused the invitation: an HTML page, not its API's JSON: ...": no status."""
    expected = f"The invitation was not sent: Canditech answered 404 Not Found with {SAID}"
    with html_404_server() as html_server:
        hub.save_settings(base_url=html_server, api_key="canditech-sandbox-key")  # a new address: the key again
        hub.move()

    inv = hub.invitation()
    assert inv.status == "failed" and inv.failure_reason == expected
    assert [(s.status, s.reason) for s in hub.source.statuses] == [("failed", expected)]  # mirrored
    assert hub.sandbox.invitations() == []


def test_the_email_is_scrubbed_from_a_quoted_plain_text_refusal(hub, monkeypatch):
    """A short plain text is quoted in the client's sentence: the address is scrubbed from it too."""
    def refuse(self, **fields):
        raise CanditechRejected(422, "http_422", "ADA@example.com bounced", None,
                                "Canditech answered 422 Unprocessable Content: “ADA@example.com bounced”")

    monkeypatch.setattr(CanditechClient, "create_invitation", refuse)
    hub.move()

    inv = hub.invitation()
    assert inv.status == "failed"
    assert inv.failure_reason == "The invitation was not sent: Canditech answered 422 Unprocessable Content: " \
                                 "“<email> bounced”"
