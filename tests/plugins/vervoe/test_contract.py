"""The hub's plugin contract (``hub.testing.AssessmentPluginContract``), run for Vervoe against its
sandbox: the plugin loaded from its entry point, connected with ``connect_sandbox`` exactly as
``hub demo`` does, a signed report parsed into hub events, tampered ones refused, invited once."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from datetime import datetime, timezone

import pytest

from hub.entities import Candidate, WebhookRequest
from hub.testing import AssessmentPluginContract
from plugins.vervoe import invite
from plugins.vervoe.settings import VervoeSettings

from .conftest import SLUG


class TestVervoeContract(AssessmentPluginContract):
    plugin_name = "vervoe"

    @pytest.fixture
    def kit_app(self, fast_app):
        # the kit's app, on a copied migrated database (see conftest.fast_app)
        extras = self.extra_plugins()
        allow = ",".join([self.plugin_name, *(name for name, _ in extras)])
        return fast_app({"PLUGINS": allow}, plugins=extras, entry_points=True)

    def signed_webhook(self, ctx) -> WebhookRequest:
        """Vervoe's report for a candidate assessment the hub really sent (through the sandbox)."""
        from hub import services

        attachment = services.save_attachment(1, dict(
            posting_id="kit-posting", posting_name="Kit posting", stage_id="kit-webhook-stage",
            stage_name="Kit webhook stage", provider="vervoe", assessment_id=SLUG,
            assessment_name="Backend developer test"), "kit")
        candidate = Candidate(opportunity_id="kit-webhook-opp", name="Kit Candidate", email="kit.hook@example.com",
                              posting_id="kit-posting", stage_id="kit-webhook-stage")
        invitation, _ = ctx.invitations.get_or_create(services.attachment_entity(attachment), candidate)
        invite.send(ctx, VervoeSettings.from_context(ctx), invitation, candidate)
        uuid = ctx.invitations.get(invitation.id).provider_invitation_id
        assert uuid
        body = json.dumps({"candidateAssessmentUuid": uuid, "status": "in progress",
                           "startedAt": "2026-03-01T10:00:00+00:00", "completedAt": None, "score": None,
                           "integrationCandidateCardUrl": "https://vervoe.test/card", "timeTaken": None,
                           "submitTime": None}).encode()
        stamp = int(time.time())
        secret = ctx.secrets["webhook_secret"].split("\n")[0]
        digest = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
        return WebhookRequest(body=body, headers={"Content-Type": "application/json",
                                                  "Vervoe-Signature": f"t={stamp},hash={digest}"},
                              received_at=datetime.now(timezone.utc))
