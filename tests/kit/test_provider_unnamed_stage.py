"""``hub.kit.provider.candidate_in_stage`` for a stage change that names no stage
(``to_stage_id == ""``: the source said the candidate entered a stage, as Lever's
``applicationCreated`` does): the stage is the one the re-read of the candidate finds, with the
same checks as a named one (the candidate exists, is not archived, is on the attachment's posting)."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from hub import hookimpl
from hub.entities import ASSESSMENT, INVITED, IntegrationSpec, StageChange
from hub.kit.provider import candidate_in_stage, record_sent, send_once
from hub.testing import ProviderHub, RecordingSource
from hub.testing.provider_hub import OTHER_STAGE

ATTACHMENT = {"posting_id": "posting-1", "posting_name": "Backend Engineer", "stage_id": "stage-test",
              "stage_name": "Test stage", "assessment_id": "python", "assessment_name": "Python"}


class InviterSettings(Schema):
    subject = fields.Str(load_default="Your test")


class Inviter:
    """An assessment plugin built on the kit whose vendor is a list of the opportunities it invited."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Inviter", settings_schema=InviterSettings))

    @hookimpl
    def on_stage_change(self, ctx, change):
        found = candidate_in_stage(ctx, change)
        for attachment in found[0] if found else ():
            invitation, _ = ctx.invitations.get_or_create(attachment, found[1])
            send_once(ctx, invitation, found[1], lambda current, email: self._deliver(ctx, current))

    def _deliver(self, ctx, invitation):
        self.sent.append(invitation.opportunity_id)
        record_sent(ctx, invitation.id, f"inv-{invitation.id}", None)


@pytest.fixture
def inviter():
    return Inviter()


@pytest.fixture
def hub(make_app, inviter):
    source = RecordingSource()
    app = make_app(plugins=[("inviter", inviter), ("fakesource", source)], entry_points=False)
    with ProviderHub.serve(app, "inviter", source, settings={"subject": "Your test"}, attachment=ATTACHMENT) as served:
        yield served


def entered_unnamed_stage(hub, opportunity_id: str = "opp-1"):
    return hub.ingest(StageChange(opportunity_id=opportunity_id, to_stage_id=""))


def test_an_unnamed_stage_is_the_candidate_s_current_stage_and_invites_there(hub, inviter):
    hub.candidate("opp-1", stage_id=hub.stage)
    entered_unnamed_stage(hub)
    invitation = hub.invitation()
    assert invitation.status == INVITED and invitation.attachment_id == hub.attachment_id
    assert inviter.sent == ["opp-1"]


@pytest.mark.parametrize("where", ["archived", "unattached stage", "no stage", "other posting", "gone"])
def test_an_unnamed_stage_invites_nobody_the_re_read_rules_out(hub, inviter, where):
    changes = {"archived": dict(stage_id=hub.stage, archived=True),
               "unattached stage": dict(stage_id=OTHER_STAGE),
               "no stage": dict(stage_id=None),
               "other posting": dict(stage_id=hub.stage, posting_id="posting-2")}
    if where != "gone":
        hub.candidate("opp-1", **changes[where])
    entered_unnamed_stage(hub)
    assert hub.invitations() == [] and inviter.sent == []
    assert hub.source.reads == 1  # the stage is the re-read's: the candidate was read, once


def test_a_plugin_with_nothing_attached_does_not_read_the_candidate(hub):
    """The read is what costs (a call to the ATS per provider): a plugin with no attachment
    anywhere answers without it."""
    hub.candidate("opp-1", stage_id=hub.stage)
    unattached = hub.runtime.context(1, "fakesource")  # a plugin of the hub with no attachment
    assert candidate_in_stage(unattached, StageChange(opportunity_id="opp-1", to_stage_id="")) is None
    assert hub.source.reads == 0


@pytest.mark.parametrize("change, where, level", [
    ("named", "unattached stage", "DEBUG"),  # most stage changes: nothing of the plugin is attached there
    ("named", "other posting", "DEBUG"),
    ("unnamed", "unattached stage", "DEBUG"),  # e.g. Lever's applicationCreated, for every new candidate
    ("named", "archived", "INFO"),
    ("named", "gone", "INFO"),
], ids=["named-unattached", "named-other-posting", "unnamed-unattached", "named-archived", "named-gone"])
def test_every_stage_change_that_invites_nobody_says_why_in_the_log(hub, inviter, caplog, change, where, level):
    """The contract says ``None`` is logged: a named stage with no attachment of the plugin, or an
    attachment on another posting only, returned it without a line, the first thing a developer
    checks when nobody is invited."""
    if where != "gone":
        stage = OTHER_STAGE if where == "unattached stage" else hub.stage
        hub.candidate("opp-1", stage_id=stage, archived=where == "archived",
                      **({"posting_id": "posting-2"} if where == "other posting" else {}))
    to_stage = "" if change == "unnamed" else (OTHER_STAGE if where == "unattached stage" else hub.stage)
    caplog.set_level("DEBUG", logger="hub.plugin.inviter")
    hub.ingest(StageChange(opportunity_id="opp-1", to_stage_id=to_stage))
    assert inviter.sent == []
    lines = [r for r in caplog.records if r.name == "hub.plugin.inviter" and "no invitation" in r.getMessage()]
    assert [r.levelname for r in lines] == [level], [r.getMessage() for r in caplog.records]
    assert "opp-1" in lines[0].getMessage()
