"""The sandbox's Vervoe API under ``/api`` (Vervoe's server is ``https://api.vervoe.com/api``):
the same paths and JSON shapes as ``Vervoe-API.v1-8.yaml`` for what the hub uses.

| | |
|---|---|
| ``GET /public/ats-api/token`` | Basic apiKey:secretKey -> ``{"success", "data": {"token"}}``; no header 400, wrong 401 |
| ``GET /public/apihealthcheck/{apiKey}`` | ``{"success": true, "data": "ok"}``; unknown key 403 |
| ``GET /integration/assessments`` | ``{count, total, hasMorePages, currentPage, items}`` (``?page=``, not wrapped) |
| ``POST /integration/assessments/{slug}/invite`` | ``{"success", "data": {candidateAssessmentUuid, candidateUrl}}``; already invited: 400 with the same ``data`` |
| ``GET /integration/user-assessments`` | ``?page=`` (required), ``sort``, ``order``, ``status`` -> paginated reports |
| ``GET /integration/user-assessments/{uuid}`` | the candidate report |
| ``GET /integration/user-assessments/{uuid}/candidateUrl`` | the login link |
| ``PATCH /integration/user-assessments/{uuid}/reset`` | reset + new deadline (status ``invited``) |
| ``PATCH /integration/user-assessments/{uuid}/reject`` | reject (twice is no error) |

Every call but the token and health check needs ``Authorization: Bearer <token>`` (401 with the
documented ``{type, title, status, detail}`` body otherwise). Errors are
``{"success": false, "errors": <text>, "msg": <text>}`` (the invite's 400 has ``errors`` and ``data``
only, as documented). Faults (``faults``) apply to every ``/api`` call.
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time

from flask import Blueprint, g, jsonify, request

from .runtime import runtime
from .state import SandboxError, report_json

bp = Blueprint("vervoe_sandbox_api", __name__, url_prefix="/api")

UNAUTHORIZED = {"type": "https://tools.ietf.org/html/rfc2616#section-10", "title": "An error occurred",
                "status": 401, "detail": "Unauthorized"}
PUBLIC_ENDPOINTS = ("vervoe_sandbox_api.token", "vervoe_sandbox_api.health")
_SORTS = {"completed": "completed_at", "created": "created_at", "updated": "updated_at"}
_STATUS_FILTERS = {"complete": "complete", "expired": "expired", "in_progress": "in progress", "hired": "hired",
                   "rejected": "rejected"}


def error_response(status: int, message: str, data: dict | None = None, with_msg: bool = True):
    body: dict = {"success": False, "errors": message}
    if with_msg:
        body["msg"] = message
    if data is not None:
        body["data"] = data
    response = jsonify(body)
    response.status_code = status
    if status == 429:
        response.headers["Retry-After"] = "1"
    return response


def unauthorized():
    response = jsonify(UNAUTHORIZED)
    response.status_code = 401
    return response


@bp.before_request
def _faults_and_auth():
    rt = runtime()
    latency = rt.faults.get("latency_ms")
    if latency:
        time.sleep(latency / 1000.0)
    if rt.faults.get("down"):
        return error_response(503, "Service Unavailable")
    fault = rt.faults.api_fault()
    if fault is not None:
        if rt.faults.get("fault_after_processing"):
            g.vervoe_fault_after = fault[1]
        else:
            return error_response(fault[1], "Simulated failure" if fault[1] != 429 else "Too many requests")
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not rt.store.token_valid(token.strip()):
        return unauthorized()
    return None


@bp.after_request
def _fault_after(response):
    status = g.pop("vervoe_fault_after", None)
    if status is not None:
        return error_response(status, "Simulated failure after processing")
    return response


def _page(required: bool) -> int:
    raw = request.args.get("page")
    if raw is None:
        if required:
            raise SandboxError(400, "page: This value should not be blank.")
        return 1
    if not (raw.isascii() and raw.isdigit()) or int(raw) < 1:
        raise SandboxError(400, "page: Must be greater than 0.")
    return int(raw)


def _json_body() -> dict:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise SandboxError(400, "The request body must be a JSON object.")
    return body


# --------------------------------------------------------------------------- auth


@bp.get("/public/ats-api/token")
def token():
    rt = runtime()
    header = request.headers.get("Authorization", "")
    scheme, _, encoded = header.partition(" ")
    if not header or scheme.lower() != "basic" or not encoded.strip():
        return error_response(400, "Provide apiKey/secret please.")
    try:
        key, sep, secret = base64.b64decode(encoded.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return unauthorized()
    if not sep or not key or not secret:
        return error_response(400, "Provide apiKey/secret please.")
    known = rt.setting("API_CREDENTIALS")
    if not any(secrets.compare_digest(c["api_key"], key) and secrets.compare_digest(c["api_secret"], secret)
               for c in known):
        return unauthorized()
    return jsonify({"success": True, "data": {"token": rt.store.issue_token(rt.setting("TOKEN_TTL_SECONDS"))}})


@bp.get("/public/apihealthcheck/<api_key>")
def health(api_key: str):
    if not any(secrets.compare_digest(c["api_key"], api_key) for c in runtime().setting("API_CREDENTIALS")):
        return error_response(403, "Access denied")
    return jsonify({"success": True, "data": "ok"})


# --------------------------------------------------------------------------- assessments


def _assessment_json(a: dict) -> dict:
    return {"name": a["name"], "description": a["description"], "slug": a["slug"],
            "questionsCount": len(a["questions"]), "skills": list(a["skills"]),
            "auditionFolder": dict(a["folder"]) if a["folder"] else None}


@bp.get("/integration/assessments")
def assessments():
    rt = runtime()
    page, size = _page(required=False), rt.setting("PAGE_SIZE")
    everything = rt.store.assessment_list()
    items = everything[(page - 1) * size: page * size]
    return jsonify({"count": len(items), "total": len(everything), "hasMorePages": page * size < len(everything),
                    "currentPage": page, "items": [_assessment_json(a) for a in items]})


@bp.post("/integration/assessments/<slug>/invite")
def invite(slug: str):
    rt = runtime()
    try:
        ua = rt.store.invite(slug, _json_body(), rt.base_url(request.host_url))
    except SandboxError as exc:
        return error_response(exc.status, exc.message, exc.data, with_msg=False)
    return jsonify({"success": True, "data": {"candidateAssessmentUuid": ua.uuid, "candidateUrl": ua.candidate_url}})


# --------------------------------------------------------------------------- candidate assessments


@bp.get("/integration/user-assessments")
def reports():
    rt = runtime()
    page, size = _page(required=True), rt.setting("PAGE_SIZE")
    sort = request.args.get("sort", "updated")
    order = request.args.get("order", "asc")
    status = request.args.get("status")
    if sort not in _SORTS:
        raise SandboxError(400, "sort: One of completed, created, updated.")
    if order not in ("asc", "desc"):
        raise SandboxError(400, "order: One of asc, desc.")
    if status is not None and status not in _STATUS_FILTERS:
        raise SandboxError(400, "status: Not a valid status filter.")
    if sort == "completed" and status != "complete":
        raise SandboxError(400, "sort=completed can be used only with status=complete.")
    items = rt.store.all()
    if status is not None:
        items = [ua for ua in items if ua.status == _STATUS_FILTERS[status]]
    attribute = _SORTS[sort]
    ordered = sorted(enumerate(items), key=lambda pair: (getattr(pair[1], attribute).timestamp()
                                                         if getattr(pair[1], attribute) else 0, pair[0]),
                     reverse=order == "desc")
    chosen = [ua for _, ua in ordered][(page - 1) * size: page * size]
    return jsonify({"success": True, "data": {
        "currentPage": page, "total": len(items), "count": len(chosen), "hasMorePages": page * size < len(items),
        "items": [report_json(ua, list_item=True) for ua in chosen]}})


@bp.get("/integration/user-assessments/<uuid>")
def report(uuid: str):
    return jsonify({"success": True, "data": report_json(runtime().store.get(uuid))})


@bp.get("/integration/user-assessments/<uuid>/candidateUrl")
def candidate_url(uuid: str):
    return jsonify({"success": True, "data": {"candidateUrl": runtime().store.get(uuid).candidate_url}})


@bp.patch("/integration/user-assessments/<uuid>/reset")
def reset(uuid: str):
    return jsonify({"success": True, "data": report_json(runtime().reset_assessment(uuid))})


@bp.patch("/integration/user-assessments/<uuid>/reject")
def reject(uuid: str):
    return jsonify({"success": True, "data": report_json(runtime().reject(uuid))})
