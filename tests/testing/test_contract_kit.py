"""``hub.testing.AssessmentPluginContract.make_invitation``: an invitation the hub made, for a
provider's ``signed_webhook`` to name (a completion refers to one). Plugins had no public way to
make one and reached into ``hub.services``.

The plugin here is a toy provider that only registers; the contract object is made by hand (its
class name does not start with ``Test``, so pytest does not run the whole contract for it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub import hookimpl
from hub.entities import ASSESSMENT, Candidate, IntegrationSpec, WebhookRequest
from hub.testing import AssessmentPluginContract, KitSource, enable_plugins
from hub.testing.contract import KIT_SOURCE, _describe_tampering


class ToyProvider:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy"))


class ToyContract(AssessmentPluginContract):
    plugin_name = "toy"


@pytest.fixture
def ctx(make_app):
    from hub.runtime import get_runtime

    app = make_app(plugins=[("toy", ToyProvider()), (KIT_SOURCE, KitSource())], entry_points=False)
    enable_plugins(app, "toy", KIT_SOURCE)
    with app.app_context():
        yield get_runtime().context(1, "toy")


def no_open_transaction() -> bool:
    from hub.extensions import db

    return not db.session().in_transaction()


def test_make_invitation_attaches_to_the_kit_stage_and_returns_the_invited_invitation(ctx):
    invitation = ToyContract().make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-1")

    (attachment,) = ctx.attachments.list(provider="toy")
    assert (attachment.posting_id, attachment.stage_id, attachment.assessment_id) == ("kit-posting", "kit-stage",
                                                                                    "python")
    assert (invitation.attachment_id, invitation.provider, invitation.status, invitation.provider_invitation_id) == \
        (attachment.id, "toy", "invited", "toy-1")
    assert invitation.external_reference.startswith(f"hub-inv-{invitation.id}-")
    assert ctx.invitations.get(invitation.id) == invitation
    assert no_open_transaction()


def test_make_invitation_again_gives_the_same_invitation_and_attaches_once(ctx):
    kit = ToyContract()
    first = kit.make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-1")

    again = kit.make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-1")
    other = kit.make_invitation(ctx, assessment_id="sql")

    assert again.id == first.id and again.external_reference == first.external_reference
    assert sorted(a.assessment_id for a in ctx.attachments.list(provider="toy")) == ["python", "sql"]
    assert (other.id != first.id, other.assessment_id, other.provider_invitation_id) == (True, "sql", None)


def test_make_invitation_in_another_status_for_a_given_candidate(ctx):
    candidate = Candidate(opportunity_id="opp-9", name="Grace Hopper", email="grace@example.com",
                          posting_id="kit-posting")

    completed = ToyContract().make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-9",
                                              status="completed", candidate=candidate)
    pending = ToyContract().make_invitation(ctx, assessment_id="python", status="pending")

    assert (completed.opportunity_id, completed.candidate_email, completed.status) == \
        ("opp-9", "grace@example.com", "completed")
    assert (pending.opportunity_id, pending.status, pending.provider_invitation_id) == \
        ("kit-webhook-opp", "pending", None)


def test_make_invitation_refuses_what_it_cannot_make(ctx):
    kit = ToyContract()
    with pytest.raises(ValueError, match="'done' is not an invitation status"):
        kit.make_invitation(ctx, assessment_id="python", status="done")
    assert ctx.attachments.list(provider="toy") == []

    kit.make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-1", status="completed")
    with pytest.raises(ValueError, match="already exists, completed .* cannot become invited"):
        kit.make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-1")
    with pytest.raises(ValueError, match="cannot become completed with 'toy-2'; give another candidate"):
        kit.make_invitation(ctx, assessment_id="python", provider_invitation_id="toy-2", status="completed")
    assert no_open_transaction()


# --------------------------------------------------------------------------- the stale case
# The default tampered cases include the request as it was sent, received a day after the hub stops
# remembering event ids (``ctx.dedupe_window``): the guide and the hookspec ask ``verify_webhook``
# for a timestamp window, but the kit never checked one, so a plugin without it passed.

SENT = datetime(2030, 1, 2, 3, 4, 5, tzinfo=timezone.utc)


class UndatedToyContract(ToyContract):
    stale_webhook_case = False  # a vendor that signs no time


def valid() -> WebhookRequest:
    return WebhookRequest(body=b'{"id": "evt-1", "type": "ping"}', headers={"X-Signature": "sig", "X-Timestamp": "1"},
                          received_at=SENT, remote_addr="127.0.0.1")


def test_the_default_cases_end_with_the_request_received_after_the_dedupe_window(ctx):
    request = valid()
    cases = ToyContract().tampered_webhooks(ctx, request)

    assert len(cases) == 4
    stale = cases[-1]
    assert (stale.body, dict(stale.headers), stale.remote_addr) == (request.body, dict(request.headers), "127.0.0.1")
    assert stale.received_at == SENT + ctx.dedupe_window + timedelta(days=1)
    assert ctx.dedupe_window >= timedelta(days=7)
    assert "refuse a stale timestamp" in _describe_tampering(request, stale)
    assert _describe_tampering(request, cases[0]) == "body changed"  # the other descriptions unchanged


def test_a_vendor_that_signs_no_time_leaves_the_stale_case_out(ctx):
    request = valid()
    cases = UndatedToyContract().tampered_webhooks(ctx, request)

    assert len(cases) == 3 and all(case.received_at == SENT for case in cases)
