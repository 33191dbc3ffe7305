"""The API base URL setting refuses a URL the plugin cannot use (``hub.kit.vendor_http``), and an
answer that is not Canditech's JSON (a web server's HTML 404 page at a wrong base URL) reaches the
admin as a sentence, never as its HTML: in the connection test, the status line and the dashboard."""

from __future__ import annotations

import pytest
import requests
from urllib.parse import urlsplit
from marshmallow import ValidationError

import plugins.canditech as canditech
from hub import services
from hub.errors import HubError, TemporaryError
from hub.extensions import db
from hub.runtime import get_runtime
from plugins.canditech import wire
from plugins.canditech.client import CanditechNotFound, CanditechRejected
from plugins.canditech.settings import CanditechSettingsSchema
from tests.support.html_server import HTML_404, html_404_server
from tests.web.support import make_user, sign_in

from .helpers import BASE_URL

INVITATIONS = f"{BASE_URL}/v1/invitations"
ASSESSMENTS = f"{BASE_URL}/v1/assessments"
SAID = "an HTML page, not its API's JSON: check the API base URL"
SENTENCE = f"Canditech answered 404 Not Found with {SAID}"


# --------------------------------------------------------------------------- the setting


@pytest.mark.parametrize("url, said", [
    ("http://127.0.0.1:99999", "port must be a number from 1 to 65535"),
    ("http://127.0.0.1:0", "port must be a number from 1 to 65535"),
    ("http://host:5711/<script>", "The path has characters a URL cannot carry (< >)"),
    ("http://host:5711/a b", "Remove the spaces"),
    ("http://host:5711/\"x\"", "The path has characters a URL cannot carry (\")"),
    ("http://host:5711?x=1#frag", "Remove the query string"),
    ("http://host:5711/#frag", "Remove the fragment"),
    ("http://admin:hunter2@host:5711", "Remove the user name and password"),
    ("ftp://host", "Enter a URL starting with http:// or https://"),
])
def test_a_base_url_the_plugin_cannot_use_is_refused_with_a_sentence(url, said):
    with pytest.raises(ValidationError) as caught:
        CanditechSettingsSchema().load({"api_key": "k", "base_url": url})
    (message,) = caught.value.messages["base_url"]
    assert said in message and message.endswith(".")


@pytest.mark.parametrize("url, stored", [
    ("http://127.0.0.1:8002", "http://127.0.0.1:8002"),          # the sandbox's default
    ("https://api.example.com/v1/", "https://api.example.com/v1"),  # a path prefix
    ("https://api.canditech.io", "https://api.canditech.io"),
])
def test_usable_base_urls_are_kept(url, stored):
    assert CanditechSettingsSchema().load({"api_key": "k", "base_url": url})["base_url"] == stored
    assert CanditechSettingsSchema().load({"api_key": "k"})["base_url"] == "http://127.0.0.1:8002"


# --------------------------------------------------------------------------- error answers


def test_parse_error_names_an_html_page_instead_of_quoting_it():
    assert wire.parse_error(None, 404, HTML_404, "text/html; charset=utf-8") == ("http_404", SAID, SENTENCE)
    assert wire.parse_error(None, 404, HTML_404) == ("http_404", SAID, SENTENCE)  # known by its tags too
    assert wire.parse_error(None, 503, " Down for\n maintenance ") == \
        ("http_503", "Down for maintenance", "Canditech answered 503 Service Unavailable: “Down for maintenance”")
    assert wire.parse_error({"error": {"code": "not_found", "message": "no such invitation"}}, 404, "{...}") == \
        ("not_found", "no such invitation", "Canditech answered 404 not_found: no such invitation")


def test_an_empty_error_body_keeps_its_http_status_message():
    """The message of an empty body is still "HTTP <status>" (now said by the kit's ``empty``
    words, not by a check of its own before calling it); the sentence names the empty body."""
    for text in ("", "  \n", None):
        assert wire.parse_error(None, 404, text) == \
            ("http_404", "HTTP 404", "Canditech answered 404 Not Found with an empty body")


def test_a_non_json_error_body_is_described_once(ctx, rsps, client, monkeypatch):
    """The message and the sentence come from one look at the body (``parse_error`` and
    ``error_summary`` each described it)."""
    import hub.kit.vendor_http as vendor_http

    looked = []
    describe = vendor_http._describe
    monkeypatch.setattr(vendor_http, "_describe", lambda *args: looked.append(args) or describe(*args))
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=404, body=HTML_404, content_type="text/html")

    with pytest.raises(CanditechNotFound) as caught:
        client.get_invitation("inv_abc")
    assert (caught.value.vendor_message, str(caught.value)) == (SAID, SENTENCE)
    assert len(looked) == 1


def test_a_404_html_page_is_a_sentence(ctx, rsps, client):
    rsps.add("GET", f"{INVITATIONS}/inv_abc", status=404, body=HTML_404, content_type="text/html")

    with pytest.raises(CanditechNotFound) as caught:
        client.get_invitation("inv_abc")
    assert caught.value.vendor_message == SAID
    assert str(caught.value) == SENTENCE
    assert (caught.value.status, caught.value.code) == (404, "http_404")


def test_a_short_plain_text_refusal_is_kept_and_quoted(ctx, rsps, client):
    rsps.add("POST", f"{INVITATIONS}/inv_abc/cancel", status=400, body="cancel: bad state", content_type="text/plain")

    with pytest.raises(CanditechRejected) as caught:
        client.cancel_invitation("inv_abc")
    assert caught.value.vendor_message == "cancel: bad state"
    assert str(caught.value) == "Canditech answered 400 Bad Request: “cancel: bad state”"


def test_a_5xx_html_page_is_a_sentence_too(ctx, rsps, client, sleeps):
    for _ in range(3):
        rsps.add("GET", f"{INVITATIONS}/inv_abc", status=502, body="<html><h1>Bad Gateway</h1></html>",
                 content_type="text/html")

    with pytest.raises(TemporaryError) as caught:
        client.get_invitation("inv_abc")
    assert str(caught.value) == (f"{wire.ENDPOINT_GET_INVITATION}: Canditech answered 502 Bad Gateway with an "
                                 "HTML page, not its API's JSON")


def test_test_connection_says_what_came_back_with_its_status(ctx, rsps):
    """It said "Canditech: an HTML page, ..." without the status."""
    rsps.add("GET", ASSESSMENTS, status=404, body=HTML_404, content_type="text/html")

    with pytest.raises(HubError) as caught:
        canditech.test_connection(ctx)
    assert caught.value.message == SENTENCE


@pytest.mark.parametrize("status, body, content_type, said", [
    (400, "bad key format", "text/plain", "Canditech answered 400 Bad Request: “bad key format”"),
    (404, "", None, "Canditech answered 404 Not Found with an empty body"),  # was "Canditech: HTTP 404"
    (403, "<error>denied</error>", "application/xml",
     "Canditech answered 403 Forbidden with an XML document, not its API's JSON: check the API base URL"),
])
def test_test_connection_words_any_answer_not_canditech_s_json_as_a_sentence(ctx, rsps, status, body,
                                                                            content_type, said):
    rsps.add("GET", ASSESSMENTS, status=status, body=body, content_type=content_type)

    with pytest.raises(HubError) as caught:
        canditech.test_connection(ctx)
    assert caught.value.message == said


@pytest.mark.parametrize("count, said", [(1, "Canditech is connected: 1 assessment"),
                                         (2, "Canditech is connected: 2 assessments")])
def test_test_connection_counts_the_assessments_in_words(ctx, rsps, count, said):
    rsps.add("GET", ASSESSMENTS, json={"data": [{"id": f"a-{n}", "name": f"A {n}"} for n in range(count)]})
    assert canditech.test_connection(ctx) == said  # it said "1 assessments"


def test_test_connection_keeps_canditech_s_own_message(ctx, rsps):
    rsps.add("GET", ASSESSMENTS, status=401, json={"error": {"code": "unauthorized", "message": "invalid API key"}})

    with pytest.raises(HubError) as caught:
        canditech.test_connection(ctx)
    assert caught.value.message == "Canditech: invalid API key"


def test_a_5xx_page_or_no_answer_is_not_prefixed_twice(ctx, rsps, client):
    """A ``CanditechUnavailable`` names Canditech already: it said "Canditech: GET /v1/assessments:
    Canditech answered 502 Bad Gateway ..."."""
    for _ in range(3):
        rsps.add("GET", ASSESSMENTS, status=502, body="<html><h1>Bad Gateway</h1></html>", content_type="text/html")
    with pytest.raises(TemporaryError) as caught:
        client.list_assessments()
    assert canditech._vendor_error(caught.value).message == \
        f"{wire.ENDPOINT_LIST_ASSESSMENTS}: Canditech answered 502 Bad Gateway with an HTML page, not its API's JSON"

    rsps.replace("GET", ASSESSMENTS, body=requests.ConnectionError("refused"))
    with pytest.raises(TemporaryError) as caught:
        client.list_assessments()
    assert canditech._vendor_error(caught.value).message == \
        f"{wire.ENDPOINT_LIST_ASSESSMENTS}: Canditech is unreachable at {urlsplit(ASSESSMENTS).netloc} " \
        "(ConnectionError): check the API base URL, or wait for Canditech to be back"  # where, and what to check


# --------------------------------------------------------------------------- what the admin sees


@pytest.fixture
def html_server():
    """A web server that is not Canditech: a 404 HTML page for every path."""
    with html_404_server() as url:
        yield url


def test_the_connection_test_status_line_and_dashboard_show_a_sentence_not_the_page(make_app, html_server):
    app = make_app(plugins=[("canditech", canditech)], entry_points=False)
    with app.app_context():
        runtime = get_runtime()
        services.set_enabled(runtime, 1, "canditech", True, "test")
        services.save_settings(runtime, 1, "canditech", {"base_url": html_server, "api_key": "k"}, "test")
        make_user(1, "owner@canditech-url.test", "super_admin")
        db.session.commit()
    client = app.test_client()
    assert sign_in(client, "owner@canditech-url.test").status_code == 302

    tested = client.post("/integrations/canditech/test", follow_redirects=True).get_data(as_text=True)
    page = client.get("/integrations/canditech").get_data(as_text=True)
    dashboard = client.get("/").get_data(as_text=True)

    with app.app_context():
        row = get_runtime().integration(1, "canditech")
        assert row.status == "error"
        assert row.status_message == SENTENCE  # it was "Canditech: <SAID>", without the status
    for html in (tested, page, dashboard):
        assert SENTENCE.replace("'", "&#39;") in html
        assert "Canditech: Canditech" not in html
        assert "&lt;!doctype" not in html.lower() and "&lt;html" not in html.lower()
        assert "The requested URL was not found" not in html
