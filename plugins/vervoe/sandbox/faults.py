"""Fault injection of the Vervoe sandbox: exactly the sandbox kit's (``hub.kit.sandbox.faults``),
with no settings of its own (so the Canditech sandbox's extra ones, such as ``timeout_rate``, are
refused here).

* ``Faults.configure(mapping)`` REPLACES the settings (keys not given go back to ``DEFAULTS``) and
  reseeds the generator with ``seed``: the same settings and requests give the same faults.
  Unknown keys or bad values raise ``SandboxError(400)``.
* ``api_fault()`` decides one ``/api`` request's fault: None or ``("error", status)``.
  ``down`` answers 503 to every ``/api`` call; ``latency_ms`` delays each.
  With ``fault_after_processing`` the error is answered AFTER the call took effect (an invitation
  created, then 500: the client cannot know).
* Webhooks: ``webhook_drop_rate``, ``webhook_drop_forever``, ``webhook_duplicate_rate``,
  ``webhook_reorder`` (``webhook_reorder_batch``, ``webhook_reorder_hold_ms``): see the kit's
  ``WebhookSender``.
"""

from __future__ import annotations

from hub.kit.sandbox import faults as kit

from .state import SandboxError

DEFAULTS: dict = dict(kit.DEFAULTS)


class Faults(kit.Faults):
    """The kit's faults with Vervoe's error body."""

    def configure(self, mapping: dict) -> dict:
        try:
            return super().configure(mapping)
        except kit.InvalidFaults as exc:
            raise SandboxError(400, str(exc)) from None
