"""A provider's delivery that needed the ATS while none was enabled (Lever revoked or disabled)
retries with "no source (ATS) integration is enabled in this workspace", its backoff growing (up
to an hour). Once the ATS is connected again and answers, that work goes on at once, as the work
waiting for the ATS's re-authorization does (test_reconnect_wakes_waiting.py); it used to sit out
its backoff (found by a walk revoking and reconnecting Lever while an invitation waited)."""

from __future__ import annotations

from hub.extensions import db
from hub.store.models import Delivery, utcnow
from tests.web.test_candidate_deliveries import add_delivery

NO_SOURCE = "TemporaryError: no source (ATS) integration is enabled in this workspace"


def test_a_passed_test_of_the_source_makes_the_work_that_found_no_source_due_now(hub_app, seeded, api):
    invitation = seeded.ids["invitation"]
    waiting = add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "retry",
                           plugin="fakeassess", due_in=3600, last_error=NO_SOURCE)
    other = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "retry",
                         plugin="fakeassess", due_in=3600)  # another cause (the vendor down): its backoff
    answer = api("POST", "/integrations/fakesource/test", role="admin")
    assert answer.status_code == 200, answer.get_json()
    with hub_app.app_context():
        due = {row.id: row.next_attempt_at for row in db.session.query(Delivery).filter(
            Delivery.id.in_((waiting, other)))}
        now = utcnow()
    assert (due[waiting] - now).total_seconds() <= 1  # due now
    assert (due[other] - now).total_seconds() > 3000
