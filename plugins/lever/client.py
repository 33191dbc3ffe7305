"""``LeverClient``: every call the plugin makes to Lever's Data API goes through here.

- Base URL from the connection's environment (``hosts.py``), credentials from ``auth.py``.
- Before every request (retries included) a token from the connection's shared bucket
  (``ctx.rate_limiter("api", 9.5, 10)``: just under Lever's published 10/s steady, bursts of 20;
  ``HUB_LEVER_RATE_LIMIT_PER_SECOND`` / ``HUB_LEVER_RATE_LIMIT_BURST`` change it).
- 429, 5xx, timeouts and connection errors are retried a few times with exponential backoff and
  jitter (``Retry-After`` honoured when Lever sends one, which it does not document); when they
  persist the call raises ``TemporaryError`` so the hub's delivery retries later.
- 401 with OAuth: one forced token refresh, one more try, then ``NeedsReauthorization``.
  401 with an API key: ``NeedsReauthorization`` at once.
- Other errors raise ``LeverAPIError`` (a ``PermanentError``: retrying cannot help) carrying
  Lever's ``{code, message}``; 404 raises its subclass ``LeverNotFound``. An answer that is not
  Lever's JSON is never shown as it came: a short plain text is, anything else is named ("an HTML
  page, not its API's JSON: check the Custom base URL"; ``hub.kit.vendor_http``).
- Redirects (301, 302, 307, 308; Lever documents 301 "follow Location", lever.md §3.1) are followed here, not by
  requests (which turns a redirected POST into a GET and drops the credentials on another
  host): the same method, body and credentials go to the new ``Location`` when it is on the
  connection's own host or an https ``*.lever.co`` host, at most ``MAX_REDIRECTS`` times;
  anywhere else is a ``LeverAPIError`` naming the host.
- Lists follow Lever's pagination: ``limit`` and ``offset`` = the previous page's ``next`` while
  ``hasNext`` is true.
- Each call is reported with ``ctx.record_vendor_call`` (endpoint with ids replaced by ``:id``).

Tunables from the hub's configuration (all optional): ``LEVER_HTTP_RETRIES`` (3),
``LEVER_RETRY_BASE_SECONDS`` (0.5), ``LEVER_RETRY_MAX_SECONDS`` (8), ``LEVER_PAGE_SIZE`` (100).
"""

from __future__ import annotations

import random
import time
from urllib.parse import quote, urljoin, urlsplit
from typing import Any, Callable, Iterator, Mapping, Sequence

import requests

from hub.errors import NeedsReauthorization, PermanentError, TemporaryError
from hub.kit.retry_after import parse_retry_after
from hub.kit.vendor_http import describe_error_body

from . import auth
from .hosts import LeverHosts, hosts_for
from .settings import LeverSettings, settings_of

# Lever allows 10 requests/s steady with bursts of 20 per API key; how it counts OAuth callers is
# not documented (lever.md §3.14), so the bucket is per connection (ctx.rate_limiter). It stays a
# little under (9.5/s, bursts of 10) so that network jitter between the hub granting a slot and the
# request reaching Lever rarely empties Lever's bucket: measured against the hub's Lever sandbox
# (not Lever), exactly 10/20 gave ~4% 429s.
RATE = 9.5
BURST = 10
RETRYABLE = {429, 500, 502, 503, 504}
MAX_PAGES = 10_000
REDIRECTS = {301, 302, 307, 308}  # 303 "See Other" asks for a GET: not a move of the resource
MAX_REDIRECTS = 3
KNOWN_SEGMENTS = {
    "opportunities", "notes", "addTags", "removeTags", "stage", "archived", "postings", "stages", "users",
    "webhooks", "archive_reasons", "applications", "contacts", "tags", "deleted",
}


class LeverAPIError(PermanentError):
    """Lever answered an error that retrying will not fix (4xx other than 401/429)."""

    def __init__(self, status: int, code: str, message: str, endpoint: str):
        super().__init__(f"Lever answered {status} {code} to {endpoint}: {message}")
        self.status = status
        self.code = code
        self.lever_message = message
        self.endpoint = endpoint


class LeverNotFound(LeverAPIError):
    """404 ResourceNotFound."""


def path(*segments: str) -> str:
    """An API path from segments, each percent-encoded (ids come from webhook bodies, which Lever
    does not sign)."""
    return "/" + "/".join(quote(str(s), safe="") for s in segments)


def endpoint_label(method: str, path: str) -> str:
    """``GET /opportunities/:id/notes`` for ``GET /opportunities/abc/notes`` (low-cardinality metric labels)."""
    parts = [p if p in KNOWN_SEGMENTS else ":id" for p in path.strip("/").split("/") if p]
    return f"{method.upper()} /" + "/".join(parts)


def _redirect_allowed(api_base: str, target: str) -> bool:
    """Whether the credentials may follow a redirect to ``target``: the connection's own host
    (same scheme and port), or a Lever host over https."""
    base, to = urlsplit(api_base), urlsplit(target)
    if (to.scheme, to.netloc) == (base.scheme, base.netloc):
        return True
    host = (to.hostname or "").lower()
    return to.scheme == "https" and (host == "lever.co" or host.endswith(".lever.co"))


def _error_body(response: requests.Response, hint: str | None = None) -> tuple[str, str]:
    """Lever's ``{"code", "message"}``; else the status and what came instead of it: nothing for an
    empty body, a short plain text as it is, or words for the rest, never the body itself ("an HTML
    page, not its API's JSON: <hint>"; ``hub.kit.vendor_http.describe_error_body``)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and (body.get("code") or body.get("message")):
        return str(body.get("code") or response.reason or response.status_code), str(body.get("message") or "")
    return str(response.reason or response.status_code), describe_error_body(
        response.status_code, response.text, content_type=response.headers.get("Content-Type"), hint=hint,
        empty="")


class LeverClient:
    def __init__(self, ctx, *, settings: LeverSettings | None = None, hosts: LeverHosts | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.ctx = ctx
        self.settings = settings or settings_of(ctx)
        self.hosts = hosts or hosts_for(self.settings)
        # where a wrong answer (a web server's HTML page) sends the admin: only a custom base URL is theirs
        self.error_hint = "check the Custom base URL" if self.settings.environment == "custom" else None
        self.sleep = sleep
        config = ctx.config
        self.retries = int(config.get("LEVER_HTTP_RETRIES", 3))
        self.backoff_base = float(config.get("LEVER_RETRY_BASE_SECONDS", 0.5))
        self.backoff_max = float(config.get("LEVER_RETRY_MAX_SECONDS", 8.0))
        self.page_size = max(1, min(100, int(config.get("LEVER_PAGE_SIZE", 100))))
        self._limiter = ctx.rate_limiter("api", float(config.get("LEVER_RATE_LIMIT_PER_SECOND", RATE)),
                                         int(config.get("LEVER_RATE_LIMIT_BURST", BURST)))

    # ------------------------------------------------------------------ plumbing
    @property
    def oauth(self) -> bool:
        return self.settings.auth_mode == "oauth"

    def _credentials(self, rejected: str | None = None) -> tuple[dict[str, str], Any]:
        if self.oauth:
            return {"Authorization": f"Bearer {auth.access_token(self.ctx, rejected=rejected)}"}, None
        return {}, auth.basic_auth(self.ctx)

    def _backoff(self, attempt: int) -> float:
        return min(self.backoff_max, self.backoff_base * (2 ** attempt)) * random.uniform(0.5, 1.0)

    def request(self, method: str, path: str, *, params: Any = None, json: Any = None,
                perform_as: bool = False, idempotent: bool | None = None) -> Any:
        """Call Lever; the decoded JSON body (``None`` for 204). Raises as the module docstring says.

        ``idempotent`` (default: every method but POST): whether a request whose outcome is unclear
        (a timeout after sending, a 5xx) may be sent again here. A POST that creates something
        (a note, a webhook) is not: the caller checks what exists before trying again.
        """
        if idempotent is None:
            idempotent = method.upper() != "POST"
        if perform_as and self.settings.perform_as:
            params = list(_param_items(params)) + [("perform_as", self.settings.perform_as)]
        url = self.hosts.api_base + path
        label = endpoint_label(method, path)
        headers, basic = self._credentials()
        refreshed = False
        attempt = 0
        redirects = 0
        while True:
            self._limiter.acquire()
            started = time.monotonic()
            try:
                response = self.ctx.http.request(method, url, params=params, json=json, auth=basic,
                                                 headers={"Accept": "application/json", **headers},
                                                 allow_redirects=False)
            except requests.RequestException as exc:
                self.ctx.record_vendor_call(label, "timeout" if isinstance(exc, requests.Timeout) else "error",
                                            time.monotonic() - started)
                unclear = not isinstance(exc, requests.ConnectTimeout)  # a connect timeout sent nothing
                if attempt < self.retries and (idempotent or not unclear):
                    self.sleep(self._backoff(attempt))
                    attempt += 1
                    continue
                raise TemporaryError(f"Lever could not be reached ({label}): {type(exc).__name__}") from exc
            status = response.status_code
            self.ctx.record_vendor_call(label, status, time.monotonic() - started)

            if status in REDIRECTS:
                location = response.headers.get("Location")
                target = urljoin(response.url or url, location) if location else None
                if redirects >= MAX_REDIRECTS:
                    raise LeverAPIError(status, "Redirect", f"Lever redirected the request more than "
                                        f"{MAX_REDIRECTS} times", label)
                if not target or not _redirect_allowed(self.hosts.api_base, target):
                    where = urlsplit(target).netloc if target else "nowhere (no Location)"
                    raise LeverAPIError(status, "Redirect", f"Lever redirected the request to {where}, which the "
                                        "hub does not follow with its credentials", label)
                redirects += 1
                url, params = target, None  # the Location carries the query
                continue

            if status == 401:
                code, message = _error_body(response, self.error_hint)
                if self.oauth and not refreshed:
                    refreshed = True
                    rejected = headers["Authorization"].split(" ", 1)[1]
                    headers, basic = self._credentials(rejected=rejected)
                    continue
                text = (f"Lever rejected the {'OAuth access token' if self.oauth else 'API key'}: "
                        f"{message or code}")
                self.ctx.set_status("needs_reauthorization", text)
                raise NeedsReauthorization(text)
            if status in RETRYABLE:
                code, message = _error_body(response, self.error_hint)
                wait = parse_retry_after(response.headers.get("Retry-After")) if status == 429 else None
                safe = idempotent or status == 429  # a 429 was refused before any work was done
                if safe and attempt < self.retries and (wait is None or wait <= self.backoff_max):
                    self.sleep(wait if wait is not None else self._backoff(attempt))
                    attempt += 1
                    continue
                raise TemporaryError(f"Lever answered {status} {code} to {label}: {message}",
                                     retry_after=wait)
            if 300 <= status < 400:  # 303 See Other, 300, 304...: nothing done, and not a move to follow
                raise LeverAPIError(status, "Redirect", f"Lever answered {status} with a redirect the hub does not "
                                    "follow", label)
            if status >= 400:
                code, message = _error_body(response, self.error_hint)
                cls = LeverNotFound if status == 404 else LeverAPIError
                raise cls(status, code, message, label)
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError as exc:
                raise TemporaryError(f"Lever answered {status} to {label} with a body that is not JSON") from exc

    # ------------------------------------------------------------------ helpers
    def get(self, path: str, params: Any = None) -> Any:
        return self.request("GET", path, params=params)

    def get_data(self, path: str, params: Any = None) -> Any:
        """The ``data`` of a single-object answer."""
        body = self.get(path, params)
        return body.get("data") if isinstance(body, dict) else None

    def paginate(self, path: str, params: Any = None) -> Iterator[dict]:
        """Every item of a list endpoint, page by page."""
        base = [(k, v) for k, v in _param_items(params) if k not in ("limit", "offset")]
        offset: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            page = base + [("limit", self.page_size)] + ([("offset", offset)] if offset else [])
            body = self.get(path, page)
            data = body.get("data") if isinstance(body, dict) else None
            for item in data if isinstance(data, list) else []:
                if isinstance(item, dict):
                    yield item
            next_offset = body.get("next") if isinstance(body, dict) else None
            if not (isinstance(body, dict) and body.get("hasNext")) or not next_offset:
                return
            if next_offset in seen:  # a server that hands back the same page forever
                raise TemporaryError(f"Lever's pagination of {endpoint_label('GET', path)} did not advance")
            seen.add(next_offset)
            offset = str(next_offset)
        raise TemporaryError(f"Lever's list {endpoint_label('GET', path)} has more than {MAX_PAGES} pages")

    def list(self, path: str, params: Any = None) -> list[dict]:
        return list(self.paginate(path, params))


def _param_items(params: Any) -> Sequence[tuple[str, Any]]:
    if params is None:
        return []
    if isinstance(params, Mapping):
        items: list[tuple[str, Any]] = []
        for key, value in params.items():
            if isinstance(value, (list, tuple)):
                items.extend((key, v) for v in value)
            else:
                items.append((key, value))
        return items
    return list(params)
