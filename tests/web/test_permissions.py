"""The permission matrix: every page and API endpoint, for every role and for nobody signed in.

``MATRIX`` below IS the matrix (kept in ``docs/permissions.md`` too): each row names a URL rule
as the app registers it, the roles allowed to use it, and what to send. Allowed roles must get a
2xx/3xx answer (or the row's ``ok`` status); other roles get 403; nobody signed in is sent to the
sign-in page (pages) or gets 401 JSON (API). A meta-test fails when a route has no row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable


from hub.web.permissions import PERMISSIONS
from tests.web.support import PASSWORD, ROLES, api_headers

SA, AD, TM, LT = ROLES
ALL = frozenset(ROLES)
ADMINS = frozenset({SA, AD})
SUPER = frozenset({SA})
PUBLIC = None  # no sign-in needed


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    allowed: frozenset | None
    ids: dict[str, str] = field(default_factory=dict)  # rule parameter -> seed key (per role first)
    data: Callable[[str, Any], dict] | None = None  # form (pages) or JSON (API) body
    query: str = ""
    ok: frozenset = frozenset({200, 201, 204, 302, 303})

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")


def _stage(base: int) -> Callable[[str, Any], str]:
    return lambda role, seed: f"s{base + ROLES.index(role)}"


P = {"plugin": "plugin"}
MATRIX: list[Row] = [
    # ------------------------------------------------------------------ pages
    Row("GET", "/", ALL),
    Row("GET", "/account/password", ALL),
    # every role changes its own password here, and its client must stay signed in for the rows below
    Row("POST", "/account/password", ALL, data=lambda role, seed: {
        "current_password": PASSWORD, "new_password": f"new password of {role}",
        "confirm_password": f"new password of {role}"}),
    Row("GET", "/integrations", ADMINS),
    Row("GET", "/integrations/<plugin>", ADMINS, P),
    Row("POST", "/integrations/<plugin>/settings", SUPER, P,
        data=lambda role, seed: {"account": "acme", "region": "us", "max_rate": "5"}),
    Row("POST", "/integrations/<plugin>/test", ADMINS, P),
    Row("POST", "/integrations/<plugin>/webhooks", SUPER, P),
    Row("POST", "/integrations/<plugin>/oauth/start", SUPER, P),
    # allowed, then refused for the missing OAuth state (400), which is what an allowed role reaches
    Row("GET", "/integrations/<plugin>/oauth/callback", SUPER, P, query="state=x&code=y", ok=frozenset({400})),
    Row("POST", "/integrations/<plugin>/disable", SUPER, P),
    Row("POST", "/integrations/<plugin>/enable", SUPER, P),
    Row("GET", "/integrations/<plugin>/revoke", SUPER, P),
    Row("GET", "/integrations/<plugin>/disable", SUPER, P),
    # the fake ATS has no setting with users to pick from: 404 after the permission check
    Row("GET", "/integrations/<plugin>/suggestions/<field>", SUPER, {**P, "field": "=account"}, ok=frozenset({404})),
    Row("GET", "/pipeline", ADMINS),
    Row("GET", "/pipeline/new", ADMINS, query="posting_id=p1"),
    Row("POST", "/pipeline/new", ADMINS, data=lambda role, seed: {
        "posting_id": "p1", "stage_id": _stage(7)(role, seed), "assessment": "fakeassess:py"}),
    Row("GET", "/pipeline/<int:attachment_id>/edit", ADMINS, {"attachment_id": "att_keep"}),
    Row("POST", "/pipeline/<int:attachment_id>/edit", ADMINS, {"attachment_id": "att_keep"}, data=lambda role, seed: {
        "posting_id": "p1", "stage_id": _stage(3)(role, seed), "assessment": "fakeassess:py", "pass_threshold": "70"}),
    Row("GET", "/pipeline/<int:attachment_id>/detach", ADMINS, {"attachment_id": "att_detach_ui"}),
    Row("POST", "/pipeline/<int:attachment_id>/detach", ADMINS, {"attachment_id": "att_detach_ui"}),
    # the fake source cannot list a stage's candidates: the page says so, the POST flashes it (302)
    Row("GET", "/pipeline/<int:attachment_id>/backfill", ADMINS, {"attachment_id": "att_keep"}),
    Row("POST", "/pipeline/<int:attachment_id>/backfill", ADMINS, {"attachment_id": "att_keep"}),
    Row("GET", "/candidates", ALL),
    Row("GET", "/candidates/<int:invitation_id>", ALL, {"invitation_id": "invitation"}),
    Row("POST", "/candidates/<int:invitation_id>/reinvite", ADMINS, {"invitation_id": "inv_reinvite_ui"}),
    Row("POST", "/candidates/<int:invitation_id>/cancel", ADMINS, {"invitation_id": "inv_cancel_ui"}),
    Row("GET", "/activity", ADMINS),
    Row("POST", "/activity/deliveries/<id64:delivery_id>/replay", ADMINS, {"delivery_id": "dlv_ui"}),
    Row("POST", "/activity/deliveries/replay-all", ADMINS, data=lambda role, seed: {"status": "dead"}),
    Row("GET", "/users", ADMINS),
    Row("POST", "/users", ADMINS, data=lambda role, seed: {"email": f"new-{role}@acme.test", "role": "team_member"}),
    Row("POST", "/users/<int:user_id>/role", ADMINS, {"user_id": "target_user"},
        data=lambda role, seed: {"role": "limited_team_member"}),
    Row("POST", "/users/<int:user_id>/password", ADMINS, {"user_id": "target_user"}),
    Row("POST", "/users/<int:user_id>/active", ADMINS, {"user_id": "target_user"}, data=lambda role, seed: {"active": "0"}),
    Row("GET", "/audit", ADMINS),
    Row("GET", "/settings/api-tokens", SUPER),
    Row("POST", "/settings/api-tokens", SUPER, data=lambda role, seed: {"name": f"made by {role}"}),
    Row("POST", "/settings/api-tokens/<int:token_id>/revoke", SUPER, {"token_id": "spare_token"}),
    # ------------------------------------------------------------------ API
    Row("GET", "/api/v1/openapi.json", PUBLIC),
    Row("GET", "/api/v1/me", ALL),
    Row("GET", "/api/v1/integrations", ADMINS),
    Row("GET", "/api/v1/integrations/<plugin>", ADMINS, P),
    Row("PUT", "/api/v1/integrations/<plugin>", SUPER, P, data=lambda role, seed: {"account": "acme2"}),
    Row("GET", "/api/v1/integrations/<plugin>/webhooks", ADMINS, P),
    Row("POST", "/api/v1/integrations/<plugin>/disable", SUPER, P),
    Row("POST", "/api/v1/integrations/<plugin>/enable", SUPER, P),
    Row("POST", "/api/v1/integrations/<plugin>/test", ADMINS, P),
    Row("POST", "/api/v1/integrations/<plugin>/webhooks/setup", SUPER, P),
    Row("GET", "/api/v1/attachments", ADMINS),
    Row("POST", "/api/v1/attachments", ADMINS, data=lambda role, seed: {
        "posting_id": "p1", "stage_id": _stage(7)(role, seed), "provider": "fakeassess", "assessment_id": "sup"}),
    Row("GET", "/api/v1/attachments/<int:attachment_id>", ADMINS, {"attachment_id": "att_keep"}),
    Row("PUT", "/api/v1/attachments/<int:attachment_id>", ADMINS, {"attachment_id": "att_keep"},
        data=lambda role, seed: {"options": {"pass_threshold": 60}}),
    Row("DELETE", "/api/v1/attachments/<int:attachment_id>", ADMINS, {"attachment_id": "att_detach_api"}),
    Row("GET", "/api/v1/attachments/<int:attachment_id>/backfill", ADMINS, {"attachment_id": "att_keep"}),
    Row("POST", "/api/v1/attachments/<int:attachment_id>/backfill", ADMINS, {"attachment_id": "att_keep"},
        ok=frozenset({409})),  # the fake source cannot list a stage's candidates
    Row("GET", "/api/v1/postings", ADMINS),
    Row("GET", "/api/v1/stages", ADMINS, query="posting_id=p1"),
    Row("GET", "/api/v1/assessments", ADMINS),
    Row("GET", "/api/v1/invitations", ALL),
    Row("GET", "/api/v1/invitations/<int:invitation_id>", ALL, {"invitation_id": "invitation"}),
    Row("POST", "/api/v1/invitations/<int:invitation_id>/reinvite", ADMINS, {"invitation_id": "inv_reinvite_api"}),
    Row("POST", "/api/v1/invitations/<int:invitation_id>/cancel", ADMINS, {"invitation_id": "inv_cancel_api"}),
    Row("GET", "/api/v1/activity", ADMINS),
    Row("POST", "/api/v1/deliveries/<id64:delivery_id>/replay", ADMINS, {"delivery_id": "dlv_api"}),
    Row("POST", "/api/v1/deliveries/replay", ADMINS, data=lambda role, seed: {"status": "dead"}),
    Row("GET", "/api/v1/users", ADMINS),
    Row("POST", "/api/v1/users", ADMINS, data=lambda role, seed: {"email": f"api-{role}@acme.test", "role": "team_member"}),
    Row("GET", "/api/v1/users/<int:user_id>", ADMINS, {"user_id": "target_user"}),
    Row("PATCH", "/api/v1/users/<int:user_id>", ADMINS, {"user_id": "target_user"},
        data=lambda role, seed: {"role": "team_member"}),
    Row("POST", "/api/v1/users/<int:user_id>/password-reset", ADMINS, {"user_id": "target_user"}),
    Row("GET", "/api/v1/audit", ADMINS),
    # ------------------------------------------------------------------ last: revoking ends the connection
    Row("POST", "/integrations/<plugin>/revoke", SUPER, P),
    Row("POST", "/api/v1/integrations/<plugin>/revoke", SUPER, P),
]

EXCLUDED_BLUEPRINTS = ("health", "webhooks", "auth")


def _fill(row: Row, role: str | None, seed) -> str:
    def value(match: re.Match) -> str:
        key = row.ids[match.group(1)]
        if key == "plugin":
            return "fakesource"
        if key.startswith("="):  # a literal
            return key[1:]
        own = seed.per_role.get(role or SA, {})
        return str(own[key] if key in own else seed.ids[key])

    path = re.sub(r"<(?:\w+:)?(\w+)>", value, row.rule)
    return f"{path}?{row.query}" if row.query else path


def _send(client, row: Row, role: str | None, seed, headers: dict | None = None):
    path = _fill(row, role, seed)
    body = row.data(role or SA, seed) if row.data else None
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json" if row.api else "data"] = body
    return client.open(path, method=row.method, **kwargs)


def _routes(app) -> set[tuple[str, str]]:
    found = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static" or rule.endpoint.endswith(".static"):
            continue
        if rule.endpoint.split(".", 1)[0] in EXCLUDED_BLUEPRINTS:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            found.add((method, rule.rule))
    return found


def test_every_route_has_a_row_in_the_matrix(hub_app):
    rows = [(row.method, row.rule) for row in MATRIX]
    assert len(rows) == len(set(rows)), "a route is listed twice"
    routes = _routes(hub_app)
    missing = routes - set(rows)
    assert not missing, f"routes without a row in the permission matrix: {sorted(missing)}"
    stale = set(rows) - routes
    assert not stale, f"rows for routes that do not exist: {sorted(stale)}"


def _check_anonymous(client, row: Row, seed) -> list[str]:
    """Nobody signed in: pages redirect to the sign-in page, the API answers 401 JSON."""
    response = _send(client, row, None, seed)
    status = response.status_code
    where = f"{row.method} {row.rule} signed out"
    if row.allowed is PUBLIC:
        return [] if status == 200 else [f"{where}: expected 200, got {status}"]
    if row.api:
        if status != 401 or response.get_json()["error"]["code"] != "unauthorized":
            return [f"{where}: expected 401 unauthorized, got {status}"]
        return []
    if status != 302 or not response.headers["Location"].startswith("/sign-in?next="):
        return [f"{where}: expected a redirect to the sign-in page, got {status}"]
    return []


def test_the_matrix_for_every_role(hub_app, seeded, as_role):
    clients = {role: as_role(role) for role in ROLES}
    api_client = hub_app.test_client()
    failures = []
    for row in MATRIX:
        failures += _check_anonymous(hub_app.test_client(), row, seeded)
        for role in ROLES:
            if row.api:
                response = _send(api_client, row, role, seeded, api_headers(seeded, role))
            else:
                response = _send(clients[role], row, role, seeded)
            allowed = row.allowed is PUBLIC or role in row.allowed
            status = response.status_code
            if allowed and status not in row.ok:
                failures.append(f"{row.method} {row.rule} as {role}: expected {sorted(row.ok)}, got {status} "
                                f"{response.get_data(as_text=True)[:300]!r}")
            if not allowed:
                if status != 403:
                    failures.append(f"{row.method} {row.rule} as {role}: expected 403, got {status}")
                elif row.api:
                    assert response.get_json()["error"]["code"] == "forbidden"
                else:
                    assert "You do not have access to this" in response.get_data(as_text=True)
    assert not failures, "\n".join(failures)


def test_an_invalid_or_revoked_token_is_refused(hub_app, seeded, as_role):
    client = hub_app.test_client()
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer hub_nope"}).status_code == 401
    assert client.get("/api/v1/me", headers={"Authorization": "Basic abc"}).status_code == 401
    headers = api_headers(seeded, TM)
    assert client.get("/api/v1/me", headers=headers).get_json()["user"]["role"] == TM
    # a signed-in session does not authenticate the API: tokens only
    session_client = as_role(SA)
    assert session_client.get("/api/v1/me").status_code == 401
    # deactivating the user stops their token
    admin = as_role(SA)
    assert admin.post(f"/users/{seeded.users[TM]}/active", data={"active": "0"}).status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_the_docs_show_the_same_matrix():
    """docs/permissions.md lists every permission with exactly the roles in hub.web.permissions."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "permissions.md").read_text()
    table = {}
    for line in text.splitlines():
        match = re.match(r"^\|\s*`([\w.]+)`\s*\|(.*)\|\s*$", line)
        if match:
            cells = [c.strip() for c in match.group(2).split("|")]
            table[match.group(1)] = frozenset(role for role, cell in zip(ROLES, cells) if cell.startswith("✓"))
    assert table == {name: frozenset(roles) for name, roles in PERMISSIONS.items()}


def test_the_navigation_hides_what_the_role_cannot_use(as_role):
    expected = {
        SA: {"nav-dashboard", "nav-integrations", "nav-pipeline", "nav-candidates", "nav-activity", "nav-users",
             "nav-audit", "nav-api-tokens"},
        AD: {"nav-dashboard", "nav-integrations", "nav-pipeline", "nav-candidates", "nav-activity", "nav-users",
             "nav-audit"},
        TM: {"nav-dashboard", "nav-candidates"},
        LT: {"nav-dashboard", "nav-candidates"},
    }
    for role, ids in expected.items():
        html = as_role(role).get("/").get_data(as_text=True)
        shown = set(re.findall(r'id="(nav-[\w-]+)"', html))
        assert shown == ids, role
