"""Text the database cannot store is refused at the door, with a 400 that says what is wrong; and
every request body is held to the size limit however it is sent.

PostgreSQL stores neither the NUL character (U+0000) nor an unpaired UTF-16 surrogate
(U+D800-U+DFFF) in text; SQLite stores both. Left alone, such a character in an id, a name or a
filter would fail the request with a database error on one backend only, or reach a worker and
fail a delivery. No legitimate value carries one, so every request that holds one (in its path,
query string, form fields or body: a raw 0x00 byte, bytes that are not UTF-8, or a JSON escape
such as ``\\u0000``) is answered 400 before its view runs: the API client or browser learns what
is wrong, and nothing is half-stored. Bytes that are not UTF-8 are found in the request as sent
(Werkzeug would keep them percent-encoded in a query or form value, ``%FF``, or replace them
with U+FFFD in the path, and the view would search for that text instead). A view that requires
a permission is checked by ``require`` once the user is signed in and holds it
(``check_request``), so that a signed-out user is sent to sign in (401 on the API) and a user
without the permission gets 403, as for any other request to it; every other request is checked
before anything (``guard``), and a path that names no view is checked before its 404 (``guard_path``:
the path is what is wrong). A webhook's body is checked by the webhook ingress itself
(``unstorable_body``), so that its refusal is recorded in the webhook log like any other.

Two things are settled before the app sees a request at all (``RequestInput``, a WSGI middleware):

* A body sent without ``Content-Length`` (``Transfer-Encoding: chunked``) is read here, up to one
  byte more than ``MAX_CONTENT_LENGTH``, and handed on as a body of that length. Werkzeug, left to
  it, would cut such a body at the limit without a word (its stream stops reading there), so that
  a JSON body over the limit read as malformed JSON and a signed webhook as a bad signature; now it
  gets the same 413 as a body whose ``Content-Length`` is over the limit, where that one does.
* Bytes above 0x7F sent raw in the query string (a client that did not percent-encode them) are
  percent-encoded: Werkzeug decodes the raw query as UTF-8 and failed with a 500 on any other byte.
  The query means the same; a byte that is not UTF-8 is then refused as above.
"""

from __future__ import annotations

import io
import json
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote_from_bytes

from flask import Flask, request

from hub.errors import BadRequest
from hub.store.text import unstorable

WEBHOOK_PREFIX = "/webhooks/"  # bodies checked by the ingress (hub.web.webhooks), which logs the refusal
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
READ_SIZE = 64 * 1024  # what a body without Content-Length is read by
_PRINTABLE_ASCII = "".join(chr(byte) for byte in range(0x21, 0x7F))  # kept as sent in a query string


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


def not_utf8(data: bytes) -> str | None:
    """What says that ``data`` is not UTF-8 ("bytes that are not UTF-8 (at byte 3)"), or None. Python's
    codec is strict: an encoded surrogate (ED A0 80) is no UTF-8 either."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return f"bytes that are not UTF-8 (at byte {exc.start})"
    return None


def unstorable_body(body: bytes) -> str | None:
    """What in a request body the database cannot store, or None. A body must be UTF-8 (RFC 8259
    for JSON): other bytes could smuggle in a surrogate (``json.loads`` of bytes lets the raw
    bytes ED A0 80 through as U+D800). A body that is UTF-8 but not JSON is left to the view."""
    if b"\x00" in body:
        return "a NUL byte (0x00); bodies must be UTF-8 text"
    problem = not_utf8(body)
    if problem:
        return problem
    text = body.decode("utf-8")
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


def _raw_pairs(encoded: bytes) -> list[tuple[bytes, bytes]]:
    """The name=value pairs of a query string or form body, percent-decoded to the bytes sent."""
    pairs = parse_qsl(encoded.decode("latin-1"), keep_blank_values=True, encoding="latin-1")
    return [(name.encode("latin-1"), value.encode("latin-1")) for name, value in pairs]


def _check_pairs(encoded: bytes, kind: str) -> None:
    """400 for a ``kind`` ("query parameter", "form field") whose name or value, as sent, is not UTF-8."""
    for name, value in _raw_pairs(encoded):
        problem = not_utf8(name) or not_utf8(value)
        if problem:
            shown = name.decode("utf-8", "replace")
            _refuse(problem, f"the {kind} {shown!r}")


def check_path() -> None:
    """400 if the URL path holds a character the database cannot store (PATH_INFO is the path's
    bytes, percent-decoded, as a WSGI string: Latin-1)."""
    problem = not_utf8(request.environ.get("PATH_INFO", "").encode("latin-1", "replace")) or unstorable(request.path)
    if problem:
        _refuse(problem, "the URL path")


def check_request() -> None:
    """Raise ``BadRequest`` if the current request holds a character the database cannot store."""
    check_path()
    _check_pairs(request.query_string, "query parameter")
    for name, value in request.args.items(multi=True):
        problem = unstorable(name) or unstorable(value)
        if problem:
            _refuse(problem, f"the query parameter {name!r}")
    if request.method in ("GET", "HEAD", "OPTIONS") or request.path.startswith(WEBHOOK_PREFIX):
        return
    body = request.get_data(cache=True)  # first, so that the view can still read it after the form
    if request.mimetype in FORM_TYPES:
        if request.mimetype == FORM_TYPES[0]:
            _check_pairs(body, "form field")
        elif problem := not_utf8(body):
            _refuse(problem, "the form data")
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


def guard_path() -> None:
    """Before every other hook: a path that names no view because of a character the database
    cannot store (``/api/v1/users/%00``) is refused as such (400), not answered 404 by
    ``hub.web.paths`` as an id that is not a number."""
    if request.routing_exception is not None:
        check_path()


class RequestInput:
    """The WSGI middleware of the module's docstring: a body without ``Content-Length`` is read to
    at most ``MAX_CONTENT_LENGTH`` + 1 bytes and passed on with its length (the app's 413 then
    answers one over the limit, as it answers a ``Content-Length`` over it), and raw bytes above
    0x7F in the query string are percent-encoded."""

    def __init__(self, wsgi_app: Callable, app: Flask):
        self.wsgi_app = wsgi_app
        self.app = app

    def __call__(self, environ: dict, start_response: Callable):
        query = environ.get("QUERY_STRING", "")
        if not query.isascii():
            environ["QUERY_STRING"] = quote_from_bytes(query.encode("latin-1", "replace"), safe=_PRINTABLE_ASCII)
        limit = self.app.config.get("MAX_CONTENT_LENGTH")
        # only a body the client said is chunked: gunicorn marks every request input_terminated, and a
        # GET read here would cost every health check a read of nothing
        if (limit is not None and "wsgi.input_terminated" in environ and not environ.get("CONTENT_LENGTH")
                and "chunked" in environ.get("HTTP_TRANSFER_ENCODING", "").lower()):
            self._buffer(environ, int(limit))
        return self.wsgi_app(environ, start_response)

    @staticmethod
    def _buffer(environ: dict, limit: int) -> None:
        """Read the body (the server ends it: ``wsgi.input_terminated``) up to ``limit`` + 1 bytes,
        and hand it on as a body of that length. A client gone mid-body leaves a body shorter than
        its length: Werkzeug answers 400 when it is read, as it does for a ``Content-Length`` body
        cut short."""
        stream = environ["wsgi.input"]
        body = bytearray()
        cut_short = False
        while len(body) <= limit:
            try:
                data = stream.read(min(READ_SIZE, limit + 1 - len(body)))
            except Exception:  # the connection reset, a malformed chunk: each server raises its own
                cut_short = True
                break
            if not data:
                break
            body += data
        environ["wsgi.input"] = io.BytesIO(bytes(body))
        environ["CONTENT_LENGTH"] = str(len(body) + (1 if cut_short else 0))
        # now a body of that length (Werkzeug reads a chunked one as having none): its 413 over the
        # limit, its 400 for one cut short
        environ.pop("wsgi.input_terminated", None)
        environ.pop("HTTP_TRANSFER_ENCODING", None)


def register(app: Flask) -> None:
    app.wsgi_app = RequestInput(app.wsgi_app, app)  # type: ignore[method-assign]
    app.before_request_funcs.setdefault(None, []).insert(0, guard_path)  # before hub.web.paths' 404
    app.before_request(guard)
