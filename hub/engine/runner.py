"""Running one delivery: claim it with a lease, call that one plugin's hook, record the outcome
(README.md, Guarantees, 2 and 3).

``claim`` is a single conditional UPDATE, so two workers (or a worker and the sweeper's
re-dispatch) can never both run a delivery while its lease is valid. While the hook runs, a
thread renews the lease (``lease_keeper``), so a slow run (a rate limiter, a vendor's timeouts)
keeps it; a worker that dies stops renewing, the lease runs out and the sweeper hands the
delivery to another worker. Outcomes are written only by the lease holder (``lease_token``), so a
run that lost its lease cannot overwrite the newer run.

Every line logged while a delivery runs, by the engine, the kit or the plugin, carries the
delivery's ``workspace_id``, ``event_id``, ``delivery_id`` and ``plugin`` (``log_context``).
"""

from __future__ import annotations

import logging
import math
import random
import time
import traceback
import uuid
from datetime import timedelta

import sqlalchemy as sa
from flask import current_app

from hub import entities as e
from hub.context import SourceNeedsReconnecting, stop_if_gone
from hub.errors import Deferred, NeedsReauthorization, PermanentError, TemporaryError
from hub.extensions import db
from hub.logging_setup import RepeatLimiter, failure_cause, log_context
from hub.store.models import (
    D_CANCELLED, D_DEAD, D_DONE, D_PENDING, D_RETRY, D_RUNNING, Delivery, Event, Integration, Invitation, is_table_id,
    utcnow,
)
from hub.store.crypto import SecretsUnreadable
from hub.store.outage import database_unavailable
from hub.store.renewal import Renewer

log = logging.getLogger("hub.engine.runner")
# claims failing on a database outage: one per wake-up taken from the queue, so repeats are held back
claim_log = logging.getLogger("hub.engine.runner.claim")
claim_log.addFilter(RepeatLimiter())

LOST_LEASE = "lost_lease"  # run_delivery's answer when the run outlived its lease: nothing recorded
DEFERRED_PREFIX = "deferred: "  # the start of a deferring delivery's last_error
MAX_DEFERRAL_SPACING_SECONDS = 600.0
UNREADABLE_RETRY_SECONDS = 60.0  # a delivery this worker cannot decrypt the secrets for tries again after


def source_needs_reauthorization(source_plugin: str) -> str:
    """The start of the ``TemporaryError`` a plugin's read of the workspace's source raises while
    the source needs an admin to reconnect it (``hub.context.SourceAPI``): its work waits and
    retries, and ``wake_waiting_on_source`` finds it by these words once the source is back."""
    return f"source {source_plugin} needs re-authorization"


def source_failed(source_plugin: str) -> str:
    """The start of the ``TemporaryError`` a plugin's read of the workspace's source raises when the
    source itself failed for now (down, timed out, rate limited; ``hub.context.SourceAPI``): the
    work is the reading plugin's, but what it waits on is the source, and the source's integration
    page and Dashboard card count it by these words (``hub.web.queries.waiting_on_source``)."""
    return f"source {source_plugin} failed"


def wake_waiting_on_source(runtime, workspace_id: int, source_plugin: str) -> int:
    """Once the source's connection works again (a reconnect, a passed test): the deliveries of
    the workspace retrying because it needed re-authorization, because it failed (``source_failed``)
    or because no source was enabled (revoked or disabled, then connected again), are due now,
    rather than at the end of their backoff (up to an hour after the reconnect). Returns how many
    were woken."""
    from hub.context import NO_SOURCE_ENABLED

    waiting = (Delivery.workspace_id == workspace_id, Delivery.status == D_RETRY, sa.or_(
        Delivery.last_error.startswith(f"TemporaryError: {source_needs_reauthorization(source_plugin)}",
                                       autoescape=True),
        Delivery.last_error.startswith(f"TemporaryError: {source_failed(source_plugin)}", autoescape=True),
        Delivery.last_error.startswith(f"TemporaryError: {NO_SOURCE_ENABLED}", autoescape=True)))
    return _make_due(runtime, waiting)


WAITING_FOR_RECONNECTION = "waiting for reconnection: "  # the start of such a delivery's last_error
RECONNECTION_CHECK_SECONDS = 60.0  # the least wait between two looks at a connection that needs reconnecting


def is_waiting_for_reconnection(status: str, last_error: str | None) -> bool:
    """Whether a delivery waits for its own plugin's connection to be reconnected
    (``_wait_for_reconnection``): in retry, with a ``last_error`` that starts with
    ``WAITING_FOR_RECONNECTION``."""
    return status == D_RETRY and (last_error or "").startswith(WAITING_FOR_RECONNECTION)


def wake_waiting_for_reconnection(runtime, workspace_id: int, plugin: str) -> int:
    """Once ``plugin``'s connection works again (a test passed, a reconnect, the plugin's own
    "connected"): its deliveries that wait for that (``_wait_for_reconnection``) are due now,
    rather than at their next look (up to ``MAX_DEFERRAL_SPACING_SECONDS`` later). Returns how many
    were woken."""
    waiting = (Delivery.workspace_id == workspace_id, Delivery.plugin == plugin, Delivery.status == D_RETRY,
               Delivery.last_error.startswith(WAITING_FOR_RECONNECTION, autoescape=True))
    return _make_due(runtime, waiting)


def _make_due(runtime, waiting: tuple) -> int:
    """Make the deliveries matching ``waiting`` (where-clauses) due now, commit, wake a worker for
    each; how many. The update repeats the clauses: one that changed meanwhile is left alone."""
    ids = list(db.session.scalars(sa.select(Delivery.id).where(*waiting)))
    if ids:
        db.session.execute(sa.update(Delivery).where(Delivery.id.in_(ids), *waiting).values(next_attempt_at=utcnow()))
    db.session.commit()
    if ids:
        runtime.wake(ids)
    return len(ids)


def log_fields(delivery) -> dict:
    """The ids every log line about a delivery carries (``delivery`` is a row or model with
    ``id``, ``event_id``, ``workspace_id`` and ``plugin``)."""
    return {"delivery_id": delivery.id, "event_id": delivery.event_id, "workspace_id": delivery.workspace_id,
            "plugin": delivery.plugin}


def backoff_seconds(config, attempts: int) -> float:
    """Exponential backoff with jitter: base * 2^(attempts-1), capped, times a factor in [0.5, 1]."""
    base = float(config["RETRY_BASE_SECONDS"])
    cap = float(config["RETRY_MAX_SECONDS"])
    return min(cap, base * (2 ** max(0, attempts - 1))) * random.uniform(0.5, 1.0)


MAX_ASKED_DELAY_SECONDS = 24 * 3600.0


def plugin_delay(asked, fallback: float) -> float:
    """The wait a plugin asked for (a vendor's ``Retry-After``, a ``Deferred``), made safe to
    schedule: at most a day (``MAX_ASKED_DELAY_SECONDS``); ``fallback`` when it is not a number,
    not finite or negative (a vendor may send ``Retry-After: 1e400``)."""
    try:
        delay = float(asked)
    except (TypeError, ValueError):
        return fallback
    if not math.isfinite(delay) or delay < 0:
        return fallback
    return min(delay, MAX_ASKED_DELAY_SECONDS)


def claim(delivery_id: int, lease_seconds: float, max_attempts: int | None = None) -> str | None:
    """Take the delivery if it is due (or its lease ran out, and it has attempts left: an orphan
    that has used ``max_attempts`` is the sweeper's to end dead). Returns the lease token, or None."""
    now = utcnow()
    token = uuid.uuid4().hex
    orphaned = sa.and_(Delivery.status == D_RUNNING, Delivery.lease_until < now)
    if max_attempts is not None:
        orphaned = sa.and_(orphaned, Delivery.attempts < max_attempts)
    due = sa.or_(sa.and_(Delivery.status.in_((D_PENDING, D_RETRY)), Delivery.next_attempt_at <= now), orphaned)
    result = db.session.execute(
        sa.update(Delivery).where(Delivery.id == delivery_id, due).values(
            status=D_RUNNING, lease_until=now + timedelta(seconds=lease_seconds), lease_token=token,
            attempts=Delivery.attempts + 1, updated_at=now,
        )
    )
    db.session.commit()
    return token if result.rowcount == 1 else None


def lease_keeper(app, delivery_id: int, token: str, lease_seconds: float) -> Renewer:
    """While the hook runs: every third of the lease, push ``lease_until`` a lease ahead, as long
    as ``token`` still holds it (stops once it does not: the delivery was cancelled or released),
    for at most ``hub.store.renewal.MAX_HOLD_SECONDS``: a hook running that long is stuck, and its
    delivery is handed to another worker once the lease runs out. Its lines carry the ids of the
    delivery's ``log_context``."""

    def renew() -> int:
        kept = db.session.execute(sa.update(Delivery).where(
            Delivery.id == delivery_id, Delivery.lease_token == token, Delivery.status == D_RUNNING).values(
            lease_until=utcnow() + timedelta(seconds=lease_seconds))).rowcount
        db.session.commit()
        return kept

    return Renewer(app, f"lease-{delivery_id}", lease_seconds / 3, renew, f"the lease of delivery {delivery_id}",
                   log, log_extra={"delivery_id": delivery_id})


RECORD_RETRY_FIRST_SECONDS = 0.25
RECORD_RETRY_MAX_SECONDS = 2.0


def _finish(delivery_id: int, token: str, **values) -> bool:
    """Record an outcome if ``token`` still holds the lease; False (logged) if the run outlived it
    (the sweeper released the delivery, or another worker took it), in which case nothing changes.

    The database unavailable (``database_unavailable``) when the outcome is written: the write is
    tried again (0.25 s, doubling to 2 s) for up to ``HUB_LEASE_SECONDS``, so the outcome of a
    vendor call made just before an outage is recorded as soon as the database is back, instead of
    the delivery running again once its lease has run out. Whichever comes first wins: if the
    sweeper has meanwhile released the delivery (its lease ran out), the token no longer holds it
    and nothing is recorded, as for any run that outlived its lease. Still away after that, or the
    worker stopping meanwhile (``HubRuntime.stopping``): raises, and the delivery runs again after
    its lease, as before.

    A write tried again that changes nothing may have been committed by the try that failed (the
    connection lost after the server committed): when the row holds this write's ``updated_at``
    and no lease, the outcome counts as recorded."""
    values.setdefault("updated_at", utcnow())
    patience = float(current_app.config["LEASE_SECONDS"])
    stopping = current_app.extensions["hub"].stopping
    give_up = time.monotonic() + patience
    pause = RECORD_RETRY_FIRST_SECONDS
    while True:
        try:
            result = db.session.execute(
                sa.update(Delivery).where(Delivery.id == delivery_id, Delivery.lease_token == token).values(
                    lease_until=None, lease_token=None, **values)
            )
            db.session.commit()
            break
        except Exception as exc:
            _rollback_quietly()
            if not database_unavailable(exc) or time.monotonic() + pause > give_up or stopping.is_set():
                raise
            if pause == RECORD_RETRY_FIRST_SECONDS:  # one line per outage, not one per try
                log.warning("could not record the outcome (%s) of delivery %s%s: trying again for up to %.0f s "
                            "(HUB_LEASE_SECONDS)", values.get("status"), delivery_id, failure_cause(exc), patience,
                            extra={"delivery_id": delivery_id})
            if stopping.wait(pause):  # the worker stops: give up now, the lease brings the delivery back
                raise
            pause = min(pause * 2, RECORD_RETRY_MAX_SECONDS)
    retried = pause != RECORD_RETRY_FIRST_SECONDS
    recorded = result.rowcount == 1 or (retried and _written_before(delivery_id, values["updated_at"]))
    if retried and recorded:
        log.info("recorded the outcome (%s) of delivery %s once the database was back", values.get("status"),
                 delivery_id, extra={"delivery_id": delivery_id})
    if recorded:
        return True
    now = db.session.scalar(sa.select(Delivery.status).where(Delivery.id == delivery_id))
    db.session.commit()
    if now == D_CANCELLED:  # a disable or revoke cancelled it while its hook ran
        log.warning("delivery %s was cancelled while it ran (its integration was disabled or revoked): its outcome "
                    "(%s) is not recorded; replay it once the integration is back", delivery_id,
                    values.get("status"), extra={"delivery_id": delivery_id})
    else:
        log.warning("delivery %s ran longer than its lease (HUB_LEASE_SECONDS): its outcome (%s) is not recorded",
                    delivery_id, values.get("status"), extra={"delivery_id": delivery_id})
    return False


def _written_before(delivery_id: int, updated_at) -> bool:
    """Whether the delivery holds an outcome written at ``updated_at`` and no lease: a write whose
    commit reached the server although its connection was lost before the answer."""
    row = db.session.execute(sa.select(Delivery.updated_at, Delivery.lease_token).where(
        Delivery.id == delivery_id)).first()
    db.session.commit()
    if row is None or row.lease_token is not None or row.updated_at is None:
        return False
    written = row.updated_at
    if written.tzinfo is None and updated_at.tzinfo is not None:  # SQLite keeps no zone
        written = written.replace(tzinfo=updated_at.tzinfo)
    return written == updated_at


def _rollback_quietly() -> None:
    """Roll the session back after a failed write; with the connection gone the rollback may fail
    too (the pool replaces the connection at the next checkout)."""
    try:
        db.session.rollback()
    except Exception:
        log.debug("rollback after a failed write failed too", exc_info=True)


def _superseded(workspace_id: int, event: e.HubEvent) -> str | None:
    """Why a provider's news about an earlier round of its invitation is not delivered (its
    ``round`` is not the invitation's now: re-invited since it was stored, e.g. while its delivery
    waited for a vendor to come back, or on a replay), or None. Delivered, a source would write the
    earlier round's result or verdict as the current round's."""
    if not isinstance(event, (e.InvitationProgress, e.AssessmentResult, e.Verdict)) or event.round is None:
        return None
    current = db.session.scalar(sa.select(Invitation.round).where(
        Invitation.id == event.invitation_id, Invitation.workspace_id == workspace_id)) \
        if is_table_id(event.invitation_id) else None
    if current is None or current == event.round:
        return None
    return f"the invitation was re-invited since (round {current} now): this news of round {event.round} is not delivered"


FAILED = "failed"  # run_delivery's answer (with contain_errors) when it stopped on an error it logged


def run_delivery(runtime, delivery_id: int, contain_errors: bool = False) -> str:
    """Run one delivery if it is due; returns what happened ("done", "retry", "dead", "skipped",
    ``LOST_LEASE``...). Every line logged while it runs carries its ids (``log_context``).

    An error the run cannot record as the delivery's outcome (the database away longer than
    ``_finish`` waits, a bug in the engine) is raised; with ``contain_errors`` (the queue's task)
    it is logged instead, with the delivery's ids and what it means for the delivery, and the
    answer is ``FAILED``: the delivery is still due (not claimed) or still running under a lease
    that runs out, and the sweeper runs it again either way. (A failure after the outcome was
    recorded, in waking the deliveries deferred on the same subject, is logged as such.)"""
    config = runtime.config
    try:
        token = claim(delivery_id, float(config["LEASE_SECONDS"]), int(config["DELIVERY_MAX_ATTEMPTS"]))
    except Exception as exc:
        if not contain_errors:
            raise
        _rollback_quietly()
        claim_log.error("delivery %s could not be claimed%s: the sweeper runs it when it can", delivery_id,
                        failure_cause(exc), exc_info=True, extra={"delivery_id": delivery_id})
        return FAILED
    if token is None:
        return "skipped"
    try:
        delivery = db.session.get(Delivery, delivery_id, populate_existing=True)
    except Exception as exc:
        if not contain_errors:
            raise
        _rollback_quietly()
        claim_log.error("delivery %s was claimed but could not be read%s: it runs again once its lease "
                        "(HUB_LEASE_SECONDS) has run out", delivery_id, failure_cause(exc), exc_info=True,
                        extra={"delivery_id": delivery_id})
        return FAILED
    with log_context(**log_fields(delivery)):
        try:
            return _run_claimed(runtime, delivery, token)
        except Exception as exc:
            if not contain_errors:
                raise
            _rollback_quietly()
            log.error("delivery %s stopped before its outcome was recorded%s: it runs again once its lease "
                      "(HUB_LEASE_SECONDS) has run out", delivery_id, failure_cause(exc), exc_info=True)
            return FAILED


def _run_claimed(runtime, delivery: Delivery, token: str) -> str:
    """``run_delivery``'s work once ``token`` holds the lease of ``delivery``."""
    config, delivery_id = runtime.config, delivery.id
    event = db.session.get(Event, delivery.event_id)
    integration = db.session.scalar(sa.select(Integration).where(
        Integration.workspace_id == delivery.workspace_id, Integration.plugin == delivery.plugin))
    extra = log_fields(delivery)
    if integration is None or not integration.enabled:
        return _cancel_disabled(delivery_id, token, extra)

    hub_event, subject = e.event_from_payload(event.type, event.payload), event.subject
    superseded = _superseded(delivery.workspace_id, hub_event)
    if superseded:
        _finish(delivery_id, token, status=D_CANCELLED, finished_at=utcnow(), last_error=superseded,
                attempts=Delivery.attempts - 1)
        log.info("delivery %s cancelled: %s", delivery_id, superseded, extra=extra)
        return D_CANCELLED
    attempts = delivery.attempts
    delivery = _Snapshot(delivery)
    # the vendor refused the connection's credentials: its work waits for an admin to reconnect
    # rather than asking again with what was refused (a 401 per delivery, or each one dead)
    refused = integration.status_message if integration.status == "needs_reauthorization" else None
    needs_reconnection = integration.status == "needs_reauthorization"
    db.session.commit()  # no transaction is held while the plugin works
    try:
        ctx = runtime.context(delivery.workspace_id, delivery.plugin, delivery_id=delivery.id, lease_token=token)
        try:
            # disabled or revoked since the check above: ``ctx`` may be of the revoked connection,
            # whose guards would let the hook store its status or secrets over the revoke's
            stop_if_gone(ctx)
        except PermanentError:
            return _cancel_disabled(delivery_id, token, extra)
        if needs_reconnection:
            return _wait_for_reconnection(runtime, delivery, token, refused or "the vendor refused the credentials",
                                          extra)
        argument = _argument_name(runtime, delivery.plugin, delivery.hook)
        with lease_keeper(runtime.app, delivery.id, token, float(config["LEASE_SECONDS"])):
            runtime.registry.call(delivery.plugin, delivery.hook, ctx=ctx, **{argument: hub_event})
    except (Deferred, SecretsUnreadable) as exc:
        # SecretsUnreadable: this worker's keys, not the vendor: the delivery waits, its attempts
        # kept, for a worker restarted with the current keys (or another one that has them)
        db.session.rollback()
        unreadable = isinstance(exc, SecretsUnreadable)
        if unreadable:
            log.error("delivery %s waits: %s", delivery_id, exc, extra=extra)
        now = utcnow()
        waited = (now - delivery.waiting_since).total_seconds() if delivery.waiting_since else 0.0
        if waited > float(config["MAX_DEFER_SECONDS"]):
            return _dead(runtime, delivery, token, f"deferred for too long: {exc}", extra)
        retry_after = UNREADABLE_RETRY_SECONDS if unreadable else exc.retry_after
        delay = max(plugin_delay(retry_after, fallback=2.0), deferral_spacing(waited))
        if not _finish(delivery_id, token, status=D_RETRY, next_attempt_at=now + timedelta(seconds=delay),
                       attempts=Delivery.attempts - 1, deferrals=Delivery.deferrals + 1,
                       waiting_since=delivery.waiting_since or now, last_error=f"{DEFERRED_PREFIX}{exc}"):
            return LOST_LEASE
        runtime.wake([delivery_id], delay)
        runtime.metrics.delivery(delivery.plugin, delivery.hook, "deferred")
        log.info("delivery %s deferred %.1fs: %s", delivery_id, delay, exc, extra=extra)
        return "deferred"
    except NeedsReauthorization as exc:
        db.session.rollback()
        ctx.set_status("needs_reauthorization", str(exc))
        return _wait_for_reconnection(runtime, delivery, token, str(exc), extra)
    except SourceNeedsReconnecting as exc:
        # the source's connection, not this plugin's: recorded in the words that the source's page
        # counts and its reconnection wakes (``wake_waiting_on_source``)
        db.session.rollback()
        return _wait_for_reconnection(runtime, delivery, token, str(exc), extra, recorded=f"TemporaryError: {exc}",
                                      least=plugin_delay(exc.retry_after, fallback=RECONNECTION_CHECK_SECONDS))
    except PermanentError as exc:
        db.session.rollback()
        return _dead(runtime, delivery, token, f"{type(exc).__name__}: {exc}", extra)
    except Exception as exc:  # any other failure is retried until the attempts run out
        db.session.rollback()
        message = f"{type(exc).__name__}: {exc}"
        if attempts >= int(config["DELIVERY_MAX_ATTEMPTS"]):
            return _dead(runtime, delivery, token, message, extra)
        delay = backoff_seconds(config, attempts)
        if isinstance(exc, TemporaryError) and exc.retry_after:
            # the vendor's wait, but never shorter than the backoff: a 1 s Retry-After on every
            # attempt would spend them all in seconds
            delay = max(delay, plugin_delay(exc.retry_after, fallback=delay))
        if not _finish(delivery_id, token, status=D_RETRY, next_attempt_at=utcnow() + timedelta(seconds=delay),
                       waiting_since=None, last_error=message[:2000]):
            return LOST_LEASE
        runtime.wake([delivery_id], delay)
        runtime.metrics.delivery(delivery.plugin, delivery.hook, "retry")
        log.warning("delivery %s attempt %s failed, retry in %.1fs: %s", delivery_id, attempts, delay, message,
                    extra=extra)
        if not isinstance(exc, TemporaryError):
            log.debug("traceback of delivery %s:\n%s", delivery_id, traceback.format_exc(), extra=extra)
        return D_RETRY
    if not _finish(delivery_id, token, status=D_DONE, finished_at=utcnow(), waiting_since=None, last_error=None):
        return LOST_LEASE
    runtime.metrics.delivery(delivery.plugin, delivery.hook, D_DONE)
    log.info("delivery %s done", delivery_id, extra=extra)
    try:
        _wake_deferred_on_subject(runtime, delivery, subject)
    except Exception as exc:  # the delivery is done: only the wake-up of others failed
        _rollback_quietly()
        log.warning("delivery %s done; waking the deliveries deferred on %s failed%s: they run when due", delivery_id,
                    subject, failure_cause(exc), exc_info=True, extra=extra)
    return D_DONE


def _cancel_disabled(delivery_id: int, token: str, extra: dict) -> str:
    """End a claimed delivery whose integration is disabled or revoked (a disable or revoke cancels
    its open deliveries itself: then this records nothing) before its hook runs."""
    _finish(delivery_id, token, status=D_CANCELLED, finished_at=utcnow(),
            last_error="integration disabled or revoked", attempts=Delivery.attempts - 1)
    log.info("delivery %s cancelled: integration disabled", delivery_id, extra=extra)
    return D_CANCELLED


class _Snapshot:
    """The delivery's fields as plain values, usable after the session's transaction ended."""

    def __init__(self, row: Delivery):
        self.id, self.plugin, self.hook = row.id, row.plugin, row.hook
        self.workspace_id, self.created_at, self.attempts = row.workspace_id, row.created_at, row.attempts
        self.event_id, self.waiting_since = row.event_id, row.waiting_since


def is_deferring(status: str, last_error: str | None) -> bool:
    """Whether a delivery waits on purpose (its hook raised ``Deferred``), not after a failure: in
    retry, with a ``last_error`` that starts with ``DEFERRED_PREFIX``."""
    return status == D_RETRY and (last_error or "").startswith(DEFERRED_PREFIX)


def deferral_spacing(waited: float) -> float:
    """The least wait before a deferring delivery runs again, after it has deferred for ``waited``
    seconds without a break: a twentieth of that, at most ``MAX_DEFERRAL_SPACING_SECONDS``. A
    delivery waiting on something that takes days (a note an admin must fix and replay) is then
    tried a few hundred times, not every few seconds for a week; ``_wake_deferred_on_subject``
    runs it at once when what it waits for is likely done."""
    return min(max(0.0, waited) / 20.0, MAX_DEFERRAL_SPACING_SECONDS)


def _wake_deferred_on_subject(runtime, delivery, subject: str | None) -> None:
    """Make due now the deliveries of the same plugin and workspace that are deferring and whose
    events are about the same subject (candidate or invitation, ``Event.subject``) as the one just
    done: what they wait for (a verdict waiting for its completion's note) is most often that."""
    if not subject:
        return
    now = utcnow()
    waiting = list(db.session.scalars(sa.select(Delivery.id).join(Event, Event.id == Delivery.event_id).where(
        Event.workspace_id == delivery.workspace_id, Event.subject == subject,
        Delivery.plugin == delivery.plugin, Delivery.id != delivery.id, Delivery.status == D_RETRY,
        Delivery.waiting_since.isnot(None), Delivery.next_attempt_at > now)))
    if not waiting:
        db.session.commit()
        return
    db.session.execute(sa.update(Delivery).where(
        Delivery.id.in_(waiting), Delivery.status == D_RETRY, Delivery.waiting_since.isnot(None)).values(
        next_attempt_at=now, updated_at=now))
    db.session.commit()
    runtime.wake(waiting, 0)
    log.info("delivery %s done: %s deferred deliveries about %s woken", delivery.id, len(waiting), subject,
             extra=log_fields(delivery))


def _wait_for_reconnection(runtime, delivery, token: str, reason: str, extra: dict, *, recorded: str | None = None,
                           least: float = RECONNECTION_CHECK_SECONDS) -> str:
    """Put back a delivery whose plugin's credentials the vendor refused (``NeedsReauthorization``,
    or the connection already "needs re-authorization" when it was claimed, then without calling
    the hook), or whose read of the source the source's connection refused
    (``SourceNeedsReconnecting``): in retry, its attempt not counted, last error ``recorded``
    (default ``WAITING_FOR_RECONNECTION`` + the reason). It is looked at again less often the longer
    it waits (``deferral_spacing``, at least ``least`` seconds: no vendor call of its own while its
    connection still needs reconnecting), at once when the connection works again
    (``wake_waiting_for_reconnection``, ``wake_waiting_on_source``), and is dead, with the reason,
    after ``MAX_DEFER_SECONDS`` of waiting without a break. Revoking the integration cancels it, as
    any open delivery."""
    now = utcnow()
    waited = (now - delivery.waiting_since).total_seconds() if delivery.waiting_since else 0.0
    if waited > float(runtime.config["MAX_DEFER_SECONDS"]):
        dead = f"{recorded} (not reconnected in time)" if recorded else \
            f"needs re-authorization: {reason} (not reconnected in time)"
        return _dead(runtime, delivery, token, dead, extra)
    delay = max(least, deferral_spacing(waited))
    if not _finish(delivery.id, token, status=D_RETRY, next_attempt_at=now + timedelta(seconds=delay),
                   attempts=Delivery.attempts - 1, waiting_since=delivery.waiting_since or now,
                   last_error=(recorded or f"{WAITING_FOR_RECONNECTION}{reason}")[:2000]):
        return LOST_LEASE
    if recorded is None and _reconnected_meanwhile(delivery):
        # connected again since this run read the status (or the refusal was of credentials replaced
        # since, ``PluginContext.set_status``): the wake-up found it running, so it is due now
        _make_due(runtime, (Delivery.id == delivery.id, Delivery.status == D_RETRY,
                            Delivery.last_error.startswith(WAITING_FOR_RECONNECTION, autoescape=True)))
    else:
        runtime.wake([delivery.id], delay)
    runtime.metrics.delivery(delivery.plugin, delivery.hook, "waiting_for_reconnection")
    log.warning("delivery %s waits for a reconnection (next look in %.0fs): %s", delivery.id, delay, reason,
                extra=extra)
    return "waiting_for_reconnection"


def _reconnected_meanwhile(delivery) -> bool:
    """Whether the integration of a delivery just put back to wait for its reconnection no longer
    needs reconnecting (a test passed, a reconnect or a new key since the run read its status):
    read after the delivery was recorded waiting, so a wake-up made before it was (which found it
    running) is not missed."""
    status = db.session.scalar(sa.select(Integration.status).where(
        Integration.workspace_id == delivery.workspace_id, Integration.plugin == delivery.plugin))
    db.session.commit()
    return status is not None and status != "needs_reauthorization"


def _dead(runtime, delivery, token: str, message: str, extra: dict) -> str:
    if not _finish(delivery.id, token, status=D_DEAD, finished_at=utcnow(), waiting_since=None,
                   last_error=message[:2000]):
        return LOST_LEASE
    runtime.metrics.delivery(delivery.plugin, delivery.hook, D_DEAD)
    log.error("delivery %s dead: %s", delivery.id, message, extra=extra)
    return D_DEAD


def _argument_name(runtime, plugin: str, hook: str) -> str:
    """The event argument's name in the hook's specification (``change``, ``result``...)."""
    spec = getattr(runtime.registry.pm.hook, hook).spec
    names = [a for a in spec.argnames if a != "ctx"]
    return names[0]


def replay(delivery_id: int, workspace_id: int | None = None) -> bool:
    """Make a done, dead, cancelled or retrying delivery due again now (attempts reset). True if it
    was replayed (a pending or running delivery is not)."""
    query = sa.update(Delivery).where(Delivery.id == delivery_id,
                                      Delivery.status.in_((D_DONE, D_DEAD, D_CANCELLED, D_RETRY)))
    if workspace_id is not None:
        query = query.where(Delivery.workspace_id == workspace_id)
    result = db.session.execute(query.values(status=D_PENDING, attempts=0, deferrals=0, next_attempt_at=utcnow(),
                                             waiting_since=None, finished_at=None, last_error=None,
                                             updated_at=utcnow()))
    db.session.commit()
    return result.rowcount == 1
