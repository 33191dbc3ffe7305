"""The hub's plugin contract (``hub.testing.SourcePluginContract``), run for Lever against its sandbox."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from datetime import datetime, timezone

import pytest
import requests
from marshmallow import ValidationError

from hub.entities import StageCandidate, WebhookRequest
from hub.testing import SourcePluginContract
from hub.testing.contract import check_stage_candidates
from plugins.lever.settings import LeverSettingsSchema


def _signed(signature_token: str, *, token: str | None = None, triggered_at: int | None = None,
            signed_token: str | None = None, signed_at: int | None = None) -> dict:
    token = token or secrets.token_hex(24)
    triggered_at = triggered_at if triggered_at is not None else int(time.time() * 1000)
    message = f"{signed_token or token}{signed_at if signed_at is not None else triggered_at}"
    return {"id": secrets.token_hex(8), "event": "candidateStageChange", "triggeredAt": triggered_at, "token": token,
            "signature": hmac.new(signature_token.encode(), message.encode(), hashlib.sha256).hexdigest(),
            "data": {"opportunityId": "opp-alice", "toStageId": "stage-canditech",
                     "fromStageId": "stage-new-applicant"}}


def _request(body: dict | bytes) -> WebhookRequest:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return WebhookRequest(body=raw, headers={"Content-Type": "application/json", "User-Agent": "Lever-Webhooks"},
                          received_at=datetime.now(timezone.utc))


class TestLeverContract(SourcePluginContract):
    plugin_name = "lever"
    sample_opportunity_id = "opp-alice"

    def signed_webhook(self, ctx) -> WebhookRequest:
        # connect_sandbox registered the webhooks and stored their signature tokens
        signature_token = next(iter(ctx.secrets["webhook_tokens"].values()))
        return _request(_signed(signature_token))

    def tampered_webhooks(self, ctx, valid: WebhookRequest) -> list[WebhookRequest]:
        # Lever signs token + triggeredAt only (lever.md §1.4): tamper with those, not with `data`.
        signature_token = next(iter(ctx.secrets["webhook_tokens"].values()))
        body = json.loads(valid.body)
        return [
            _request(_signed(signature_token, signed_at=body["triggeredAt"] - 1, triggered_at=body["triggeredAt"])),
            _request(_signed(signature_token, signed_token="x" + body["token"], token=body["token"])),
            _request(_signed(secrets.token_hex(24))),
            _request({**body, "signature": "0" * 64}),
            _request(valid.body[: len(valid.body) // 2]),
        ]

    def test_the_kit_fails_a_stage_list_beyond_its_limit(self, connected, monkeypatch):
        """The kit's backfill check is not vacuous: Lever answering one id more than asked fails it."""
        from plugins.lever import readapi

        listed = readapi.list_stage_candidates
        monkeypatch.setattr(readapi, "list_stage_candidates",
                            lambda client, posting_id, stage_id, limit=None:
                            listed(client, posting_id, stage_id, limit) + ["opp-one-too-many"])
        with pytest.raises(AssertionError, match="ids for a limit of 1"):
            self.test_contract_lists_stage_candidates(connected)

    def count_result_writebacks(self, sandbox_url: str, opportunity_id: str) -> int:
        notes = requests.get(f"{sandbox_url}/_sandbox/opportunities/{opportunity_id}/notes", timeout=10).json()
        texts = [field["value"] for note in notes["data"] for field in note["fields"]]
        return sum(1 for text in texts if "assessment completed" in text and "[ats-hub:hub-inv-" in text)


def test_settings_schema_defaults_and_validation():
    loaded = LeverSettingsSchema().load({})
    assert loaded == {"environment": "production", "base_url": None, "auth_mode": "api_key", "api_key": None,
                      "signature_tokens": None, "perform_as": None, "max_webhook_age_hours": 72,
                      "max_clock_skew_minutes": 5, "tag_results": True,
                      "invite_on_creation": False, "note_time_zone": "UTC"}
    with pytest.raises(ValidationError) as info:
        LeverSettingsSchema().load({"environment": "custom"})
    assert "base_url" in info.value.messages
    with pytest.raises(ValidationError):
        LeverSettingsSchema().load({"environment": "custom", "base_url": "ftp://x"})
    with pytest.raises(ValidationError):
        LeverSettingsSchema().load({"max_webhook_age_hours": 24 * 30})  # past the hub's dedupe memory
    assert LeverSettingsSchema().load({"environment": "custom", "base_url": "http://127.0.0.1:5001/",
                                       "perform_as": " "})["perform_as"] is None


def test_the_kit_s_stage_list_check_names_what_is_wrong():
    assert check_stage_candidates(["opp-a", "opp-b"], 2) == ["opp-a", "opp-b"]
    assert check_stage_candidates([], 1) == []
    assert check_stage_candidates(("opp-a",), 5) == ["opp-a"]  # a tuple, as the hub takes it
    named = [StageCandidate("opp-a", "Ann", "https://ats.example/opp-a"), StageCandidate("opp-b")]
    assert check_stage_candidates(named, 2) == ["opp-a", "opp-b"]
    for found, limit, said in (({"opp-a"}, 5, "not a list"), ("opp-a", 5, "not a list"),
                               (["opp-a", 7], 5, "neither opportunity ids nor StageCandidate"),
                               (["opp-a", ""], 5, "neither opportunity ids nor StageCandidate"),
                               ([StageCandidate("")], 5, "neither opportunity ids nor StageCandidate"),
                               ([StageCandidate("opp-a", None)], 5, "whose name is not a str"),
                               ([StageCandidate("opp-a", "Ann", 3)], 5, "profile_url is neither None nor a str"),
                               (["a", "b", "c"], 2, "3 ids for a limit of 2"), (["opp-a", "opp-a"], 5, "an id twice"),
                               (["opp-a", StageCandidate("opp-a")], 5, "an id twice")):
        with pytest.raises(AssertionError, match=said):
            check_stage_candidates(found, limit)
