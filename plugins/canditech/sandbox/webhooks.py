"""Signed outbound webhooks of the Canditech sandbox: the sandbox kit's sender
(``hub.kit.sandbox.webhooks``: queue, worker threads, retries, delivery faults, log) with
Canditech's signature.

* ``Dispatcher.submit(event, url)`` queues ``event`` (its ``id`` is the event id, kept across
  attempts and copies); ``url=None`` records it as ``no_target``.
* Each attempt carries ``Canditech-Signature: t=<now>,v1=<hmac>`` signed afresh with the secret
  current at that moment; a 2xx answer delivers the event, anything else is retried after
  ``retry_delays[n]`` seconds until they run out (``failed``).
* The log's event records carry ``type``, ``invitation_id`` and the event's ``created_at``; its
  attempts ``type`` and ``invitation_id``; the delivery state is ``status``.
"""

from __future__ import annotations

from hub.kit.sandbox.webhooks import WebhookSender

from . import wire


class Dispatcher(WebhookSender):
    """The Canditech sandbox's webhook sender."""

    name = "canditech-sandbox"
    signature_header = wire.SIGNATURE_HEADER

    def sign(self, secret: str, body: bytes, timestamp: int) -> str:
        return wire.sign(secret, body, timestamp)

    def now_iso(self) -> str:
        return wire.now_iso()

    def submit(self, event: dict, url: str | None) -> None:
        about = {"type": event["type"], "invitation_id": event.get("data", {}).get("invitation", {}).get("id")}
        self.queue(event, url, event_id=event["id"], log={**about, "created_at": event["created_at"]},
                   attempt_log=about)
