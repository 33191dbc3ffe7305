"""The hub's one error module.

``HubError`` carries an HTTP status, a machine-readable code and a message that is safe to show
to whoever sent the request. The web layer turns it into ``{"error": {"code", "message"}}`` for
API and webhook endpoints and into an HTML page for the UI.

The errors a plugin raises to steer the engine are part of the public contract:

- ``WebhookRejected``: from ``verify_webhook``; the sender gets that 4xx and the message.
- ``TemporaryError``: try again later (the delivery is retried with backoff).
- ``Deferred``: not an error, just "not yet" (e.g. a verdict that arrived before its result);
  retried soon without using up an attempt.
- ``PermanentError``: retrying cannot help; the delivery is marked dead at once.
- ``NeedsReauthorization``: the vendor refused our credentials for good (``invalid_grant``);
  the integration is flagged for an admin, and the delivery (and the plugin's other deliveries,
  without calling it) waits for the connection to work again, then goes on by itself.
Any other exception counts as a failed attempt and is retried until the attempts run out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any


class HubError(Exception):
    status = 500
    code = "internal_error"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code

    def to_dict(self) -> dict:
        return {"error": {"code": self.code, "message": self.message}}


class BadRequest(HubError):
    status = 400
    code = "bad_request"


class ValidationFailed(HubError):
    """Input that does not satisfy a schema; ``fields`` maps each field to its messages."""

    status = 422
    code = "validation_failed"

    def __init__(self, message: str, fields: dict | None = None):
        super().__init__(message)
        self.fields = fields or {}

    @classmethod
    def naming_fields(cls, summary: str, fields: dict, *, hidden: Iterable[Any] = ()) -> "ValidationFailed":
        """``summary``, then each field of ``fields`` with its messages ("some settings are not valid:
        account_id: Missing data for required field."); an error of the whole (``_schema``) in its
        own words. ``hidden``: values that must not appear in the message (the secrets submitted,
        which a validator's message may quote): a field's text containing one is left out, the field
        still named. ``fields`` is kept as given."""
        secrets = [str(value) for value in hidden if value not in (None, "")]
        parts = []
        for name, messages in fields.items():
            texts = [str(text) for text in (messages if isinstance(messages, (list, tuple)) else [messages])]
            said = " ".join(texts)
            if any(secret in said for secret in secrets):
                said = "not valid (its message is left out: it may quote a secret)"
            parts.append(said if name == "_schema" else f"{name}: {said}")
        return cls(f"{summary}: {'; '.join(parts)}" if parts else summary, fields)

    def to_dict(self) -> dict:
        body = super().to_dict()
        if self.fields:
            body["error"]["fields"] = self.fields
        return body


class Unauthorized(HubError):
    status = 401
    code = "unauthorized"


class Forbidden(HubError):
    status = 403
    code = "forbidden"


class NotFound(HubError):
    status = 404
    code = "not_found"


class Conflict(HubError):
    """``details``: fields the API's error body carries besides ``code`` and ``message``, for a
    script to act on (``{"attachment_id": 3}``: the attachment already there)."""

    status = 409
    code = "conflict"

    def __init__(self, message: str, *, details: dict | None = None, **kwargs: Any):
        super().__init__(message, **kwargs)
        self.details = details or {}

    def to_dict(self) -> dict:
        body = super().to_dict()
        body["error"].update(self.details)
        return body


class ServiceUnavailable(HubError):
    status = 503
    code = "unavailable"


class WebhookRejected(HubError):
    """Raised by a plugin's ``verify_webhook``: the request is not acceptable (4xx).

    ``seen_ids``: ids of a request that was signed (authentic) but is refused for its content,
    which the hub remembers as it remembers events' ids (``WebhookResult.seen_ids``)."""

    status = 400
    code = "webhook_rejected"

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None,
                 seen_ids: tuple[str, ...] = ()):
        from hub.entities import checked_seen_ids

        super().__init__(message, status=status, code=code)
        self.seen_ids = checked_seen_ids(seen_ids)


class PluginError(Exception):
    """Base of the errors a plugin raises from a hook to tell the engine what to do next."""


class TemporaryError(PluginError):
    """Try again later. ``retry_after`` (seconds) overrides the engine's backoff when given."""

    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class Deferred(PluginError):
    """Not yet: retry in ``retry_after`` seconds without counting an attempt. The engine waits
    longer between runs the longer the delivery has deferred without a break (a twentieth of that
    time, at most 10 minutes), runs it at once when another delivery of the same plugin about the
    same subject is done, and ends it dead after ``HUB_MAX_DEFER_SECONDS`` of deferring."""

    def __init__(self, message: str, retry_after: float = 2.0):
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(PluginError):
    """Retrying cannot help; the delivery is marked dead and shown to an admin."""


class NeedsReauthorization(PermanentError):
    """The vendor no longer accepts the connection's credentials; an admin must reconnect."""


# "CanditechUnavailable: " at the start of a recorded error (the engine's ``"<class>: <message>"``)
_RECORDED_CLASS = re.compile(r"([A-Za-z_][A-Za-z0-9_]*): ")


def _error_class_names() -> set[str]:
    """The names of ``HubError``, ``PluginError`` and every subclass defined so far (plugins' too)."""
    names: set[str] = set()
    todo: list[type] = [HubError, PluginError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def readable_error(text: str | None) -> str | None:
    """A delivery's recorded error (``last_error``, which the engine writes as ``"<exception
    class>: <message>"``) as the pages show it to admins: without the class name when it is one
    of the hub's or a plugin's errors (``HubError``, ``PluginError`` and their subclasses), whose
    messages are written for people ("Canditech did not answer ..."). Any other exception (a
    plugin's bug: ``KeyError: 'email'``) keeps its name, without which its message may say nothing.
    The API's ``last_error`` stays as recorded."""
    if not text:
        return text
    match = _RECORDED_CLASS.match(text)
    if match and match.end() < len(text) and match.group(1) in _error_class_names():
        return text[match.end():]
    return text
