"""The hub's plugin kit contract (``hub.testing``), run against the Canditech plugin and its sandbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

from hub.entities import WebhookRequest
from hub.testing import AssessmentPluginContract, KitSource
from hub.testing.contract import KIT_SOURCE


class TestCanditechContract(AssessmentPluginContract):
    plugin_name = "canditech"

    def extra_plugins(self):
        # The kit's own extra_plugins() makes a new KitSource on every call, and its ``connected``
        # fixture calls it a second time, so the candidates the kit test stores land on a source the
        # app never registered. Keep one per test (pytest makes a new instance for each test).
        if self.kit_source is None:
            self.kit_source = KitSource()
        return [(KIT_SOURCE, self.kit_source)]

    def signed_webhook(self, ctx) -> WebhookRequest:
        """A completion Canditech would send for an invitation the hub made, signed as Canditech signs."""
        invitation = self.make_invitation(ctx, assessment_id="asmt-python", provider_invitation_id="inv_kit")
        body = json.dumps({
            "id": "evt_kit_1", "type": "invitation.completed", "created_at": "2026-03-01T10:00:00Z",
            "data": {"invitation": {
                "id": "inv_kit", "status": "completed", "external_reference": invitation.external_reference,
                "score": 80, "max_score": 100, "report_url": "http://sandbox.test/reports/inv_kit",
                "completed_at": "2026-03-01T09:59:00Z", "verdict": None}},
        }).encode()
        stamp = int(time.time())
        (secret,) = ctx.secrets["webhook_secrets"].splitlines()
        digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return WebhookRequest(body=body, received_at=datetime.now(timezone.utc),
                              headers={"Content-Type": "application/json",
                                       "Canditech-Signature": f"t={stamp},v1={digest}"})
