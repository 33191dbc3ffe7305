"""An API token acting as someone else: its creation is audited once, by the Super Admin who made
it; what it does is audited as its user, with the token and its issuer in the detail."""

from __future__ import annotations

import re

import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.store.models import ApiToken, AuditEntry, User
from tests.web.support import api_headers


def _entries(hub_app, **where) -> list[AuditEntry]:
    with hub_app.app_context():
        query = sa.select(AuditEntry).order_by(AuditEntry.id)
        for name, value in where.items():
            query = query.where(getattr(AuditEntry, name) == value)
        rows = list(db.session.scalars(query))
        db.session.expunge_all()
        return rows


def _create(client, name: str, user_id: int) -> str:
    html = client.post("/settings/api-tokens", data={"name": name, "user_id": user_id},
                       follow_redirects=True).get_data(as_text=True)
    return re.search(r'id="new-token" value="(hub_[^"]+)"', html).group(1)


def _token_id(hub_app, name: str) -> int:
    with hub_app.app_context():
        return db.session.scalar(sa.select(ApiToken.id).where(ApiToken.name == name))


def test_creating_a_token_for_someone_else_is_audited_once_as_its_issuer(hub_app, seeded, as_role):
    client = as_role("super_admin")
    _create(client, "reporting", seeded.users["team_member"])
    token_id = _token_id(hub_app, "reporting")

    entries = _entries(hub_app, target="token:reporting")
    assert [(e.actor, e.action) for e in entries] == [("super_admin@acme.test", "api_token.create")]
    assert entries[0].user_id == seeded.users["super_admin"]
    assert entries[0].detail == {"token_id": token_id, "acts_as": "team_member@acme.test"}
    html = client.get("/audit?action=api_token.").get_data(as_text=True)
    assert "Acts as:</span> team_member@acme.test" in html

    _create(client, "my script", seeded.users["super_admin"])  # one's own token: nobody else to name
    [own] = _entries(hub_app, target="token:my script")
    assert own.actor == "super_admin@acme.test" and own.detail == {"token_id": _token_id(hub_app, "my script")}


def test_what_a_token_acting_as_someone_else_does_names_the_token_and_its_issuer(hub_app, seeded, as_role):
    client = as_role("super_admin")
    token = _create(client, "admin robot", seeded.users["admin"])
    token_id = _token_id(hub_app, "admin robot")
    target = seeded.per_role["admin"]["target_user"]

    api = hub_app.test_client()
    answer = api.patch(f"/api/v1/users/{target}", json={"role": "limited_team_member"},
                       headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)

    [entry] = _entries(hub_app, action="user.role")
    assert entry.actor == "admin@acme.test" and entry.user_id == seeded.users["admin"]  # who it acted as
    assert entry.detail["via"] == f"API token {token_id} “admin robot”, issued by super_admin@acme.test"
    html = client.get("/audit?action=user.role").get_data(as_text=True)
    assert f"Via:</span> API token {token_id} “admin robot”, issued by super_admin@acme.test" in html
    listed = api.get("/api/v1/audit", headers=api_headers(seeded, "super_admin")).get_json()
    assert any(item.get("detail", {}).get("via", "").startswith(f"API token {token_id} ")
               for item in listed["items"])


def test_a_users_own_token_and_the_pages_add_nothing(hub_app, seeded, as_role):
    api = hub_app.test_client()
    own = api.patch(f"/api/v1/users/{seeded.per_role['admin']['target_user']}", json={"role": "admin"},
                    headers=api_headers(seeded, "admin"))  # the admin's own token (made for themselves)
    assert own.status_code == 200
    page = as_role("admin").post(f"/users/{seeded.per_role['super_admin']['target_user']}/role",
                                 data={"role": "admin"})
    assert page.status_code == 302
    entries = _entries(hub_app, action="user.role")
    assert len(entries) == 2 and all("via" not in e.detail for e in entries)


def test_a_token_made_before_its_issuer_was_kept_adds_nothing(hub_app, seeded):
    """A token row without ``issued_by_id`` (made before the column existed): its entries read as
    they always did, with no guess at who issued it."""
    with hub_app.app_context():
        admin = db.session.get(User, seeded.users["admin"])
        token = services.create_api_token(admin, "old robot")
        db.session.execute(sa.update(ApiToken).where(ApiToken.name == "old robot").values(issued_by_id=None))
        db.session.commit()
    answer = hub_app.test_client().patch(f"/api/v1/users/{seeded.per_role['admin']['target_user']}",
                                         json={"active": False}, headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.get_data(as_text=True)
    [entry] = _entries(hub_app, action="user.deactivate")
    assert entry.actor == "admin@acme.test" and "via" not in entry.detail
