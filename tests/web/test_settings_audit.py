"""The audit entry of an integration's settings lists only the fields that changed: names, never a
value; a secret given a new value is listed without it, one given again unchanged is no change."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import AuditEntry
from tests.web.support import SECRET_VALUE, api_headers

FORM = {"account": "acme", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "10"}


def settings_entries(app) -> list[dict]:
    with app.app_context():
        return [entry.detail for entry in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.action == "integration.settings").order_by(AuditEntry.id))]


def test_only_the_changed_fields_are_recorded(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    before = len(settings_entries(hub_app))
    assert owner.post("/integrations/fakesource/settings", data=FORM).status_code == 302  # as seeded
    assert owner.post("/integrations/fakesource/settings", data={**FORM, "region": "us"}).status_code == 302
    assert owner.post("/integrations/fakesource/settings",
                      data={**FORM, "region": "us", "api_key": "sk-live-NEW-456"}).status_code == 302
    assert owner.post("/integrations/fakesource/settings",  # the same key pasted again
                      data={**FORM, "region": "us", "api_key": "sk-live-NEW-456"}).status_code == 302
    unchanged, region, secret, same_secret = settings_entries(hub_app)[before:]
    assert unchanged == {"changed": []}
    assert region == {"changed": ["region"]}
    assert secret == {"changed": ["api_key"]}
    assert same_secret == {"changed": []}
    page = owner.get("/audit?action=integration.settings").get_data(as_text=True)
    assert "sk-live-NEW-456" not in page and SECRET_VALUE not in page
    details = re.findall(r'<td class="small wrap" data-label="Detail">(.*?)</td>', page, re.S)
    texts = [re.sub(r"<[^>]+>", "", d).strip() for d in details]
    # the settings by the labels their form shows, not their names ("API key", not api_key)
    assert texts[:4] == ["No field changed", "Changed: API key", "Changed: Region", "No field changed"]


def test_the_api_records_the_same(hub_app, seeded):
    api = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    before = len(settings_entries(hub_app))
    assert api.put("/api/v1/integrations/fakesource", json={"account": "acme"}, headers=headers).status_code == 200
    assert api.put("/api/v1/integrations/fakesource", json={"account": "acme-2", "max_rate": 20},
                   headers=headers).status_code == 200
    assert settings_entries(hub_app)[before:] == [{"changed": []}, {"changed": ["account", "max_rate"]}]
    body = api.get("/api/v1/audit?action=integration.settings", headers=api_headers(seeded, "admin")).get_json()
    assert body["items"][0]["detail"] == {"changed": ["account", "max_rate"]}


def test_a_secret_pasted_again_unchanged_keeps_when_and_by_whom_it_was_set(hub_app, seeded, as_role):
    from hub.store.models import Integration

    def meta():
        with hub_app.app_context():
            row = db.session.scalar(sa.select(Integration).where(Integration.plugin == "fakesource"))
            return dict(row.secrets_meta["api_key"])

    as_role("super_admin").post("/integrations/fakesource/settings", data={**FORM, "api_key": "sk-live-NEW-789"})
    first = meta()
    assert first["set_by"] == "super_admin@acme.test"
    api = hub_app.test_client()
    assert api.put("/api/v1/integrations/fakesource", json={"api_key": "sk-live-NEW-789"},
                   headers=api_headers(seeded, "super_admin")).status_code == 200
    assert meta() == first
    assert api.put("/api/v1/integrations/fakesource", json={"api_key": "sk-live-OTHER-1"},
                   headers=api_headers(seeded, "super_admin")).status_code == 200
    assert meta()["set_at"] > first["set_at"]


def test_a_first_save_lists_only_what_differs_from_the_defaults(make_app):
    """The first save of Lever's settings listed every field, also those left at their defaults
    ("Write as Lever user" left empty, the webhook age limits)."""
    from hub import services
    from hub.runtime import get_runtime
    from tests.support.engine import enable

    app = make_app()
    enable(app, "lever")
    with app.app_context():
        services.save_settings(get_runtime(), 1, "lever", {
            "auth_mode": "api_key", "environment": "sandbox", "api_key": "lever-key-1", "perform_as": "",
            "max_webhook_age_hours": "72", "tag_results": True}, "test")
    (first,) = settings_entries(app)
    assert first == {"changed": ["api_key", "environment"]}  # the authentication stayed at its default
