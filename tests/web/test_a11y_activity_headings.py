"""Activity's event headings, as a screen reader's list of headings gives them (a keyboard and
screen-reader walk): every card's heading read "Stage change from Lever", several in a row, so the
list said nothing of which candidate or event each was. Each heading (and the card it names,
``aria-labelledby``) now says whom the event is about, when it was received and its number, in
visually-hidden words: what a sighted user sees of it is as it was."""

from __future__ import annotations

import re

from hub.extensions import db
from hub.store.models import Event, Invitation
from tests.web.a11y_activity_dom import parse


def _events_about(ws: int, opportunity_id: str, count: int) -> list[int]:
    ids = []
    for n in range(count):
        event = Event(workspace_id=ws, source_plugin="fakesource", type="stage_change",
                      external_id=f"a11y-heading-{opportunity_id}-{n}", subject=opportunity_id,
                      payload={"opportunity_id": opportunity_id, "to_stage_id": "s1"})
        db.session.add(event)
        db.session.flush()
        ids.append(event.id)
    db.session.commit()
    return ids


def _cards(html: str):
    doc = parse(html)
    return doc, [a for a in doc.find_all("article", cls="event")]


def test_each_event_heading_names_its_candidate_time_and_number(hub_app, seeded, as_role):
    with hub_app.app_context():
        ada = db.session.get(Invitation, seeded.ids["invitation"])
        about_ada = _events_about(seeded.workspace_id, ada.opportunity_id, 2)  # the same candidate twice
    html = as_role("admin").get("/activity").get_data(as_text=True)
    doc, cards = _cards(html)
    assert len(cards) >= 10
    names = []
    for card in cards:
        event_id = int(card.attrs["id"].removeprefix("event-"))
        (heading,) = card.find_all("h2")
        name = heading.spoken()
        names.append(name)
        # what is seen is as it was: the kind of event and where it came from
        assert re.fullmatch(r"[A-Z][a-z ]+ from (Fake ATS|the hub)|Backfill request: .*", heading.seen()), heading.seen()
        assert name.startswith(heading.seen()), (name, heading.seen())
        assert f"event {event_id}" in name, name
        received = card.find_all("time")[0].attrs["title"]  # the exact time the meta line shows on hover
        assert f"received {received}" in name, name
        subject = card.find_all(cls="event__subject")
        if subject:
            assert f"about {subject[0].seen()}" in name, name
        # the card is named by the same words (a screen reader's list of landmarks and regions)
        label = doc.by_id(card.attrs["aria-labelledby"])
        assert label is not None and label.spoken() == name
    assert len(set(names)) == len(names), [n for n in names if names.count(n) > 1]
    for event_id in about_ada:
        name = next(n for n in names if f"(event {event_id})" in n)
        assert "about Ada Lovelace" in name, name


def test_the_refreshed_list_has_the_same_headings(hub_app, seeded, as_role):
    """The list hub.js fetches again while work is pending is the same fragment: its headings too."""
    client = as_role("admin")
    page = [c.find_all("h2")[0].spoken() for c in _cards(client.get("/activity").get_data(as_text=True))[1]]
    fragment = client.get("/activity?fragment=1", headers={"X-Requested-With": "fetch"}).get_data(as_text=True)
    assert [c.find_all("h2")[0].spoken() for c in _cards(fragment)[1]] == page
    assert all(re.search(r", received .* \(event \d+\)$", name) for name in page), page
