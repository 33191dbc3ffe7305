"""The API base URL setting refuses a URL the plugin cannot use (``hub.kit.vendor_http``), and an
answer that is not Vervoe's JSON (a web server's HTML 404 page at a wrong base URL) reaches the
admin as words, never as its HTML: from the token endpoint, the API, and the connection test."""

from __future__ import annotations


import pytest
from marshmallow import ValidationError

import plugins.vervoe as vervoe
from hub.errors import HubError, TemporaryError
from plugins.vervoe import auth, invite, wire
from plugins.vervoe.client import VervoeClient, VervoeForbidden, VervoeNotFound, VervoeRejected
from plugins.vervoe.settings import VervoeSettings, VervoeSettingsSchema

from tests.support.html_server import HTML_404, html_404_server, html_error_server

from .client_fakes import BASE, FakeCtx
from .conftest import vervoe_settings

SAID = "an HTML page, not its API's JSON: check the API base URL"


# --------------------------------------------------------------------------- the setting


@pytest.mark.parametrize("url, said", [
    ("http://127.0.0.1:99999/api", "port must be a number from 1 to 65535"),
    ("http://host:5711/<script>", "The path has characters a URL cannot carry (< >)"),
    ("http://host:5711/api?x=1#frag", "Remove the query string"),
    ("http://host:5711/api#frag", "Remove the fragment"),
    ("https://key:secret@api.vervoe.com/api", "Remove the user name and password"),
    ("http://host:5711/my api", "Remove the spaces"),
    ("http://host:5711/'api'", "The path has characters a URL cannot carry (')"),
])
def test_a_base_url_the_plugin_cannot_use_is_refused_with_a_sentence(url, said):
    with pytest.raises(ValidationError) as caught:
        VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s", "base_url": url})
    (message,) = caught.value.messages["base_url"]
    assert said in message and message.endswith(".")


@pytest.mark.parametrize("url, stored", [
    ("http://127.0.0.1:5003/api/", "http://127.0.0.1:5003/api"),  # a sandbox's
    ("https://api.vervoe.com/api", "https://api.vervoe.com/api"),
    ("https://api.example.com/v1/", "https://api.example.com/v1"),
])
def test_usable_base_urls_are_kept(url, stored):
    assert VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s", "base_url": url})["base_url"] == stored
    assert VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s"})["base_url"] == wire.DEFAULT_BASE_URL


# --------------------------------------------------------------------------- error answers


def test_parse_error_names_an_html_page_instead_of_quoting_it():
    """``(message, summary)``: the words, and the sentence with the status (the message alone was
    returned before)."""
    assert wire.parse_error(None, 404, HTML_404, "text/html; charset=utf-8") == (
        SAID, f"Vervoe answered 404 Not Found with {SAID}")
    assert wire.parse_error(None, 404, HTML_404)[0] == SAID  # known by its tags too
    assert wire.parse_error(None, 502, "<html><h1>Bad Gateway</h1></html>") == (
        "an HTML page, not its API's JSON", "Vervoe answered 502 Bad Gateway with an HTML page, not its API's JSON")
    assert wire.parse_error(None, 503, "  Down for\n maintenance ") == (
        "Down for maintenance", "Vervoe answered 503 Service Unavailable: “Down for maintenance”")
    assert wire.parse_error(None, 502, "") == ("HTTP 502", "Vervoe answered 502 Bad Gateway with an empty body")


def test_an_api_404_html_page_is_named(rsps):
    rsps.add("GET", BASE + wire.report_path("u-1"), status=404, body=HTML_404, content_type="text/html")

    with pytest.raises(VervoeNotFound) as caught:
        VervoeClient(FakeCtx(), sleep=lambda s: None).get_report("u-1")
    assert caught.value.vendor_message == SAID
    assert str(caught.value) == f"Vervoe answered 404 Not Found with {SAID}"


def test_a_short_plain_text_refusal_is_kept(rsps):
    rsps.add("GET", BASE + wire.report_path("u-1"), status=400, body="bad uuid", content_type="text/plain")

    with pytest.raises(VervoeRejected) as caught:
        VervoeClient(FakeCtx(), sleep=lambda s: None).get_report("u-1")
    assert str(caught.value) == "Vervoe answered 400 Bad Request: “bad uuid”"
    assert caught.value.vendor_message == "bad uuid"


def test_the_token_endpoint_s_html_page_is_named(rsps):
    for _ in range(auth.MAX_ATTEMPTS):
        rsps.add("GET", BASE + wire.TOKEN_PATH, status=404, body=HTML_404, content_type="text/html")

    ctx = FakeCtx(token=False)
    with pytest.raises(TemporaryError) as caught:
        auth.fetch_token(ctx, VervoeSettings.from_context(ctx), sleep=lambda s: None)
    assert str(caught.value) == f"Vervoe's token endpoint answered 404: {SAID}"


def test_test_connection_says_what_came_back_with_its_status(rsps):
    """It said "Vervoe: an HTML page, ...", without the status."""
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=404, body=HTML_404, content_type="text/html")

    with pytest.raises(HubError) as caught:
        vervoe.test_connection(FakeCtx())
    assert caught.value.message == f"Vervoe answered 404 Not Found with {SAID}"


@pytest.mark.parametrize("status, body, content_type, said", [
    (400, "bad page", "text/plain", "Vervoe answered 400 Bad Request: “bad page”"),
    (404, '{"unexpected": true}', "application/json",
     'Vervoe answered 404 Not Found with JSON that is not its API\'s error (“{"unexpected": true}”): '
     "check the API base URL"),
    (400, "", "text/plain", "Vervoe answered 400 Bad Request with an empty body"),
])
def test_test_connection_words_any_answer_not_vervoe_s_json_error_with_its_status(rsps, status, body,
                                                                                  content_type, said):
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=status, body=body, content_type=content_type)

    with pytest.raises(HubError) as caught:
        vervoe.test_connection(FakeCtx())
    assert caught.value.message == said


@pytest.mark.parametrize("body, said", [
    ({"success": False, "errors": "The page must be a number."}, "Vervoe: The page must be a number."),
    ({"msg": "Assessment not found."}, "Vervoe: Assessment not found."),
])
def test_test_connection_keeps_vervoe_s_own_message(rsps, body, said):
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=400, json=body)

    with pytest.raises(HubError) as caught:
        vervoe.test_connection(FakeCtx())
    assert caught.value.message == said


def test_a_web_server_s_404_page_is_worded_with_its_status(html_server):
    """The connection test against a web server that is not Vervoe, with a token already cached
    (the API's call, not the token endpoint's, meets the page)."""
    ctx = FakeCtx()
    ctx.settings["base_url"] = html_server
    with pytest.raises(HubError) as caught:
        vervoe.test_connection(ctx)
    assert caught.value.message == f"Vervoe answered 404 Not Found with {SAID}"


def test_an_error_that_names_vervoe_already_is_not_prefixed_twice():
    """It said "Vervoe: GET ...: Vervoe answered 502: ..." (and "Vervoe: Vervoe's token endpoint ...")."""
    text = f"{wire.ENDPOINT_LIST_ASSESSMENTS}: Vervoe answered 502: an HTML page, not its API's JSON"
    assert vervoe._vendor_error(TemporaryError(text)).message == text
    assert vervoe._vendor_error(TemporaryError("the rate budget is used up")).message == \
        "Vervoe: the rate budget is used up"


# --------------------------------------------------------------------------- through the hub


@pytest.fixture
def html_server():
    """A web server that is not Vervoe: a 404 HTML page for every path."""
    with html_404_server() as url:
        yield url + "/api"


def test_the_hub_s_connection_test_shows_words_not_the_page(hub, html_server):
    hub.save_settings(vervoe_settings(hub.sandbox, base_url=html_server))

    with pytest.raises(HubError) as caught:
        hub.call("test_connection")
    assert caught.value.message == f"Vervoe's token endpoint answered 404: {SAID}"  # not "Vervoe: Vervoe's ..."


def test_an_invitation_vervoe_s_api_answers_with_a_404_page_fails_with_the_status(hub, html_server, monkeypatch):
    """The reason said "Vervoe refused the invitation: an HTML page, ...", without the status. The
    invite's answer is the client's own, for a web server's page (the token is the sandbox's)."""
    page = FakeCtx()
    page.settings["base_url"] = html_server
    with pytest.raises(VervoeNotFound) as caught:
        VervoeClient(page, sleep=lambda s: None).get_report("u-1")

    def invite(self, slug, body):
        raise caught.value

    monkeypatch.setattr(VervoeClient, "invite", invite)
    hub.move()

    inv = hub.invitation()
    expected = f"The invitation was not sent: Vervoe answered 404 Not Found with {SAID}"
    assert inv.status == "failed" and inv.failure_reason == expected
    assert [(s.status, s.reason) for s in hub.source.statuses] == [("failed", expected)]  # mirrored


# --------------------------------------------------------------------------- the client's sentences

ADVICE = "Correct the API base URL or enter the API key and secret again in the settings, and save."


def test_an_empty_refusal_is_a_sentence_with_the_status(rsps):
    """It read "Vervoe answered 400: HTTP 400"."""
    rsps.add("GET", BASE + wire.report_path("u-1"), status=400, body="")

    with pytest.raises(VervoeRejected) as caught:
        VervoeClient(FakeCtx(), sleep=lambda s: None).get_report("u-1")
    assert str(caught.value) == "Vervoe answered 400 Bad Request with an empty body"
    assert caught.value.vendor_message == "HTTP 400" and invite.own_message(caught.value) is None


@pytest.mark.parametrize("body", [
    {"success": False, "errors": "The page must be a number."},
    {"msg": "The page must be a number."},
])
def test_vervoe_s_own_json_error_reads_as_before(rsps, body):
    rsps.add("GET", BASE + wire.report_path("u-1"), status=400, json=body)

    with pytest.raises(VervoeRejected) as caught:
        VervoeClient(FakeCtx(), sleep=lambda s: None).get_report("u-1")
    assert str(caught.value) == "Vervoe answered 400: The page must be a number."
    assert caught.value.vendor_message == invite.own_message(caught.value) == "The page must be a number."


def test_a_5xx_page_the_client_gives_up_on_is_a_sentence(rsps):
    """It read "GET ...: Vervoe answered 502: an HTML page, not its API's JSON"."""
    rsps.add("GET", BASE + wire.report_path("u-1"), status=502, body="<html><body><h1>Bad Gateway</h1></body></html>",
             content_type="text/html")

    with pytest.raises(TemporaryError) as caught:
        VervoeClient(FakeCtx(), max_attempts=1, sleep=lambda s: None).get_report("u-1")
    assert str(caught.value) == (f"{wire.ENDPOINT_REPORT}: Vervoe answered 502 Bad Gateway with an HTML page, "
                                 "not its API's JSON")


@pytest.mark.parametrize("body, envelope", [
    ({"success": False, "errors": "The invitation has been already sent."}, True),
    ({"msg": "Access denied"}, True),
    ({"type": "t", "title": "An error occurred", "status": 401, "detail": "Unauthorized"}, True),
    ({"success": False, "errors": {"candidateEmail": ["required"]}}, True),
    ({"unexpected": True}, False),
    ({"success": False, "errors": "  "}, False),
    ({"success": False, "errors": []}, False),
    ([{"msg": "x"}], False),
    ("Unauthorized", False),
    (None, False),
])
def test_is_error_envelope_says_whether_the_body_is_vervoe_s_json_error(body, envelope):
    assert wire.is_error_envelope(body) is envelope
    message, _ = wire.parse_error(body, 400, "")
    assert (message != "HTTP 400") is envelope  # its message, else the words for the (empty) text


# --------------------------------------------------------------------------- refused credentials

HTML_403 = "<!doctype html><html><head><title>403 Forbidden</title></head><body><h1>Forbidden</h1></body></html>"


def test_a_403_page_from_the_api_keeps_its_status_and_names_the_base_url(rsps):
    """The connection test said "Vervoe refused the API key and secret: an HTML page, ...", without
    the status. A 403 is a permission (guide 04), not the credentials: the connection is not
    flagged (``test_forbidden.py``)."""
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=403, body=HTML_403, content_type="text/html")
    ctx = FakeCtx()

    with pytest.raises(HubError) as caught:
        vervoe.test_connection(ctx)
    said = f"Vervoe answered 403 Forbidden with {SAID}"
    assert (caught.value.message, caught.value.status, caught.value.code) == (said, 502, "vendor_error")
    assert ctx.statuses == []
    error = caught.value.__cause__
    assert isinstance(error, VervoeForbidden)
    assert str(error) == said
    assert error.vendor_message == SAID and error.body is None


def test_a_second_401_page_from_the_api_keeps_its_status(rsps):
    """401, a new token, 401 again: refused; the page's status is kept."""
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=401, body=HTML_404, content_type="text/html")
    rsps.add("GET", BASE + wire.TOKEN_PATH, json={"success": True, "data": {"token": "tok-2"}})
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=401, body=HTML_404, content_type="text/html")
    ctx = FakeCtx()

    with pytest.raises(auth.VervoeAuthError) as caught:
        VervoeClient(ctx, sleep=lambda s: None).list_assessments()
    assert str(caught.value) == f"Vervoe answered 401 Unauthorized with {SAID}"
    assert ctx.statuses == [("needs_reauthorization", f"Vervoe answered 401 Unauthorized with {SAID}. {ADVICE}")]


def test_vervoe_s_own_refusal_reads_as_before(rsps):
    """401, a new token, 401 again, with Vervoe's JSON error: the credentials are refused."""
    refusal = {"type": "false", "title": "An error occured", "status": 401, "detail": "Unauthorized"}
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=401, json=refusal)
    rsps.add("GET", BASE + wire.TOKEN_PATH, json={"success": True, "data": {"token": "tok-2"}})
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, status=401, json=refusal)
    ctx = FakeCtx()

    with pytest.raises(HubError) as caught:
        vervoe.test_connection(ctx)
    assert caught.value.message == "Vervoe refused the API key and secret: Unauthorized"
    assert ctx.statuses == [("needs_reauthorization", "Vervoe refused the API key and secret (Unauthorized); "
                                                      "enter them again")]
    assert str(caught.value.__cause__) == "Vervoe refused the API credentials (401): Unauthorized"
    assert caught.value.__cause__.own_message == "Unauthorized"


@pytest.mark.parametrize("status, body, content_type, sentence", [
    (401, HTML_404, "text/html", f"Vervoe answered 401 Unauthorized with {SAID}"),
    (400, "", None, "Vervoe answered 400 Bad Request with an empty body"),
    (403, "Forbidden", "text/plain", "Vervoe answered 403 Forbidden: “Forbidden”"),
])
def test_the_token_endpoint_s_refusal_that_is_not_vervoe_s_json_keeps_its_status(rsps, status, body,
                                                                                  content_type, sentence):
    """The status line said "Vervoe refused the API key and secret (an HTML page, ...)" / "(HTTP
    400)" / "(Forbidden)": without the status, and blaming the key alone."""
    rsps.add("GET", BASE + wire.TOKEN_PATH, status=status, body=body, content_type=content_type)
    ctx = FakeCtx(token=False)

    with pytest.raises(auth.VervoeAuthError) as caught:
        auth.fetch_token(ctx, VervoeSettings.from_context(ctx), sleep=lambda s: None)
    assert str(caught.value) == sentence
    assert ctx.statuses == [("needs_reauthorization", f"{sentence}. {ADVICE}")]


@pytest.fixture
def html_401_server():
    """A web server that is not Vervoe (a proxy asking for its own login): a 401 HTML page for every path."""
    with html_error_server(401, HTML_403.replace("403 Forbidden", "401 Unauthorized")) as base:
        yield f"{base}/api"


def test_the_hub_shows_a_401_page_s_status_and_names_the_base_url(hub, html_401_server):
    hub.save_settings(vervoe_settings(hub.sandbox, base_url=html_401_server))

    with pytest.raises(HubError) as caught:
        hub.call("test_connection")
    said = f"Vervoe answered 401 Unauthorized with {SAID}. {ADVICE}"
    assert caught.value.message == said
    integration = hub.integration()
    assert (integration.status, integration.status_message) == ("needs_reauthorization", said)


def test_the_hub_shows_vervoe_s_own_refusal_as_before(hub):
    hub.save_settings(vervoe_settings(hub.sandbox, api_secret="wrong-secret"))

    with pytest.raises(HubError) as caught:
        hub.call("test_connection")
    assert caught.value.message == "Vervoe refused the API key and secret: Unauthorized"
    integration = hub.integration()
    assert (integration.status, integration.status_message) == (
        "needs_reauthorization", "Vervoe refused the API key and secret (Unauthorized); enter them again")


def test_an_unreachable_api_is_named_with_its_host_and_what_to_check(rsps):
    """It said "Vervoe is unreachable or slow (ConnectionError)": neither where nor what to check."""
    import requests
    from urllib.parse import urlsplit

    rsps.add("GET", BASE + wire.report_path("u-1"), body=requests.ConnectionError("refused"))
    with pytest.raises(TemporaryError) as caught:
        VervoeClient(FakeCtx(), max_attempts=1, sleep=lambda s: None).get_report("u-1")
    assert str(caught.value) == (f"{wire.ENDPOINT_REPORT}: Vervoe is unreachable or slow at {urlsplit(BASE).netloc} "
                                 "(ConnectionError): check the API base URL, or wait for Vervoe to be back")


@pytest.mark.parametrize("count, said", [(1, "Vervoe is connected: 1 assessment"),
                                         (2, "Vervoe is connected: 2 assessments")])
def test_test_connection_counts_the_assessments_in_words(rsps, count, said):
    rsps.add("GET", BASE + wire.ASSESSMENTS_PATH, json={
        "items": [{"slug": f"a-{n}", "name": f"A {n}"} for n in range(count)], "hasMorePages": False})
    assert vervoe.test_connection(FakeCtx()) == said  # it said "1 assessments"
