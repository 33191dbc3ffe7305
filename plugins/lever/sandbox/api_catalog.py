"""Read-only ``/v1`` catalog routes: postings, stages, users, archive reasons, contacts, tags.

Contract (lever.md §3.3-§3.7, §3.9): list endpoints are paginated (``limit``/``offset``) and
ordered as seeded; single-object endpoints answer ``{"data": obj}`` or 404 ResourceNotFound.
Filters: postings ``state`` (repeatable); users ``email`` (exact, case-insensitive),
``accessRole`` (repeatable, also ``accessRole[]``), ``includeDeactivated``; archive reasons
``type`` (hired|non-hired). ``GET /tags`` counts tags over live opportunities.
"""

from __future__ import annotations

from collections import Counter

from flask import request

from .api import bp, data_response, list_response
from .context import get_sandbox
from .render import archive_reason_obj, contact_obj, posting_obj, stage_obj, user_obj


@bp.get("/postings")
def list_postings():
    sandbox = get_sandbox()
    states = set(request.args.getlist("state"))
    base = sandbox.base_url()
    with sandbox.state.lock:
        items = [posting_obj(p, base) for p in sandbox.state.postings.values()
                 if not states or p["state"] in states]
    return list_response(items, "postings")


@bp.get("/postings/<posting_id>")
def get_posting(posting_id: str):
    sandbox = get_sandbox()
    return data_response(posting_obj(sandbox.state.posting(posting_id), sandbox.base_url()))


@bp.get("/stages")
def list_stages():
    state = get_sandbox().state
    with state.lock:
        items = [stage_obj(s) for s in state.stages.values()]
    return list_response(items, "stages")


@bp.get("/stages/<stage_id>")
def get_stage(stage_id: str):
    return data_response(stage_obj(get_sandbox().state.stage(stage_id)))


@bp.get("/users")
def list_users():
    state = get_sandbox().state
    args = request.args
    emails = {e.strip().lower() for e in args.getlist("email")}
    roles = {*args.getlist("accessRole"), *args.getlist("accessRole[]")}
    include_deactivated = args.get("includeDeactivated", "false").lower() == "true"
    with state.lock:
        items = [user_obj(u) for u in state.users.values()
                 if (not emails or u["email"].lower() in emails)
                 and (not roles or u["accessRole"] in roles)
                 and (include_deactivated or u["deactivatedAt"] is None)]
    return list_response(items, "users")


@bp.get("/users/<user_id>")
def get_user(user_id: str):
    return data_response(user_obj(get_sandbox().state.user(user_id)))


@bp.get("/archive_reasons")
def list_archive_reasons():
    state = get_sandbox().state
    wanted = request.args.get("type")
    with state.lock:
        items = [archive_reason_obj(r) for r in state.archive_reasons.values()
                 if not wanted or r["type"] == wanted]
    return list_response(items, "archive_reasons")


@bp.get("/archive_reasons/<reason_id>")
def get_archive_reason(reason_id: str):
    return data_response(archive_reason_obj(get_sandbox().state.archive_reason(reason_id)))


@bp.get("/contacts/<contact_id>")
def get_contact(contact_id: str):
    return data_response(contact_obj(get_sandbox().state.contact(contact_id)))


@bp.get("/tags")
def list_tags():
    state = get_sandbox().state
    with state.lock:
        counts = Counter(t for o in state.opportunities.values() for t in o["tags"])
    return list_response([{"text": t, "count": n} for t, n in sorted(counts.items())], "tags")
