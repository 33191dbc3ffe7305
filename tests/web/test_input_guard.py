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


def test_query_bytes_that_are_not_utf8_are_refused_naming_the_parameter(hub_app, seeded):
    """Werkzeug keeps them percent-encoded (``q=%FF`` searched for the text "%FF"); sent raw, not
    percent-encoded, they failed it (a 500). An encoded surrogate (ED A0 80) is no UTF-8 either."""
    client = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    for query in ("q=%FF", "q=%ED%A0%80", "q=ab%C3", "status=failed&q=%C0%AF"):
        assert_refused(client.get(f"/api/v1/invitations?{query}", headers=headers), "the query parameter 'q'",
                       "bytes that are not UTF-8")
    assert_refused(client.get("/api/v1/invitations", headers=headers, environ_overrides={"QUERY_STRING": "q=\xff"}),
                   "the query parameter 'q'", "bytes that are not UTF-8 (at byte 0)")
    assert_refused(client.get("/api/v1/audit", headers=headers, environ_overrides={"QUERY_STRING": "act\xe9on=1"}),
                   "the query parameter 'act\ufffdon'", "bytes that are not UTF-8 (at byte 3)")
    # an endpoint that takes no query: 400 for the bytes before 422 for the parameter
    assert_refused(client.get("/api/v1/users?x=%FF", headers=headers), "the query parameter 'x'", "not UTF-8")
    # a page: the error page, not a 500
    page = client.get("/sign-in", environ_overrides={"QUERY_STRING": "next=\xff"})
    assert page.status_code == 400 and "not UTF-8" in page.get_data(as_text=True)
    # UTF-8, encoded or sent raw, is text like any other
    for raw in ("q=Jos%C3%A9", "q=Jos\xc3\xa9"):
        answer = client.get("/api/v1/invitations", headers=headers, environ_overrides={"QUERY_STRING": raw})
        assert answer.status_code == 200 and answer.get_json()["total"] == 0


def test_a_path_the_database_cannot_store_is_400_whether_or_not_it_names_an_endpoint(hub_app, seeded):
    """As the API guide's table says: a NUL in the path is ``unstorable_character``, not the 404
    of an id that is not a number; so are path bytes that are not UTF-8 (Werkzeug would make them
    U+FFFD, a name no plugin has and no id)."""
    client = hub_app.test_client()
    headers = api_headers(seeded, "super_admin")
    for path in ("/api/v1/users/%00", "/api/v1/invitations/1%00/cancel", "/api/v1/nope%00"):
        assert_refused(client.get(path, headers=headers), "the URL path")
    assert_refused(client.get("/api/v1/users/%00"), "the URL path")  # no view, so no token needed to be told
    for raw in ("/api/v1/users/\xff", "/api/v1/integrations/\xed\xa0\x80"):
        assert_refused(client.get("/", headers=headers, environ_overrides={"PATH_INFO": raw}), "the URL path",
                       "bytes that are not UTF-8")
    page = client.get("/", environ_overrides={"PATH_INFO": "/candidates/\xff"})  # a page's: its error page
    assert page.status_code == 400 and "The URL path contains bytes that are not UTF-8" in page.get_data(as_text=True)
    # a path that is UTF-8 keeps its 404, naming the id
    response = client.get("/api/v1/users/%C3%A9", headers=headers)
    assert response.status_code == 404
    assert response.get_json()["error"]["message"] == "'é' is not a valid user id: ids are positive whole numbers"


def test_a_form_field_with_bytes_that_are_not_utf8_is_refused_naming_it(hub_app, as_role):
    client = as_role("super_admin")
    users = count(hub_app, User)
    response = client.post("/users", data=b"email=x%40example.com&name=A%FFB&role=team_member",
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The form field &#39;name&#39; contains bytes that are not UTF-8" in page and "Traceback" not in page
    assert count(hub_app, User) == users
