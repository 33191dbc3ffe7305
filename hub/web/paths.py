"""The 404 of a path that matches no route says why when it can: an id that is not a whole number
(``GET /candidates/abc``, ``GET /api/v1/invitations/abc``: "'abc' is not a valid invitation id:
ids are positive whole numbers"), on the pages (their HTML error page) and in the API (its error envelope,
``{"error": {"code": "not_found", "message"}}``, ``hub.web.errors``) alike. Under ``/api/``, any
other path is "no such API endpoint"; under ``/webhooks/``, ``NO_WEBHOOK_ENDPOINT`` (how a webhook
URL is made, for the sender's log); elsewhere ``NO_PAGE``, in the hub's words (Werkzeug's said
"If you entered the URL manually please check your spelling").

Routing fails before any view (and so before the sign-in, token and permission checks), so the
hook runs for every request, webhooks included: it does nothing unless routing already failed with
a 404. Such a path is matched once more against the app's routes that take an integer argument
(``<int:...>``, ``<id64:...>``), each such argument taking any one path segment; a match names the
argument whose segment is not a number. An id that is a number goes on to the view, which answers
404 in its own words for a row that does not exist ("No such invitation.").
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, IntegerConverter, Map, Rule

API_PREFIX = "/api/"
OPENAPI_PATH = "/api/v1/openapi.json"
SHOWN_CHARS = 40  # of a segment named in a message; a longer one is cut with "…"
SHOWN_PATH_CHARS = 200  # of a path named in a message
_EXTENSION = "hub.id_paths"  # the app's lenient map, built on first use (routes are fixed by then)
# ``<name>``, ``<converter:name>``, ``<converter(args):name>`` in a rule's text
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^>]*\))?:)?(?P<name>\w+)>")
_NUMBER = re.compile(r"\d+")  # what Werkzeug's IntegerConverter accepts (unsigned)


class AnySegment(BaseConverter):
    """One path segment, whatever it holds, kept as the text it is."""


def _integer_converters(app: Flask) -> set[str]:
    return {name for name, cls in app.url_map.converters.items() if issubclass(cls, IntegerConverter)}


def _lenient_map(app: Flask) -> tuple[Map, dict[str, list[str]]]:
    """The app's routes (pages and API) that take an integer argument, with every such argument
    matching any segment, and for each route (by endpoint) its integer arguments in path order."""
    cached = app.extensions.get(_EXTENSION)
    if cached is not None:
        return cached
    integer = _integer_converters(app)
    rules, arguments = [], {}
    for rule in app.url_map.iter_rules():
        names = [m["name"] for m in _ARGUMENT.finditer(rule.rule) if m["converter"] in integer]
        if names:
            # any method: the id is what is wrong, whichever method was sent
            rules.append(Rule(rule.rule, endpoint=rule.endpoint, strict_slashes=rule.strict_slashes))
            arguments[rule.endpoint] = names
    lenient = Map(rules, converters={name: AnySegment for name in integer})
    app.extensions[_EXTENSION] = (lenient, arguments)
    return lenient, arguments


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _noun(argument: str) -> str:
    """``invitation_id`` -> "invitation id"."""
    return argument.removesuffix("_id").replace("_", " ") + " id" if argument.endswith("_id") \
        else argument.replace("_", " ")


def bad_id_message(app: Flask, path: str) -> str | None:
    """The message for ``path`` when it is a route's (a page's or the API's) but for an id that is
    not a whole number; else None."""
    lenient, arguments = _lenient_map(app)
    try:
        endpoint, values = lenient.bind("hub.invalid").match(path, method=None)
    except HTTPException:  # no such route either way (or one only with a trailing slash)
        return None
    for name in arguments.get(endpoint, ()):
        value = values[name]
        if not _NUMBER.fullmatch(value):
            return f"{_cut(value, SHOWN_CHARS)!r} is not a valid {_noun(name)}: ids are positive whole numbers"
    return None


def api_not_found_message(app: Flask, method: str, path: str) -> str:
    """The message of an API path (under ``/api/``) that matches no route."""
    return bad_id_message(app, path) or (
        f"no such API endpoint: {method} {_cut(path, SHOWN_PATH_CHARS)}; the endpoints are listed at {OPENAPI_PATH}")


NO_PAGE = "There is no page at this address: check it, or use the menu to find what you were looking for."
WEBHOOK_PREFIX = "/webhooks/"
NO_WEBHOOK_ENDPOINT = ("no webhook endpoint at this address: a webhook URL is /webhooks/<plugin>/<key>, exactly as "
                       "the integration's page in the hub shows it (no trailing slash, nothing after the key)")


def explain_404() -> None:
    """A ``before_request`` hook of the app: a path that matched no route gets the same 404, with a
    message that names why (an API path always; a webhook's path always; a page's path when an id is
    not a number; else ``NO_PAGE``)."""
    if not isinstance(request.routing_exception, NotFound):
        return  # routing found a view (or answered otherwise): nothing to explain, at no cost
    if request.path.startswith(API_PREFIX):
        raise NotFound(api_not_found_message(current_app, request.method, request.path))
    if request.path.startswith(WEBHOOK_PREFIX):  # a sender's log shows this: no menu to use there
        raise NotFound(NO_WEBHOOK_ENDPOINT)
    raise NotFound(bad_id_message(current_app, request.path) or NO_PAGE)
