"""Once the workspace's source answers again (a passed connection test, an OAuth reconnect), the
providers' work that waited for its reconnection goes on at once: it used to sit out its backoff,
up to an hour after the admin had fixed the connection (found by a walk of Lever's OAuth)."""

from __future__ import annotations

from hub.engine.runner import source_needs_reauthorization
from hub.extensions import db
from hub.store.models import Delivery, utcnow
from tests.web.test_candidate_deliveries import add_delivery


def test_a_passed_test_of_the_source_makes_the_work_waiting_for_it_due_now(hub_app, seeded, api):
    invitation = seeded.ids["invitation"]
    waiting = add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "retry",
                           plugin="fakeassess", due_in=3600,
                           last_error=f"TemporaryError: {source_needs_reauthorization('fakesource')}: "
                                      "Fake ATS refused the grant")
    other = add_delivery(hub_app, seeded, invitation, "assessment_completed", "on_assessment_completed", "retry",
                         plugin="fakesource", due_in=3600)
    answer = api("POST", "/integrations/fakesource/test", role="admin")
    assert answer.status_code == 200, answer.get_json()
    with hub_app.app_context():
        due = {row.id: row.next_attempt_at for row in db.session.query(Delivery).filter(
            Delivery.id.in_((waiting, other)))}
        now = utcnow()
    assert (due[waiting] - now).total_seconds() <= 1  # due now
    assert (due[other] - now).total_seconds() > 3000  # another cause: left to its backoff


def test_a_failed_test_wakes_nothing(hub_app, seeded, api, fakes):
    source, _ = fakes
    invitation = seeded.ids["invitation"]
    waiting = add_delivery(hub_app, seeded, invitation, "stage_change", "on_stage_change", "retry",
                           plugin="fakeassess", due_in=3600,
                           last_error=f"TemporaryError: {source_needs_reauthorization('fakesource')}: refused")
    from hub.errors import TemporaryError

    source.fail = TemporaryError("Fake ATS is down")
    api("POST", "/integrations/fakesource/test", role="admin")
    with hub_app.app_context():
        due = db.session.get(Delivery, waiting).next_attempt_at
        assert (due - utcnow()).total_seconds() > 3000
