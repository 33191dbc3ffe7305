"""``ctx.invitations.note(..., refs=...)``: the ids a timeline line is about are stored by
documented key, apart from its words; anything else is the plugin's mistake and raises at once."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Invitation, TimelineEntry
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder


@pytest.fixture
def hub(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("assess", Recorder("Assess"))], entry_points=False)
    enable(app, "src", "assess")
    with app.app_context():
        attachment = services.save_attachment(1, dict(
            posting_id="p1", posting_name="Engineer", stage_id="s1", stage_name="Test", provider="assess",
            assessment_id="a1", assessment_name="Python"), "test")
        row = Invitation(workspace_id=1, attachment_id=attachment.id, opportunity_id="opp-1", provider="assess",
                         assessment_id="a1", assessment_name="Python", status="completed")
        db.session.add(row)
        db.session.commit()
        return app, row.id


def note(app, invitation_id: int, detail: str = "", **kwargs) -> None:
    with app.app_context():
        get_runtime().context(1, "src").invitations.note(invitation_id, "stage_moved", detail, **kwargs)


def stored(app, invitation_id: int) -> list[tuple]:
    """The timeline rows as the database holds them (``refs`` IS NULL read as the column's SQL NULL)."""
    with app.app_context():
        return [tuple(r) for r in db.session.execute(
            sa.select(TimelineEntry.detail, TimelineEntry.refs, TimelineEntry.refs.is_(None))
            .where(TimelineEntry.invitation_id == invitation_id).order_by(TimelineEntry.id))]


def test_refs_are_stored_by_key_apart_from_the_words(hub):
    app, inv = hub
    note(app, inv, "moved to {stage}", refs={"stage": "st-9"})
    note(app, inv, "archived ({archive_reason})", refs={"archive_reason": "r-2", "ats_note": "n-1"})
    assert stored(app, inv) == [("moved to {stage}", {"stage": "st-9"}, False),
                                ("archived ({archive_reason})", {"archive_reason": "r-2", "ats_note": "n-1"}, False)]


def test_a_line_without_refs_stores_sql_null_like_the_rows_written_before_refs(hub):
    app, inv = hub
    note(app, inv, "plain words")
    note(app, inv, "no ids", refs={})
    assert stored(app, inv) == [("plain words", None, True), ("no ids", None, True)]


@pytest.mark.parametrize("refs, message", [
    ({"stage_id": "s1"}, "unknown timeline ref 'stage_id': use one of archive_reason, ats_note, stage"),
    ({"stage": 42}, "timeline ref 'stage' must be a non-empty string id, not 42"),
    ({"ats_note": None}, "timeline ref 'ats_note' must be a non-empty string id, not None"),
    ({"stage": ""}, "timeline ref 'stage' must be a non-empty string id, not ''"),
    ([("stage", "s1")], "timeline refs must be a mapping of key to id, not list"),
])
def test_an_unknown_key_or_a_value_that_is_not_a_string_raises_and_stores_nothing(hub, refs, message):
    app, inv = hub
    with pytest.raises(ValueError) as raised:
        note(app, inv, "moved", refs=refs)
    assert str(raised.value) == message
    assert stored(app, inv) == []


def test_bad_refs_raise_even_for_an_invitation_that_is_not_found(hub):
    """A programming error shows on the first call, not only when the invitation exists."""
    app, _ = hub
    with pytest.raises(ValueError, match="unknown timeline ref"):
        note(app, 2**40, "moved", refs={"posting": "p1"})

