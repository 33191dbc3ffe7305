"""A 403 page names whom to ask from the permission table: only the roles that hold the permission
of the page refused (a Team Member refused API tokens is told to ask a Super Admin, not an Admin)."""

from __future__ import annotations

import re

import pytest

from hub.web.permissions import PERMISSIONS


def _next_step(response) -> str:
    assert response.status_code == 403
    return re.search(r'<p id="error-next-step">(.*?)</p>', response.get_data(as_text=True), re.S).group(1)


@pytest.mark.parametrize("role, label", [("team_member", "Team Member"), ("limited_team_member", "Limited Team Member")])
def test_api_tokens_name_only_a_super_admin(as_role, role, label):
    assert PERMISSIONS["api_tokens.manage"] == {"super_admin"}
    step = _next_step(as_role(role).get("/settings/api-tokens"))
    assert step == f"You are signed in as {label}. If you need this, ask a Super Admin of your hub."


def test_the_holders_of_the_permission_are_named(as_role, seeded):
    member = as_role("team_member")
    # integrations.view, users.view, pipeline.view...: Admins and Super Admins
    for path in ("/integrations", "/users", "/pipeline", "/audit"):
        assert _next_step(member.get(path)).endswith("ask an Admin or a Super Admin of your hub."), path
    # integrations.manage: a Super Admin only, for an Admin and for a Team Member alike
    for role in ("admin", "team_member"):
        assert _next_step(as_role(role).post("/integrations/fakesource/disable")).endswith(
            "ask a Super Admin of your hub."), role
    # a Limited Team Member refused re-invite (invitations.manage) is sent to an Admin or a Super Admin
    refused = as_role("limited_team_member").post(f"/candidates/{seeded.ids['invitation']}/reinvite")
    assert _next_step(refused).endswith("ask an Admin or a Super Admin of your hub.")
