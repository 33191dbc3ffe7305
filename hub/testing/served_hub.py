"""What ``ProviderHub`` and ``SourceHub`` share: a real hub app served on a loopback port (its
``PUBLIC_URL`` set to it, so ``ctx.webhook_url`` reaches it) with an app context pushed, and the
reads and admin actions a plugin's hook tests make on it, in workspace 1.

``ServedHub`` is the base of both; its methods are documented in the modules of the two
(``hub.testing.provider_hub``, ``hub.testing.source_hub``), which are their contracts. Each read
ends its transaction (on SQLite an open one would block the hub's other threads); each admin
action commits, or rolls back and re-raises the error the admin would be shown.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Iterator, Mapping, Sequence

import sqlalchemy as sa
from werkzeug.serving import make_server

from hub.entities import InboundEvent

ADMIN = "admin@example.com"


@dataclass(frozen=True)
class DeliveryInfo:
    """One delivery of an event to a plugin's hook, as ``ProviderHub.delivery_list()`` reads it.
    ``status``: ``pending``, ``running``, ``retry``, ``done``, ``dead`` or ``cancelled``;
    ``last_error``: what its last failed attempt raised (why it is retrying, or dead), else None;
    ``next_attempt_at``: when it runs next (while pending or retrying)."""

    id: int
    hook: str
    event_type: str
    status: str
    attempts: int
    last_error: str | None
    next_attempt_at: datetime | None


@contextlib.contextmanager
def serving(app: Any, enable: Sequence[str]) -> Iterator[tuple[Any, str]]:
    """Serve ``app`` on a loopback port (``PUBLIC_URL`` set to it), push an app context, enable the
    plugins ``enable`` in workspace 1 (in that order), and yield ``(runtime, url)``. On exit: end
    the session, pop the context, stop the server."""
    from hub import services
    from hub.extensions import db
    from hub.runtime import get_runtime

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="hub-http",
                              daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_URL"] = url
    context = app.app_context()
    context.push()
    try:
        runtime = get_runtime()
        for name in enable:
            services.set_enabled(runtime, 1, name, True, "test")
        yield runtime, url
    finally:
        db.session.remove()
        context.pop()
        server.shutdown()
        server.server_close()
        thread.join(5)


class ServedHub:
    """A served hub and the plugin under test (``plugin``): reads, admin actions, waiting."""

    def __init__(self, app: Any, runtime: Any, plugin: str, url: str) -> None:
        self.app, self.runtime, self.plugin, self.url = app, runtime, plugin, url
        self.events: list = []

    def _default_sender(self) -> str:
        """Who ``ingest`` sends an event as when not told (the ATS's plugin)."""
        return self.plugin

    # ---- events
    def ingest(self, event: Any, external_id: str | None = None, source: str | None = None):
        from hub.engine.ingest import ingest

        outcome = ingest(self.runtime, 1, source or self._default_sender(),
                         InboundEvent(external_id=external_id or uuid.uuid4().hex, event=event))
        self.events.append(outcome)
        return outcome

    # ---- hub side
    def ctx(self):
        return self.runtime.context(1, self.plugin)

    def call(self, hook: str, **kwargs: Any) -> Any:
        return self.runtime.registry.call(self.plugin, hook, ctx=self.ctx(), **kwargs)

    def invitations(self) -> list:
        from hub.engine.invitations import to_entity
        from hub.extensions import db
        from hub.store.models import Invitation

        rows = [to_entity(r) for r in db.session.scalars(sa.select(Invitation).order_by(Invitation.id))]
        db.session.commit()
        return rows

    def invitation(self):
        """The only invitation; ``AssertionError`` saying how many there are otherwise ("no
        invitation yet": nothing invited the candidate, see ``delivery_list()`` for why)."""
        found = self.invitations()
        if len(found) != 1:
            if not found:
                raise AssertionError("no invitation yet: the hub holds none (delivery_list() gives each delivery's "
                                     "status and last error)")
            raise AssertionError(f"{len(found)} invitations, not one: use invitations() (their ids: "
                                 f"{', '.join(str(i.id) for i in found)})")
        return found[0]

    def update_invitation(self, invitation_id: int, **values: Any) -> None:
        from hub.extensions import db
        from hub.store.models import Invitation

        if {"candidate_name", "candidate_email"} & values.keys():  # past the ORM hook that keeps search_text
            from hub.store.search_text import search_text

            name, email = db.session.execute(sa.select(Invitation.candidate_name, Invitation.candidate_email)
                                             .where(Invitation.id == invitation_id)).one()
            values = {**values, "search_text": search_text(values.get("candidate_name", name),
                                                           values.get("candidate_email", email))}
        db.session.execute(sa.update(Invitation).where(Invitation.id == invitation_id).values(**values))
        db.session.commit()

    def timeline(self, invitation_id: int) -> list[tuple[str, str]]:
        from hub.extensions import db
        from hub.store.models import TimelineEntry

        rows = [(t.kind, t.detail) for t in db.session.scalars(
            sa.select(TimelineEntry).where(TimelineEntry.invitation_id == invitation_id).order_by(TimelineEntry.id))]
        db.session.commit()
        return rows

    def deliveries(self, plugin: str | None = None) -> dict[str, int]:
        """How many deliveries to the plugin (or ``plugin``) are in each status: ``{"done": 2}``.
        Each one's status and last error: ``delivery_list()``."""
        from hub.extensions import db
        from hub.store.models import Delivery

        rows = db.session.execute(sa.select(Delivery.status, sa.func.count())
                                  .where(Delivery.plugin == (plugin or self.plugin)).group_by(Delivery.status)).all()
        db.session.commit()
        return dict(rows)

    def delivery_list(self, plugin: str | None = None) -> list[DeliveryInfo]:
        """Each delivery to the plugin (or ``plugin``), oldest first, as a ``DeliveryInfo``: its
        ``hook``, the ``event_type``, its ``status``, ``attempts`` and ``last_error`` (why it is
        retrying, or dead), e.g. ``assert hub.deliveries() == {"done": 2}, hub.delivery_list()``."""
        return self._delivery_rows(plugin or self.plugin)

    def _delivery_rows(self, plugin: str, event_id: int | None = None) -> list[DeliveryInfo]:
        from hub.extensions import db
        from hub.store.models import Delivery, Event

        query = (sa.select(Delivery.id, Delivery.hook, Event.type, Delivery.status, Delivery.attempts,
                           Delivery.last_error, Delivery.next_attempt_at)
                 .join(Event, Event.id == Delivery.event_id).where(Delivery.plugin == plugin))
        if event_id is not None:
            query = query.where(Delivery.event_id == event_id)
        rows = db.session.execute(query.order_by(Delivery.id)).all()
        db.session.commit()
        return [DeliveryInfo(*row) for row in rows]

    def webhook_log(self, plugin: str | None = "") -> list:
        """The hub's webhook log rows (``outcome``, ``status_code``, ``message``...) of the plugin, or
        of every plugin with ``plugin=None``."""
        from hub.extensions import db
        from hub.store.models import WebhookLog

        query = sa.select(WebhookLog).order_by(WebhookLog.id)
        if plugin is not None:
            query = query.where(WebhookLog.plugin == (plugin or self.plugin))
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        db.session.commit()
        return rows

    # ---- admin side
    def reinvite(self, invitation_id: int, by: str = ADMIN):
        """Send an ended invitation again, as an admin's "Re-invite" does: the hub starts the next
        round (pending, a new ``external_reference``) and the plugin's ``on_reinvite_requested``
        runs. Returns the invitation (``hub.entities.Invitation``) as the hub has it then.

        Raises ``Conflict`` when the invitation is not failed, expired, cancelled or completed, or
        the plugin is not enabled; ``NotFound`` when there is no such invitation."""
        from hub import services
        from hub.engine.invitations import to_entity

        with self._admin_action():
            return to_entity(services.reinvite_invitation(self.runtime, 1, invitation_id, by))

    def cancel(self, invitation_id: int, by: str = ADMIN):
        """Cancel an open invitation, as an admin's "Cancel invitation" does: the hub marks it
        cancelled and the plugins' ``on_invitation_status`` hear of it (``status="cancelled"``, so
        the plugin withdraws it at its vendor). Returns the invitation as the hub has it then.

        Raises ``Conflict`` when the invitation is not pending, invited or started, or the plugin is
        disabled; ``NotFound`` when there is no such invitation."""
        from hub import services
        from hub.engine.invitations import to_entity

        with self._admin_action():
            return to_entity(services.cancel_invitation(self.runtime, 1, invitation_id, by))

    def save_settings(self, settings: Mapping[str, Any] | None = None, *, by: str = ADMIN, **changes: Any) -> None:
        """Save the plugin's settings as an admin's settings form or
        ``PUT /api/v1/integrations/<plugin>`` does: ``settings`` updated with ``changes``, validated
        by the plugin's schema; fields not given keep their value (a secret given empty too). A
        ``ctx()`` made afterwards, and every hook run afterwards, sees them. A setting named ``by``
        goes in ``settings``.

        Raises ``ValidationFailed`` (``fields``: the schema's messages by field) when the schema
        refuses them, ``BadRequest`` when the plugin has no settings; nothing is saved then."""
        from hub import services

        with self._admin_action():
            services.save_settings(self.runtime, 1, self.plugin, {**(settings or {}), **changes}, by)

    @contextlib.contextmanager
    def _admin_action(self) -> Iterator[None]:
        """Commit what the block did, or roll it back and re-raise, as the hub's error handlers
        do: a transaction left open would block the hub's other threads on SQLite."""
        from hub.extensions import db

        try:
            yield
        except BaseException:
            db.session.rollback()
            raise
        db.session.commit()

    def wait_for(self, predicate, timeout: float = 5.0, what: str = "condition"):
        deadline = time.monotonic() + timeout
        while True:
            value = predicate()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.02)
