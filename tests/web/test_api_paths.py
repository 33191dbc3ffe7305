"""API paths that match no route say why in their 404: an id that is not a whole number is named
("'abc' is not a valid invitation id: ids are positive whole numbers"), any other path is "no such API
endpoint"; the UI's pages keep their HTML 404 (which names a bad id too). And ``GET
/api/v1/integrations`` says which ATS the hub reads from (``active_source``) in a workspace kept
with two enabled."""

from __future__ import annotations

import re

import pytest
from werkzeug.exceptions import NotFound

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import SUPER_ADMIN
from tests.reliability.contract import check_answer
from tests.test_hooks import OtherSource, Provider, Source
from tests.web.support import api_headers, make_user

ENDPOINTS = "the endpoints are listed at /api/v1/openapi.json"


def _error(response, status=404) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    assert response.mimetype == "application/json"
    check_answer(response.request.path, response.status_code, response.content_type, response.get_data())
    body = response.get_json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    return body["error"]


@pytest.mark.parametrize("method, path, message", [
    ("GET", "/invitations/abc", "'abc' is not a valid invitation id: ids are positive whole numbers"),
    ("POST", "/invitations/abc/reinvite", "'abc' is not a valid invitation id: ids are positive whole numbers"),
    ("POST", "/invitations/1x/cancel", "'1x' is not a valid invitation id: ids are positive whole numbers"),
    ("GET", "/attachments/-3", "'-3' is not a valid attachment id: ids are positive whole numbers"),
    ("DELETE", "/attachments/1.5", "'1.5' is not a valid attachment id: ids are positive whole numbers"),
    ("GET", "/attachments/seven/backfill", "'seven' is not a valid attachment id: ids are positive whole numbers"),
    ("PATCH", "/users/me", "'me' is not a valid user id: ids are positive whole numbers"),
    ("POST", "/users/0x1/password-reset", "'0x1' is not a valid user id: ids are positive whole numbers"),
    ("POST", "/deliveries/abc/replay", "'abc' is not a valid delivery id: ids are positive whole numbers"),
])
def test_an_id_that_is_not_a_whole_number_is_named(api, method, path, message):
    assert _error(api(method, path)) == {"code": "not_found", "message": message}


def test_every_documented_id_parameter_is_named(api):
    """Every operation of the OpenAPI document with an integer id in its path: a new route too."""
    document = api("GET", "/openapi.json").get_json()
    checked = 0
    for path, item in document["paths"].items():
        for method, op in item.items():
            ids = [p["name"] for p in op.get("parameters", []) if p["in"] == "path" and p["schema"]["type"] == "integer"]
            if not ids:
                continue
            noun = ids[0].removesuffix("_id").replace("_", " ")
            url = re.sub(r"{\w+}", "abc", path)
            error = _error(api(method.upper(), url))
            assert error == {"code": "not_found", "message": f"'abc' is not a valid {noun} id: ids are positive whole numbers"}, \
                (method, path)
            checked += 1
    assert checked >= 11  # invitations 3, attachments 5, users 2, deliveries 1


def test_the_bad_id_is_named_whatever_the_token(api):
    # routing comes before the sign-in: no token, or a role without the permission, gets the same 404
    for role in (None, "limited_team_member"):
        assert _error(api("POST", "/invitations/abc/cancel", role=role))["message"] == \
            "'abc' is not a valid invitation id: ids are positive whole numbers"


def test_odd_and_long_ids_are_quoted_and_cut(api):
    assert _error(api("GET", "/invitations/%C3%A9t%C3%A9"))["message"] == \
        "'été' is not a valid invitation id: ids are positive whole numbers"
    assert _error(api("GET", "/invitations/" + "9" * 30 + "x" * 70))["message"] == \
        f"'{'9' * 30 + 'x' * 10}…' is not a valid invitation id: ids are positive whole numbers"


def test_whole_number_ids_reach_the_view(api, seeded):
    assert api("GET", f"/invitations/{seeded.ids['invitation']}").status_code == 200
    error = _error(api("GET", "/invitations/999999"))  # no such row: the view's own 404
    assert error["code"] == "not_found" and "whole numbers" not in error["message"]
    assert "whole numbers" not in _error(api("GET", f"/invitations/{seeded.other['invitation_id']}"))["message"]


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/nope"), ("POST", "/api/v1/invitations/1/extra"), ("GET", "/api/v1/invitations/abc/"),
    ("GET", "/api/v1/"), ("GET", "/api/v2/invitations/1"), ("DELETE", "/api/v1/integrations/fakesource/x/y"),
])
def test_an_unknown_endpoint_says_so(hub_app, seeded, method, path):
    response = hub_app.test_client().open(path, method=method, headers=api_headers(seeded, "super_admin"))
    error = _error(response)
    assert error == {"code": "not_found", "message": f"no such API endpoint: {method} {path}; {ENDPOINTS}"}
    assert error["message"] != NotFound.description


def test_a_long_unknown_path_is_cut(hub_app):
    path = "/api/v1/" + "a" * 300
    error = _error(hub_app.test_client().get(path))
    assert error["message"] == f"no such API endpoint: GET {path[:200]}…; {ENDPOINTS}"


def test_a_wrong_method_is_still_a_405(api):
    error = _error(api("GET", "/deliveries/replay"), status=405)
    assert error["code"] == "method_not_allowed"


@pytest.mark.parametrize("method, path, noun", [
    ("GET", "/candidates/abc", "invitation"), ("POST", "/candidates/abc/cancel", "invitation"),
    ("GET", "/pipeline/abc/edit", "attachment"), ("POST", "/users/abc/role", "user"), ("GET", "/nope", None),
])
def test_ui_pages_keep_their_html_404(as_role, method, path, noun):
    """The pages' bad ids are named too, on their HTML error page (``tests/web/test_ui_rough_edges.py``)."""
    client = as_role("super_admin")
    response = client.open(path, method=method)
    text = response.get_data(as_text=True)
    assert response.status_code == 404 and response.mimetype == "text/html", text[:300]
    assert "<!doctype html>" in text.lower()
    assert "no such API endpoint" not in text
    if noun:
        assert f"&#39;abc&#39; is not a valid {noun} id: ids are positive whole numbers." in text
    else:
        assert "whole numbers" not in text


# ---------------------------------------------------------------------- active_source

def _two_sources(make_app, enabled: tuple[str, ...]):
    """Source, Other ATS and an assessment provider installed; ``enabled`` (sources) set up in that
    order and enabled in the database directly, as an upgrade finds a workspace from before the
    one-ATS rule (``set_enabled`` refuses a second); the provider enabled; a Super Admin's token."""
    app = make_app(plugins=[("source", Source()), ("other", OtherSource()), ("provider", Provider())],
                   entry_points=False)
    with app.app_context():
        runtime = get_runtime()
        token = services.create_api_token(make_user(1, "super_admin@acme.test", SUPER_ADMIN), "test")
        for plugin in enabled:
            services.get_integration(runtime, 1, plugin).enabled = True
            db.session.commit()
        for plugin in ("source", "other"):
            services.get_integration(runtime, 1, plugin)
        services.set_enabled(runtime, 1, "provider", True, "test")
        db.session.commit()
        assert runtime.enabled_sources(1) == list(enabled)
    client = app.test_client()

    def call(method, path):
        return client.open(f"/api/v1{path}", method=method, headers={"Authorization": f"Bearer {token}"})

    return call


def _listed(call) -> dict[str, dict]:
    response = call("GET", "/integrations")
    assert response.status_code == 200
    return {item["plugin"]: item for item in response.get_json()["items"]}


@pytest.mark.parametrize("enabled", [("other", "source"), ("source", "other")])
def test_the_list_marks_the_one_ats_the_hub_reads(make_app, enabled):
    call = _two_sources(make_app, enabled)
    items = _listed(call)
    assert {name: (item["kind"], item["enabled"]) for name, item in items.items()} == {
        "source": ("source", True), "other": ("source", True), "provider": ("assessment", True)}
    # the first set up, not the first by name
    assert {name: item["active_source"] for name, item in items.items()} == {
        enabled[0]: True, enabled[1]: False, "provider": False}
    assert [name for name, item in items.items() if item["active_source"]] == [enabled[0]]
    for name in ("source", "other", "provider"):
        one = call("GET", f"/integrations/{name}")
        assert one.status_code == 200 and one.get_json()["active_source"] is (name == enabled[0])


def test_disabling_the_active_ats_makes_the_other_one_active(make_app):
    call = _two_sources(make_app, ("other", "source"))
    result = call("POST", "/integrations/other/disable")
    assert result.status_code == 200
    assert result.get_json()["integration"]["plugin"] == "other"
    assert result.get_json()["integration"]["active_source"] is False
    items = _listed(call)
    assert {name: item["active_source"] for name, item in items.items()} == {
        "source": True, "other": False, "provider": False}
    assert call("POST", "/integrations/source/disable").get_json()["integration"]["active_source"] is False
    assert not any(item["active_source"] for item in _listed(call).values())  # no ATS enabled: none


def test_the_openapi_document_describes_active_source(api):
    schemas = api("GET", "/openapi.json").get_json()["components"]["schemas"]
    integration = schemas["Integration"]
    assert integration["properties"]["active_source"]["type"] == "boolean"
    assert "active_source" in integration["required"]
    assert "assessment" in integration["properties"]["active_source"]["description"]
    assert schemas["ActionResult"]["properties"]["integration"] == {"$ref": "#/components/schemas/Integration"}
