"""``/v1/opportunities`` routes (lever.md §3.2, §3.6-§3.9).

Contract:
- ``GET /opportunities`` (filters ``posting_id``, ``stage_id``, ``email``, ``tag``,
  ``contact_id`` repeatable; ``archived`` true/false; ``expand``) -> paginated list ordered by
  ``createdAt``; ``GET /opportunities/<id>`` -> ``{"data": opportunity}`` (404 once deleted).
- ``PUT .../stage`` ``{"stage"}`` and ``PUT .../archived`` ``{"reason": id | null}`` return the
  full opportunity and fire the webhooks real Lever fires (stage change; archive change, and
  candidateHired for a "hired" reason). Unknown referenced ids answer 404 ResourceNotFound.
- Notes: ``POST`` ``{"value" (required), "secret", "score" (1-4), "notifyFollowers",
  "createdAt"}`` -> ``201 {"data": {"noteId"}}``; ``GET`` (paginated note objects);
  ``DELETE .../notes/<noteId>`` -> 204.
- ``POST .../addTags`` / ``removeTags`` ``{"tags": [str]}`` -> the opportunity.
- ``GET .../applications`` and ``.../applications/<id>``.
- ``perform_as`` (optional everywhere here) must name an existing user.
"""

from __future__ import annotations

from flask import request

from .api import bp, data_response, expand_args, json_body, list_response, perform_as
from .context import get_sandbox
from .errors import bad_request, not_found
from .render import application_obj, note_obj, opportunity_obj


def _render(opp: dict, expand: set[str] | None = None) -> dict:
    sandbox = get_sandbox()
    with sandbox.state.lock:
        return opportunity_obj(sandbox.state, opp, sandbox.base_url(), expand or set())


def _archived_filter() -> bool | None:
    raw = request.args.get("archived")
    if raw is None:
        return None
    if raw.lower() not in ("true", "false"):
        raise bad_request("archived must be true or false")
    return raw.lower() == "true"


@bp.get("/opportunities")
def list_opportunities():
    sandbox = get_sandbox()
    args = request.args
    with sandbox.state.lock:
        opps = sandbox.state.list_opportunities(
            posting_ids=args.getlist("posting_id"), stage_ids=args.getlist("stage_id"),
            emails=args.getlist("email"), tags=args.getlist("tag"),
            contact_ids=args.getlist("contact_id"), archived=_archived_filter())
        expand = expand_args()
        items = [_render(o, expand) for o in opps]
    return list_response(items, "opportunities")


@bp.get("/opportunities/<opp_id>")
def get_opportunity(opp_id: str):
    state = get_sandbox().state
    with state.lock:
        return data_response(_render(state.opportunity(opp_id), expand_args()))


@bp.put("/opportunities/<opp_id>/stage")
def change_stage(opp_id: str):
    sandbox = get_sandbox()
    body = json_body()
    stage_id = body.get("stage")
    if not isinstance(stage_id, str) or not stage_id:
        raise bad_request("stage is required")
    user_id = perform_as()
    opp, events = sandbox.state.move(opp_id, stage_id, user_id)
    sandbox.sender.emit(events)
    return data_response(_render(opp))


@bp.put("/opportunities/<opp_id>/archived")
def change_archived(opp_id: str):
    sandbox = get_sandbox()
    body = json_body()
    if "reason" not in body:
        raise bad_request("reason is required (an archive reason id, or null to unarchive)")
    reason = body["reason"]
    if reason is not None and not isinstance(reason, str):
        raise bad_request("reason must be an archive reason id or null")
    user_id = perform_as()
    opp, events = sandbox.state.set_archived(opp_id, reason, user_id)
    sandbox.sender.emit(events)
    return data_response(_render(opp))


@bp.post("/opportunities/<opp_id>/notes")
def add_note(opp_id: str):
    sandbox = get_sandbox()
    body = json_body()
    value = body.get("value")
    if not isinstance(value, str) or not value.strip():
        raise bad_request("value is required and must be a non-empty string")
    score = body.get("score")
    if score is not None and (isinstance(score, bool) or score not in (1, 2, 3, 4)):
        raise bad_request("score must be an integer 1-4 or null")
    for flag in ("secret", "notifyFollowers"):
        if flag in body and not isinstance(body[flag], bool):
            raise bad_request(f"{flag} must be a boolean")
    created_at = body.get("createdAt")
    if created_at is not None and (not isinstance(created_at, int) or isinstance(created_at, bool)):
        raise bad_request("createdAt must be a timestamp in ms")
    note = sandbox.state.add_note(opp_id, value, user_id=perform_as(),
                                  secret=body.get("secret", False), score=score,
                                  created_at=created_at)
    sandbox.stats.incr("notes_created")
    return data_response({"noteId": note["id"]}, 201)


@bp.get("/opportunities/<opp_id>/notes")
def list_notes(opp_id: str):
    notes = get_sandbox().state.notes_of(opp_id)
    return list_response([note_obj(n) for n in notes], f"notes:{opp_id}")


@bp.get("/opportunities/<opp_id>/notes/<note_id>")
def get_note(opp_id: str, note_id: str):
    for note in get_sandbox().state.notes_of(opp_id):
        if note["id"] == note_id:
            return data_response(note_obj(note))
    raise not_found("notes", note_id)


@bp.delete("/opportunities/<opp_id>/notes/<note_id>")
def delete_note(opp_id: str, note_id: str):
    sandbox = get_sandbox()
    sandbox.state.delete_note(opp_id, note_id)
    sandbox.stats.incr("notes_deleted")
    return "", 204


def _tags_from_body() -> list[str]:
    tags = json_body().get("tags")
    if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
        raise bad_request("tags must be a list of non-empty strings")
    return tags


@bp.post("/opportunities/<opp_id>/addTags")
def add_tags(opp_id: str):
    tags = _tags_from_body()
    perform_as()
    return data_response(_render(get_sandbox().state.change_tags(opp_id, tags, add=True)))


@bp.post("/opportunities/<opp_id>/removeTags")
def remove_tags(opp_id: str):
    tags = _tags_from_body()
    perform_as()
    return data_response(_render(get_sandbox().state.change_tags(opp_id, tags, add=False)))


@bp.get("/opportunities/<opp_id>/applications")
def list_applications(opp_id: str):
    state = get_sandbox().state
    with state.lock:
        opp = state.opportunity(opp_id)
        items = [application_obj(state, state.applications[a]) for a in opp["applications"]]
    return list_response(items, f"applications:{opp_id}")


@bp.get("/opportunities/<opp_id>/applications/<app_id>")
def get_application(opp_id: str, app_id: str):
    state = get_sandbox().state
    with state.lock:
        opp = state.opportunity(opp_id)
        if app_id not in opp["applications"]:
            raise not_found("applications", app_id)
        return data_response(application_obj(state, state.applications[app_id]))
