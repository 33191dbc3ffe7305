"""docs/api.md walked as a script's author walks it, against the server: what it quotes is what the
server answers (a refused query names every parameter the endpoint takes; a 401 challenges with
Bearer; a revoked token is refused by the OpenAPI document too; webhooks/setup for a vendor that
registers none says where the webhook URL is), what it shows from the demo is what the demo's
sandboxes hold, and what a script needs to know is said (``_schema`` in ``fields``, a replay of a
pending delivery, a user's default name, disabling keeps the status, the most ``page`` takes)."""

from __future__ import annotations

import json
import re
from pathlib import Path


from hub.web.schemas import PageQuerySchema, PostingSchema
from tests.web.support import api_headers

ROOT = Path(__file__).resolve().parents[2]
GUIDE = (ROOT / "docs" / "api.md").read_text()
FLAT = " ".join(GUIDE.split())  # the guide's text with its line breaks as spaces
BASE = "/api/v1"


def _section(title: str) -> str:
    start = GUIDE.index(f"\n## {title}\n")
    end = GUIDE.find("\n## ", start + 1)
    return " ".join(GUIDE[start:end if end != -1 else None].split())


def _example_answer(request_line: str) -> dict:
    """The JSON answer the guide shows right after the ```http request block ``request_line``."""
    match = re.search(r"```http\n" + re.escape(request_line) + r"\n```\n\n```http\nHTTP/1\.1 [^\n]*\n(?:[^\n]+\n)*\n(.*?)```",
                      GUIDE, re.S)
    assert match, f"no example answer for {request_line}"
    return json.loads(match.group(1))


def test_the_refused_query_the_guide_quotes_names_every_parameter_the_endpoint_takes(api):
    """The guide's ``?stauts=dead`` answer once left ``about`` out of the parameters it lists."""
    quoted = re.search(r"`GET /api/v1/activity\?stauts=dead` answers `([^`]+)`", FLAT).group(1)
    response = api("GET", "/activity?stauts=dead")
    assert response.status_code == 422
    assert response.get_json()["error"]["message"] == quoted


def test_every_401_challenges_with_bearer_as_the_guide_says(hub_app, seeded):
    client = hub_app.test_client()
    token = seeded.tokens["super_admin"]
    expected = {(): "Bearer", ("Authorization", f"Token {token}"): 'Bearer error="invalid_request"',
                ("Authorization", "Bearer"): 'Bearer error="invalid_request"',
                ("Authorization", "Bearer hub_not-a-token"): 'Bearer error="invalid_token"'}
    for header, challenge in expected.items():
        response = client.get(f"{BASE}/invitations", headers=[header] if header else [])
        assert response.status_code == 401
        assert response.headers.get("WWW-Authenticate") == challenge, header
    assert client.get(f"{BASE}/me", headers=api_headers(seeded, "super_admin")).headers.get("WWW-Authenticate") is None
    section = _section("Authenticating")
    assert "`WWW-Authenticate: Bearer`" in section
    assert '`error="invalid_request"`' in section and '`error="invalid_token"`' in section


def test_the_openapi_document_refuses_a_revoked_token_and_says_so(api, hub_app, seeded):
    client = hub_app.test_client()
    assert client.get(f"{BASE}/openapi.json").status_code == 200  # no token needed
    response = client.get(f"{BASE}/openapi.json", headers={"Authorization": "Bearer hub_revoked-or-unknown"})
    assert response.status_code == 401 and response.get_json()["error"]["code"] == "unauthorized"
    document = client.get(f"{BASE}/openapi.json").get_json()
    assert "401" in document["paths"]["/openapi.json"]["get"]["responses"]
    assert "WWW-Authenticate" in document["paths"]["/me"]["get"]["responses"]["401"]["headers"]
    assert "a revoked one answers 401 here too" in _section("The OpenAPI document")


def test_the_stages_example_is_the_lever_sandbox_s_stages():
    """The demo's Lever sandbox lists seven stages; the guide showed four of them, not its first."""
    from plugins.lever.sandbox.seed import STAGES

    shown = _example_answer("GET /api/v1/stages?posting_id=posting-data-analyst")["items"]
    assert shown == [{"id": stage_id, "name": name} for _, stage_id, name in STAGES]


def test_the_postings_example_shows_every_field_a_posting_has_as_the_sandbox_has_it():
    from plugins.lever.sandbox.seed import POSTINGS

    shown = _example_answer("GET /api/v1/postings")["items"]
    assert shown and all(set(item) == set(PostingSchema().fields) for item in shown)
    seeded = {pid: (title, state, team, location) for _, pid, title, state, team, location, _ in POSTINGS}
    for item in shown:
        assert (item["title"], item["state"], item["team"], item["location"]) == seeded[item["id"]]


def test_the_demo_story_names_every_bundled_sandbox_at_its_port():
    """``hub demo --port 5610`` gives each plugin with a sandbox, in name order, the next port."""
    with_sandbox = sorted(p.parent.parent.name for p in (ROOT / "plugins").glob("*/sandbox/__init__.py"))
    story = re.search(r"so the hub is at `http://127\.0\.0\.1:5610`, (.*?)\):", _section("Resources, one example each"))
    ports = re.findall(r"(\w+)(?: sandbox at port|'s at) (\d+)", story.group(1))
    assert {name.lower(): int(port) for name, port in ports} == {
        name: 5611 + i for i, name in enumerate(with_sandbox)}


def test_webhook_setup_for_a_vendor_that_registers_none_says_where_the_url_is(api):
    from hub.web.api.integrations import NO_WEBHOOK_SETUP

    response = api("POST", "/integrations/fakeassess/webhooks/setup")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert error == {"code": "not_available",
                     "message": NO_WEBHOOK_SETUP.format(title="Fake Tests", plugin="fakeassess")}
    assert "integration's page" not in error["message"]
    assert api("GET", "/integrations/fakeassess").get_json()["webhook_url"]  # what the message points to
    assert NO_WEBHOOK_SETUP.format(title="Canditech", plugin="canditech") in FLAT


def test_the_assessments_errors_are_sentences_naming_the_provider(api, fakes):
    _, assess = fakes
    from tests.web.support import vendor_error

    assess.fail = vendor_error("the vendor is down")
    answer = api("GET", "/assessments").get_json()
    assert answer["items"] == [] and len(answer["errors"]) == 1
    assert answer["errors"][0].startswith("Fake Tests")
    assert "in `errors` a sentence for each provider it could not, naming it by its title" in FLAT
    document = api("GET", "/openapi.json").get_json()
    assert "naming it by its title" in document["components"]["schemas"]["AssessmentList"]["properties"][
        "errors"]["description"]


def test_the_whole_body_s_error_is_under__schema_as_the_guide_says(api, seeded):
    target = seeded.per_role["super_admin"]["target_user"]
    error = api("PATCH", f"/users/{target}", json={}).get_json()["error"]
    assert error["fields"] == {"_schema": ["give role and/or active"]}
    assert '`{"_schema": ["give role and/or active"]}`' in _section("Errors")
    error = api("POST", "/attachments", json={"posting_id": "p1", "stage_id": "s1", "provider": "fakeassess",
                                              "assessment_id": "py", "options": 5}).get_json()["error"]
    assert error["fields"] == {"options._schema": ["Invalid input type."]}
    assert "`options._schema` for the object `options` itself" in _section("Errors")


def test_replaying_a_pending_delivery_is_the_conflict_the_guide_quotes(api, hub_app, seeded):
    from hub.extensions import db
    from hub.store.models import Delivery

    with hub_app.app_context():
        db.session.get(Delivery, seeded.ids["delivery"]).status = "pending"
        db.session.commit()
    response = api("POST", f"/deliveries/{seeded.ids['delivery']}/replay")
    assert response.status_code == 409
    error = response.get_json()["error"]
    assert f"409 `{error['code']}` (`{error['message']}`)" in FLAT


def test_a_user_s_default_name_and_their_own_reset_are_as_the_guide_says(api, seeded):
    created = api("POST", "/users", json={"email": "no.name@acme.test", "role": "team_member"})
    assert created.status_code == 201 and created.get_json()["name"] == "no.name"
    users = _section("Resources, one example each")
    assert "without `name` (or with `\"\"`) the name is the part of the email before the `@`" in users
    own = api("POST", f"/users/{seeded.users['super_admin']}/password-reset")
    assert own.status_code == 403
    assert f"(403 `{own.get_json()['error']['message']}`" in users
    still = api("PATCH", f"/users/{seeded.users['super_admin']}", json={"active": True})
    assert still.status_code == 403
    assert '(`{"active": true}`)' in users


def test_disabling_keeps_the_status_as_the_guide_says(api):
    before = api("GET", "/integrations/fakesource").get_json()
    answer = api("POST", "/integrations/fakesource/disable").get_json()["integration"]
    assert answer["enabled"] is False and answer["status"] == before["status"]
    assert "disabling keeps the status" in _section("Resources, one example each")


def test_the_most_page_takes_is_the_guide_s():
    most = int(re.search(r"`page` \(from 1, at most ([\d,]+)\)", GUIDE).group(1).replace(",", ""))
    assert [v.max for v in PageQuerySchema().fields["page"].validators] == [most]
