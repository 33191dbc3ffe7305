"""``PluginContext``: the hub's face to a plugin (the ``ctx`` every hook receives).

This is public contract. A plugin may use exactly what is documented here, and nothing else of
the hub's internals:

- ``ctx.workspace_id``, ``ctx.plugin_name``
- ``ctx.settings`` (dict, as saved: loaded through the plugin's schema when an admin saves them,
  merged as given by ``ctx.update_settings``) and ``ctx.secrets`` (dict, decrypted);
  ``ctx.update_secrets(values, remove=())``, ``ctx.update_settings(values)``, ``ctx.reload()``
- ``ctx.config``: the hub configuration keys that start with the plugin's name in capitals
  (``HUB_LEVER_CLIENT_ID`` -> ``ctx.config["LEVER_CLIENT_ID"]``)
- ``ctx.webhook_url`` (where the vendor must send this connection's webhooks) and
  ``ctx.oauth_callback_url``; ``ctx.dedupe_window`` (how long inbound event ids are remembered)
- ``ctx.http``: a ``requests.Session`` with a default timeout; ``ctx.rate_limiter(name, rate, burst)``
  a token bucket shared by every worker of this connection; ``ctx.lock(name)`` a lease that one
  worker holds at a time (single-flight), ``ctx.record_vendor_call(...)`` for metrics
- ``ctx.records``: a small key-value store private to the plugin and workspace
- ``ctx.attachments`` and ``ctx.invitations``: the hub's stores (see their classes)
- ``ctx.source``: the workspace's connected source (ATS) read API, whatever plugin it is
- ``ctx.set_status(status, message)``: the connection's health as admins see it
  (``"connected"``, ``"needs_reauthorization"``, ``"error"``...)
- ``ctx.log``: a logger (``hub.plugin.<name>``) whose lines carry the workspace and plugin and,
  in a delivery's run, the delivery and event ids
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import time
import uuid
from datetime import timedelta
from typing import Any, Iterator, Mapping

import requests
import sqlalchemy as sa
from flask import g, has_app_context
from sqlalchemy.exc import IntegrityError

from hub import entities as e
from hub.errors import Deferred, NeedsReauthorization, PermanentError, TemporaryError
from hub.extensions import db
from hub.logging_setup import context_fields
from hub.store.models import (
    Attachment, Delivery, Event, Integration, Invitation, Lock, PluginRecord, is_table_id, utcnow,
)
from hub.store.renewal import Renewer

DEFAULT_TIMEOUT = 15.0
LIST_OPEN_PAGE = 500  # most invitations ``InvitationStore.list_open`` returns at once
# what ``ctx.set_status`` accepts as ``Integration.status`` (the column holds 40 characters)
STATUS_CODE = re.compile(r"[a-z0-9_]{1,40}")
# the first timeline entry of an invitation a backfill made: the candidate was already in the stage
ALREADY_IN_STAGE = "already_in_stage"


# why a plugin's work that needs the ATS waits while none is enabled (``PluginContext.source``);
# ``hub.engine.runner.wake_waiting_on_source`` wakes that work once a source answers again
NO_SOURCE_ENABLED = "no source (ATS) integration is enabled in this workspace"


class ConnectionGone(PermanentError):
    """``ctx.http`` in a delivery refused a call: the integration was disabled or revoked while the
    delivery ran. Permanent for that integration's own delivery (cancelled already); a read of the
    source made for another plugin's delivery (``SourceAPI``) turns it into a ``TemporaryError``."""


class TimeoutSession(requests.Session):
    """A requests session that never waits forever; ``guard``, when given, runs before each
    request and may raise to stop it."""

    def __init__(self, timeout: float = DEFAULT_TIMEOUT, guard=None):
        super().__init__()
        self.default_timeout = timeout
        self.guard = guard

    def request(self, method, url, **kwargs):  # type: ignore[override]
        if self.guard is not None:
            self.guard()
        kwargs.setdefault("timeout", self.default_timeout)
        return super().request(method, url, **kwargs)


class PluginLog(logging.LoggerAdapter):
    """``ctx.log``: each line carries the ids of the work under way (in a delivery's run, its
    ``workspace_id``, ``event_id``, ``delivery_id`` and ``plugin``: ``hub.logging_setup.log_context``)
    and the context's own (not None) over them. As with any ``LoggerAdapter``, a line's own
    ``extra`` is not used."""

    def process(self, msg, kwargs):
        own = {name: value for name, value in self.extra.items() if value is not None}
        kwargs["extra"] = {**context_fields(), **own}
        return msg, kwargs


class RecordStore:
    """Per-plugin, per-workspace JSON values by key. Each write commits."""

    def __init__(self, workspace_id: int, plugin: str):
        self._ws = workspace_id
        self._plugin = plugin

    def _row(self, key: str) -> PluginRecord | None:
        return db.session.scalar(sa.select(PluginRecord).where(
            PluginRecord.workspace_id == self._ws, PluginRecord.plugin == self._plugin, PluginRecord.key == key))

    def get(self, key: str, default: Any = None) -> Any:
        row = self._row(key)
        value = default if row is None else row.value
        db.session.commit()
        return value

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` under ``key`` (insert or update; safe when two workers race)."""
        if self.put_if_absent(key, value):
            return
        db.session.execute(sa.update(PluginRecord).where(
            PluginRecord.workspace_id == self._ws, PluginRecord.plugin == self._plugin, PluginRecord.key == key,
        ).values(value=value, updated_at=utcnow()))
        db.session.commit()

    def put_if_absent(self, key: str, value: Any) -> bool:
        """Store ``value`` unless ``key`` exists; True if this call stored it (atomic across workers)."""
        try:
            with db.session.begin_nested():
                db.session.add(PluginRecord(workspace_id=self._ws, plugin=self._plugin, key=key, value=value))
            db.session.commit()
            return True
        except IntegrityError:
            db.session.rollback()
            return False

    def delete(self, key: str) -> None:
        db.session.execute(sa.delete(PluginRecord).where(
            PluginRecord.workspace_id == self._ws, PluginRecord.plugin == self._plugin, PluginRecord.key == key))
        db.session.commit()

    def keys(self, prefix: str = "") -> list[str]:
        keys = list(db.session.scalars(sa.select(PluginRecord.key).where(
            PluginRecord.workspace_id == self._ws, PluginRecord.plugin == self._plugin,
            PluginRecord.key.startswith(prefix, autoescape=True))))
        db.session.commit()
        return keys

    def items(self, prefix: str = "") -> dict[str, Any]:
        """Every record whose key starts with ``prefix``, key -> value, read in one query (a loop
        of ``get`` over ``keys`` costs a query per record)."""
        rows = db.session.execute(sa.select(PluginRecord.key, PluginRecord.value).where(
            PluginRecord.workspace_id == self._ws, PluginRecord.plugin == self._plugin,
            PluginRecord.key.startswith(prefix, autoescape=True)).order_by(PluginRecord.key)).all()
        db.session.commit()
        return {key: value for key, value in rows}


def attachment_entity(row: Attachment) -> e.Attachment:
    return e.Attachment(
        id=row.id, posting_id=row.posting_id, posting_name=row.posting_name, stage_id=row.stage_id,
        stage_name=row.stage_name, provider=row.provider, assessment_id=row.assessment_id,
        assessment_name=row.assessment_name, options=dict(row.options or {}),
    )


class AttachmentStore:
    """Read access to the workspace's attachments (assessments attached to stages)."""

    def __init__(self, workspace_id: int):
        self._ws = workspace_id

    def list(self, posting_id: str | None = None, stage_id: str | None = None,
             provider: str | None = None) -> list[e.Attachment]:
        query = sa.select(Attachment).where(Attachment.workspace_id == self._ws, Attachment.detached_at.is_(None))
        if posting_id is not None:
            query = query.where(Attachment.posting_id == posting_id)
        if stage_id is not None:
            query = query.where(Attachment.stage_id == stage_id)
        if provider is not None:
            query = query.where(Attachment.provider == provider)
        found = [attachment_entity(row) for row in db.session.scalars(query.order_by(Attachment.id))]
        db.session.commit()
        return found

    def get(self, attachment_id: int) -> e.Attachment | None:
        row = db.session.get(Attachment, attachment_id) if is_table_id(attachment_id) else None
        found = attachment_entity(row) if row is not None and row.workspace_id == self._ws else None
        db.session.commit()
        return found


class InvitationStore:
    """The workspace's invitations. Every write commits before returning, so a row exists before
    the plugin calls its vendor (the "create the row first" rule)."""

    def __init__(self, runtime, workspace_id: int, plugin: str, delivery_id: int | None = None):
        self._runtime = runtime
        self._ws = workspace_id
        self._plugin = plugin
        self._delivery_id = delivery_id  # the delivery being run, if any: what its event was says why a row is new

    def _asked_by_an_admin(self) -> bool:
        """Whether the delivery being run is of a backfill's event (an admin's "Invite candidates
        already in stage"), not of a stage change the source reported."""
        from hub.engine.backfill import is_backfill_event

        if self._delivery_id is None:
            return False
        event = db.session.execute(sa.select(Event.source_plugin, Event.external_id)
                                   .join(Delivery, Delivery.event_id == Event.id)
                                   .where(Delivery.id == self._delivery_id)).first()
        return event is not None and is_backfill_event(event.source_plugin, event.external_id)

    def _row(self, invitation_id: int) -> Invitation | None:
        if not is_table_id(invitation_id):  # no such row; and beyond 32 bits PostgreSQL would refuse the query
            return None
        row = db.session.get(Invitation, invitation_id, populate_existing=True)
        return row if row is not None and row.workspace_id == self._ws else None

    def get(self, invitation_id: int) -> e.Invitation | None:
        from hub.engine.invitations import to_entity

        row = self._row(invitation_id)
        found = to_entity(row) if row else None
        db.session.commit()
        return found

    def find(self, opportunity_id: str, attachment_id: int | None = None) -> list[e.Invitation]:
        from hub.engine.invitations import to_entity

        query = sa.select(Invitation).where(Invitation.workspace_id == self._ws,
                                            Invitation.opportunity_id == opportunity_id)
        if attachment_id is not None:
            query = query.where(Invitation.attachment_id == attachment_id)
        found = [to_entity(r) for r in db.session.scalars(query.order_by(Invitation.id))]
        db.session.commit()
        return found

    def get_or_create(self, attachment: e.Attachment, candidate: e.Candidate) -> tuple[e.Invitation, bool]:
        """The invitation of ``candidate`` for ``attachment``, created (status ``pending``) if new.

        Unique per (workspace, opportunity, attachment), also under concurrency: the second
        creator gets the first one's row and ``created=False``.
        """
        from hub.engine.invitations import add_timeline, fitting, to_entity

        existing = self.find(candidate.opportunity_id, attachment.id)
        if existing:
            return existing[0], False
        # the candidate is the source's answer: a value too long for its column must not make the
        # invitation impossible (PostgreSQL refuses it). A name is still useful cut; an id, email
        # or link is left out (without an email, the provider fails the invitation and says why)
        name_length = Invitation.__table__.c.candidate_name.type.length
        row = Invitation(
            workspace_id=self._ws, attachment_id=attachment.id, opportunity_id=candidate.opportunity_id,
            posting_id=fitting("posting_id", candidate.posting_id),
            candidate_name=candidate.name[:name_length] if candidate.name else candidate.name,
            candidate_email=fitting("candidate_email", candidate.email),
            profile_url=fitting("profile_url", candidate.profile_url), provider=attachment.provider,
            assessment_id=attachment.assessment_id, assessment_name=attachment.assessment_name, status=e.PENDING,
        )
        try:
            with db.session.begin_nested():
                db.session.add(row)
                db.session.flush()
                posting = candidate.posting_title or attachment.posting_name
                if self._asked_by_an_admin():  # no move happened: the source must not be credited with one
                    add_timeline(db.session, row, ALREADY_IN_STAGE, "hub", f"in {attachment.stage_name} ({posting}) "
                                 "when an admin asked to invite the candidates already there")
                else:
                    source = self._runtime.active_source(self._ws) or "source"
                    add_timeline(db.session, row, "stage_change", source, f"moved into {attachment.stage_name} ({posting})")
                add_timeline(db.session, row, "created", self._plugin,
                             f"{attachment.assessment_name} for stage {attachment.stage_name}")
            entity = to_entity(row)
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            return self.find(candidate.opportunity_id, attachment.id)[0], False
        return entity, True

    def transition(self, invitation_id: int, status: str, *, round: int | None = None, **fields: Any) -> bool:
        """Move the invitation to ``status`` (with ``provider_invitation_id``, ``invite_url``,
        ``failure_reason``...; ``hub.engine.invitations.SETTABLE``) if the state machine allows it.
        When the status changed, every enabled plugin implementing ``on_invitation_status`` hears
        of it, this one included. True if anything changed.

        ``round``, when given, is the invitation's round the plugin read and decided on (its
        ``Invitation.round``): nothing changes, and False is returned, unless the invitation is
        still in that round (an admin's Re-invite started another one since that read). It only
        guards, like the ``round`` of a provider's event: the round is never set. Not a whole
        number of 1 or more (or None): ``ValueError``."""
        from hub.engine import invitations as machine
        from hub.engine.ingest import ingest

        machine.check_transition(status, fields)  # a mistake is raised even when the round has moved on
        if round is not None and (isinstance(round, bool) or not isinstance(round, int) or round < 1):
            raise ValueError(f"round must be a whole number of 1 or more, or None, not {round!r}")
        row = db.session.scalar(sa.select(Invitation).where(
            Invitation.id == invitation_id, Invitation.workspace_id == self._ws).with_for_update()
        ) if is_table_id(invitation_id) else None
        if row is None:
            raise LookupError(f"no invitation {invitation_id} in this workspace")
        if round is not None and row.round != round:  # re-invited since the plugin's read: not that round's row
            db.session.commit()
            return False
        before = row.status
        changed = machine.transition(db.session, row, status, self._plugin, **fields)
        after, round_ = row.status, row.round
        if not (changed and after != before):
            db.session.commit()
            return changed
        progress = e.InvitationProgress(invitation_id=invitation_id, status=after,
                                        reason=fields.get("failure_reason"), occurred_at=utcnow(), by=self._plugin)
        # one transaction for the change and the event announcing it: neither is kept without the other
        ingest(self._runtime, self._ws, "hub",
               e.InboundEvent(external_id=f"invitation:{invitation_id}:r{round_}:{after}", event=progress))
        return changed

    def note(self, invitation_id: int, kind: str, detail: str = "", *,
             refs: Mapping[str, str] | None = None) -> None:
        """Add a line to the invitation's timeline (``kind`` e.g. ``"note_written"``, ``detail`` in
        words for people). Nothing is added when the invitation is not this workspace's.

        ``refs`` names the ids the line is about, by key, instead of writing them into ``detail``:
        ``"stage"`` (a stage id of the ATS), ``"archive_reason"`` (an archive reason id of the
        ATS), ``"ats_note"`` (a note written to the ATS). The candidate page replaces ``{stage}``
        and ``{archive_reason}`` in ``detail`` with the name the source gives (the id when it
        cannot name it); ``ats_note`` is never shown; other braces are shown as written. The JSON
        API returns ``refs`` as given. Raises ``ValueError`` for another key or a value that is
        not a non-empty string, even for an invitation that is not found.
        """
        from hub.engine.invitations import add_timeline, timeline_refs

        refs = timeline_refs(refs)
        row = self._row(invitation_id)
        if row is not None:
            add_timeline(db.session, row, kind, self._plugin, detail, refs=refs)
            db.session.commit()

    def list_open(self, provider: str, older_than: timedelta,
                  statuses: tuple[str, ...] = (e.INVITED, e.STARTED), *, after_id: int | None = None,
                  limit: int = LIST_OPEN_PAGE) -> list[e.Invitation]:
        """Invitations of ``provider`` in ``statuses`` (default: open ones) created more than
        ``older_than`` ago, for reconciliation (pass ``(COMPLETED,)`` to look for lost verdicts):
        at most ``limit`` (1 to ``LIST_OPEN_PAGE``), by id, those after ``after_id`` when given.
        A page shorter than ``limit`` is the last; the next starts after the last id of this one."""
        from hub.engine.invitations import to_entity

        if not isinstance(limit, int) or not 1 <= limit <= LIST_OPEN_PAGE:
            raise ValueError(f"list_open: limit must be a whole number from 1 to {LIST_OPEN_PAGE}, not {limit!r}")
        cutoff = utcnow() - older_than
        query = sa.select(Invitation).where(
            Invitation.workspace_id == self._ws, Invitation.provider == provider,
            Invitation.status.in_(statuses), Invitation.created_at <= cutoff,
            Invitation.provider_invitation_id.is_not(None))
        if after_id is not None:
            query = query.where(Invitation.id > after_id)
        found = [to_entity(r) for r in db.session.scalars(query.order_by(Invitation.id).limit(limit))]
        db.session.commit()
        return found


class SourceNeedsReconnecting(TemporaryError):
    """A read of the workspace's source that its connection refused (``NeedsReauthorization`` from
    the source's plugin): the reading plugin's work waits for an admin to reconnect the source, as
    the source's own work does (``hub.engine.runner``: no attempt spent, woken by
    ``wake_waiting_on_source``). A ``TemporaryError``, so a plugin that catches those still can."""


class SourceAPI:
    """The read API of the workspace's connected source plugin, whatever ATS it is."""

    def __init__(self, runtime, workspace_id: int, source_plugin: str, delivery_id: int | None = None):
        self._runtime = runtime
        self._ws = workspace_id
        self.plugin_name = source_plugin
        # the delivery this read is made for, if any: the source's ``ctx.http`` then checks before
        # each call that the source is still connected and that delivery still running
        self._delivery_id = delivery_id

    def _call(self, hook: str, **kwargs: Any) -> Any:
        ctx = self._runtime.context(self._ws, self.plugin_name, delivery_id=self._delivery_id)
        try:
            return self._runtime.registry.call(self.plugin_name, hook, ctx=ctx, **kwargs)
        except ConnectionGone as exc:
            # the source was disabled or revoked while the caller's delivery ran: the caller's work
            # waits for it, as when no source is enabled (``PluginContext.source``), and is woken
            # with that work when a source answers again (``wake_waiting_on_source``)
            raise TemporaryError(f"{NO_SOURCE_ENABLED} ({self.plugin_name} was disabled or disconnected while "
                                 "this delivery read from it)") from exc
        except NeedsReauthorization as exc:
            # The source's connection needs an admin, not the caller's: the caller's work waits.
            from hub.engine.runner import source_needs_reauthorization

            raise SourceNeedsReconnecting(f"{source_needs_reauthorization(self.plugin_name)}: {exc}",
                                          retry_after=300) from exc
        except TemporaryError as exc:
            # the caller's work retries as the source asked, but it waits on the source: the words
            # say which, so the source's page counts it and its next passed test wakes it
            from hub.engine.runner import source_failed

            raise TemporaryError(f"{source_failed(self.plugin_name)}: {exc}", retry_after=exc.retry_after) from exc

    def get_candidate(self, opportunity_id: str) -> e.Candidate | None:
        return self._call("source_get_candidate", opportunity_id=opportunity_id)

    def list_postings(self) -> list[e.Posting]:
        return self._call("source_list_postings")

    def list_stages(self, posting_id: str | None = None) -> list[e.Stage]:
        return self._call("source_list_stages", posting_id=posting_id)

    def list_users(self) -> list[e.SourceUser]:
        return self._call("source_list_users")

    def list_archive_reasons(self) -> list[e.ArchiveReason] | None:
        """The source's archive reasons; None when it does not offer them (the hook is optional)."""
        if not self._runtime.registry.implements(self.plugin_name, "source_list_archive_reasons"):
            return None
        return self._call("source_list_archive_reasons")


class PluginContext:
    """See the module docstring: everything a plugin may use of the hub."""

    def __init__(self, runtime, integration: Integration, delivery_id: int | None = None, actor=None,
                 lease_token: str | None = None, background: bool = False):
        self._runtime = runtime
        # work the hub runs on its own outside a delivery (a reconciliation): stopped by a disable
        # or revoke as a delivery is (``http``)
        self._background = background
        self._actor = actor
        self._integration_id = integration.id
        self.workspace_id = integration.workspace_id
        self.plugin_name = integration.plugin
        self._settings = dict(integration.settings or {})
        self._secrets_token = integration.secrets_encrypted
        self._secrets: dict[str, Any] | None = None
        self._webhook_key = integration.webhook_key
        self.delivery_id = delivery_id
        self._lease_token = lease_token  # the delivery run's lease: a ``ctx.lock`` taken in it lives with it

    # created on first use: a webhook's verification, the hottest use of a context, needs none of them
    @functools.cached_property
    def records(self) -> RecordStore:
        return RecordStore(self.workspace_id, self.plugin_name)

    @functools.cached_property
    def attachments(self) -> AttachmentStore:
        return AttachmentStore(self.workspace_id)

    @functools.cached_property
    def invitations(self) -> InvitationStore:
        return InvitationStore(self._runtime, self.workspace_id, self.plugin_name, self.delivery_id)

    @functools.cached_property
    def log(self) -> PluginLog:
        return PluginLog(logging.getLogger(f"hub.plugin.{self.plugin_name}"),
                         {"workspace_id": self.workspace_id, "plugin": self.plugin_name, "delivery_id": self.delivery_id})

    @functools.cached_property
    def http(self) -> TimeoutSession:
        """A requests session with the hub's default timeout (created on first use). In a delivery
        (and in a reconciliation), each request first checks that the integration is still enabled
        and connected, and the delivery still running: a disable or a revoke stops a run in flight
        before its next vendor call (``PermanentError``; the delivery stays cancelled, and can be
        replayed; what a reconciliation found is not stored)."""
        guard = self._still_wanted if self.delivery_id is not None or self._background else None
        return TimeoutSession(float(self._runtime.config["HTTP_TIMEOUT_SECONDS"]), guard=guard)

    def _still_wanted(self) -> None:
        from hub.store.models import D_RUNNING, Delivery

        started = not db.session().in_transaction()  # inside the plugin's own transaction: leave it open
        try:
            row = db.session.execute(sa.select(Integration.enabled, Integration.webhook_key).where(
                Integration.id == self._integration_id)).first()
            status = db.session.scalar(sa.select(Delivery.status).where(Delivery.id == self.delivery_id)) \
                if self.delivery_id is not None else None
        finally:
            if started:
                db.session.rollback()
        if not self._is_this_connection(row) or not row.enabled:
            work = "this delivery" if self.delivery_id is not None else "this work"
            raise ConnectionGone(f"{self.plugin_name} was disabled or disconnected while {work} ran: "
                                 "it calls its vendor no more")
        if self.delivery_id is not None and status != D_RUNNING:
            raise PermanentError(f"this delivery was {status} while it ran: it calls {self.plugin_name}'s vendor "
                                 "no more")

    # ------------------------------------------------------------------ settings and secrets
    @property
    def settings(self) -> dict[str, Any]:
        return dict(self._settings)

    @property
    def secrets(self) -> dict[str, Any]:
        if self._secrets is None:
            self._secrets = self._runtime.secret_box.decrypt(self._secrets_token)
        return dict(self._secrets)

    @property
    def config(self) -> Mapping[str, Any]:
        prefix = self.plugin_name.upper() + "_"
        return {k: v for k, v in self._runtime.config.items() if k.startswith(prefix)}

    def _integration(self) -> Integration:
        return db.session.get(Integration, self._integration_id, populate_existing=True)

    def reload(self) -> None:
        """Re-read settings and secrets (another worker may have refreshed a token)."""
        row = self._integration()
        self._settings = dict(row.settings or {})
        self._secrets_token = row.secrets_encrypted
        self._secrets = None
        db.session.commit()  # end the read: no transaction is held while the plugin works

    def _connection_row(self) -> Integration | None:
        """The integration row, locked until the commit, if it is still the connection this
        context was made for; None once it was revoked since (revoking changes the webhook key).
        Work that started before a revoke must not write its tokens or status back after it."""
        row = db.session.get(Integration, self._integration_id, populate_existing=True, with_for_update=True)
        if not self._is_this_connection(row):
            db.session.rollback()
            return None
        return row

    def _is_this_connection(self, row) -> bool:
        """``row`` (an integration's, or None) is still the connection this context was made for:
        a revoke gives the integration a new webhook key, so work begun before it is recognised."""
        return row is not None and row.webhook_key == self._webhook_key

    def _writable_row(self) -> Integration:
        row = self._connection_row()
        if row is None:
            raise PermanentError(f"{self.plugin_name} was disconnected while this work ran; nothing it "
                                 "wanted to store was kept")
        return row

    def update_secrets(self, values: Mapping[str, Any], remove: tuple[str, ...] = ()) -> None:
        """Merge ``values`` into the encrypted secrets (and drop ``remove``); commits. Raises
        ``PermanentError`` (nothing stored) if the integration was revoked since this context
        was made: a token refreshed meanwhile must not outlive the revoke."""
        row = self._writable_row()
        current = self._runtime.secret_box.decrypt(row.secrets_encrypted)
        current.update(values)
        for name in remove:
            current.pop(name, None)
        encrypted = self._runtime.secret_box.encrypt(current)
        row.secrets_encrypted = encrypted
        meta = dict(row.secrets_meta or {})
        via = f"plugin:{self.plugin_name}"
        who = getattr(self._actor, "email", None) or (self._actor if isinstance(self._actor, str) else None)
        for name in values:
            meta[name] = {"set_at": utcnow().isoformat(), "set_by": who or via, **({"via": via} if who else {})}
        for name in remove:
            meta.pop(name, None)
        row.secrets_meta = meta
        db.session.commit()
        # from the locals: reading the row after the commit would begin a transaction and hold it
        # (on SQLite a write lock: BEGIN IMMEDIATE) while the plugin goes on calling its vendor
        self._secrets_token = encrypted
        self._secrets = current

    def update_settings(self, values: Mapping[str, Any]) -> None:
        """Merge ``values`` into the settings; commits. ``PermanentError`` as ``update_secrets``.
        ``ValueError`` (nothing stored) for a secret field (it goes through ``update_secrets``,
        encrypted) or, when the plugin has a settings schema, for a key that is not one of its fields
        (what a plugin keeps for itself goes in ``ctx.records``)."""
        spec = self._runtime.registry.spec(self.plugin_name)
        secret = sorted(set(values) & set(spec.secret_fields))
        if secret:
            raise ValueError(f"plugin {self.plugin_name!r} passed the secret field(s) {', '.join(secret)} to "
                             "ctx.update_settings, which stores them in clear: use ctx.update_secrets")
        if spec.settings_schema is not None:
            unknown = sorted(set(values) - set(spec.settings_schema().fields))
            if unknown:
                raise ValueError(f"plugin {self.plugin_name!r} passed {', '.join(unknown)} to ctx.update_settings, "
                                 "which its settings schema does not declare (keep the plugin's own state in "
                                 "ctx.records)")
        row = self._writable_row()
        merged = {**(row.settings or {}), **values}
        row.settings = merged
        db.session.commit()
        self._settings = dict(merged)  # not read from the row: as in update_secrets

    def set_status(self, status: str, message: str | None = None) -> None:
        """Set the status shown to admins; commits. Does nothing if the integration was revoked
        since this context was made ("Access revoked" stays), nor for ``needs_reauthorization`` once
        the credentials this context read were replaced (a new key saved, a reconnect, another
        worker's refresh; ``reload`` reads them again): the refusal is about the old ones, and
        recorded it would hold the plugin's work (``hub.engine.runner``) that the new ones can do.
        ``status`` is a code of 1 to 40
        lower-case letters, digits and underscores: the hub's own (``connected``, ``error``,
        ``needs_reauthorization``...) or one of the plugin's, shown with its words made readable;
        anything else raises ``ValueError`` naming it."""
        if not isinstance(status, str) or not STATUS_CODE.fullmatch(status):
            raise ValueError(f"ctx.set_status: the status must be a code of 1 to 40 lower-case letters, digits and "
                             f"underscores, such as 'connected' or 'needs_reauthorization', not {str(status)[:60]!r}")
        if message is not None and not isinstance(message, str):
            raise ValueError(f"ctx.set_status: the message must be text or None, not {type(message).__name__}")
        row = self._connection_row()
        if row is None:
            return
        if status == "needs_reauthorization" and row.secrets_encrypted != self._secrets_token:
            db.session.rollback()
            _log.info("%s: a refusal of the credentials replaced since this work read them is not recorded (%s)",
                      self.plugin_name, message, extra={"workspace_id": self.workspace_id, "plugin": self.plugin_name,
                                                        "delivery_id": self.delivery_id})
            return
        reconnected = row.status == "needs_reauthorization" and status == "connected"
        if row.status != status or row.status_message != message:
            row.status = status
            row.status_message = message
        db.session.commit()
        if reconnected:  # connected again (an OAuth grant, a test): the work that waited for it goes on now
            from hub.engine.runner import wake_waiting_for_reconnection

            wake_waiting_for_reconnection(self._runtime, self.workspace_id, self.plugin_name)
        if has_app_context():  # the hub's own status after this call must not replace it, even if it is unchanged
            g.setdefault(_STATUSES_SET, set()).add((self.workspace_id, self.plugin_name))

    # ------------------------------------------------------------------ URLs
    @property
    def dedupe_window(self) -> timedelta:
        """How long the hub remembers inbound event ids (a replay inside it is a duplicate)."""
        from hub.engine.ingest import dedupe_window

        return dedupe_window(self._runtime.config)

    @property
    def webhook_url(self) -> str:
        return self._runtime.webhook_url(self.plugin_name, self._webhook_key)

    @property
    def oauth_callback_url(self) -> str:
        return self._runtime.public_url() + f"/integrations/{self.plugin_name}/oauth/callback"

    # ------------------------------------------------------------------ shared machinery
    def rate_limiter(self, name: str, rate: float, burst: int):
        """A token bucket for this connection, shared by all its workers: call
        ``.acquire(timeout=60.0)``, which blocks until a token is free and raises ``TemporaryError``
        when none would be within ``timeout`` seconds. One bucket per ``name``; asked for with
        another ``rate`` or ``burst`` than before (a limit the connection's settings changed), it
        takes them from its next take."""
        key = f"{self.workspace_id}:{self.plugin_name}:{name}"
        return self._runtime.limiters.get(key, rate, burst)

    @contextlib.contextmanager
    def lock(self, name: str, ttl: float = 60.0, wait: float = 10.0) -> Iterator[None]:
        """Hold the named lease for this connection (one holder across all workers). Still busy
        after ``wait`` seconds: ``Deferred`` (the delivery waits without using up an attempt);
        ``wait=0`` tries once.

        Taken in a delivery, the lock lives as long as the delivery's run holds its lease, which
        the worker renews while the hook runs: it is not lost to a long run, and a worker that
        dies frees it when its lease runs out (``HUB_LEASE_SECONDS``), not ``ttl`` later (a run
        cancelled under its worker by a disable, which may still be in a vendor call, keeps it
        ``ttl``). Taken elsewhere (reconciliation, a page), it is renewed while it is held: every
        ``ttl / 3`` seconds a thread of the hub pushes its end ``ttl`` seconds ahead, so work that
        outlasts ``ttl`` keeps it, and ``ttl`` is how long a holder that dies (its process killed)
        keeps others out. The renewal stops after an hour (a holder that long is stuck: its lock
        then runs out ``ttl`` later), and a database away for longer than ``ttl`` may let the lock
        run out under its holder, as a delivery's lease would."""
        full = f"{self.workspace_id}:{self.plugin_name}:{name}"
        holder = uuid.uuid4().hex
        in_delivery = self.delivery_id is not None and bool(self._lease_token)
        if in_delivery:
            holder = _delivery_holder(self.delivery_id, self._lease_token)
        deadline = time.monotonic() + wait
        while not _try_lock(full, holder, ttl):
            if time.monotonic() > deadline:
                raise Deferred(f"lock {name!r} is busy", retry_after=min(max(1.0, ttl / 4), 30.0))
            time.sleep(0.05)
        keeper = None if in_delivery else _lock_keeper(self._runtime.app, full, holder, ttl)
        try:
            if keeper is not None:
                keeper.start()
            yield
        finally:
            try:
                db.session.rollback()  # first: on SQLite an open transaction would hold up the keeper's write
            finally:  # a rollback that fails (the connection lost) must not leave the keeper renewing
                if keeper is not None:
                    keeper.stop()
            db.session.execute(sa.delete(Lock).where(Lock.name == full, Lock.holder == holder))
            db.session.commit()

    def record_vendor_call(self, endpoint: str, status: int | str, seconds: float) -> None:
        self._runtime.metrics.vendor_call(self.plugin_name, endpoint, str(status), seconds)

    def record_token_refresh(self, outcome: str) -> None:
        self._runtime.metrics.token_refresh(self.plugin_name, outcome)

    @property
    def source(self) -> SourceAPI:
        """The connected source's read API; raises ``TemporaryError`` when none is connected."""
        name = self._runtime.active_source(self.workspace_id)
        if name is None:
            raise TemporaryError(NO_SOURCE_ENABLED)
        return SourceAPI(self._runtime, self.workspace_id, name, delivery_id=self.delivery_id)


_log = logging.getLogger("hub.context")
_STATUSES_SET = "hub_statuses_set"  # in flask.g: (workspace id, plugin) of each ctx.set_status of the app context


def status_set_by_plugin(workspace_id: int, plugin: str, *, forget: bool = False) -> bool:
    """Whether ``plugin``'s ``ctx.set_status`` was called for ``workspace_id`` in this app context
    (since it was last forgotten); ``forget``: forget it now, before a call whose own
    ``set_status`` is to be told apart."""
    if not has_app_context():
        return False
    statuses = g.get(_STATUSES_SET, set())
    was_set = (workspace_id, plugin) in statuses
    if forget:
        statuses.discard((workspace_id, plugin))
    return was_set
LOCK_RENEWAL_MIN_INTERVAL_SECONDS = 0.05


def stop_if_gone(ctx: PluginContext) -> None:
    """The hub's check, for work it ran on its own (a reconciliation) before it stores what the work
    found: ``ConnectionGone`` when the integration was disabled or revoked since ``ctx`` was made
    (as ``ctx.http`` raises in a delivery or a reconciliation)."""
    ctx._still_wanted()


def _lock_keeper(app, name: str, holder: str, ttl: float) -> Renewer:
    """A ``ctx.lock`` taken outside a delivery, while it is held: every third of ``ttl``, push the
    lock's ``expires_at`` ``ttl`` ahead, as long as ``holder`` still holds it (stops once it does
    not: released, or taken over after it ran out), for at most an hour
    (``hub.store.renewal.MAX_HOLD_SECONDS``)."""

    def renew() -> int:
        kept = db.session.execute(sa.update(Lock).where(Lock.name == name, Lock.holder == holder).values(
            expires_at=utcnow() + timedelta(seconds=ttl))).rowcount
        db.session.commit()
        return kept

    return Renewer(app, f"lock-{name}", max(ttl / 3, LOCK_RENEWAL_MIN_INTERVAL_SECONDS), renew, f"the lock {name}", _log)


_DELIVERY_HOLDER = "d"  # a lock holder "d:<delivery id>:<lease token>:<acquisition>"


def _delivery_holder(delivery_id: int, lease_token: str) -> str:
    # the acquisition part keeps two locks of one run apart (a nested take of the same name must
    # not release the outer one); 2 + 19 + 1 + 32 + 1 + 8 characters fit the column's 64
    return f"{_DELIVERY_HOLDER}:{delivery_id}:{lease_token}:{uuid.uuid4().hex[:8]}"


def _holder_gone(holder: str, expires_at, now) -> bool:
    """Whether the delivery run named by ``holder`` has let its lock go: its worker died (its
    lease ran out), or the run is over (recorded, or released by the sweeper and maybe claimed
    again). A run cancelled under its worker (a disable, a revoke) may still be in its vendor
    call: its lock keeps its ttl (``expires_at``)."""
    from hub.store.models import D_CANCELLED, D_RUNNING, Delivery

    _, _, rest = holder.partition(":")
    delivery_id, _, rest = rest.partition(":")
    token, _, _ = rest.partition(":")
    if not delivery_id.isdigit() or not token:
        return expires_at < now
    row = db.session.execute(sa.select(Delivery.status, Delivery.lease_token, Delivery.lease_until).where(
        Delivery.id == int(delivery_id))).first()
    if row is None:
        return True  # purged: long over
    if row.lease_token == token and row.status == D_RUNNING:
        return row.lease_until is None or row.lease_until < now
    if row.status == D_CANCELLED:
        return expires_at < now
    return True


def _try_lock(name: str, holder: str, ttl: float) -> bool:
    """Take lock ``name`` for ``holder``: free, expired (a holder outside deliveries), or held
    by a delivery run that no longer holds its lease. A delivery run's lock does not expire while
    the run holds its lease."""
    now = utcnow()
    expires = now + timedelta(seconds=ttl)
    try:
        with db.session.begin_nested():
            db.session.add(Lock(name=name, holder=holder, expires_at=expires))
        db.session.commit()
        return True
    except IntegrityError:
        db.session.rollback()
    current = db.session.execute(sa.select(Lock.holder, Lock.expires_at).where(Lock.name == name)).first()
    if current is None:  # released meanwhile
        db.session.rollback()
        return False
    if current.holder.startswith(_DELIVERY_HOLDER + ":"):
        free = _holder_gone(current.holder, current.expires_at, now)
    else:
        free = current.expires_at < now
    if not free:
        db.session.rollback()
        return False
    taken = db.session.execute(  # only if nobody took it meanwhile
        sa.update(Lock).where(Lock.name == name, Lock.holder == current.holder).values(holder=holder, expires_at=expires)
    ).rowcount
    db.session.commit()
    return taken == 1


__all__ = ["PluginContext", "RecordStore", "AttachmentStore", "InvitationStore", "SourceAPI"]
