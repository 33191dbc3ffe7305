"""``VervoeClient``: Vervoe's API over ``ctx.http``, speaking normalised values (see ``wire``).

Every call:

- waits for a token of the connection's shared rate limiter (``ctx.rate_limiter``, all workers;
  its rate and burst are the connection's ``rate_limit_per_second`` and ``rate_limit_burst``);
- sends ``Authorization: Bearer <token>`` (``auth.bearer_token``: cached, refreshed single-flight,
  within the call's own budget: ``token_budget``); a 401 refreshes the token once and repeats the
  call; a second 401 is ``VervoeAuthError``;
- retries inside the call, a couple of times with exponential backoff, on 5xx, timeouts and
  connection errors, and on 429 when ``Retry-After`` is short; then raises
  ``hub.errors.TemporaryError``. The exception is the invitation ``POST``: Vervoe has no
  idempotency key, so a POST whose outcome is unclear (timeout, 5xx) is never repeated blindly;
  ``invite.py`` looks the candidate up first (find-before-create);
- records each attempt with ``ctx.record_vendor_call``.

Errors: 401 (after the refresh) -> ``auth.VervoeAuthError`` (a ``NeedsReauthorization``: the
credentials); 403 -> ``VervoeForbidden`` (a ``PermanentError`` for this one request: guide 04, "The
API User doesn't have needed permissions to perform the request"; the connection is not flagged);
404 -> ``VervoeNotFound``; any other 4xx -> ``VervoeRejected``; all carry Vervoe's message and body.
An answer that is not Vervoe's JSON error (``wire.is_error_envelope``; an HTML page at a wrong base
URL) is never shown as it came: its message says what came instead ("an HTML page, not its API's
JSON: check the API base URL"), and the exception's text is a sentence with the status ("Vervoe
answered 404 Not Found with an HTML page, ..."; "Vervoe answered 400 Bad Request with an empty
body"; ``wire.parse_error``), as is the ``TemporaryError``'s after a 5xx or 429. Vervoe's own JSON
error reads "Vervoe answered 400: <its message>" (a 403's: "Vervoe answered 403 Forbidden (the API
user lacks a permission this request needs): <its message>").
"""

from __future__ import annotations

import random
import time
from urllib.parse import urlsplit
from typing import Any, Callable

import requests

from hub.entities import Assessment
from hub.errors import PermanentError, TemporaryError
from hub.kit.retry_after import parse_retry_after

from . import auth, wire
from .auth import VervoeAuthError
from .settings import VervoeSettings

MAX_PAGES = 200
MAX_LOOKUP_PAGES = 20


class VervoeError(PermanentError):
    """Vervoe answered with an error that retrying will not fix."""

    def __init__(self, status: int, message: str, body: Any = None, summary: str | None = None):
        super().__init__(summary or f"Vervoe answered {status}: {message}")
        self.status = status
        self.vendor_message = message
        self.body = body


class VervoeNotFound(VervoeError):
    pass


class VervoeRejected(VervoeError):
    """A 4xx other than 401/403/404: the request itself was refused (e.g. 400 Bad Request)."""


# what a 403 means (guide 04), in the words an admin reads
FORBIDDEN_MEANING = "the API user lacks a permission this request needs"


class VervoeForbidden(VervoeError):
    """403 from the API. Vervoe's guide 04: "403 - Forbidden, The API User doesn't have needed
    permissions to perform the request"; bad or expired credentials are 401 (the token endpoint's
    documented refusal, and the API's answer to a token it does not take). So a 403 refuses this
    request (this assessment, this candidate assessment, or what the account's plan allows), not the
    connection: the work it was for fails (a delivery dead at once, an invitation failed) or is
    skipped (reconciliation), with this text, and the connection is not flagged for
    re-authorization. Its text: "Vervoe answered 403 Forbidden (<FORBIDDEN_MEANING>): <message>"
    for Vervoe's JSON error; else the client's sentence, which keeps the status ("Vervoe answered
    403 Forbidden with an HTML page, not its API's JSON: check the API base URL")."""

    def __init__(self, status: int, message: str, body: Any = None, summary: str | None = None):
        if wire.is_error_envelope(body):
            summary = f"Vervoe answered {status} Forbidden ({FORBIDDEN_MEANING}): {message}"
        super().__init__(status, message, body, summary)


class LookupExhausted(TemporaryError):
    """``find_report`` read its last page without finding the candidate assessment and without
    reaching the end of Vervoe's list: not there among the newest ones, but not proven absent."""


class VervoeClient:
    def __init__(self, ctx: Any, settings: VervoeSettings | None = None, *, max_attempts: int = 3,
                 backoff_base: float = 0.2, max_inline_wait: float = 2.0, limiter_wait: float = 60.0,
                 timeout: float | None = None, sleep: Callable[[float], None] = time.sleep):
        """``limiter_wait``: the longest wait for a token of the connection's shared rate budget
        (none in time: ``TemporaryError``); ``timeout``: the HTTP timeout (None: ``ctx.http``'s).
        Inside a webhook's request keep both short (``webhooks.REREAD_*``). A bearer token fetched
        first has the same budget (``token_budget``): as many tries, the same HTTP timeout and
        wait for the rate budget, and no longer a wait for another worker's refresh either."""
        self.ctx = ctx
        self.limiter_wait = limiter_wait
        self.timeout = timeout
        self.settings = settings or VervoeSettings.from_context(ctx)
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.max_inline_wait = max_inline_wait
        self.sleep = sleep
        self._limiter = ctx.rate_limiter("api", self.settings.rate_limit_per_second, self.settings.rate_limit_burst)
        self.token_budget = auth.Budget(lock_wait=min(auth.LOCK_WAIT, limiter_wait), limiter_wait=limiter_wait,
                                        timeout=timeout, max_attempts=min(auth.MAX_ATTEMPTS, self.max_attempts))

    # ------------------------------------------------------------------ transport
    def _backoff(self, attempt: int) -> float:
        return self.backoff_base * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _request(self, method: str, path: str, endpoint: str, *, params: dict | None = None,
                 json: Any = None, repeatable: bool = True) -> requests.Response:
        """One logical call with its inline retries; returns the 200 response."""
        url = self.settings.base_url + path
        problem = "no attempt made"
        retry_after: float | None = None
        rejected: str | None = None
        reauthorized = False
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            token = auth.bearer_token(self.ctx, self.settings, rejected=rejected, budget=self.token_budget)
            headers = {**wire.bearer_header(token), "Accept": "application/json"}
            self._limiter.acquire(timeout=self.limiter_wait)
            started = time.perf_counter()
            timeout = {} if self.timeout is None else {"timeout": self.timeout}
            try:
                response = self.ctx.http.request(method, url, params=params, json=json, headers=headers, **timeout)
            except requests.RequestException as exc:
                self.ctx.record_vendor_call(endpoint, "timeout" if isinstance(exc, requests.Timeout) else "error",
                                            time.perf_counter() - started)
                problem = (f"Vervoe is unreachable or slow at {urlsplit(url).netloc} ({type(exc).__name__}): "
                           "check the API base URL, or wait for Vervoe to be back")
                retry_after = None
                if not repeatable:
                    break
                if attempt < self.max_attempts:
                    self.sleep(self._backoff(attempt))
                continue
            status = response.status_code
            self.ctx.record_vendor_call(endpoint, status, time.perf_counter() - started)
            if status == wire.STATUS_OK:
                return response
            body = _json_or_none(response)
            # an answer that is not Vervoe's JSON (a wrong base URL's HTML page) becomes a sentence
            message, summary = wire.parse_error(body, status, response.text, response.headers.get("Content-Type"))
            if status == wire.STATUS_UNAUTHORIZED and not reauthorized:
                # the token expired early or was revoked: refresh once (single flight), call again
                rejected, reauthorized = token, True
                attempt -= 1
                continue
            if status == wire.STATUS_UNAUTHORIZED:  # a new token refused too: the credentials
                error = VervoeAuthError(status, message, body, summary)
                auth.flag_reauthorization(self.ctx, error)
                raise error
            if status == wire.STATUS_FORBIDDEN:  # permission for this request, not the credentials
                raise VervoeForbidden(status, message, body, summary)
            if status == wire.STATUS_NOT_FOUND:
                raise VervoeNotFound(status, message, body, summary)
            if status == wire.STATUS_RATE_LIMITED or status >= 500:
                retry_after = parse_retry_after(response.headers.get(wire.RETRY_AFTER_HEADER))
                problem = summary
                if status >= 500 and not repeatable:
                    break  # the call may have taken effect: the caller looks before trying again
                if retry_after is not None and retry_after > self.max_inline_wait:
                    break  # too long to wait inside a call: let the engine reschedule
                if attempt < self.max_attempts:
                    self.sleep(min(self.max_inline_wait, retry_after) if retry_after is not None
                               else self._backoff(attempt))
                continue
            raise VervoeRejected(status, message, body, summary)
        raise TemporaryError(f"{endpoint}: {problem}", retry_after=retry_after)

    def _json(self, response: requests.Response, endpoint: str) -> Any:
        body = _json_or_none(response)
        if body is None:
            raise TemporaryError(f"{endpoint}: Vervoe answered {response.status_code} without a JSON body")
        return body

    # ------------------------------------------------------------------ API
    def list_assessments(self) -> list[Assessment]:
        """Every private assessment, page by page until ``hasMorePages`` is false."""
        found: list[Assessment] = []
        for page in range(1, MAX_PAGES + 1):
            response = self._request("GET", wire.ASSESSMENTS_PATH, wire.ENDPOINT_LIST_ASSESSMENTS,
                                     params={wire.PAGE_PARAM: page})
            try:
                items, more, _ = wire.parse_assessment_page(self._json(response, wire.ENDPOINT_LIST_ASSESSMENTS))
            except ValueError as exc:
                raise TemporaryError(f"{wire.ENDPOINT_LIST_ASSESSMENTS}: {exc}") from None
            found.extend(items)
            if not more or not items:
                return found
        raise PermanentError(f"Vervoe returned more than {MAX_PAGES} pages of assessments")

    def get_report(self, uuid: str) -> dict[str, Any]:
        response = self._request("GET", wire.report_path(uuid), wire.ENDPOINT_REPORT)
        report = wire.parse_report(self._json(response, wire.ENDPOINT_REPORT))
        if report["uuid"] is None:
            report["uuid"] = uuid
        return report

    def find_report(self, email: str, slug: str, max_pages: int = MAX_LOOKUP_PAGES) -> dict[str, Any] | None:
        """The candidate assessment of ``email`` for assessment ``slug`` (newest first), or None.

        Used after an invitation POST whose outcome is unclear: Vervoe's invite body has no
        external reference, so the candidate is looked up by email and assessment."""
        wanted = email.strip().lower()
        for page in range(1, max_pages + 1):
            response = self._request("GET", wire.REPORTS_PATH, wire.ENDPOINT_REPORTS,
                                     params={wire.PAGE_PARAM: page, **wire.LOOKUP_QUERY})
            try:
                reports, more = wire.parse_report_page(self._json(response, wire.ENDPOINT_REPORTS))
            except ValueError as exc:
                raise TemporaryError(f"{wire.ENDPOINT_REPORTS}: {exc}") from None
            for report in reports:
                if report["uuid"] and (report["email"] or "").lower() == wanted and report["slug"] == slug:
                    return report
            if not more:
                return None
        raise LookupExhausted(f"{wire.ENDPOINT_REPORTS}: not found in the newest {max_pages} pages; "
                              "trying again later")

    def invite(self, slug: str, body: dict[str, Any]) -> tuple[str, str | None, bool]:
        """Invite; ``(uuid, candidate_url, created)``. Vervoe's 400 "already invited" carries the
        existing candidate assessment: returned with ``created=False``, never a second one."""
        try:
            response = self._request("POST", wire.invite_path(slug), wire.ENDPOINT_INVITE, json=body,
                                     repeatable=False)
        except VervoeRejected as exc:
            uuid, url = wire.parse_invitation(exc.body)
            if exc.status == wire.STATUS_BAD_REQUEST and uuid:
                return uuid, url, False
            raise
        uuid, url = wire.parse_invitation(self._json(response, wire.ENDPOINT_INVITE))
        if not uuid:
            raise TemporaryError(f"{wire.ENDPOINT_INVITE}: the answer carries no candidateAssessmentUuid")
        return uuid, url, True

    def candidate_url(self, uuid: str) -> str | None:
        response = self._request("GET", wire.candidate_url_path(uuid), wire.ENDPOINT_CANDIDATE_URL)
        return wire.parse_candidate_url(self._json(response, wire.ENDPOINT_CANDIDATE_URL))

    def reset(self, uuid: str) -> dict[str, Any]:
        """Reset the candidate's assessment and extend its deadline (Vervoe's re-invite)."""
        response = self._request("PATCH", wire.reset_path(uuid), wire.ENDPOINT_RESET)
        return wire.parse_report(_json_or_none(response))

    def reject(self, uuid: str) -> dict[str, Any]:
        """Reject the candidate (rejecting twice is not an error at Vervoe)."""
        response = self._request("PATCH", wire.reject_path(uuid), wire.ENDPOINT_REJECT)
        return wire.parse_report(_json_or_none(response))


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: a body nested too deeply for Python's parser
        return None
