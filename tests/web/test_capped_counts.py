"""The list pages count matching rows only up to ``queries.COUNT_LIMIT``: past it they say "more
than N" and page on by whether the next page has rows; the JSON API keeps exact totals."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, Invitation
from hub.web import queries
from tests.web.support import _invitation, api_headers


def _row_ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'<tr id="invitation-(\d+)"', html)]


def _add_invitations(app, seeded, count: int) -> int:
    with app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        for i in range(count):
            _invitation(1, attachment, "invited", name=f"Capped {i:03d}")
        db.session.commit()
        return db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(Invitation.workspace_id == 1))


def test_past_the_limit_the_page_says_more_than_and_still_pages_on(hub_app, seeded, as_role, monkeypatch):
    total = _add_invitations(hub_app, seeded, 60)
    monkeypatch.setattr(queries, "COUNT_LIMIT", 30)
    client = as_role("team_member")
    first = client.get("/candidates").get_data(as_text=True)
    assert "Page 1 · more than 30 in all" in first and " in all" not in first.replace("more than 30 in all", "")
    assert 'id="page-next" href="/candidates?page=2"' in first

    seen: list[int] = []
    page = 1
    while True:  # "Next" is offered exactly while rows remain, also past the counted 30
        html = client.get(f"/candidates?page={page}").get_data(as_text=True)
        seen += _row_ids(html)
        if 'id="page-next"' not in html:
            break
        page += 1
    assert page == -(-total // 25) and len(seen) == len(set(seen)) == total
    assert 'id="page-prev"' in html and "more than 30 in all" in html


def test_under_the_limit_the_total_is_exact(hub_app, seeded, as_role, monkeypatch):
    total = _add_invitations(hub_app, seeded, 20)
    monkeypatch.setattr(queries, "COUNT_LIMIT", total)  # exactly at the limit: not "more than"
    html = as_role("team_member").get("/candidates").get_data(as_text=True)
    assert f"Page 1 of 2 · {total} in all" in html and "more than" not in html


def test_activity_and_audit_cap_their_counts_too(hub_app, seeded, as_role, monkeypatch):
    monkeypatch.setattr(queries, "COUNT_LIMIT", 1)
    client = as_role("super_admin")
    for url in ("/activity", "/audit"):
        html = client.get(url).get_data(as_text=True)
        assert "more than 1 in all" in html, url


def test_the_api_keeps_exact_totals(hub_app, seeded, monkeypatch):
    total = _add_invitations(hub_app, seeded, 40)
    monkeypatch.setattr(queries, "COUNT_LIMIT", 10)
    body = hub_app.test_client().get("/api/v1/invitations?per_page=25",
                                     headers=api_headers(seeded, "admin")).get_json()
    assert body["total"] == total and body["pages"] == -(-total // 25) and len(body["items"]) == 25


def test_the_admin_guide_states_the_limit():
    from pathlib import Path

    guide = (Path(__file__).parents[2] / "docs" / "admin-guide.md").read_text()
    assert f"count what matches up to {queries.COUNT_LIMIT:,}" in " ".join(guide.split())
