"""Activity: events with their deliveries, redacted payloads, filters, replay, live refresh."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import quote

from hub.extensions import db
from hub.store.models import Delivery
from tests.web.support import SECRET_VALUE, api_headers


def test_events_with_deliveries_and_redacted_payloads(hub_app, seeded, as_role):
    html = as_role("admin").get("/activity").get_data(as_text=True)
    delivery_id = seeded.ids["delivery"]
    row = re.search(rf'<tr id="delivery-{delivery_id}" data-status="dead">(.*?)</tr>', html, re.S).group(1)
    assert "Fake Tests" in row and "on_stage_change" in row and ">8<" in row
    assert "TemporaryError: vendor down" in row and f'id="replay-{delivery_id}">Replay<' in row
    assert SECRET_VALUE not in html
    assert '"api_token": "[redacted]"' in html and '"to_stage_id": "s1"' in html
    api = hub_app.test_client().get("/api/v1/activity?per_page=200", headers=api_headers(seeded, "admin"))
    body = api.get_json()
    assert SECRET_VALUE not in api.get_data(as_text=True)
    event = next(e for e in body["items"] if any(d["id"] == delivery_id for d in e["deliveries"]))
    assert event["payload"]["api_token"] == "[redacted]"
    assert event["deliveries"][0]["status"] == "dead" and body["pending"] is False


def test_filters(hub_app, seeded, as_role):
    client = as_role("admin")
    with hub_app.app_context():
        row = db.session.get(Delivery, seeded.ids["delivery"])
        row.status = "done"
        db.session.commit()
    dead = client.get("/activity?status=dead").get_data(as_text=True)
    assert f'id="delivery-{seeded.ids["delivery"]}"' not in dead
    assert len(re.findall(r'<tr id="delivery-\d+" data-status="dead">', dead)) == 8  # the per-role ones
    none = client.get("/activity?plugin=fakesource&status=running").get_data(as_text=True)
    assert none.count('<article class="card event"') == 0 and "No events match these filters" in none
    api = hub_app.test_client()
    response = api.get("/api/v1/activity?status=bogus", headers=api_headers(seeded, "admin"))
    assert response.status_code == 422 and "status" in response.get_json()["error"]["fields"]


def test_replay_runs_the_delivery_again(hub_app, seeded, as_role, fakes):
    _, assess = fakes
    client = as_role("admin")
    delivery_id = seeded.per_role["admin"]["dlv_ui"]
    response = client.post(f"/activity/deliveries/{delivery_id}/replay", data={"next": "/activity?status=dead"})
    assert response.status_code == 302 and response.headers["Location"] == "/activity?status=dead"
    with hub_app.app_context():
        row = db.session.get(Delivery, delivery_id)
        assert row.status == "done" and row.attempts == 1 and row.last_error is None
    assert len(assess.stage_changes) == 1
    page = client.get("/activity").get_data(as_text=True)
    # said as the page names it (its step, whom its event is about, its plugin), never by the delivery's id
    assert "“Invite on the stage change” for candidate opp-" in page and "(Fake Tests) is queued to run again." in page
    assert f"Delivery {delivery_id}" not in page
    # a replay of a disabled plugin's delivery is refused with a message, not an error page
    as_role("super_admin").post("/integrations/fakeassess/disable")
    other = seeded.per_role["admin"]["dlv_api"]
    refused = client.post(f"/activity/deliveries/{other}/replay", follow_redirects=True)
    assert refused.status_code == 200 and "Fake Tests is not enabled" in refused.get_data(as_text=True)
    # open redirects are not followed
    assert client.post(f"/activity/deliveries/{other}/replay",
                       data={"next": "https://evil.example"}).headers["Location"] == "/activity"


def test_live_refresh_while_work_is_pending(hub_app, seeded, as_role):
    client = as_role("admin")
    quiet = client.get("/activity").get_data(as_text=True)
    assert 'data-pending="false"' in quiet and 'id="live-indicator"' not in quiet
    with hub_app.app_context():
        row = db.session.get(Delivery, seeded.ids["delivery"])
        row.status = "retry"
        db.session.commit()
    page = client.get("/activity?plugin=fakeassess").get_data(as_text=True)
    assert 'data-pending="true"' in page and 'id="live-indicator"' in page
    assert 'data-poll-url="/activity?plugin=fakeassess"' in page
    assert '<script src="/assets/hub.js" defer></script>' in page
    fragment = client.get("/activity?plugin=fakeassess&fragment=1")
    text = fragment.get_data(as_text=True)
    assert fragment.status_code == 200 and not text.lstrip().startswith("<!doctype")
    assert 'id="activity-events"' in text and "Retry now" in text
    js = client.get("/assets/hub.js")
    assert js.status_code == 200 and "fragment=1" in js.get_data(as_text=True)
    js.close()


def test_a_replay_next_with_a_control_character_or_outside_activity_is_not_followed(hub_app, seeded, as_role):
    client = as_role("admin")
    delivery_id = seeded.per_role["admin"]["dlv_ui"]
    # (a candidate's page is followed too: its "Not delivered" card replays through here)
    for bad in ("/activity\nX", "/activity?x=\r\nSet-Cookie: a=b", "/activity\t", "/users", "/activity/../users",
                "/activityx", "/candidates/../users"):
        response = client.post(f"/activity/deliveries/{delivery_id}/replay", data={"next": bad})
        assert response.status_code == 302 and response.headers["Location"] == "/activity", repr(bad)
    with hub_app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "done"
    kept = client.post(f"/activity/deliveries/{delivery_id}/replay", data={"next": "/activity?plugin=fakeassess&page=2"})
    assert kept.headers["Location"] == "/activity?plugin=fakeassess&page=2"


def test_replaying_a_delivery_of_a_disabled_plugin_is_a_conflict(hub_app, seeded, as_role):
    """The caller has the permission (403 means it has not): the delivery's state is the problem,
    as for re-invite and cancel while the provider is disabled."""
    as_role("super_admin").post("/integrations/fakeassess/disable")
    delivery_id = seeded.per_role["admin"]["dlv_api"]
    response = hub_app.test_client().post(f"/api/v1/deliveries/{delivery_id}/replay",
                                          headers=api_headers(seeded, "admin"))
    assert response.status_code == 409
    assert response.get_json()["error"] == {
        "code": "conflict", "message": "Fake Tests is not enabled; enable it before replaying its deliveries"}
    with hub_app.app_context():
        assert db.session.get(Delivery, delivery_id).status == "dead"


def test_a_backfill_event_is_titled_as_the_admin_s_backfill_not_as_a_stage_change(hub_app, seeded, as_role):
    """A backfill's made-up stage change (source hub, id ``backfill:...``) read "Stage change
    from hub", as if the ATS had reported a move; a real one keeps its title."""
    from hub.engine import backfill
    from hub.engine.ingest import ingest
    from hub.entities import InboundEvent, StageChange
    from hub.runtime import get_runtime

    attachment = seeded.ids["attachment"]
    with hub_app.app_context():
        runtime = get_runtime()
        made_up = ingest(runtime, seeded.workspace_id, backfill.SOURCE_NAME, InboundEvent(
            external_id=f"backfill:{attachment}/2:opp-backfilled",
            event=StageChange(opportunity_id="opp-backfilled", to_stage_id="s1", attachment_id=attachment)),
            wake=False).event_id
        reported = ingest(runtime, seeded.workspace_id, "fakesource", InboundEvent(
            external_id="backfill:looks-alike", event=StageChange(opportunity_id="opp-moved", to_stage_id="s1")),
            wake=False).event_id
    html = as_role("admin").get("/activity").get_data(as_text=True)

    def title(event_id: int) -> list[str]:
        found = re.search(rf'<article class="card event" id="event-{event_id}".*?<h2 class="event__title">(.*?)</h2>',
                          html, re.S)
        seen = re.sub(r'<span class="visually-hidden">.*?</span>', "", found.group(1))  # whom, when: for screen readers
        return unescape(re.sub(r"<[^>]+>", " ", seen)).split()

    assert title(made_up) == "Backfill request: candidate already in stage on an admin's request".split()
    assert title(reported) == "Stage change from Fake ATS".split()


def test_about_finds_everything_about_one_candidate_or_one_webhook_id(hub_app, seeded, as_role):
    """The Activity search an admin uses when a candidate "was not invited": their opportunity id
    (or the ATS page's address) lists their stage changes and the events about their invitations;
    a sender's webhook id finds that event; another workspace's events never show."""
    import sqlalchemy as sa

    from hub.store.models import Event, Invitation

    def event(ws, type_, subject, external_id):
        row = Event(workspace_id=ws, source_plugin="fakesource" if type_ == "stage_change" else "fakeassess",
                    type=type_, external_id=external_id, subject=subject, payload={})
        db.session.add(row)
        db.session.flush()
        return row.id

    with hub_app.app_context():
        ada = db.session.get(Invitation, seeded.ids["invitation"])
        opportunity = ada.opportunity_id
        moved = event(1, "stage_change", opportunity, "lever-webhook-1")
        completed = event(1, "assessment_completed", f"invitation:{ada.id}", "canditech-done-1")
        other_ws = db.session.scalar(sa.select(Invitation.workspace_id).where(Invitation.workspace_id != 1).limit(1))
        elsewhere = event(other_ws, "stage_change", opportunity, "lever-webhook-2")
        # an opportunity whose id looks like an invitation subject stays an opportunity
        lookalike = event(1, "stage_change", "invitation:999999", "lever-webhook-3")
        # an ATS whose candidate page is not named by the opportunity id's own path segment
        ada.profile_url = "https://ats.example/people/7?application_id=41"
        db.session.commit()

    def listed(query: str) -> list[int]:
        html = as_role("admin").get(f"/activity?{query}").get_data(as_text=True)
        return [int(i) for i in re.findall(r'<article class="card event" id="event-(\d+)"', html)]

    assert listed(f"about={opportunity}") == [completed, moved]
    assert listed(f"about=https://ats.example/candidates/{opportunity}%3Fsource%3Dmail") == [completed, moved]
    assert listed("about=lever-webhook-1") == [moved] and listed("about=canditech-done-1") == [completed]
    # the address the source gave for the candidate's page, as an invitation recorded it
    page = quote("https://ats.example/people/7?application_id=41", safe="")
    assert listed(f"about={page}") == [completed, moved]
    # an address the source gave for two opportunities names neither: the search falls back to its
    # last path segment ("7"), which is no candidate's id here
    # (Grace's opportunity has an event too, so that answering with either opportunity lists one)
    with hub_app.app_context():
        grace = db.session.get(Invitation, seeded.ids["invitation_p2"])
        grace_opportunity = grace.opportunity_id
        assert grace_opportunity != opportunity
        grace_moved = event(1, "stage_change", grace_opportunity, "lever-webhook-4")
        grace_page, grace.profile_url = grace.profile_url, "https://ats.example/people/7?application_id=41"
        db.session.commit()
    assert listed(f"about={grace_opportunity}") == [grace_moved]
    assert listed(f"about={page}") == []
    with hub_app.app_context():
        grace = db.session.get(Invitation, seeded.ids["invitation_p2"])
        grace.profile_url = grace_page
        ada = db.session.get(Invitation, seeded.ids["invitation"])
        # two invitations of one opportunity (two attachments) with that address still name it
        db.session.add(Invitation(workspace_id=1, attachment_id=grace.attachment_id, opportunity_id=opportunity,
                                  profile_url=ada.profile_url, provider=ada.provider, assessment_id=ada.assessment_id,
                                  assessment_name=ada.assessment_name, status="invited"))
        db.session.commit()
    assert listed(f"about={page}") == [completed, moved]
    # an address whose host urlsplit refuses (half an IPv6 address) was a 500; its path still names the candidate
    assert listed(f"about=https://%5Bats/candidates/{opportunity}") == [completed, moved]
    broken = as_role("admin").get("/activity?about=http://%5B")
    assert broken.status_code == 200 and "No event about “http://[”" in broken.get_data(as_text=True)
    assert elsewhere not in listed("about=lever-webhook-2") and lookalike not in listed(f"about={opportunity}")
    assert listed(f"about={opportunity}&plugin=fakesource") == [moved]

    nothing = as_role("admin").get("/activity?about=opp-nobody").get_data(as_text=True)
    assert "No event about “opp-nobody”" in nothing and "webhook log" in nothing

    # the stage change the admin looks for went to the ATS's refused webhooks: a link, not a riddle
    link = re.search(r'<a href="([^"]+)" id="no-activity-webhook-log">([^<]+)</a>', nothing)
    assert link and unescape(link.group(1)) == "/integrations/fakesource?outcome=rejected#webhook-log-card"
    assert unescape(link.group(2)) == "Fake ATS's webhook log"
    assert "If none is listed there either, Fake ATS sent nothing" in unescape(nothing)

    api = hub_app.test_client()
    body = api.get(f"/api/v1/activity?about={opportunity}", headers=api_headers(seeded, "admin")).get_json()
    assert [item["id"] for item in body["items"]] == [completed, moved]
    body = api.get(f"/api/v1/activity?about={page}", headers=api_headers(seeded, "admin")).get_json()
    assert [item["id"] for item in body["items"]] == [completed, moved]
    body = api.get("/api/v1/activity?about=http://%5B", headers=api_headers(seeded, "admin"))
    assert body.status_code == 200 and body.get_json()["items"] == []
    empty = api.get("/api/v1/activity?about=", headers=api_headers(seeded, "admin"))
    assert empty.status_code == 422 and "about" in empty.get_json()["error"]["fields"]
    blank = api.get("/api/v1/activity?about=%20%09", headers=api_headers(seeded, "admin"))  # matched nothing
    assert blank.status_code == 422 and blank.get_json()["error"]["fields"] == {"about": [
        "Give an opportunity's id, its page's address at the ATS, or an event's id, not only spaces."]}


def test_a_candidates_page_links_to_everything_about_them_on_activity(hub_app, seeded, as_role):
    from urllib.parse import parse_qs, urlsplit

    from hub.store.models import Invitation

    invitation_id = seeded.ids["invitation"]
    with hub_app.app_context():
        opportunity = db.session.get(Invitation, invitation_id).opportunity_id
    html = as_role("admin").get(f"/candidates/{invitation_id}").get_data(as_text=True)
    link = unescape(re.search(r'<a href="([^"]+)" id="activity-link">', html).group(1))
    assert urlsplit(link).path == "/activity" and parse_qs(urlsplit(link).query) == {"about": [opportunity]}
    assert 'id="activity-link"' not in as_role("team_member").get(f"/candidates/{invitation_id}").get_data(as_text=True)


def test_a_stage_change_that_invited_nobody_says_why(hub_app, seeded, as_role):
    """Its deliveries were "done" (each provider looked, found nothing to do), and Activity said
    "Delivered": no assessment was attached to the stage when it arrived, or the attached one's
    provider was disabled then (and so got no delivery)."""
    from datetime import timedelta

    from hub.store.models import Attachment, Event, utcnow

    now = utcnow()
    with hub_app.app_context():
        attached = Attachment(workspace_id=seeded.workspace_id, posting_id="p1", posting_name="Python Developer",
                              stage_id="s-screen", stage_name="Phone Screen", provider="fakeassess",
                              assessment_id="py", assessment_name="Python Developer", options={},
                              created_at=now - timedelta(hours=2))
        db.session.add(attached)

        def moved(stage, at, delivered_to):
            event = Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="stage_change",
                          external_id=f"move-{stage}-{at.timestamp()}-{delivered_to}", subject="opp-move",
                          payload={"opportunity_id": "opp-move", "to_stage_id": stage}, received_at=at)
            db.session.add(event)
            db.session.flush()
            for plugin in delivered_to:
                db.session.add(Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin=plugin,
                                        hook="on_stage_change", status="done", attempts=1))
            return event.id

        unattached = moved("s-other", now, ["fakeassess"])
        before = moved("s-screen", now - timedelta(hours=3), ["fakeassess"])
        disabled = moved("s-screen", now - timedelta(hours=1), [])
        invited = moved("s-screen", now - timedelta(minutes=5), ["fakeassess"])
        db.session.commit()

    html = unescape(as_role("admin").get("/activity?about=opp-move").get_data(as_text=True))

    def note(event_id):
        return " ".join(re.search(rf'<p class="small card__body" id="stage-note-{event_id}">(.*?)</p>', html, re.S)
                        .group(1).split())

    def badge(event_id):
        return re.search(rf'id="summary-{event_id}" data-status="[^"]*">([^<]*)<', html).group(1)

    # a stage no attachment ever had (most of a pipeline's): said plainly, no warning
    assert note(unattached) == "Into stage s-other. No assessment is attached to it." and badge(unattached) == "Delivered"
    assert "No assessment was attached to “Phone Screen” when this arrived: nobody was invited for it." in note(before)
    assert 'An assessment is attached to it now: <a href="/pipeline?q=Phone+Screen"' in note(before)
    assert "Fake Tests got no delivery of it (it was not enabled when it arrived)" in note(disabled)
    assert note(invited) == "Into “Phone Screen”." and badge(invited) == "Delivered"
