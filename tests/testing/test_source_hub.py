"""``hub.testing.SourceHub``: a served hub for a source (ATS) plugin's tests, the counterpart of
``ProviderHub``. A source plugin's developer had to serve the app by hand and set its
``PUBLIC_URL``, and could follow the story no further than the hub's answer to their webhook:
no provider stood in to invite the candidate, nothing reported a result or a verdict to see their
write-back hooks run.

The plugin here is a toy ATS whose "sandbox" is an object in the test: ``ToyAts.move`` changes a
candidate's stage and sends the signed webhook to the hub, as an ATS's would."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import uuid

import pytest
from marshmallow import Schema, fields

from hub import hookimpl
from hub.entities import (
    SOURCE, Candidate, InboundEvent, IntegrationSpec, Posting, Stage, StageChange, WebhookResult,
)
from hub.errors import HubError, PermanentError, ValidationFailed, WebhookRejected
from hub.testing import RecordingProvider, SourceHub

SECRET = "toy-secret"


def _sign(secret: str, body: bytes) -> dict:
    return {"X-Signature": hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


class ToySettings(Schema):
    webhook_secret = fields.Str(required=True)


class ToyAts:
    """A source plugin and its ATS: ``candidates`` by opportunity id, ``notes`` it wrote to them."""

    def __init__(self) -> None:
        self.candidates = {"opp-1": Candidate(opportunity_id="opp-1", name="Sam Sample", email="sam@example.com",
                                              posting_id="posting-1", stage_id="stage-applied")}
        self.notes: dict[str, list[str]] = {}
        self.statuses: list = []
        self.hub: SourceHub | None = None
        self.secret = SECRET  # what the ATS signs with
        self.write_fails = False
        self.reads_fail = False

    # ---- the ATS's side
    def move(self, opportunity_id: str, stage_id: str, *, secret: str | None = None):
        """A recruiter moves the candidate; the ATS's signed webhook goes to the hub: its answer."""
        from dataclasses import replace

        self.candidates[opportunity_id] = replace(self.candidates[opportunity_id], stage_id=stage_id)
        body = json.dumps({"id": uuid.uuid4().hex, "type": "stage_change", "opportunity_id": opportunity_id,
                           "to_stage_id": stage_id}).encode()
        return self.hub.send_webhook(body, _sign(secret or self.secret, body))

    # ---- the plugin
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Toy ATS", settings_schema=ToySettings,
                                 secret_fields=("webhook_secret",), attachment_options=("move_to_stage_on_thumbs_up",)))

    @hookimpl
    def verify_webhook(self, ctx, request):
        expected = hmac.new(ctx.secrets["webhook_secret"].encode(), request.body, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.header("X-Signature") or ""):
            raise WebhookRejected("signature does not match", status=401)
        body = json.loads(request.body)
        change = StageChange(opportunity_id=body["opportunity_id"], to_stage_id=body["to_stage_id"])
        return WebhookResult(events=(InboundEvent(external_id=body["id"], event=change),))

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        return self.candidates.get(opportunity_id)

    @hookimpl
    def source_list_postings(self, ctx):
        if self.reads_fail:
            raise PermanentError("Toy ATS answered 403 Forbidden to GET /postings")
        return [Posting(id="posting-1", title="Backend Engineer", state="published")]

    @hookimpl
    def source_list_stages(self, ctx, posting_id):
        return [Stage(id="stage-applied", name="Applied"), Stage(id="stage-test", name="Test"),
                Stage(id="stage-interview", name="Interview")]

    @hookimpl
    def on_assessment_completed(self, ctx, result):
        if self.write_fails:
            raise PermanentError("Toy ATS answered 400 Bad Request to POST /notes")
        invitation = ctx.invitations.get(result.invitation_id)
        self.notes.setdefault(invitation.opportunity_id, []).append(
            f"{invitation.assessment_name}: {result.score:g}/{result.max_score:g}")

    @hookimpl
    def on_verdict(self, ctx, verdict):
        from dataclasses import replace

        invitation = ctx.invitations.get(verdict.invitation_id)
        self.notes.setdefault(invitation.opportunity_id, []).append(f"verdict: {verdict.verdict}")
        move_to = ctx.attachments.get(invitation.attachment_id).options.get("move_to_stage_on_thumbs_up")
        if verdict.verdict == "thumbs_up" and move_to:
            candidate = self.candidates[invitation.opportunity_id]
            self.candidates[invitation.opportunity_id] = replace(candidate, stage_id=move_to)


@pytest.fixture
def ats():
    return ToyAts()


@pytest.fixture
def hub(make_app, ats):
    provider = RecordingProvider()
    app = make_app(plugins=[("toy", ats), ("fakeprovider", provider)], entry_points=False)
    with SourceHub.serve(app, "toy", provider, settings={"webhook_secret": SECRET}) as served:
        ats.hub = served
        yield served


def test_the_story_a_webhook_invites_and_the_result_and_verdict_are_written_back(hub, ats):
    assert re.fullmatch(rf"{re.escape(hub.url)}/webhooks/toy/[^/]+", hub.webhook_url)
    attachment_id = hub.attach("posting-1", "stage-test", options={"move_to_stage_on_thumbs_up": "stage-interview"})

    answer = ats.move("opp-1", "stage-test")
    assert answer.status_code == 200, answer.text
    invitation = hub.wait_for_invitation("opp-1")
    assert (invitation.status, invitation.attachment_id, invitation.candidate_email) == (
        "invited", attachment_id, "sam@example.com")
    assert [(r.invitation_id, r.email, r.assessment_id) for r in hub.provider.invites] == [
        (invitation.id, "sam@example.com", "fake-assessment")]
    assert invitation.provider_invitation_id == f"fake-{invitation.id}-r1"

    done = hub.complete(invitation, score=7, max_score=10)
    assert [(d.hook, d.status) for d in done] == [("on_assessment_completed", "done")]
    assert ats.notes["opp-1"] == ["Fake assessment: 7/10"]
    assert hub.invitation().status == "completed"

    hub.verdict(invitation, "thumbs_up")
    assert ats.notes["opp-1"][-1] == "verdict: thumbs_up"
    assert ats.candidates["opp-1"].stage_id == "stage-interview"
    assert [(d.hook, d.event_type, d.status) for d in hub.delivery_list()] == [
        ("on_assessment_completed", "assessment_completed", "done"), ("on_verdict", "verdict", "done")]
    assert [type(e).__name__ for e in hub.provider.events] == ["StageChange"]


def test_a_wrong_signature_is_said_by_the_failure(hub, ats):
    hub.attach("posting-1", "stage-test")
    answer = ats.move("opp-1", "stage-test", secret="another-secret")  # rotated at the ATS, say
    assert answer.status_code == 401

    with pytest.raises(AssertionError) as failed:
        hub.wait_for_invitation("opp-1", timeout=0.1)
    assert str(failed.value) == ("no invitation yet for opportunity opp-1: the webhook was answered 401 (rejected): "
                                 "signature does not match")
    assert hub.invitations() == [] and hub.provider.invites == []


def test_no_webhook_at_all_names_the_url_it_should_have_reached(hub):
    with pytest.raises(AssertionError, match=r"no invitation yet for opportunity opp-1: the hub received no "
                                             r"webhook for toy \(its URL: http://127\.0\.0\.1:\d+/webhooks/toy/"):
        hub.wait_for_invitation("opp-1", timeout=0.1)


def test_why_the_provider_invited_no_one_is_said(hub, ats):
    ats.move("opp-1", "stage-test")
    with pytest.raises(AssertionError, match="the provider invited no one: nothing is attached to any stage: "
                                             r"attach\(posting_id, stage_id\) first"):
        hub.wait_for_invitation("opp-1", timeout=0.1)

    hub.attach("posting-1", "stage-test")
    ats.move("opp-1", "stage-interview")
    with pytest.raises(AssertionError, match="the stage change named stage 'stage-interview', and nothing is "
                                             "attached there"):
        hub.wait_for_invitation("opp-1", timeout=0.1)

    # the webhook names the test stage, but the ATS has the candidate elsewhere (a stale change)
    body = json.dumps({"id": "evt-stale", "type": "stage_change", "opportunity_id": "opp-1",
                       "to_stage_id": "stage-test"}).encode()
    assert hub.send_webhook(body, _sign(SECRET, body)).status_code == 200
    with pytest.raises(AssertionError, match="says the candidate is in 'stage-interview': a stale change"):
        hub.wait_for_invitation("opp-1", timeout=0.1)

    ats.move("opp-1", "stage-test")
    assert hub.wait_for_invitation("opp-1").status == "invited"


def test_a_write_back_that_fails_is_said_with_what_the_hook_raised(hub, ats):
    hub.attach("posting-1", "stage-test")
    ats.move("opp-1", "stage-test")
    invitation = hub.wait_for_invitation("opp-1")
    ats.write_fails = True

    with pytest.raises(AssertionError) as failed:
        hub.complete(invitation, score=3, max_score=10)
    said = str(failed.value)
    assert said.startswith(f"toy's on_assessment_completed did not succeed for the result of invitation "
                           f"{invitation.id}: its delivery ") and " is dead after 1 attempt: " in said, said
    assert "Toy ATS answered 400 Bad Request to POST /notes" in said
    assert hub.invitation().status == "completed"  # the hub recorded it all the same

    with pytest.raises(AssertionError, match=rf"did not take the result of invitation {invitation.id}: nothing "
                                             r"changed \(the invitation is completed"):
        hub.complete(invitation, score=3, max_score=10)
    [delivery] = hub.verdict(invitation, "thumbs_down", check=False)
    assert delivery.status == "done"


def test_a_hook_the_plugin_does_not_implement_is_said(hub, ats):
    hub.attach("posting-1", "stage-test")
    ats.move("opp-1", "stage-test")
    invitation = hub.wait_for_invitation("opp-1")
    with pytest.raises(AssertionError, match="toy does not implement on_invitation_status: the hub recorded the "
                                             "status 'started' of invitation"):
        hub.progress(invitation, "started")
    assert hub.invitation().status == "started"
    assert hub.progress(invitation.id, "expired", check=False) == []


def test_attach_reads_the_names_from_the_plugin_and_refuses_what_it_does_not_know(hub, ats):
    from hub.extensions import db
    from hub.store.models import Attachment

    attachment_id = hub.attach("posting-1", "stage-test")
    row = db.session.get(Attachment, attachment_id)
    assert (row.posting_name, row.stage_name, row.provider, row.assessment_name) == (
        "Backend Engineer", "Test", "fakeprovider", "Fake assessment")
    db.session.commit()

    with pytest.raises(ValidationFailed) as refused:
        hub.attach("posting-9", "stage-test")
    assert refused.value.message == ("some choices are not valid: posting_id: This posting does not exist (any "
                                     "more) at the source.")
    with pytest.raises(ValidationFailed) as refused:  # the spec names move_to_stage_on_thumbs_up only
        hub.attach("posting-1", "stage-interview", options={"tag_results": True})
    assert refused.value.message == ("some choices are not valid: tag_results: Toy ATS does not act on this option: "
                                     "leave it out.")
    ats.reads_fail = True
    with pytest.raises(HubError) as failed:
        hub.attach("posting-1", "stage-interview")
    assert failed.value.message == "Toy ATS answered 403 Forbidden to GET /postings"  # named once, as on the page
    assert not db.session().in_transaction()


def test_the_docstrings_example_is_the_scaffolds_fixture():
    import hub.testing.source_hub as source_hub
    from hub.cli.scaffold import render_plugin

    example = re.search(r"```python\n(.*?)```", source_hub.__doc__, re.S).group(1)
    generated = render_plugin("acme", "source")["tests/test_webhooks.py"]
    assert "def hub(tmp_path, sandbox_url):" in example and example in generated


def test_the_guide_gives_source_hubs_signatures():
    from tests.testing.test_kit_docs import _section, plain_signature

    kit = _section("The test kit (`hub.testing`)")
    for name in ("attach", "wait_for_invitation", "complete", "verdict", "progress", "send_webhook"):
        assert f"`{name}{plain_signature(getattr(SourceHub, name))}`" in kit, name
    assert f"`SourceHub.serve{plain_signature(SourceHub.serve)}`" in kit
