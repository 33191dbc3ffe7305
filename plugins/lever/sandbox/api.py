"""The ``/v1`` blueprint: request guard (faults, auth, rate limit, scopes) and shared helpers.

Contract of the guard, run before every matched ``/v1`` route, in this order:
1. counting (stats ``requests``, ``requests_by_path``, ``requests_by_route``);
2. faults (``faults.for_request``): added latency/timeout sleep, then an injected error code,
   ``down`` (503) or a dropped connection (no answer; 502 when the socket is not reachable);
3. authentication: HTTP Basic with an API key as username (password ignored; Lever asks for it
   to be blank) or ``Authorization: Bearer <token>`` from the sandbox's OAuth; anything else,
   or an expired/revoked token, answers 401 ``{"code": "Unauthorized", ...}``;
4. rate limit: one token bucket per credential (API key, or OAuth client + account); over it
   answers 429 ``{"code": "TooManyRequests", ...}`` (``Retry-After`` only when the
   ``retry_after_header`` setting is on; Lever documents none);
5. scopes, only with the ``enforce_scopes`` setting: a bearer token must carry the endpoint's
   scope (a write scope includes its read scope), else 403.
Route modules (``api_opportunities``, ``api_catalog``, ``api_webhooks``) add routes to ``bp``
and use the helpers below; every error they raise is a ``LeverError``.
"""

from __future__ import annotations

import base64
import binascii
import math
import socket
import struct
import time
from dataclasses import dataclass

from flask import Blueprint, g, jsonify, request

from .context import Sandbox, get_sandbox
from .errors import LeverError, bad_request
from .pagination import paginate

bp = Blueprint("lever_api", __name__, url_prefix="/v1")


@dataclass(frozen=True)
class Credential:
    """Who is calling: ``kind`` "api_key" or "oauth", the rate-limit bucket, OAuth scopes."""

    kind: str
    bucket: str
    scopes: frozenset[str] = frozenset()


@bp.before_request
def _guard():
    sandbox = get_sandbox()
    stats = sandbox.stats
    stats.incr("requests")
    stats.incr("requests_by_path", request.path)
    stats.incr("requests_by_route", f"{request.method} {request.url_rule.rule}")
    fault = sandbox.faults.for_request()
    if fault.sleep:
        time.sleep(fault.sleep)
    if fault.kind is not None:
        stats.incr("faults_injected", f"{fault.kind}:{fault.status}")
        if fault.kind == "reset" and _drop_connection():
            return ("", 200)  # never reaches the client: the socket is already shut
        raise LeverError(fault.status or 500, None, f"Injected fault ({fault.kind})")
    g.credential = _authenticate(sandbox)
    wait = sandbox.limiter.take(g.credential.bucket)
    if wait:
        stats.incr("rate_limited")
        stats.incr("rate_limited_by_bucket", g.credential.bucket)
        err = LeverError(429, "TooManyRequests",
                         "Rate limit exceeded; retry with exponential backoff")
        if sandbox.settings["retry_after_header"]:
            err.headers["Retry-After"] = str(max(1, math.ceil(wait)))
        raise err
    if sandbox.settings["enforce_scopes"] and g.credential.kind == "oauth":
        _check_scope(g.credential)
    return None


@bp.after_request
def _count_status(response):
    get_sandbox().stats.incr("responses_by_status", response.status_code)
    return response


def _drop_connection() -> bool:
    """Shut the client's socket so it sees the connection close without an answer."""
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return False
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        return False
    return True


def _authenticate(sandbox: Sandbox) -> Credential:
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme == "basic":
        try:
            username = base64.b64decode(value, validate=True).decode().partition(":")[0]
        except (binascii.Error, UnicodeDecodeError):
            username = ""
        if username and username in sandbox.config["API_KEYS"]:
            return Credential("api_key", f"api_key:{username}")
        raise LeverError(401, "Unauthorized", "Invalid API key")
    if scheme == "bearer" and value:
        grant, reason = sandbox.oauth.access_grant(value)
        if grant is not None:
            return Credential("oauth", f"oauth:{grant.client_id}:{grant.account_id}",
                              frozenset(grant.scope.split()))
        raise LeverError(401, "Unauthorized", f"Access token is {reason}")
    raise LeverError(401, "Unauthorized",
                     "Missing credentials: use Basic auth with an API key or a Bearer token")


def required_scope(method: str, path: str) -> str:
    """The OAuth scope an endpoint needs (sandbox mapping; Lever maps none publicly)."""
    parts = [p for p in path.split("/") if p][1:]  # drop "v1"
    resource = parts[0] if parts else ""
    if resource == "opportunities" and len(parts) >= 3 and parts[2] in ("notes", "applications"):
        resource = parts[2]
    resource = {"contacts": "contact"}.get(resource, resource)
    access = "read" if method in ("GET", "HEAD") else "write"
    if resource == "applications":
        access = "read"
    return f"{resource}:{access}:admin"


def _check_scope(credential: Credential) -> None:
    needed = required_scope(request.method, request.path)
    alternatives = {needed, needed.replace(":read:", ":write:")}
    if not alternatives & credential.scopes:
        raise LeverError(403, "Forbidden", f"Access token lacks scope {needed}")


# --------------------------------------------------------------------- helpers
def json_body() -> dict:
    """The request's JSON object (``{}`` for an empty body); 400 for anything else."""
    if not request.get_data():
        return {}
    body = request.get_json(force=True, silent=True)
    if not isinstance(body, dict):
        raise bad_request("Request body must be a JSON object")
    return body


def perform_as() -> str | None:
    """The ``perform_as`` user id, checked to exist (404 otherwise), or None."""
    user_id = request.args.get("perform_as")
    if not user_id:
        return None
    get_sandbox().state.user(user_id)
    return user_id


def expand_args() -> set[str]:
    """Requested expansions (``expand`` repeated, or ``expand[]``)."""
    return {*request.args.getlist("expand"), *request.args.getlist("expand[]")}


def list_response(items: list, scope: str):
    """A paginated Lever list response over already rendered ``items``."""
    return jsonify(paginate(items, request.args, scope, get_sandbox().secret))


def data_response(obj, status: int = 200):
    """``{"data": obj}`` with ``status``."""
    return jsonify({"data": obj}), status
