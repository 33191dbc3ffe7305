"""Webhook ingress: ``POST /webhooks/<plugin>/<key>``, where every vendor webhook enters the hub.

1. Find the enabled integration by its unguessable key (404 otherwise: nothing is processed for a
   revoked connection).
2. Let that plugin verify and parse the request (``verify_webhook``); a rejection answers the
   plugin's 4xx with a JSON error and is recorded for admins, without the body's secrets.
3. Ingest each event durably (``hub.engine.ingest``); a redelivery answers 200 "duplicate".
4. Answer quickly; workers do the rest. A database outage answers 503 so the sender retries.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from hub.engine.ingest import ingest
from hub.entities import WebhookRequest, WebhookResult
from hub.errors import HubError, NotFound, PluginError, ServiceUnavailable, WebhookRejected
from hub.extensions import csrf, db
from hub.runtime import get_runtime
from hub.store.models import Integration, WebhookLog, utcnow

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)
log = logging.getLogger("hub.web.webhooks")


def _record(integration: Integration, outcome: str, status: int, message: str, count: int = 0) -> None:
    db.session.add(WebhookLog(workspace_id=integration.workspace_id, plugin=integration.plugin, outcome=outcome,
                              status_code=status, message=message[:1000], event_count=count))


@bp.post("/webhooks/<plugin>/<key>")
def receive(plugin: str, key: str):
    runtime = get_runtime()
    integration = db.session.scalar(sa.select(Integration).where(Integration.webhook_key == key,
                                                                 Integration.plugin == plugin))
    if integration is None or not integration.enabled or plugin not in runtime.registry.specs:
        runtime.metrics.webhook(plugin if plugin in runtime.registry.specs else "unknown", "rejected", "unknown_url")
        raise NotFound("no enabled integration listens at this URL")
    if not runtime.registry.implements(plugin, "verify_webhook"):
        raise NotFound(f"plugin {plugin} does not accept webhooks")

    webhook = WebhookRequest(body=request.get_data(cache=False), headers=dict(request.headers),
                             received_at=utcnow(), remote_addr=request.remote_addr)
    ctx = runtime.context(integration.workspace_id, plugin)
    try:
        result = runtime.registry.call(plugin, "verify_webhook", ctx=ctx, request=webhook)
    except WebhookRejected as exc:
        db.session.rollback()
        _record(integration, "rejected", exc.status, exc.message)
        db.session.commit()
        runtime.metrics.webhook(plugin, "rejected", exc.code)
        log.info("webhook rejected for %s: %s", plugin, exc.message, extra={"workspace_id": integration.workspace_id})
        raise
    except PluginError as exc:  # TemporaryError and the rest: the sender should try again later
        db.session.rollback()
        _record(integration, "rejected", 503, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        runtime.metrics.webhook(plugin, "rejected", "temporary")
        raise ServiceUnavailable(f"cannot process this webhook now: {exc}") from exc
    if not isinstance(result, WebhookResult):
        raise HubError(f"plugin {plugin} returned {type(result).__name__} from verify_webhook, not a WebhookResult")

    integration = db.session.get(Integration, integration.id)
    now = utcnow()
    integration.last_webhook_at = now
    if result.ping:
        integration.verified_at = now
        _record(integration, "ping", 200, result.note or "connection verified")
        db.session.commit()
        runtime.metrics.webhook(plugin, "ping")
        return jsonify(status="verified")
    if not result.events:
        _record(integration, "ignored", 200, result.note or "no event the hub uses")
        db.session.commit()
        runtime.metrics.webhook(plugin, "ignored", result.note[:40] if result.note else "")
        return jsonify(status="ignored", message=result.note or "no event the hub uses")
    db.session.commit()

    outcomes = [ingest(runtime, integration.workspace_id, plugin, inbound) for inbound in result.events]
    accepted = sum(1 for o in outcomes if not o.duplicate)
    overall = "duplicate" if accepted == 0 else "accepted"
    _record(db.session.get(Integration, integration.id), overall, 200,
            ", ".join(f"{i.event.type}:{o.outcome}" for i, o in zip(result.events, outcomes)), len(outcomes))
    db.session.commit()
    runtime.metrics.webhook(plugin, overall)
    return jsonify(status=overall, events=[{"type": i.event.type, "outcome": o.outcome, "event_id": o.event_id}
                                           for i, o in zip(result.events, outcomes)])
