"""Workspaces are isolated: another workspace's ids answer 404 for every role allowed to use the
endpoint (roles without the permission get 403 first, which says nothing about the id)."""

from __future__ import annotations

from hub.extensions import db
from hub.store.models import Attachment, Delivery, Invitation, User
from hub.web.permissions import PERMISSIONS
from tests.web.support import ROLES, api_headers

# (method, path template, permission, key in seed.other)
ENDPOINTS = [
    ("GET", "/pipeline/{}/edit", "pipeline.manage", "attachment_id"),
    ("POST", "/pipeline/{}/edit", "pipeline.manage", "attachment_id"),
    ("GET", "/pipeline/{}/detach", "pipeline.manage", "attachment_id"),
    ("POST", "/pipeline/{}/detach", "pipeline.manage", "attachment_id"),
    ("GET", "/candidates/{}", "candidates.view", "invitation_id"),
    ("POST", "/candidates/{}/reinvite", "invitations.manage", "invitation_id"),
    ("POST", "/candidates/{}/cancel", "invitations.manage", "invitation_id"),
    ("POST", "/activity/deliveries/{}/replay", "deliveries.replay", "delivery_id"),
    ("POST", "/users/{}/role", "users.manage", "user_id"),
    ("POST", "/users/{}/active", "users.manage", "user_id"),
    ("GET", "/api/v1/attachments/{}", "pipeline.view", "attachment_id"),
    ("PUT", "/api/v1/attachments/{}", "pipeline.manage", "attachment_id"),
    ("DELETE", "/api/v1/attachments/{}", "pipeline.manage", "attachment_id"),
    ("GET", "/api/v1/invitations/{}", "candidates.view", "invitation_id"),
    ("POST", "/api/v1/invitations/{}/reinvite", "invitations.manage", "invitation_id"),
    ("POST", "/api/v1/invitations/{}/cancel", "invitations.manage", "invitation_id"),
    ("POST", "/api/v1/deliveries/{}/replay", "deliveries.replay", "delivery_id"),
    ("PATCH", "/api/v1/users/{}", "users.manage", "user_id"),
]

BODIES = {"/users/{}/role": {"role": "admin"}, "/users/{}/active": {"active": "0"},
          "/api/v1/users/{}": {"role": "admin"}, "/api/v1/attachments/{}": {"stage_id": "s2"},
          "/pipeline/{}/edit": {"posting_id": "p1", "stage_id": "s2", "assessment": "fakeassess:py"}}


def test_other_workspace_ids_are_not_found(hub_app, seeded, as_role):
    api = hub_app.test_client()
    failures = []
    for role in ROLES:
        client = as_role(role)
        for method, template, permission, key in ENDPOINTS:
            path = template.format(seeded.other[key])
            body = BODIES.get(template)
            if path.startswith("/api/"):
                response = api.open(path, method=method, json=body, headers=api_headers(seeded, role))
            else:
                response = client.open(path, method=method, data=body)
            expected = 404 if role in PERMISSIONS[permission] else 403
            if response.status_code != expected:
                failures.append(f"{method} {path} as {role}: {response.status_code}, expected {expected}")
    assert not failures, "\n".join(failures)
    with hub_app.app_context():  # and nothing in the other workspace changed
        assert db.session.get(Attachment, seeded.other["attachment_id"]).detached_at is None
        assert db.session.get(Attachment, seeded.other["attachment_id"]).stage_id == "s1"
        assert db.session.get(Invitation, seeded.other["invitation_id"]).status == "failed"
        assert db.session.get(Delivery, seeded.other["delivery_id"]).status == "dead"
        other_user = db.session.get(User, seeded.other["user_id"])
        assert other_user.role == "team_member" and other_user.active


def test_lists_never_show_another_workspace(hub_app, seeded, as_role):
    client = as_role("super_admin")
    assert f'id="invitation-{seeded.other["invitation_id"]}"' not in client.get("/candidates").get_data(as_text=True)
    assert f'id="delivery-{seeded.other["delivery_id"]}"' not in client.get("/activity").get_data(as_text=True)
    assert "someone@other.test" not in client.get("/users").get_data(as_text=True)
    assert f'id="attachment-{seeded.other["attachment_id"]}"' not in client.get("/pipeline").get_data(as_text=True)
    api = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    ids = {i["id"] for i in api.get("/api/v1/invitations?per_page=200", headers=headers).get_json()["items"]}
    assert seeded.other["invitation_id"] not in ids
    assert "someone@other.test" not in api.get("/api/v1/users", headers=headers).get_data(as_text=True)
