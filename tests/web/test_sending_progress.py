"""A pending invitation's page says how its sending is going (found walking the UI with the vendor
down: the page showed a bare "Pending" while the hub was retrying): retrying and when, failed for
good, cancelled, or being sent now; the vendor's error and a link to Activity only for those who
may see Activity."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.extensions import db
from hub.store.models import Attachment, Delivery, Event, Invitation, utcnow
from tests.web.support import _invitation


def pending_with_delivery(app, seeded, status: str, attempts: int = 2, due_in: float = 600) -> int:
    """A pending invitation of the seeded attachment, and the delivery of its stage change to its
    provider in ``status``; returns the invitation's id."""
    with app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        row = _invitation(seeded.workspace_id, attachment, "pending", name="Bob Brown")
        event = Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="stage_change",
                      external_id=f"evt-sending-{row.id}", subject=row.opportunity_id,
                      payload={"opportunity_id": row.opportunity_id, "to_stage_id": attachment.stage_id})
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin=row.provider,
                                hook="on_stage_change", status=status, attempts=attempts,
                                next_attempt_at=utcnow() + timedelta(seconds=due_in),
                                last_error="TemporaryError: Fake Tests answered 503: down for maintenance"))
        db.session.commit()
        return row.id


def sending_text(page: str) -> str:
    assert 'id="invitation-sending"' in page, "the page says nothing about the sending"
    return page.split('id="invitation-sending"', 1)[1].split("</dd>", 1)[0]


def test_a_retrying_invitation_says_when_the_hub_tries_again(hub_app, seeded, as_role):
    invitation = pending_with_delivery(hub_app, seeded, "retry", attempts=2, due_in=600)
    text = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "Fake Tests has not taken the invitation yet (2 attempts so far)" in text
    assert "the hub tries again in 10 minutes, by itself." in text
    assert "Last error: Fake Tests answered 503: down for maintenance" in text
    with hub_app.app_context():
        opportunity = db.session.get(Invitation, invitation).opportunity_id
    assert f'href="/activity?plugin=fakeassess&amp;about={opportunity}"' in text  # this candidate's events


def test_a_retry_due_now_says_in_a_few_seconds_not_just_now(hub_app, seeded, as_role):
    invitation = pending_with_delivery(hub_app, seeded, "retry", attempts=1, due_in=5)
    text = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "(1 attempt so far); the hub tries again in a few seconds, by itself." in text


@pytest.mark.parametrize("role", ["team_member", "limited_team_member"])
def test_those_without_activity_see_the_progress_but_not_the_vendor_error(hub_app, seeded, as_role, role):
    invitation = pending_with_delivery(hub_app, seeded, "retry")
    page = as_role(role).get(f"/candidates/{invitation}").get_data(as_text=True)
    text = sending_text(page)
    assert "the hub tries again in 10 minutes" in text
    assert "down for maintenance" not in page and "/activity" not in text


def test_a_dead_sending_says_it_is_not_retried_and_what_to_do(hub_app, seeded, as_role):
    invitation = pending_with_delivery(hub_app, seeded, "dead", attempts=8)
    admin = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "Sending to Fake Tests failed for good after 8 attempts: it is not tried again by itself." in admin
    assert "replay it on Activity" in admin
    member = sending_text(as_role("team_member").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "Ask an Admin or a Super Admin to look at it." in member


def test_a_delivery_being_sent_says_so(hub_app, seeded, as_role):
    invitation = pending_with_delivery(hub_app, seeded, "running", attempts=1)
    text = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "The hub is sending it to Fake Tests now." in text


def test_an_invited_invitation_shows_no_sending_line(hub_app, seeded, as_role):
    answer = as_role("admin").get(f"/candidates/{seeded.ids['invitation_p2']}")
    page = answer.get_data(as_text=True)
    assert answer.status_code == 200 and 'id="invitation-details"' in page  # the candidate's page, shown
    assert 'id="invitation-sending"' not in page


def test_the_refresh_fragment_carries_the_progress_too(hub_app, seeded, as_role):
    invitation = pending_with_delivery(hub_app, seeded, "retry")
    fragment = as_role("admin").get(f"/candidates/{invitation}?fragment=1").get_data(as_text=True)
    assert "the hub tries again in 10 minutes" in sending_text(fragment)


def test_a_later_delivery_about_something_else_does_not_hide_a_dead_send(hub_app, seeded, as_role):
    """Found by review: the newest delivery of any event of the opportunity was shown, so a later
    move into another stage (done, or retrying for its own reasons) hid the send that died."""
    invitation = pending_with_delivery(hub_app, seeded, "dead", attempts=5)
    with hub_app.app_context():
        from hub.store.models import Invitation

        row = db.session.get(Invitation, invitation)
        for status, n in (("done", 1), ("retry", 2)):
            event = Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="stage_change",
                          external_id=f"evt-elsewhere-{invitation}-{n}", subject=row.opportunity_id,
                          payload={"opportunity_id": row.opportunity_id, "to_stage_id": "another-stage"})
            db.session.add(event)
            db.session.flush()
            db.session.add(Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin=row.provider,
                                    hook="on_stage_change", status=status, attempts=n, next_attempt_at=utcnow(),
                                    last_error="not this one"))
        db.session.commit()
    text = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "not this one" not in text
    assert "down for maintenance" in text and "5 attempts" in text
