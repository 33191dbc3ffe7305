"""OAuth endpoints at the sandbox root (lever.md §2.2): ``/authorize`` and ``/oauth/token``.

Contract:
- ``GET /authorize?client_id&redirect_uri&response_type=code&state&audience&scope[&prompt]``
  validates the request (known client, http(s) ``redirect_uri`` -- and registered, when
  ``OAUTH_REDIRECT_URIS`` is configured --, ``response_type=code``, a ``state``, ``audience`` equal
  to ``<sandbox base>/v1/``, known space-separated scopes) and shows an HTML consent page whose
  "Allow"/"Deny" buttons POST to ``/authorize``. An invalid request answers a 400 HTML page and
  never redirects. With the ``oauth_auto_approve`` setting, GET redirects as if "Allow" was
  pressed (for headless tests).
- Allow -> 302 ``redirect_uri?code=...&state=...``; Deny -> 302
  ``redirect_uri?error=access_denied&error_description=...&state=...``.
- ``POST /oauth/token`` (form-encoded, or JSON) with client credentials in the body
  (``client_id``/``client_secret``) or HTTP Basic: ``grant_type=authorization_code``
  (``code``, ``redirect_uri``) or ``grant_type=refresh_token`` (``refresh_token``). Answers the
  token JSON, 400 ``{"error": "invalid_grant"|"invalid_request"|"unsupported_grant_type", ...}``
  or 401 ``{"error": "invalid_client", ...}``. Stats: ``oauth_token_requests`` (every call,
  faulted or not), ``oauth_token_grants`` (by grant type), ``oauth_refreshes`` (successful
  refreshes by client id), ``oauth_failures`` (by error).
- Token-endpoint faults (``token_down``, ``token_error_rate`` + ``token_error_codes``,
  ``token_latency_ms``; ``faults.py``) act first, before the client or the grant is looked at:
  the call waits ``token_latency_ms``, then a faulted one answers its status with
  ``{"error": "temporarily_unavailable" (503) | "too_many_requests" (429) | "server_error",
  "error_description": "Injected fault (token_down|token_error)"}`` and changes nothing (the code
  or refresh token presented stays valid). Stats: ``oauth_token_faults`` (by ``kind:status``).
"""

from __future__ import annotations

import time
from http import HTTPStatus
from urllib.parse import urlencode, urlsplit, urlunsplit

from flask import Blueprint, jsonify, redirect, render_template, request

from .context import Sandbox, get_sandbox
from .oauth_store import KNOWN_SCOPES, OAuthError

bp = Blueprint("lever_oauth", __name__)

TOKEN_FAULT_ERRORS = {503: "temporarily_unavailable", 429: "too_many_requests"}
AUTHORIZE_PARAMS = ("client_id", "redirect_uri", "response_type", "state", "audience", "scope",
                    "prompt")


class AuthorizeError(Exception):
    """An authorize request too broken to redirect back: shown as a 400 page."""


def with_query(url: str, params: dict) -> str:
    """``url`` with ``params`` appended to its query string."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, parts.fragment))


def _validate(sandbox: Sandbox, params: dict) -> dict:
    client_id = params.get("client_id") or ""
    if not sandbox.oauth.client_known(client_id):
        raise AuthorizeError(f"Unknown client_id {client_id!r}")
    redirect_uri = params.get("redirect_uri") or ""
    if not redirect_uri.startswith(("http://", "https://")):
        raise AuthorizeError("redirect_uri is required and must be an http(s) URL")
    registered = (sandbox.config.get("OAUTH_REDIRECT_URIS") or {}).get(client_id)
    if registered is not None and redirect_uri not in registered:
        raise AuthorizeError("redirect_uri does not match the registered callback URL")
    if params.get("response_type") != "code":
        raise AuthorizeError("response_type must be 'code'")
    if not params.get("state"):
        raise AuthorizeError("state is required")
    audience = f"{sandbox.base_url()}/v1/"
    if params.get("audience") != audience:
        raise AuthorizeError(f"audience must be {audience!r}")
    scopes = (params.get("scope") or "").split()
    unknown = [s for s in scopes if s not in KNOWN_SCOPES]
    if not scopes or unknown:
        raise AuthorizeError(f"scope must list known Lever scopes; unknown: {unknown or 'none given'}")
    return {k: params.get(k) or "" for k in AUTHORIZE_PARAMS}


def _approve(sandbox: Sandbox, params: dict):
    code = sandbox.oauth.issue_code(params["client_id"], params["redirect_uri"],
                                    " ".join(params["scope"].split()), params["audience"])
    return redirect(with_query(params["redirect_uri"], {"code": code, "state": params["state"]}))


@bp.get("/authorize")
def authorize_page():
    sandbox = get_sandbox()
    try:
        params = _validate(sandbox, request.args)
    except AuthorizeError as err:
        return render_template("lever_sandbox/oauth_error.html", message=str(err)), 400
    if sandbox.settings["oauth_auto_approve"]:
        return _approve(sandbox, params)
    return render_template("lever_sandbox/oauth_consent.html", params=params,
                           scopes=params["scope"].split())


@bp.post("/authorize")
def authorize_decision():
    sandbox = get_sandbox()
    try:
        params = _validate(sandbox, request.form)
    except AuthorizeError as err:
        return render_template("lever_sandbox/oauth_error.html", message=str(err)), 400
    if request.form.get("decision") == "allow":
        return _approve(sandbox, params)
    return redirect(with_query(params["redirect_uri"], {
        "error": "access_denied", "error_description": "The user denied access to your app",
        "state": params["state"]}))


def _client_credentials() -> tuple[str | None, str | None]:
    auth = request.authorization
    if auth is not None and auth.type == "basic" and auth.username:
        return auth.username, auth.password
    values = request.form if request.form else (request.get_json(silent=True) or {})
    return values.get("client_id"), values.get("client_secret")


def _token_fault(sandbox: Sandbox):
    """The answer of an injected token-endpoint fault, or None (after any injected latency)."""
    fault = sandbox.faults.for_token_request()
    if fault.sleep:
        time.sleep(fault.sleep)
    if fault.kind is None:
        return None
    sandbox.stats.incr("oauth_token_faults", f"{fault.kind}:{fault.status}")
    resp = jsonify({"error": TOKEN_FAULT_ERRORS.get(fault.status, "server_error"),
                    "error_description": f"Injected fault (token_{fault.kind})"})
    try:  # the reason phrase as a web server writes it (werkzeug's own is in capitals)
        resp.status = f"{fault.status} {HTTPStatus(fault.status).phrase}"
    except ValueError:
        resp.status_code = fault.status
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/oauth/token")
def token():
    sandbox = get_sandbox()
    sandbox.stats.incr("oauth_token_requests")
    faulted = _token_fault(sandbox)
    if faulted is not None:
        return faulted
    values = request.form if request.form else (request.get_json(silent=True) or {})
    grant_type = values.get("grant_type")
    try:
        client_id, secret = _client_credentials()
        sandbox.oauth.authenticate_client(client_id, secret)
        if grant_type == "authorization_code":
            body = sandbox.oauth.exchange_code(client_id, values.get("code"),
                                               values.get("redirect_uri"))
        elif grant_type == "refresh_token":
            if not values.get("refresh_token"):
                raise OAuthError(400, "invalid_request", "refresh_token is required")
            body = sandbox.oauth.refresh(client_id, values.get("refresh_token"))
            sandbox.stats.incr("oauth_refreshes", client_id)
        else:
            raise OAuthError(400, "unsupported_grant_type",
                             "grant_type must be authorization_code or refresh_token")
    except OAuthError as err:
        sandbox.stats.incr("oauth_failures", err.error)
        resp = jsonify(err.body())
        resp.status_code = err.status
    else:
        sandbox.stats.incr("oauth_token_grants", grant_type)
        resp = jsonify(body)
    resp.headers["Cache-Control"] = "no-store"
    return resp
