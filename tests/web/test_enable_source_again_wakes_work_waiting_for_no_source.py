"""A provider's work that found no source enabled (the ATS disabled a moment) waits with "no source
(ATS) integration is enabled in this workspace", its backoff growing up to an hour. Enabling the
ATS again, connected as it was (a disable keeps its credentials and status), is the source
answering again: that work goes on at once, as after a reconnect or a passed test
(``wake_waiting_on_source``), not at the end of its backoff (diff-review)."""

from __future__ import annotations

from hub.extensions import db
from hub.store.models import Delivery, Integration, utcnow
from tests.web.test_candidate_deliveries import add_delivery

NO_SOURCE = "TemporaryError: no source (ATS) integration is enabled in this workspace"


def test_enabling_the_connected_ats_again_makes_the_work_that_found_no_source_due_now(hub_app, seeded, api):
    assert api("POST", "/integrations/fakesource/disable", role="super_admin").status_code == 200
    with hub_app.app_context():
        row = db.session.query(Integration).filter_by(plugin="fakesource").one()
        row.status = "connected"  # as it was before the disable, which keeps it
        db.session.commit()
    invitation = seeded.ids["invitation"]
    waiting = add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "retry",
                           plugin="fakeassess", due_in=3600, last_error=NO_SOURCE)
    other = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "retry",
                         plugin="fakeassess", due_in=3600)  # another cause (the vendor down): its backoff

    answer = api("POST", "/integrations/fakesource/enable", role="super_admin")
    assert answer.status_code == 200, answer.get_json()
    with hub_app.app_context():
        due = {row.id: row.next_attempt_at for row in db.session.query(Delivery).filter(
            Delivery.id.in_((waiting, other)))}
        now = utcnow()
    assert (due[waiting] - now).total_seconds() <= 1  # due now
    assert (due[other] - now).total_seconds() > 3000
