"""What a Limited Team Member is told while the hub cannot say which postings she is on (docs/permissions.md:
"When no source is enabled, or it cannot be reached, they see no candidates: the Dashboard and
Candidates say so in a notice"), or when she is on none: found walking the pages as each role.

- The Dashboard's "Failed invitations" card said "0 failed" and "No invitation failed to send"
  under the notice that her candidates cannot be shown: a claim the hub could not make (invitations
  of her postings had failed).
- Candidates with a filter (the Dashboard's status links, a bookmark, a search) said "No candidates
  match these filters: try another status or search, or clear the filters", as though another
  filter could find one; without a filter the same list said why it is empty and whom to ask.
"""

from __future__ import annotations

import re

import pytest

from tests.web.support import vendor_error

LIMITED = "limited_team_member"


def _failed_card(html: str) -> str:
    return re.search(r'<article class="card" id="attention-invitations">(.*?)</article>', html, re.S).group(1)


def _empty_reason(html: str) -> str | None:
    found = re.search(r'<div class="empty-state" id="no-candidates"(?: data-reason="([\w-]+)")?>', html)
    assert found, html[html.find("<main"):][:3000]
    return found.group(1)


def _unreadable(hub_app, fakes, as_role, how: str) -> None:
    if how == "down":
        fakes[0].fail = vendor_error("Fake ATS timed out")
    else:
        assert as_role("super_admin").post("/integrations/fakesource/disable").status_code in (302, 303)
    hub_app.extensions.get("hub.polled_visibility", {}).clear()


@pytest.mark.parametrize("how", ["down", "disabled"])
def test_the_dashboard_does_not_say_none_failed_when_her_postings_cannot_be_read(hub_app, seeded, as_role,
                                                                              fakes, how):
    client = as_role(LIMITED)
    card = _failed_card(client.get("/").get_data(as_text=True))
    assert re.search(r"[1-9]\d* failed<", card), card  # invitations of her postings did fail

    _unreadable(hub_app, fakes, as_role, how)
    html = client.get("/").get_data(as_text=True)
    assert 'id="visibility-notice"' in html
    card = _failed_card(html)
    assert "0 failed" not in card and "No invitation failed to send" not in card, card
    assert 'id="failed-unreadable"' in card and "cannot be shown right now" in card, card


@pytest.mark.parametrize("how", ["down", "disabled"])
@pytest.mark.parametrize("query", ["status=failed", "q=ada"])
def test_a_filtered_list_says_why_she_sees_nobody_when_her_postings_cannot_be_read(hub_app, seeded, as_role,
                                                                                fakes, how, query):
    client = as_role(LIMITED)
    assert "<tbody>" in client.get(f"/candidates?{query}").get_data(as_text=True)  # found while readable

    _unreadable(hub_app, fakes, as_role, how)
    html = client.get(f"/candidates?{query}").get_data(as_text=True)
    assert "No candidates match these filters" not in html
    assert _empty_reason(html) == ("unreadable" if how == "down" else "no-source")


def test_a_filtered_list_tells_her_she_is_on_no_posting(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    source.postings = [posting for posting in source.postings if posting.id != "p1"]  # she followed only p1
    html = as_role(LIMITED).get("/candidates?status=failed").get_data(as_text=True)
    assert "No candidates match these filters" not in html
    assert _empty_reason(html) == "on-no-posting" and "Ask an admin to add you to a posting" in html


def test_a_team_member_s_filtered_list_still_says_that_nothing_matches(hub_app, seeded, as_role, fakes):
    """Who sees every posting is not concerned: a filter that finds nothing says so."""
    fakes[0].fail = vendor_error("Fake ATS timed out")
    html = as_role("team_member").get("/candidates?q=nobody-by-that-name").get_data(as_text=True)
    assert "No candidates match these filters" in html and _empty_reason(html) is None
