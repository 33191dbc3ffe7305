"""``hub.kit.vendor_http``: one rule for a vendor's API base URL setting, and one sentence for an
error answer that is not the vendor's JSON, for every plugin."""

import pytest
from marshmallow import Schema, ValidationError, fields

from hub.kit.vendor_http import (
    DEFAULT_HINT, EMPTY_BODY, MAX_BASE_URL_LENGTH, MAX_QUOTED_LENGTH, base_url_problem, describe_error_body,
    error_sentence, error_words_and_sentence, validate_base_url,
)

HTML_404 = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>404 Not Found</title></head>'
            '<body><h1>Not Found</h1><p>The requested URL was not found on the server.</p></body></html>')


@pytest.mark.parametrize("url", [
    "http://127.0.0.1:8002", "http://127.0.0.1:5001/", "https://api.example.com/v1/", "https://api.vervoe.com/api",
    "http://localhost:5711", "http://sandbox", "HTTPS://API.EXAMPLE.COM/V1", "http://[::1]:8002/api",
    "http://10.0.0.1:1", "http://10.0.0.1:65535", "https://api.example.com/a;b=c/x~y/%20z/@me:1",
    "https://xn--bcher-kva.example",
])
def test_usable_base_urls(url):
    assert base_url_problem(url) is None
    validate_base_url(url)  # does not raise


@pytest.mark.parametrize("url, said", [
    ("http://127.0.0.1:99999", "The port must be a number from 1 to 65535, not “99999”."),
    ("http://127.0.0.1:0", "The port must be a number from 1 to 65535, not “0”."),
    ("http://127.0.0.1:80a", "The port must be a number from 1 to 65535, not “80a”."),
    ("http://127.0.0.1:/v1", "Enter the port after “:” (a number from 1 to 65535), or remove the “:”."),
    ("http://host:5711/<script>", "The path has characters a URL cannot carry (< >): remove them, or "
                                  "percent-encode them (“<” is %3C)."),
    ("http://host:5711/a\"b", "The path has characters a URL cannot carry (\"): remove them, or "
                              "percent-encode them (“\"” is %22)."),
    ("http://host:5711/a'b", "The path has characters a URL cannot carry ('): remove them, or "
                             "percent-encode them (“'” is %27)."),
    ("http://host/a{b}|c^`", "The path has characters a URL cannot carry (^ ` { | }): remove them, or "
                             "percent-encode them (“^” is %5E)."),
    ("http://host:5711?x=1#frag", "Remove the query string (from “?” on): a base URL cannot carry one."),
    ("http://host/v1/?", "Remove the query string (from “?” on): a base URL cannot carry one."),
    ("http://host:5711#frag", "Remove the fragment (from “#” on): a base URL cannot carry one."),
    ("http://user:secret@host:5711/v1", "Remove the user name and password (user:password@) from the URL: "
                                        "enter credentials in their own settings."),
    ("http://user@host", "Remove the user name and password (user:password@) from the URL: "
                         "enter credentials in their own settings."),
    ("http://host/a b", "Remove the spaces (and any line breaks or control characters): a URL cannot contain them."),
    (" http://host", "Remove the spaces (and any line breaks or control characters): a URL cannot contain them."),
    ("http://host/\tx", "Remove the spaces (and any line breaks or control characters): a URL cannot contain them."),
    ("http://host/%zz", "Each “%” in the path must start an escape of two hexadecimal digits (such as %20)."),
    ("ftp://host", "Enter a URL starting with http:// or https://."),
    ("127.0.0.1:8002", "Enter a URL starting with http:// or https://."),
    ("javascript:alert(1)", "Enter a URL starting with http:// or https://."),
    ("", "Enter a URL starting with http:// or https://."),
    ("http://", "Enter the host after http:// or https:// (such as https://api.example.com)."),
    ("http:///v1", "Enter the host after http:// or https:// (such as https://api.example.com)."),
    ("http://:8002", "Enter the host after http:// or https:// (such as https://api.example.com)."),
    ("http://999.1.1.1", "“999.1.1.1” is not an IPv4 address (four numbers from 0 to 255, such as 127.0.0.1)."),
    ("http://bad!host.test", "“bad!host.test” is not a host name: use letters, digits, dots, dashes and "
                             "underscores (such as api.example.com), or an IP address."),
    ("http://-bad.test", "“-bad.test” is not a host name: use letters, digits, dots, dashes and underscores "
                         "(such as api.example.com), or an IP address."),
    ("http://::1:8002", "Write an IPv6 address in brackets, such as http://[::1]:8002."),
    ("http://[nope]:8002", "Write an IPv6 address in brackets, such as http://[::1]:8002."),
    ("http://[::1]x", "After an IPv6 address in brackets comes only “:” and a port."),
    ("http://[::1]:70000", "The port must be a number from 1 to 65535, not “70000”."),
    ("https://bücher.example", "The URL has characters outside ASCII: write an international host name in its "
                               "xn-- form and percent-encode the others in the path (é is %C3%A9)."),
    (None, "Enter the URL as text."),
    (8002, "Enter the URL as text."),
    ("http://h.test/" + "a" * MAX_BASE_URL_LENGTH, f"Enter a URL of at most {MAX_BASE_URL_LENGTH} characters."),
])
def test_unusable_base_urls_are_refused_with_one_sentence(url, said):
    assert base_url_problem(url) == said
    with pytest.raises(ValidationError) as caught:
        validate_base_url(url)
    assert caught.value.messages == [said]


def test_it_is_a_marshmallow_validator():
    class Settings(Schema):
        base_url = fields.String(validate=validate_base_url)

    assert Settings().load({"base_url": "http://127.0.0.1:8002"}) == {"base_url": "http://127.0.0.1:8002"}
    with pytest.raises(ValidationError) as caught:
        Settings().load({"base_url": "http://127.0.0.1:99999"})
    assert caught.value.messages == {"base_url": ["The port must be a number from 1 to 65535, not “99999”."]}


# --------------------------------------------------------------------------- error answers


def test_an_html_page_is_named_never_shown():
    said = error_sentence("Canditech", 404, HTML_404, content_type="text/html; charset=utf-8")
    assert said == "Canditech answered 404 Not Found with an HTML page, not its API's JSON: check the API base URL"
    assert describe_error_body(404, HTML_404) == "an HTML page, not its API's JSON: check the API base URL"
    # recognised from its tags without a Content-Type, and from the Content-Type whatever the body
    assert error_sentence("Vervoe", 403, "<html><body>Forbidden</body></html>") == \
        "Vervoe answered 403 Forbidden with an HTML page, not its API's JSON: check the API base URL"
    assert describe_error_body(404, "Not here", content_type="text/html") == \
        "an HTML page, not its API's JSON: check the API base URL"


def test_a_5xx_page_gets_no_base_url_hint_and_a_request_is_named():
    assert error_sentence("Lever", 502, "<html><h1>Bad Gateway</h1></html>", request="GET /users") == \
        "Lever answered 502 Bad Gateway to GET /users with an HTML page, not its API's JSON"


def test_the_hint_is_the_caller_s():
    assert error_sentence("Lever", 404, HTML_404, hint="check the Custom base URL") == \
        "Lever answered 404 Not Found with an HTML page, not its API's JSON: check the Custom base URL"
    assert describe_error_body(404, HTML_404, hint=None) == "an HTML page, not its API's JSON"
    assert DEFAULT_HINT == "check the API base URL"


@pytest.mark.parametrize("body, content_type", [
    ("<?xml version='1.0'?><error>nope</error>", None),
    ("<error><code>404</code></error>", None),
    ("{}", "application/xml"),
])
def test_xml(body, content_type):
    assert describe_error_body(404, body, content_type=content_type) == \
        "an XML document, not its API's JSON: check the API base URL"


def test_a_short_plain_text_is_quoted_with_its_whitespace_collapsed():
    assert error_sentence("Canditech", 503, "  Service   down\nfor maintenance ") == \
        "Canditech answered 503 Service Unavailable: “Service down for maintenance”"
    assert describe_error_body(503, "  Service   down\nfor maintenance ") == "Service down for maintenance"
    # JSON is not plain text: the vendor's plugin reads its own errors, so this is someone else's
    assert describe_error_body(400, '{"detail": "bad"}') == \
        "JSON that is not its API's error (“{\"detail\": \"bad\"}”): check the API base URL"
    longest = "x" * MAX_QUOTED_LENGTH
    assert describe_error_body(404, longest) == longest
    assert describe_error_body(404, f"  {longest}\n\n") == longest
    assert describe_error_body(404, longest.encode()) == longest


@pytest.mark.parametrize("body, words", [
    ("x" * (MAX_QUOTED_LENGTH + 1), "a body of 201 characters that is not its API's JSON error"),
    ("Error: expected <id> here", "a body of 25 characters that is not its API's JSON error"),  # markup
    ("bell\x07", "a body of 5 characters that is not its API's JSON error"),                     # not printable
    (b"\xff\xfe\x00", "a body of 3 bytes that is not its API's JSON error"),                     # not UTF-8
    (" " * 10_000 + "short", "a body of 10005 characters that is not its API's JSON error"),    # not short
])
def test_anything_else_is_described_by_its_size(body, words):
    assert describe_error_body(404, body) == f"{words}: check the API base URL"
    assert describe_error_body(500, body) == words


@pytest.mark.parametrize("body", ["", "  \n ", None, b""])
def test_an_empty_body(body):
    assert error_sentence("Vervoe", 404, body) == "Vervoe answered 404 Not Found with an empty body"
    assert describe_error_body(500, body) == "an empty body"


@pytest.mark.parametrize("body", ["", "  \n ", None, b""])
def test_the_caller_words_an_empty_body_its_own_way(body):
    """A plugin that says "HTTP <status>" (or nothing) of an empty body passes those words, rather
    than checking for an empty body itself before calling: only an empty body gets them."""
    assert EMPTY_BODY == "an empty body"
    assert describe_error_body(404, body, empty="HTTP 404") == "HTTP 404"
    assert describe_error_body(404, body, empty="") == ""
    assert describe_error_body(404, "Down", empty="HTTP 404") == "Down"
    assert describe_error_body(404, HTML_404, empty="") == "an HTML page, not its API's JSON: check the API base URL"


@pytest.mark.parametrize("status, body, content_type", [
    (404, HTML_404, None), (502, "<html><h1>Bad Gateway</h1></html>", "text/html"),
    (404, "<error>nope</error>", None), (503, " Down for\n maintenance ", None), (404, "x" * 300, None),
    (404, "", None), (500, None, None), (404, b"\xff\xfe", None),
])
def test_words_and_sentence_at_once_are_the_two_functions(status, body, content_type):
    for hint, empty in ((DEFAULT_HINT, EMPTY_BODY), (None, f"HTTP {status}"), ("check the URL", "")):
        assert error_words_and_sentence("Canditech", status, body, content_type=content_type, request="GET /x",
                                        hint=hint, empty=empty) == \
            (describe_error_body(status, body, content_type=content_type, hint=hint, empty=empty),
             error_sentence("Canditech", status, body, content_type=content_type, request="GET /x", hint=hint))


def test_words_and_sentence_look_at_the_body_once(monkeypatch):
    import hub.kit.vendor_http as vendor_http

    looked = []
    describe = vendor_http._describe
    monkeypatch.setattr(vendor_http, "_describe", lambda *args: looked.append(args) or describe(*args))
    assert error_words_and_sentence("Canditech", 404, HTML_404) == (
        "an HTML page, not its API's JSON: check the API base URL",
        "Canditech answered 404 Not Found with an HTML page, not its API's JSON: check the API base URL")
    assert len(looked) == 1


def test_an_unknown_status_has_no_reason_phrase_and_the_server_s_is_never_used():
    assert error_sentence("Vervoe", 599, "") == "Vervoe answered 599 with an empty body"


def test_a_huge_page_is_handled_without_its_text():
    page = "<html><body>" + "<p>lorem ipsum</p>" * 100_000 + "</body></html>"
    said = error_sentence("Canditech", 404, page)
    assert said == "Canditech answered 404 Not Found with an HTML page, not its API's JSON: check the API base URL"


@pytest.mark.parametrize("url", ["http://canditech_sandbox:8002", "https://api.example.com.",
                                 "https://api.example.com./v1/"])
def test_hosts_operators_use_are_accepted(url):
    """A Docker Compose service name has underscores; a fully qualified name may end in a dot."""
    assert base_url_problem(url) is None


@pytest.mark.parametrize("body, content_type, said", [
    ('{"code":"ResourceNotFound"}', "application/json",
     "Canditech answered 404 Not Found with JSON that is not its API's error (“{\"code\":\"ResourceNotFound\"}”): "
     "check the API base URL"),
    ('{"code": "x", "message": "' + "y" * 300 + '"}', None,
     "Canditech answered 404 Not Found with JSON that is not its API's error: check the API base URL"),
    ("[1, 2]", "application/problem+json",
     "Canditech answered 404 Not Found with JSON that is not its API's error (“[1, 2]”): check the API base URL"),
    ("{not json", None, "Canditech answered 404 Not Found: “{not json”"),
])
def test_another_services_json_is_named_as_such_with_the_hint(body, content_type, said):
    """A base URL pointing at another JSON service quoted its JSON as if it were a vendor's words,
    without the hint to check the base URL."""
    assert error_sentence("Canditech", 404, body, content_type=content_type) == said
