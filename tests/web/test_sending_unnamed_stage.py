"""A pending invitation's sending line also follows a stage change that names no stage
(``to_stage_id`` empty, Lever's ``applicationCreated``: the provider finds the stage by re-reading
the candidate), which is the delivery that sends an invitation of a candidate created in its stage."""

from __future__ import annotations

from datetime import timedelta

from hub.extensions import db
from hub.store.models import Attachment, Delivery, Event, utcnow
from tests.web.support import _invitation
from tests.web.test_sending_progress import sending_text


def test_a_retrying_send_of_an_unnamed_stage_entry_is_shown(hub_app, seeded, as_role):
    with hub_app.app_context():
        attachment = db.session.get(Attachment, seeded.ids["attachment"])
        row = _invitation(seeded.workspace_id, attachment, "pending", name="Carla Created")
        event = Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="stage_change",
                      external_id=f"evt-created-{row.id}", subject=row.opportunity_id,
                      payload={"opportunity_id": row.opportunity_id, "to_stage_id": ""})
        db.session.add(event)
        db.session.flush()
        db.session.add(Delivery(event_id=event.id, workspace_id=seeded.workspace_id, plugin=row.provider,
                                hook="on_stage_change", status="retry", attempts=3,
                                next_attempt_at=utcnow() + timedelta(seconds=600),
                                last_error="TemporaryError: the ATS could not be reached"))
        db.session.commit()
        invitation = row.id
    text = sending_text(as_role("admin").get(f"/candidates/{invitation}").get_data(as_text=True))
    assert "(3 attempts so far); the hub tries again in 10 minutes, by itself." in text
    assert "the ATS could not be reached" in text
