"""Signed report webhooks of the Vervoe sandbox: the sandbox kit's sender
(``hub.kit.sandbox.webhooks``: queue, a worker thread, retries, delivery faults, log) with
Vervoe's signature and success rule.

* ``submit(body, url)`` queues the report and returns the event id (a new UUID: Vervoe's report
  has none). ``url=None`` logs it as ``no_target``.
* Each attempt is ``POST url`` with ``Vervoe-Signature: t=<now>,hash=<hex HMAC-SHA256(secret,
  "<t>.<body>")>`` (guide 03), signed afresh with the time and the secret current at that attempt.
  Only a 200 answer delivers it ("If response not equals to 200 Vervoe api will try to send the
  report"); anything else, or a connection error, is retried after ``retry_delays[n]`` seconds
  until they run out (``failed``).
* The log's event records carry ``candidateAssessmentUuid``, the report's ``status`` and its
  ``body``; the delivery state is ``delivery``.
"""

from __future__ import annotations

import hashlib
import hmac

from hub.kit.sandbox.webhooks import WebhookSender

from .state import iso, now

SIGNATURE_HEADER = "Vervoe-Signature"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}.".encode("ascii") + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},hash={digest}"


class Dispatcher(WebhookSender):
    """The Vervoe sandbox's webhook sender."""

    name = "vervoe-sandbox"
    signature_header = SIGNATURE_HEADER
    status_field = "delivery"
    max_logged = 10000

    def sign(self, secret: str, body: bytes, timestamp: int) -> str:
        return sign(secret, body, timestamp)

    def delivered(self, status_code: int) -> bool:
        return status_code == 200

    def now_iso(self) -> str:
        return iso(now())

    def submit(self, body: dict, url: str | None) -> str:
        return self.queue(body, url, log={"candidateAssessmentUuid": body.get("candidateAssessmentUuid"),
                                          "status": body.get("status"), "body": body})
