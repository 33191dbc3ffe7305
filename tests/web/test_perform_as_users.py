"""Lever's "Write as Lever user" was a free-text user id, which an admin had to find in Lever by
hand (a UX walk-through). A settings field of a source plugin marked
``metadata={"suggest": "source_users"}`` is now offered the ATS's users to pick from (the plugin's
own ``source_list_users``): the page's script reads them from
``/integrations/<plugin>/suggestions/<field>`` when the field is first used, once credentials are
saved and not refused (saving this very field takes the connection back to "not tested yet"), so
a page view never waits on the vendor nor decides the connection's state. An id can still be typed. Against the Lever sandbox over real HTTP; the script in a real browser."""

from __future__ import annotations

import re

import requests

from plugins.lever import readapi
from plugins.lever.sandbox import SEED
from tests.web import test_integration_next_step as next_step
from tests.web.support import make_user, sign_in

GOOD_KEY = next_step.GOOD_KEY
lever_sandbox, lever = next_step.lever_sandbox, next_step.lever  # the fixtures, shared
USERS_ROUTE = "GET /v1/users"
SUGGESTIONS = "/integrations/lever/suggestions/perform_as"


def _input(html: str) -> str:
    return re.search(r'<input type="text" id="setting-perform_as"[^>]*>', html).group(0)


def _users_read(base: str) -> int:
    stats = requests.get(f"{base}/_sandbox/stats", timeout=10).json()
    return stats.get("requests_by_route", {}).get(USERS_ROUTE, 0)


def _connected(lever) -> None:
    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY}).status_code == 302
    assert client.post("/integrations/lever/test").status_code == 302
    assert next_step._status(app, "lever")[0] == "connected"


def test_the_users_are_offered_once_a_key_is_saved_and_a_page_view_reads_none(lever):
    app, client, form = lever
    base = form["base_url"]
    assert "data-suggest-url" not in _input(client.get("/integrations/lever").get_data(as_text=True))  # no key
    assert client.get(SUGGESTIONS).status_code == 409
    assert client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY}).status_code == 302
    before = _users_read(base)
    field = _input(client.get("/integrations/lever").get_data(as_text=True))
    assert f'data-suggest-url="{SUGGESTIONS}"' in field and 'data-suggest-list="setting-perform_as-suggestions"' in field
    assert _users_read(base) == before  # the page itself never calls Lever for them
    assert next_step._status(app, "lever")[0] == "configured"
    # a wrong user id saved: the test fails ("Error"), and the list is still offered to fix it
    assert client.post("/integrations/lever/settings", data={**form, "perform_as": "user-nobody"}).status_code == 302
    client.post("/integrations/lever/test")
    assert next_step._status(app, "lever")[0] == "error"
    assert f'data-suggest-url="{SUGGESTIONS}"' in _input(client.get("/integrations/lever").get_data(as_text=True))
    assert client.get(SUGGESTIONS).status_code == 200


def test_a_key_lever_refused_offers_nothing(lever):
    app, client, form = lever
    next_step._refused(lever)
    assert next_step._status(app, "lever")[0] == "needs_reauthorization"
    assert "data-suggest-url" not in _input(client.get("/integrations/lever").get_data(as_text=True))
    refused = client.get(SUGGESTIONS)
    assert refused.status_code == 409 and "has no credentials it accepts" in refused.get_json()["error"]["message"]


def test_the_list_is_every_lever_user_by_name(lever):
    app, client, form = lever
    _connected(lever)
    answer = client.get(SUGGESTIONS)
    items = answer.get_json()["items"]
    assert answer.status_code == 200 and {item["value"] for item in items} == set(SEED["users"].values())
    assert {"value": "user-admin", "label": "Ada Admin <ada.admin@example.com>"} in items
    assert [item["label"] for item in items] == sorted((item["label"] for item in items), key=str.lower)


def test_a_failed_or_odd_answer_is_a_message_never_a_500(lever, monkeypatch):
    app, client, form = lever
    _connected(lever)
    monkeypatch.setattr(readapi, "list_users", lambda ctx, client, refresh=False: 5)
    odd = client.get(SUGGESTIONS)
    assert odd.status_code == 502
    assert odd.get_json()["error"]["message"] == "Lever failed: it returned int, not a list of users"

    def down(ctx, client, refresh=False):
        raise requests.ConnectionError("connection refused")

    monkeypatch.setattr(readapi, "list_users", down)
    failed = client.get(SUGGESTIONS)
    # an exception the plugin let through: its type, never its text (which may quote a key)
    assert failed.status_code == 502
    assert failed.get_json()["error"]["message"] == "Lever failed: ConnectionError (the hub's log has the details)"
    unknown = client.get("/integrations/lever/suggestions/base_url")
    assert unknown.status_code == 404 and "has no setting 'base_url' with values to pick from" in unknown.get_json()["error"]["message"]


def test_only_someone_who_may_change_the_settings_is_offered_the_users(lever):
    """An Admin sees the settings read-only: nothing is offered, and the list is refused."""
    app, client, form = lever
    _connected(lever)
    with app.app_context():
        from hub.extensions import db

        make_user(1, "admin@next-step.test", "admin")
        db.session.commit()
    admin = app.test_client()
    assert sign_in(admin, "admin@next-step.test").status_code == 302
    assert "data-suggest-url" not in _input(admin.get("/integrations/lever").get_data(as_text=True))
    assert admin.get(SUGGESTIONS).status_code == 403


def test_a_test_s_result_is_said_once_on_the_page(lever):
    """After Test connection, the flash and the status banner said the same sentence, one above
    the other (a UX walk-through): the banner waits for the next visit."""
    from html import unescape

    from hub.runtime import get_runtime

    app, client, form = lever
    assert client.post("/integrations/lever/settings", data={**form, "api_key": GOOD_KEY}).status_code == 302
    html = unescape(client.post("/integrations/lever/test", follow_redirects=True).get_data(as_text=True))
    with app.app_context():
        said = get_runtime().integration(1, "lever").status_message
    assert said and html.count(said) == 1 and 'id="status-message"' not in html
    again = unescape(client.get("/integrations/lever").get_data(as_text=True))
    assert again.count(said) == 1 and 'id="status-message"' in again


def test_a_number_setting_s_help_says_its_range(lever):
    """Lever's "Accept webhooks up to (hours old)" had no help: its range (1-168) showed only in the
    error after a save that broke it. A number setting's help now says it, unless it names it."""
    app, client, form = lever
    html = client.get("/integrations/lever").get_data(as_text=True)
    hours = re.search(r'<p class="help" id="setting-max_webhook_age_hours-help">(.*?)</p>', html, re.S).group(1)
    assert hours.strip() == "From 1 to 168."
    skew = re.search(r'<p class="help" id="setting-max_clock_skew_minutes-help">(.*?)</p>', html, re.S).group(1)
    assert skew.strip() == "From 0 to 60."
    assert 'aria-describedby="setting-max_webhook_age_hours-help"' in html
