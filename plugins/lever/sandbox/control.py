"""Control API ``/_sandbox/*`` for tests, benchmarks and the demo (JSON, no auth).

Contract: single objects are answered plain, lists as ``{"data": [...]}``, errors as
``{"code", "message"}``. Candidate actions behave exactly like the Lever UI (a move records a
stageChange and fires candidateStageChange, and so on). Routes in this module:

- ``POST /reset`` ``{"keep_webhooks"?: bool, "keep_oauth"?: bool}``: re-seed; also clears
  faults, stats, rate-limit buckets, the webhook queue and log; settings back to config.
- ``GET /state``: everything (records, notes, webhooks with their tokens, settings, faults).
- ``GET|POST /settings``: run-time settings (``require_toggle``, ``retry_after_header``,
  ``oauth_auto_approve``, ``enforce_scopes``, ``rate_limit_per_second``, ``rate_limit_burst``,
  ``access_token_ttl``, ``webhook_retry_delays``, ``webhook_timeout``); POST merges.
- ``POST /opportunities`` ``{"name", "email"|null, "posting_id", "stage_id"?, "origin"?,
  "phone"?, "tags"?}`` -> 201 opportunity (fires applicationCreated).
- ``GET|DELETE /opportunities/<id>`` (DELETE fires candidateDeleted),
  ``POST /opportunities/<id>/move`` ``{"stage_id", "perform_as"?}``,
  ``POST /opportunities/<id>/archive`` ``{"reason_id": id|null}``,
  ``POST /opportunities/<id>/hire``, ``GET /opportunities/<id>/notes`` and ``/tags``.
- ``GET /stats``; ``GET|POST|DELETE /faults`` (POST replaces the fault settings, see
  ``faults.py``: the ``/v1`` API's, the webhooks' and the OAuth token endpoint's).
Webhook and OAuth controls live in ``control_webhooks.py`` on the same blueprint.
"""

from __future__ import annotations

from flask import Blueprint, jsonify

from .api import json_body
from .context import get_sandbox
from .errors import bad_request
from .render import (archive_reason_obj, note_obj, opportunity_obj, posting_obj, stage_obj,
                     user_obj, webhook_obj)
from .seed import STAGES

bp = Blueprint("lever_control", __name__, url_prefix="/_sandbox")


def control_webhook_obj(hook: dict) -> dict:
    """A webhook as the control API shows it: with token, source and active flag."""
    return {**webhook_obj(hook), "signatureToken": hook["signatureToken"],
            "source": hook["source"], "active": hook["active"]}


def rendered(opp: dict) -> dict:
    sandbox = get_sandbox()
    with sandbox.state.lock:
        return opportunity_obj(sandbox.state, opp, sandbox.base_url(),
                               {"stage", "applications", "contact"})


def _optional_str(body: dict, key: str) -> str | None:
    value = body.get(key)
    if value is not None and not isinstance(value, str):
        raise bad_request(f"{key} must be a string or null")
    return value or None


@bp.post("/reset")
def reset():
    body = json_body()
    get_sandbox().reset(keep_webhooks=bool(body.get("keep_webhooks")),
                        keep_oauth=bool(body.get("keep_oauth")))
    return jsonify({"reset": True})


@bp.get("/state")
def dump_state():
    sandbox = get_sandbox()
    state, base = sandbox.state, sandbox.base_url()
    with state.lock:
        return jsonify({
            "stages": [stage_obj(s) for s in state.stages.values()],
            "users": [user_obj(u) for u in state.users.values()],
            "postings": [posting_obj(p, base) for p in state.postings.values()],
            "archive_reasons": [archive_reason_obj(r) for r in state.archive_reasons.values()],
            "opportunities": [opportunity_obj(state, o, base)
                              for o in state.opportunities.values()],
            "deleted_opportunities": sorted(state.deleted),
            "notes": {oid: [note_obj(n) for n in notes] for oid, notes in state.notes.items()
                      if oid in state.opportunities},
            "webhooks": [control_webhook_obj(h) for h in state.webhooks.values()],
            "settings": dict(sandbox.settings),
            "faults": sandbox.faults.settings(),
            "oauth": sandbox.oauth.counts(),
            "pending_webhook_deliveries": sandbox.sender.pending(),
        })


@bp.get("/settings")
def get_settings():
    return jsonify(get_sandbox().settings)


@bp.post("/settings")
def update_settings():
    try:
        return jsonify(get_sandbox().update_settings(json_body()))
    except ValueError as err:
        raise bad_request(str(err)) from None


@bp.post("/opportunities")
def create_opportunity():
    sandbox = get_sandbox()
    body = json_body()
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        raise bad_request("name is required")
    tags = body.get("tags") or []
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise bad_request("tags must be a list of strings")
    posting_id = _optional_str(body, "posting_id")
    if posting_id is None:
        raise bad_request("posting_id is required")
    opp, events = sandbox.state.create_opportunity(
        name=name.strip(), email=_optional_str(body, "email"), posting_id=posting_id,
        stage_id=_optional_str(body, "stage_id") or STAGES[0][1],
        origin=_optional_str(body, "origin") or "applied",
        phone=_optional_str(body, "phone"), tags=tags)
    sandbox.sender.emit(events)
    return jsonify(rendered(opp)), 201


@bp.get("/opportunities/<opp_id>")
def get_opportunity(opp_id: str):
    return jsonify(rendered(get_sandbox().state.opportunity(opp_id)))


@bp.post("/opportunities/<opp_id>/move")
def move(opp_id: str):
    sandbox = get_sandbox()
    body = json_body()
    stage_id = _optional_str(body, "stage_id")
    if stage_id is None:
        raise bad_request("stage_id is required")
    user_id = _optional_str(body, "perform_as")
    if user_id:
        sandbox.state.user(user_id)
    opp, events = sandbox.state.move(opp_id, stage_id, user_id)
    sandbox.sender.emit(events)
    return jsonify(rendered(opp))


@bp.post("/opportunities/<opp_id>/archive")
def archive(opp_id: str):
    sandbox = get_sandbox()
    body = json_body()
    if "reason_id" not in body:
        raise bad_request("reason_id is required (an archive reason id, or null to unarchive)")
    opp, events = sandbox.state.set_archived(opp_id, _optional_str(body, "reason_id"))
    sandbox.sender.emit(events)
    return jsonify(rendered(opp))


@bp.post("/opportunities/<opp_id>/hire")
def hire(opp_id: str):
    sandbox = get_sandbox()
    opp, events = sandbox.state.hire(opp_id)
    sandbox.sender.emit(events)
    return jsonify(rendered(opp))


@bp.delete("/opportunities/<opp_id>")
def delete(opp_id: str):
    sandbox = get_sandbox()
    sandbox.sender.emit(sandbox.state.delete_opportunity(opp_id))
    return jsonify({"id": opp_id, "deleted": True})


@bp.get("/opportunities/<opp_id>/notes")
def notes(opp_id: str):
    return jsonify({"data": [note_obj(n) for n in get_sandbox().state.notes_of(opp_id)]})


@bp.get("/opportunities/<opp_id>/tags")
def tags(opp_id: str):
    state = get_sandbox().state
    with state.lock:
        return jsonify({"data": list(state.opportunity(opp_id)["tags"])})


@bp.get("/stats")
def stats():
    sandbox = get_sandbox()
    snapshot = sandbox.stats.snapshot()
    with sandbox.state.lock:
        snapshot["notes_current"] = sum(
            len(n) for oid, n in sandbox.state.notes.items() if oid in sandbox.state.opportunities)
    snapshot["webhooks_pending"] = sandbox.sender.pending()
    return jsonify(snapshot)


@bp.get("/faults")
def get_faults():
    return jsonify(get_sandbox().faults.settings())


@bp.post("/faults")
def set_faults():
    try:
        return jsonify(get_sandbox().faults.configure(json_body()))
    except ValueError as err:
        raise bad_request(str(err)) from None


@bp.delete("/faults")
def clear_faults():
    sandbox = get_sandbox()
    sandbox.faults.clear()
    return jsonify(sandbox.faults.settings())
