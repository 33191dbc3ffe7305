"""``CanditechClient``: Canditech's API over ``ctx.http``, speaking normalised values (see ``wire``).

Every call:

- waits for a token of the connection's shared rate limiter (``ctx.rate_limiter``, all workers;
  its rate and burst are the connection's ``rate_limit_per_second`` and ``rate_limit_burst``
  settings);
- sends ``Authorization: Bearer <api key>`` to ``<base_url><path>``;
- retries inside the call, a couple of times with exponential backoff, on 5xx, timeouts and
  connection errors, and on 429 when ``Retry-After`` is short; then raises ``CanditechUnavailable``
  (a ``hub.errors.TemporaryError``) with ``retry_after`` (Canditech's, when it gave one). Creating
  an invitation is re-sent inside the call only when Canditech surely did not act (a 429, a
  connect timeout); after any other lost answer the engine's next delivery looks the reference up
  before anything is sent again (``create_invitation``), so it does not rely on Canditech
  deduplicating by reference;
- records each attempt with ``ctx.record_vendor_call``.

Errors: 401 -> ``CanditechAuthError`` (a ``NeedsReauthorization``: the key refused); 403 -> the key
check (below), then ``CanditechAuthError`` or ``CanditechForbidden``; 404 -> ``CanditechNotFound``;
409 -> ``CanditechConflict``; any other 4xx -> ``CanditechRejected``. All are
``hub.errors.PermanentError`` subclasses carrying Canditech's ``code`` and ``message``. An answer
that is not Canditech's JSON error (an HTML page at a wrong base URL) is never shown as it came:
its ``message`` says what came instead ("an HTML page, not its API's JSON: check the API base
URL"), and the exception's text is a sentence with the status ("Canditech answered 404 Not Found
with an HTML page, ..."; ``wire.parse_error``), which the connection test and status line show.

A 403 is not taken for the key without asking: Canditech's notes do not say what a 403 means, and a
``NeedsReauthorization`` holds every delivery of the plugin until an admin reconnects, for what may
be one resource the key may not use (an assessment of another team, say). So a 403 is followed by
one key check (``wire.KEY_CHECK_*``: the first page of the assessments, the cheapest read that needs
only a valid key), made with the call's own limits (its tries, HTTP timeout and wait for the rate
budget: a webhook's one short re-read makes one short check). The key check refused too (401/403):
the key is refused, ``CanditechAuthError`` (the key check's). Answered: the key works and the 403
refuses that one request, ``CanditechForbidden`` (a ``PermanentError``, not a
``NeedsReauthorization``). No answer (unreachable, a timeout, 5xx, 429): undecided, a plain
``TemporaryError`` (not a ``CanditechUnavailable``, so the call is not re-sent at once) and the
work is tried again later. Any other refusal of the key check (another 4xx): the connection does
not work, ``CanditechAuthError`` of the 403, as before there was a check. A 403 to
the key check itself (the first page of ``list_assessments``, the connection test's call) is the
key's, with no further check; and a client that has had the key check answered (asked after a
403, or as that first page) asks it no more.
"""

from __future__ import annotations

import random
import time
from typing import Any, Callable, TypeVar
from urllib.parse import urlsplit

import requests

from hub.entities import Assessment
from hub.errors import NeedsReauthorization, PermanentError, TemporaryError
from hub.kit.retry_after import parse_retry_after

from . import wire
from .settings import CanditechSettings

MAX_PAGES = 200

T = TypeVar("T")


class CanditechError(PermanentError):
    """Canditech answered with an error that retrying will not fix."""

    def __init__(self, status: int, code: str, message: str, body: Any = None, summary: str | None = None):
        super().__init__(summary or f"Canditech answered {status} {code}: {message}")
        self.status = status
        self.code = code
        self.vendor_message = message
        self.body = body


class CanditechAuthError(CanditechError, NeedsReauthorization):
    """The API key was refused: a 401, or a 403 whose key check was refused too (module docstring)."""


FORBIDDEN_WORDS = "403 Forbidden"


class CanditechForbidden(CanditechError):
    """A 403 to one request while the API key works (the key check was answered: module docstring):
    the key may not do this one thing (an assessment it may not use, say), so the work it was for
    fails or is skipped with this text, and the connection is not flagged for re-authorization.
    Its text: "Canditech refused this request (403 Forbidden) although the API key works: <Canditech's
    message; for an answer that is not its JSON error, the client's sentence with the status>
    (<endpoint>)"."""

    def __init__(self, status: int, code: str, message: str, body: Any = None, summary: str | None = None,
                 *, endpoint: str = ""):
        detail = message if wire.is_error_envelope(body) else (summary or message)
        where = f" ({endpoint})" if endpoint else ""
        super().__init__(status, code, message, body,
                         f"Canditech refused this request ({FORBIDDEN_WORDS}) although the API key works: "
                         f"{detail}{where}")


class CanditechNotFound(CanditechError):
    pass


class CanditechConflict(CanditechError):
    pass


class CanditechRejected(CanditechError):
    """A 4xx other than 401/403/404/409: the request itself is wrong (e.g. 422 validation)."""


class CanditechUnavailable(TemporaryError):
    """No usable answer: a timeout, a connection error, a 5xx or a 429. ``unclear`` is True when the
    request may have taken effect at Canditech (a read timeout, a connection lost after connecting,
    a 5xx), False when it surely did not (a connect timeout: nothing was sent; a 429: refused
    unread). ``wait_inline`` is False for a 429 whose ``Retry-After`` is longer than the client
    waits inside a call: the engine reschedules instead."""

    def __init__(self, message: str, retry_after: float | None = None, wait_inline: bool = True,
                 unclear: bool = True):
        super().__init__(message, retry_after=retry_after)
        self.wait_inline = wait_inline
        self.unclear = unclear


class CanditechClient:
    def __init__(self, ctx: Any, settings: CanditechSettings | None = None, *, max_attempts: int = 3,
                 backoff_base: float = 0.25, max_inline_wait: float = 2.0, timeout: Any = None,
                 limiter_wait: float = 60.0, sleep: Callable[[float], None] = time.sleep):
        """``max_attempts`` tries per call; ``timeout`` per HTTP exchange (None: ``ctx.http``'s
        default); ``limiter_wait``: the longest wait for a token of the shared rate limiter, after
        which the call raises ``TemporaryError`` (a read inside a webhook's request waits briefly)."""
        self.ctx = ctx
        self.settings = settings or CanditechSettings.from_context(ctx)
        if not self.settings.api_key:
            raise NeedsReauthorization("no Canditech API key is configured for this connection")
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.max_inline_wait = max_inline_wait
        self.timeout = timeout
        self.limiter_wait = limiter_wait
        self.sleep = sleep
        self._key_works = False  # the key check was answered: a later 403 is that request's alone
        # the hub applies the rate and burst asked for last: a changed setting applies from the next call
        self._limiter = ctx.rate_limiter("api", self.settings.rate_limit_per_second, self.settings.rate_limit_burst)

    # ------------------------------------------------------------------ transport
    def _backoff(self, attempt: int) -> float:
        return self.backoff_base * (2 ** (attempt - 1)) * random.uniform(0.5, 1.0)

    def _pause(self, attempt: int, failure: CanditechUnavailable) -> float:
        """Seconds to wait after failed try ``attempt``: Canditech's ``Retry-After`` (capped), else backoff."""
        if failure.retry_after is not None:
            return min(self.max_inline_wait, failure.retry_after)
        return self._backoff(attempt)

    def _retrying(self, once: Callable[[], T]) -> T:
        """``once()`` up to ``max_attempts`` times while it raises ``CanditechUnavailable``, pausing
        between tries; then re-raises the last failure. Any other exception ends it at once."""
        failure: CanditechUnavailable | None = None
        for attempt in range(1, self.max_attempts + 1):
            if failure is not None:
                self.sleep(self._pause(attempt - 1, failure))
            try:
                return once()
            except CanditechUnavailable as exc:
                failure = exc
                if not exc.wait_inline:
                    break  # too long to wait inside a call: let the engine reschedule
        assert failure is not None
        raise failure

    def _request(self, method: str, path: str, endpoint: str, *, params: dict | None = None,
                 json: Any = None, accept: tuple[int, ...] = (wire.STATUS_OK,)) -> requests.Response:
        """One logical call with its inline retries; returns a response whose status is in ``accept``.
        Only for calls that are safe to send twice (reads, cancel)."""
        return self._retrying(lambda: self._attempt(method, path, endpoint, params=params, json=json,
                                                    accept=accept))

    def _attempt(self, method: str, path: str, endpoint: str, *, params: dict | None = None,
                 json: Any = None, accept: tuple[int, ...] = (wire.STATUS_OK,)) -> requests.Response:
        """Exactly one HTTP exchange: a response whose status is in ``accept``; else raises
        ``CanditechUnavailable`` (outcome unknown) or a ``CanditechError`` (any other 4xx)."""
        kwargs: dict[str, Any] = {"params": params, "json": json,
                                  "headers": wire.request_headers(self.settings.api_key)}
        if self.timeout is not None:
            kwargs["timeout"] = self.timeout
        self._limiter.acquire(timeout=self.limiter_wait)
        started = time.perf_counter()
        try:
            response = self.ctx.http.request(method, self.settings.base_url + path, **kwargs)
        except requests.ConnectTimeout:  # before requests.Timeout, its base: nothing was sent
            self.ctx.record_vendor_call(endpoint, "timeout", time.perf_counter() - started)
            raise CanditechUnavailable(f"{endpoint}: Canditech could not be reached in time",
                                       unclear=False) from None
        except requests.Timeout:
            self.ctx.record_vendor_call(endpoint, "timeout", time.perf_counter() - started)
            raise CanditechUnavailable(f"{endpoint}: Canditech did not answer in time") from None
        except requests.RequestException as exc:
            self.ctx.record_vendor_call(endpoint, "error", time.perf_counter() - started)
            where = urlsplit(self.settings.base_url).netloc or self.settings.base_url
            raise CanditechUnavailable(f"{endpoint}: Canditech is unreachable at {where} ({type(exc).__name__}): "
                                       "check the API base URL, or wait for Canditech to be back") from None
        self.ctx.record_vendor_call(endpoint, response.status_code, time.perf_counter() - started)
        status = response.status_code
        key_check = _is_key_check(method, path, params)
        if status in accept:
            self._key_works = self._key_works or key_check
            return response
        body = _json_or_none(response)
        # an answer that is not Canditech's JSON (a wrong base URL's HTML page) becomes a sentence
        content_type = response.headers.get("Content-Type")
        code, message, summary = wire.parse_error(body, status, response.text, content_type)
        if status == wire.STATUS_RATE_LIMITED or status >= 500:
            retry_after = parse_retry_after(response.headers.get(wire.RETRY_AFTER_HEADER))
            too_long = status == wire.STATUS_RATE_LIMITED and retry_after is not None \
                and retry_after > self.max_inline_wait
            raise CanditechUnavailable(f"{endpoint}: {summary}",
                                       retry_after=retry_after, wait_inline=not too_long,
                                       unclear=status != wire.STATUS_RATE_LIMITED)
        if status == wire.STATUS_UNAUTHORIZED or (status == wire.STATUS_FORBIDDEN and key_check):
            raise CanditechAuthError(status, code, message, body, summary)
        if status == wire.STATUS_FORBIDDEN:
            self._check_key(endpoint, CanditechAuthError(status, code, message, body, summary))
            raise CanditechForbidden(status, code, message, body, summary, endpoint=endpoint)
        if status == wire.STATUS_NOT_FOUND:
            raise CanditechNotFound(status, code, message, body, summary)
        if status == wire.STATUS_CONFLICT:
            raise CanditechConflict(status, code, message, body, summary)
        raise CanditechRejected(status, code, message, body, summary)

    def _check_key(self, endpoint: str, refused: CanditechAuthError) -> None:
        """After a 403 to ``endpoint`` (not the key check itself): return when the API key works,
        asking the key check once per client (module docstring); else raise the key check's
        ``CanditechAuthError`` (refused too), ``refused`` (any other refusal of it), or a
        ``TemporaryError`` (no answer: undecided, tried again later)."""
        if self._key_works:
            return
        try:
            self._request(wire.KEY_CHECK_METHOD, wire.KEY_CHECK_PATH, wire.KEY_CHECK_ENDPOINT,
                          params=wire.key_check_params())
        except CanditechAuthError:
            raise  # refused everywhere: the key
        except CanditechUnavailable as exc:
            raise TemporaryError(f"{endpoint}: {refused}. Whether Canditech refuses the API key or only this request "
                                 f"is not known: checking the key failed ({exc}), so the hub tries again later",
                                 retry_after=exc.retry_after) from None
        except CanditechError as exc:
            raise refused from exc
        self._key_works = True

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
        """Create the invitation; ``(invitation, created)``: the same invitation, never a second one.
        The caller has looked ``external_reference`` up and not found it.

        A 409 (the reference is known) returns the existing invitation with ``created=False``: the
        one in its body, else the one the reference is looked up to. A 409 whose invitation the
        lookup does not find raises ``TemporaryError``, never a refusal: a 409 says the invitation
        exists, so its candidate was emailed and its result will come.

        Re-sent inside the call (up to ``max_attempts`` tries, with the usual pauses) only when
        Canditech surely did not act on the POST: a 429, or a connect timeout (nothing was sent).
        Any other lost answer (a read timeout, a connection lost, a 5xx) raises ``TemporaryError``
        at once (not a ``CanditechUnavailable``, so nothing retries it here), with Canditech's
        ``Retry-After`` when it gave one: such a POST may still be running at Canditech, and a
        lookup a fraction of a second later would miss it, so the POST sent after it would make a
        second invitation where Canditech does not deduplicate by reference. The engine's backoff
        (seconds) passes first, and the next delivery starts with the lookup."""
        body = wire.build_invite_body(assessment_id=assessment_id, first_name=first_name, last_name=last_name,
                                      email=email, external_reference=external_reference, callback_url=callback_url)
        return self._retrying(lambda: self._post_invitation(body, external_reference))

    def _post_invitation(self, body: dict[str, Any], external_reference: str) -> tuple[dict[str, Any], bool]:
        """One ``POST /v1/invitations`` (see ``create_invitation``); raises ``CanditechUnavailable``
        only when Canditech surely did not act on it."""
        try:
            response = self._attempt("POST", wire.INVITATIONS_PATH, wire.ENDPOINT_CREATE_INVITATION, json=body,
                                     accept=(wire.STATUS_CREATED, wire.STATUS_OK))
        except CanditechUnavailable as lost:
            if not lost.unclear:
                raise
            raise TemporaryError(f"{lost}; whether Canditech created invitation {external_reference} is unknown, "
                                 f"so the hub looks it up before it sends it again, on the next attempt",
                                 retry_after=lost.retry_after) from None
        except CanditechConflict as conflict:
            return self._existing_after_conflict(conflict, external_reference), False
        found = wire.parse_invitation(self._json(response, wire.ENDPOINT_CREATE_INVITATION))
        if not found["id"]:
            raise TemporaryError(f"{wire.ENDPOINT_CREATE_INVITATION}: the answer carries no invitation id")
        return found, True

    def _existing_after_conflict(self, conflict: CanditechConflict, external_reference: str) -> dict[str, Any]:
        """The invitation a 409 on create says exists: in the 409's body, else looked up. Raises
        ``TemporaryError`` when neither has it (or the lookup fails): the delivery is retried. A
        lookup Canditech refuses while the key works (``CanditechForbidden``) raises a plain
        ``PermanentError``, not a ``CanditechError``: the invitation exists, so it must not be
        failed as a refused one (its candidate was emailed); it stays pending, the delivery dead."""
        existing = wire.parse_conflict_invitation(conflict.body)
        if existing is not None:
            return existing
        try:
            existing = self.find_invitation(external_reference)
        except CanditechUnavailable as exc:
            # not a CanditechUnavailable: nothing may catch it and POST again
            raise TemporaryError(str(exc), retry_after=exc.retry_after) from None
        except CanditechForbidden as exc:
            raise PermanentError(f"Canditech answered {conflict.status} {conflict.code} to invitation "
                                 f"{external_reference}, so it has it, but looking it up was refused: {exc}. The "
                                 f"invitation stays pending: replay the delivery once Canditech lets the key read "
                                 f"it") from None
        if existing is None:
            raise TemporaryError(f"Canditech answered {conflict.status} {conflict.code} to invitation "
                                 f"{external_reference}, so it has it, but did not return it and looking it up "
                                 f"found nothing; the hub looks it up again on the next attempt")
        return existing

    def cancel_invitation(self, invitation_id: str) -> dict[str, Any]:
        """Cancel (cancelling twice is assumed a no-op, so it is retried inline). A refusal is a
        ``CanditechError``: the sandbox answers 409 for a finished invitation, but the real API may
        use another 4xx, so the caller re-reads the invitation rather than trusting the status."""
        response = self._request("POST", wire.cancel_path(invitation_id), wire.ENDPOINT_CANCEL_INVITATION)
        return wire.parse_invitation(_json_or_none(response))


def _is_key_check(method: str, path: str, params: dict | None) -> bool:
    """Whether this request is the key check itself (``wire.KEY_CHECK_*``): its 403 is the key's."""
    return (method, path, params or {}) == (wire.KEY_CHECK_METHOD, wire.KEY_CHECK_PATH, wire.key_check_params())


def _json_or_none(response: requests.Response) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError):  # RecursionError: a body nested too deeply for Python's parser
        return None
