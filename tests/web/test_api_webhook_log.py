"""``GET /api/v1/integrations/<plugin>/webhooks``: the webhook log the integration's page shows
("Recent webhooks", its last 20 lines), all of it, paged, for scripts that watch whether a vendor's
webhooks arrive and why some are refused."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import WebhookLog, utcnow
from tests.web.support import api_headers

LOG = "/api/v1/integrations/fakesource/webhooks"


def _log_lines(app, seeded, *lines: tuple[str, int, str, int]) -> list[int]:
    """Workspace 1's fakesource log lines ``(outcome, status, message, events)``, oldest first; their ids."""
    with app.app_context():
        start = utcnow() - timedelta(hours=1)
        rows = [WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome=outcome,
                           status_code=status, message=message, event_count=events,
                           received_at=start + timedelta(minutes=n))
                for n, (outcome, status, message, events) in enumerate(lines)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def _existing(app, seeded) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count(WebhookLog.id)).where(
            WebhookLog.workspace_id == seeded.workspace_id, WebhookLog.plugin == "fakesource")) or 0


def test_the_log_lists_every_request_newest_first_with_what_became_of_it(hub_app, seeded):
    before = _existing(hub_app, seeded)
    ids = _log_lines(hub_app, seeded, ("accepted", 200, "candidateStageChange:accepted", 1),
                     ("duplicate", 200, "candidateStageChange:duplicate", 1),
                     ("rejected", 401, "signature does not match", 0))
    api = hub_app.test_client()
    with hub_app.app_context():
        key = get_runtime().integration(seeded.workspace_id, "fakesource").webhook_key
    assert api.post(f"/webhooks/fakesource/{key}", data=b"{}").status_code == 200  # a real request: a ping

    answer = api.get(LOG, headers=api_headers(seeded, "admin"))
    assert answer.status_code == 200 and answer.headers["Cache-Control"] == "no-store"
    body = answer.get_json()
    assert body["total"] == before + 4 and body["page"] == 1 and body["per_page"] == 25
    newest = body["items"][0]
    assert newest["outcome"] == "ping" and newest["status_code"] == 200 and newest["id"] > ids[-1]
    assert [item["id"] for item in body["items"][1:4]] == ids[::-1]
    refused = body["items"][1]
    assert refused == {"id": ids[2], "outcome": "rejected", "status_code": 401, "event_count": 0,
                       "message": "signature does not match", "received_at": refused["received_at"]}
    assert refused["received_at"] < newest["received_at"]


def test_the_log_filters_by_outcome_and_pages(hub_app, seeded):
    ids = _log_lines(hub_app, seeded, *[("rejected", 401, f"signature does not match {n}", 0) for n in range(3)],
                     ("accepted", 200, "candidateStageChange:accepted", 1))
    api, headers = hub_app.test_client(), api_headers(seeded, "super_admin")
    first = api.get(f"{LOG}?outcome=rejected&per_page=2", headers=headers).get_json()
    assert {item["outcome"] for item in first["items"]} == {"rejected"}
    assert [item["id"] for item in first["items"]] == [ids[2], ids[1]]
    assert first["pages"] >= 2 and first["total"] >= 3
    second = api.get(f"{LOG}?outcome=rejected&per_page=2&page=2", headers=headers).get_json()
    assert second["items"][0]["id"] == ids[0]
    accepted = api.get(f"{LOG}?outcome=accepted", headers=headers).get_json()
    assert ids[3] in [item["id"] for item in accepted["items"]] and ids[0] not in [i["id"] for i in accepted["items"]]


def test_a_wrong_outcome_or_parameter_is_refused_by_name(hub_app, seeded):
    api, headers = hub_app.test_client(), api_headers(seeded, "admin")
    wrong = api.get(f"{LOG}?outcome=refused", headers=headers)
    assert wrong.status_code == 422
    assert "outcome" in wrong.get_json()["error"]["fields"]
    assert "rejected" in wrong.get_json()["error"]["fields"]["outcome"][0]  # the choices are named
    typo = api.get(f"{LOG}?outcom=rejected", headers=headers)
    assert typo.status_code == 422 and "'outcom'" in typo.get_json()["error"]["message"]


def test_a_plugin_without_webhooks_or_not_installed_is_404_with_the_reason(hub_app, seeded):
    api, headers = hub_app.test_client(), api_headers(seeded, "admin")
    none = api.get("/api/v1/integrations/fakeassess/webhooks", headers=headers)
    assert none.status_code == 404
    assert none.get_json()["error"]["message"] == "Fake Tests receives no webhooks: it has no webhook log"
    missing = api.get("/api/v1/integrations/nosuch/webhooks", headers=headers)
    assert missing.status_code == 404 and "nosuch" in missing.get_json()["error"]["message"]


def test_team_members_may_not_read_the_log(hub_app, seeded):
    refused = hub_app.test_client().get(LOG, headers=api_headers(seeded, "team_member"))
    assert refused.status_code == 403 and refused.get_json()["error"]["permission"] == "integrations.view"


def test_the_page_and_the_api_show_the_same_lines(hub_app, seeded, as_role):
    ids = _log_lines(hub_app, seeded, ("rejected", 404, "fakesource is disabled: not processed", 0))
    page = as_role("admin").get("/integrations/fakesource").get_data(as_text=True)
    listed = hub_app.test_client().get(LOG, headers=api_headers(seeded, "admin")).get_json()["items"]
    assert f'id="webhook-log-{ids[0]}"' in page and listed[0]["id"] == ids[0]
