"""Lever webhook bodies and their signature (lever.md §1.2-§1.5).

Contract: ``sign(signature_token, token, triggered_at)`` is
``hmac_sha256_hex(key=signature_token.encode(), msg=(token + str(triggered_at)).encode())``.
``make_body(event, data, signature_token)`` builds the delivery body
``{"id", "event", "triggeredAt" (ms int), "token" (48 random hex chars, new per call),
"signature", "data"}``; with ``signature_token=None`` the ``signature`` key is omitted (Lever
sends none when no signing token exists), with ``with_id=False`` the ``id`` key (absent from
Lever's examples). ``resigned(body, signature_token, triggered_at=None)`` is a copy of ``body``
with a new ``token`` (and ``triggeredAt`` when given) and their signature: a retry re-signed. ``test_body(signature_token)`` is the "Verify
connection" request as Lever's docs print it (lever.md §1.5): event ``candidateHired``, empty
``data``, and no ``id``.
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
              event_id: str | None = None, triggered_at: int | None = None, with_id: bool = True) -> dict:
    """A signed webhook body for one delivery target."""
    triggered_at = int(time.time() * 1000) if triggered_at is None else triggered_at
    token = secrets.token_hex(24)
    body = {"id": event_id or str(uuid.uuid4())} if with_id else {}
    body.update({"event": event, "triggeredAt": triggered_at, "token": token})
    if signature_token is not None:
        body["signature"] = sign(signature_token, token, triggered_at)
    body["data"] = data
    return body


def resigned(body: dict, signature_token: str | None, triggered_at: int | None = None) -> dict:
    """``body`` with a fresh token (and ``triggered_at`` if given), signed again."""
    out = {**body, "token": secrets.token_hex(24)}
    if triggered_at is not None:
        out["triggeredAt"] = triggered_at
    if signature_token is not None:
        out["signature"] = sign(signature_token, out["token"], out["triggeredAt"])
    return out


def test_body(signature_token: str | None) -> dict:
    """The body of Lever's "Verify connection" test request (its keys as in Lever's example)."""
    return make_body(TEST_EVENT, {}, signature_token, with_id=False)
