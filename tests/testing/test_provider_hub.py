"""``hub.testing.ProviderHub``'s admin side: what an admin does in the hub (re-invite, cancel, save
settings, attach another assessment), offered to a provider's hook tests through the public test
kit. Third-party plugins had no public way to do these and ours reached into ``hub.services``.

The plugin here is a toy provider built on ``hub.kit.provider`` that "sends" by recording."""

from __future__ import annotations

import pytest
from marshmallow import Schema, fields

from hub import hookimpl
from hub.entities import ASSESSMENT, IntegrationSpec
from hub.errors import Conflict, ValidationFailed
from hub.kit.provider import candidate_in_stage, pending_reinvite, record_sent, send_once
from hub.testing import ProviderHub, RecordingSource

ATTACHMENT = {"posting_id": "posting-1", "posting_name": "Backend Engineer", "stage_id": "stage-test",
              "stage_name": "Test stage", "assessment_id": "python", "assessment_name": "Python"}


class ToySettings(Schema):
    subject = fields.Str(required=True)
    api_key = fields.Str(required=True)


class ToyProvider:
    """An assessment plugin whose vendor is two lists: ``sent`` (invitation id, round, assessment,
    the ``subject`` setting) and ``cancelled`` (invitation ids its cancel hook heard of)."""

    def __init__(self) -> None:
        self.sent: list[tuple[int, int, str, str]] = []
        self.cancelled: list[int] = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy", settings_schema=ToySettings,
                                 secret_fields=("api_key",)))

    @hookimpl
    def on_stage_change(self, ctx, change):
        found = candidate_in_stage(ctx, change)
        for attachment in found[0] if found else ():
            invitation, _ = ctx.invitations.get_or_create(attachment, found[1])
            send_once(ctx, invitation, found[1], lambda current, email: self._deliver(ctx, current))

    @hookimpl
    def on_reinvite_requested(self, ctx, request):
        found = pending_reinvite(ctx, request)
        if found:
            send_once(ctx, *found, lambda current, email: self._deliver(ctx, current))

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        if progress.status == "cancelled":
            self.cancelled.append(progress.invitation_id)

    def _deliver(self, ctx, invitation):
        self.sent.append((invitation.id, invitation.round, invitation.assessment_id, ctx.settings["subject"]))
        record_sent(ctx, invitation.id, f"toy-{invitation.id}-r{invitation.round}", None)


@pytest.fixture
def toy():
    return ToyProvider()


@pytest.fixture
def hub(make_app, toy):
    source = RecordingSource()
    app = make_app(plugins=[("toy", toy), ("fakesource", source)], entry_points=False)
    settings = {"subject": "Your test", "api_key": "key-1"}
    with ProviderHub.serve(app, "toy", source, settings=settings, attachment=ATTACHMENT) as served:
        yield served


def no_open_transaction() -> bool:
    from hub.extensions import db

    return not db.session().in_transaction()


def invited(hub):
    hub.move("opp-1")
    invitation = hub.invitation()
    assert invitation.status == "invited"
    return invitation


def test_reinvite_runs_the_plugins_reinvite_hook_for_round_2(hub, toy):
    first = invited(hub)
    hub.cancel(first.id)

    again = hub.reinvite(first.id, by="lead@example.com")
    assert no_open_transaction()  # at once: the reads below end their own transactions

    assert (again.id, again.round, again.status) == (first.id, 2, "invited")
    assert again.external_reference != first.external_reference
    assert toy.sent == [(first.id, 1, "python", "Your test"), (first.id, 2, "python", "Your test")]
    assert ("reinvite", "invitation sent again (round 2)") in hub.timeline(first.id)


def test_reinvite_of_an_open_invitation_raises_what_the_admin_is_shown(hub, toy):
    first = invited(hub)
    with pytest.raises(Conflict, match="an invitation that is invited cannot be sent again"):
        hub.reinvite(first.id)
    assert no_open_transaction()
    assert hub.invitation().round == 1 and len(toy.sent) == 1


def test_cancel_runs_the_plugins_cancel_hook(hub, toy):
    first = invited(hub)

    cancelled = hub.cancel(first.id)
    assert no_open_transaction()  # at once: hub.invitation() ends its own transaction

    assert cancelled.status == "cancelled" and hub.invitation().status == "cancelled"
    assert toy.cancelled == [first.id]
    with pytest.raises(Conflict, match="an invitation that is cancelled cannot be cancelled"):
        hub.cancel(first.id)
    assert no_open_transaction() and toy.cancelled == [first.id]


def test_save_settings_changes_what_the_plugin_sees_and_keeps_what_is_not_given(hub, toy):
    hub.save_settings({"subject": "Please take this test"})
    assert no_open_transaction()  # at once: the reads below end their own transactions

    ctx = hub.ctx()
    assert ctx.settings == {"subject": "Please take this test"} and ctx.secrets == {"api_key": "key-1"}
    hub.save_settings(api_key="key-2")
    assert hub.ctx().secrets == {"api_key": "key-2"}
    invited(hub)
    assert toy.sent[0][3] == "Please take this test"


def test_save_settings_the_schema_refuses_saves_nothing(hub):
    with pytest.raises(ValidationFailed) as refused:
        hub.save_settings(subject=12)
    assert set(refused.value.fields) == {"subject"}
    assert no_open_transaction()
    assert hub.ctx().settings == {"subject": "Your test"}


def test_attach_adds_an_attachment_a_move_into_its_stage_invites_for(hub, toy):
    attachment_id = hub.attach(stage_id="stage-final", stage_name="Final", assessment_id="sql",
                               assessment_name="SQL")
    assert attachment_id != hub.attachment_id and no_open_transaction()

    hub.move("opp-1", stage="stage-final")

    (invitation,) = hub.invitations()
    assert (invitation.attachment_id, invitation.assessment_id, invitation.status) == (attachment_id, "sql", "invited")
    assert [(assessment, rnd) for _, rnd, assessment, _ in toy.sent] == [("sql", 1)]


def test_attach_a_second_assessment_to_the_same_stage_and_again_is_refused(hub, toy):
    second = hub.attach(assessment_id="sql", assessment_name="SQL")
    hub.move("opp-1")
    assert sorted((i.attachment_id, i.assessment_id) for i in hub.invitations()) == \
        [(hub.attachment_id, "python"), (second, "sql")]

    with pytest.raises(Conflict, match="already attached"):
        hub.attach(assessment_id="sql", assessment_name="SQL")
    with pytest.raises(ValidationFailed, match="missing: assessment_id, assessment_name"):
        hub.attach(stage_id="stage-final", stage_name="Final")
    assert no_open_transaction()


def test_update_invitation_keeps_the_candidates_search_in_step(hub, toy):
    """``update_invitation`` writes past the ORM: a name or email it changes must change the
    folded ``search_text`` the Candidates search reads (kept by an ORM hook everywhere else)."""
    import sqlalchemy as sa

    from hub.extensions import db
    from hub.store.models import Invitation
    from hub.web.queries import search_matches

    first = invited(hub)
    hub.update_invitation(first.id, candidate_name="Zoë Núñez")

    def found(term):
        ids = list(db.session.scalars(sa.select(Invitation.id).where(search_matches(term))))
        db.session.commit()
        return ids

    assert found("zoe nunez") == [first.id] and found("lovelace") == []
    hub.update_invitation(first.id, candidate_email="ZN@Mail.test", status="cancelled")
    assert found("zn@mail") == [first.id] and found("zoe") == [first.id] and found("ada@example") == []
