"""The Candidates posting filter of a large account offers the postings with invitations, not
every posting with an attachment (163 options for 10 with invitations, 9 labels twice: a
walk-through), and still takes any attached posting a link names (Follow their invitations, right
after a backfill, before the first invitation exists)."""

from __future__ import annotations

import re

from hub.extensions import db
from tests.web.support import _attachment


def _offered(page: str) -> dict[str, str]:
    select = re.search(r'<select id="filter-posting".*?</select>', page, re.S)
    assert select, "no posting filter"
    return dict(re.findall(r'<option value="([^"]+)"[^>]*>([^<]+)</option>', select.group(0)))


def test_postings_without_invitations_are_not_offered_but_are_taken(hub_app, seeded, as_role):
    with hub_app.app_context():
        _attachment(seeded.workspace_id, posting="posting-quiet-000001", stage="s3")
        _attachment(seeded.workspace_id, posting="posting-twin-aaaaaa", stage="s3")
        attachment = _attachment(seeded.workspace_id, posting="posting-twin-bbbbbb", stage="s3")
        attachment.posting_name = "posting-twin-aaaaaa"  # two postings that read the same
        db.session.commit()
    client = as_role("admin")
    offered = _offered(client.get("/candidates").get_data(as_text=True))
    assert "posting-quiet-000001" not in offered and "posting-twin-aaaaaa" not in offered
    assert offered  # the seed's postings with invitations are
    chosen = client.get("/candidates?posting=posting-quiet-000001").get_data(as_text=True)
    assert 'id="filter-notice-posting"' not in chosen  # taken, and offered while chosen
    assert "posting-quiet-000001" in _offered(chosen)


def test_two_postings_of_one_name_are_told_apart(hub_app, seeded):
    from hub.store.models import User
    from hub.web import queries

    with hub_app.app_context():
        _attachment(seeded.workspace_id, posting="posting-twin-aaaaaa", stage="s3")
        other = _attachment(seeded.workspace_id, posting="posting-twin-bbbbbb", stage="s3")
        other.posting_name = "posting-twin-aaaaaa"
        db.session.commit()
        admin = db.session.get(User, seeded.users["admin"])
        choices = dict(queries.invitation_filter_options(admin)["posting_choices"])
    assert choices["posting-twin-aaaaaa"] == "posting-twin-aaaaaa (…aaaaaa)"
    assert choices["posting-twin-bbbbbb"] == "posting-twin-aaaaaa (…bbbbbb)"
