"""Every wire detail of the Canditech contract the sandbox speaks, in one place.

The contract is the one assumed in the team's Canditech notes (``shared/apis/canditech.md``,
kept outside this repository; ``plugins/canditech/README.md`` lists the assumptions; Canditech
publishes no API reference). Paths, header names, event types, statuses, verdicts, error codes and the webhook
signature scheme live here only, so meeting the real API is a change to this module.

Contract of the helpers:

* ``now_iso()`` -> ISO 8601 UTC timestamp with milliseconds and a ``Z`` suffix.
* ``sign(secret, body, timestamp)`` -> the ``Canditech-Signature`` header value
  ``t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>" keyed with the secret>``.
* ``error_body(code, message, **extra)`` -> ``{"error": {"code", "message", ...extra}}``.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime, timezone

# --- HTTP API -----------------------------------------------------------------------------
API_PREFIX = "/v1"
PATH_ASSESSMENTS = "/assessments"  # under API_PREFIX
PATH_INVITATIONS = "/invitations"
PATH_INVITATION = "/invitations/<invitation_id>"
PATH_INVITATION_CANCEL = "/invitations/<invitation_id>/cancel"

AUTH_HEADER = "Authorization"
AUTH_SCHEME = "Bearer"
RETRY_AFTER_HEADER = "Retry-After"

# Links handed out in invitations (relative to the sandbox's public URL).
TAKE_PATH = "/take/{invitation_id}"
REPORT_PATH = "/reports/{invitation_id}"

# --- Invitation states and verdicts --------------------------------------------------------
STATUS_INVITED = "invited"
STATUS_STARTED = "started"
STATUS_COMPLETED = "completed"
STATUS_EXPIRED = "expired"
STATUS_CANCELLED = "cancelled"
STATUSES = (STATUS_INVITED, STATUS_STARTED, STATUS_COMPLETED, STATUS_EXPIRED, STATUS_CANCELLED)
OPEN_STATUSES = (STATUS_INVITED, STATUS_STARTED)

VERDICT_UP = "thumbs_up"
VERDICT_DOWN = "thumbs_down"
VERDICTS = (VERDICT_UP, VERDICT_DOWN)

# --- Webhooks -----------------------------------------------------------------------------
SIGNATURE_HEADER = "Canditech-Signature"
EVENT_STARTED = "invitation.started"
EVENT_COMPLETED = "invitation.completed"
EVENT_VERDICT = "invitation.verdict"
EVENT_EXPIRED = "invitation.expired"
EVENT_TYPES = (EVENT_STARTED, EVENT_COMPLETED, EVENT_VERDICT, EVENT_EXPIRED)

# --- Error codes --------------------------------------------------------------------------
ERR_UNAUTHORIZED = "unauthorized"
ERR_FORBIDDEN = "forbidden"  # the key works, but not for this resource (the forbidden_assessments fault)
ERR_NOT_FOUND = "not_found"
ERR_VALIDATION = "validation_error"
ERR_INVALID_JSON = "invalid_request"
ERR_DUPLICATE_REFERENCE = "duplicate_external_reference"
ERR_INVALID_STATE = "invalid_state"
ERR_RATE_LIMITED = "rate_limited"
ERR_INTERNAL = "internal_error"
ERR_UNAVAILABLE = "service_unavailable"
ERR_METHOD_NOT_ALLOWED = "method_not_allowed"

# Error code used for an injected fault answered with a given HTTP status.
FAULT_ERROR_CODES = {429: ERR_RATE_LIMITED, 500: ERR_INTERNAL, 503: ERR_UNAVAILABLE}


def now_iso() -> str:
    """Current time as ISO 8601 UTC, e.g. ``2026-11-28T21:06:00.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def error_body(code: str, message: str, **extra: object) -> dict:
    """The one error envelope: ``{"error": {"code": ..., "message": ..., **extra}}``."""
    return {"error": {"code": code, "message": message, **extra}}


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """Header value for ``Canditech-Signature`` over the exact raw body bytes."""
    payload = f"{timestamp}.".encode() + body
    digest = hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"
