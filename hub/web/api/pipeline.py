"""``/api/v1/attachments`` and the live lists behind them: ``/postings``, ``/stages``, ``/assessments``."""

from __future__ import annotations

from flask import jsonify, url_for
from flask_login import current_user

from hub import services
from hub.web import queries
from hub.web.api import bp
from hub.web.api.common import live_error, load_body, load_query
from hub.web.live import LiveError, list_assessments, list_postings, list_stages, resolve_attachment
from hub.web.permissions import require
from hub.web.schemas import (
    AssessmentSchema, AttachmentInSchema, AttachmentSchema, PostingSchema, StageSchema, StagesQuerySchema,
)


@bp.get("/attachments")
@require("pipeline.view")
def list_attachments():
    return jsonify({"items": AttachmentSchema(many=True).dump(queries.attachments(current_user.workspace_id))})


def _save(values: dict, attachment_id: int | None, current_options: dict | None = None):
    ws = current_user.workspace_id
    try:
        resolved = resolve_attachment(ws, values["posting_id"], values["stage_id"], values["provider"],
                                      values["assessment_id"], values.get("options") or {}, current_options)
    except LiveError as exc:
        raise live_error(exc) from None
    return services.save_attachment(ws, resolved, current_user, attachment_id=attachment_id)


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


@bp.put("/attachments/<int:attachment_id>")
@require("pipeline.manage")
def update_attachment(attachment_id: int):
    row = queries.get_attachment(current_user.workspace_id, attachment_id)
    given = load_body(AttachmentInSchema, partial=True)
    current = dict(row.options or {})
    # Fields left out keep their value, and so do options left out of ``options``: it is merged key
    # by key (an option given as null is cleared; ``resolve_attachment`` drops null values).
    options = {**current, **given.pop("options", {})}
    values = {"posting_id": row.posting_id, "stage_id": row.stage_id, "provider": row.provider,
              "assessment_id": row.assessment_id, **given, "options": options}
    return jsonify(AttachmentSchema().dump(_save(values, attachment_id, current)))


@bp.delete("/attachments/<int:attachment_id>")
@require("pipeline.manage")
def delete_attachment(attachment_id: int):
    services.detach(current_user.workspace_id, attachment_id, current_user)
    return "", 204


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
def stages():
    query = load_query(StagesQuerySchema)
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
