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
from datetime import timedelta

import sqlalchemy as sa
from flask import Blueprint, jsonify, request

from hub.context import PluginContext
from hub.engine.ingest import stage_event
from hub.entities import WebhookRequest, WebhookResult
from hub.errors import HubError, NotFound, PluginError, ServiceUnavailable, WebhookRejected
from hub.extensions import csrf, db
from hub.runtime import get_runtime
from hub.store.models import Integration, WebhookLog, utcnow

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)
log = logging.getLogger("hub.web.webhooks")


LAST_SEEN_GRANULARITY = timedelta(seconds=30)  # "last event seen" need not cost a row update per webhook


def _record(workspace_id: int, plugin: str, outcome: str, status: int, message: str, count: int = 0) -> None:
    db.session.add(WebhookLog(workspace_id=workspace_id, plugin=plugin, outcome=outcome, status_code=status,
                              message=message[:1000], event_count=count))


def _mark_seen(integration_id: int, last_seen, now, verified: bool) -> None:
    """Update "last webhook seen" (at most every 30 s: a row every webhook updated would be a hot
    spot under load) and, for a connection test, "verified"."""
    if not verified and last_seen is not None and now - last_seen < LAST_SEEN_GRANULARITY:
        return
    values = {"last_webhook_at": now, **({"verified_at": now} if verified else {})}
    db.session.execute(sa.update(Integration).where(Integration.id == integration_id).values(**values))


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
    workspace_id, integration_id, last_seen = integration.workspace_id, integration.id, integration.last_webhook_at

    webhook = WebhookRequest(body=request.get_data(cache=False), headers=dict(request.headers),
                             received_at=utcnow(), remote_addr=request.remote_addr)
    ctx = PluginContext(runtime, integration)
    db.session.commit()  # hold no transaction while the plugin verifies (it may re-read from its vendor)
    try:
        result = runtime.registry.call(plugin, "verify_webhook", ctx=ctx, request=webhook)
    except WebhookRejected as exc:
        db.session.rollback()
        _record(workspace_id, plugin, "rejected", exc.status, exc.message)
        db.session.commit()
        runtime.metrics.webhook(plugin, "rejected", exc.code)
        log.info("webhook rejected for %s: %s", plugin, exc.message, extra={"workspace_id": workspace_id})
        raise
    except PluginError as exc:  # TemporaryError and the rest: the sender should try again later
        db.session.rollback()
        _record(workspace_id, plugin, "rejected", 503, f"{type(exc).__name__}: {exc}")
        db.session.commit()
        runtime.metrics.webhook(plugin, "rejected", "temporary")
        raise ServiceUnavailable(f"cannot process this webhook now: {exc}") from exc
    if not isinstance(result, WebhookResult):
        raise HubError(f"plugin {plugin} returned {type(result).__name__} from verify_webhook, not a WebhookResult")

    # Everything below is ONE transaction: the log line, "last seen", the events and deliveries.
    _mark_seen(integration_id, last_seen, utcnow(), verified=result.ping)
    if result.ping or not result.events:
        outcome = "ping" if result.ping else "ignored"
        message = result.note or ("connection verified" if result.ping else "no event the hub uses")
        _record(workspace_id, plugin, outcome, 200, message)
        db.session.commit()
        runtime.metrics.webhook(plugin, outcome, "" if result.ping else message[:40])
        return jsonify(status="verified") if result.ping else jsonify(status="ignored", message=message)

    outcomes = [stage_event(runtime, workspace_id, plugin, inbound) for inbound in result.events]
    accepted = sum(1 for o in outcomes if not o.duplicate)
    overall = "duplicate" if accepted == 0 else "accepted"
    _record(workspace_id, plugin, overall, 200,
            ", ".join(f"{i.event.type}:{o.outcome}" for i, o in zip(result.events, outcomes)), len(outcomes))
    db.session.commit()
    runtime.wake([delivery_id for o in outcomes for delivery_id in o.delivery_ids])
    runtime.metrics.webhook(plugin, overall)
    return jsonify(status=overall, events=[{"type": i.event.type, "outcome": o.outcome, "event_id": o.event_id}
                                           for i, o in zip(result.events, outcomes)])
