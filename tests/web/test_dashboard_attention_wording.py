"""The Dashboard's words by what is true and by what the role sees (a walk-through): an ATS that
is connected but disabled is "not enabled", not "not connected", in the words of its card; a
Limited Team Member's counts say they are of their postings only; and the subtitle promises the
connections only to those who see them."""

from __future__ import annotations

import re
from html import unescape

from hub.extensions import db
from hub.runtime import get_runtime


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


def _alert(html: str) -> str:
    return re.search(r'id="attention-no-source">(.*?)</div>', html, re.S).group(1)


def _connect(hub_app) -> None:
    with hub_app.app_context():
        get_runtime().integration(1, "fakesource").status = "connected"
        db.session.commit()


def test_a_connected_ats_that_is_disabled_is_not_enabled(hub_app, seeded, as_role):
    _connect(hub_app)
    owner = as_role("super_admin")
    owner.post("/integrations/fakesource/disable")
    html = owner.get("/").get_data(as_text=True)
    assert 'id="connection-status-fakesource" data-status="connected">Connected<' in html  # its card
    alert = _alert(html)
    text = _text(alert)
    assert text.startswith("No ATS is enabled: Fake ATS (Connection: Connected) is disabled in the hub, so no "
                           "candidate's stage change reaches the hub, and the ")
    assert text.endswith(" attached assessments invite nobody. Enable Fake ATS in Integrations.")
    assert "No ATS is connected" not in html
    assert 'href="/integrations/fakesource"' in alert
    admin = _text(_alert(as_role("admin").get("/").get_data(as_text=True)))
    assert admin.endswith("invite nobody. A Super Admin can enable it in Integrations.")


def test_a_revoked_ats_is_not_connected(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    assert owner.post("/integrations/fakesource/revoke").status_code in (200, 302)
    text = _text(_alert(owner.get("/").get_data(as_text=True)))
    assert text.startswith("No ATS is connected: Fake ATS's access was revoked (Connection: Access revoked), so no "
                           "candidate's stage change reaches the hub, and the ")
    assert text.endswith(" attached assessments invite nobody. Connect Fake ATS again in Integrations.")


def test_a_limited_team_member_is_told_the_counts_are_of_their_postings(hub_app, seeded, as_role):
    note = ('<div class="alert alert--info" role="status" id="limited-notice">The invitations counted and listed '
            'here are those of the postings you are on (owner, hiring manager or follower).</div>')
    assert note in as_role("limited_team_member").get("/").get_data(as_text=True)
    for role in ("super_admin", "admin", "team_member"):
        assert 'id="limited-notice"' not in as_role(role).get("/").get_data(as_text=True)


def test_the_subtitle_promises_only_what_the_role_sees(hub_app, seeded, as_role):
    def subtitle(role: str) -> str:
        html = as_role(role).get("/").get_data(as_text=True)
        return re.search(r'<h1>Dashboard</h1>\s*<p class="muted">(.*?)</p>', html, re.S).group(1)

    for role in ("super_admin", "admin"):
        assert subtitle(role) == "How the connections are doing, this week's invitations, and what needs attention."
    for role in ("team_member", "limited_team_member"):
        assert subtitle(role) == "This week's invitations, and what needs attention."
