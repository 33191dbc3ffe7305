"""A real hub for an assessment provider's hook tests: served over HTTP (so the provider's sandbox
can send its signed webhooks to the hub's real ingress), with the plugin enabled and configured,
one attachment, and a ``RecordingSource`` standing in for the ATS.

The fixtures of a plugin made by ``hub new-plugin acme --kind assessment``, in its
``tests/conftest.py`` (``serve_in_thread`` is its sandbox's, ``ATTACHMENT`` the attachment):

```python
@pytest.fixture
def sandbox_url():
    url, stop = serve_in_thread()
    yield url
    stop()


@pytest.fixture
def hub(tmp_path, sandbox_url):
    source = RecordingSource()
    # the plugin loads as installed (its entry point), the stand-in ATS as given; no other plugin
    app = make_test_app(tmp_path, {"PLUGINS": "acme,fakesource"}, plugins=[("fakesource", source)])
    settings = {"base_url": sandbox_url, "api_key": "test-key", "webhook_secret": "test-secret"}
    with ProviderHub.serve(app, "acme", source, settings=settings, attachment=ATTACHMENT) as served:
        served.call("connect_sandbox", sandbox_url=sandbox_url)  # the sandbox now sends webhooks here
        yield served
```

and a test:

```python
def test_invites_once(hub):
    hub.move("opp-1")                      # the candidate enters the attached stage at the source
    assert hub.invitation().status == "invited"
```

Contract:

* ``RecordingSource``: a source plugin whose candidates are ``candidates`` (a dict by opportunity
  id); it records what the hub tells sources (``statuses``, ``results``, ``verdicts``) and counts
  ``reads`` of ``source_get_candidate``.
* ``ProviderHub.serve(app, plugin, source, *, settings, attachment, source_name="fakesource")`` is
  a context manager: it serves ``app`` on a loopback port (``PUBLIC_URL`` set to it, so
  ``ctx.webhook_url`` reaches it), pushes an app context, enables ``source_name`` and ``plugin`` in
  workspace 1, saves ``settings`` as an admin would, saves ``attachment`` (a mapping of
  ``posting_id``, ``stage_id``, ``assessment_id`` and their names), and yields the ``ProviderHub``
  (an instance of the class it is called on). On exit it stops the server and pops the context.
* Source side: ``candidate(opportunity_id, **changes)`` creates or changes a candidate (by
  default "Ada Lovelace", ada@example.com, on the attachment's posting, in another stage);
  ``move(opportunity_id, stage=<the attachment's stage>, external_id=None)`` moves them and
  ingests the source's ``StageChange``; ``ingest(event, external_id=None, source=None)`` ingests
  any hub event (``hub.entities``) under ``external_id`` (a new one by default) as sent by
  ``source`` (default: the source; the plugin's name for its own events, e.g. what its
  ``reconcile`` returned) and returns the ingest's outcome (its ``outcome``: ``accepted``,
  ``duplicate``, ``no_subscribers``, ``no_change``...). Deliveries run inline in
  ``make_test_app``'s hub: the hooks have run when it returns.
* Hub side: ``ctx()``, ``call(hook, **kwargs)`` (the plugin's hook, with its ``ctx``: what it
  returns), ``invitations()`` (``hub.entities.Invitation``, by id), ``invitation()`` (the only
  one; ``AssertionError`` "no invitation yet", or how many there are),
  ``update_invitation(id, **columns)`` (e.g. ``created_at`` to age it), ``timeline(id)`` (the
  invitation's timeline as ``(kind, detail)`` pairs, oldest first; the ``refs`` of
  ``ctx.invitations.note`` are not in them), ``deliveries(plugin=None)`` (status -> count for the
  plugin), ``delivery_list(plugin=None)`` (each of the plugin's deliveries, oldest first, as a
  ``DeliveryInfo``: ``id``, ``hook``, ``event_type``, ``status``, ``attempts``, ``last_error``,
  ``next_attempt_at``: why a delivery is retrying or dead, e.g. ``assert hub.deliveries() ==
  {"done": 2}, hub.delivery_list()``), ``webhook_log()`` (the hub's webhook log rows for the
  plugin), ``wait_for(predicate, timeout=5.0, what="condition")`` (the predicate's first truthy value).
  Each read ends its transaction (on SQLite an open one would block the hub's other threads).
* Admin side, what an admin does on the hub's pages or through its API, by the same service
  functions, in workspace 1, as ``by`` (an admin's email, "admin@example.com" by default, written
  to the audit log). Each commits, or rolls back and re-raises the error the admin would be shown
  (a ``hub.errors.HubError``: ``Conflict``, ``NotFound``, ``ValidationFailed``, ``BadRequest``),
  so no transaction stays open either way. The events an action raises are delivered as any
  other (inline in ``make_test_app``'s hub, so the plugin's hooks have run when it returns):
  ``reinvite(invitation_id)`` starts round 2 (3...) of an ended invitation (the plugin's
  ``on_reinvite_requested``); ``cancel(invitation_id)`` cancels an open one (every enabled
  plugin's ``on_invitation_status`` with ``status="cancelled"`` and ``by=None``: not a plugin's
  own change); both return the invitation.
  ``save_settings(settings, **changes)`` saves the plugin's settings after ``serve`` (fields not
  given keep their value); ``attach(**attachment)`` attaches another assessment and returns the
  attachment's id.
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Iterator, Mapping

import sqlalchemy as sa
from werkzeug.serving import make_server

from hub import hookimpl
from hub.entities import SOURCE, Candidate, InboundEvent, IntegrationSpec, StageChange

OTHER_STAGE = "stage-phone-screen"
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


class RecordingSource:
    """A tiny source (ATS) plugin: candidates from a dict; records what the hub tells sources."""

    def __init__(self) -> None:
        self.candidates: dict[str, Candidate] = {}
        self.statuses: list[Any] = []
        self.results: list[Any] = []
        self.verdicts: list[Any] = []
        self.reads = 0

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Fake ATS"))

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        self.reads += 1
        return self.candidates.get(opportunity_id)

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        self.statuses.append(progress)

    @hookimpl
    def on_assessment_completed(self, ctx, result):
        self.results.append(result)

    @hookimpl
    def on_verdict(self, ctx, verdict):
        self.verdicts.append(verdict)


class ProviderHub:
    """The hub, one assessment plugin and a recording source, served over HTTP (see the module)."""

    def __init__(self, app: Any, runtime: Any, plugin: str, source: RecordingSource, attachment: dict,
                 attachment_id: int, url: str, source_name: str) -> None:
        self.app, self.runtime, self.plugin, self.source = app, runtime, plugin, source
        self.attachment_id, self.url, self.source_name = attachment_id, url, source_name
        self.attachment = dict(attachment)
        self.stage, self.posting = attachment["stage_id"], attachment["posting_id"]
        self.posting_title = attachment.get("posting_name", "")
        self.events: list = []

    @classmethod
    @contextlib.contextmanager
    def serve(cls, app: Any, plugin: str, source: RecordingSource, *, settings: dict, attachment: dict,
              source_name: str = "fakesource") -> Iterator[Any]:
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
            services.set_enabled(runtime, 1, source_name, True, "test")
            services.set_enabled(runtime, 1, plugin, True, "test")
            services.save_settings(runtime, 1, plugin, settings, "test")
            row = services.save_attachment(1, {**attachment, "provider": plugin}, "test")
            attachment_id = row.id
            db.session.commit()
            yield cls(app, runtime, plugin, source, attachment, attachment_id, url, source_name)
        finally:
            db.session.remove()
            context.pop()
            server.shutdown()
            server.server_close()
            thread.join(5)

    # ---- source side
    def candidate(self, opportunity_id: str = "opp-1", **overrides: Any) -> Candidate:
        current = self.source.candidates.get(opportunity_id) or Candidate(
            opportunity_id=opportunity_id, name="Ada Lovelace", email="ada@example.com", posting_id=self.posting,
            posting_title=self.posting_title, stage_id=OTHER_STAGE)
        self.source.candidates[opportunity_id] = replace(current, **overrides)
        return self.source.candidates[opportunity_id]

    def ingest(self, event: Any, external_id: str | None = None, source: str | None = None):
        from hub.engine.ingest import ingest

        outcome = ingest(self.runtime, 1, source or self.source_name,
                         InboundEvent(external_id=external_id or uuid.uuid4().hex, event=event))
        self.events.append(outcome)
        return outcome

    def move(self, opportunity_id: str = "opp-1", stage: str | None = None, external_id: str | None = None):
        """The candidate moves into ``stage`` at the source, and the source's webhook says so."""
        stage = stage or self.stage
        self.candidate(opportunity_id, stage_id=stage)
        return self.ingest(StageChange(opportunity_id=opportunity_id, to_stage_id=stage), external_id)

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
        from hub.extensions import db
        from hub.store.models import Delivery, Event

        rows = db.session.execute(
            sa.select(Delivery.id, Delivery.hook, Event.type, Delivery.status, Delivery.attempts,
                      Delivery.last_error, Delivery.next_attempt_at)
            .join(Event, Event.id == Delivery.event_id)
            .where(Delivery.plugin == (plugin or self.plugin)).order_by(Delivery.id)).all()
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

    def attach(self, *, by: str = ADMIN, **attachment: Any) -> int:
        """Attach another assessment, as an admin does on the Pipeline page, and return the new
        attachment's id. ``attachment`` holds ``assessment_id``, ``assessment_name`` and optionally
        ``options`` (e.g. ``{"remind_on_reentry": True}``); ``posting_id``, ``posting_name``,
        ``stage_id`` and ``stage_name`` default to those of ``serve``'s attachment, ``provider`` to
        the plugin. The names are stored as given (the admin's page reads them from the vendors).

        Raises ``ValidationFailed`` when a value is missing or an option unknown, ``Conflict`` when
        that assessment is already attached to that stage of that posting."""
        from hub import services

        where = {key: self.attachment.get(key) for key in ("posting_id", "posting_name", "stage_id", "stage_name")}
        with self._admin_action():
            return services.save_attachment(1, {**where, "provider": self.plugin, **attachment}, by).id

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
