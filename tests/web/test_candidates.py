"""Candidates: the invitations table with filters, search and pages; Limited Team Member
visibility; the detail page with its timeline; re-invite and cancel."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, Invitation, TimelineEntry
from tests.web.support import _invitation, api_headers, vendor_error


def _row_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<tr id="invitation-(\d+)"', html)}


def _all_ids(app, ws=1, **filters) -> set[int]:
    with app.app_context():
        query = sa.select(Invitation.id).where(Invitation.workspace_id == ws)
        for key, value in filters.items():
            query = query.where(getattr(Invitation, key) == value)
        return set(db.session.scalars(query))


def test_the_table_shows_every_invitation_with_its_details(hub_app, seeded, as_role):
    html = as_role("team_member").get("/candidates").get_data(as_text=True)
    assert _row_ids(html) == _all_ids(hub_app)
    ada = re.search(rf'<tr id="invitation-{seeded.ids["invitation"]}" data-status="completed"(.*?)</tr>', html, re.S)
    cells = ada.group(1)
    assert "Ada Lovelace" in cells and "ada@mail.test" in cells and "Python Developer" in cells
    assert "81 / 100" in cells
    assert 'href="https://tests.example/report/1"' in cells and 'class="report-link"' in cells
    assert 'href="https://ats.example/candidates/' in cells
    assert 'class="badge badge--success" data-status="completed">Completed</span>' in cells


def test_filters_and_search(hub_app, seeded, as_role):
    client = as_role("admin")
    failed = client.get("/candidates?status=failed").get_data(as_text=True)
    assert _row_ids(failed) == _all_ids(hub_app, status="failed") and len(_row_ids(failed)) == 4
    assert '<option value="failed" selected>Failed</option>' in failed and 'id="clear-filters"' in failed

    support = client.get("/candidates?assessment=fakeassess:sup").get_data(as_text=True)
    assert _row_ids(support) == {seeded.ids["invitation_p2"]}
    assert client.get("/candidates?posting=p2").get_data(as_text=True).count('<tr id="invitation-') == 1

    for query in ("ada", "ADA@mail", "Lovelace"):
        assert _row_ids(client.get(f"/candidates?q={query}").get_data(as_text=True)) == {seeded.ids["invitation"]}
    assert _row_ids(client.get("/candidates?q=%25").get_data(as_text=True)) == set()  # % is literal, not a wildcard

    combined = client.get("/candidates?status=completed&q=grace").get_data(as_text=True)
    assert _row_ids(combined) == set()
    assert 'id="no-candidates"' in combined and "No candidates match these filters" in combined

    options = client.get("/candidates").get_data(as_text=True)
    assert '<option value="fakeassess:sup">Support Basics</option>' in options
    assert '<option value="p2">Support Engineer</option>' in options


def test_pagination(hub_app, seeded, as_role):
    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        for i in range(12):
            _invitation(1, attachment, "invited", name=f"Paged {i:02d}")
        db.session.commit()
    client = as_role("team_member")
    total = len(_all_ids(hub_app))
    first = client.get("/candidates").get_data(as_text=True)
    second = client.get("/candidates?page=2").get_data(as_text=True)
    assert len(_row_ids(first)) == 25 and len(_row_ids(second)) == total - 25
    assert not _row_ids(first) & _row_ids(second)
    assert f"Page 1 of 2 · {total} in all" in first and 'id="page-next" href="/candidates?page=2"' in first
    filtered = client.get("/candidates?status=invited&page=1").get_data(as_text=True)
    assert 'id="page-next"' not in filtered  # 12 + 5 invited fit on one page
    assert client.get("/candidates?page=abc").status_code == 200


def test_limited_team_member_sees_only_their_postings(hub_app, seeded, as_role):
    client = as_role("limited_team_member")
    html = client.get("/candidates").get_data(as_text=True)
    assert 'id="limited-notice"' in html
    visible = _row_ids(html)
    assert seeded.ids["invitation_p2"] not in visible
    assert visible == _all_ids(hub_app) - {seeded.ids["invitation_p2"]}
    assert '<option value="p2">' not in html  # not even the posting's name in the filters
    assert client.get(f"/candidates/{seeded.ids['invitation_p2']}").status_code == 404
    assert client.get(f"/candidates/{seeded.ids['invitation']}").status_code == 200
    api = hub_app.test_client()
    headers = api_headers(seeded, "limited_team_member")
    listed = api.get("/api/v1/invitations?per_page=100", headers=headers).get_json()
    assert {item["id"] for item in listed["items"]} == visible and listed["total"] == len(visible)
    assert api.get(f"/api/v1/invitations/{seeded.ids['invitation_p2']}", headers=headers).status_code == 404
    # the team member sees both postings
    assert seeded.ids["invitation_p2"] in _row_ids(as_role("team_member").get("/candidates").get_data(as_text=True))


def test_limited_member_sees_nothing_when_the_source_is_unreachable(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    client = as_role("limited_team_member")
    source.fail = vendor_error("Fake ATS timed out")
    response = client.get("/candidates")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert _row_ids(html) == set()
    assert 'id="visibility-notice"' in html and "the hub could not read from Fake ATS" in html
    assert "Fake ATS timed out" not in html  # the vendor's error is for the log, not for her
    assert client.get(f"/candidates/{seeded.ids['invitation']}").status_code == 503  # not "no such invitation"
    assert client.get("/").status_code == 200
    # one live read per request, however many queries use it
    source.calls.clear()
    source.fail = None
    client.get("/candidates")
    assert source.calls.count("source_list_postings") == 1


def test_detail_page_with_timeline(hub_app, seeded, as_role):
    invitation_id = seeded.ids["invitation"]
    with hub_app.app_context():
        from hub.engine.invitations import add_timeline

        row = db.session.get(Invitation, invitation_id)
        add_timeline(db.session, row, "note_written", "fakesource", "score note written to the ATS")
        db.session.commit()
    html = as_role("team_member").get(f"/candidates/{invitation_id}").get_data(as_text=True)
    assert '<h1 id="candidate-name">Ada Lovelace</h1>' in html
    assert 'id="invitation-status" data-status="completed">Completed' in html
    assert 'id="report-link"' in html and 'id="profile-link"' in html
    timeline = re.search(r'<ol class="timeline" id="timeline">(.*?)</ol>', html, re.S).group(1)
    assert timeline.index('data-kind="created"') < timeline.index('data-kind="note_written"')
    assert "score note written to the ATS" in timeline and "by the hub (for Fake ATS)" in timeline
    assert "<time datetime=" in timeline
    # a Team Member sees no actions
    assert 'id="reinvite-button"' not in html and 'id="cancel-button"' not in html


def test_the_detail_says_whether_the_pass_threshold_was_reached(hub_app, seeded, as_role):
    """The admin guide said the threshold is shown with the result; it was shown nowhere."""
    invitation_id = seeded.ids["invitation"]  # 81 / 100
    client = as_role("team_member")
    assert 'id="invitation-pass"' not in client.get(f"/candidates/{invitation_id}").get_data(as_text=True)
    for threshold, words in ((80, "passed the pass threshold (80%)"), (85, "below the pass threshold (85%)")):
        with hub_app.app_context():
            row = db.session.get(Invitation, invitation_id)
            row.pass_threshold = threshold  # the attachment's when the result was recorded
            row.attachment.options = {**(row.attachment.options or {}), "pass_threshold": 99}  # edited since
            db.session.commit()
        html = client.get(f"/candidates/{invitation_id}").get_data(as_text=True)
        assert words in re.search(r'id="invitation-pass"[^>]*>(.*?)</span>', html, re.S).group(1)


def test_unsafe_links_are_not_rendered(hub_app, seeded, as_role):
    with hub_app.app_context():
        row = db.session.get(Invitation, seeded.ids["invitation"])
        row.report_url = "javascript:alert(1)"
        db.session.commit()
    answer = as_role("admin").get(f"/candidates/{seeded.ids['invitation']}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="invitation-score"' in html  # the result shown, without its link
    assert "javascript:" not in html and 'id="report-link"' not in html


def test_reinvite_and_cancel(hub_app, seeded, as_role, fakes):
    _, assess = fakes
    client = as_role("admin")
    failed_id = seeded.per_role["admin"]["inv_reinvite_ui"]
    page = client.get(f"/candidates/{failed_id}").get_data(as_text=True)
    assert 'id="reinvite-button"' in page and 'id="cancel-button"' not in page
    response = client.post(f"/candidates/{failed_id}/reinvite", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "The invitation is being sent again." in html
    assert 'id="invitation-status" data-status="pending"' in html and "round 2" in html
    with hub_app.app_context():
        row = db.session.get(Invitation, failed_id)
        assert (row.status, row.round, row.failure_reason) == ("pending", 2, None)
        kinds = db.session.scalars(sa.select(TimelineEntry.kind).where(TimelineEntry.invitation_id == failed_id)).all()
        assert kinds[-1] == "reinvite"
    assert assess.reinvites == [failed_id]  # the provider was asked (the queue runs inline in tests)
    # a second re-invite of a pending invitation is refused with a message
    again = client.post(f"/candidates/{failed_id}/reinvite", follow_redirects=True)
    assert "cannot be sent again" in again.get_data(as_text=True)

    open_id = seeded.per_role["admin"]["inv_cancel_ui"]
    response = client.post(f"/candidates/{open_id}/cancel", follow_redirects=True)
    assert "The invitation is cancelled." in response.get_data(as_text=True)
    with hub_app.app_context():
        assert db.session.get(Invitation, open_id).status == "cancelled"
    assert (open_id, "cancelled") in assess.statuses
    assert "cannot be cancelled" in client.post(f"/candidates/{open_id}/cancel", follow_redirects=True).get_data(
        as_text=True)


def test_empty_state(make_app, fakes):
    source, assess = fakes
    app = make_app(plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)
    with app.app_context():
        from tests.web.support import make_user

        make_user(1, "lonely@acme.test", "admin")
        db.session.commit()
    from tests.web.support import sign_in

    client = app.test_client()
    sign_in(client, "lonely@acme.test")
    html = client.get("/candidates").get_data(as_text=True)
    # nothing is connected yet: an Admin is told who connects the ATS (see also test_empty_states.py)
    assert 'id="no-candidates" data-reason="no-source"' in html and "No ATS is connected" in html
    assert "A Super Admin can enable and connect it" in html and 'href="/integrations"' in html


def test_with_the_provider_disabled_re_invite_and_cancel_are_refused_and_say_why(hub_app, seeded, as_role, fakes):
    """The event asking the provider would reach nobody: a re-invited invitation would wait in
    "pending" for good (and a second re-invite be refused), a cancel never reach the vendor."""
    from hub import services
    from hub.runtime import get_runtime

    _, assess = fakes
    failed_id = seeded.per_role["admin"]["inv_reinvite_ui"]
    open_id = seeded.per_role["admin"]["inv_cancel_ui"]
    with hub_app.app_context():
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", False, "test")
    client = as_role("admin")
    page = client.get(f"/candidates/{failed_id}").get_data(as_text=True)
    assert 'id="reinvite-button"' not in page and 'id="provider-disabled-note"' in page
    refused = client.post(f"/candidates/{failed_id}/reinvite", follow_redirects=True).get_data(as_text=True)
    assert "is not enabled; enable it first, so that it can send the invitation again" in refused
    api = hub_app.test_client()
    answer = api.post(f"/api/v1/invitations/{open_id}/cancel", headers=api_headers(seeded, "admin"))
    assert answer.status_code == 409 and "so that it can withdraw the invitation" in answer.get_json()["error"]["message"]
    with hub_app.app_context():
        assert db.session.get(Invitation, failed_id).status == "failed"
        assert db.session.get(Invitation, open_id).status == "invited"
    assert assess.reinvites == [] and assess.statuses == []

    with hub_app.app_context():
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", True, "test")
    assert client.post(f"/candidates/{failed_id}/reinvite").status_code == 302
    assert assess.reinvites == [failed_id]


def test_with_the_provider_revoked_an_open_invitation_can_still_be_cancelled_in_the_hub(hub_app, seeded, as_role,
                                                                                      fakes):
    """A revoked provider reaches its vendor no more: its open invitations could never be closed
    otherwise. The cancel says the vendor was not told; a re-invite waits for a new connection."""
    from hub import services
    from hub.runtime import get_runtime

    _, assess = fakes
    open_id = seeded.per_role["admin"]["inv_cancel_ui"]
    failed_id = seeded.per_role["admin"]["inv_reinvite_ui"]
    with hub_app.app_context():
        services.revoke(get_runtime(), seeded.workspace_id, "fakeassess", "test")
    client = as_role("admin")
    page = client.get(f"/candidates/{open_id}").get_data(as_text=True)
    assert 'id="cancel-button"' in page and "Fake Tests is disconnected, so it will not be told" in page
    done = client.post(f"/candidates/{open_id}/cancel", follow_redirects=True).get_data(as_text=True)
    assert "cancelled in the hub; Fake Tests is disconnected, so it was not told" in done
    page = client.get(f"/candidates/{failed_id}").get_data(as_text=True)
    assert 'id="reinvite-button"' not in page and 'id="provider-gone-note"' in page
    answer = hub_app.test_client().post(f"/api/v1/invitations/{failed_id}/reinvite",
                                        headers=api_headers(seeded, "admin"))
    assert answer.status_code == 409
    with hub_app.app_context():
        assert db.session.get(Invitation, open_id).status == "cancelled"
        assert db.session.get(Invitation, failed_id).status == "failed"
    assert assess.statuses == [] and assess.reinvites == []  # nothing reached the provider


def test_a_pending_invitation_of_a_disabled_provider_says_how_it_gets_sent(hub_app, seeded, as_role):
    from hub import services
    from hub.runtime import get_runtime

    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        waiting = _invitation(seeded.workspace_id, attachment, "pending").id
        db.session.commit()
        services.set_enabled(get_runtime(), seeded.workspace_id, "fakeassess", False, "test")
    page = as_role("admin").get(f"/candidates/{waiting}").get_data(as_text=True)
    note = re.search(r'<p class="small muted" id="provider-disabled-note">(.*?)</p>', page, re.S).group(1)
    assert "not being sent" in note and "replay its cancelled delivery on Activity" in note
    assert 'id="cancel-button"' not in page
    with hub_app.app_context():
        assert db.session.get(Invitation, waiting).status == "pending"  # left for the replay to send


def test_search_matches_names_whatever_their_case_and_accents(hub_app, seeded, as_role):
    """SQLite's own lower() folds ASCII only: "Émile" was not found by its own spelling; and no
    database found "José" for "jose", as a recruiter types it."""
    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        zola = _invitation(1, attachment, "invited", name="Émile Zola", email="zola@mail.test").id
        smith = _invitation(1, attachment, "invited", name="ÅSA ÖBERG", email="Øystein@MAIL.test").id
        jose = _invitation(1, attachment, "invited", name="José Núñez-Straße", email="jn@mail.test").id
        db.session.commit()
    client = as_role("team_member")
    api = hub_app.test_client()
    headers = api_headers(seeded, "team_member")
    for query, expected in (("Émile", {zola}), ("émile", {zola}), ("ÉMILE ZOLA", {zola}), ("Zola", {zola}),
                            ("EMILE", {zola}), ("åsa öberg", {smith}), ("Asa Oberg", {smith}), ("Åsa", {smith}),
                            ("øYSTEIN@mail", {smith}), ("jose nunez", {jose}), ("NÚÑEZ-STRASSE", {jose}),
                            ("josé  núñez", set()), ("zola zola@mail", set())):
        assert _row_ids(client.get("/candidates", query_string={"q": query}).get_data(as_text=True)) == expected, query
        listed = api.get("/api/v1/invitations", query_string={"q": query}, headers=headers).get_json()
        assert {item["id"] for item in listed["items"]} == expected, query


def test_the_search_follows_a_changed_name_and_finds_no_erased_candidate(hub_app, seeded, as_role):
    from hub.engine.ingest import erase_candidate

    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        row = _invitation(1, attachment, "invited", name="Zoë Old", email="zoe@mail.test")
        db.session.commit()
        row.candidate_name = "Zoë Néw"
        db.session.commit()
        invitation_id, opportunity = row.id, row.opportunity_id
    client = as_role("admin")
    assert _row_ids(client.get("/candidates?q=zoe new").get_data(as_text=True)) == {invitation_id}
    assert _row_ids(client.get("/candidates?q=old").get_data(as_text=True)) == set()
    with hub_app.app_context():
        erase_candidate(db.session, 1, opportunity)
        db.session.commit()
        assert db.session.get(Invitation, invitation_id).search_text is None
    assert _row_ids(client.get("/candidates?q=zoe").get_data(as_text=True)) == set()


def test_the_list_puts_the_most_recently_updated_invitation_first_and_the_api_keeps_creation_order(
        hub_app, seeded, as_role):
    """The "Updated" column is the list's order: an invitation made long ago whose result just
    arrived comes first; the JSON API pages in the stable newest-first order it documents."""
    from datetime import timedelta

    from hub.store.models import utcnow

    with hub_app.app_context():
        ids = list(db.session.scalars(sa.select(Invitation.id).where(Invitation.workspace_id == 1)
                                      .order_by(Invitation.id)))
        oldest, newest = ids[0], ids[-1]
        now = utcnow()
        for offset, invitation_id in enumerate(ids):  # creation order, one minute apart, all in the past
            db.session.execute(sa.update(Invitation).where(Invitation.id == invitation_id)
                               .values(updated_at=now - timedelta(hours=2) + timedelta(minutes=offset)))
        db.session.execute(sa.update(Invitation).where(Invitation.id == oldest).values(updated_at=now))
        db.session.commit()

    html = as_role("admin").get("/candidates").get_data(as_text=True)
    listed = [int(i) for i in re.findall(r'<tr id="invitation-(\d+)"', html)]
    assert listed[0] == oldest and listed[1] == newest
    assert listed[1:] == sorted(listed[1:], reverse=True)

    api = as_role("admin").get("/api/v1/invitations", headers=api_headers(seeded, "admin")).get_json()
    assert [item["id"] for item in api["items"]][:2] == sorted(ids, reverse=True)[:2]


def test_a_search_of_marks_alone_finds_no_one(hub_app, seeded, as_role):
    """A lone combining accent folds to nothing: it matched every invitation."""
    html = as_role("admin").get("/candidates", query_string={"q": "\u0301"}).get_data(as_text=True)
    assert _row_ids(html) == set() and 'id="no-candidates"' in html


def test_a_search_that_finds_no_invitation_points_admins_to_activity(as_role):
    """A recruiter's "she was never invited" has no row here; what the hub received is on Activity."""
    admin = as_role("admin").get("/candidates?q=nobody-by-this-name").get_data(as_text=True)
    assert 'id="no-candidates-activity"' in admin and 'href="/activity#filter-about"' in admin
    member = as_role("team_member").get("/candidates?q=nobody-by-this-name").get_data(as_text=True)
    assert 'id="no-candidates"' in member and 'id="no-candidates-activity"' not in member  # no Activity for them


def _reinvite_page(client, invitation_id: int) -> tuple[str, str | None]:
    """The Re-invite button's confirmation and the cautions beside it (None: none shown)."""
    from html import unescape

    page = client.get(f"/candidates/{invitation_id}").get_data(as_text=True)
    confirm = unescape(re.search(r'id="reinvite-button" data-confirm="([^"]*)"', page).group(1))
    note = re.search(r'<p class="small muted" id="reinvite-cautions">(.*?)</p>', page, re.S)
    return confirm, unescape(note.group(1)) if note else None


def test_reinviting_an_archived_candidate_or_a_detached_assessment_says_so_first(hub_app, seeded, as_role):
    """A walk-through re-invited a candidate the hub had archived in the ATS on a thumbs down, for
    an assessment detached since, behind only "Send Data Analysis to Frank Fox again?"."""
    from hub.store.models import Event, utcnow

    client = as_role("admin")
    failed_id = seeded.per_role["admin"]["inv_reinvite_ui"]
    with hub_app.app_context():
        row = db.session.get(Invitation, failed_id)
        name, assessment, opportunity = row.candidate_name, row.assessment_name, row.opportunity_id
        detached = f"{assessment} is no longer attached to “{row.attachment.stage_name}” ({row.attachment.posting_name})."
        db.session.rollback()
    confirm, note = _reinvite_page(client, failed_id)
    assert confirm == f"Send {assessment} to {name} again?" and note is None  # nothing to say

    with hub_app.app_context():  # the ATS plugin archived them (its timeline note), and the stage lost the assessment
        row = db.session.get(Invitation, failed_id)
        db.session.add(TimelineEntry(invitation_id=failed_id, kind="archived", source="fakesource",
                                     detail="archived in Fake ATS on thumbs down"))
        row.attachment.detached_at = utcnow()
        db.session.commit()
    cautions = (f"{name} is archived in Fake ATS (the hub archived them there). "
                f"{detached}")
    confirm, note = _reinvite_page(client, failed_id)
    assert confirm == f"{cautions} Send {assessment} to {name} again?" and note == cautions

    with hub_app.app_context():  # a recruiter took them out of the archive since: the ATS's word is the latest
        db.session.add(Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="archive_change",
                             external_id="unarchived-1", subject=opportunity,
                             payload={"opportunity_id": opportunity, "archived": False}))
        db.session.commit()
    confirm, note = _reinvite_page(client, failed_id)
    assert note == detached
    # still possible: it may be meant
    assert client.post(f"/candidates/{failed_id}/reinvite", follow_redirects=True).status_code == 200
