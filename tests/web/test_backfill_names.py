"""The backfill page lists who is to be invited, by the names the source gives
(``StageCandidate``), before the admin confirms: it only counted them (a UX walk-through: "the
backfill page does not say who will be invited"). A source that lists bare ids still works, and
its candidates are listed by id. The API's census carries the same list."""

from __future__ import annotations

import re
from html import unescape

import pytest

from hub import hookimpl
from hub.entities import StageCandidate
from tests.web import test_backfill as backfill_tests
from tests.web.support import api_headers

ready = backfill_tests.ready  # the fixture: opp-a, opp-b, opp-c in s1 without an invitation


class NamingSource(backfill_tests.StageSource):
    """Lists opp-a and opp-b with their names (opp-a with an ATS page) and opp-c as a bare id."""

    @hookimpl
    def source_list_stage_candidates(self, ctx, posting_id, stage_id, limit):
        listed = []
        for opportunity_id in backfill_tests.StageSource.source_list_stage_candidates(self, ctx, posting_id,
                                                                                       stage_id, limit):
            person = self.people[opportunity_id]
            if opportunity_id == "opp-c":
                listed.append(opportunity_id)
            else:
                url = "https://ats.example/c/opp-a" if opportunity_id == "opp-a" else "javascript:alert(1)"
                listed.append(StageCandidate(opportunity_id, person.name, url))
        return listed


@pytest.fixture
def fakes():
    return NamingSource(), backfill_tests.InvitingAssess()


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def test_the_page_names_who_is_to_be_invited(hub_app, seeded, as_role, ready):
    page = as_role("admin").get(f"/pipeline/{ready}/backfill").get_data(as_text=True)
    who = re.search(r'<details id="backfill-who" open>(.*?)</details>', page, re.S).group(1)
    assert "Candidates to invite, as Fake ATS lists them" in _text(who)
    items = [_text(item) for item in re.findall(r'<li id="backfill-who-\d+">(.*?)</li>', who, re.S)]
    assert items == ["Person opp-a (opens Fake ATS in a new tab)", "Person opp-b",
                     "opp-c (an opportunity id: Fake ATS gave no name)"]
    assert '<a href="https://ats.example/c/opp-a" target="_blank" rel="noopener noreferrer">Person opp-a<span' in who
    assert "javascript:" not in who  # only http(s) links from a vendor are rendered


def test_the_api_census_lists_them_too(hub_app, seeded, ready):
    answer = hub_app.test_client().get(f"/api/v1/attachments/{ready}/backfill",
                                       headers=api_headers(seeded, "admin"))
    body = answer.get_json()
    assert answer.status_code == 200 and body["opportunity_ids"] == ["opp-a", "opp-b", "opp-c"]
    assert body["candidates"] == [
        {"opportunity_id": "opp-a", "name": "Person opp-a", "profile_url": "https://ats.example/c/opp-a"},
        {"opportunity_id": "opp-b", "name": "Person opp-b", "profile_url": None},  # not an http(s) page: left out
        {"opportunity_id": "opp-c", "name": None, "profile_url": None},
    ]


def test_the_backfill_still_invites_them_all_once(hub_app, seeded, as_role, ready, fakes):
    from hub.testing import run_deliveries

    client = as_role("admin")
    answer = client.post(f"/pipeline/{ready}/backfill", data={"expected": "3"}, follow_redirects=True)
    assert answer.status_code == 200
    run_deliveries(hub_app)
    assert sorted(fakes[1].sent) == ["opp-a", "opp-b", "opp-c"]


def test_an_attachment_whose_provider_is_disabled_offers_no_backfill(hub_app, seeded, as_role, ready):
    """Its backfill would be refused ("cannot send invitations now"): the Pipeline row does not offer it."""
    owner = as_role("super_admin")
    assert f'id="backfill-{ready}"' in owner.get("/pipeline").get_data(as_text=True)
    owner.post("/integrations/fakeassess/disable")
    html = owner.get("/pipeline").get_data(as_text=True)
    assert f'id="attachment-{ready}"' in html and f'id="backfill-{ready}"' not in html


def test_the_message_after_a_backfill_names_who_was_queued_and_leads_to_candidates(hub_app, seeded, as_role, ready,
                                                                                    fakes):
    """It said only "3 invitations queued; 0 already invited." (a walk-through: the admin could not
    tell who, nor where to follow them)."""
    from hub.testing import run_deliveries

    page = as_role("admin").post(f"/pipeline/{ready}/backfill", data={"expected": "3"},
                                 follow_redirects=True).get_data(as_text=True)
    flashed = _text(re.search(r'<div class="flashes" id="flashes">(.*?)</div>\s*</div>', page, re.S).group(1))
    assert "Queued: Person opp-a, Person opp-b and opp-c." in flashed
    assert "Follow their invitations on Candidates ." in flashed  # (the link, then its full stop)
    link = unescape(re.search(r'<a href="([^"]+)" id="backfill-follow">', page).group(1))
    assert link == "/candidates?posting=p1"
    run_deliveries(hub_app)
    listed = as_role("admin").get(link).get_data(as_text=True)
    assert all(f"Person {o}" in listed for o in ("opp-a", "opp-b"))


def test_the_message_names_five_and_counts_the_rest(hub_app, seeded, as_role, ready, fakes):
    source, _assess = fakes
    for n in range(4):
        source.put(f"opp-x{n}")
    page = as_role("admin").post(f"/pipeline/{ready}/backfill", follow_redirects=True).get_data(as_text=True)
    assert "7 invitations queued" in page
    assert re.search(r"Queued: ([^,<]+, ){4}[^,<]+ and 2 more\.", _text(page)), _text(page)


def test_the_api_s_backfill_answer_lists_whom_it_queued(hub_app, seeded, ready):
    answer = hub_app.test_client().post(f"/api/v1/attachments/{ready}/backfill", json={"expected": 3},
                                        headers=api_headers(seeded, "admin"))
    body = answer.get_json()
    assert answer.status_code == 200 and body["opportunity_ids"] == ["opp-a", "opp-b", "opp-c"]
    assert body["candidates"] == [
        {"opportunity_id": "opp-a", "name": "Person opp-a", "profile_url": "https://ats.example/c/opp-a"},
        {"opportunity_id": "opp-b", "name": "Person opp-b", "profile_url": None},
        {"opportunity_id": "opp-c", "name": None, "profile_url": None},
    ]
