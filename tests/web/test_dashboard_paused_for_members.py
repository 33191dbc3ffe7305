"""A Team Member moving candidates in the ATS was told nothing when the hub stopped inviting them
(no ATS enabled, or the attached assessments' provider disabled): only the roles that see the
pipeline had "Needs attention" items. Their Dashboard now says invitations are paused and whom to
ask, without naming postings or stages (found in a walk of every page as each role)."""

from __future__ import annotations

import pytest

from hub import services
from hub.runtime import get_runtime


def _disable(app, seeded, plugin):
    with app.app_context():
        services.set_enabled(get_runtime(), seeded.workspace_id, plugin, False, "test")


def _paused(page: str) -> str:
    assert 'id="attention-paused"' in page, "the Dashboard does not say invitations are paused"
    return page.split('id="attention-paused"', 1)[1].split("</div>", 1)[0]


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_members_are_told_when_no_ats_is_enabled(hub_app, seeded, as_role, role):
    _disable(hub_app, seeded, "fakesource")
    paused = _paused(as_role(role).get("/").get_data(as_text=True))
    assert "No ATS is enabled in the hub now, so candidates moved into a stage with an assessment are not invited." in paused
    assert "Ask a Super Admin to enable or connect it; an Admin or a Super Admin can then invite the candidates moved meanwhile." in paused


def test_members_are_told_when_the_provider_is_disabled(hub_app, seeded, as_role):
    _disable(hub_app, seeded, "fakeassess")
    paused = _paused(as_role("team_member").get("/").get_data(as_text=True))
    assert "Ask a Super Admin to enable or connect it;" in paused
    assert "Fake Tests is disabled, so candidates moved into a stage with one of its assessments are not invited." in paused


def test_nothing_paused_says_nothing_and_admins_keep_their_own_items(hub_app, seeded, as_role):
    with hub_app.app_context():
        services.save_settings(get_runtime(), seeded.workspace_id, "fakeassess", {"api_key": "k"}, "test")
    assert 'id="attention-paused"' not in as_role("team_member").get("/").get_data(as_text=True)
    _disable(hub_app, seeded, "fakesource")
    admin = as_role("admin").get("/").get_data(as_text=True)
    assert 'id="attention-paused"' not in admin and 'id="attention-no-source"' in admin
