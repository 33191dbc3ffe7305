"""The Pipeline's "Invite candidates already in stage" link said whom it invites ("the candidates
who are in “Stage 1” without an invitation") in its ``title`` tooltip alone (a keyboard and
screen-reader walk: see ``test_a11y_activity_titles``). It is now the link's description too
(``aria-describedby``), which screen readers read with the link whatever they make of a title."""

from __future__ import annotations

import pytest

from hub import services
from hub.runtime import get_runtime
from tests.web.a11y_activity_dom import parse, reachable_elsewhere
from tests.web.test_backfill import InvitingAssess, StageSource


@pytest.fixture
def fakes():  # a source able to list a stage's candidates: the Pipeline offers the backfill
    return StageSource(), InvitingAssess()


def test_the_backfill_link_s_tooltip_is_its_description(hub_app, seeded, as_role):
    with hub_app.app_context():
        services.save_settings(get_runtime(), seeded.workspace_id, "fakeassess", {"api_key": "k"}, "test")
    doc = parse(as_role("admin").get("/pipeline").get_data(as_text=True))
    links = [a for a in doc.find_all("a") if (a.attrs.get("id") or "").startswith("backfill-")]
    assert links, "the Pipeline offers the backfill"
    for link in links:
        assert reachable_elsewhere(doc, link) == "aria-describedby", link.attrs
        (described,) = link.attrs["aria-describedby"].split()
        assert doc.by_id(described).whole_text() == link.attrs["title"]
        assert "hidden" in doc.by_id(described).attrs  # read with the link, not again after it
