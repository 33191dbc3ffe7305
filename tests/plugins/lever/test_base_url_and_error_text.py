"""The custom base URL refuses a URL the plugin cannot use (``hub.kit.vendor_http``), and an answer
that is not Lever's JSON (a web server's HTML 404 page at a wrong base URL) reaches the admin as
words, never as its HTML."""

from __future__ import annotations

import pytest
import responses
from marshmallow import ValidationError

from hub.errors import HubError, TemporaryError
from plugins.lever.client import LeverAPIError, LeverClient, LeverNotFound
from plugins.lever.settings import LeverSettingsSchema
from tests.support.html_server import HTML_404, html_404_server

BASE = "http://lever.test"
API = BASE + "/v1"
SAID = "an HTML page, not its API's JSON: check the Custom base URL"


# --------------------------------------------------------------------------- the setting


@pytest.mark.parametrize("url, said", [
    ("http://127.0.0.1:99999", "port must be a number from 1 to 65535"),
    ("http://127.0.0.1:0", "port must be a number from 1 to 65535"),
    ("http://host:5711/<script>", "The path has characters a URL cannot carry (< >)"),
    ("http://host:5711?x=1#frag", "Remove the query string"),
    ("http://host:5711/#frag", "Remove the fragment"),
    ("http://key:@host:5711", "Remove the user name and password"),
    ("http://host:5711/a\"b", "The path has characters a URL cannot carry (\")"),
    ("ftp://x", "Enter a URL starting with http:// or https://"),
])
def test_a_custom_base_url_the_plugin_cannot_use_is_refused_with_a_sentence(url, said):
    with pytest.raises(ValidationError) as caught:
        LeverSettingsSchema().load({"environment": "custom", "base_url": url})
    (message,) = caught.value.messages["base_url"]
    assert said in message and message.endswith(".")


def test_a_base_url_is_checked_only_where_it_is_used():
    """A URL left over from a custom setup must not block saving a production connection's other
    settings (a key rotation, say): it is not used there."""
    loaded = LeverSettingsSchema().load({"environment": "production", "base_url": "http://127.0.0.1:99999"})
    assert loaded["environment"] == "production"
    with pytest.raises(ValidationError) as caught:
        LeverSettingsSchema().load({"environment": "custom", "base_url": "http://127.0.0.1:99999"})
    assert list(caught.value.messages) == ["base_url"]


@pytest.mark.parametrize("url, stored", [
    ("http://127.0.0.1:5001/", "http://127.0.0.1:5001/"),   # a sandbox's (hosts.custom strips the slash)
    (" https://api.example.com/v1/ ", "https://api.example.com/v1/"),  # a path prefix; surrounding spaces trimmed
])
def test_the_custom_environment_keeps_working(url, stored):
    loaded = LeverSettingsSchema().load({"environment": "custom", "base_url": url})
    assert loaded["base_url"] == stored
    assert LeverSettingsSchema().load({"environment": "production", "base_url": " "})["base_url"] is None
    with pytest.raises(ValidationError) as caught:
        LeverSettingsSchema().load({"environment": "custom"})
    assert caught.value.messages == {"base_url": ["a base URL is required for the custom environment"]}


# --------------------------------------------------------------------------- error answers


@pytest.fixture
def rsps():
    with responses.RequestsMock() as mock:
        yield mock


def _client(hub, environment: str = "custom"):
    hub.configure({"environment": environment, "base_url": BASE if environment == "custom" else None,
                   "auth_mode": "api_key", "api_key": "key-123"})


def test_a_404_html_page_is_named_with_the_setting_to_check(hub, rsps):
    _client(hub)
    rsps.get(API + "/users", status=404, body=HTML_404, content_type="text/html")

    with pytest.raises(LeverNotFound) as caught:
        hub.with_ctx(lambda ctx: LeverClient(ctx).get("/users"))
    assert caught.value.lever_message == SAID
    assert str(caught.value) == f"Lever answered 404 Not Found to GET /users: {SAID}"


def test_outside_the_custom_environment_there_is_no_base_url_to_check(hub, rsps):
    _client(hub, "production")
    rsps.get("https://api.lever.co/v1/users", status=403, body=HTML_404, content_type="text/html")

    with pytest.raises(LeverAPIError) as caught:
        hub.with_ctx(lambda ctx: LeverClient(ctx).get("/users"))
    assert str(caught.value) == "Lever answered 403 Forbidden to GET /users: an HTML page, not its API's JSON"


def test_a_5xx_html_page_is_named_and_a_short_text_kept(hub, rsps):
    _client(hub)
    for _ in range(4):
        rsps.get(API + "/users", status=502, body="<html><h1>Bad Gateway</h1></html>", content_type="text/html")
    rsps.get(API + "/stages", status=400, body="limit: too big", content_type="text/plain")

    with pytest.raises(TemporaryError) as caught:
        hub.with_ctx(lambda ctx: LeverClient(ctx, sleep=lambda s: None).get("/users"))
    assert str(caught.value) == "Lever answered 502 Bad Gateway to GET /users: an HTML page, not its API's JSON"
    with pytest.raises(LeverAPIError) as refused:
        hub.with_ctx(lambda ctx: LeverClient(ctx).get("/stages"))
    assert str(refused.value) == "Lever answered 400 Bad Request to GET /stages: limit: too big"


@pytest.fixture
def html_server():
    """A web server that is not Lever: a 404 HTML page for every path."""
    with html_404_server() as url:
        yield url


def test_the_connection_test_shows_words_not_the_page(hub, html_server):
    hub.configure({"environment": "custom", "base_url": html_server, "auth_mode": "api_key", "api_key": "key-123"})

    with pytest.raises(HubError) as caught:
        hub.call("test_connection")
    assert caught.value.message == f"Lever answered 404 Not Found to GET /users: {SAID}"
