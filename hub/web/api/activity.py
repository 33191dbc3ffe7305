"""``/api/v1/activity`` (events with their deliveries, payloads redacted) and delivery replay
(one delivery, or all dead or cancelled ones)."""

from __future__ import annotations

from typing import Callable

from flask import jsonify
from flask_login import current_user

from hub import services
from hub.runtime import get_runtime
from hub.store.models import Event
from hub.web import queries
from hub.web.api import bp
from hub.web.api.common import (
    invalid_body_value, invalid_query_value, load_body, older_than, query_args, takes_query,
)
from hub.web.permissions import require
from hub.errors import ValidationFailed
from hub.web.schemas import (
    ActivityQuerySchema, BulkReplayInSchema, BulkReplayResultSchema, DeliverySchema, EmptySchema, EventSchema,
)


def event_dict(row) -> dict:
    return {"id": row.id, "source_plugin": row.source_plugin, "type": row.type, "external_id": row.external_id,
            "subject": row.subject, "outcome": row.outcome, "received_at": row.received_at,
            "payload": queries.redact(row.payload or {}),
            "deliveries": sorted(row.deliveries, key=lambda d: (d.plugin, d.id))}


def _check_plugin(plugin: str | None, refusal: Callable[[str, str], ValidationFailed]) -> None:
    """422 naming ``plugin`` unless it is installed or has events here (Activity's filter offers
    those: one uninstalled since keeps its history): a misspelt name is not an empty list.
    ``refusal`` words it as a query parameter's or a body field's (``invalid_query_value``)."""
    if plugin is None:
        return
    if plugin not in queries.plugin_choices(current_user.workspace_id, get_runtime().registry.names(), plugin):
        raise refusal("plugin", f"no plugin named {plugin!r} is installed or has events here")


@bp.get("/activity")
@require("activity.view")
@takes_query(ActivityQuerySchema)
def activity():
    args = query_args()
    ws = current_user.workspace_id
    _check_plugin(args.get("plugin"), invalid_query_value)
    about = queries.opportunity_or_event_id(args["about"], ws) if args.get("about") else None
    events = queries.events_query(ws, plugin=args.get("plugin"), status=args.get("status"), about=about)
    page = queries.paginate(older_than(events, Event.id, args), args["page"], args["per_page"])
    return jsonify({"items": EventSchema(many=True).dump([event_dict(e) for e in page.items]),
                    "page": page.page, "per_page": page.per_page, "total": page.total, "pages": page.pages,
                    "pending": queries.work_pending(ws)})


@bp.post("/deliveries/<id64:delivery_id>/replay")
@require("deliveries.replay")
def replay(delivery_id: int):
    load_body(EmptySchema)
    ws = current_user.workspace_id
    queries.get_delivery(ws, delivery_id)
    services.replay_delivery(get_runtime(), ws, delivery_id, current_user)
    return jsonify(DeliverySchema().dump(queries.get_delivery(ws, delivery_id)))


@bp.post("/deliveries/replay")
@require("deliveries.replay")
def replay_all():
    """Replay every dead delivery (``status: dead``) or every one cancelled by a disable or revoke
    of a plugin enabled again (``cancelled``), of ``plugin``'s events if given, at most ``limit``
    per call (``services.replay_all``, as Activity's "Replay all"). One that cannot be replayed
    (its plugin is disabled, or cannot sign in to its vendor: ``services.cannot_authenticate``) is
    listed in ``skipped`` with the reason."""
    args = load_body(BulkReplayInSchema)
    runtime = get_runtime()
    plugin = args.get("plugin")
    _check_plugin(plugin, invalid_body_value)
    result = services.replay_all(runtime, current_user.workspace_id, args["status"], current_user, plugin=plugin,
                                 limit=args["limit"])
    return jsonify(BulkReplayResultSchema().dump({
        "status": result.status, "replayed": result.replayed, "remaining": result.remaining,
        "skipped": [{"id": delivery_id, "reason": reason} for delivery_id, reason in result.skipped]}))
