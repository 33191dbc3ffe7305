"""What a Limited Team Member can reach tells nothing of the postings they are not on, and no list
total counts another workspace's rows (docs/permissions.md: "a Limited Team Member sees the
candidates of postings where their email is the owner, the hiring manager or a follower";
"another workspace's ids answer 404").

``tests/web/test_candidates.py`` checks the Candidates rows and the 404 of one invitation, and
``tests/web/test_isolation.py`` looks for another workspace's markers and ids in every read. These
tests cover what those leave out: counts and lists beyond the rows (the Dashboard's week and
"Failed invitations", the API's ``total`` under each filter), the filters' options and notices,
the candidate's page of someone who is also a candidate of a posting she is not on, the API's 404
body for every kind of unseen id, and list totals that hold no marker to look for.

In the seed the Limited Team Member follows p1 ("Python Developer") and not p2 ("Support
Engineer"); each test first checks that a Team Member (who sees every posting) is shown what the
Limited Team Member must not be, so a test cannot pass for want of data.
"""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, AuditEntry, Delivery, Event, Invitation, WebhookLog
from tests.web.support import _invitation, api_headers

LIMITED = "limited_team_member"
HER_POSTINGS = {"p1"}  # the postings the seed's Limited Team Member is on (a follower of p1)
UNSEEN = "Zenobia Unseen"  # the name of every candidate added on p2 here
UNSEEN_REASON = "p2-only failure reason"


def _p2_attachment(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(Attachment.id).where(Attachment.posting_id == "p2",
                                                                Attachment.stage_id == "s2"))


def _add_p2_invitations(app, seeded, count: int = 6, status: str = "failed") -> list[int]:
    """``count`` invitations of ``status`` on p2 (the posting she is not on), created now."""
    with app.app_context():
        attachment = db.session.get(Attachment, _p2_attachment(app))
        ids = [_invitation(seeded.workspace_id, attachment, status, posting="p2", name=f"{UNSEEN} {n}",
                           email=f"zenobia{n}@mail.test",
                           failure_reason=UNSEEN_REASON if status == "failed" else None).id for n in range(count)]
        db.session.commit()
        return ids


def _visible_counts(app, workspace_id: int) -> dict[str, int]:
    """Status -> how many invitations of the workspace are on her postings, from the database."""
    with app.app_context():
        posting = sa.func.coalesce(Invitation.posting_id, Attachment.posting_id)
        rows = db.session.execute(sa.select(Invitation.status, sa.func.count())
                                  .join(Attachment, Attachment.id == Invitation.attachment_id)
                                  .where(Invitation.workspace_id == workspace_id,
                                         posting.in_(sorted(HER_POSTINGS)))
                                  .group_by(Invitation.status))
        return dict(rows.all())


def _week(html: str) -> dict[str, int]:
    """The Dashboard's "Invitations this week": status -> the count shown."""
    return {status: int(count) for status, count in re.findall(
        r'<li class="stat" id="stat-(\w+)">\s*<a[^>]*>\s*<span class="stat__value">(\d+)</span>', html)}


def _failed_card(html: str) -> str:
    return re.search(r'<article class="card" id="attention-invitations">(.*?)</article>', html, re.S).group(1)


def _failed_count(html: str) -> int:
    return int(re.search(r"(\d+) failed<", _failed_card(html)).group(1))


def test_the_dashboard_counts_and_lists_only_the_invitations_of_her_postings(hub_app, seeded, as_role):
    unseen = _add_p2_invitations(hub_app, seeded)
    team = as_role("team_member").get("/").get_data(as_text=True)
    assert UNSEEN in _failed_card(team)  # the p2 failures exist, and a Team Member is told of them
    assert _week(team)["failed"] >= len(unseen)

    html = as_role(LIMITED).get("/").get_data(as_text=True)
    expected = _visible_counts(hub_app, seeded.workspace_id)  # every invitation of the seed is this week's
    assert _week(html) == {status: expected.get(status, 0) for status in _week(team)}
    assert _failed_count(html) == expected["failed"] == _failed_count(team) - len(unseen)
    card = _failed_card(html)
    assert UNSEEN not in card and UNSEEN_REASON not in card
    for invitation_id in unseen:
        assert f"/candidates/{invitation_id}\"" not in html


def _listed(client, headers, query: str) -> dict:
    response = client.get(f"/api/v1/invitations?per_page=200&{query}", headers=headers)
    assert response.status_code == 200, (query, response.get_data(as_text=True)[:300])
    return response.get_json()


def test_the_api_lists_and_totals_nothing_of_other_postings_under_any_filter(hub_app, seeded):
    unseen = set(_add_p2_invitations(hub_app, seeded, count=3, status="invited")) | {seeded.ids["invitation_p2"]}
    with hub_app.app_context():
        grace = db.session.get(Invitation, seeded.ids["invitation_p2"]).opportunity_id
    client = hub_app.test_client()
    queries = ("", "posting=p2", "q=Zenobia", "q=grace", "q=mail.test", f"opportunity={grace}",
               "assessment=fakeassess:sup", "status=invited", "status=invited&posting=p2")
    for query in queries:  # a Team Member is shown p2's invitations under these filters...
        if query not in ("", "q=mail.test", "status=invited"):
            assert {item["id"] for item in _listed(client, api_headers(seeded, "team_member"), query)["items"]} \
                & unseen, query
    mine = _listed(client, api_headers(seeded, LIMITED), "")
    visible = {item["id"] for item in mine["items"]}
    assert mine["total"] == sum(_visible_counts(hub_app, seeded.workspace_id).values()) == len(visible)
    for query in queries:  # ...she is not, and no total counts them
        answer = _listed(client, api_headers(seeded, LIMITED), query)
        ids = {item["id"] for item in answer["items"]}
        assert not ids & unseen and ids <= visible, query
        assert answer["total"] == len(ids) and answer["pages"] == 1, (query, answer["total"])
        assert "Zenobia" not in str(answer) and "Support Engineer" not in str(answer), query
        assert {item["posting_id"] for item in answer["items"]} <= HER_POSTINGS, query


def _notices(html: str) -> list[str]:
    return re.findall(r'id="filter-notice-[^"]*"[^>]*>(.*?)</', html, re.S)


def test_the_candidates_filters_neither_offer_nor_confirm_other_postings(hub_app, seeded, as_role):
    team = as_role("team_member").get("/candidates").get_data(as_text=True)
    assert '<option value="p2">' in team and '<option value="fakeassess:sup">' in team  # p2's are offered to her

    client = as_role(LIMITED)
    html = client.get("/candidates").get_data(as_text=True)
    assert '<option value="fakeassess:sup">' not in html  # Support Basics is invited only on p2
    assert "Support Engineer" not in html and "Grace Hopper" not in html
    # a value of a posting she is not on is answered as one that exists nowhere
    for name, unseen_value, unknown in (("posting", "p2", "no-such-posting"),
                                        ("assessment", "fakeassess:sup", "fakeassess:no-such")):
        told = client.get(f"/candidates?{name}={unseen_value}").get_data(as_text=True)
        unknown_told = client.get(f"/candidates?{name}={unknown}").get_data(as_text=True)
        assert _notices(told) and [n.replace(unseen_value, "X") for n in _notices(told)] == \
            [n.replace(unknown, "X") for n in _notices(unknown_told)], name
        assert "Grace Hopper" not in told and "Support Engineer" not in told
    # a search for her name finds nothing, as for a name nobody has
    searched = client.get("/candidates?q=Grace").get_data(as_text=True)
    assert "Grace Hopper" not in searched and 'id="no-candidates"' in searched
    assert "Grace Hopper" in as_role("team_member").get("/candidates?q=Grace").get_data(as_text=True)


def test_a_candidate_also_on_another_posting_shows_nothing_of_it(hub_app, seeded, as_role):
    """The same person (one opportunity) invited on p1 and p2: the page of her p1 invitation shows
    nothing of the p2 one (its assessment, its failure, what the hub failed to deliver about it)."""
    with hub_app.app_context():
        grace = db.session.get(Invitation, seeded.ids["invitation_p2"])
        grace.status, grace.failure_reason = "failed", UNSEEN_REASON
        ours = _invitation(seeded.workspace_id, db.session.get(Attachment, seeded.ids["attachment"]), "completed",
                           name="Grace Hopper", email="grace@mail.test", score=50.0, max_score=100.0)
        ours.opportunity_id = grace.opportunity_id
        event = Event(workspace_id=seeded.workspace_id, source_plugin="fakeassess", type="assessment_completed",
                      external_id="p2-result", subject=f"invitation:{grace.id}", payload={"invitation_id": grace.id})
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin="fakesource",
                                hook="on_assessment_completed", status="dead", attempts=8,
                                last_error="TemporaryError: p2 note refused"))
        db.session.commit()
        ours_id, grace_id = ours.id, grace.id
    admin = as_role("admin").get(f"/candidates/{grace_id}").get_data(as_text=True)
    assert 'id="undelivered"' in admin and UNSEEN_REASON in admin  # the p2 page shows both

    client = as_role(LIMITED)
    for path in (f"/candidates/{ours_id}", f"/candidates/{ours_id}?fragment=1"):
        html = client.get(path).get_data(as_text=True)
        assert "Grace Hopper" in html  # her own invitation of Grace
        assert 'id="undelivered"' not in html and UNSEEN_REASON not in html, path
        assert "Support Basics" not in html and "Support Engineer" not in html, path
        assert f"/candidates/{grace_id}\"" not in html
    answer = hub_app.test_client().get(f"/api/v1/invitations/{ours_id}", headers=api_headers(seeded, LIMITED))
    assert answer.status_code == 200 and UNSEEN_REASON not in answer.get_data(as_text=True)
    assert "Support" not in answer.get_data(as_text=True)


def test_the_apis_404_is_the_same_whatever_kept_her_from_the_invitation(hub_app, seeded):
    """Not on her postings, none, another workspace's, past any id the table can hold: one answer."""
    client = hub_app.test_client()
    answers = {}
    for invitation_id in (seeded.ids["invitation_p2"], 99999999, seeded.other["invitation_id"],
                          99999999999999999999999):
        response = client.get(f"/api/v1/invitations/{invitation_id}", headers=api_headers(seeded, LIMITED))
        answers[invitation_id] = (response.status_code, response.get_data(as_text=True),
                                  response.headers.get("Retry-After"))
    assert set(answers.values()) == {(404, answers[99999999][1], None)}, answers
    assert answers[99999999][1].strip() == '{"error":{"code":"not_found","message":"no such invitation"}}'
    assert client.get(f"/api/v1/invitations/{seeded.ids['invitation_p2']}",
                      headers=api_headers(seeded, "team_member")).status_code == 200


def test_list_totals_count_only_the_own_workspace(hub_app, seeded, api):
    """A total has no marker for ``test_isolation.py`` to find: each API list's ``total`` equals the
    own workspace's rows, with another workspace holding rows of every kind."""
    other = seeded.other
    with hub_app.app_context():
        other_ws = db.session.get(Invitation, other["invitation_id"]).workspace_id
        for n in range(3):
            db.session.add(AuditEntry(workspace_id=other_ws, actor="someone@other.test", action="user.create",
                                      target=f"user:x{n}@other.test", detail={}))
            db.session.add(WebhookLog(workspace_id=other_ws, plugin="fakesource", outcome="rejected",
                                      status_code=401, message="otherco", event_count=0))
        db.session.commit()
        ws = seeded.workspace_id

        def count(model, *where):
            return db.session.scalar(sa.select(sa.func.count()).select_from(model).where(
                model.workspace_id == ws, *where))

        expected = {"/invitations": count(Invitation), "/activity": count(Event), "/audit": count(AuditEntry),
                    "/integrations/fakesource/webhooks": count(WebhookLog, WebhookLog.plugin == "fakesource")}
        other_opportunity = db.session.get(Invitation, other["invitation_id"]).opportunity_id
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Invitation).where(
            Invitation.workspace_id == ws, Invitation.opportunity_id == other_opportunity)) == 0
    for path, total in expected.items():
        answer = api("GET", f"{path}?per_page=200")
        assert answer.status_code == 200, path
        assert answer.get_json()["total"] == total, (path, answer.get_json()["total"], total)
    assert api("GET", f"/invitations?opportunity={other_opportunity}").get_json()["total"] == 0
    assert api("GET", "/activity?status=dead").get_json()["total"] == count_dead(hub_app, ws)


def count_dead(app, workspace_id: int) -> int:
    """The own workspace's events with a dead delivery."""
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(sa.distinct(Delivery.event_id))).where(
            Delivery.workspace_id == workspace_id, Delivery.status == "dead"))
