"""Fault injection of the Canditech sandbox: the sandbox kit's (``hub.kit.sandbox.faults``: errors,
latency, ``down``, faults after processing, webhook drops, duplicates and reordering, all seeded)
plus Canditech's own settings below. A bad setting answers ``SandboxError(400,
"validation_error")``.

``api_fault()`` draws error, timeout, reset in that order for a ``/v1`` request.

Two settings change a contract choice instead of injecting an error, so tests can show the plugin
does not rely on it: ``no_reference_dedup`` (``POST /v1/invitations`` with a known
``external_reference`` creates another invitation instead of answering 409) and
``cancel_finished_status`` (the status, 409 by default, refusing to cancel a finished invitation
through ``/v1``).

``forbidden_assessments`` (assessment ids) refuses one resource to a key that works, as a real
account may (an assessment of a team the key's user is not in): ``POST /v1/invitations`` for one of
them, and ``GET`` or cancel of an invitation of one, answer 403 ``forbidden``; the assessments list
and the lookup by reference still answer, as does everything else.
"""

from __future__ import annotations

from hub.kit.sandbox import faults as kit

from . import wire
from .state import SandboxError

EXTRA: dict = {
    "latency_after_ms": 0,         # added after a /v1 call took effect, before its answer
    "timeout_rate": 0.0,           # fraction of /v1 calls that stall for timeout_seconds
    "timeout_seconds": 10.0,
    "reset_rate": 0.0,             # fraction of /v1 calls whose connection is closed unanswered
    "thin_webhooks": False,        # data carries only {"invitation": {"id": ...}}
    # Contract choices the plugin must not depend on (the real Canditech may differ):
    "no_reference_dedup": False,   # a POST with a known external_reference creates another invitation
    "cancel_finished_status": 409,  # the 4xx refusing to cancel a completed or expired invitation
    "forbidden_assessments": [],   # assessment ids whose invitations the key may not create, read or cancel (403)
}
DEFAULTS: dict = {**kit.DEFAULTS, **EXTRA}


class Faults(kit.Faults):
    """The kit's faults with Canditech's extra settings and error body."""

    def __init__(self) -> None:
        super().__init__(EXTRA)

    def validate(self, mapping: dict) -> dict:
        """The kit's checks, ``cancel_finished_status`` must be a 4xx status and
        ``forbidden_assessments`` a list of assessment ids (non-empty strings)."""
        settings = super().validate(mapping)
        status = settings["cancel_finished_status"]
        if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 499:
            raise kit.InvalidFaults("cancel_finished_status: must be an HTTP 4xx status")
        forbidden = settings["forbidden_assessments"]
        if not isinstance(forbidden, list) or not all(isinstance(i, str) and i.strip() for i in forbidden):
            raise kit.InvalidFaults("forbidden_assessments: must be a list of assessment ids")
        settings["forbidden_assessments"] = list(forbidden)
        return settings

    def snapshot(self) -> dict:
        settings = super().snapshot()
        settings["forbidden_assessments"] = list(settings["forbidden_assessments"])
        return settings

    def forbids(self, assessment_id: str) -> bool:
        """Whether ``forbidden_assessments`` refuses the key this assessment's invitations."""
        return assessment_id in self.get("forbidden_assessments")

    def configure(self, mapping: dict) -> dict:
        try:
            return super().configure(mapping)
        except kit.InvalidFaults as exc:
            raise SandboxError(400, wire.ERR_VALIDATION, str(exc)) from None
