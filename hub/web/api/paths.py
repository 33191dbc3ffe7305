"""The 404 of an API path that matches no route says why: an id that is not a whole number
(``GET /api/v1/invitations/abc``: "'abc' is not a valid invitation id: ids are whole numbers"), or
no such endpoint at all, instead of Werkzeug's generic text. The answer keeps the API's error
envelope (``{"error": {"code": "not_found", "message"}}``, ``hub.web.errors``).

Routing fails before any view (and so before the token and permission checks), so this runs for
every request, not only the blueprint's: it looks at the routing error only for paths under
``/api/``. The paths are matched once more against the API's routes with each integer argument
(``<int:...>``, ``<id64:...>``) taking any one path segment; a match names the argument whose
segment is not a number. The UI's paths keep their HTML 404.
"""

from __future__ import annotations

import re

from flask import Flask, current_app, request
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import BaseConverter, IntegerConverter, Map, Rule

from hub.web.api import bp

API_PREFIX = "/api/"
OPENAPI_PATH = "/api/v1/openapi.json"
SHOWN_CHARS = 40  # of a segment named in a message; a longer one is cut with "…"
SHOWN_PATH_CHARS = 200  # of a path named in a message
_EXTENSION = "hub.api_paths"  # the app's lenient map, built on first use (routes are fixed by then)
# ``<name>``, ``<converter:name>``, ``<converter(args):name>`` in a rule's text
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^>]*\))?:)?(?P<name>\w+)>")
_NUMBER = re.compile(r"\d+")  # what Werkzeug's IntegerConverter accepts (unsigned)


class AnySegment(BaseConverter):
    """One path segment, whatever it holds, kept as the text it is."""


def _integer_converters(app: Flask) -> set[str]:
    return {name for name, cls in app.url_map.converters.items() if issubclass(cls, IntegerConverter)}


def _lenient_map(app: Flask) -> tuple[Map, dict[str, list[str]]]:
    """The API's routes that take an integer argument, with every such argument matching any
    segment, and for each route (by endpoint) its integer arguments in path order."""
    cached = app.extensions.get(_EXTENSION)
    if cached is not None:
        return cached
    integer = _integer_converters(app)
    rules, arguments = [], {}
    for rule in app.url_map.iter_rules():
        if not rule.endpoint.startswith(bp.name + "."):
            continue
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
    """The message for ``path`` when it is an API route's but for an id that is not a whole number."""
    lenient, arguments = _lenient_map(app)
    try:
        endpoint, values = lenient.bind("hub.invalid").match(path, method=None)
    except HTTPException:  # no such route either way (or one only with a trailing slash)
        return None
    for name in arguments.get(endpoint, ()):
        value = values[name]
        if not _NUMBER.fullmatch(value):
            return f"{_cut(value, SHOWN_CHARS)!r} is not a valid {_noun(name)}: ids are whole numbers"
    return None


def not_found_message(app: Flask, method: str, path: str) -> str:
    return bad_id_message(app, path) or (
        f"no such API endpoint: {method} {_cut(path, SHOWN_PATH_CHARS)}; the endpoints are listed at {OPENAPI_PATH}")


@bp.before_app_request
def explain_api_404() -> None:
    """A path under ``/api/`` that matched no route: the same 404, with a message that names why."""
    if isinstance(request.routing_exception, NotFound) and request.path.startswith(API_PREFIX):
        raise NotFound(not_found_message(current_app, request.method, request.path))
