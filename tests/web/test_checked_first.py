"""The sign-in and the permission are checked before anything about the request's content: an id
too large for its table, or a character the database cannot store, gets the same answer as any
other request to that route (sign in, 401, 403), and a 404 or 400 only for those who may use it."""

from __future__ import annotations

import re

import pytest

from tests.web.support import ROLES, api_headers
from tests.web.test_permissions import MATRIX

HUGE = "99999999999999999999999"  # beyond every table's ids, 64-bit ones included
WITH_IDS = [row for row in MATRIX if re.search(r"<(int|id64):", row.rule)]


def _huge(rule: str) -> str:
    return re.sub(r"<(int|id64):[^>]+>", HUGE, rule).replace("<plugin>", "fakesource")


def _send(client, row, path: str, seed, role: str = ROLES[0], headers=None):
    send = getattr(client, row.method.lower())
    body = row.data(role, seed) if row.data else {}
    if row.api:
        return send(path, json=body, headers=headers or {})
    return send(path, data=body)


@pytest.mark.parametrize("row", WITH_IDS, ids=lambda row: f"{row.method} {row.rule}")
def test_an_id_too_large_for_its_table_is_refused_like_any_other_until_the_user_may_ask(
        hub_app, seeded, as_role, row):
    path = _huge(row.rule)
    anonymous = _send(hub_app.test_client(), row, path, seeded)
    if row.api:
        assert anonymous.status_code == 401, anonymous.get_data(as_text=True)
    else:
        assert anonymous.status_code == 302 and anonymous.headers["Location"].startswith("/sign-in")
    for role in ROLES:
        if row.api:
            response = _send(hub_app.test_client(), row, path, seeded, role, api_headers(seeded, role))
        else:
            response = _send(as_role(role), row, path, seeded, role)
        expected = 404 if role in row.allowed else 403
        assert response.status_code == expected, (role, response.status_code, response.get_data(as_text=True))


def test_the_walk_through_s_requests(hub_app, seeded, as_role):
    limited = as_role("limited_team_member")
    assert limited.get(f"/pipeline/{HUGE}/edit").status_code == 403
    assert limited.post(f"/users/{HUGE}/role", data={"role": "admin"}).status_code == 403
    assert limited.post(f"/activity/deliveries/{HUGE}/replay").status_code == 403
    api = hub_app.test_client()
    assert api.get(f"/api/v1/attachments/{HUGE}", headers=api_headers(seeded, "limited_team_member")).status_code == 403
    signed_out = hub_app.test_client()
    response = signed_out.get(f"/pipeline/{HUGE}/edit")
    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
    assert signed_out.get(f"/api/v1/invitations/{HUGE}").status_code == 401
    # those who may ask learn that there is no such thing
    assert as_role("admin").get(f"/pipeline/{HUGE}/edit").status_code == 404
    assert api.get(f"/api/v1/attachments/{HUGE}", headers=api_headers(seeded, "admin")).status_code == 404


def test_a_character_the_database_cannot_store_is_refused_after_the_permission(hub_app, seeded, as_role):
    assert as_role("limited_team_member").get("/audit?action=%00").status_code == 403
    signed_out = hub_app.test_client().get("/audit?action=%00")
    assert signed_out.status_code == 302 and signed_out.headers["Location"].startswith("/sign-in")
    refused = as_role("admin").get("/audit?action=%00")
    assert refused.status_code == 400 and "cannot store" in refused.get_data(as_text=True)
    api = hub_app.test_client()
    assert api.get("/api/v1/audit?action=%00").status_code == 401
    assert api.get("/api/v1/audit?action=%00", headers=api_headers(seeded, "team_member")).status_code == 403
    answer = api.get("/api/v1/audit?action=%00", headers=api_headers(seeded, "admin"))
    assert answer.status_code == 400 and answer.get_json()["error"]["code"] == "unstorable_character"
    body = api.post("/api/v1/users", data=b'{"email": "a\\u0000@acme.test", "role": "team_member"}',
                    content_type="application/json", headers=api_headers(seeded, "team_member"))
    assert body.status_code == 403
    body = api.post("/api/v1/users", data=b'{"email": "a\\u0000@acme.test", "role": "team_member"}',
                    content_type="application/json", headers=api_headers(seeded, "admin"))
    assert body.status_code == 400
    # routes without a permission are checked first, as before
    assert hub_app.test_client().get("/sign-in?next=%00").status_code == 400
