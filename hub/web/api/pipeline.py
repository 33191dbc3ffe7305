"""``/api/v1/attachments`` and the live lists behind them: ``/postings``, ``/stages``, ``/assessments``;
and an attachment's backfill (``/attachments/<id>/backfill``: ``hub.engine.backfill``)."""

from __future__ import annotations

from flask import current_app, jsonify, url_for
from flask_login import current_user
from marshmallow import Schema, fields

from hub import services
from hub.engine import backfill
from hub.entities import SOURCE_ATTACHMENT_OPTIONS
from hub.errors import NotFound, ValidationFailed
from hub.runtime import get_runtime
from hub.store.attachments import AttachmentDetached, get_attachment as stored_attachment
from hub.web import queries
from hub.web.api import bp
from hub.web.api.common import live_error, load_body, query_args, takes_query
from hub.web.live import (CHOICES_NOT_VALID, LiveError, list_assessments, list_postings, list_stages, resolve_attachment,
                          source_attachment_options)
from hub.web.permissions import require
from hub.web.schemas import (
    ApiAttachmentOptionsSchema, AssessmentSchema, AttachmentInSchema, AttachmentSchema, BackfillRunSchema, EmptySchema,
    PostingSchema, StageSchema, StagesQuerySchema,
)


class StageCandidateSchema(Schema):
    """A candidate in the stage, as the source listed them."""

    opportunity_id = fields.String(required=True)
    name = fields.String(allow_none=True)
    profile_url = fields.String(allow_none=True, metadata={"description": "The candidate's page in the ATS."})


class BackfillSchema(Schema):
    """What inviting the candidates already in the attachment's stage would do now (read live from
    the source). The counts are null when backfill is not available."""

    attachment_id = fields.Integer(required=True)
    available = fields.Boolean(required=True, metadata={
        "description": "Whether the connected source can list the candidates of a stage."})
    unavailable_reason = fields.String(allow_none=True)
    provider_problem = fields.String(allow_none=True, metadata={
        "description": "Why the attachment's provider cannot invite now (disabled, not connected...); "
                       "a backfill is refused (409) until it can."})
    source = fields.String(allow_none=True)
    in_stage = fields.Integer(allow_none=True, metadata={"description": "Candidates in the stage now, not archived."})
    already_invited = fields.Integer(allow_none=True, metadata={
        "description": "Of those, candidates with an invitation for this attachment (any status)."})
    already_queued = fields.Integer(allow_none=True, metadata={
        "description": "Candidates without an invitation whose earlier backfill is still being delivered "
                       "(pending, running or waiting for a retry): not queued again."})
    to_invite = fields.Integer(allow_none=True, metadata={
        "description": "Candidates in the stage without an invitation: what a backfill queues. Send it back "
                       "as expected to the POST to be refused (409) if more are to invite by then."})
    invite_again = fields.Integer(allow_none=True, metadata={
        "description": "Of to_invite, candidates an earlier backfill did not invite (its delivery failed for good, "
                       "was cancelled, or found the candidate no longer in the stage): queued again, under a new "
                       "event id."})
    opportunity_ids = fields.List(fields.String(), metadata={"description": "The ids of the candidates to invite."})
    candidates = fields.List(fields.Nested(StageCandidateSchema), metadata={
        "description": "The candidates to invite, in the order of opportunity_ids, with the name and ATS page the "
                       "source gave (null where it gave none; profile_url also null for a link that is not http(s))."})
    limit = fields.Integer(metadata={"description": "The most candidates one backfill handles."})


class BackfillResultSchema(Schema):
    """What a backfill did: one stage-change event (and delivery to the provider) per candidate queued."""

    attachment_id = fields.Integer(required=True)
    queued = fields.Integer(required=True)
    already_invited = fields.Integer(required=True)
    already_queued = fields.Integer(required=True)
    opportunity_ids = fields.List(fields.String(), metadata={"description": "The candidates queued now."})
    candidates = fields.List(fields.Nested(StageCandidateSchema), metadata={
        "description": "The candidates queued now, in the order of opportunity_ids, as the census lists them."})
    message = fields.String(required=True)


@bp.errorhandler(AttachmentDetached)
def attachment_detached(exc: AttachmentDetached):
    """A 404 for a detached attachment from any API endpoint (the lookup before the work, or the
    engine's again during a backfill) says how an API client attaches it again, not the admin
    pages' "on Pipeline". The app's ``HubError`` handler answers it (envelope, rollback)."""
    reworded = NotFound(exc.saying(f"with POST {url_for('api.create_attachment')}"))
    return current_app.handle_user_exception(reworded)


@bp.get("/attachments")
@require("pipeline.view")
def list_attachments():
    return jsonify({"items": AttachmentSchema(many=True).dump(queries.attachments(current_user.workspace_id))})


def _save(values: dict, attachment_id: int | None, current_options: dict | None = None,
          expected: dict | None = None, current=None):
    """``current``: the attachment being changed, as read (``resolve_attachment`` keeps its names
    for what is unchanged and cannot be read now)."""
    ws = current_user.workspace_id
    try:
        resolved = resolve_attachment(ws, values["posting_id"], values["stage_id"], values["provider"],
                                      values["assessment_id"], values.get("options") or {}, current_options,
                                      current=current)
    except LiveError as exc:
        raise live_error(exc) from None
    except ValidationFailed as exc:
        raise _in_the_body(exc) from None
    return services.save_attachment(ws, resolved, current_user, attachment_id=attachment_id, expected=expected)


def _in_the_body(exc: ValidationFailed) -> ValidationFailed:
    """The attach form's choices refused (``resolve_attachment``), named as the API's body has them:
    an option as ``options.<name>``, as the body's own validation names it."""
    options = ApiAttachmentOptionsSchema().fields
    named = {f"options.{name}" if name in options else name: messages for name, messages in exc.fields.items()}
    return ValidationFailed(f"{CHOICES_NOT_VALID}: " + ", ".join(sorted(named)), named)


@bp.post("/attachments")
@require("pipeline.manage")
def create_attachment():
    row = _save(load_body(AttachmentInSchema), None)
    response = jsonify(AttachmentSchema().dump(row))
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_attachment", attachment_id=row.id)
    return response


@bp.get("/attachments/<int:attachment_id>")
@require("pipeline.view")
def get_attachment(attachment_id: int):
    return jsonify(AttachmentSchema().dump(queries.get_attachment(current_user.workspace_id, attachment_id)))


# times a PUT merges its change again onto an attachment another request changed meanwhile
MERGE_ATTEMPTS = 5


@bp.put("/attachments/<int:attachment_id>")
@require("pipeline.manage")
def update_attachment(attachment_id: int):
    """Fields left out keep their value, and so do options left out of ``options``: it is merged key
    by key (an option given as null is cleared; ``resolve_attachment`` drops null values). A stored
    option the source no longer acts on is dropped, as the edit form, which no longer shows it, does.

    The merge is onto what is stored when the change is written: the vendors are asked between the
    read and the write, and another request may save the same attachment meanwhile (two scripts
    changing two options). Saving onto the stale read would undo its change, so the save is refused
    (``AttachmentChanged``) and the change merged again onto the new read; a field both requests
    send keeps the last one saved. A detach meanwhile answers 404 as it would have before.

    What the PUT leaves as it is keeps its stored name when its vendor cannot be asked (no ATS
    enabled, the provider disabled or failing: ``resolve_attachment``'s ``current``), so an option
    can be changed meanwhile; a change of the posting, stage or assessment is still checked."""
    ws = current_user.workspace_id
    queries.get_attachment(ws, attachment_id)
    given = load_body(AttachmentInSchema, partial=True)
    patch = given.pop("options", {})
    for _ in range(MERGE_ATTEMPTS):
        row = stored_attachment(ws, attachment_id, fresh=True)  # as saved by now, not the session's copy
        expected = services.attachment_fields(row)
        current = dict(row.options or {})
        acted_on = source_attachment_options(ws)
        kept = {name: value for name, value in current.items()
                if name not in SOURCE_ATTACHMENT_OPTIONS or name in acted_on}
        values = {"posting_id": row.posting_id, "stage_id": row.stage_id, "provider": row.provider,
                  "assessment_id": row.assessment_id, **given, "options": {**kept, **patch}}
        try:
            saved = _save(values, attachment_id, current, expected, current=row)
        except services.AttachmentChanged:
            continue
        return jsonify(AttachmentSchema().dump(saved))
    raise services.AttachmentChanged()


@bp.delete("/attachments/<int:attachment_id>")
@require("pipeline.manage")
def delete_attachment(attachment_id: int):
    load_body(EmptySchema)  # no body, or {}: as an action's, a field sent is refused, not ignored
    # a second DELETE says the attachment was detached, as GET and PUT on it do
    queries.get_attachment(current_user.workspace_id, attachment_id)
    services.detach(current_user.workspace_id, attachment_id, current_user)
    response = current_app.response_class(status=204)
    del response.headers["Content-Type"]  # no body, so no type (Flask's default would say text/html)
    return response


@bp.get("/postings")
@require("pipeline.view")
def postings():
    try:
        items = list_postings(current_user.workspace_id)
    except LiveError as exc:
        raise live_error(exc) from None
    return jsonify({"items": PostingSchema(many=True).dump(items)})


@bp.get("/stages")
@require("pipeline.view")
@takes_query(StagesQuerySchema)
def stages():
    query = query_args()
    try:
        items = list_stages(current_user.workspace_id, query.get("posting_id"))
    except LiveError as exc:
        raise live_error(exc) from None
    return jsonify({"items": StageSchema(many=True).dump(items)})


@bp.get("/assessments")
@require("pipeline.view")
def assessments():
    found, errors = list_assessments(current_user.workspace_id)
    items = [{"provider": plugin, "id": a.id, "name": a.name, "duration_minutes": a.duration_minutes,
              "max_score": a.max_score} for plugin, a in found]
    return jsonify({"items": AssessmentSchema(many=True).dump(items), "errors": errors})


@bp.get("/attachments/<int:attachment_id>/backfill")
@require("pipeline.view")
def get_backfill(attachment_id: int):
    ws = current_user.workspace_id
    queries.get_attachment(ws, attachment_id)
    runtime = get_runtime()
    reason = backfill.unavailable_reason(runtime, ws)
    if reason is not None:
        unavailable = backfill.unavailable_dict(attachment_id, reason, backfill.max_candidates(runtime))
        return jsonify(BackfillSchema().dump(unavailable))
    return jsonify(BackfillSchema().dump(backfill.census(runtime, ws, attachment_id).as_dict()))


@bp.post("/attachments/<int:attachment_id>/backfill")
@require("pipeline.manage")
def run_backfill(attachment_id: int):
    """Queue the invitations; with ``expected`` (the ``to_invite`` the client saw), 409
    ``stage_changed`` and nothing queued when more are to invite now."""
    body = load_body(BackfillRunSchema)
    ws = current_user.workspace_id
    queries.get_attachment(ws, attachment_id)
    outcome = backfill.run(get_runtime(), ws, attachment_id, current_user, expected=body.get("expected"))
    return jsonify(BackfillResultSchema().dump(outcome.as_dict()))
