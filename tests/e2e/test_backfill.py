"""Backfill end to end, over real HTTP between separate processes (the hub, the Lever and the
Canditech sandboxes): a candidate moved into a stage before an assessment was attached to it gets
nothing; attaching and then "Invite candidates already in this stage" (twice) makes exactly one
invitation at Canditech. On the embedded default and in production shape (``TOPOLOGIES``: gunicorn
with 2 workers, 2 `hub worker` processes, PostgreSQL, Redis)."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.store.models import Attachment, Event, Invitation
from tests.e2e.harness import all_settled, eventually, start_stack
from tests.e2e.test_story import OPPORTUNITY, PROVIDERS, api
from tests.e2e.topologies import TOPOLOGIES

CANDITECH = PROVIDERS["canditech"]


def _api_token(app) -> dict[str, str]:
    with app.app_context():
        user, _ = services.create_user(1, "backfill-admin@example.com", "admin", password="a long password 1")
        return {"Authorization": f"Bearer {services.create_api_token(user, 'e2e')}"}


def _call(stack, method: str, path: str, headers: dict, **kwargs) -> dict:
    answer = requests.request(method, stack.hub_url + "/api/v1" + path, headers=headers, timeout=30, **kwargs)
    assert answer.status_code in (200, 201), answer.text
    return answer.json()


def _stage_change_seen(stack) -> bool:
    with stack.app.app_context():
        found = db.session.scalar(sa.select(sa.func.count(Event.id)).where(
            Event.source_plugin == "lever", Event.type == "stage_change", Event.subject == OPPORTUNITY))
        db.session.rollback()
    return found > 0 and all_settled(stack.app)


@pytest.mark.slow
@pytest.mark.parametrize("topology", TOPOLOGIES)
def test_a_candidate_already_in_the_stage_is_invited_once_by_backfill(make_app, tmp_path, topology):
    stack = start_stack(make_app, tmp_path, topology)
    try:
        headers = _api_token(stack.app)
        with stack.app.app_context():  # the demo setup attached Canditech: start without it
            attached = db.session.scalar(sa.select(Attachment).where(
                Attachment.provider == "canditech", Attachment.stage_id == CANDITECH.stage,
                Attachment.detached_at.is_(None)))
            posting_id, assessment_id = attached.posting_id, attached.assessment_id
            services.detach(1, attached.id, "e2e")

        # the candidate enters the stage while nothing is attached to it: Lever's webhook invites nobody
        api(f"{stack.url('lever')}/_sandbox/opportunities/{OPPORTUNITY}/move", "POST",
            json={"stage_id": CANDITECH.stage})
        eventually(lambda: _stage_change_seen(stack), 60, "Lever's stage change to be handled")
        assert CANDITECH.invitations(stack) == []

        created = _call(stack, "POST", "/attachments", headers, json={
            "posting_id": posting_id, "stage_id": CANDITECH.stage, "provider": "canditech",
            "assessment_id": assessment_id})
        path = f"/attachments/{created['id']}/backfill"
        preview = _call(stack, "GET", path, headers)
        assert (preview["available"], preview["to_invite"], preview["opportunity_ids"]) == (True, 1, [OPPORTUNITY])

        first = _call(stack, "POST", path, headers, json={"expected": preview["to_invite"]})  # what was shown
        second = _call(stack, "POST", path, headers)  # clicked twice
        assert (first["queued"], first["opportunity_ids"]) == (1, [OPPORTUNITY])
        assert second["queued"] == 0 and second["already_invited"] + second["already_queued"] == 1

        invitation = eventually(lambda: next(iter(CANDITECH.invitations(stack)), None), 90,
                                "the invitation at Canditech")
        assert invitation["email"] == "alice@example.com"
        eventually(lambda: all_settled(stack.app), 60, "every delivery to finish")
        assert len(CANDITECH.invitations(stack)) == 1
        with stack.app.app_context():
            rows = db.session.execute(sa.select(Invitation.opportunity_id, Invitation.status).where(
                Invitation.attachment_id == created["id"])).all()
            db.session.rollback()
        assert [tuple(row) for row in rows] == [(OPPORTUNITY, "invited")]
        after = _call(stack, "GET", path, headers)
        assert (after["to_invite"], after["already_invited"]) == (0, 1)
    except AssertionError:
        print(stack.diagnosis())
        raise
    finally:
        stack.stop()
