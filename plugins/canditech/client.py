"""``CanditechClient``: Canditech's API over ``ctx.http``, speaking normalised values (see ``wire``).

Every call:

- waits for a token of the connection's shared rate limiter (``ctx.rate_limiter``, all workers);
- sends ``Authorization: Bearer <api key>`` to ``<base_url><path>``;
- retries inside the call, a couple of times with exponential backoff, on 5xx, timeouts and
  connection errors, and on 429 when ``Retry-After`` is short; then raises
  ``hub.errors.TemporaryError`` with ``retry_after`` (Canditech's, when it gave one). Retrying a
  POST is safe: creating an invitation is idempotent by ``external_reference`` (409) and cancelling
  twice is a no-op;
- records each attempt with ``ctx.record_vendor_call``.

Errors: 401/403 -> ``CanditechAuthError`` (a ``NeedsReauthorization``); 404 -> ``CanditechNotFound``;
409 -> ``CanditechConflict``; any other 4xx -> ``CanditechRejected``. All are
``hub.errors.PermanentError`` subclasses carrying Canditech's ``code`` and ``message``.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable

import requests

from hub.entities import Assessment
from hub.errors import NeedsReauthorization, PermanentError, TemporaryError
from hub.kit.retry_after import parse_retry_after

from . import wire
from .settings import CanditechSettings

MAX_PAGES = 200


class CanditechError(PermanentError):
    """Canditech answered with an error that retrying will not fix."""

    def __init__(self, status: int, code: str, message: str, body: Any = None):
        super().__init__(f"Canditech answered {status} {code}: {message}")
        self.status = status
        self.code = code
        self.vendor_message = message
        self.body = body


class CanditechAuthError(CanditechError, NeedsReauthorization):
    """The API key was refused."""


class CanditechNotFound(CanditechError):
    pass


class CanditechConflict(CanditechError):
    pass


class CanditechRejected(CanditechError):
    """A 4xx other than 401/403/404/409: the request itself is wrong (e.g. 422 validation)."""


class CanditechClient:
    def __init__(self, ctx: Any, settings: CanditechSettings | None = None, *, max_attempts: int = 3,
                 backoff_base: float = 0.25, max_inline_wait: float = 2.0, timeout: Any = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.ctx = ctx
        self.settings = settings or CanditechSettings.from_context(ctx)
        if not self.settings.api_key:
            raise NeedsReauthorization("no Canditech API key is configured for this connection")
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.max_inline_wait = max_inline_wait
        self.timeout = timeout
        self.sleep = sleep
        self._limiter = ctx.rate_limiter("api", wire.RATE_LIMIT_PER_SECOND, wire.RATE_LIMIT_BURST)

    # ------------------------------------------------------------------ transport
    def _backoff(self, attempt: int) -> float:
        return self.backoff_base * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _request(self, method: str, path: str, endpoint: str, *, params: dict | None = None,
                 json: Any = None, accept: tuple[int, ...] = (wire.STATUS_OK,)) -> requests.Response:
        """One logical call with its inline retries; returns a response whose status is in ``accept``."""
        url = self.settings.base_url + path
        headers = wire.request_headers(self.settings.api_key)
        last_problem = "no attempt made"
        retry_after: float | None = None
        for attempt in range(1, self.max_attempts + 1):
            self._limiter.acquire()
            started = time.perf_counter()
            kwargs: dict[str, Any] = {"params": params, "json": json, "headers": headers}
            if self.timeout is not None:
                kwargs["timeout"] = self.timeout
            try:
                response = self.ctx.http.request(method, url, **kwargs)
            except requests.Timeout:
                self.ctx.record_vendor_call(endpoint, "timeout", time.perf_counter() - started)
                last_problem, retry_after = "Canditech did not answer in time", None
            except requests.RequestException as exc:
                self.ctx.record_vendor_call(endpoint, "error", time.perf_counter() - started)
                last_problem, retry_after = f"Canditech is unreachable ({type(exc).__name__})", None
            else:
                self.ctx.record_vendor_call(endpoint, response.status_code, time.perf_counter() - started)
                status = response.status_code
                if status in accept:
                    return response
                body = _json_or_none(response)
                code, message = wire.parse_error(body, status, response.text)
                retry_after = parse_retry_after(response.headers.get(wire.RETRY_AFTER_HEADER))
                if status == wire.STATUS_RATE_LIMITED or status >= 500:
                    last_problem = f"Canditech answered {status} {code}: {message}"
                    if status == wire.STATUS_RATE_LIMITED and retry_after is not None \
                            and retry_after > self.max_inline_wait:
                        break  # too long to wait inside a call: let the engine reschedule
                    if attempt < self.max_attempts:
                        self.sleep(min(self.max_inline_wait, retry_after) if retry_after is not None
                                   else self._backoff(attempt))
                    continue
                if status in wire.STATUS_UNAUTHORIZED:
                    raise CanditechAuthError(status, code, message, body)
                if status == wire.STATUS_NOT_FOUND:
                    raise CanditechNotFound(status, code, message, body)
                if status == wire.STATUS_CONFLICT:
                    raise CanditechConflict(status, code, message, body)
                raise CanditechRejected(status, code, message, body)
            if attempt < self.max_attempts:
                self.sleep(self._backoff(attempt))
        raise TemporaryError(f"{endpoint}: {last_problem}", retry_after=retry_after)

    def _json(self, response: requests.Response, endpoint: str) -> Any:
        body = _json_or_none(response)
        if body is None:
            raise TemporaryError(f"{endpoint}: Canditech answered {response.status_code} without a JSON body")
        return body

    # ------------------------------------------------------------------ API
    def list_assessments(self) -> list[Assessment]:
        """Every assessment, following ``next_cursor`` to the last page."""
        found: list[Assessment] = []
        cursor: str | None = None
        seen: set[str] = set()
        for _ in range(MAX_PAGES):
            response = self._request("GET", wire.ASSESSMENTS_PATH, wire.ENDPOINT_LIST_ASSESSMENTS,
                                     params=wire.page_params(cursor))
            try:
                page, cursor = wire.parse_assessment_page(self._json(response, wire.ENDPOINT_LIST_ASSESSMENTS))
            except ValueError as exc:
                raise TemporaryError(f"{wire.ENDPOINT_LIST_ASSESSMENTS}: {exc}") from None
            found.extend(page)
            if cursor is None:
                return found
            if cursor in seen:
                raise PermanentError("Canditech's assessment pages loop (a cursor came back twice)")
            seen.add(cursor)
        raise PermanentError(f"Canditech returned more than {MAX_PAGES} pages of assessments")

    def get_invitation(self, invitation_id: str) -> dict[str, Any]:
        response = self._request("GET", wire.invitation_path(invitation_id), wire.ENDPOINT_GET_INVITATION)
        found = wire.parse_invitation(self._json(response, wire.ENDPOINT_GET_INVITATION))
        if not found["id"]:
            raise TemporaryError(f"{wire.ENDPOINT_GET_INVITATION}: the answer carries no invitation id")
        return found

    def find_invitation(self, external_reference: str) -> dict[str, Any] | None:
        """The invitation created with ``external_reference``, or None."""
        response = self._request("GET", wire.INVITATIONS_PATH, wire.ENDPOINT_FIND_INVITATIONS,
                                 params=wire.find_params(external_reference))
        try:
            found = wire.parse_invitation_list(self._json(response, wire.ENDPOINT_FIND_INVITATIONS))
        except ValueError as exc:
            raise TemporaryError(f"{wire.ENDPOINT_FIND_INVITATIONS}: {exc}") from None
        matching = [i for i in found if i["id"] and i["external_reference"] == external_reference]
        return matching[0] if matching else None

    def create_invitation(self, *, assessment_id: str, first_name: str, last_name: str, email: str,
                          external_reference: str, callback_url: str | None) -> tuple[dict[str, Any], bool]:
        """Create the invitation; ``(invitation, created)``. A 409 (the reference is known) returns
        the existing invitation with ``created=False``: the same invitation, never a second one."""
        body = wire.build_invite_body(assessment_id=assessment_id, first_name=first_name, last_name=last_name,
                                      email=email, external_reference=external_reference, callback_url=callback_url)
        try:
            response = self._request("POST", wire.INVITATIONS_PATH, wire.ENDPOINT_CREATE_INVITATION, json=body,
                                     accept=(wire.STATUS_CREATED, wire.STATUS_OK))
        except CanditechConflict as conflict:
            existing = wire.parse_conflict_invitation(conflict.body) or self.find_invitation(external_reference)
            if existing is None:
                raise
            return existing, False
        found = wire.parse_invitation(self._json(response, wire.ENDPOINT_CREATE_INVITATION))
        if not found["id"]:
            raise TemporaryError(f"{wire.ENDPOINT_CREATE_INVITATION}: the answer carries no invitation id")
        return found, True

    def cancel_invitation(self, invitation_id: str) -> dict[str, Any]:
        """Cancel; raises ``CanditechConflict`` when it can no longer be cancelled (completed, expired)."""
        response = self._request("POST", wire.cancel_path(invitation_id), wire.ENDPOINT_CANCEL_INVITATION)
        return wire.parse_invitation(_json_or_none(response))


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: a body nested too deeply for Python's parser
        return None
