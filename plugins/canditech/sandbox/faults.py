"""Fault injection of the Canditech sandbox: the sandbox kit's (``hub.kit.sandbox.faults``: errors,
latency, ``down``, faults after processing, webhook drops, duplicates and reordering, all seeded)
plus Canditech's own settings below. A bad setting answers ``SandboxError(400,
"validation_error")``.

``api_fault()`` draws error, timeout, reset in that order for a ``/v1`` request.
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
}
DEFAULTS: dict = {**kit.DEFAULTS, **EXTRA}


class Faults(kit.Faults):
    """The kit's faults with Canditech's extra settings and error body."""

    def __init__(self) -> None:
        super().__init__(EXTRA)

    def configure(self, mapping: dict) -> dict:
        try:
            return super().configure(mapping)
        except kit.InvalidFaults as exc:
            raise SandboxError(400, wire.ERR_VALIDATION, str(exc)) from None
