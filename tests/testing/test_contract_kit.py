"""``hub.testing.AssessmentPluginContract.make_invitation``: an invitation the hub made, for a
provider's ``signed_webhook`` to name (a completion refers to one). Plugins had no public way to
make one and reached into ``hub.services``.

The plugin here is a toy provider that only registers; the contract object is made by hand (its
class name does not start with ``Test``, so pytest does not run the whole contract for it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from marshmallow import EXCLUDE, INCLUDE, Schema, ValidationError, fields, validates_schema

from hub import hookimpl
from hub.entities import (
    ASSESSMENT, SOURCE, ArchiveChange, Candidate, CandidateDeleted, CandidateHired, InboundEvent, IntegrationSpec,
    StageChange, WebhookRequest, WebhookResult,
)
from hub.errors import WebhookRejected
from hub.testing import AssessmentPluginContract, KitSource, SourcePluginContract, enable_plugins
from hub.testing.contract import KIT_SOURCE, _describe_tampering, check_event_ids


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


# --------------------------------------------------------------------------- settings: unknown fields
# The check loaded {"certainly_not_a_setting": 1}: a schema with a required field refused it for the
# missing field, so a schema taking unknown fields (``unknown = "include"``) passed.

class StrictSettings(Schema):
    base_url = fields.Str(required=True)
    api_key = fields.Str(required=True)


class IncludingSettings(StrictSettings):
    class Meta:
        unknown = INCLUDE


class ExcludingSettings(StrictSettings):
    class Meta:
        unknown = EXCLUDE


class SettingsToy:
    def __init__(self, schema):
        self.schema = schema

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy", settings_schema=self.schema,
                                 secret_fields=("api_key",)))


def _unknown_fields_check(make_app, schema) -> None:
    app = make_app(plugins=[("toy", SettingsToy(schema))], entry_points=False)
    ToyContract().test_contract_settings_schema_rejects_unknown_fields(app)


def test_a_schema_with_required_fields_that_refuses_unknown_ones_passes(make_app):
    _unknown_fields_check(make_app, StrictSettings)


@pytest.mark.parametrize("schema, said", [
    (IncludingSettings, "IncludingSettings().load accepted an unknown field ('certainly_not_a_setting')"),
    (ExcludingSettings, "ExcludingSettings().load accepted an unknown field ('certainly_not_a_setting')"),
])
def test_a_schema_with_required_fields_that_takes_unknown_ones_fails(make_app, schema, said):
    with pytest.raises(pytest.fail.Exception) as failed:
        _unknown_fields_check(make_app, schema)
    assert said in str(failed.value) and "unknown=RAISE" in str(failed.value)


class RefusingForAnotherReason(StrictSettings):
    class Meta:
        unknown = EXCLUDE

    @validates_schema
    def never(self, data, **kwargs):
        raise ValidationError("never valid")


def test_a_schema_refusing_the_load_for_another_reason_fails_naming_what_it_said(make_app):
    with pytest.raises(pytest.fail.Exception) as failed:
        _unknown_fields_check(make_app, RefusingForAnotherReason)
    assert "but not for the unknown field: it said {'_schema': ['never valid']}" in str(failed.value)


# --------------------------------------------------------------------------- events' opportunity ids
# A scaffolded source turned a webhook without ids into StageChange(opportunity_id='None',
# to_stage_id='None') (``str(None)``), and the kit's webhook test passed.

class EventToySource:
    """A source whose ``verify_webhook`` returns ``events``, whatever the request."""

    def __init__(self):
        self.events: list = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Toy ATS"))

    @hookimpl
    def verify_webhook(self, ctx, request):
        if self.events == "crash":  # the walk-through's mistake: no header, AttributeError on None
            if request.header("X-Signature").strip() == "sig" and request.body == b'{"id": "evt-1"}':
                return WebhookResult(ping=True)  # the untampered request: the kit checks it is accepted first
            raise WebhookRejected("signature does not match", status=401)
        return WebhookResult(events=tuple(InboundEvent(external_id=f"evt-{n}", event=event)
                                          for n, event in enumerate(self.events)))


class EventToyContract(SourcePluginContract):
    plugin_name = "toyats"
    stale_webhook_case = False

    def signed_webhook(self, ctx):
        return WebhookRequest(body=b'{"id": "evt-1"}', headers={"X-Signature": "sig"},
                              received_at=datetime.now(timezone.utc))


@pytest.fixture
def toy_source(make_app):
    source = EventToySource()
    app = make_app(plugins=[("toyats", source)], entry_points=False)
    enable_plugins(app, "toyats")
    return app, source


NO_ID = ("None", "")


@pytest.mark.parametrize("event", [
    *(StageChange(opportunity_id=missing, to_stage_id="stage-1") for missing in NO_ID),
    *(ArchiveChange(opportunity_id=missing) for missing in NO_ID),
    *(CandidateDeleted(opportunity_id=missing) for missing in NO_ID),
    *(CandidateHired(opportunity_id=missing) for missing in NO_ID),
], ids=lambda event: f"{type(event).__name__}-{event.opportunity_id or 'empty'}")
def test_the_webhook_test_fails_an_event_without_an_opportunity_id(toy_source, event):
    app, source = toy_source
    source.events = [StageChange(opportunity_id="opp-1", to_stage_id="stage-1"), event]
    with pytest.raises(AssertionError) as failed:
        EventToyContract().test_contract_signed_webhook_parses_into_hub_events(app)
    said = str(failed.value)
    assert f"{type(event).__name__}.opportunity_id is {event.opportunity_id!r}" in said
    assert "WebhookRejected(..., status=422)" in said


def test_the_webhook_test_fails_a_stage_change_to_stage_none(toy_source):
    app, source = toy_source
    source.events = [StageChange(opportunity_id="opp-1", to_stage_id="None")]
    with pytest.raises(AssertionError, match=r"StageChange.to_stage_id is 'None'. Give it the stage the webhook "
                                             r"names, or \"\" when it names none"):
        EventToyContract().test_contract_signed_webhook_parses_into_hub_events(app)


def test_the_webhook_test_passes_events_naming_their_candidate(toy_source):
    app, source = toy_source
    source.events = [StageChange(opportunity_id="opp-1", to_stage_id=""),  # no stage named: the current one
                     ArchiveChange(opportunity_id="opp-1", reason="r-1"), CandidateDeleted(opportunity_id="opp-2"),
                     CandidateHired(opportunity_id="opp-3")]
    EventToyContract().test_contract_signed_webhook_parses_into_hub_events(app)
    for event in source.events:
        assert check_event_ids(event) is event


# --------------------------------------------------------------------------- a crash on a tampered webhook
# A plugin raising something else than WebhookRejected for a tampered webhook failed the kit's test
# with that bare exception (AttributeError...), never saying which tampered case it was.

def test_a_crash_on_a_tampered_webhook_names_the_case_and_what_to_raise(toy_source):
    app, source = toy_source
    source.events = "crash"
    with pytest.raises(AssertionError) as failed:
        EventToyContract().test_contract_tampered_webhooks_are_rejected(app)
    said = str(failed.value)
    assert said.startswith("verify_webhook raised AttributeError ('NoneType' object has no attribute 'strip') for "
                           "tampered webhook 3 (headers changed): it must raise WebhookRejected with a 4xx status "
                           "for it"), said
    assert isinstance(failed.value.__cause__, AttributeError)  # the plugin's own traceback is shown with it
