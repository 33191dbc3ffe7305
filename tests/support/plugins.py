"""Small plugins for engine tests: a recording source and recording/failing assessment plugins.

They use only the public contract, like any third-party plugin.
"""

from __future__ import annotations

import json
import threading

from hub import hookimpl
from hub.entities import (
    ASSESSMENT, SOURCE, InboundEvent, IntegrationSpec, StageChange, WebhookResult,
)
from hub.errors import Deferred, PermanentError, WebhookRejected


class FakeSource:
    """A source whose webhooks are JSON ``{"id": ..., "opportunity_id": ..., "to_stage_id": ...}``;
    a body ``{"ping": true}`` is its connection test; ``{"bad": true}`` is rejected."""

    def __init__(self):
        self.candidates = {}

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Fake ATS"))

    @hookimpl
    def verify_webhook(self, ctx, request):
        try:
            body = json.loads(request.body)
        except ValueError:
            raise WebhookRejected("body is not JSON", status=400)
        if not isinstance(body, dict) or body.get("bad"):
            raise WebhookRejected("signature does not match", status=401)
        if body.get("ping"):
            return WebhookResult(ping=True)
        if "id" not in body:
            return WebhookResult(note="no id: ignored")
        return WebhookResult(events=(InboundEvent(
            external_id=str(body["id"]), alias_ids=tuple(body.get("aliases", ())),
            event=StageChange(opportunity_id=body.get("opportunity_id", "opp-1"),
                              to_stage_id=body.get("to_stage_id", "stage-1"))),))

    @hookimpl
    def source_get_candidate(self, ctx, opportunity_id):
        return self.candidates.get(opportunity_id)


class Recorder:
    """An assessment plugin that records every stage change it receives."""

    def __init__(self, title="Recorder"):
        self.title = title
        self.calls = []
        self.lock = threading.Lock()

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title=self.title))

    @hookimpl
    def on_stage_change(self, ctx, change):
        with self.lock:
            self.calls.append((ctx.plugin_name, change))


class AlwaysFails(Recorder):
    def __init__(self, error=RuntimeError):
        super().__init__("Always fails")
        self.error = error
        self.attempts = 0

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.attempts += 1
        raise self.error("vendor exploded")


class DefersOnce(Recorder):
    @hookimpl
    def on_stage_change(self, ctx, change):
        self.calls.append(change)
        if len(self.calls) == 1:
            raise Deferred("not yet", retry_after=0.01)


class FailsPermanently(Recorder):
    @hookimpl
    def on_stage_change(self, ctx, change):
        self.calls.append(change)
        raise PermanentError("the vendor says this candidate is invalid")
