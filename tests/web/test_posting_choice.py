"""The attach form's posting select for a large account: grouped by state with open postings first
and closed ones last, each group by title, labels telling apart postings of one title (location,
team, else the end of the id). In the source's order with "(closed)" after most titles, the one
posting sought among 300 was hard to find (a walk-through of a large account)."""

from __future__ import annotations

import re

from hub.entities import Posting
from hub.web.ui.pipeline import posting_groups


def test_open_postings_come_first_by_title_and_closed_ones_last():
    postings = [
        Posting("p-old", "Office Manager", "closed"),
        Posting("p-qa-ams", "QA Engineer", "published", location="Amsterdam", team="Quality"),
        Posting("p-backend", "Backend Engineer (Berlin)", "published", location="Berlin", team="Platform"),
        Posting("p-int", "Data Analyst", "internal"),
        Posting("p-draft", "Designer", "draft"),
        Posting("p-odd", "Recruiter", "on hold"),
        Posting("p-none", "Intern", ""),
        Posting("p-qa-rem", "QA Engineer", "closed", location="Remote (US)"),
    ]
    groups = posting_groups(postings)
    assert [label for label, _ in groups] == ["Published", "Internal", "Draft", "On hold", "No state", "Closed"]
    published = dict(groups)["Published"]
    # the location already in the title is not repeated; the team is added
    assert [o.label for o in published] == ["Backend Engineer (Berlin) · Platform", "QA Engineer · Amsterdam · Quality"]
    assert [o.id for o in dict(groups)["Closed"]] == ["p-old", "p-qa-rem"]


def test_postings_that_still_read_the_same_are_told_apart_by_their_id():
    groups = posting_groups([Posting("abc-111111", "QA Engineer", "published", location="Amsterdam"),
                             Posting("abc-222222", "QA Engineer", "published", location="Amsterdam")])
    assert sorted(o.label for o in groups[0][1]) == ["QA Engineer · Amsterdam (…111111)",
                                                    "QA Engineer · Amsterdam (…222222)"]


def test_the_form_shows_the_groups_with_their_counts(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    source.postings.append(Posting("p-closed", "Archivist", "closed", location="Paris"))
    page = as_role("admin").get("/pipeline/new").get_data(as_text=True)
    select = re.search(r'<select id="posting".*?</select>', page, re.S).group(0)
    assert select.index('label="Published (2)"') < select.index('label="Closed (1)"')
    assert '<option value="p-closed">Archivist · Paris</option>' in select


def test_choosing_a_closed_posting_says_it_is_closed(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    source.postings.append(Posting("p-closed", "Archivist", "closed"))
    client = as_role("admin")
    closed = client.get("/pipeline/new?posting_id=p-closed").get_data(as_text=True)
    assert 'id="attach-form"' in closed  # still possible: it may open again
    assert "This posting is closed in your ATS: candidates rarely enter its stages any more." in closed
    assert 'id="posting-not-open"' not in client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
