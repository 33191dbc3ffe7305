"""Text the database cannot store (NUL, unpaired surrogates) is refused with a 400 naming where it
is, on every backend, before anything is stored; the same request without it then succeeds."""

from __future__ import annotations

import json

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Event, User, WebhookLog
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder
from tests.web.support import api_headers


def count(app, model) -> int:
    with app.app_context():
        value = db.session.scalar(sa.select(sa.func.count()).select_from(model))
        db.session.rollback()
        return value


def assert_refused(response, where: str, what: str = "a NUL character") -> None:
    assert response.status_code == 400, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] == "unstorable_character"
    assert where in error["message"] and what in error["message"], error["message"]


def test_a_webhook_holding_a_nul_is_refused_and_nothing_is_stored(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    url = f"/webhooks/src/{keys['src']}"

    assert_refused(client.post(url, data=json.dumps({"id": "evt\u0000-1"})), "the request body")
    assert_refused(client.post(url, data=b'{"id": "evt-1", "opportunity_id": "o\x00"}'), "the request body",
                   "a NUL byte")
    assert_refused(client.post(url, data=json.dumps({"id": "evt-1", "opportunity_id": "\ud800"})),
                   "the request body", "an unpaired surrogate")
    # the same surrogate as raw bytes (json.loads of bytes would let it through), and other non-UTF-8
    assert_refused(client.post(url, data=b'{"id": "evt-\xed\xa0\x80"}'), "the request body", "not UTF-8")
    assert_refused(client.post(url, data=b'{"id": "evt-\xff"}'), "the request body", "not UTF-8 (at byte 12)")
    assert count(app, Event) == 0
    with app.app_context():  # refused, and recorded for admins like any rejection (without the text)
        logged = list(db.session.scalars(sa.select(WebhookLog.outcome)))
        messages = list(db.session.scalars(sa.select(WebhookLog.message)))
    assert logged == ["rejected"] * 5 and all("cannot store" in m and "\x00" not in m for m in messages)

    # a backslash before "u0000" is text, not a NUL: that event is stored as it is
    answer = client.post(url, data=json.dumps({"id": "evt-\\u0000"}))
    assert answer.status_code == 200 and answer.json["status"] == "accepted"
    with app.app_context():
        assert db.session.scalar(sa.select(Event.external_id)) == "evt-\\u0000"
    assert client.post(url, data=json.dumps({"id": "evt-1"})).json["status"] == "accepted"
    assert count(app, Event) == 2


def test_api_bodies_query_strings_and_paths_holding_a_nul_are_refused(hub_app, seeded):
    client = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    users = count(hub_app, User)

    response = client.post("/api/v1/users", headers=headers,
                           json={"email": "new@example.com", "role": "team_member", "name": "A\u0000B"})
    assert_refused(response, "the request body")
    assert count(hub_app, User) == users

    assert_refused(client.get("/api/v1/audit?action=%00", headers=headers), "the query parameter 'action'")
    assert_refused(client.get("/api/v1/audit?a%00=1", headers=headers), "the query parameter 'a\\x00'")
    response = client.post("/api/v1/users", headers={**headers, "Content-Type": "application/json"},
                           data=b'{"email": "s@example.com", "role": "team_member", "name": "A\xed\xa0\x80B"}')
    assert_refused(response, "the request body", "not UTF-8")
    assert_refused(client.get("/api/v1/integrations/lever%00", headers=headers), "the URL path")

    response = client.post("/api/v1/users", headers=headers,
                           json={"email": "new@example.com", "role": "team_member", "name": "A B"})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert count(hub_app, User) == users + 1


def test_a_form_field_holding_a_nul_gets_an_error_page_naming_the_field(hub_app, as_role):
    client = as_role("super_admin")
    users = count(hub_app, User)
    response = client.post("/users", data={"email": "x@example.com", "name": "A\u0000", "role": "team_member"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The form field &#39;name&#39; contains a NUL character" in page and "Traceback" not in page
    assert count(hub_app, User) == users


def test_the_body_check_leaves_what_is_not_json_to_the_view():
    from hub.web.input_guard import unstorable_body

    assert unstorable_body(b'{"name": "\\u00e9", "deep": ' + b"[" * 100_000) is None  # past the recursion limit
    assert unstorable_body(b'{"name": "\\u00e9"') is None  # not JSON
    assert unstorable_body(b'{"name": "\\u00e9"}') is None  # an escape that is fine
    assert unstorable_body(b'{"name": "\\u0000"}') == "a NUL character (\\u0000)"
