"""A vendor's HTTP API as an admin configures and reads it (public plugin kit): the API base URL
setting, the connection's other settings (whole numbers; ids, keys and secrets as text), and an
error answer that is not the API's JSON put in words.

**The base URL.** ``validate_base_url(value)`` is a marshmallow validator (``fields.String(
validate=validate_base_url)``) that raises ``ValidationError`` with one sentence saying what to
change; ``base_url_problem(value)`` returns that sentence, or ``None`` for a usable base URL. Usable
means everything below; the plugin appends its paths to it (strip a trailing ``/`` first):

- a string of at most ``MAX_BASE_URL_LENGTH`` (500) characters, printable ASCII, no whitespace;
- the scheme ``http://`` or ``https://`` (any case);
- no ``user:password@`` (credentials belong in their own, secret, settings);
- a host: a DNS name (dot-separated labels of ASCII letters, digits and inner dashes, up to 63
  characters each; no top-level domain needed, so ``localhost`` and ``sandbox`` pass), an IPv4
  address, or an IPv6 address in brackets (``http://[::1]:8002``);
- an optional port: digits, from 1 to 65535;
- an optional path (``https://api.example.com/v1/``) of RFC 3986 path characters: letters, digits,
  ``- . _ ~ ! $ & ( ) * + , ; = : @ /`` and ``%`` escapes of two hexadecimal digits. Everything
  else is refused: ``< > " ` { } | \\ ^ [ ]``, spaces, and also the apostrophe ``'`` (RFC 3986
  allows it, a vendor's API root never needs it);
- no query string (``?``) and no fragment (``#``), not even empty ones.

The hub's sandboxes (``http://127.0.0.1:PORT``) pass.

**The other settings.** Three marshmallow fields for a connection's settings schema, each refusing
what marshmallow's own field would silently change:

- ``WholeNumber(**kwargs)``: ``fields.Integer`` for a whole-number setting (a timeout, a count, a
  rate limit's burst). It takes a JSON integer, or the text of one as the hub's settings form posts
  it ("72", " 72 ", "+72", "-1": ASCII digits with an optional sign, surrounding spaces ignored).
  Anything else is its ``invalid`` error ("Not a valid integer.", which the form shows as "Enter a
  whole number."; give ``error_messages={"invalid": ...}`` for your own words): a fraction (``1.5``,
  which ``fields.Integer`` cuts to ``1`` unless ``strict``), a whole number written as a decimal
  (``2.0``, ``"2.0"``), ``"1e1"``, ``"1_0"`` and digits of other scripts (both of which ``int()``
  takes), a boolean. Text of more digits than ``int()`` converts is its ``too_large`` error. A
  ``validate.Range`` (your bounds) runs on what it loaded, so -1 gets the range's message.
- ``DecimalNumber(**kwargs)``: ``fields.Float`` for a setting that may be a fraction (a rate per
  second). It takes a JSON number (not a boolean), or the text of a plain decimal number as the
  settings form posts it ("2.5", " 2.5 ", "+2.5", ".5": ASCII digits with an optional sign and
  decimal point, surrounding spaces ignored). Any other text is its ``invalid`` error, though
  ``float()`` takes it: ``"1_0"`` (10), digits of other scripts, an exponent (``"1e1"``),
  ``"inf"``, ``"nan"``, ``"Infinity"``, spaces inside (``"1 0"``). An infinite or not-a-number
  JSON value is its ``special`` error. A ``validate.Range`` runs on what it loaded.
- ``PlainText(*, what="this value", line_breaks=False, **kwargs)``: ``fields.String`` for an id, a
  name, an email, an API key or a secret. Spaces and line breaks around the value are dropped (a
  key pasted with a trailing newline is the key); a control or invisible character left in it
  (Unicode categories Cc and Cf: U+0000 to U+001F, U+007F to U+009F, zero-width spaces, direction
  marks and overrides such as U+200B and U+202E, U+FEFF...) is refused with one sentence naming
  the characters by code point, never the value (it may be a secret), in the words the hub uses
  for an email or a name: "Holds an invisible or control character (U+0001), which an API key
  cannot contain." ("Holds invisible or control characters (U+0001, U+200B), ..." for several;
  ``what`` says what the setting is). ``line_breaks=True`` lets line breaks and tabs through inside the value, for a
  setting that holds several values one per line (webhook secrets, ``hub.kit.webhook_secrets``).
  Your validators (a ``validate.Length``...) run on the stripped text.

``rate_limit_fields(vendor, rate, burst)`` returns the two settings of a connection's request
bucket, for a vendor that publishes no rate limit (keep it configurable): ``rate_limit_per_second``
(a ``DecimalNumber`` from ``MIN_RATE_PER_SECOND``, 0.25, to ``MAX_RATE_PER_SECOND``, 100, default
``rate``) and ``rate_limit_burst`` (a ``WholeNumber`` from 1 to ``MAX_BURST``, 100, default
``burst``), labelled "API requests per second" and "API request burst", with descriptions naming
``vendor`` and one message each for any wrong value ("Enter a number of requests per second from
0.25 to 100 (the default is 10)."). Declare them in the schema's class body:
``rate_limit_per_second, rate_limit_burst = rate_limit_fields("Acme", 10, 20)``.

``control_character_problem(value, what="this value", *, line_breaks=False)`` is that sentence for
a text of your own (``None`` when it has none), ``control_characters(value, *, line_breaks=False)``
the characters themselves, each once, in order.

**An error answer.** A vendor's API answers errors with JSON its plugin reads; an answer that is
not (the HTML 404 page of a web server at a wrong base URL, a proxy's 502 page, a bare text) must
not reach the admin as it came. Three functions put it in words; none returns the body, except a
short plain text or a short JSON document (quoted: it is not the vendor's error, which its plugin
reads itself):

- ``error_sentence(vendor, status, text, content_type=None, request=None, hint=DEFAULT_HINT)``: one
  sentence, e.g. "Canditech answered 404 Not Found with an HTML page, not its API's JSON: check
  the API base URL";
- ``describe_error_body(status, text, content_type=None, hint=DEFAULT_HINT, empty=EMPTY_BODY)``:
  the same without "<vendor> answered <status> with", for a plugin whose messages already say that
  much ("Lever answered 404 Not Found to GET /users: " + it). ``empty`` is what it says of an empty
  body: "an empty body" unless the plugin has its own words (``f"HTTP {status}"``, or ``""`` for
  nothing), so it need not check for one itself;
- ``error_words_and_sentence(vendor, status, text, content_type=None, request=None,
  hint=DEFAULT_HINT, empty=EMPTY_BODY)``: both, ``(words, sentence)``, the body looked at once, for
  a plugin that keeps the words (its error's message) and shows the sentence.

By what the body is (``text``: the body as ``str`` or ``bytes``; ``content_type``: the answer's
``Content-Type`` header, or ``None``):

- HTML (a ``Content-Type`` naming html, or HTML tags): "an HTML page, not its API's JSON";
- XML (a ``Content-Type`` naming xml, or a body starting with a tag): "an XML document, not its
  API's JSON";
- plain text of at most ``MAX_QUOTED_LENGTH`` (200) characters once its whitespace is collapsed
  (and of at most 8192 as it came), printable, without markup: that text, collapsed (``error_sentence`` quotes it: "Canditech
  answered 503 Service Unavailable: “Down for maintenance”");
- JSON (a ``Content-Type`` naming json, or a body that parses as a JSON object or array) that
  reached these functions, so not the vendor's error: "JSON that is not its API's error", with
  the document quoted when it is short (``(“{"code": "NotFound"}”)``);
- empty, or only whitespace: "an empty body" (``describe_error_body``: ``empty``);
- anything else (longer text, other markup, bytes that are not UTF-8): "a body of 5000
  characters (or bytes) that is not its API's JSON error".

``hint`` (``DEFAULT_HINT`` is "check the API base URL"; ``None`` for none) is appended after ": "
when the status is below 500 and the body is HTML, XML, JSON or "anything else": a 4xx page usually
means the base URL points at something other than the API. A 5xx page is more often a proxy in
front of a failing API, so it gets none. ``error_sentence`` writes the status with its standard
reason phrase (``404 Not Found``; an unknown status alone), never the server's own, and names
``request`` (e.g. ``"GET /users"``) after it: "Lever answered 404 Not Found to GET /users with ...".
"""

from __future__ import annotations

import ipaddress
import json
import re
import unicodedata
from http import HTTPStatus
from typing import Any

from marshmallow import ValidationError, fields, validate

MAX_BASE_URL_LENGTH = 500
MAX_QUOTED_LENGTH = 200
DEFAULT_HINT = "check the API base URL"
EMPTY_BODY = "an empty body"

_SCHEME = re.compile(r"([A-Za-z][A-Za-z0-9+.-]*)://")
# underscores too: not in public DNS names, but in the names of Docker Compose services and
# internal hosts that an operator's sandbox or proxy may well have
_LABEL = re.compile(r"[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?")
_DOTTED_NUMBERS = re.compile(r"[0-9.]+")
_PATH_CHAR = re.compile(r"[A-Za-z0-9\-._~!$&()*+,;=:@/%]")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")

_SCAN = 8192  # how much of a body is looked at to tell what it is
_TAG = re.compile(r"<\s*/?\s*[A-Za-z][A-Za-z0-9:-]*(?:\s[^<>]*)?/?>|<!--|<!\[CDATA\[")
_HTML = re.compile(r"<!doctype\s+html|<\s*/?\s*(?:html|head|body|title|meta|link|script|style|div|span|p|a|"
                   r"h[1-6]|br|hr|pre|center|table|ul|li|b|i|em|strong|form|iframe|noscript)\b", re.I)


def base_url_problem(value: Any) -> str | None:
    """What is wrong with ``value`` as a vendor's API base URL, in one sentence; ``None`` when it
    is usable (see the module's docstring for the rules)."""
    if not isinstance(value, str):
        return "Enter the URL as text."
    if not value:
        return "Enter a URL starting with http:// or https://."
    if len(value) > MAX_BASE_URL_LENGTH:
        return f"Enter a URL of at most {MAX_BASE_URL_LENGTH} characters."
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in value):
        return "Remove the spaces (and any line breaks or control characters): a URL cannot contain them."
    if not value.isascii():
        return ("The URL has characters outside ASCII: write an international host name in its xn-- form "
                "and percent-encode the others in the path (é is %C3%A9).")
    scheme = _SCHEME.match(value)
    if scheme is None or scheme.group(1).lower() not in ("http", "https"):
        return "Enter a URL starting with http:// or https://."
    rest = value[scheme.end():]
    authority = re.split(r"[/?#]", rest, maxsplit=1)[0]
    after = rest[len(authority):]
    if "@" in authority:
        return ("Remove the user name and password (user:password@) from the URL: "
                "enter credentials in their own settings.")
    problem = _authority_problem(authority)
    if problem:
        return problem
    if "?" in after:
        return "Remove the query string (from “?” on): a base URL cannot carry one."
    if "#" in after:
        return "Remove the fragment (from “#” on): a base URL cannot carry one."
    bad = sorted({ch for ch in after if not _PATH_CHAR.fullmatch(ch)})
    if bad:
        shown = " ".join(bad[:8])
        return (f"The path has characters a URL cannot carry ({shown}): remove them, or percent-encode them "
                f"(“{bad[0]}” is %{ord(bad[0]):02X}).")
    if _BAD_ESCAPE.search(after):
        return "Each “%” in the path must start an escape of two hexadecimal digits (such as %20)."
    return None


def validate_base_url(value: Any) -> None:
    """Marshmallow validator: raises ``ValidationError`` with ``base_url_problem``'s sentence."""
    problem = base_url_problem(value)
    if problem is not None:
        raise ValidationError(problem)


def _authority_problem(authority: str) -> str | None:
    if not authority:
        return "Enter the host after http:// or https:// (such as https://api.example.com)."
    if authority.startswith("["):
        end = authority.find("]")
        host, port_part = (authority[1:end], authority[end + 1:]) if end > 0 else (authority[1:], "")
        if end < 0 or not _is_ipv6(host):
            return "Write an IPv6 address in brackets, such as http://[::1]:8002."
        if port_part and not port_part.startswith(":"):
            return "After an IPv6 address in brackets comes only “:” and a port."
        port = port_part[1:] if port_part else None
    else:
        if authority.count(":") > 1:
            return "Write an IPv6 address in brackets, such as http://[::1]:8002."
        host, _, port = authority.partition(":") if ":" in authority else (authority, "", None)
        if not host:
            return "Enter the host after http:// or https:// (such as https://api.example.com)."
        problem = _host_problem(host)
        if problem:
            return problem
    if port == "":
        return "Enter the port after “:” (a number from 1 to 65535), or remove the “:”."
    if port is not None:
        if not port.isdigit() or len(port) > 5 or not 1 <= int(port) <= 65535:
            return f"The port must be a number from 1 to 65535, not “{port}”."
    return None


def _host_problem(host: str) -> str | None:
    if _DOTTED_NUMBERS.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return f"“{host}” is not an IPv4 address (four numbers from 0 to 255, such as 127.0.0.1)."
        return None
    name = host[:-1] if host.endswith(".") else host  # a fully qualified name's final dot
    if len(name) > 253 or not all(_LABEL.fullmatch(label) for label in name.split(".")):
        return (f"“{host}” is not a host name: use letters, digits, dots, dashes and underscores (such as "
                f"api.example.com), or an IP address.")
    return None


def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return "%" not in text  # a zone id (fe80::1%eth0) means nothing to another machine


# --------------------------------------------------------------------------- other settings

_WHOLE_NUMBER = re.compile(r"[+-]?[0-9]+")
_DECIMAL_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_CONTROL_CATEGORIES = ("Cc", "Cf")
_LINE_BREAKS = "\t\n\r"
_SHOWN_CHARACTERS = 5


class WholeNumber(fields.Integer):
    """A whole-number setting: a JSON integer, or the text of one (what the settings form posts);
    never a fraction cut to a whole number (see the module)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs["strict"] = True
        super().__init__(**kwargs)

    def _validated(self, value: Any) -> int:
        if isinstance(value, str):
            text = value.strip(" \t\r\n")
            if not _WHOLE_NUMBER.fullmatch(text):
                raise self.make_error("invalid", input=value)
            try:
                value = int(text)
            except ValueError:  # more digits than int() converts
                raise self.make_error("too_large", input=value) from None
        return super()._validated(value)  # strict: an int, not a bool


class DecimalNumber(fields.Float):
    """A decimal setting: a JSON number, or the text of a plain decimal number (what the settings
    form posts); never text that only ``float()`` reads as one (see the module)."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, str):
            text = value.strip(" \t\r\n")
            if not _DECIMAL_NUMBER.fullmatch(text):
                raise self.make_error("invalid", input=value)
            value = text
        return super()._validated(value)  # a boolean is invalid; nan and infinities "special"


# A request bucket's bounds. At least 15 requests a minute: once the burst is spent, the next token
# is then at most 4 s away for a caller alone. At most 100 requests/s and bursts of 100: far above
# what an assessment vendor's API is known to allow.
MIN_RATE_PER_SECOND = 0.25
MAX_RATE_PER_SECOND = 100
MAX_BURST = 100


def rate_limit_fields(vendor: str, rate: float, burst: int) -> tuple[DecimalNumber, WholeNumber]:
    """``(rate_limit_per_second, rate_limit_burst)``: the settings of a connection's request bucket,
    defaults ``rate`` and ``burst`` (see the module)."""
    rate_message = (f"Enter a number of requests per second from {MIN_RATE_PER_SECOND:g} to "
                    f"{MAX_RATE_PER_SECOND:g} (the default is {rate:g}).")
    burst_message = f"Enter a whole number of requests from 1 to {MAX_BURST} (the default is {burst})."
    per_second = DecimalNumber(
        load_default=rate,
        validate=validate.Range(min=MIN_RATE_PER_SECOND, max=MAX_RATE_PER_SECOND, error=rate_message),
        error_messages={"invalid": rate_message, "special": rate_message, "null": rate_message,
                        "too_large": rate_message},
        metadata={"label": "API requests per second",
                  "description": f"The most requests per second the hub sends {vendor} for this connection, all "
                                 f"workers together ({rate:g} by default, {MIN_RATE_PER_SECOND:g} to "
                                 f"{MAX_RATE_PER_SECOND:g}). {vendor} publishes no rate limit: enter the one "
                                 f"{vendor} gives you, or lower this if {vendor} often answers 429 (too many "
                                 f"requests)."})
    bucket = WholeNumber(
        load_default=burst, validate=validate.Range(min=1, max=MAX_BURST, error=burst_message),
        error_messages={"invalid": burst_message, "null": burst_message, "too_large": burst_message},
        metadata={"label": "API request burst",
                  "description": f"How many requests may go at once after a quiet spell, before the per-second "
                                 f"rate applies ({burst} by default, 1 to {MAX_BURST})."})
    return per_second, bucket


def control_characters(value: str, *, line_breaks: bool = False) -> list[str]:
    """The control and invisible characters (Unicode categories Cc and Cf) in ``value``, each once,
    in order; tabs and line breaks left out with ``line_breaks``."""
    found = (ch for ch in value if unicodedata.category(ch) in _CONTROL_CATEGORIES
             and not (line_breaks and ch in _LINE_BREAKS))
    return list(dict.fromkeys(found))


def control_character_problem(value: str, what: str = "this value", *, line_breaks: bool = False) -> str | None:
    """"Holds an invisible or control character (U+0001), which <what> cannot contain.", or
    ``None`` when ``value`` has none (see the module). Names code points, never the value."""
    found = control_characters(value, line_breaks=line_breaks)
    if not found:
        return None
    shown = ", ".join(f"U+{ord(ch):04X}" for ch in found[:_SHOWN_CHARACTERS])
    if len(found) > _SHOWN_CHARACTERS:
        shown += f" and {len(found) - _SHOWN_CHARACTERS} more"
    if len(found) == 1:
        return f"Holds an invisible or control character ({shown}), which {what} cannot contain."
    return f"Holds invisible or control characters ({shown}), which {what} cannot contain."


class PlainText(fields.String):
    """A text setting (an id, a name, a key, a secret): stripped, and refused when a control or
    invisible character is left in it (see the module)."""

    def __init__(self, *, what: str = "this value", line_breaks: bool = False, **kwargs: Any) -> None:
        self.what = what
        self.line_breaks = line_breaks
        super().__init__(**kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        text = super()._deserialize(value, attr, data, **kwargs).strip()
        problem = control_character_problem(text, self.what, line_breaks=self.line_breaks)
        if problem is not None:
            raise ValidationError(problem)
        return text


# --------------------------------------------------------------------------- error answers


def _status_text(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def _as_text(text: str | bytes | None) -> str:
    if text is None:
        return ""
    if isinstance(text, (bytes, bytearray)):
        return bytes(text[:_SCAN * 4]).decode("utf-8", errors="replace")
    return str(text)


def _is_json(body: str, content_type: str) -> bool:
    """A JSON document: so its ``Content-Type`` says (``application/json``, ``...+json``), or it parses
    as a JSON object or array."""
    if "json" in content_type:
        return True
    if not body.lstrip().startswith(("{", "[")) or len(body) > 100_000:
        return False
    try:
        json.loads(body)
    except ValueError:
        return False
    return True


def _describe(status: int, text: str | bytes | None, content_type: str | None,
              hint: str | None) -> tuple[str, str]:
    """``(kind, words)``: kind ``"plain"`` (words: the text, collapsed), ``"empty"`` or ``"other"``
    (words: what the body is, with the hint)."""
    body = _as_text(text)
    head = body[:_SCAN]
    if not body.strip():
        return "empty", EMPTY_BODY
    kind = (content_type or "").split(";", 1)[0].strip().lower()
    markup = bool(_TAG.search(head))
    if "html" in kind or (markup and _HTML.search(head)):
        what = "an HTML page, not its API's JSON"
    elif "xml" in kind or (markup and head.lstrip().startswith("<")):
        what = "an XML document, not its API's JSON"
    elif _is_json(body, kind):
        # another service's JSON at a wrong base URL: the vendor's plugin knows its own errors
        collapsed = " ".join(body.split())
        what = "JSON that is not its API's error"
        if len(collapsed) <= MAX_QUOTED_LENGTH and collapsed.isprintable() and "\ufffd" not in collapsed:
            what += f" (“{collapsed}”)"
    else:
        collapsed = " ".join(body.split()) if len(body) <= _SCAN else ""
        if (collapsed and not markup and len(collapsed) <= MAX_QUOTED_LENGTH and collapsed.isprintable()
                and "\ufffd" not in collapsed):
            return "plain", collapsed
        size = f"{len(text)} bytes" if isinstance(text, (bytes, bytearray)) else f"{len(body)} characters"
        what = f"a body of {size} that is not its API's JSON error"
    if hint and status < 500:
        what += f": {hint}"
    return "other", what


def describe_error_body(status: int, text: str | bytes | None, *, content_type: str | None = None,
                        hint: str | None = DEFAULT_HINT, empty: str = EMPTY_BODY) -> str:
    """What came instead of the vendor's JSON error, for "<vendor> answered <status>: ...": a short
    plain text as it is (whitespace collapsed), else words such as "an HTML page, not its API's
    JSON: check the API base URL"; ``empty`` for an empty body (see the module)."""
    kind, words = _describe(status, text, content_type, hint)
    return empty if kind == "empty" else words


def error_sentence(vendor: str, status: int, text: str | bytes | None, *, content_type: str | None = None,
                   request: str | None = None, hint: str | None = DEFAULT_HINT) -> str:
    """One sentence for an error answer that is not the vendor's JSON, e.g. "Canditech answered 404
    Not Found with an HTML page, not its API's JSON: check the API base URL" (see the module)."""
    kind, words = _describe(status, text, content_type, hint)
    return _sentence(vendor, status, request, kind, words)


def error_words_and_sentence(vendor: str, status: int, text: str | bytes | None, *,
                             content_type: str | None = None, request: str | None = None,
                             hint: str | None = DEFAULT_HINT, empty: str = EMPTY_BODY) -> tuple[str, str]:
    """``(describe_error_body's words, error_sentence's sentence)`` for the same answer, the body
    looked at once: for a plugin whose error keeps the words and shows the sentence."""
    kind, words = _describe(status, text, content_type, hint)
    return (empty if kind == "empty" else words), _sentence(vendor, status, request, kind, words)


def _sentence(vendor: str, status: int, request: str | None, kind: str, words: str) -> str:
    head = f"{vendor} answered {_status_text(status)}" + (f" to {request}" if request else "")
    return f"{head}: “{words}”" if kind == "plain" else f"{head} with {words}"
