"""A result keeps the pass threshold it was judged by: the attachment's when the result was
recorded. Editing the attachment later changed whether past results had passed on the candidate
page, while the ATS note (written once) kept the old answer."""

from __future__ import annotations

import sqlalchemy as sa

from hub import services
from hub.engine.invitations import apply_event, to_entity
from hub.entities import AssessmentResult
from hub.extensions import db
from hub.store.models import Attachment, Invitation


def _invitation(threshold):
    attachment = Attachment(workspace_id=1, posting_id="p1", posting_name="P", stage_id="s1", stage_name="S",
                            provider="assess", assessment_id="a1", assessment_name="A",
                            options={} if threshold is None else {"pass_threshold": threshold})
    db.session.add(attachment)
    db.session.flush()
    row = Invitation(workspace_id=1, attachment_id=attachment.id, opportunity_id="o1", provider="assess",
                     assessment_id="a1", assessment_name="A", status="invited")
    db.session.add(row)
    db.session.flush()
    return row


def test_the_threshold_is_recorded_with_the_result_and_survives_an_edit(app):
    with app.app_context():
        row = _invitation(60)
        assert row.pass_threshold is None  # no result yet
        assert apply_event(db.session, row, AssessmentResult(invitation_id=row.id, score=70, max_score=100), "assess")
        row.attachment.options = {"pass_threshold": 90}
        db.session.commit()
        assert db.session.get(Invitation, row.id).pass_threshold == 60.0
        assert to_entity(row).pass_threshold == 60.0


def test_no_threshold_then_none_recorded(app):
    with app.app_context():
        row = _invitation(None)
        apply_event(db.session, row, AssessmentResult(invitation_id=row.id, score=70, max_score=100), "assess")
        row.attachment.options = {"pass_threshold": 50}  # added after the result: it was not judged by it
        db.session.commit()
        assert db.session.get(Invitation, row.id).pass_threshold is None


def test_the_migration_gives_existing_results_their_attachments_current_threshold(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'threshold.db'}"}, entry_points=False)
    directory = app.extensions["migrate"].directory
    with app.app_context():
        scored = _invitation(75)
        scored.score, scored.max_score, scored.status = 80.0, 100.0, "completed"
        open_one = Invitation(workspace_id=1, attachment_id=scored.attachment_id, opportunity_id="o2",
                              provider="assess", assessment_id="a1", assessment_name="A", status="invited")
        db.session.add(open_one)
        db.session.commit()
        ids = scored.id, open_one.id
        db.session.remove()
        downgrade(directory=directory, revision="4f1c8a2d6e93")
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            found = dict(connection.execute(sa.text("SELECT id, pass_threshold FROM invitations")).all())
    assert found == {ids[0]: 75.0, ids[1]: None}


def test_a_reinvite_forgets_the_threshold_with_the_result(make_app):
    from hub.runtime import get_runtime
    from tests.support.engine import enable
    from tests.support.plugins import FakeSource, Recorder

    app = make_app(plugins=[("src", FakeSource()), ("assess", Recorder("Assess"))], entry_points=False)
    enable(app, "src", "assess")
    with app.app_context():
        row = _invitation(60)
        apply_event(db.session, row, AssessmentResult(invitation_id=row.id, score=70, max_score=100), "assess")
        db.session.commit()
        assert row.pass_threshold == 60.0
        services.reinvite_invitation(get_runtime(), 1, row.id, "admin@example.com")
        assert db.session.get(Invitation, row.id, populate_existing=True).pass_threshold is None


def test_a_completion_through_transition_records_it_too(app):
    """The plugin guide's way to record a result (``ctx.invitations.transition(id, "completed",
    score=...)``) left the threshold out: the page and the ATS note said nothing of it."""
    from hub.engine.invitations import transition

    with app.app_context():
        row = _invitation(60)
        assert transition(db.session, row, "completed", "assess", score=70, max_score=100)
        db.session.commit()
        assert db.session.get(Invitation, row.id).pass_threshold == 60.0
