"""A detached attachment's 404 says how to attach it again where the reader is: the API names its
request (POST /api/v1/attachments), the admin pages name the Pipeline page."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Attachment, utcnow
from hub.web import queries
from tests.web.support import api_headers

WHAT = "Support Basics was detached from “Stage 3” of Support Engineer"
API_WAY = "attach it again with POST /api/v1/attachments if candidates entering that stage should get it"
UI_WAY = "attach it again on Pipeline if candidates entering that stage should get it"


@pytest.fixture
def detached(hub_app, seeded):
    """The super admin's attachment of Support Basics to Stage 3 of Support Engineer, detached by the API."""
    attachment_id = seeded.per_role["super_admin"]["att_detach_api"]
    answer = hub_app.test_client().delete(f"/api/v1/attachments/{attachment_id}",
                                          headers=api_headers(seeded, "super_admin"))
    assert answer.status_code == 204
    return attachment_id


def _api_error(answer) -> dict:
    assert answer.status_code == 404, answer.get_data(as_text=True)
    error = answer.get_json()["error"]
    assert error["code"] == "not_found"
    return error


@pytest.mark.parametrize("method, path", [("GET", ""), ("PUT", ""), ("GET", "/backfill"), ("POST", "/backfill")])
def test_the_api_says_to_attach_it_again_with_its_own_request(hub_app, seeded, detached, method, path):
    answer = hub_app.test_client().open(f"/api/v1/attachments/{detached}{path}", method=method, json={},
                                        headers=api_headers(seeded, "super_admin"))
    assert _api_error(answer)["message"] == f"{WHAT}; {API_WAY}"


def test_a_detach_during_an_api_backfill_is_said_the_api_s_way(hub_app, seeded, monkeypatch):
    """Detached between the endpoint's lookup and the engine's: the engine's 404 is reworded too."""
    attachment_id = seeded.per_role["super_admin"]["att_detach_api"]
    lookup = queries.get_attachment

    def look_up_then_detach_elsewhere(workspace_id, wanted):
        row = lookup(workspace_id, wanted)
        db.session.execute(sa.update(Attachment).where(Attachment.id == wanted).values(detached_at=utcnow())
                           .execution_options(synchronize_session=False))
        db.session.commit()
        return row

    monkeypatch.setattr(queries, "get_attachment", look_up_then_detach_elsewhere)
    answer = hub_app.test_client().post(f"/api/v1/attachments/{attachment_id}/backfill", json={},
                                        headers=api_headers(seeded, "super_admin"))
    assert _api_error(answer)["message"] == f"{WHAT}; {API_WAY}"


@pytest.mark.parametrize("page", ["edit", "detach", "backfill"])
def test_the_pages_say_to_attach_it_again_on_pipeline(as_role, detached, page):
    answer = as_role("super_admin").get(f"/pipeline/{detached}/{page}")
    assert answer.status_code == 404
    html = answer.get_data(as_text=True)
    assert f"{WHAT}; {UI_WAY}" in html and "/api/v1" not in html
