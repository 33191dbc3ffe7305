"""An attachment's audit entry tells an attach from an edit: an edit lists the fields it changed, by
the attach form's labels, never their values (both rows read "Assessment attached or updated" with
the same posting, stage and assessment, whatever was changed)."""

from __future__ import annotations

import re
from pathlib import Path

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import AuditEntry
from hub.web.ui.audit import ATTACHMENT_FIELD_LABELS
from tests.web.support import api_headers, sign_in

ATTACH_FORM = Path(__file__).resolve().parents[2] / "hub" / "web" / "templates" / "pipeline" / "attach.html"


def _saves(app) -> list[dict]:
    with app.app_context():
        return [entry.detail for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "attachment.save").order_by(AuditEntry.id))]


def test_an_edit_lists_what_it_changed_and_an_attach_does_not(hub_app, seeded):
    api = hub_app.test_client()
    headers = api_headers(seeded, "admin")
    before = len(_saves(hub_app))
    created = api.post("/api/v1/attachments", headers=headers, json={
        "posting_id": "p1", "stage_id": "s7", "provider": "fakeassess", "assessment_id": "py"}).get_json()
    path = f"/api/v1/attachments/{created['id']}"
    assert api.put(path, headers=headers, json={"options": {"pass_threshold": 70}}).status_code == 200
    assert api.put(path, headers=headers, json={"stage_id": "canditech", "options": {"pass_threshold": 70,
                                                                                    "remind_on_reentry": True}}
                   ).status_code == 200
    assert api.put(path, headers=headers, json={}).status_code == 200  # saved unchanged
    attach, threshold, stage_and_reminder, unchanged = _saves(hub_app)[before:]
    assert "changed" not in attach and attach["stage"]
    assert threshold["changed"] == ["pass_threshold"]
    assert stage_and_reminder["changed"] == ["stage", "remind_on_reentry"]
    assert unchanged["changed"] == []
    assert "70" not in str([threshold["changed"], stage_and_reminder["changed"]])

    client = hub_app.test_client()
    sign_in(client, seeded.email("admin"))
    html = client.get("/audit?action=attachment.save").get_data(as_text=True)
    details = [" ".join(re.sub(r"<[^>]+>", " ", d).split())
               for d in re.findall(r'<td class="small wrap" data-label="Detail">(.*?)</td>', html, re.S)]
    assert any("Changed: Stage, Remind an invited candidate who re-enters the stage" in d for d in details)
    assert any("Changed: Pass threshold (%)" in d for d in details)
    assert any("No field changed" in d for d in details)


def test_the_labels_are_the_attach_forms():
    form = ATTACH_FORM.read_text()
    for name, label in ATTACHMENT_FIELD_LABELS.items():
        assert label in form, name
