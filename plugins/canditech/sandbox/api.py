"""The ``/v1`` API blueprint of the Canditech sandbox (the contract in ``wire``).

Contract, in the order a request meets it:

1. ``down`` fault -> 503 ``service_unavailable`` (with ``Retry-After: 1``).
2. ``Authorization: Bearer <key>`` with a key from ``API_KEYS``, else 401 ``unauthorized``.
3. Token bucket per key (``RATE_LIMIT_PER_SECOND``, ``RATE_LIMIT_BURST``) -> 429
   ``rate_limited`` with ``Retry-After``.
4. ``latency_ms`` fault sleeps; then an ``error`` / ``timeout`` / ``reset`` fault applies, before
   the call takes effect, or after it if ``fault_after_processing`` (the client then never learns
   that the invitation was created: its retry meets the 409).
5. The endpoint. Every error is ``{"error": {"code", "message"}}``; a 422 names the field in the
   message and in ``error.field``. The faults ``no_reference_dedup`` and ``cancel_finished_status``
   change two contract choices, and ``forbidden_assessments`` refuses the invitations of some
   assessments to the key (403 ``forbidden``: creating, reading, cancelling; ``faults.py``).
"""

from __future__ import annotations

import re
import socket
import struct
import time

from flask import Blueprint, Response, g, jsonify, request

from . import wire
from .runtime import is_http_url, runtime
from .state import SandboxError, to_wire

bp = Blueprint("canditech_sandbox_api", __name__, url_prefix=wire.API_PREFIX)

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MAX_TEXT = 255


def error_response(status: int, code: str, message: str, retry_after: int | None = None,
                   **extra: object) -> Response:
    """A JSON error answer in the one envelope, with ``Retry-After`` when given."""
    response = jsonify(wire.error_body(code, message, **extra))
    response.status_code = status
    if retry_after is not None:
        response.headers[wire.RETRY_AFTER_HEADER] = str(retry_after)
    return response


def fault_response(status: int) -> Response:
    code = wire.FAULT_ERROR_CODES.get(status, wire.ERR_INTERNAL)
    return error_response(status, code, f"injected fault: HTTP {status}",
                          retry_after=1 if status in (429, 503) else None)


def reset_connection() -> None:
    """Abort the client's TCP connection without an answer (RST on close)."""
    g.sandbox_reset = True
    sock = request.environ.get("werkzeug.socket")
    if sock is None:
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _apply_fault(fault: tuple, response: Response | None) -> Response:
    """Answer for an injected fault; ``response`` is the real answer when after processing."""
    kind = fault[0]
    runtime().stats.count(f"fault_{kind}")
    if kind == "error":
        return fault_response(fault[1])
    if kind == "timeout":
        time.sleep(fault[1])
        return response or error_response(504, wire.ERR_UNAVAILABLE, "injected fault: timeout")
    reset_connection()
    return response or Response(status=500)


@bp.before_request
def _gate() -> Response | None:
    rt = runtime()
    if rt.faults.get("down"):
        rt.stats.count("fault_down")
        return error_response(503, wire.ERR_UNAVAILABLE, "Canditech is down (injected fault)",
                              retry_after=1)
    header = request.headers.get(wire.AUTH_HEADER, "")
    scheme, _, key = header.partition(" ")
    if scheme != wire.AUTH_SCHEME or key.strip() not in rt.setting("API_KEYS"):
        return error_response(401, wire.ERR_UNAUTHORIZED, "missing or invalid API key")
    retry_after = rt.limiter.take(key.strip(), rt.setting("RATE_LIMIT_PER_SECOND"),
                                  rt.setting("RATE_LIMIT_BURST"))
    if retry_after is not None:
        rt.stats.count("rate_limited")
        return error_response(429, wire.ERR_RATE_LIMITED, "rate limit exceeded",
                              retry_after=retry_after)
    latency = rt.faults.get("latency_ms")
    if latency:
        time.sleep(latency / 1000.0)
    fault = rt.faults.api_fault()
    if fault is None:
        return None
    if rt.faults.get("fault_after_processing"):
        g.sandbox_fault_after = fault
        return None
    return _apply_fault(fault, None)


@bp.after_request
def _late_fault(response: Response) -> Response:
    after = runtime().faults.get("latency_after_ms")
    if after:  # the call took effect; the answer is slow (a client may die before it arrives)
        time.sleep(after / 1000.0)
    fault = g.pop("sandbox_fault_after", None)
    return _apply_fault(fault, response) if fault else response


# --- endpoints ---------------------------------------------------------------------------
@bp.get(wire.PATH_ASSESSMENTS)
def list_assessments():
    page, next_cursor = runtime().store.assessments_page(request.args.get("cursor"),
                                                         runtime().setting("PAGE_SIZE"))
    return jsonify({"data": page, "next_cursor": next_cursor})


def _text(value: object, field: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise SandboxError(422, wire.ERR_VALIDATION, f"{field}: required, a non-empty string",
                           field=field)
    if len(value) > MAX_TEXT:
        raise SandboxError(422, wire.ERR_VALIDATION,
                           f"{field}: at most {MAX_TEXT} characters", field=field)
    return value.strip()


def parse_invitation_request(body: object) -> dict:
    """Checked fields of a POST /v1/invitations body; raises ``SandboxError`` 400/422."""
    if not isinstance(body, dict):
        raise SandboxError(400, wire.ERR_INVALID_JSON, "body must be a JSON object")
    candidate = body.get("candidate")
    if not isinstance(candidate, dict):
        raise SandboxError(422, wire.ERR_VALIDATION, "candidate: required, an object",
                           field="candidate")
    fields = {
        "assessment_id": _text(body.get("assessment_id"), "assessment_id"),
        "external_reference": _text(body.get("external_reference"), "external_reference"),
        "candidate": {
            "first_name": _text(candidate.get("first_name"), "candidate.first_name"),
            "last_name": _text(candidate.get("last_name"), "candidate.last_name"),
            "email": _text(candidate.get("email"), "candidate.email"),
        },
        "callback_url": body.get("callback_url"),
    }
    if not EMAIL_RE.match(fields["candidate"]["email"]):
        raise SandboxError(422, wire.ERR_VALIDATION,
                           "candidate.email: not a valid email address", field="candidate.email")
    if fields["callback_url"] is not None and not is_http_url(fields["callback_url"]):
        raise SandboxError(422, wire.ERR_VALIDATION,
                           "callback_url: must be an absolute http(s) URL", field="callback_url")
    return fields


def _refuse_if_forbidden(assessment_id: str) -> None:
    """403 when the ``forbidden_assessments`` fault refuses this assessment to the key."""
    if runtime().faults.forbids(assessment_id):
        runtime().stats.count("fault_forbidden")
        raise SandboxError(403, wire.ERR_FORBIDDEN,
                           f"this API key may not use assessment {assessment_id} (injected fault)")


@bp.post(wire.PATH_INVITATIONS)
def create_invitation():
    rt = runtime()
    body = request.get_json(silent=True)
    if isinstance(body, dict) and isinstance(body.get("external_reference"), str):
        rt.store.count_post(body["external_reference"].strip())
    fields = parse_invitation_request(body)
    _refuse_if_forbidden(fields["assessment_id"])
    inv = rt.store.create(**fields, base_url=rt.public_url(request.host_url),
                          dedupe=not rt.faults.get("no_reference_dedup"))
    return jsonify(to_wire(inv)), 201


@bp.get(wire.PATH_INVITATIONS)
def find_invitations():
    store = runtime().store
    reference = request.args.get("external_reference")
    found = store.find_by_reference(reference) if reference is not None else store.all()
    if reference is not None and found:
        store.count_found(reference)
    return jsonify({"data": [to_wire(inv) for inv in found]})


@bp.get(wire.PATH_INVITATION)
def get_invitation(invitation_id: str):
    inv = runtime().store.get(invitation_id)
    _refuse_if_forbidden(inv.assessment_id)
    return jsonify(to_wire(inv))


@bp.post(wire.PATH_INVITATION_CANCEL)
def cancel_invitation(invitation_id: str):
    rt = runtime()
    _refuse_if_forbidden(rt.store.get(invitation_id).assessment_id)
    return jsonify(to_wire(rt.cancel(invitation_id, rt.faults.get("cancel_finished_status"))))
