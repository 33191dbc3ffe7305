"""Text the database cannot store is refused at the door, with a 400 that says what is wrong.

PostgreSQL stores neither the NUL character (U+0000) nor an unpaired UTF-16 surrogate
(U+D800-U+DFFF) in text; SQLite stores both. Left alone, such a character in an id, a name or a
filter would fail the request with a database error on one backend only, or reach a worker and
fail a delivery. No legitimate value carries one, so every request that holds one (in its path,
query string, form fields or body: a raw 0x00 byte, bytes that are not UTF-8, or a JSON escape
such as ``\\u0000``) is answered 400 before its view runs: the API client or browser learns what
is wrong, and nothing is half-stored. A view that requires a permission is checked by
``require`` once the user is signed in and holds it (``check_request``), so that a signed-out
user is sent to sign in (401 on the API) and a user without the permission gets 403, as for any
other request to it; every other request is checked before anything (``guard``). A webhook's
body is checked by the webhook ingress itself (``unstorable_body``), so that its refusal is
recorded in the webhook log like any other.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from flask import Flask, request

from hub.errors import BadRequest
from hub.store.text import unstorable

WEBHOOK_PREFIX = "/webhooks/"  # bodies checked by the ingress (hub.web.webhooks), which logs the refusal
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def _strings(value: Any) -> Iterable[str]:
    """Every string in a parsed JSON value: keys and values, at any depth."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def unstorable_body(body: bytes) -> str | None:
    """What in a request body the database cannot store, or None. A body must be UTF-8 (RFC 8259
    for JSON): other bytes could smuggle in a surrogate (``json.loads`` of bytes lets the raw
    bytes ED A0 80 through as U+D800). A body that is UTF-8 but not JSON is left to the view."""
    if b"\x00" in body:
        return "a NUL byte (0x00); bodies must be UTF-8 text"
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"bytes that are not UTF-8 (at byte {exc.start})"
    if "\\u" not in text:  # JSON can only carry a NUL or a surrogate as an escape now
        return None
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):  # not JSON (or nested past Python's limit): the view refuses it
        return None
    for value in _strings(parsed):
        problem = unstorable(value)
        if problem:
            return problem
    return None


def _refuse(problem: str, where: str) -> None:
    raise BadRequest(f"{where} contains {problem}, which the hub cannot store: remove it and send again",
                     code="unstorable_character")


def check_request() -> None:
    """Raise ``BadRequest`` if the current request holds a character the database cannot store."""
    problem = unstorable(request.path)
    if problem:
        _refuse(problem, "the URL path")
    for name, value in request.args.items(multi=True):
        problem = unstorable(name) or unstorable(value)
        if problem:
            _refuse(problem, f"the query parameter {name!r}")
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith(WEBHOOK_PREFIX):
        return
    body = request.get_data(cache=True)  # first, so that the view can still read it after the form
    if request.mimetype in FORM_TYPES:
        for name, value in request.form.items(multi=True):
            problem = unstorable(name) or unstorable(value)
            if problem:
                _refuse(problem, f"the form field {name!r}")
        return
    problem = unstorable_body(body)
    if problem:
        _refuse(problem, "the request body")


def guard() -> None:
    """Before every request: ``check_request``, except for a view that requires a permission
    (``hub.web.permissions.require`` checks it after the sign-in and the permission)."""
    from hub.web.permissions import endpoint_permission

    if endpoint_permission() is None:
        check_request()


def register(app: Flask) -> None:
    app.before_request(guard)
