"""``ctx.invitations.transition(..., round=N)`` changes nothing (and returns False) unless the
invitation is still in round N, and ``hub.kit.provider.record_sent`` uses it: an admin's Re-invite
(cancelled, then pending again in the next round) landing between a plugin's read and its write
must not receive the earlier round's vendor id, nor the status that round's read saw."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from hub import hookimpl
from hub.engine.invitations import SETTABLE
from hub.entities import ASSESSMENT, CANCELLED, INVITED, PENDING, IntegrationSpec
from hub.extensions import db
from hub.kit.provider import record_sent
from hub.store.models import Event
from hub.testing import ProviderHub, RecordingSource

ATTACHMENT = {"posting_id": "posting-1", "posting_name": "Backend Engineer", "stage_id": "stage-test",
              "stage_name": "Test stage", "assessment_id": "python", "assessment_name": "Python"}


class RoundSettings(Schema):
    subject = fields.Str(load_default="Your test")


class Creator:
    """An assessment plugin that only creates the row (its sends are made by the tests, by hand),
    and hears of the status changes of its invitations."""

    def __init__(self) -> None:
        self.statuses: list[tuple[int, str]] = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Creator", settings_schema=RoundSettings))

    @hookimpl
    def on_stage_change(self, ctx, change):
        for attachment in ctx.attachments.list(stage_id=change.to_stage_id, provider=ctx.plugin_name):
            ctx.invitations.get_or_create(attachment, ctx.source.get_candidate(change.opportunity_id))

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        self.statuses.append((progress.invitation_id, progress.status))


@pytest.fixture
def creator():
    return Creator()


@pytest.fixture
def hub(make_app, creator):
    source = RecordingSource()
    app = make_app(plugins=[("creator", creator), ("fakesource", source)], entry_points=False)
    with ProviderHub.serve(app, "creator", source, settings={"subject": "Your test"}, attachment=ATTACHMENT) as served:
        yield served


def re_invited(hub):
    """Round 1 cancelled by an admin and re-invited: round 2, pending, not sent (no provider hook)."""
    hub.move()
    first = hub.invitation()
    assert (first.status, first.round) == (PENDING, 1)
    hub.cancel(first.id)
    hub.reinvite(first.id)
    now = hub.invitation()
    assert (now.status, now.round, now.provider_invitation_id) == (PENDING, 2, None)
    return now


def events(hub) -> int:
    count = db.session.scalar(sa.select(sa.func.count()).select_from(Event))
    db.session.commit()
    return count


def test_a_transition_for_another_round_changes_nothing_and_announces_nothing(hub, creator):
    now = re_invited(hub)
    ctx = hub.ctx()
    before = (events(hub), hub.timeline(now.id), list(creator.statuses))

    assert ctx.invitations.transition(now.id, INVITED, round=1, provider_invitation_id="vendor-r1",
                                      invite_url="https://vendor.test/r1") is False
    assert ctx.invitations.transition(now.id, PENDING, round=1, provider_invitation_id="vendor-r1") is False

    assert hub.invitation() == now  # status, round, vendor id and link as they were
    assert (events(hub), hub.timeline(now.id), creator.statuses) == before

    assert ctx.invitations.transition(now.id, INVITED, round=2, provider_invitation_id="vendor-r2") is True
    after = hub.invitation()
    assert (after.status, after.round, after.provider_invitation_id) == (INVITED, 2, "vendor-r2")
    assert creator.statuses[-1] == (now.id, INVITED)


def test_the_round_is_checked_and_never_a_field(hub):
    now = re_invited(hub)
    ctx = hub.ctx()
    assert "round" not in SETTABLE  # the guard's name can never be a field to set
    for wrong in (0, -1, True, "2", 2.0):
        with pytest.raises(ValueError, match="round must be a whole number"):
            ctx.invitations.transition(now.id, INVITED, round=wrong)
    with pytest.raises(ValueError, match="cannot set"):  # a mistake is seen even for another round
        ctx.invitations.transition(now.id, INVITED, round=1, verdict="advance")
    with pytest.raises(LookupError):
        ctx.invitations.transition(now.id + 1000, INVITED, round=1)
    assert hub.invitation() == now


def test_record_sent_gives_no_earlier_round_its_vendor_id(hub):
    """A send of round 1 whose answer comes after the admin cancelled and re-invited."""
    now = re_invited(hub)
    moved_on = record_sent(hub.ctx(), now.id, "vendor-r1", "https://vendor.test/r1", round=1)
    assert moved_on is not None and moved_on.round == 2
    assert hub.invitation() == now  # pending in round 2, without round 1's id: round 2 is sent as its own

    assert record_sent(hub.ctx(), now.id, "vendor-r2", "https://vendor.test/r2", round=2) is None
    sent = hub.invitation()
    assert (sent.status, sent.provider_invitation_id, sent.invite_url) == (INVITED, "vendor-r2", "https://vendor.test/r2")


class ReinvitedAfterRead:
    """``ctx`` whose ``invitations.get`` is followed, once, by an admin's Re-invite: what lands
    between ``record_sent``'s read of the row that moved on and its write."""

    def __init__(self, hub) -> None:
        real, reinvited = hub.ctx().invitations, []

        class Invitations:
            transition = staticmethod(real.transition)

            @staticmethod
            def get(invitation_id):
                found = real.get(invitation_id)
                if not reinvited:
                    reinvited.append(hub.reinvite(invitation_id))
                return found

        self.invitations = Invitations()
        self.reinvited = reinvited


def test_record_sent_keeping_the_id_of_a_row_moved_on_leaves_a_re_invite_alone(hub):
    """The fallback (the row moved on first: keep the vendor's id with a transition to the status
    read) must not move a row re-invited since that read: round 2 would be cancelled, with round
    1's id, by the late answer of round 1's send."""
    hub.move()
    first = hub.invitation()
    hub.cancel(first.id)  # while round 1's send is at the vendor: no id yet
    ctx = ReinvitedAfterRead(hub)

    moved_on = record_sent(ctx, first.id, "vendor-r1", "https://vendor.test/r1")

    assert ctx.reinvited and (moved_on.status, moved_on.round) == (CANCELLED, 1)  # what was read
    now = hub.invitation()
    assert (now.status, now.round, now.provider_invitation_id, now.invite_url) == (PENDING, 2, None, None)
