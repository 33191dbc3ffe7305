"""``ctx.invitations.list_open``: a page at a time by id, ``after_id`` for the next; the
reconciliation of a provider with more open invitations than a page reaches all of them."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub import services
from hub.context import LIST_OPEN_PAGE
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Invitation, utcnow
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder

TOTAL = LIST_OPEN_PAGE + 60  # every 20th completed: more open invitations than a page


@pytest.fixture
def hub(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("assess", Recorder("Assess"))], entry_points=False)
    enable(app, "src", "assess")
    with app.app_context():
        attachment = services.save_attachment(1, dict(
            posting_id="p1", posting_name="Engineer", stage_id="s1", stage_name="Test", provider="assess",
            assessment_id="a1", assessment_name="Python"), "test")
        old = utcnow() - timedelta(hours=2)
        db.session.add_all(Invitation(
            workspace_id=1, attachment_id=attachment.id, opportunity_id=f"opp-{n}", provider="assess",
            assessment_id="a1", assessment_name="Python", status="invited" if n % 20 else "completed",
            provider_invitation_id=f"vendor-{n}", created_at=old) for n in range(TOTAL))
        db.session.commit()
    return app


def list_open(app, **page):
    with app.app_context():
        return get_runtime().context(1, "assess").invitations.list_open("assess", timedelta(hours=1), **page)


def test_pages_by_id_reach_every_open_invitation(hub):
    first = list_open(hub)
    assert len(first) == LIST_OPEN_PAGE and [i.id for i in first] == sorted(i.id for i in first)
    rest = list_open(hub, after_id=first[-1].id)
    every = first + rest
    assert 0 < len(rest) < LIST_OPEN_PAGE and all(i.id > first[-1].id for i in rest)
    assert len(every) == len({i.id for i in every}) == TOTAL - len(range(0, TOTAL, 20))
    assert {i.status for i in every} == {"invited"}


def test_a_smaller_page_and_a_bad_limit(hub):
    assert [i.opportunity_id for i in list_open(hub, limit=2)] == ["opp-1", "opp-2"]
    for limit in (0, LIST_OPEN_PAGE + 1, "10"):
        with pytest.raises(ValueError, match="limit must be a whole number"):
            list_open(hub, limit=limit)
