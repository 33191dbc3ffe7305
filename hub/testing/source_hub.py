"""A real hub for a source (ATS) plugin's tests: served over HTTP (so the ATS's sandbox can send
its signed webhooks to the hub's real ingress), with the plugin enabled, and a
``RecordingProvider`` standing in for the assessment provider. The counterpart of
``ProviderHub`` (``hub.testing.provider_hub``), with which it shares its reads and admin actions.

The fixtures of a plugin made by ``hub new-plugin acme --kind source``, in its
``tests/test_webhooks.py`` (``serve_in_thread`` is its sandbox's):

```python
@pytest.fixture
def sandbox_url():
    url, stop = serve_in_thread()
    yield url
    stop()


@pytest.fixture
def hub(tmp_path, sandbox_url):
    provider = RecordingProvider()
    # the plugin loads as installed (its entry point), the stand-in provider as given; no other plugin
    app = make_test_app(tmp_path, {"PLUGINS": "acme,fakeprovider"}, plugins=[("fakeprovider", provider)])
    with SourceHub.serve(app, "acme", provider) as served:
        served.call("connect_sandbox", sandbox_url=sandbox_url)  # the sandbox now sends its webhooks here
        yield served
```

and a test (``_move`` is what a recruiter does on the sandbox's page):

```python
def test_a_move_invites_and_the_result_is_written_back(hub, sandbox_url):
    hub.attach("posting-1", "stage-1")          # an assessment on the ATS's stage, as an admin attaches it
    _move(sandbox_url, "opp-1", "stage-1")     # the sandbox sends its signed webhook to the hub
    invitation = hub.wait_for_invitation("opp-1")
    hub.complete(invitation, score=7, max_score=10)   # your on_assessment_completed has run, and succeeded
    ...                                        # read what it wrote from your sandbox
```

Contract:

* ``RecordingProvider``: an assessment plugin offering ``assessments`` (one, ``fake-assessment``,
  by default). On a stage change into a stage one of its assessments is attached to, it does what
  a provider does (``hub.kit.provider``: the candidate re-read from your plugin with
  ``source_get_candidate``, one invitation per candidate and attachment, a candidate without a
  valid email failed) and records the request in ``invites`` (``InviteRequest``: invitation id,
  opportunity id, name, email, assessment id, round); the invitation is then ``invited`` with
  ``provider_invitation_id`` ``fake-<id>-r<round>``. When it invites no one it says why in
  ``skipped`` (by opportunity id). It cancels the open invitations of a candidate archived
  (``ArchiveChange``), re-sends on an admin's re-invite, and records every event of the ATS it
  heard in ``events`` (``StageChange``, ``ArchiveChange``, ``CandidateDeleted``,
  ``CandidateHired``).
* ``SourceHub.serve(app, plugin, provider, *, settings=None, provider_name="fakeprovider")`` is a
  context manager: it serves ``app`` on a loopback port (``PUBLIC_URL`` set to it, so
  ``ctx.webhook_url`` reaches it), pushes an app context, enables ``provider_name`` and ``plugin``
  in workspace 1, saves ``settings`` as an admin would (when given; a plugin's ``connect_sandbox``
  usually stores them), and yields the ``SourceHub``. On exit it stops the server and pops the
  context.
* ATS side: ``webhook_url`` (the hub's URL for your plugin's webhooks, ``ctx.webhook_url``: give
  it to your sandbox; ``connect_sandbox`` does), ``send_webhook(body, headers=None)`` (POSTs
  ``body`` there as your ATS would: the ``requests`` answer), ``ingest(event, external_id=None,
  source=None)`` (any hub event, as sent by your plugin by default, past ``verify_webhook``: its
  outcome).
* Admin side, in workspace 1, as ``by`` ("admin@example.com" by default), each committing or
  rolling back and re-raising what the admin would be shown: ``attach(posting_id, stage_id, *,
  assessment_id=None, options=None)`` attaches the provider's assessment (the first of
  ``assessments`` by default) to that stage of that posting as the Pipeline page does: the names
  read from your plugin (``source_list_postings``, ``source_list_stages``), ``options`` checked
  against your spec's ``attachment_options``; returns the attachment's id. Raises
  ``ValidationFailed`` naming each field your plugin does not know ("some choices are not valid:
  posting_id: This posting does not exist (any more) at the source."), ``Conflict`` when attached
  there already, ``hub.errors.HubError`` when your plugin failed to answer (the message the admin
  would be shown: "Acme: ...").
  ``reinvite``, ``cancel`` and ``save_settings`` as ``ProviderHub``'s.
* Provider side: ``wait_for_invitation(opportunity_id, timeout=5.0)`` the candidate's invitation
  (``hub.entities.Invitation``, the newest if several) once the provider acted on it (no longer
  ``pending``: ``invited``, or ``failed`` with its ``failure_reason``). Until ``timeout`` passes;
  then an ``AssertionError`` says why in plain words: "no invitation yet for opportunity opp-1: the
  webhook was answered 401 (rejected): signature does not match", no webhook received, no event of
  the webhook about that opportunity, the provider's delivery failing, or why the provider invited
  no one (nothing attached to the stage, the candidate elsewhere by ``source_get_candidate``...).
  ``complete(invitation, score=None, max_score=None, report_url=None, *, completed_at=None,
  check=True)``: the provider reports the candidate's result (``AssessmentResult``, as its webhook
  would); the hub records it and delivers it to your ``on_assessment_completed``.
  ``verdict(invitation, verdict="thumbs_up", *, decided_at=None, check=True)``: a reviewer's
  ``Verdict`` (``thumbs_up`` or ``thumbs_down``), to your ``on_verdict``.
  ``progress(invitation, status, *, reason=None, check=True)``: the provider's news
  (``InvitationProgress``: ``started``, ``expired``, ``failed``...), to your
  ``on_invitation_status``. ``invitation`` is a ``hub.entities.Invitation`` or its id. Each returns
  your plugin's deliveries of that event (``DeliveryInfo``; deliveries run inline, so your hook has
  run). With ``check`` (the default) an ``AssertionError`` says when the hub did not take the
  event ("it is completed already"), when your plugin does not implement the hook, or when its
  delivery did not end ``done`` (its status, attempts and last error: what your hook raised).
* Hub side, as ``ProviderHub``'s, for your plugin by default: ``ctx()``, ``call(hook, **kwargs)``,
  ``invitations()``, ``invitation()``, ``update_invitation(id, **columns)``, ``timeline(id)``,
  ``deliveries(plugin=None)``, ``delivery_list(plugin=None)`` (``delivery_list("fakeprovider")``:
  the provider's), ``webhook_log()`` and ``wait_for(predicate, timeout=5.0, what="condition")``.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from hub import hookimpl
from hub.entities import (
    ASSESSMENT, CANCELLED, PENDING, THUMBS_UP, Assessment, AssessmentResult, IntegrationSpec, InvitationProgress,
    Verdict,
)
from hub.kit.provider import (
    archived_open_invitations, candidate_in_stage, pending_reinvite, record_sent, send_once,
)
from hub.testing.served_hub import ADMIN, DeliveryInfo, ServedHub, serving

__all__ = ["InviteRequest", "RecordingProvider", "SourceHub", "DeliveryInfo"]

PROVIDER_NAME = "fakeprovider"


@dataclass(frozen=True)
class InviteRequest:
    """What the hub asked ``RecordingProvider`` to send: one invitation of one candidate."""

    invitation_id: int
    opportunity_id: str
    name: str | None
    email: str
    assessment_id: str
    round: int


class RecordingProvider:
    """A tiny assessment provider: invites by recording (see the module)."""

    def __init__(self, assessments: tuple[Assessment, ...] = (Assessment(id="fake-assessment",
                                                                           name="Fake assessment"),)) -> None:
        self.assessments = tuple(assessments)
        self.invites: list[InviteRequest] = []
        self.events: list[Any] = []
        self.skipped: dict[str, str] = {}

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Fake assessments", own_invitations_only=True))

    @hookimpl
    def list_assessments(self, ctx):
        return list(self.assessments)

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.events.append(change)
        found = candidate_in_stage(ctx, change)
        if not found:
            self.skipped[change.opportunity_id] = self._why_not(ctx, change)
            return
        self.skipped.pop(change.opportunity_id, None)
        attachments, candidate = found
        for attachment in attachments:
            invitation, _ = ctx.invitations.get_or_create(attachment, candidate)
            send_once(ctx, invitation, candidate, lambda current, email: self._send(ctx, current, email))

    @hookimpl
    def on_reinvite_requested(self, ctx, request):
        found = pending_reinvite(ctx, request)
        if found:
            send_once(ctx, *found, lambda current, email: self._send(ctx, current, email))

    @hookimpl
    def on_archive_change(self, ctx, change):
        self.events.append(change)
        found = archived_open_invitations(ctx, change)
        for invitation in found[0] if found else ():
            ctx.invitations.transition(invitation.id, CANCELLED, round=invitation.round)

    @hookimpl
    def on_candidate_deleted(self, ctx, deletion):
        self.events.append(deletion)

    @hookimpl
    def on_hired(self, ctx, hired):
        self.events.append(hired)

    def _send(self, ctx, invitation, email):
        self.invites.append(InviteRequest(invitation.id, invitation.opportunity_id, invitation.candidate_name, email,
                                          invitation.assessment_id, invitation.round))
        record_sent(ctx, invitation.id, f"fake-{invitation.id}-r{invitation.round}",
                    f"https://assessments.test/take/{invitation.external_reference}", round=invitation.round)

    @staticmethod
    def _why_not(ctx, change) -> str:
        """Why ``candidate_in_stage`` found nothing to invite for (read again, in words)."""
        attached = ctx.attachments.list(provider=ctx.plugin_name)
        if not attached:
            return "nothing is attached to any stage: attach(posting_id, stage_id) first, as an admin does"
        where = ", ".join(f"stage {a.stage_id!r} of posting {a.posting_id!r}" for a in attached)
        if change.to_stage_id and all(a.stage_id != change.to_stage_id for a in attached):
            return (f"the stage change named stage {change.to_stage_id!r}, and nothing is attached there "
                    f"(attached: {where})")
        try:
            candidate = ctx.source.get_candidate(change.opportunity_id)
        except Exception as exc:  # noqa: BLE001 - said, not raised: this is only the reason
            return f"reading the candidate with source_get_candidate failed: {type(exc).__name__}: {exc}"
        read = f"source_get_candidate({change.opportunity_id!r})"
        if candidate is None:
            return f"{read} returned None (the ATS has no such candidate)"
        if change.to_stage_id and candidate.stage_id != change.to_stage_id:
            return (f"the stage change named stage {change.to_stage_id!r}, but {read} says the candidate is in "
                    f"{candidate.stage_id!r}: a stale change, so no invitation")
        if not change.to_stage_id and all(a.stage_id != candidate.stage_id for a in attached):
            return (f"the stage change named no stage, and {read} says the candidate is in {candidate.stage_id!r}, "
                    f"where nothing is attached (attached: {where})")
        if candidate.archived:
            return f"{read} says the candidate is archived"
        return (f"{read} says the candidate is on posting {candidate.posting_id!r}, where nothing is attached to "
                f"that stage (attached: {where})")


# what an ingest's outcome says when the hub did not take a provider's event
_NOT_TAKEN = {
    "no_change": "nothing changed",
    "earlier_round": "it was re-invited since: the event is about an earlier round",
    "not_the_provider": "the invitation is another provider's",
    "unknown_invitation": "the hub holds no such invitation",
    "duplicate": "the same event came before",
}


class SourceHub(ServedHub):
    """The hub, one source (ATS) plugin and a recording provider, served over HTTP (see the module)."""

    def __init__(self, app: Any, runtime: Any, plugin: str, provider: RecordingProvider, url: str,
                 provider_name: str) -> None:
        super().__init__(app, runtime, plugin, url)
        self.provider, self.provider_name = provider, provider_name

    @classmethod
    @contextlib.contextmanager
    def serve(cls, app: Any, plugin: str, provider: RecordingProvider, *, settings: dict | None = None,
              provider_name: str = PROVIDER_NAME) -> Iterator[Any]:
        from hub import services
        from hub.extensions import db

        with serving(app, (provider_name, plugin)) as (runtime, url):
            if settings is not None:
                services.save_settings(runtime, 1, plugin, settings, "test")
            db.session.commit()
            yield cls(app, runtime, plugin, provider, url, provider_name)

    # ---- the ATS's side
    @property
    def webhook_url(self) -> str:
        """The hub's URL for the plugin's webhooks (``ctx.webhook_url``)."""
        return self.ctx().webhook_url

    def send_webhook(self, body: bytes | str, headers: dict | None = None):
        """POST ``body`` to the plugin's webhook URL, as the ATS would; the hub's answer (``requests``)."""
        import requests

        data = body.encode() if isinstance(body, str) else body
        return requests.post(self.webhook_url, data=data, timeout=30,
                             headers={"Content-Type": "application/json", **(headers or {})})

    # ---- admin side
    def attach(self, posting_id: str, stage_id: str, *, assessment_id: str | None = None, options: dict | None = None,
               by: str = ADMIN) -> int:
        """Attach the provider's assessment to a stage of a posting of the ATS, as an admin does on
        the Pipeline page (see the module); returns the attachment's id."""
        from flask import g

        from hub import services
        from hub.errors import HubError, ValidationFailed
        from hub.web.live import CHOICES_NOT_VALID, LiveError, resolve_attachment

        if assessment_id is None:
            assessment_id = self.provider.assessments[0].id
        g.pop("_live_cache", None)  # read from the plugin afresh, as each request of the page does
        try:
            with self._admin_action():
                try:
                    values = resolve_attachment(1, posting_id, stage_id, self.provider_name, assessment_id, options)
                except ValidationFailed as exc:  # its message names the fields only; say what of each
                    raise ValidationFailed.naming_fields(CHOICES_NOT_VALID, exc.fields) from None
                except LiveError as exc:  # the web layer's; a plugin's tests know the public HubError
                    raise HubError(exc.message, status=exc.status, code=exc.code or "vendor_error") from exc
                return services.save_attachment(1, values, by).id
        finally:
            g.pop("_live_cache", None)

    # ---- the provider's side
    def wait_for_invitation(self, opportunity_id: str, timeout: float = 5.0):
        """The candidate's invitation once the provider acted on it (see the module)."""
        deadline = time.monotonic() + timeout
        while True:
            found = [i for i in self.invitations() if i.opportunity_id == opportunity_id and i.status != PENDING]
            if found:
                return found[-1]
            if time.monotonic() > deadline:
                raise AssertionError(f"no invitation yet for opportunity {opportunity_id}: "
                                     f"{self._why_no_invitation(opportunity_id)}")
            time.sleep(0.02)

    def complete(self, invitation: Any, score: float | None = None, max_score: float | None = None,
                 report_url: str | None = None, *, completed_at=None, check: bool = True) -> list[DeliveryInfo]:
        """The provider reports the candidate's result; your ``on_assessment_completed`` runs."""
        return self._from_provider(invitation, "result", "on_assessment_completed", check, lambda current: (
            AssessmentResult(invitation_id=current.id, score=score, max_score=max_score, report_url=report_url,
                             completed_at=completed_at, round=current.round)))

    def verdict(self, invitation: Any, verdict: str = THUMBS_UP, *, decided_at=None,
                check: bool = True) -> list[DeliveryInfo]:
        """A reviewer's verdict, from the provider; your ``on_verdict`` runs."""
        return self._from_provider(invitation, "verdict", "on_verdict", check, lambda current: (
            Verdict(invitation_id=current.id, verdict=verdict, decided_at=decided_at, round=current.round)))

    def progress(self, invitation: Any, status: str, *, reason: str | None = None,
                 check: bool = True) -> list[DeliveryInfo]:
        """The provider's news about the invitation; your ``on_invitation_status`` runs."""
        return self._from_provider(invitation, f"status {status!r}", "on_invitation_status", check, lambda current: (
            InvitationProgress(invitation_id=current.id, status=status, reason=reason, round=current.round)))

    def _from_provider(self, invitation: Any, what: str, hook: str, check: bool,
                       make: Callable[[Any], Any]) -> list[DeliveryInfo]:
        invitation_id = invitation if isinstance(invitation, int) else invitation.id
        current = next((i for i in self.invitations() if i.id == invitation_id), None)
        if current is None:
            raise AssertionError(f"no invitation {invitation_id} in the hub (invitations() lists them)")
        outcome = self.ingest(make(current), source=self.provider_name)
        if outcome.outcome not in ("accepted", "no_subscribers"):
            if check:
                why = _NOT_TAKEN.get(outcome.outcome, outcome.outcome)
                if outcome.outcome == "no_change":
                    why = f"nothing changed (the invitation is {current.status}, its verdict {current.verdict})"
                raise AssertionError(f"the hub did not take the {what} of invitation {invitation_id}: {why} "
                                     f"({outcome.outcome})")
            return []
        delivered = self._delivery_rows(self.plugin, outcome.event_id)
        if check:
            self._check_delivered(delivered, what, hook, invitation_id)
        return delivered

    def _check_delivered(self, delivered: list[DeliveryInfo], what: str, hook: str, invitation_id: int) -> None:
        if not delivered:
            if not self.runtime.registry.implements(self.plugin, hook):
                raise AssertionError(f"{self.plugin} does not implement {hook}: the hub recorded the {what} of "
                                     f"invitation {invitation_id}, and nothing was written back to the ATS")
            raise AssertionError(f"the hub recorded the {what} of invitation {invitation_id}, but delivered it to no "
                                 f"hook of {self.plugin} (is it enabled?)")
        failed = [d for d in delivered if d.status != "done"]
        if failed:
            raise AssertionError("; ".join(
                f"{self.plugin}'s {d.hook} did not succeed for the {what} of invitation {invitation_id}: its delivery "
                f"{d.id} is {d.status} after {d.attempts} attempt{'' if d.attempts == 1 else 's'}"
                f"{f': {d.last_error}' if d.last_error else ''}" for d in failed))

    def _why_no_invitation(self, opportunity_id: str) -> str:
        """Why the candidate has no invitation (yet), from the first step of the story that did not happen."""
        import sqlalchemy as sa

        from hub.extensions import db
        from hub.store.models import Event

        waiting = [i for i in self.invitations() if i.opportunity_id == opportunity_id]
        if waiting:
            return (f"invitation {waiting[-1].id} is still pending: the provider has not sent it "
                    f"(delivery_list({self.provider_name!r}) says why)")
        events = db.session.execute(sa.select(Event.id, Event.type).where(
            Event.source_plugin == self.plugin, Event.subject == opportunity_id).order_by(Event.id)).all()
        db.session.commit()
        changes = [event_id for event_id, kind in events if kind == "stage_change"]
        if changes:
            delivered = self._delivery_rows(self.provider_name)
            stuck = [d for d in delivered if d.hook == "on_stage_change" and d.status != "done"]
            if stuck:
                d = stuck[-1]
                return (f"the provider's on_stage_change is {d.status} after {d.attempts} attempt"
                        f"{'' if d.attempts == 1 else 's'}{f': {d.last_error}' if d.last_error else ''}")
            if opportunity_id in self.provider.skipped:
                return f"the provider invited no one: {self.provider.skipped[opportunity_id]}"
            return "the hub took a stage change, but no delivery reached the provider (is it enabled?)"
        log = self.webhook_log()
        if not log:
            return (f"the hub received no webhook for {self.plugin} (its URL: {self.webhook_url}): did the ATS "
                    f"sandbox send one there? connect_sandbox gives it the URL")
        last = log[-1]
        answered = f"answered {last.status_code} ({last.outcome}){f': {last.message}' if last.message else ''}"
        if events:
            return (f"the hub got {', '.join(kind for _, kind in events)} about it from {self.plugin}, but no "
                    f"stage_change (the last webhook was {answered})")
        if last.outcome == "rejected" or last.status_code >= 300:
            return f"the webhook was {answered}"
        return (f"the last webhook was {answered}, but no event the hub took from {self.plugin} is about "
                f"opportunity {opportunity_id}: check what verify_webhook makes of it")
