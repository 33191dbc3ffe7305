"""Every detail of Vervoe's wire format the plugin relies on, and nothing else.

Source: Vervoe's published API: the OpenAPI document ``Vervoe-API.v1-8.yaml`` (a copy is in
``plugins/vervoe/openapi/``; server ``https://api.vervoe.com/api``) and Vervoe's guides 01-05,
summarised in the team's notes (``shared/apis/vervoe/``, kept outside this repository). Paths, JSON field names, the auth
scheme, the error bodies, the report statuses, the score object and the ``Vervoe-Signature``
scheme live here; the rest of the plugin speaks only the normalised values these functions return
(hub statuses, ``datetime`` objects, a percentage score), so a change at Vervoe is a change to this
module alone.

Normalised report (``parse_report``, from the report API, the list API or a webhook body)::

    {"uuid", "kind" (KIND_* or None), "raw_status", "started_at", "completed_at",
     "score" (0..100 float or None), "score_type", "report_url", "email", "slug",
     "problems" ({field: rule} of links and times present but unusable)}

Nothing here raises on an odd value (an API answer or a webhook body is untrusted input): a value
of the wrong type counts as missing. A score that is not a finite number from 0 to 100 counts as no
score (NaN and Infinity included). A report link or time that is present but breaks its rule is
``None`` in the normalised report too, and the report's ``"problems"`` says which field broke which
rule (``{field: rule}``, ``REPORT_RULES``): ``integrationCandidateCardUrl`` and
``integrationCandidateUrl`` must be absolute ``http``/``https`` URLs of at most ``MAX_URL_LENGTH``
(2000) characters (the link is shown to reviewers and written to the ATS; the hub keeps links up
to that length), ``startedAt`` and ``completedAt`` ISO 8601 timestamps from the
year 2000 to 9999 once in UTC.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import math
from datetime import datetime, timezone
from typing import Any, Iterable, Mapping
from urllib.parse import quote, urlsplit

from hub.entities import Assessment
from hub.kit.json_body import NotJson, parse_json_body
from hub.kit.vendor_http import error_words_and_sentence

# --------------------------------------------------------------------------- HTTP API

DEFAULT_BASE_URL = "https://api.vervoe.com/api"

# "All API requests must be made over HTTPS" (guide 02): a Vervoe host (this domain or one under
# it) is never called over plain http, which would carry the API key and secret, and the bearer
# token, unencrypted. Other hosts (the sandbox's loopback, a proxy) may use http.
VERVOE_DOMAIN = "vervoe.com"


def is_vervoe_host(host: str | None) -> bool:
    """Whether ``host`` (a URL's host name, any case, a trailing dot allowed) is Vervoe's."""
    name = (host or "").lower().rstrip(".")
    return name == VERVOE_DOMAIN or name.endswith("." + VERVOE_DOMAIN)

TOKEN_PATH = "/public/ats-api/token"
ASSESSMENTS_PATH = "/integration/assessments"
REPORTS_PATH = "/integration/user-assessments"

AUTH_HEADER = "Authorization"
RETRY_AFTER_HEADER = "Retry-After"
SIGNATURE_HEADER = "Vervoe-Signature"

# "Token expiration time is 10 minutes" (guide 02); the token answer carries no lifetime.
TOKEN_LIFETIME_SECONDS = 600

# Vervoe publishes no rate limit: these are the defaults of the connection's rate_limit_per_second
# and rate_limit_burst settings (the hub stays at or under them per connection, all workers).
RATE_LIMIT_PER_SECOND = 5.0
RATE_LIMIT_BURST = 10

PAGE_PARAM = "page"
# GET /integration/user-assessments: newest first, to find a recent invitation quickly.
LOOKUP_QUERY = {"sort": "created", "order": "desc"}

# Vervoe's answer to inviting a candidate (email) to an assessment they were already invited to:
# 400 with the existing candidateAssessmentUuid and candidateUrl in "data".
STATUS_OK = 200
STATUS_BAD_REQUEST = 400
STATUS_UNAUTHORIZED = 401
STATUS_FORBIDDEN = 403
STATUS_NOT_FOUND = 404
STATUS_RATE_LIMITED = 429

# Low-cardinality endpoint names, for metrics and logs.
ENDPOINT_TOKEN = "GET /public/ats-api/token"
ENDPOINT_LIST_ASSESSMENTS = "GET /integration/assessments"
ENDPOINT_INVITE = "POST /integration/assessments/{slug}/invite"
ENDPOINT_REPORT = "GET /integration/user-assessments/{uuid}"
ENDPOINT_REPORTS = "GET /integration/user-assessments"
ENDPOINT_CANDIDATE_URL = "GET /integration/user-assessments/{uuid}/candidateUrl"
ENDPOINT_RESET = "PATCH /integration/user-assessments/{uuid}/reset"
ENDPOINT_REJECT = "PATCH /integration/user-assessments/{uuid}/reject"


def _seg(value: str) -> str:
    return quote(str(value), safe="")


def invite_path(slug: str) -> str:
    return f"{ASSESSMENTS_PATH}/{_seg(slug)}/invite"


def report_path(uuid: str) -> str:
    return f"{REPORTS_PATH}/{_seg(uuid)}"


def candidate_url_path(uuid: str) -> str:
    return f"{report_path(uuid)}/candidateUrl"


def reset_path(uuid: str) -> str:
    return f"{report_path(uuid)}/reset"


def reject_path(uuid: str) -> str:
    return f"{report_path(uuid)}/reject"


def basic_auth_header(api_key: str, api_secret: str) -> dict[str, str]:
    """``Authorization: Basic <base64 apiKey:secretKey>`` for the token endpoint (guide 02)."""
    raw = f"{api_key}:{api_secret}".encode("utf-8")
    return {AUTH_HEADER: "Basic " + base64.b64encode(raw).decode("ascii")}


def bearer_header(token: str) -> dict[str, str]:
    return {AUTH_HEADER: f"Bearer {token}"}


# --------------------------------------------------------------------------- values


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value.strip() and value.strip().lower() != "null" else None


EARLIEST_YEAR = 2000  # nothing Vervoe did happened before


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time as Vervoe writes it (``2020-03-10T08:39:58+00:00``), in UTC, from the year
    ``EARLIEST_YEAR`` to 9999; else None."""
    text = _str(value)
    if text is None:
        return None
    text = text.strip()
    if text.endswith("Z"):
        text = text[:-1] + "+00:00"
    try:
        parsed = datetime.fromisoformat(text)
        if parsed.tzinfo is None:
            parsed = parsed.replace(tzinfo=timezone.utc)
        parsed = parsed.astimezone(timezone.utc)
    except (ValueError, OverflowError):  # OverflowError: "9999-12-31T23:00:00-05:00" is past 9999 in UTC
        return None
    return parsed if parsed.year >= EARLIEST_YEAR else None


# The longest link the hub keeps (its invitation links hold up to 2000 characters); a longer one is
# not a usable URL.
MAX_URL_LENGTH = 2000


def parse_url(value: Any) -> str | None:
    """An absolute ``http``/``https`` URL with a host, of at most ``MAX_URL_LENGTH`` characters, else
    None (never ``javascript:`` and the like)."""
    text = _str(value)
    if text is None or len(text) > MAX_URL_LENGTH or any(ch.isspace() or ord(ch) < 0x20 for ch in text):
        return None
    try:
        parts = urlsplit(text)
    except ValueError:
        return None
    return text if parts.scheme.lower() in ("http", "https") and parts.hostname else None


_ERROR_KEYS = ("errors", "msg", "detail", "title", "message")


def _own_message(body: Any) -> str | None:
    if isinstance(body, dict):
        for key in _ERROR_KEYS:
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()[:500]
            if isinstance(value, (list, dict)) and value:
                return str(value)[:500]
    return None


def is_error_envelope(body: Any) -> bool:
    """Whether ``body`` (an answer's parsed JSON, or None) is Vervoe's JSON error: an object with a
    non-empty ``errors``/``msg`` (400, 403), ``detail``/``title`` (401) or ``message``, whose
    message ``parse_error`` returns as it is."""
    return _own_message(body) is not None


def parse_error(body: Any, status: int, text: str = "", content_type: str | None = None) -> tuple[str, str]:
    """``(message, summary)`` of an error answer. Vervoe's own JSON error (``is_error_envelope``):
    its message, and "Vervoe answered <status>: <message>". Any other answer is described once
    (``hub.kit.vendor_http.error_words_and_sentence``), never quoting more than a short plain text:
    as the message, that text (whitespace collapsed), ``HTTP <status>`` for an empty body, else
    words for what came instead ("an HTML page, not its API's JSON: check the API base URL" for a
    web server's 404 page at a wrong base URL); as the summary, a sentence with the status and its
    reason phrase ("Vervoe answered 404 Not Found with an HTML page, not its API's JSON: check the
    API base URL"; "Vervoe answered 400 Bad Request with an empty body")."""
    own = _own_message(body)
    if own is not None:
        return own, f"Vervoe answered {status}: {own}"
    return error_words_and_sentence("Vervoe", status, text, content_type=content_type, empty=f"HTTP {status}")


def unwrap(body: Any) -> Any:
    """The ``data`` of a ``{"success": ..., "data": ...}`` envelope (or the body if unwrapped)."""
    if isinstance(body, dict) and "data" in body and ("success" in body or len(body) == 1):
        return body["data"]
    return body


# --------------------------------------------------------------------------- token


def parse_token(body: Any) -> str | None:
    """``{"success": true, "data": {"token": "..."}}`` -> the token."""
    data = unwrap(body)
    if isinstance(body, dict) and body.get("success") is False:
        return None
    return _str(data.get("token")) if isinstance(data, dict) else None


# --------------------------------------------------------------------------- assessments


def parse_assessment_page(body: Any) -> tuple[list[Assessment], bool, int | None]:
    """``GET /integration/assessments`` -> (assessments, has_more_pages, current_page).

    The documented answer is NOT wrapped in ``data``: ``{count, total, hasMorePages, currentPage,
    items: [{name, description, slug, questionsCount, skills, auditionFolder}]}``. A wrapped answer
    is accepted too. Raises ``ValueError`` when there is no ``items`` list.
    """
    page = unwrap(body)
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise ValueError("the assessment list has no items")
    found: list[Assessment] = []
    for item in page["items"]:
        if not isinstance(item, dict):
            continue
        slug = _str(item.get("slug"))
        if slug is None:
            continue
        found.append(Assessment(id=slug, name=_str(item.get("name")) or slug, duration_minutes=None,
                                max_score=100.0))
    current = page.get("currentPage")
    current = int(current) if isinstance(current, (int, float)) and not isinstance(current, bool) else None
    return found, page.get("hasMorePages") is True, current


# --------------------------------------------------------------------------- invite


def build_invite_body(*, email: str, first_name: str, last_name: str, send_email: bool,
                      redirect_url: str | None = None) -> dict[str, Any]:
    """The body of ``POST /integration/assessments/{slug}/invite``.

    ``candidateEmail`` and ``candidateFirstName`` are required; ``candidateLastName`` is sent only
    when there is one. The body has no field for the hub's reference (see invite.py for how the
    plugin stays exactly-once without one).
    """
    body: dict[str, Any] = {"candidateEmail": email, "candidateFirstName": first_name or "Candidate"}
    if last_name:
        body["candidateLastName"] = last_name
    body["sendInvitationEmail"] = bool(send_email)
    if redirect_url:
        body["redirectCandidateUrl"] = redirect_url
    return body


def parse_candidate_link(value: Any) -> str | None:
    """A ``candidateUrl`` as the hub keeps it: ``parse_url``'s rule (an absolute http/https URL of
    at most ``MAX_URL_LENGTH`` characters), after taking off a leading ``<`` (Vervoe's document
    shows ``'<http://example.com/login?token=...'`` in the 400 "already invited" example) and a
    trailing ``>``; else None (the caller reads the link from ``GET .../candidateUrl``, or keeps
    none)."""
    text = _str(value)
    if text is not None:
        text = text.strip()
        text = text[1:] if text.startswith("<") else text
        text = text[:-1] if text.endswith(">") else text
    return parse_url(text)


def parse_invitation(body: Any) -> tuple[str | None, str | None]:
    """``{"success", "data": {"candidateAssessmentUuid", "candidateUrl"}}`` -> (uuid, url).

    The same shape comes with the 400 "already invited" answer."""
    data = unwrap(body)
    if not isinstance(data, dict):
        return None, None
    return _str(data.get("candidateAssessmentUuid")), parse_candidate_link(data.get("candidateUrl"))


def parse_candidate_url(body: Any) -> str | None:
    data = unwrap(body)
    return parse_candidate_link(data.get("candidateUrl")) if isinstance(data, dict) else None


# --------------------------------------------------------------------------- reports and statuses

KIND_INVITED = "invited"      # invited / incomplete / email read: nothing for the hub yet
KIND_STARTED = "started"      # "in progress"
KIND_COMPLETED = "completed"  # "complete" (with or without a score yet)
KIND_EXPIRED = "expired"
KIND_HIRED = "hired"
KIND_REJECTED = "rejected"
KIND_SCREENING = "screening"  # screeningInProgress / screeningPassed / screeningFailed: not used

_KINDS = {
    "invited": KIND_INVITED, "incomplete": KIND_INVITED, "emailread": KIND_INVITED, "applied": KIND_INVITED,
    "inprogress": KIND_STARTED, "started": KIND_STARTED,
    "complete": KIND_COMPLETED, "completed": KIND_COMPLETED, "scored": KIND_COMPLETED,
    "aiscored": KIND_COMPLETED, "moretimescored": KIND_COMPLETED,
    "expired": KIND_EXPIRED,
    "hired": KIND_HIRED,
    "rejected": KIND_REJECTED,
    "screeninginprogress": KIND_SCREENING, "screeningpassed": KIND_SCREENING,
    "screeningfailed": KIND_SCREENING, "failedscreening": KIND_SCREENING, "passedscreening": KIND_SCREENING,
}


def status_kind(raw: Any) -> str | None:
    """Vervoe writes the same status several ways ("in progress", "in_progress", "In progress")."""
    text = _str(raw)
    if text is None:
        return None
    key = "".join(ch for ch in text.lower() if ch.isalnum())
    return _KINDS.get(key)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        if isinstance(value, (int, float)):
            return float(value)
        if isinstance(value, str):
            return float(value.strip().rstrip("%").strip())
    except (ValueError, OverflowError):  # not a number, or an integer beyond any float
        return None
    return None


def _percentage(value: Any) -> float | None:
    number = _number(value)
    return number if number is not None and math.isfinite(number) and 0 <= number <= 100 else None


def score_percentage(score: Any) -> float | None:
    """The overall score, as a percentage (0-100), of Vervoe's ``score`` object, or None.

    ``score.score`` is the overall score (Vervoe shows it as a percentage: "actualOverallScore":
    "35%"); when it is missing, ``scoreByFormat`` is used: a number or "60"/"60%" string, or the
    per-skill groups (``scoreType`` 1 = percentage, ``scorePercentage``) averaged. A value outside
    0-100 is not trusted (None).
    """
    if not isinstance(score, dict):
        return None
    overall = _percentage(score.get("score"))
    if overall is not None:
        return overall
    by_format = score.get("scoreByFormat")
    direct = _percentage(by_format)
    if direct is not None:
        return direct
    groups = [by_format] if isinstance(by_format, dict) else by_format if isinstance(by_format, list) else []
    values = [v for v in (_percentage(g.get("scorePercentage", g.get("result"))) for g in groups
                          if isinstance(g, dict)) if v is not None]
    return round(sum(values) / len(values), 2) if values else None


def parse_report(body: Any) -> dict[str, Any]:
    """A candidate report (API answer, list item or webhook body) -> the normalised report."""
    data = unwrap(body)
    if not isinstance(data, dict):
        data = {}
    score = data.get("score")
    return {
        "uuid": _str(data.get("candidateAssessmentUuid")),
        "kind": status_kind(data.get("status")),
        "raw_status": _str(data.get("status")),
        "started_at": parse_time(data.get("startedAt")),
        "completed_at": parse_time(data.get("completedAt")),
        "score": score_percentage(score),
        "score_type": _str(score.get("type")) if isinstance(score, dict) else None,
        "report_url": parse_url(data.get("integrationCandidateCardUrl")) or parse_url(data.get("integrationCandidateUrl")),
        "email": _str(data.get("candidateEmail")),
        "slug": _str(data.get("assessmentSlug")),
        "problems": report_problems(data),
    }


URL_RULE = f"must be an http or https URL of at most {MAX_URL_LENGTH} characters"
TIME_RULE = f"must be an ISO 8601 timestamp from the year {EARLIEST_YEAR} to 9999 (UTC)"
REPORT_RULES = {
    "startedAt": (parse_time, TIME_RULE),
    "completedAt": (parse_time, TIME_RULE),
    "integrationCandidateCardUrl": (parse_url, URL_RULE),
    "integrationCandidateUrl": (parse_url, URL_RULE),
}


def _present(value: Any) -> bool:
    """A value that was sent (``null``, ``"null"`` and blank strings count as absent)."""
    return value is not None and not (isinstance(value, str) and _str(value) is None)


def report_problems(data: Any) -> dict[str, str]:
    """``{field: rule}`` of the report's links and times that are present but break their rule."""
    if not isinstance(data, dict):
        return {}
    return {name: rule for name, (parse, rule) in REPORT_RULES.items()
            if _present(data.get(name)) and parse(data.get(name)) is None}


def describe_problems(problems: Mapping[str, str]) -> str:
    return "; ".join(f"{name} {rule}" for name, rule in problems.items())


class BodyError(ValueError):
    """A webhook body that is not JSON; the message says why in words."""


def parse_json(body: bytes) -> Any:
    """The JSON document of a webhook body; raises ``BodyError`` saying what is wrong, in words."""
    try:
        return parse_json_body(body)
    except NotJson as exc:
        raise BodyError(f"the body is not valid JSON: {exc}") from None


def parse_report_page(body: Any) -> tuple[list[dict[str, Any]], bool]:
    """``GET /integration/user-assessments`` -> (normalised reports, has_more_pages)."""
    page = unwrap(body)
    if not isinstance(page, dict) or not isinstance(page.get("items"), list):
        raise ValueError("the report list has no items")
    return [parse_report(item) for item in page["items"] if isinstance(item, dict)], page.get("hasMorePages") is True


# --------------------------------------------------------------------------- webhook signature


class SignatureError(ValueError):
    """The ``Vervoe-Signature`` header is missing, malformed, stale or does not match."""


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The header value Vervoe sends: ``t=<unix>,hash=<hex HMAC-SHA256 of "<t>.<body>">``."""
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},hash={digest}"


def parse_signature(header: str | None) -> tuple[int, list[str]]:
    """``t=1494224576,hash=5257a8...`` -> (timestamp, [hashes]). Raises ``SignatureError``."""
    if not header or not header.strip():
        raise SignatureError("the signature header is missing")
    timestamp: int | None = None
    hashes: list[str] = []
    for part in header.split(","):
        key, sep, value = part.strip().partition("=")
        if not sep:
            continue
        key, value = key.strip().lower(), value.strip()
        if key == "t":
            if not (value.isascii() and value.isdigit()) or timestamp is not None:
                raise SignatureError("the signature header has a bad timestamp")
            timestamp = int(value)
        elif key == "hash" and value:
            hashes.append(value.lower())
    if timestamp is None:
        raise SignatureError("the signature header has no timestamp (t=)")
    if not hashes:
        raise SignatureError("the signature header has no hash (hash=)")
    return timestamp, hashes


def verify_signature(header: str | None, body: bytes, secrets: Iterable[str], *, now: float,
                     tolerance: float) -> int:
    """Check the header against ``body`` with any of ``secrets`` (constant-time comparison) and the
    timestamp window (``tolerance`` seconds, both ways). Returns the timestamp."""
    timestamp, hashes = parse_signature(header)
    if abs(now - timestamp) > tolerance:
        raise SignatureError(f"the signature timestamp is outside the {int(tolerance)} s tolerance")
    message = f"{timestamp}.".encode("ascii") + body
    matched = False
    for secret in secrets:
        expected = hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
        for candidate in hashes:
            # compare every pair: no early exit that would time which secret matched
            matched |= hmac.compare_digest(expected.encode("ascii"), candidate.encode("ascii", "replace"))
    if not matched:
        raise SignatureError("the signature does not match")
    return timestamp
