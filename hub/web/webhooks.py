"""Webhook ingress: ``POST /webhooks/<plugin>/<key>``, where every vendor webhook enters the hub.

1. Find the integration by its unguessable key. An unknown key (a revoked connection's old URL)
   answers 404. So does a disabled integration, after a "rejected" line in its webhook log (what
   arrived while it was disabled was not processed; the sender retries, and Lever's webhook
   history can rerun it once the integration is enabled again).
2. Let that plugin verify and parse the request (``verify_webhook``); a rejection answers the
   plugin's 4xx with a JSON error and is recorded for admins, without the body's secrets. A body
   holding text the database cannot store (``hub.web.input_guard``) is rejected the same way,
   before the plugin sees it. A plugin that fails otherwise (a bug: an exception, or an answer
   that is not a ``WebhookResult`` of ``InboundEvent`` items) answers a JSON 500, so the sender
   retries, and is recorded too, in words (never the exception's text, which may quote the body).
3. Make each event durable (``hub.engine.ingest``) together with the request's log line, through
   the group commit (``hub.engine.group_commit``): concurrent webhooks share a transaction, and
   each is answered only after the commit that holds it. A redelivery answers 200 "duplicate".
4. Answer quickly; workers do the rest. A database outage answers 503 so the sender retries.

Verification is optimistic: the integration (settings, secrets) is read from a per-process cache,
and the transaction that stores the webhook checks that the integration is still enabled and
unchanged since (same ``updated_at`` and key). If it changed (new settings or token, disabled,
new URL), nothing is stored and the request is verified again against a fresh read. So the hot
path reads nothing from the database, and a change is never missed.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Iterable, Sequence

import sqlalchemy as sa
from flask import Blueprint, g, jsonify, request

from hub.context import PluginContext
from hub.engine.group_commit import GroupCommit, GroupCommitTimeout
from hub.engine import pipelined_ingest
from hub.engine.ingest import (
    KEY_COLUMNS, IngestOutcome, Staged, claim, enabled_plugins, has_owned_effects, key_rows as ingest_keys, plan,
    report, seen_keys, stage_events, workspace_integrations,
)
from hub.entities import HubEvent, InboundEvent, WebhookRequest, WebhookResult
from hub.errors import HubError, NotFound, PluginError, ServiceUnavailable, WebhookRejected
from hub.extensions import csrf, db
from hub.runtime import get_runtime
from hub.store.bulk import insert_rows
from hub.store.crypto import SecretsUnreadable
from hub.web.input_guard import unstorable_body
from hub.store.dedicated import DedicatedConnections
from hub.store.outage import database_unavailable
from hub.store.models import Delivery, Event, EventKey, Integration, WebhookLog, utcnow
from hub.words import with_article

bp = Blueprint("webhooks", __name__)
csrf.exempt(bp)
log = logging.getLogger("hub.web.webhooks")


LAST_SEEN_GRANULARITY = timedelta(seconds=30)  # "last event seen" need not cost a row update per webhook
MAX_LOG_MESSAGE = 1000

MAX_CACHED_INTEGRATIONS = 1000
VERIFY_ATTEMPTS = 3  # the integration changed under the request this often in a row: 503

# what PluginContext and the ingress read of an integration (a row, not an ORM object: cheaper)
_INTEGRATION_COLUMNS = (Integration.id, Integration.workspace_id, Integration.plugin, Integration.enabled,
                        Integration.settings, Integration.secrets_encrypted, Integration.webhook_key,
                        Integration.last_webhook_at, Integration.verified_at, Integration.updated_at)

STALE = "stale"  # persist's answer for a record verified against an integration that has changed


@dataclass(frozen=True)
class WebhookRecord:
    """What one webhook request leaves in the database: its log line, "last seen" and, when it
    was accepted, its events. ``outcome`` is "events", "ping", "ignored" or "rejected"."""

    workspace_id: int
    integration_id: int
    plugin: str
    webhook_key: str
    version: datetime | None  # the integration's ``updated_at`` the request was verified against
    last_seen: datetime | None
    outcome: str
    status: int = 200
    message: str = ""
    events: tuple[InboundEvent, ...] = ()
    verified: bool = False  # the integration had been verified (a ping or a signed webhook) before
    seen_ids: tuple[str, ...] = ()  # ids of a request without events, remembered for deduplication
    enabled: bool = True  # the integration was enabled when the request was verified (else: refused)
    body_digest: str | None = None  # ``body_digest`` of the request's body


_WEBHOOK_LOG, _EVENT_KEYS, _EVENTS, _DELIVERIES = (WebhookLog.__table__, EventKey.__table__, Event.__table__,
                                                    Delivery.__table__)


def _check(records: Sequence[WebhookRecord], rows) -> tuple[list[bool], dict[int, set[str]]]:
    """For each record, is its integration (in ``rows``, the integrations of the records'
    workspaces) still as the request found it: enabled (or disabled, for a refused request), at
    the same URL and version? And the enabled plugins of each workspace (for the deliveries)."""
    workspaces = {r.workspace_id for r in records}
    current = {row.id: row for row in rows}
    unchanged = [(row := current.get(r.integration_id)) is not None and bool(row.enabled) == r.enabled
                 and row.webhook_key == r.webhook_key and row.updated_at == r.version for r in records]
    return unchanged, enabled_plugins(rows, workspaces)


@dataclass
class _Accounts:
    """What a batch leaves besides its events: each record's result, the log lines, and the
    integrations whose "last seen" (and "verified") must be written: ``(id, verified)``."""

    results: list
    log_rows: list[dict]
    seen: list[tuple[int, bool]]


def _account(runtime, records: Sequence[WebhookRecord], unchanged: Sequence[bool],
             outcomes: Sequence[IngestOutcome], now: datetime) -> _Accounts:
    """Each record's result (its events' outcomes, in order, or ``STALE``), its log line, and
    "last seen" / "verified" for the integrations (``_seen_marks``)."""
    staged = iter(outcomes)
    results: list[list[IngestOutcome] | str] = []
    log_rows = []
    for record, ok in zip(records, unchanged):
        if not ok:
            results.append(STALE)
            continue
        mine = [next(staged) for _ in record.events]
        results.append(mine)
        outcome, message = record.outcome, record.message
        if record.outcome == "events":
            outcome = "accepted" if any(not o.duplicate for o in mine) else "duplicate"
            message = ", ".join(f"{i.event.type}:{o.outcome}" for i, o in zip(record.events, mine))
        log_rows.append({"workspace_id": record.workspace_id, "plugin": record.plugin, "received_at": now,
                         "outcome": outcome, "status_code": record.status,
                         "message": message[:MAX_LOG_MESSAGE], "event_count": len(mine),
                         "body_digest": record.body_digest})
    return _Accounts(results, log_rows, _seen_marks(runtime, records, unchanged, now))


def _seen_marks(runtime, records: Sequence[WebhookRecord], unchanged: Sequence[bool],
                now: datetime) -> list[tuple[int, bool]]:
    """The integrations of the (unchanged, not rejected) ``records`` whose "last seen" is due at
    ``now``, or which they prove verified, as ``(id, verified)``. "Last webhook seen" is written
    at most every 30 s (a row updated per webhook would be a hot spot). Verified: by a ping, or
    by the first accepted signed webhook of an integration not verified yet.

    A pure reading of the records and of what this process noted: the handler asks it what to
    write, and ``_after_commit`` asks it again what to note once the batch is committed."""
    written, first_verified = _seen_by_this_process(runtime)
    seen: dict[int, tuple[bool, bool]] = {}
    for record, ok in zip(records, unchanged):
        if not ok or record.outcome == "rejected":
            continue
        verified, stale = seen.get(record.integration_id, (False, False))
        last = max(filter(None, (record.last_seen, written.get(record.integration_id))), default=None)
        is_stale = last is None or now - last >= LAST_SEEN_GRANULARITY
        # the sender's "verify connection" ping, or the first signed webhook of an integration
        # never verified (vendors without a ping), proves that webhooks arrive
        proves = record.outcome == "ping" or not (record.verified
                                                  or (record.integration_id, record.version) in first_verified)
        seen[record.integration_id] = (verified or proves, stale or is_stale)
    return [(i, verified) for i, (verified, stale) in seen.items() if verified or stale]


def _seen_by_this_process(runtime) -> tuple[dict[int, datetime], set[tuple[int, datetime | None]]]:
    """What this process wrote: each integration's "last seen", and the (integration, version)
    pairs it marked verified (a changed integration starts afresh)."""
    extensions = runtime.app.extensions
    return (extensions.setdefault("hub.webhook_last_seen", {}), extensions.setdefault("hub.webhook_verified", set()))


def _remember_seen(runtime, records: Sequence[WebhookRecord], results: list) -> None:
    """Note in this process what a committed batch wrote of "last seen" and "verified" (only
    once committed: a failed commit wrote nothing, and noting it would skip those writes for
    good). Asked again of ``_seen_marks``: if another batch noted something meanwhile, this one
    notes less, never something it did not write but "last seen" a moment later."""
    written, first_verified = _seen_by_this_process(runtime)
    now = utcnow()
    unchanged = [result != STALE for result in results]
    # a stale record's version is an older one: the unchanged records of an integration share its current one
    versions = {r.integration_id: r.version for r, ok in zip(records, unchanged) if ok}
    for integration_id, verified in _seen_marks(runtime, records, unchanged, now):
        written[integration_id] = now
        if verified:
            first_verified.add((integration_id, versions[integration_id]))


def persist(records: Sequence[WebhookRecord]) -> list[list[IngestOutcome] | str]:
    """Make ``records`` durable (the group commit's handler): every event, one log line per
    request, and "last seen" / "verified" for their integrations. Returns each record's event
    outcomes, in order, or ``STALE`` for a record whose integration changed since the request
    was verified (nothing of it is stored).

    On PostgreSQL a batch whose events the hub does not act on itself is written and committed
    here, on the ingress's own connection, in two round trips (``hub.engine.pipelined_ingest``);
    any other batch is staged in the current session, which the group commit commits."""
    runtime = get_runtime()
    connections = _dedicated_connections(runtime)
    if connections is not None and not any(has_owned_effects(i.event) for r in records for i in r.events):
        with connections.use() as connection:
            return _persist_pipelined(runtime, connection, records)
    return _persist_in_session(runtime, records)


def _persist_in_session(runtime, records: Sequence[WebhookRecord]) -> list[list[IngestOutcome] | str]:
    if db.engine.dialect.name == "postgresql":  # bounded as on the ingress's own connections
        milliseconds = max(1, int(float(runtime.config["INGEST_TIMEOUT_SECONDS"]) * 1000))
        db.session.execute(sa.text(f"SET LOCAL statement_timeout = {milliseconds}"))
    now = utcnow()
    workspaces = {r.workspace_id for r in records}
    unchanged, enabled = _check(records, workspace_integrations(db.session, workspaces))
    seen = _seen_keys(r for r, ok in zip(records, unchanged) if ok)
    if seen:  # before the events: an event of this batch naming one of them is a duplicate
        _, rows = ingest_keys((), seen)
        insert_rows(db.session.connection(), _EVENT_KEYS, rows, skip_conflicts=True)
    items = [Staged(r.workspace_id, r.plugin, inbound) for r, ok in zip(records, unchanged) if ok for inbound in r.events]
    accounts = _account(runtime, records, unchanged, stage_events(runtime, items, enabled=enabled), now)
    if accounts.log_rows:
        insert_rows(db.session.connection(), _WEBHOOK_LOG, accounts.log_rows)
    for integration_id, verified in accounts.seen:
        # not a change of the integration: ``updated_at`` stays, so cached verifications stay valid
        values = {"last_webhook_at": now, "updated_at": Integration.updated_at,
                  **({"verified_at": now} if verified else {})}
        db.session.execute(sa.update(Integration).where(Integration.id == integration_id).values(**values))
    return accounts.results


def _persist_pipelined(runtime, connection, records: Sequence[WebhookRecord]) -> list[list[IngestOutcome] | str]:
    dialect = db.engine.dialect
    stale: set[int] = set()  # records found stale: retried without them, so their keys stay unclaimed
    while True:
        now = utcnow()
        candidates = [r for n, r in enumerate(records) if n not in stale]
        items = [Staged(r.workspace_id, r.plugin, inbound) for r in candidates for inbound in r.events]
        seen = _seen_keys(candidates)
        keys, key_rows = ingest_keys(items, seen)
        most_deliveries = sum(len(runtime.registry.subscribers(i.inbound.event.hook)) for i in items)
        reserved = pipelined_ingest.reserve(connection, dialect, {r.workspace_id for r in records}, _EVENT_KEYS,
                                            key_rows, KEY_COLUMNS, len(items), most_deliveries)
        unchanged, enabled = _check(records, reserved.integrations)
        unchanged = [ok and n not in stale for n, ok in enumerate(unchanged)]
        newly_stale = {n for n, ok in enumerate(unchanged) if not ok and n not in stale}
        if newly_stale:  # rare: the integration changed under the batch; its keys must not be kept
            connection.execute("ROLLBACK")
            stale |= newly_stale
            continue
        fresh = claim(keys, reserved.inserted_keys, seen)
        staged = plan(runtime, items, fresh, {i: "accepted" for i, is_new in enumerate(fresh) if is_new}, enabled)
        for i, row, event_id in zip(staged.new, staged.event_rows, reserved.event_ids):
            row["id"] = staged.outcomes[i].event_id = event_id
        delivery_rows = staged.delivery_rows(items)  # in the order of the new items and their subscribers
        delivery_ids = iter(reserved.delivery_ids)
        for i in staged.new:
            staged.outcomes[i].delivery_ids = [next(delivery_ids) for _ in staged.subscribers[i]]
        for row, delivery_id in zip(delivery_rows, (d for i in staged.new for d in staged.outcomes[i].delivery_ids)):
            row["id"] = delivery_id
        accounts = _account(runtime, records, unchanged, staged.outcomes, now)
        pipelined_ingest.write_and_commit(
            connection, dialect, [(_EVENTS, staged.event_rows), (_DELIVERIES, delivery_rows),
                                  (_WEBHOOK_LOG, accounts.log_rows)], accounts.seen, now)
        report(runtime, items, staged)
        return accounts.results


def _seen_keys(records: Iterable[WebhookRecord]) -> set[tuple]:
    """The dedupe keys of the ``seen_ids`` of ``records``."""
    return {key for r in records for key in seen_keys(r.workspace_id, r.plugin, r.seen_ids)}


def _dedicated_connections(runtime) -> DedicatedConnections | None:
    """The ingress's own connections on PostgreSQL (None elsewhere: the session path)."""
    extensions = runtime.app.extensions
    if "hub.webhook_connections" not in extensions:
        engine = db.engine
        # a commit blocked (a lock held by a migration...) answers 503 after the ingest timeout,
        # as a webhook waiting behind it does, instead of holding its sender indefinitely
        timeout = float(runtime.config["INGEST_TIMEOUT_SECONDS"])
        extensions["hub.webhook_connections"] = (DedicatedConnections(engine, statement_timeout=timeout)
                                                 if engine.dialect.name == "postgresql" else None)
    return extensions["hub.webhook_connections"]


def _after_commit(records: Sequence[WebhookRecord], results: list) -> None:
    """Note what the committed batch wrote of "last seen" and "verified", and wake workers for
    every delivery it created (one queue round trip per batch; with an inline queue each request
    runs its own, see ``_inline_wake``)."""
    runtime = get_runtime()
    _remember_seen(runtime, records, results)
    delivery_ids = [d for outcomes in results if outcomes != STALE for o in outcomes for d in o.delivery_ids]
    if delivery_ids and not _inline_wake(runtime):
        runtime.wake(delivery_ids)


def _inline_wake(runtime) -> bool:
    """With an inline queue (tests), each request runs its own deliveries once answered, never
    while it commits for others: a delivery may call a vendor that calls this hub back."""
    return runtime.queue is None or bool(runtime.queue.huey.immediate)


def _group_commit(runtime) -> GroupCommit:
    extensions = runtime.app.extensions
    committer = extensions.get("hub.webhook_commit")
    if committer is None:
        config = runtime.config
        committer = extensions["hub.webhook_commit"] = GroupCommit(
            runtime.app, persist, after_commit=_after_commit,
            max_batch=int(config["INGEST_BATCH_MAX"]), committers=int(config["INGEST_COMMITTERS"]),
            timeout=float(config["INGEST_TIMEOUT_SECONDS"]),
            # every webhook of the batch would meet it again alone: all answer 503 at once
            shared_failure=database_unavailable)
    return committer


def _store(runtime, record: WebhookRecord) -> list[IngestOutcome] | str:
    try:
        return _group_commit(runtime).submit(record)
    except GroupCommitTimeout as exc:
        raise ServiceUnavailable(f"the hub could not store this webhook in time ({exc}); send it again") from exc


def _end_reads() -> None:
    """End the request's transaction, if the plugin opened one (with SQLite every transaction
    takes the write lock, which the commit of this request, run by another thread, may need)."""
    if db.session.registry.has():
        db.session.rollback()


def _integration_cache(runtime) -> dict:
    return runtime.app.extensions.setdefault("hub.webhook_integrations", {})


def _integration(runtime, plugin: str, key: str, fresh: bool):
    """The integration at ``/webhooks/<plugin>/<key>`` (cached unless ``fresh``, and only while
    enabled), or None. A disabled one is returned too: the caller refuses the request."""
    cache = _integration_cache(runtime)
    row = None if fresh else cache.get((plugin, key))
    if row is None:
        row = db.session.execute(sa.select(*_INTEGRATION_COLUMNS).where(
            Integration.webhook_key == key, Integration.plugin == plugin)).first()
        db.session.commit()  # hold no transaction while the plugin verifies (it may re-read from its vendor)
        if row is None or not row.enabled:
            cache.pop((plugin, key), None)
            return row
        if len(cache) >= MAX_CACHED_INTEGRATIONS:
            cache.clear()
        cache[(plugin, key)] = row
    return row


@bp.post("/webhooks/<plugin>/<key>")
def receive(plugin: str, key: str):
    """A webhook the hub could not store (503: the database away or too slow, the group commit
    timed out, the integration kept changing) is counted ``unavailable`` in
    ``hub_webhooks_received_total``, with the reason (``database`` or ``busy``), unless it was
    counted already (a rejection logged before the database failed)."""
    runtime = get_runtime()
    try:
        return _receive(runtime, plugin, key)
    except (ServiceUnavailable, sa.exc.DBAPIError, sa.exc.TimeoutError) as exc:  # what hub.web.errors answers 503
        if not g.get("webhook_counted"):
            source = plugin if plugin in runtime.registry.specs else "unknown"
            reason = "busy" if isinstance(exc, ServiceUnavailable) else "database"
            runtime.metrics.webhook(source, "unavailable", reason)
        raise


def _receive(runtime, plugin: str, key: str):
    if plugin not in runtime.registry.specs:
        runtime.metrics.webhook("unknown", "rejected", "unknown_url")
        raise NotFound("no enabled integration listens at this URL")
    webhook = WebhookRequest(body=request.get_data(cache=False), headers=dict(request.headers),
                             received_at=utcnow(), remote_addr=request.remote_addr)
    digest = body_digest(webhook.body)
    for attempt in range(VERIFY_ATTEMPTS):
        integration = _integration(runtime, plugin, key, fresh=attempt > 0)
        if integration is None:
            runtime.metrics.webhook(plugin, "rejected", "unknown_url")
            raise NotFound("no enabled integration listens at this URL")
        if not integration.enabled:
            if _refused_as_disabled(runtime, plugin, integration, digest):
                raise NotFound(DISABLED_MESSAGE.format(title=runtime.registry.spec(plugin).title))
            continue  # enabled (or changed) meanwhile: read it again
        if not runtime.registry.implements(plugin, "verify_webhook"):
            raise NotFound(f"plugin {plugin} does not accept webhooks")
        answer = _verify_and_store(runtime, plugin, integration, webhook, digest)
        if answer is not None:
            return answer
    raise ServiceUnavailable("the integration's settings kept changing while this webhook was verified; "
                             "send it again")


DISABLED_MESSAGE = "{title} is disabled in the hub: this webhook was not processed"


def _events_read(result):
    """``verify_webhook``'s answer with its events read into a tuple, once: a generator given as
    ``events`` is spent by the first reading, and the checks and the store must see the same
    events. Read where the hook is called, so an exception the reading raises is the plugin's, as
    the hook's own would be. Anything else is returned as it is (``_wrong_answer`` says what is wrong)."""
    if not isinstance(result, WebhookResult) or isinstance(result.events, tuple) \
            or not hasattr(result.events, "__iter__"):
        return result
    return dataclasses.replace(result, events=tuple(result.events))


def _wrong_answer(result) -> str | None:
    """What is wrong with ``verify_webhook``'s answer (after ``_events_read``), in words ("a list,
    not a WebhookResult"), or None when it is a ``WebhookResult`` whose events are ``InboundEvent``
    items of hub events (anything else would fail while the group commit stores it, with the other
    webhooks of its batch)."""
    if not isinstance(result, WebhookResult):
        return f"{with_article(type(result).__name__)}, not a WebhookResult"
    events = result.events
    if not isinstance(events, tuple):
        return f"a WebhookResult whose events are {with_article(type(events).__name__)}, not a tuple of InboundEvent items"
    for item in events:
        if not isinstance(item, InboundEvent):
            return (f"a WebhookResult with {with_article(type(item).__name__)} among its events, where an InboundEvent "
                    "belongs (InboundEvent(external_id=..., event=...))")
        if not isinstance(item.event, HubEvent):
            return (f"a WebhookResult with an InboundEvent whose event is {with_article(type(item.event).__name__)}, not one "
                    "of the hub's events (hub.entities)")
    return None


def body_digest(body: bytes) -> str:
    """What the webhook log keeps of a body (``WebhookLog.body_digest``): the first 128 bits of its
    SHA-256, in hex. A refused webhook whose sender sends the same body again, and has it taken, is
    no lost work."""
    return hashlib.sha256(body).hexdigest()[:32]


def _refused_as_disabled(runtime, plugin: str, integration, digest: str) -> bool:
    """Log a request to a disabled integration as rejected, unverified (its secrets are not
    used while disabled), and count it; False if the integration changed meanwhile."""
    _end_reads()
    message = DISABLED_MESSAGE.format(title=runtime.registry.spec(plugin).title)
    record = WebhookRecord(integration.workspace_id, integration.id, plugin, integration.webhook_key,
                           integration.updated_at, integration.last_webhook_at, "rejected", status=404,
                           message=message, enabled=False, body_digest=digest)
    if _store(runtime, record) == STALE:
        return False
    runtime.metrics.webhook(plugin, "rejected", "disabled")
    return True


def _verify_and_store(runtime, plugin: str, integration, webhook: WebhookRequest, digest: str):
    """Verify ``webhook`` against ``integration`` and store it; None if the integration changed
    meanwhile (verify again), else the response (or the error raised)."""

    def record(outcome: str, **fields) -> WebhookRecord:
        return WebhookRecord(integration.workspace_id, integration.id, plugin, integration.webhook_key,
                             integration.updated_at, integration.last_webhook_at, outcome,
                             verified=integration.verified_at is not None, body_digest=digest, **fields)

    def rejection_stored(status: int, message: str, reason: str, seen_ids: tuple[str, ...] = ()) -> bool:
        """Record a rejected webhook for admins and count it; False if the integration changed
        meanwhile (nothing stored: verify again)."""
        _end_reads()
        if _store(runtime, record("rejected", status=status, message=message, seen_ids=seen_ids)) == STALE:
            return False
        runtime.metrics.webhook(plugin, "rejected", reason)
        g.webhook_counted = True  # a 503 raised after this is not counted again (``receive``)
        return True

    try:
        if problem := unstorable_body(webhook.body):
            raise WebhookRejected(f"the request body contains {problem}, which the hub cannot store",
                                  status=400, code="unstorable_character")
        result = _events_read(runtime.registry.call(plugin, "verify_webhook", ctx=PluginContext(runtime, integration),
                                                    request=webhook))
    except WebhookRejected as exc:
        if not rejection_stored(exc.status, exc.message, exc.code, getattr(exc, "seen_ids", ())):
            return None
        log.info("webhook rejected for %s: %s", plugin, exc.message,
                 extra={"workspace_id": integration.workspace_id})
        raise
    except SecretsUnreadable as exc:  # this process's keys (``HUB_ENCRYPTION_KEYS``), not the plugin
        log.error("webhook for %s not verified: %s", plugin, exc, extra={"workspace_id": integration.workspace_id})
        if not rejection_stored(503, f"not verified: {exc}", "secrets_unreadable"):
            return None
        raise ServiceUnavailable("the hub cannot verify this webhook now (this process cannot read the stored "
                                 "secrets); send it again later") from exc
    except PluginError as exc:  # TemporaryError and the rest: the sender should try again later
        if not rejection_stored(503, f"{type(exc).__name__}: {exc}", "temporary"):
            return None
        raise ServiceUnavailable(f"cannot process this webhook now: {exc}") from exc
    except sa.exc.DBAPIError as exc:  # the database failed under the plugin: 503, as the answer says
        if not rejection_stored(503, f"the hub's database failed while the plugin verified the webhook: "
                                     f"{type(exc).__name__} (the hub's log has the details)", "database"):
            return None
        raise
    except Exception as exc:  # a bug in the plugin: 500 (the sender retries), logged, and shown to admins
        # the exception's text may quote the body: the log line names its type only
        if not rejection_stored(500, f"the plugin failed: {type(exc).__name__} (the hub's log has the details)",
                                "plugin_error"):
            return None
        raise
    if (wrong := _wrong_answer(result)) is not None:  # a bug in the plugin: as an exception above, in words
        log.error("webhook for %s not processed: its verify_webhook returned %s", plugin, wrong,
                  extra={"workspace_id": integration.workspace_id})
        if not rejection_stored(500, f"the plugin failed: its verify_webhook returned {wrong} (a bug in the plugin)",
                                "plugin_error"):
            return None
        raise HubError(f"the hub's {plugin} plugin failed on this webhook (its verify_webhook returned {wrong}); "
                       "send it again later", status=500, code="internal_error")
    _end_reads()

    if result.ping or not result.events:
        outcome = "ping" if result.ping else "ignored"
        message = result.note or ("connection verified" if result.ping else "no event the hub uses")
        if _store(runtime, record(outcome, message=message, seen_ids=result.seen_ids)) == STALE:
            return None
        runtime.metrics.webhook(plugin, outcome)  # the note is free text, for the webhook log: never a label
        return jsonify(status="verified") if result.ping else jsonify(status="ignored", message=message)

    outcomes = _store(runtime, record("events", events=tuple(result.events)))
    if outcomes == STALE:
        return None
    overall = "accepted" if any(not o.duplicate for o in outcomes) else "duplicate"
    if _inline_wake(runtime):
        runtime.wake([delivery_id for o in outcomes for delivery_id in o.delivery_ids])
    runtime.metrics.webhook(plugin, overall)
    return jsonify(status=overall, events=[{"type": i.event.type, "outcome": o.outcome, "event_id": o.event_id}
                                           for i, o in zip(result.events, outcomes)])
