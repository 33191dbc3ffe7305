"""A search on Candidates that finds no one, as each role (found walking the pages as each role).

An Admin is pointed to Activity's "Candidate or webhook id" search, which shows what the hub
received about a candidate who was never invited (tests/web/test_candidates.py). A Team Member or
a Limited Team Member, who cannot open Activity, was told only "Try another status or search, or
clear the filters": nothing said that a candidate never invited has no row, nor whom to ask. A
Limited Team Member is reminded too that a candidate of a posting she is not on has none, in words
that tell nothing of which candidates exist.
"""

from __future__ import annotations

import re

import pytest

SEARCH = "/candidates?q=nobody-by-this-name"


def _hint(html: str) -> str | None:
    found = re.search(r'<p class="muted small" id="no-candidates-ask">(.*?)</p>', html, re.S)
    return re.sub(r"\s+", " ", found.group(1)).strip() if found else None


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_whoever_cannot_open_activity_is_told_whom_to_ask(as_role, role):
    html = as_role(role).get(SEARCH).get_data(as_text=True)
    assert 'id="no-candidates"' in html and 'id="no-candidates-activity"' not in html
    hint = _hint(html)
    assert hint is not None, html[html.find("<main"):][:3000]
    assert hint.startswith("A candidate who was never invited") and "has no row here" in hint
    assert "ask an Admin or a Super Admin" in hint and "/activity" not in hint
    on_postings = "or is on a posting you are not on" in hint
    assert on_postings == (role == "limited_team_member"), hint


def test_admins_keep_the_activity_search_and_no_second_hint(as_role):
    html = as_role("admin").get(SEARCH).get_data(as_text=True)
    assert 'id="no-candidates-activity"' in html and _hint(html) is None


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_a_filter_without_a_search_adds_nothing(as_role, role):
    """A status with no invitation is not a search for someone: the list says only that nothing matches."""
    html = as_role(role).get("/candidates?status=cancelled").get_data(as_text=True)
    assert 'id="no-candidates"' in html and _hint(html) is None
