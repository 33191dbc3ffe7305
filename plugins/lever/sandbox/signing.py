"""Lever webhook bodies and their signature (lever.md §1.2-§1.5).

Contract: ``sign(signature_token, token, triggered_at)`` is
``hmac_sha256_hex(key=signature_token.encode(), msg=(token + str(triggered_at)).encode())``.
``make_body(event, data, signature_token)`` builds the delivery body
``{"id", "event", "triggeredAt" (ms int), "token" (48 random hex chars, new per call),
"signature", "data"}``; with ``signature_token=None`` the ``signature`` key is omitted (Lever
sends none when no signing token exists). ``test_body(signature_token)`` is the "Verify
connection" request: event ``candidateHired`` with empty ``data``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid

TEST_EVENT = "candidateHired"


def sign(signature_token: str, token: str, triggered_at: int) -> str:
    """Lever's signature: hex HMAC-SHA256 of ``token + triggeredAt`` keyed by the token."""
    message = f"{token}{triggered_at}".encode()
    return hmac.new(signature_token.encode(), message, hashlib.sha256).hexdigest()


def make_body(event: str, data: dict, signature_token: str | None, *,
              event_id: str | None = None, triggered_at: int | None = None) -> dict:
    """A signed webhook body for one delivery target."""
    triggered_at = int(time.time() * 1000) if triggered_at is None else triggered_at
    token = secrets.token_hex(24)
    body = {"id": event_id or str(uuid.uuid4()), "event": event, "triggeredAt": triggered_at,
            "token": token}
    if signature_token is not None:
        body["signature"] = sign(signature_token, token, triggered_at)
    body["data"] = data
    return body


def test_body(signature_token: str | None) -> dict:
    """The body of Lever's "Verify connection" test request."""
    return make_body(TEST_EVENT, {}, signature_token)
