"""Test helpers for the Canditech plugin: an independent signer and a stand-in ``ctx``.

``sign`` computes the ``Canditech-Signature`` value with ``hmac`` directly (not the plugin's
``wire.sign``), so the signature tests check the plugin against the contract, not against itself.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from dataclasses import replace
from typing import Any

import requests

from hub import entities as e

BASE_URL = "https://canditech.test"
API_KEY = "test-api-key"
SECRET = "whsec-primary-0001"
SECOND_SECRET = "whsec-rotated-0002"


def sign(secret: str, body: bytes, timestamp: int) -> str:
    digest = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def event_body(event_type: str, invitation: dict, event_id: str = "evt_1") -> bytes:
    return json.dumps({"id": event_id, "type": event_type, "created_at": "2026-03-01T10:00:00.000Z",
                       "data": {"invitation": invitation}}).encode()


def wire_invitation(**overrides: Any) -> dict:
    """A Canditech invitation as the contract shows it (completed, no verdict)."""
    body = {
        "id": "inv_abc", "status": "completed", "assessment_id": "asmt-python",
        "external_reference": "hub-inv-7", "invite_url": f"{BASE_URL}/take/inv_abc",
        "created_at": "2026-03-01T09:00:00.000Z", "started_at": "2026-03-01T09:30:00.000Z",
        "score": 75, "max_score": 100, "report_url": f"{BASE_URL}/reports/inv_abc",
        "completed_at": "2026-03-01T09:55:00.000Z", "verdict": None, "verdict_at": None,
    }
    body.update(overrides)
    return body


class FakeLimiter:
    def __init__(self) -> None:
        self.acquired = 0

    def acquire(self, timeout: float = 60.0) -> None:
        self.acquired += 1


class FakeInvitations:
    def __init__(self, invitations: list[e.Invitation] = ()) -> None:
        self.rows = {i.id: i for i in invitations}

    def get(self, invitation_id: int) -> e.Invitation | None:
        return self.rows.get(invitation_id)

    def transition(self, invitation_id: int, status: str, **fields: Any) -> bool:
        """Only what a webhook's verification does: the same status, filling empty fields."""
        row = self.rows[invitation_id]
        assert status == row.status, "a fake invitation only fills fields"
        filled = {k: v for k, v in fields.items() if v is not None and getattr(row, k) is None}
        self.rows[invitation_id] = replace(row, **filled)
        return bool(filled)


def hub_invitation(invitation_id: int = 7, **overrides: Any) -> e.Invitation:
    base = e.Invitation(id=invitation_id, attachment_id=1, opportunity_id="opp-1", candidate_name="Ada Lovelace",
                        candidate_email="ada@example.com", provider="canditech", assessment_id="asmt-python",
                        assessment_name="Python Developer", status=e.INVITED, provider_invitation_id="inv_abc")
    return replace(base, **overrides)


class FakeRecords:
    """``ctx.records`` in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, object] = {}

    def get(self, key, default=None):
        return self.values.get(key, default)

    def put(self, key, value):
        self.values[key] = value

    def put_if_absent(self, key, value):
        return self.values.setdefault(key, value) is value

    def delete(self, key):
        self.values.pop(key, None)

    def keys(self, prefix=""):
        return [k for k in self.values if k.startswith(prefix)]

    def items(self, prefix=""):
        return {k: v for k, v in sorted(self.values.items()) if k.startswith(prefix)}


class FakeContext:
    """Just enough of ``hub.context.PluginContext`` for the client and webhook units."""

    plugin_name = "canditech"
    workspace_id = 1
    webhook_url = "http://hub.test/webhooks/canditech/key"

    def __init__(self, settings: dict | None = None, secrets: dict | None = None,
                 invitations: list[e.Invitation] = ()) -> None:
        self.settings = {"base_url": BASE_URL, **(settings or {})}
        self.secrets = {"api_key": API_KEY, "webhook_secrets": SECRET} if secrets is None else secrets
        self.http = requests.Session()
        self.limiter = FakeLimiter()
        self.limiter_args: tuple | None = None
        self.vendor_calls: list[tuple[str, str]] = []
        self.invitations = FakeInvitations(list(invitations))
        self.log = logging.getLogger("tests.canditech")

    def rate_limiter(self, name: str, rate: float, burst: int) -> FakeLimiter:
        self.limiter_args = (name, rate, burst)
        return self.limiter

    def record_vendor_call(self, endpoint: str, status: Any, seconds: float) -> None:
        self.vendor_calls.append((endpoint, str(status)))

    def close(self) -> None:
        self.http.close()
