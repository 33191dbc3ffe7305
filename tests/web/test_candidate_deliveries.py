"""A candidate's page names the deliveries about their invitation that are not done (found in a
walk-through with Lever down: the page showed "Completed 81/100" and "Thumbs up just now", and
nothing said that the note with the result never reached Lever, or that the verdict still waited):
per plugin, what it carries, its status in words and, for those who may see Activity, its last
error, a link to Activity and a Replay button, all read in one query."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, Delivery, Event, Integration, Invitation, utcnow
from tests.web.support import _invitation

LEVER_DOWN = "TemporaryError: Fake ATS answered 503 Service Unavailable"


def add_delivery(app, seeded, invitation_id: int, event_type: str, hook: str, status: str, *,
                 plugin: str = "fakesource", attempts: int = 3, last_error: str | None = LEVER_DOWN,
                 payload: dict | None = None, subject: str | None = None, due_in: float = 600) -> int:
    """An event about the invitation (``invitation:<id>``, or ``subject``) and its delivery to
    ``plugin``; returns the delivery's id."""
    with app.app_context():
        event = Event(workspace_id=seeded.workspace_id, source_plugin="fakeassess", type=event_type,
                      external_id=f"evt-{event_type}-{invitation_id}-{hook}-{status}-{plugin}-{subject}",
                      subject=subject or f"invitation:{invitation_id}",
                      payload={"invitation_id": invitation_id, **(payload or {})})
        db.session.add(event)
        db.session.flush()
        delivery = Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin=plugin, hook=hook,
                            status=status, attempts=attempts, last_error=last_error,
                            next_attempt_at=utcnow() + timedelta(seconds=due_in))
        db.session.add(delivery)
        db.session.commit()
        return delivery.id


def section(page: str) -> str:
    assert 'id="undelivered"' in page, "the page says nothing about the deliveries not done"
    return page.split('id="undelivered"', 1)[1].split("</section>", 1)[0]


def row_of(page: str, delivery_id: int) -> str:
    match = re.search(rf'<li id="undelivered-{delivery_id}"(.*?)</li>', section(page), re.S)
    assert match, f"delivery {delivery_id} is not listed"
    return html.unescape(re.sub(r"\s+", " ", match.group(1)))


def test_a_result_note_that_never_reached_the_ats_is_named_with_its_error_activity_and_replay(
        hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]  # completed, 81 / 100
    dead = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead",
                        attempts=20)
    page = as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True)
    row = row_of(page, dead)
    with hub_app.app_context():
        opportunity = db.session.get(Invitation, invitation).opportunity_id
    assert "Fake ATS" in row and "the result" in row
    assert "Failed for good after 20 attempts: it is not tried again by itself." in row
    assert f"Last error: {LEVER_DOWN.removeprefix('TemporaryError: ')}" in row  # the message, not the class
    link = re.search(r'href="(/activity\?[^"]+)"', row).group(1)
    assert parse_qs(urlsplit(link).query) == {"plugin": ["fakesource"], "status": ["dead"], "about": [opportunity]}
    listed = as_role("admin").get(link).get_data(as_text=True)  # the link leads to this delivery
    assert re.findall(r'<tr id="delivery-(\d+)"', listed) == [str(dead)]
    assert f'action="/activity/deliveries/{dead}/replay"' in row and ">Replay<" in row
    # the score says it too, next to itself
    score = page.split('id="invitation-score"', 1)[1].split("</dd>", 1)[0]
    assert "not delivered to Fake ATS" in score


def test_a_verdict_waiting_or_retrying_is_named_with_when_it_is_tried_again(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    with hub_app.app_context():
        row = db.session.get(Invitation, invitation)
        row.verdict, row.verdict_at = "thumbs_up", utcnow()
        db.session.commit()
    waiting = add_delivery(hub_app, seeded, invitation, "verdict", "on_verdict", "retry", attempts=0,
                           last_error="deferred: the completion note is not in Lever yet; the verdict follows it",
                           payload={"verdict": "thumbs_up"})
    client = as_role("admin")
    page = client.get(f"/candidates/{invitation}").get_data(as_text=True)
    row = row_of(page, waiting)
    assert "the verdict" in row and "waiting" in row.lower()
    assert "the completion note is not in Lever yet; the verdict follows it" in row
    assert "deferred: " not in row  # the engine's prefix is no word for people
    assert "Retry now" in row
    verdict = page.split('id="invitation-verdict"', 1)[1].split("</dd>", 1)[0]
    assert "Thumbs up" in verdict and "not delivered to Fake ATS" in verdict

    with hub_app.app_context():  # now failing for its own reasons
        db.session.get(Delivery, waiting).last_error = LEVER_DOWN
        db.session.get(Delivery, waiting).attempts = 2
        db.session.commit()
    row = row_of(client.get(f"/candidates/{invitation}").get_data(as_text=True), waiting)
    assert "2 attempts so far" in row and "in 10 minutes" in row
    assert f"Last error: {LEVER_DOWN.removeprefix('TemporaryError: ')}" in row


def test_a_cancelled_delivery_says_it_was_not_sent(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    cancelled = add_delivery(hub_app, seeded, invitation, "invitation_progress", "on_invitation_status", "cancelled",
                             last_error="integration disabled or revoked", payload={"status": "failed"})
    row = row_of(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True), cancelled)
    assert "Fake ATS" in row and "the invitation's status (failed)" in row and "cancelled" in row.lower()
    assert ">Replay<" in row


def test_only_deliveries_not_done_and_about_this_invitation_are_listed(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    other = seeded.ids["invitation_p2"]
    with hub_app.app_context():
        opportunity = db.session.get(Invitation, invitation).opportunity_id
    quiet = [add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", status)
             for status in ("done", "pending", "running")]
    quiet.append(add_delivery(hub_app, seeded, other, "verdict", "on_verdict", "dead"))  # another invitation
    # an earlier round's news: the engine cancels it as superseded, replaying it would too
    quiet.append(add_delivery(hub_app, seeded, invitation, "verdict", "on_verdict", "dead", payload={"round": 7}))
    # about the opportunity, to a plugin that is not its provider, or the send (the Sending line's)
    quiet.append(add_delivery(hub_app, seeded, invitation, "archive_change", "on_archive_change", "dead",
                              plugin="fakesource", subject=opportunity))
    quiet.append(add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "dead",
                              plugin="fakeassess", subject=opportunity, payload={"to_stage_id": "s1"}))
    shown = add_delivery(hub_app, seeded, invitation, "archive_change", "on_archive_change", "dead",
                         plugin="fakeassess", subject=opportunity, payload={"archived": True})
    page = as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True)
    assert set(map(int, re.findall(r'<li id="undelivered-(\d+)"', section(page)))) == {shown}
    assert "Fake Tests" in row_of(page, shown) and "the archiving" in row_of(page, shown)
    # nothing to say: no section
    other_page = as_role("admin").get(f"/candidates/{seeded.per_role['admin']['inv_cancel_ui']}").get_data(
        as_text=True)
    assert 'id="undelivered"' not in other_page


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_those_without_activity_are_told_but_see_no_error_link_or_button(hub_app, seeded, as_role, role):
    invitation = seeded.ids["invitation"]  # on p1, which the Limited Team Member follows
    dead = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead")
    page = as_role(role).get(f"/candidates/{invitation}").get_data(as_text=True)
    row = row_of(page, dead)
    assert "the result" in row and "Failed for good after 3 attempts" in row and "Ask an Admin or a Super Admin" in row
    assert "503 Service Unavailable" not in page and "/activity" not in row and "replay" not in row.lower()


def test_the_replay_button_replays_through_the_activity_route(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    dead = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead")
    client = as_role("admin")
    page = client.get(f"/candidates/{invitation}").get_data(as_text=True)
    form = re.search(rf'<form method="post" action="/activity/deliveries/{dead}/replay".*?</form>', page, re.S).group(0)
    data = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    response = client.post(f"/activity/deliveries/{dead}/replay", data=data)
    # back to the candidate's page, where the replay was asked for (it landed on Activity)
    assert response.status_code == 302 and response.headers["Location"] == f"/candidates/{invitation}"
    with hub_app.app_context():
        assert db.session.get(Delivery, dead).status != "dead"  # replayed (the queue runs inline in tests)


def test_the_refresh_fragment_lists_them_too(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    dead = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead")
    assert "the result" in row_of(as_role("admin").get(f"/candidates/{invitation}?fragment=1").get_data(
        as_text=True), dead)


def test_the_deliveries_are_read_in_one_query_however_many(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    client = as_role("admin")

    def statements() -> int:
        seen = []

        def count(conn, cursor, statement, parameters, context, executemany):
            seen.append(statement)

        with hub_app.app_context():
            engine = db.engine
        sa.event.listen(engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/candidates/{invitation}").status_code == 200
        finally:
            sa.event.remove(engine, "before_cursor_execute", count)
        return len(seen)

    add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead")
    one = statements()
    for n in range(6):
        add_delivery(hub_app, seeded, invitation, "verdict", "on_verdict", ("dead", "retry", "cancelled")[n % 3],
                     plugin=f"plugin{n}")
    assert statements() == one


def test_a_pending_invitations_send_stays_in_the_sending_line_only(hub_app, seeded, as_role):
    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        row = _invitation(seeded.workspace_id, attachment, "pending", name="Bob Brown")
        db.session.commit()
        invitation, opportunity = row.id, row.opportunity_id
    send = add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "dead", plugin="fakeassess",
                        subject=opportunity, payload={"to_stage_id": "s1"})
    page = as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True)
    assert "failed for good" in page.split('id="invitation-sending"', 1)[1].split("</dd>", 1)[0]
    assert f'id="undelivered-{send}"' not in page


def test_the_replay_goes_back_only_to_the_hubs_own_pages(hub_app, seeded, as_role):
    invitation = seeded.ids["invitation"]
    client = as_role("admin")
    dead = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead")
    for target, back in [("/users", "/activity"), ("https://evil.example/candidates/1", "/activity"),
                         ("/candidates/../users", "/activity"), (f"/candidates/{invitation}", f"/candidates/{invitation}")]:
        response = client.post(f"/activity/deliveries/{dead}/replay", data={"next": target})
        assert response.headers["Location"] == back, target


def test_a_replay_of_a_plugin_not_enabled_is_shown_disabled_with_the_reason_as_on_activity(hub_app, seeded, as_role):
    """The click would end in "Fake ATS is not enabled; enable it before replaying its deliveries."
    (the server's refusal stays the guard): the button is disabled and says why instead."""
    from hub import services
    from hub.runtime import get_runtime

    invitation = seeded.ids["invitation"]
    dead = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "dead",
                        attempts=20)
    client = as_role("admin")
    assert f'action="/activity/deliveries/{dead}/replay"' in row_of(client.get(f"/candidates/{invitation}")
                                                                    .get_data(as_text=True), dead)
    with hub_app.app_context():
        services.set_enabled(get_runtime(), 1, "fakesource", False, "test")
    page = client.get(f"/candidates/{invitation}").get_data(as_text=True)
    row = row_of(page, dead)
    assert "<form" not in row and "Enable Fake ATS to replay" in row
    button = re.search(rf'<button [^>]*id="undelivered-{dead}-replay"[^>]*>', page).group(0)
    assert " disabled " in button and 'aria-disabled="true"' in button and 'type="button"' in button


def test_a_delivery_waiting_for_its_plugin_s_reconnection_says_so_and_that_it_goes_on_by_itself(
        hub_app, seeded, as_role):
    """Not "0 attempts so far; the hub tries again": the hub calls nobody until the connection is
    reconnected, then it goes on by itself; its Retry now is refused meanwhile (the connection needs
    reconnecting), with the step before it, but no replay is needed after that step."""
    invitation = seeded.ids["invitation"]
    waiting = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "retry",
                           attempts=0, last_error="waiting for reconnection: Fake ATS rejected the API key")
    with hub_app.app_context():
        row = db.session.scalar(sa.select(Integration).where(Integration.plugin == "fakesource"))
        row.status, row.status_message = "needs_reauthorization", "Fake ATS rejected the API key"
        db.session.commit()
    client = as_role("admin")
    row = row_of(client.get(f"/candidates/{invitation}").get_data(as_text=True), waiting)
    assert "Waiting for Fake ATS to be reconnected" in row and "goes on by itself" in row
    assert "attempts so far" not in row
    assert "Why it waits: Fake ATS rejected the API key" in row and "waiting for reconnection: " not in row
    assert "then replay its deliveries" not in row and "this delivery then goes on by itself" in row

    listed = client.get("/activity?status=retry").get_data(as_text=True)
    note = re.search(rf'id="replay-{waiting}-note">([^<]*)<', listed).group(1)
    assert "this delivery then goes on by itself" in html.unescape(note)
    assert "then replay its deliveries" not in note
