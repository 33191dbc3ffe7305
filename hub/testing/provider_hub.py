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
from dataclasses import replace
from typing import Any, Iterator

from hub import hookimpl
from hub.entities import SOURCE, Candidate, IntegrationSpec, StageChange
from hub.testing.served_hub import ADMIN, DeliveryInfo, ServedHub, serving

__all__ = ["ADMIN", "OTHER_STAGE", "DeliveryInfo", "ProviderHub", "RecordingSource"]

OTHER_STAGE = "stage-phone-screen"


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


class ProviderHub(ServedHub):
    """The hub, one assessment plugin and a recording source, served over HTTP (see the module)."""

    def __init__(self, app: Any, runtime: Any, plugin: str, source: RecordingSource, attachment: dict,
                 attachment_id: int, url: str, source_name: str) -> None:
        super().__init__(app, runtime, plugin, url)
        self.source = source
        self.attachment_id, self.source_name = attachment_id, source_name
        self.attachment = dict(attachment)
        self.stage, self.posting = attachment["stage_id"], attachment["posting_id"]
        self.posting_title = attachment.get("posting_name", "")

    @classmethod
    @contextlib.contextmanager
    def serve(cls, app: Any, plugin: str, source: RecordingSource, *, settings: dict, attachment: dict,
              source_name: str = "fakesource") -> Iterator[Any]:
        from hub import services
        from hub.extensions import db

        with serving(app, (source_name, plugin)) as (runtime, url):
            services.save_settings(runtime, 1, plugin, settings, "test")
            row = services.save_attachment(1, {**attachment, "provider": plugin}, "test")
            attachment_id = row.id
            db.session.commit()
            yield cls(app, runtime, plugin, source, attachment, attachment_id, url, source_name)

    def _default_sender(self) -> str:
        return self.source_name

    # ---- source side
    def candidate(self, opportunity_id: str = "opp-1", **overrides: Any) -> Candidate:
        current = self.source.candidates.get(opportunity_id) or Candidate(
            opportunity_id=opportunity_id, name="Ada Lovelace", email="ada@example.com", posting_id=self.posting,
            posting_title=self.posting_title, stage_id=OTHER_STAGE)
        self.source.candidates[opportunity_id] = replace(current, **overrides)
        return self.source.candidates[opportunity_id]

    def move(self, opportunity_id: str = "opp-1", stage: str | None = None, external_id: str | None = None):
        """The candidate moves into ``stage`` at the source, and the source's webhook says so."""
        stage = stage or self.stage
        self.candidate(opportunity_id, stage_id=stage)
        return self.ingest(StageChange(opportunity_id=opportunity_id, to_stage_id=stage), external_id)

    # ---- admin side
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
