"""Every detail of Canditech's wire format the plugin relies on, and nothing else.

Canditech publishes no API reference; this module encodes the contract the hub *assumes*
(the team's notes, ``shared/apis/canditech.md``, kept outside this repository;
``plugins/canditech/README.md`` lists the assumptions): paths, query parameters, JSON field names, the auth header, the
error envelope, invitation statuses, verdict values, webhook event types and the signature
scheme. The rest of the plugin speaks only the normalised values these functions return (hub
statuses, hub verdicts, ``datetime`` objects, "event kinds"), so meeting Canditech's real API is a
change to this module alone (plus the two things that are settings: the base URL and the name of
the signature header).

Normalised invitation (``parse_invitation``)::

    {"id", "status" (hub status or None if unknown), "raw_status", "external_reference",
     "assessment_id", "invite_url", "score", "max_score", "report_url", "completed_at",
     "started_at", "expired_at", "cancelled_at", "verdict" (hub verdict or None), "verdict_at",
     "problems" ({field: rule} of values present but unusable)}

Missing fields are ``None``; nothing raises on an odd value (a webhook body or an API answer is
untrusted input). A value that is present but breaks its rule (below) is ``None`` in the normalised
invitation too, and ``"problems"`` says which field broke which rule (``{field: rule}``), so a
caller can refuse the invitation with a message, or (a completion: ``result_problems``) record it
without the value and say so, instead of taking it as missing. The rules (``VALUE_RULES``):

- ``score``: a finite number (JSON number or numeric string; not NaN or Infinity), at least 0;
- ``max_score``: a finite number greater than 0, and at least ``score`` when both are given. The
  notes do not say what scale ``score`` is on; the plugin reads it as points out of ``max_score``
  (its own choice). A score above its maximum puts the two on different scales (say a percentage,
  85, with a points maximum, 40): ``max_score`` is the value left out, and ``score`` is kept as
  sent. The score is what reviewers need, and "85" says less that is wrong than "85 / 40 (212%)"
  would, or than a pass threshold applied to that ratio;
- ``report_url``: an absolute ``http`` or ``https`` URL of at most ``MAX_URL_LENGTH`` (2000)
  characters (the hub keeps links up to that length);
- ``completed_at``, ``started_at``, ``expired_at``, ``cancelled_at``, ``verdict_at`` (and an event's
  ``created_at``): an ISO 8601 timestamp in the years 2000 to 9999 once converted to UTC (naive ones
  are taken as UTC). Nothing Canditech did happened before 2000, and the hub stores what Python's
  ``datetime`` holds.
"""

from __future__ import annotations

import hashlib
import hmac
import math
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlsplit

from hub import entities as e
from hub.kit.json_body import NotJson, parse_json_body
from hub.kit.vendor_http import error_words_and_sentence

# --------------------------------------------------------------------------- HTTP API

ASSESSMENTS_PATH = "/v1/assessments"
INVITATIONS_PATH = "/v1/invitations"
CURSOR_PARAM = "cursor"
EXTERNAL_REFERENCE_PARAM = "external_reference"

AUTH_HEADER = "Authorization"
RETRY_AFTER_HEADER = "Retry-After"

# Canditech publishes no rate limit; by default the hub stays at or under this per connection (all
# workers). Each connection may set its own (settings ``rate_limit_per_second``, ``rate_limit_burst``).
RATE_LIMIT_PER_SECOND = 10.0
RATE_LIMIT_BURST = 20

# Statuses of a successful answer, per call.
STATUS_OK = 200
STATUS_CREATED = 201
STATUS_CONFLICT = 409  # POST /invitations with a known external_reference; cancel of a finished one
STATUS_NOT_FOUND = 404
STATUS_RATE_LIMITED = 429
STATUS_UNAUTHORIZED = 401  # the API key refused
# The notes are silent on 403: the key refused, or this one request (a resource the key may not
# use)? The client asks the key check below before it decides (``client.CanditechClient``).
STATUS_FORBIDDEN = 403

# A candidate with a one-word name still needs a last name (the assumed API requires both).
NAME_PLACEHOLDER = "-"


def request_headers(api_key: str) -> dict[str, str]:
    """Headers of every API request: the Bearer key, and JSON answers wanted."""
    return {AUTH_HEADER: f"Bearer {api_key}", "Accept": "application/json"}


def invitation_path(invitation_id: str) -> str:
    return f"{INVITATIONS_PATH}/{quote(str(invitation_id), safe='')}"


def cancel_path(invitation_id: str) -> str:
    return f"{invitation_path(invitation_id)}/cancel"


# Low-cardinality names of the endpoints, for metrics and logs.
ENDPOINT_LIST_ASSESSMENTS = "GET /v1/assessments"
ENDPOINT_FIND_INVITATIONS = "GET /v1/invitations"
ENDPOINT_GET_INVITATION = "GET /v1/invitations/{id}"
ENDPOINT_CREATE_INVITATION = "POST /v1/invitations"
ENDPOINT_CANCEL_INVITATION = "POST /v1/invitations/{id}/cancel"

# The key check after a 403: the cheapest read that needs nothing but a valid key, the first page of
# the assessments (what the connection test asks first). A 403 to it is the key's, never checked again.
KEY_CHECK_METHOD = "GET"
KEY_CHECK_PATH = ASSESSMENTS_PATH
KEY_CHECK_ENDPOINT = ENDPOINT_LIST_ASSESSMENTS


# --------------------------------------------------------------------------- values

STATUS_MAP = {
    "invited": e.INVITED,
    "started": e.STARTED,
    "completed": e.COMPLETED,
    "expired": e.EXPIRED,
    "cancelled": e.CANCELLED,
}

VERDICT_MAP = {
    "thumbs_up": e.THUMBS_UP,
    "thumbs_down": e.THUMBS_DOWN,
}

# Webhook event types -> the plugin's event kinds.
KIND_STARTED = "started"
KIND_COMPLETED = "completed"
KIND_VERDICT = "verdict"
KIND_EXPIRED = "expired"
EVENT_KINDS = {
    "invitation.started": KIND_STARTED,
    "invitation.completed": KIND_COMPLETED,
    "invitation.verdict": KIND_VERDICT,
    "invitation.expired": KIND_EXPIRED,
}


# --------------------------------------------------------------------------- requests


def build_invite_body(*, assessment_id: str, first_name: str, last_name: str, email: str,
                      external_reference: str, callback_url: str | None) -> dict[str, Any]:
    """The JSON body of ``POST /v1/invitations``."""
    body: dict[str, Any] = {
        "assessment_id": assessment_id,
        "candidate": {
            "first_name": (first_name or "").strip() or NAME_PLACEHOLDER,
            "last_name": (last_name or "").strip() or NAME_PLACEHOLDER,
            "email": email,
        },
        "external_reference": external_reference,
    }
    if callback_url:
        body["callback_url"] = callback_url
    return body


def find_params(external_reference: str) -> dict[str, str]:
    return {EXTERNAL_REFERENCE_PARAM: external_reference}


def page_params(cursor: str | None) -> dict[str, str]:
    return {CURSOR_PARAM: cursor} if cursor else {}


def key_check_params() -> dict[str, str]:
    """The key check's query (``KEY_CHECK_PATH``): the first page, no cursor."""
    return page_params(None)


# --------------------------------------------------------------------------- answers


def _str(value: Any) -> str | None:
    if isinstance(value, str) and value.strip():
        return value.strip()
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def _is_text(value: Any) -> bool:
    return isinstance(value, str)


def _is_id(value: Any) -> bool:
    """A string, or an integer (taken as its digits): what an event's ``id`` may be."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def _json_type(value: Any) -> str:
    """The JSON type of ``value``, in words (for messages: never a Python class name)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, float):  # 1.5, 2.0, 1e3: no integer as JSON decodes it
        return "a decimal number"
    if isinstance(value, int):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "an object"
    return "null"


def _number(value: Any) -> float | None:
    """A finite number (JSON number or numeric string), else None (NaN and Infinity are not numbers)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        try:
            number = float(value)
        except OverflowError:  # an integer too large for a float
            return None
    elif isinstance(value, str):
        try:
            number = float(value)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


EARLIEST_YEAR = 2000  # nothing Canditech did happened before


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 timestamp as an aware UTC datetime (naive ones are taken as UTC), or None when it
    is not one, or not in the years ``EARLIEST_YEAR`` to 9999 once in UTC."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        parsed = parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: "9999-12-31T23:00:00-05:00" is past year 9999 in UTC
        return None
    return parsed if parsed.year >= EARLIEST_YEAR else None


# The longest link the hub keeps (its invitation links hold up to 2000 characters); a longer one is
# not a usable URL.
MAX_URL_LENGTH = 2000


def parse_url(value: Any) -> str | None:
    """An absolute ``http``/``https`` URL with a host, of at most ``MAX_URL_LENGTH`` characters, else
    None (a report link is shown to reviewers and written to the ATS: ``javascript:`` and the like
    never are)."""
    text = _str(value) if isinstance(value, str) else None
    if text is None or len(text) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    return text


def _present(value: Any) -> bool:
    """A value that was sent (``null`` and blank strings count as absent)."""
    return value is not None and not (isinstance(value, str) and not value.strip())


# Each checked field of an invitation: the rule a present value must meet, in words.
TIME_RULE = f"must be an ISO 8601 timestamp from the year {EARLIEST_YEAR} to 9999 (UTC)"
VALUE_RULES = {
    "score": "must be a finite number, at least 0",
    "max_score": "must be a finite number greater than 0",
    "report_url": f"must be an http or https URL of at most {MAX_URL_LENGTH} characters",
    "completed_at": TIME_RULE,
    "started_at": TIME_RULE,
    "expired_at": TIME_RULE,
    "cancelled_at": TIME_RULE,
    "verdict_at": TIME_RULE,
}
TIME_FIELDS = ("completed_at", "started_at", "expired_at", "cancelled_at", "verdict_at")


def parse_assessment(item: Any) -> e.Assessment | None:
    if not isinstance(item, Mapping):
        return None
    assessment_id = _str(item.get("id"))
    if assessment_id is None:
        return None
    duration = _number(item.get("duration_minutes"))
    return e.Assessment(
        id=assessment_id,
        name=_str(item.get("name")) or assessment_id,
        duration_minutes=int(duration) if duration is not None else None,
        max_score=_number(item.get("max_score")),
    )


def parse_assessment_page(body: Any) -> tuple[list[e.Assessment], str | None]:
    """One page of ``GET /v1/assessments``: the assessments and the next cursor (None at the end)."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise ValueError("the assessments answer has no 'data' list")
    items = [a for a in (parse_assessment(item) for item in body["data"]) if a is not None]
    return items, _str(body.get("next_cursor"))


def parse_invitation(body: Any) -> dict[str, Any]:
    """A Canditech invitation object (API answer or webhook ``data.invitation``), normalised."""
    raw = body if isinstance(body, Mapping) else {}
    raw_status = _str(raw.get("status"))
    raw_verdict = _str(raw.get("verdict"))
    invitation = {
        "id": _str(raw.get("id")),
        "status": STATUS_MAP.get(raw_status) if raw_status else None,
        "raw_status": raw_status,
        "external_reference": _str(raw.get("external_reference")),
        "assessment_id": _str(raw.get("assessment_id")),
        "invite_url": _str(raw.get("invite_url")),
        "score": _number(raw.get("score")),
        "max_score": _number(raw.get("max_score")),
        "report_url": parse_url(raw.get("report_url")),
        "verdict": VERDICT_MAP.get(raw_verdict) if raw_verdict else None,
        "raw_verdict": raw_verdict,
        **{name: parse_time(raw.get(name)) for name in TIME_FIELDS},
    }
    problems = {name: rule for name, rule in VALUE_RULES.items()
                if invitation[name] is None and _present(raw.get(name))}
    if invitation["score"] is not None and invitation["score"] < 0:
        problems["score"] = VALUE_RULES["score"]
    if invitation["max_score"] is not None and invitation["max_score"] <= 0:
        problems["max_score"] = VALUE_RULES["max_score"]
    for name in ("score", "max_score"):
        if name in problems:
            invitation[name] = None
    score, max_score = invitation["score"], invitation["max_score"]
    if score is not None and max_score is not None and score > max_score:
        # not on one scale: the maximum is left out, the score kept (see the module docstring)
        problems["max_score"] = f"must be at least the score ({max_score:g} is below it: not on the score's scale)"
        invitation["max_score"] = None
    invitation["problems"] = problems
    return invitation


# The fields of the invitation each event kind uses: a problem in one of them refuses the event.
# A completion refuses on none of its fields: it is recorded without the values that break their
# rules (``result_problems``), as one odd value must never keep a candidate's result out for good.
KIND_FIELDS = {
    KIND_STARTED: ("started_at",),
    KIND_COMPLETED: (),
    KIND_VERDICT: ("verdict_at",),
    KIND_EXPIRED: ("expired_at",),
}
RESULT_FIELDS = ("score", "max_score", "report_url", "completed_at")


def invitation_problems(kind: str, invitation: Mapping[str, Any]) -> dict[str, str]:
    """``{field: rule}`` of the fields ``kind`` uses that ``invitation`` (normalised) has broken:
    the problems that refuse an event of that kind."""
    problems = invitation.get("problems") or {}
    return {name: problems[name] for name in KIND_FIELDS.get(kind, ()) if name in problems}


def result_problems(invitation: Mapping[str, Any]) -> dict[str, str]:
    """``{field: rule}`` of the result fields (``RESULT_FIELDS``) that ``invitation`` (normalised)
    has broken: a completion is recorded without them (they are ``None`` in ``invitation``)."""
    problems = invitation.get("problems") or {}
    return {name: problems[name] for name in RESULT_FIELDS if name in problems}


def describe_problems(problems: Mapping[str, str], prefix: str = "") -> str:
    """``"score must be ...; report_url must be ..."``, each field named with ``prefix``."""
    return "; ".join(f"{prefix}{name} {rule}" for name, rule in problems.items())


def parse_invitation_list(body: Any) -> list[dict[str, Any]]:
    """``GET /v1/invitations?external_reference=`` -> the invitations found."""
    if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
        raise ValueError("the invitations answer has no 'data' list")
    return [parse_invitation(item) for item in body["data"] if isinstance(item, Mapping)]


def parse_conflict_invitation(body: Any) -> dict[str, Any] | None:
    """The existing invitation a 409 to ``POST /v1/invitations`` carries, if it does."""
    if isinstance(body, Mapping) and isinstance(body.get("invitation"), Mapping):
        found = parse_invitation(body["invitation"])
        return found if found["id"] else None
    return None


def is_error_envelope(body: Any) -> bool:
    """Whether ``body`` is Canditech's own error answer ``{"error": {...}}`` (its words, not a
    description of what came instead)."""
    return isinstance(body, Mapping) and isinstance(body.get("error"), Mapping)


def parse_error(body: Any, status: int, text: str = "", content_type: str | None = None) -> tuple[str, str, str]:
    """``(code, message, summary)`` of an error answer. Canditech's own ``{"error": {"code",
    "message"}}``: its code and message, and "Canditech answered <status> <code>: <message>". Any
    other answer is ``http_<status>``, described once (``hub.kit.vendor_http.error_words_and_sentence``),
    never quoting more than a short plain text: as the message, that text (whitespace collapsed),
    ``HTTP <status>`` for an empty body, else words for what came instead ("an HTML page, not its
    API's JSON: check the API base URL" for a web server's 404 page at a wrong base URL); as the
    summary, a sentence with the status ("Canditech answered 404 Not Found with an HTML page, not
    its API's JSON: check the API base URL")."""
    if is_error_envelope(body):
        error = body["error"]
        code = _str(error.get("code")) or f"http_{status}"
        message = _str(error.get("message")) or f"HTTP {status}"
        return code, message, f"Canditech answered {status} {code}: {message}"
    message, summary = error_words_and_sentence("Canditech", status, text, content_type=content_type,
                                                empty=f"HTTP {status}")
    return f"http_{status}", message, summary


# --------------------------------------------------------------------------- webhooks

DEFAULT_SIGNATURE_HEADER = "Canditech-Signature"
SIGNATURE_TIMESTAMP_KEY = "t"
SIGNATURE_VALUE_KEY = "v1"


class SignatureError(ValueError):
    """The signature header is missing, malformed, stale or does not match."""


class PayloadError(ValueError):
    """The webhook body is not usable. ``missing`` is True for absent fields, ``invalid`` for fields
    present with a value that breaks their rule (vs. a body that is not a JSON object at all)."""

    def __init__(self, message: str, missing: bool = False, invalid: bool = False):
        super().__init__(message)
        self.missing = missing
        self.invalid = invalid


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The signature header value Canditech sends: ``t=<ts>,v1=<HMAC-SHA256 of "<ts>.<body>">``."""
    return f"{SIGNATURE_TIMESTAMP_KEY}={timestamp},{SIGNATURE_VALUE_KEY}={_digest(secret, body, str(timestamp))}"


def _digest(secret: str, body: bytes, timestamp: str) -> str:
    return hmac.new(secret.encode("utf-8"), timestamp.encode("ascii") + b"." + body, hashlib.sha256).hexdigest()


def parse_signature_header(value: str) -> tuple[str, list[str]]:
    """``(timestamp text, [v1 hex digests])``; raises ``SignatureError`` when malformed."""
    timestamp = None
    digests: list[str] = []
    for part in value.split(","):
        key, sep, item = part.strip().partition("=")
        if not sep:
            raise SignatureError("malformed signature header: expected t=<unix seconds>,v1=<hex>")
        key, item = key.strip(), item.strip()
        if key == SIGNATURE_TIMESTAMP_KEY:
            timestamp = item
        elif key == SIGNATURE_VALUE_KEY:
            digests.append(item.lower())
    if timestamp is None or not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > 12:
        raise SignatureError("malformed signature header: no valid t=<unix seconds>")
    if not digests or not all(len(d) == 64 and all(c in "0123456789abcdef" for c in d) for d in digests):
        raise SignatureError("malformed signature header: no valid v1=<hex HMAC-SHA256>")
    return timestamp, digests


def verify_signature(header_value: str | None, body: bytes, secrets: Iterable[str], now: float,
                     tolerance: float) -> int:
    """Check the signature header against ``body`` with any of ``secrets``; returns the timestamp.

    Raises ``SignatureError`` naming the problem (never a secret): missing or malformed header,
    timestamp outside ``now ± tolerance``, or no secret producing a matching digest.
    """
    if not header_value or not header_value.strip():
        raise SignatureError("missing signature header")
    timestamp, digests = parse_signature_header(header_value)
    stamp = int(timestamp)
    if abs(now - stamp) > tolerance:
        direction = "old" if stamp < now else "far in the future"
        raise SignatureError(f"signature timestamp is too {direction} ({abs(now - stamp):.0f}s, "
                             f"tolerance {tolerance:.0f}s)")
    matched = False
    for secret in secrets:
        expected = _digest(secret, body, timestamp)
        for digest in digests:
            # compare every pair (no early exit) so timing says nothing about which one matched
            matched = hmac.compare_digest(expected, digest) or matched
    if not matched:
        raise SignatureError("signature does not match the body with any active webhook secret")
    return stamp


def parse_event(body: bytes) -> dict[str, Any]:
    """A webhook body -> ``{"id", "type", "kind" (None if unknown), "created_at", "invitation"}``.

    ``invitation`` is the normalised ``data.invitation`` (``None`` when the event is of an
    unknown type and carries none). Raises ``PayloadError``.
    """
    document = parse_json(body)
    if not isinstance(document, Mapping):
        raise PayloadError("body must be a JSON object")
    wrong = {name: f"must be {what}, not {_json_type(document.get(name))}"
             for name, what, ok in (("id", "a string or an integer", _is_id), ("type", "a string", _is_text))
             if _present(document.get(name)) and not ok(document.get(name))}
    if wrong:
        raise PayloadError(describe_problems(wrong), invalid=True)
    event_id = _str(document.get("id"))
    event_type = _str(document.get("type"))
    missing = [name for name, value in (("id", event_id), ("type", event_type)) if value is None]
    if missing:
        raise PayloadError("missing field(s): " + ", ".join(missing), missing=True)
    kind = EVENT_KINDS.get(event_type)
    data = document.get("data")
    raw_invitation = data.get("invitation") if isinstance(data, Mapping) else None
    invitation = None
    if kind is not None:
        if not isinstance(raw_invitation, Mapping):
            raise PayloadError("missing field: data.invitation", missing=True)
        invitation = parse_invitation(raw_invitation)
        if invitation["id"] is None:
            raise PayloadError("missing field: data.invitation.id", missing=True)
    created_at = parse_time(document.get("created_at"))
    if kind is not None:
        problems = {"created_at": TIME_RULE} if created_at is None and _present(document.get("created_at")) else {}
        problems.update({f"data.invitation.{name}": rule
                         for name, rule in invitation_problems(kind, invitation).items()})
        if problems:
            raise PayloadError(describe_problems(problems), invalid=True)
    return {"id": event_id, "type": event_type, "kind": kind, "created_at": created_at, "invitation": invitation}


def parse_json(body: bytes) -> Any:
    """The JSON document in ``body``; raises ``PayloadError`` saying in words what is wrong."""
    try:
        return parse_json_body(body)
    except NotJson as exc:
        raise PayloadError(f"body is not valid JSON: {exc}") from None
