"""Walking a paged list while its rows change (found walking the API as a customer's script).

Paging by offset (``page``) shifts the rows: one that arrives meanwhile pushes a row seen onto the
next page (seen twice), and one that leaves the filter (an invitation no longer ``invited``, a
delivery replayed) pulls an unseen row onto the page already read (never seen). The paged lists
take ``before_id``: the id of the last row read, for the rows older than it, so that a walk sees
every row that matched throughout, once."""

from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Delivery, Invitation, WebhookLog
from tests.web.support import _attachment, _dead_delivery, _invitation


def _walk(api, path, between=None, role="super_admin", **params):
    """Every item of a paged list, one per page, by ``before_id``; ``between(n)`` runs after page n."""
    seen, before, n = [], None, 0
    while True:
        query = {**params, "per_page": 1, **({"before_id": before} if before else {})}
        answer = api("GET", path, role=role, query_string=query)
        assert answer.status_code == 200, answer.get_json()
        items = answer.get_json()["items"]
        if not items:
            return seen
        seen += [item["id"] for item in items]
        before = items[-1]["id"]
        n += 1
        if between:
            between(n)


def test_an_invitation_leaving_the_filter_between_pages_does_not_hide_the_next_one(hub_app, seeded, api):
    with hub_app.app_context():
        attachment = _attachment(seeded.workspace_id, "p1", "s7")
        ids = [_invitation(seeded.workspace_id, attachment, "invited", name=f"Walker {n}").id for n in range(4)]
        db.session.commit()

    def between(n):
        with hub_app.app_context():
            if n == 1:  # the first one read completes; a new candidate is invited
                db.session.execute(sa.update(Invitation).where(Invitation.id == ids[-1]).values(status="completed"))
                ids.append(_invitation(seeded.workspace_id, db.session.merge(attachment), "invited",
                                       name="Walker late").id)
            db.session.commit()

    seen = _walk(api, "/invitations", between, status="invited", q="walker")
    assert seen == sorted(ids[:4], reverse=True)  # each once; the one invited after the walk began is not in it


def test_the_offset_pages_of_the_same_walk_miss_a_row(hub_app, seeded, api):
    """What ``before_id`` is for: by ``page``, the same change hides a row that matched throughout."""
    with hub_app.app_context():
        attachment = _attachment(seeded.workspace_id, "p1", "s8")
        ids = [_invitation(seeded.workspace_id, attachment, "invited", name=f"Pager {n}").id for n in range(3)]
        db.session.commit()
    first = api("GET", "/invitations", query_string={"status": "invited", "q": "pager", "per_page": 1}).get_json()
    assert [i["id"] for i in first["items"]] == [ids[2]]
    with hub_app.app_context():
        db.session.execute(sa.update(Invitation).where(Invitation.id == ids[2]).values(status="completed"))
        db.session.commit()
    second = api("GET", "/invitations", query_string={"status": "invited", "q": "pager", "per_page": 1,
                                                      "page": 2}).get_json()
    assert [i["id"] for i in second["items"]] == [ids[0]]  # ids[1] was never on a page
    by_id = api("GET", "/invitations", query_string={"status": "invited", "q": "pager", "per_page": 1,
                                                     "before_id": ids[2]}).get_json()
    assert [i["id"] for i in by_id["items"]] == [ids[1]]
    assert (by_id["total"], by_id["pages"]) == (2, 2)  # the rows below it


def test_activity_audit_and_the_webhook_log_walk_by_before_id(hub_app, seeded, api):
    with hub_app.app_context():
        dead = [_dead_delivery(seeded.workspace_id).event_id for _ in range(3)]
        for n in range(3):
            db.session.add(WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome="rejected",
                                      status_code=401, message=f"walk {n}", event_count=0))
        db.session.commit()
        every_dead = sorted(db.session.scalars(sa.select(Delivery.event_id).where(
            Delivery.workspace_id == seeded.workspace_id, Delivery.status == "dead")), reverse=True)
        logged = sorted(db.session.scalars(sa.select(WebhookLog.id).where(
            WebhookLog.workspace_id == seeded.workspace_id, WebhookLog.plugin == "fakesource",
            WebhookLog.outcome == "rejected")), reverse=True)

    def replay_one(n):  # the newest dead delivery read is replayed between the pages: no longer dead
        if n == 1:
            with hub_app.app_context():
                db.session.execute(sa.update(Delivery).where(Delivery.event_id == dead[-1]).values(status="done"))
                db.session.commit()

    assert _walk(api, "/activity", replay_one, status="dead") == every_dead
    audit = [e["id"] for e in api("GET", "/audit", query_string={"per_page": 200}).get_json()["items"]]
    assert _walk(api, "/audit", lambda n: api("PUT", "/integrations/fakesource", json={})) == audit
    assert _walk(api, "/integrations/fakesource/webhooks", outcome="rejected") == logged


def test_before_id_is_a_positive_whole_number_and_named_in_the_document(api):
    for value in ("0", "-1", "abc", "1.5", "99999999999999999999"):
        error = api("GET", "/audit", query_string={"before_id": value}).get_json()["error"]
        assert error["code"] == "validation_failed" and list(error["fields"]) == ["before_id"], (value, error)
    assert api("GET", "/audit", query_string={"before_id": "1"}).get_json()["items"] == []
    document = api("GET", "/openapi.json", role=None).get_json()
    for path in ("/invitations", "/activity", "/audit", "/integrations/{plugin}/webhooks"):
        names = [p["name"] for p in document["paths"][path]["get"]["parameters"]]
        assert "before_id" in names, path
