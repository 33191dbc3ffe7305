"""Periodic work every worker process runs (each step is safe to run concurrently):

- re-dispatch deliveries that are due but were never picked up, and running ones whose lease ran
  out (a worker died; each such orphan is turned back into a due retry and woken once): the
  engine's crash safety. While the queue holds wake-ups, a due delivery is woken again only once
  it has waited ``STALLED_AFTER_SECONDS`` (its wake-up was lost), at most once per that period;
- reconciliation: ask each enabled plugin implementing ``reconcile`` for missed events (a list of
  ``InboundEvent`` items: anything else is logged as the plugin's mistake, in words);
- retention: purge events and webhook logs older than ``RETENTION_DAYS`` and dedupe keys older
  than the dedupe window (``hub.engine.ingest.dedupe_window``), except a key that is the id of an
  event still kept.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import sqlalchemy as sa

from hub.engine.ingest import dedupe_window
from hub.engine.runner import log_fields
from hub.errors import Deferred
from hub.extensions import db
from hub.store.models import (
    D_DEAD, D_OPEN, D_PENDING, D_RETRY, D_RUNNING, Delivery, Event, EventKey, Integration, Lock, SignInThrottle,
    WebhookLog, utcnow,
)
from hub.words import with_article

log = logging.getLogger("hub.engine.sweeper")

_last_run: dict[str, float] = {}


ORPHAN_ERROR = "its worker stopped or overran before finishing (lease ran out); run again"
ORPHAN_DEAD = "its worker stopped or overran during attempt {attempts} of {max_attempts} (lease ran out)"


def due_deliveries(limit: int = 1000) -> list[int]:
    """Deliveries a worker should run now: due ones, and running ones whose lease ran out (their
    worker died)."""
    now = utcnow()
    orphaned = sa.and_(Delivery.status == D_RUNNING, Delivery.lease_until < now)
    due = sa.and_(Delivery.status.in_((D_PENDING, D_RETRY)), Delivery.next_attempt_at <= now)
    query = sa.select(Delivery.id).where(sa.or_(due, orphaned))
    ids = list(db.session.scalars(query.order_by(Delivery.next_attempt_at).limit(limit)))
    db.session.rollback()
    return ids


def release_orphans(runtime, limit: int = 1000) -> list[int]:
    """Running deliveries whose lease ran out (their worker died, or overran the lease) become
    due retries again; returns their ids, to be woken once (not at every sweep until someone
    takes one).

    The attempt the lost run used counts: an orphan that has used ``DELIVERY_MAX_ATTEMPTS``
    becomes dead instead (a delivery that kills its worker every time must not loop for ever),
    with its previous error kept after the reason. The lost run's lease token is cleared, so it
    cannot record an outcome if it comes back (``runner._finish``)."""
    now = utcnow()
    orphaned = sa.and_(Delivery.status == D_RUNNING, Delivery.lease_until < now)
    query = sa.select(Delivery.id, Delivery.attempts, Delivery.last_error).where(orphaned).limit(limit)
    if db.engine.dialect.name == "postgresql":  # concurrent sweepers take disjoint orphans
        query = query.with_for_update(skip_locked=True)
    rows = db.session.execute(query).all()
    if not rows:
        db.session.rollback()
        return []
    max_attempts = int(runtime.config["DELIVERY_MAX_ATTEMPTS"])
    released = {"lease_until": None, "lease_token": None, "updated_at": now}
    retry, dead = [], []
    if again := [row.id for row in rows if row.attempts < max_attempts]:
        retry = db.session.execute(
            sa.update(Delivery).where(Delivery.id.in_(again), orphaned)
            .values(status=D_RETRY, next_attempt_at=now, last_error=ORPHAN_ERROR, **released)
            .returning(Delivery.id, Delivery.plugin, Delivery.hook, Delivery.workspace_id, Delivery.event_id)).all()
    for row in rows:  # rare: one statement each, to keep each one's own count and previous error
        if row.attempts >= max_attempts:
            reason = ORPHAN_DEAD.format(attempts=row.attempts, max_attempts=max_attempts)
            if row.last_error and row.last_error != ORPHAN_ERROR:
                reason += f"; before: {row.last_error}"
            dead += db.session.execute(
                sa.update(Delivery).where(Delivery.id == row.id, orphaned)
                .values(status=D_DEAD, finished_at=now, last_error=reason[:2000], **released)
                .returning(Delivery.id, Delivery.plugin, Delivery.hook, Delivery.workspace_id, Delivery.event_id,
                           Delivery.last_error)).all()
    db.session.commit()
    for found in retry:
        runtime.metrics.delivery(found.plugin, found.hook, "orphaned")
        log.warning("delivery %s: %s", found.id, ORPHAN_ERROR, extra=log_fields(found))
    for found in dead:
        runtime.metrics.delivery(found.plugin, found.hook, D_DEAD)
        log.error("delivery %s dead: %s", found.id, found.last_error, extra=log_fields(found))
    return [found.id for found in retry]


STALLED_BATCH = 100  # stalled deliveries woken per sweep at most (bounds the extra wake-ups of a backlog)


def wake_stalled(runtime, limit: int = STALLED_BATCH) -> list[int]:
    """Due deliveries that have waited more than ``STALLED_AFTER_SECONDS`` since they became due;
    returns their ids, to be woken again.

    Their wake-up was most likely lost (a worker killed between taking it and claiming the
    delivery, or the queue failing just after the commit). Each is made due again "now", so the
    next sweeps leave it alone for another ``STALLED_AFTER_SECONDS``: in a long backlog, where
    deliveries wait with their wake-ups still queued, the duplicates stay few (and a duplicate
    wake-up only finds the delivery taken). The ``UPDATE`` re-checks the condition, so two
    sweepers never both take the same delivery."""
    now = utcnow()
    cutoff = now - timedelta(seconds=float(runtime.config["STALLED_AFTER_SECONDS"]))
    stalled = sa.and_(Delivery.status.in_((D_PENDING, D_RETRY)), Delivery.next_attempt_at < cutoff)
    ids = list(db.session.scalars(sa.select(Delivery.id).where(stalled)
                                  .order_by(Delivery.next_attempt_at).limit(limit)))
    if not ids:
        db.session.rollback()
        return []
    woken = list(db.session.scalars(sa.update(Delivery).where(Delivery.id.in_(ids), stalled)
                                    .values(next_attempt_at=now).returning(Delivery.id)))
    db.session.commit()
    if woken:
        log.warning("%d due deliveries waited more than %gs: woken again (their wake-up was lost)",
                    len(woken), float(runtime.config["STALLED_AFTER_SECONDS"]))
    return sorted(woken)


def sweep(runtime) -> int:
    """Wake workers for work nobody is about to do; returns how many deliveries were woken.

    Orphans of dead workers are released (``release_orphans``) and woken once. Other due
    deliveries are all woken when the queue holds no wake-up. While it does, they are in it
    already, and re-queueing them all would only grow the queue: then only those that have
    waited ``STALLED_AFTER_SECONDS`` are woken (``wake_stalled``), so a lost wake-up cannot leave
    a delivery waiting for as long as the queue stays busy."""
    try:
        queued = runtime.queue.pending_count() if runtime.queue is not None else 0
    except Exception:  # the queue is unreachable: re-dispatching cannot help now
        queued = -1
    if queued < 0:
        runtime.queue_away_since = runtime.queue_away_since or time.monotonic()
        _update_queue_gauges(runtime)
        return 0
    back = runtime.queue_away_since is not None
    if back:  # the outage's end, said once (its failures were logged)
        log.warning("the queue (Redis) answers again, after %.0fs; waking the deliveries that waited",
                    time.monotonic() - runtime.queue_away_since)
        runtime.queue_away_since = None
    ids = release_orphans(runtime)
    # just back: what was stored meanwhile has no wake-up in the queue, whatever new webhooks queued since
    ids = list(dict.fromkeys(ids + (due_deliveries() if queued == 0 or back else wake_stalled(runtime))))
    if ids:
        runtime.wake(ids)
    _update_queue_gauges(runtime)
    return len(ids)


def _update_queue_gauges(runtime) -> None:
    count, oldest = db.session.execute(
        sa.select(sa.func.count(Delivery.id), sa.func.min(Delivery.created_at)).where(Delivery.status.in_(D_OPEN))
    ).one()
    db.session.rollback()
    runtime.metrics.queue_depth.set(count or 0)
    if oldest is not None and oldest.tzinfo is None:
        from datetime import timezone

        oldest = oldest.replace(tzinfo=timezone.utc)
    runtime.metrics.oldest_pending.set((utcnow() - oldest).total_seconds() if oldest else 0)


# A reconcile holds its connection's lock renewed while it runs (``ctx.lock``): this is how long
# a worker that died reconciling keeps the others from reconciling that connection.
RECONCILE_LOCK_TTL_SECONDS = 60.0


class ReconcileAnswerWrong(Exception):
    """A plugin's ``reconcile`` returned something else than a list of ``InboundEvent`` items."""


def reconciled_events(answer) -> list:
    """``reconcile``'s answer as a list of ``InboundEvent`` items, each of a hub event; raises
    ``ReconcileAnswerWrong`` saying, in words, what is wrong with it (nothing of it is ingested)."""
    from hub.entities import HubEvent, InboundEvent

    if answer is None:
        return []
    if isinstance(answer, (str, bytes, dict, HubEvent, InboundEvent)) or not hasattr(answer, "__iter__"):
        raise ReconcileAnswerWrong(f"it returned {with_article(type(answer).__name__)}, not a list: reconcile must return a "
                                   "list of InboundEvent items (InboundEvent(external_id=..., event=...))")
    events = list(answer)
    for item in events:
        if not isinstance(item, InboundEvent):
            raise ReconcileAnswerWrong(
                f"it returned {with_article(type(item).__name__)} where an InboundEvent belongs: reconcile must return "
                "InboundEvent items, each wrapping one event with its stable external_id "
                "(InboundEvent(external_id=..., event=...)); none of its events was ingested")
        if not isinstance(item.event, HubEvent):
            raise ReconcileAnswerWrong(
                f"it returned an InboundEvent whose event is {with_article(type(item.event).__name__)}, not one of the hub's "
                "events (hub.entities); none of its events was ingested")
    return events


def reconcile_all(runtime) -> int:
    """Run every enabled plugin's ``reconcile`` and ingest the events it returns; returns how many.

    A failure is logged as a warning naming the plugin and the workspace (nowhere else: admins
    see no reconciliation): a plugin's deliberate error (``HubError``, ``PluginError``) with its
    message, as is this process's keys failing to read the stored secrets; an answer that is not a
    list of ``InboundEvent`` items in words, ingesting none of it; any other exception with its
    type, text and traceback."""
    from hub.context import ConnectionGone, stop_if_gone
    from hub.engine.ingest import ingest
    from hub.errors import HubError, PluginError
    from hub.store.crypto import SecretsUnreadable

    found = 0
    integrations = [(row.workspace_id, row.plugin) for row in
                    db.session.scalars(sa.select(Integration).where(Integration.enabled.is_(True)))]
    db.session.commit()
    for workspace_id, name in integrations:
        if name not in runtime.registry.specs or not runtime.registry.implements(name, "reconcile"):
            continue
        entered = False
        try:
            # background: a disable or revoke while it runs stops its next vendor call
            ctx = runtime.context(workspace_id, name, background=True)
            with ctx.lock("reconcile", ttl=RECONCILE_LOCK_TTL_SECONDS, wait=0.1):
                entered = True
                events = reconciled_events(runtime.registry.call(name, "reconcile", ctx=ctx))
                stop_if_gone(ctx)  # disabled or revoked since: what it found is refused, as its webhooks are
                for inbound in events:
                    ingest(runtime, workspace_id, name, inbound)
                    found += 1
        except Exception as exc:
            db.session.rollback()
            fields = {"workspace_id": workspace_id, "plugin": name}
            if isinstance(exc, Deferred) and not entered:  # another worker is reconciling it: nothing failed
                log.debug("reconcile of %s in workspace %s skipped: another worker is reconciling it", name,
                          workspace_id, extra=fields)
            elif isinstance(exc, ConnectionGone):  # an admin's disable or revoke: nothing failed
                log.info("reconcile of %s in workspace %s stopped: %s; what it found is not stored", name,
                         workspace_id, exc, extra=fields)
            elif isinstance(exc, (ReconcileAnswerWrong, HubError, PluginError, SecretsUnreadable)):
                # said in words: the message is all (this process's keys, said each run, need no traceback)
                log.warning("reconcile of %s in workspace %s failed: %s", name, workspace_id, exc, extra=fields)
            else:  # a bug (or a library's error the plugin let through): its type, and where it happened
                log.warning("reconcile of %s in workspace %s failed: %s: %s", name, workspace_id,
                            type(exc).__name__, exc, exc_info=True, extra=fields)
    return found


def purge(runtime) -> int:
    """Delete what retention allows; returns how many events went.

    Keys live as long as the dedupe window, which is at least as long as events are kept, and the
    key that is an event's id lives as long as the event (one with a delivery still open outlives
    ``RETENTION_DAYS``): a redelivery of a kept event must answer "duplicate", and a fresh key
    would instead collide with the event's unique id (``uq_event_external``)."""
    now = utcnow()
    events_before = now - timedelta(days=float(runtime.config["RETENTION_DAYS"]))
    keys_before = now - dedupe_window(runtime.config)
    open_events = sa.select(Delivery.event_id).where(Delivery.status.in_(D_OPEN))
    purged = 0
    deadline = time.monotonic() + PURGE_BUDGET_SECONDS
    while True:  # in batches, each its own transaction, until done (or the budget is spent: next hour)
        old = list(db.session.scalars(sa.select(Event.id).where(Event.received_at < events_before,
                                                                Event.id.not_in(open_events)).limit(PURGE_BATCH)))
        if old:
            # An admin may have replayed one of their deliveries since they were read (PostgreSQL
            # lets the replay commit in between): a delivery open again stays, and so does its
            # event. Each delivery's own status is checked as it is deleted, also when the
            # replay's update was still in flight.
            db.session.execute(sa.delete(Delivery).where(Delivery.event_id.in_(old),
                                                         Delivery.status.not_in(D_OPEN)))
            purged += db.session.execute(sa.delete(Event).where(
                Event.id.in_(old), ~sa.select(Delivery.id).where(Delivery.event_id == Event.id).exists())).rowcount
        db.session.commit()
        if len(old) < PURGE_BATCH or time.monotonic() > deadline:
            break
    kept_event = sa.select(Event.id).where(Event.workspace_id == EventKey.workspace_id,
                                           Event.source_plugin == EventKey.source_plugin,
                                           Event.external_id == EventKey.key)
    keys = db.session.execute(sa.delete(EventKey).where(EventKey.seen_at < keys_before,
                                                         ~kept_event.exists())).rowcount
    logs = db.session.execute(sa.delete(WebhookLog).where(WebhookLog.received_at < events_before)).rowcount
    db.session.execute(sa.delete(Lock).where(Lock.expires_at < now - timedelta(hours=1)))
    db.session.execute(sa.delete(SignInThrottle).where(
        SignInThrottle.expired(now, timedelta(seconds=int(runtime.config["SIGN_IN_LOCK_SECONDS"])))))
    db.session.commit()
    if purged or keys or logs:  # an operator can see retention at work, and what it removed
        log.info("retention purge: %s events (with their deliveries) older than %s days, %s webhook log lines, "
                 "%s dedupe keys older than the dedupe window removed", purged,
                 runtime.config["RETENTION_DAYS"], logs, keys)
    return purged


PURGE_BATCH = 5000
PURGE_BUDGET_SECONDS = 120.0  # a purge runs hourly: one that cannot finish goes on at the next


def _every(name: str, seconds: float) -> bool:
    now = time.monotonic()
    if now - _last_run.get(name, -1e9) >= seconds:
        _last_run[name] = now
        return True
    return False


def periodic_work(runtime) -> None:
    sweep(runtime)
    key = str(id(runtime))
    if _every(key + ":reconcile", float(runtime.config["RECONCILE_INTERVAL_SECONDS"])):
        reconcile_all(runtime)
    if _every(key + ":purge", 3600):
        purge(runtime)
