"""A provider's delivery that needed the ATS while none was enabled (Lever revoked or disabled)
retries with "no source (ATS) integration is enabled in this workspace", its backoff growing (up
to an hour). Once the ATS answers again, after a reconnect and a passed test or enabled again as
connected as it was (a disable keeps its credentials and status), that work goes on at once, as the
work waiting for the ATS's re-authorization does (test_reconnect_wakes_waiting.py); it used to sit
out its backoff (found by a walk revoking and reconnecting Lever while an invitation waited, and by
a review for the disable)."""

from __future__ import annotations

from hub.extensions import db
from hub.store.models import Delivery, Integration, utcnow
from tests.web.test_candidate_deliveries import add_delivery

NO_SOURCE = "TemporaryError: no source (ATS) integration is enabled in this workspace"


def _assert_woken_by(hub_app, seeded, api, path: str) -> None:
    """Two of the provider's deliveries due in an hour, one that found no source and one failing for
    another cause (the vendor down); after ``POST path`` the first is due now, the second is not."""
    invitation = seeded.ids["invitation"]
    waiting = add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "retry",
                           plugin="fakeassess", due_in=3600, last_error=NO_SOURCE)
    other = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "retry",
                         plugin="fakeassess", due_in=3600)
    answer = api("POST", path, role="super_admin")
    assert answer.status_code == 200, answer.get_json()
    with hub_app.app_context():
        due = {row.id: row.next_attempt_at for row in db.session.query(Delivery).filter(
            Delivery.id.in_((waiting, other)))}
        now = utcnow()
    assert (due[waiting] - now).total_seconds() <= 1  # due now
    assert (due[other] - now).total_seconds() > 3000


def test_a_passed_test_of_the_source_makes_the_work_that_found_no_source_due_now(hub_app, seeded, api):
    _assert_woken_by(hub_app, seeded, api, "/integrations/fakesource/test")


def test_enabling_the_connected_ats_again_makes_the_work_that_found_no_source_due_now(hub_app, seeded, api):
    assert api("POST", "/integrations/fakesource/disable", role="super_admin").status_code == 200
    with hub_app.app_context():
        row = db.session.query(Integration).filter_by(plugin="fakesource").one()
        row.status = "connected"  # as it was before the disable, which keeps it
        db.session.commit()
    _assert_woken_by(hub_app, seeded, api, "/integrations/fakesource/enable")
