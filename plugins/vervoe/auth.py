"""Vervoe's token auth: API key + secret -> ``GET /public/ats-api/token`` (HTTP Basic) -> a bearer
token that lives 10 minutes (guide 02).

The token is cached among the connection's encrypted secrets (``TOKEN``, ``EXPIRES_AT``, and
``KEY_ID``, a fingerprint of the key pair it was issued for, so changing the key in the settings
drops it). It is refreshed when less than ``REFRESH_MARGIN`` seconds remain, and when Vervoe
answers 401 to it, by one worker at a time across every process (``ctx.lock(LOCK)``): the others
wait, re-read the secrets and use the token the winner stored (single flight). Getting a token
keeps to the budget of the call it is for (``Budget``: the waits for the lock and the rate budget,
the HTTP timeout, the tries), so a short try (a webhook's re-read) stays short when it must fetch
one first. A refused key
(400/401/403 from the token endpoint) is ``VervoeAuthError``, a ``NeedsReauthorization``: the
connection is flagged for an admin (``reauthorization_status``): with Vervoe's own message when it
answered with its JSON error; else with the client's sentence, which keeps the status ("Vervoe
answered 401 Unauthorized with an HTML page, not its API's JSON: check the API base URL"), and
advice naming the API base URL as well as the key and secret (``NOT_JSON_ADVICE``): a page from a
web server that is not Vervoe's API says nothing about the key.
"""

from __future__ import annotations

import dataclasses
import hashlib
import random
import time
from typing import Any, Callable

import requests

from hub.errors import NeedsReauthorization, TemporaryError
from hub.kit.retry_after import parse_retry_after

from . import wire
from .settings import VervoeSettings

TOKEN = "access_token"
EXPIRES_AT = "access_token_expires_at"
KEY_ID = "access_token_key_id"
TOKEN_SECRETS = (TOKEN, EXPIRES_AT, KEY_ID)

REFRESH_MARGIN = 60.0
LOCK = "token-refresh"
LOCK_TTL = 60.0
LOCK_WAIT = 30.0
MAX_ATTEMPTS = 3
LIMITER_WAIT = 60.0  # the longest wait for a token of the connection's rate budget (``ctx.rate_limiter``'s)


NOT_JSON_ADVICE = "Correct the API base URL or enter the API key and secret again in the settings, and save."


class VervoeAuthError(NeedsReauthorization):
    """Vervoe refused the API key and secret (or the token made with them): 400/401/403 from the
    token endpoint (no token: nothing can be asked with this key pair), or 401 from the API after
    one refresh. (A 403 from the API is ``client.VervoeForbidden``: a permission for that request,
    guide 04, not the credentials.) ``vendor_message`` and ``sentence`` are ``wire.parse_error``'s
    message and summary, ``body`` the answer's JSON (or None). Its text:
    "Vervoe refused the API credentials (401): <message>" for Vervoe's own JSON error; for any
    other answer the sentence, with the status ("Vervoe answered 401 Unauthorized with an HTML
    page, not its API's JSON: check the API base URL")."""

    def __init__(self, status: int, message: str, body: Any = None, summary: str | None = None):
        self.status = status
        self.vendor_message = message
        self.body = body
        self.sentence = summary or f"Vervoe answered {status}: {message}"
        own = self.own_message
        super().__init__(f"Vervoe refused the API credentials ({status}): {message}" if own is not None
                         else self.sentence)

    @property
    def own_message(self) -> str | None:
        """Vervoe's own message when it answered with its JSON error (``wire.is_error_envelope``), else
        None: the answer was something else (an HTML page at a wrong base URL, a bare text,
        nothing), whose words alone lose the status."""
        return self.vendor_message if wire.is_error_envelope(self.body) else None


def key_id(settings: VervoeSettings) -> str:
    """A fingerprint of the key pair (never the key itself), stored with the token it got."""
    raw = f"{settings.api_key or ''}:{settings.api_secret or ''}".encode("utf-8")
    return hashlib.sha256(raw).hexdigest()[:16]


def cached_token(secrets: dict[str, Any], settings: VervoeSettings, now: float | None = None) -> str | None:
    """The stored token if it belongs to the current key pair and has more than the margin left."""
    token = secrets.get(TOKEN)
    expires_at = secrets.get(EXPIRES_AT)
    if not isinstance(token, str) or not token or not isinstance(expires_at, (int, float)):
        return None
    if secrets.get(KEY_ID) != key_id(settings):
        return None
    now = time.time() if now is None else now
    return token if expires_at - now > REFRESH_MARGIN else None


@dataclasses.dataclass(frozen=True)
class Budget:
    """How long getting a token may take: ``lock_wait`` for another worker's refresh (``ctx.lock``:
    ``Deferred`` past it), ``limiter_wait`` for the connection's rate budget (``TemporaryError``
    past it), ``timeout`` for each HTTP request (None: ``ctx.http``'s default), ``max_attempts``
    tries of the token endpoint. The default is a worker's; a short try (a webhook's re-read,
    ``VervoeClient.token_budget``) gives its own, so fetching a token first does not make it long."""

    lock_wait: float = LOCK_WAIT
    limiter_wait: float = LIMITER_WAIT
    timeout: float | None = None
    max_attempts: int = MAX_ATTEMPTS


WORKER_BUDGET = Budget()


def bearer_token(ctx: Any, settings: VervoeSettings, *, rejected: str | None = None,
                 budget: Budget = WORKER_BUDGET) -> str:
    """A usable bearer token; refreshes (single flight) when none is cached or when ``rejected``
    (the token Vervoe just answered 401 to) is still the cached one, within ``budget``."""
    token = cached_token(ctx.secrets, settings)
    if token and token != rejected:
        return token
    with ctx.lock(LOCK, ttl=LOCK_TTL, wait=budget.lock_wait):
        ctx.reload()  # another worker may have refreshed while we waited
        token = cached_token(ctx.secrets, settings)
        if token and token != rejected:
            return token
        return refresh(ctx, settings, budget)


def refresh(ctx: Any, settings: VervoeSettings, budget: Budget = WORKER_BUDGET) -> str:
    """Fetch a new token now (within ``budget``) and store it; returns it. (Call under
    ``ctx.lock(LOCK)``.)"""
    try:
        token, expires_at = fetch_token(ctx, settings, max_attempts=budget.max_attempts,
                                        limiter_wait=budget.limiter_wait, timeout=budget.timeout)
    except Exception:
        _token_metric(ctx, "failed")
        raise
    ctx.update_secrets({TOKEN: token, EXPIRES_AT: expires_at, KEY_ID: key_id(settings)})
    _token_metric(ctx, "refreshed")
    return token


def fetch_token(ctx: Any, settings: VervoeSettings, *, sleep: Callable[[float], None] = time.sleep,
                max_attempts: int = MAX_ATTEMPTS, limiter_wait: float = LIMITER_WAIT,
                timeout: float | None = None) -> tuple[str, float]:
    """``GET /public/ats-api/token`` with the key pair; returns (token, expires_at epoch seconds).
    At most ``max_attempts`` tries, each waiting at most ``limiter_wait`` for the rate budget, with
    the HTTP ``timeout`` (None: ``ctx.http``'s default)."""
    if not settings.api_key or not settings.api_secret:
        raise NeedsReauthorization("Vervoe is not connected: enter the API key and secret in the settings")
    url = settings.base_url + wire.TOKEN_PATH
    headers = {**wire.basic_auth_header(settings.api_key, settings.api_secret), "Accept": "application/json"}
    limiter = ctx.rate_limiter("api", settings.rate_limit_per_second, settings.rate_limit_burst)
    problem = "no attempt made"
    retry_after: float | None = None
    timeout_arg = {} if timeout is None else {"timeout": timeout}
    for attempt in range(1, max(1, max_attempts) + 1):
        limiter.acquire(timeout=limiter_wait)
        asked_at = time.time()
        started = time.perf_counter()
        try:
            response = ctx.http.get(url, headers=headers, **timeout_arg)
        except requests.RequestException as exc:
            ctx.record_vendor_call(wire.ENDPOINT_TOKEN, "error", time.perf_counter() - started)
            problem, retry_after = f"Vervoe's token endpoint is unreachable ({type(exc).__name__})", None
        else:
            ctx.record_vendor_call(wire.ENDPOINT_TOKEN, response.status_code, time.perf_counter() - started)
            body = _json_or_none(response)
            status = response.status_code
            if status == wire.STATUS_OK:
                token = wire.parse_token(body)
                if token:
                    return token, asked_at + wire.TOKEN_LIFETIME_SECONDS
                problem = "Vervoe's token endpoint answered without a token"
            elif status in (wire.STATUS_BAD_REQUEST, wire.STATUS_UNAUTHORIZED, wire.STATUS_FORBIDDEN):
                message, summary = wire.parse_error(body, status, response.text, response.headers.get("Content-Type"))
                error = VervoeAuthError(status, message, body, summary)
                flag_reauthorization(ctx, error)
                raise error
            else:
                retry_after = parse_retry_after(response.headers.get(wire.RETRY_AFTER_HEADER))
                message, _ = wire.parse_error(body, status, response.text, response.headers.get("Content-Type"))
                problem = f"Vervoe's token endpoint answered {status}: {message}"
        if attempt < max_attempts:
            sleep(min(2.0, retry_after) if retry_after is not None else 0.2 * (2 ** (attempt - 1)) * random.uniform(0.5, 1))
    raise TemporaryError(problem, retry_after=retry_after)


def reauthorization_status(error: VervoeAuthError) -> str:
    """The status line of a connection whose credentials Vervoe refused: "Vervoe refused the API key
    and secret (<its message>); enter them again" when Vervoe answered with its JSON error; else
    ``refused_not_json``'s text."""
    own = error.own_message
    if own is not None:
        return f"Vervoe refused the API key and secret ({own}); enter them again"
    return refused_not_json(error)


def refused_not_json(error: VervoeAuthError) -> str:
    """A 400/401/403 that is not Vervoe's JSON error, in words: the sentence, which keeps the status,
    and advice naming the base URL as well as the credentials ("Vervoe answered 401 Unauthorized
    with an HTML page, not its API's JSON: check the API base URL. Correct the API base URL or enter
    the API key and secret again in the settings, and save.")."""
    return f"{error.sentence}. {NOT_JSON_ADVICE}"


def flag_reauthorization(ctx: Any, error: VervoeAuthError) -> None:
    """Show the connection as needing new credentials (``reauthorization_status``)."""
    set_status = getattr(ctx, "set_status", None)
    if set_status is not None:
        set_status("needs_reauthorization", reauthorization_status(error))


def _token_metric(ctx: Any, outcome: str) -> None:
    record = getattr(ctx, "record_token_refresh", None)
    if record is not None:
        record(outcome)


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
