"""Findings of a walk of the Vervoe plugin against Vervoe's published API (OpenAPI v1.8, guides
01-05): each test failed before its fix."""

from __future__ import annotations

import base64

import requests

from hub.entities import StageChange
from plugins.vervoe import links

from .conftest import SANDBOX_KEY, SANDBOX_SECRET, SLUG, STAGE


def _token(sandbox) -> str:
    basic = base64.b64encode(f"{SANDBOX_KEY}:{SANDBOX_SECRET}".encode()).decode()
    answer = requests.get(sandbox.api + "/public/ats-api/token", headers={"Authorization": "Basic " + basic},
                          timeout=10)
    return answer.json()["data"]["token"]


def _invite_others(sandbox, count: int) -> None:
    """``count`` other candidates invited to the same assessment at Vervoe (an account in use)."""
    headers = {"Authorization": "Bearer " + _token(sandbox)}
    for n in range(count):
        answer = requests.post(f"{sandbox.api}/integration/assessments/{SLUG}/invite", headers=headers, timeout=10,
                               json={"candidateEmail": f"other{n}@example.com", "candidateFirstName": "Other"})
        assert answer.status_code == 200, answer.text


def test_an_unclear_post_that_never_landed_is_sent_in_an_account_with_many_candidate_assessments(hub):
    # More candidate assessments at Vervoe than the lookup reads (20 pages of 2 in the tests' sandbox):
    # an unclear POST that never reached Vervoe must still be sent, not looked up on every retry for good
    _invite_others(hub.sandbox, 41)
    hub.candidate("opp-1", stage_id=STAGE)
    attachment = hub.ctx().attachments.get(hub.attachment_id)
    inv, _ = hub.ctx().invitations.get_or_create(attachment, hub.source.candidates["opp-1"])
    hub.ctx().records.put(links.attempt_key(inv), {"at": "2026-01-01T00:00:00+00:00", "mode": "invite"})

    try:
        hub.call("on_stage_change", change=StageChange(opportunity_id="opp-1", to_stage_id=STAGE))
    except Exception:  # noqa: BLE001 - before the fix: "not found in the newest 20 pages; trying again later"
        pass

    assert hub.invitation().status == "invited"
    assert hub.sandbox.invite_posts()[f"ada@example.com|{SLUG}"] == 1


def test_a_landed_post_found_past_the_lookups_pages_is_not_invited_twice(hub):
    # the other side of the fix: sent again after an exhausted lookup, a POST that had landed is
    # Vervoe's 400 "already sent", adopted as the same candidate assessment (no second one)
    hub.candidate("opp-1", stage_id=STAGE)
    attachment = hub.ctx().attachments.get(hub.attachment_id)
    inv, _ = hub.ctx().invitations.get_or_create(attachment, hub.source.candidates["opp-1"])
    headers = {"Authorization": "Bearer " + _token(hub.sandbox)}
    landed = requests.post(f"{hub.sandbox.api}/integration/assessments/{SLUG}/invite", headers=headers, timeout=10,
                           json={"candidateEmail": "ada@example.com", "candidateFirstName": "Ada"}).json()["data"]
    _invite_others(hub.sandbox, 41)  # newer than it: past the lookup's 20 pages
    hub.ctx().records.put(links.attempt_key(inv), {"at": "2026-01-01T00:00:00+00:00", "mode": "invite"})

    try:
        hub.call("on_stage_change", change=StageChange(opportunity_id="opp-1", to_stage_id=STAGE))
    except Exception:  # noqa: BLE001
        pass

    inv = hub.invitation()
    assert inv.status == "invited" and inv.provider_invitation_id == landed["candidateAssessmentUuid"]
    assert [ua["candidateEmail"] for ua in hub.sandbox.user_assessments()].count("ada@example.com") == 1


# --------------------------------------------------------------------------- rate limit


def test_the_rate_limit_vervoe_does_not_publish_is_the_connections_setting():
    import pytest
    from marshmallow import ValidationError

    from plugins.vervoe import auth
    from plugins.vervoe.client import VervoeClient
    from plugins.vervoe.settings import SECRET_FIELDS, VervoeSettings, VervoeSettingsSchema

    loaded = VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s", "rate_limit_per_second": "2.5",
                                          "rate_limit_burst": "4"})
    asked = []

    class Ctx:
        settings = {k: v for k, v in loaded.items() if k not in SECRET_FIELDS}
        secrets = {"api_key": "k", "api_secret": "s"}

        def rate_limiter(self, name, rate, burst):
            asked.append((name, rate, burst))
            raise RuntimeError("stop here")  # the token call needs nothing more

    with pytest.raises(RuntimeError):
        VervoeClient(Ctx())
    with pytest.raises(RuntimeError):
        auth.fetch_token(Ctx(), VervoeSettings.from_context(Ctx()))
    assert asked == [("api", 2.5, 4), ("api", 2.5, 4)]  # the API calls and the token endpoint share it
    defaults = VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s"})
    assert (defaults["rate_limit_per_second"], defaults["rate_limit_burst"]) == (5.0, 10)
    for bad in ({"rate_limit_per_second": 0}, {"rate_limit_per_second": "nan"}, {"rate_limit_burst": 1.5},
                {"rate_limit_burst": 0}):
        with pytest.raises(ValidationError) as info:
            VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s", **bad})
        assert set(info.value.messages) == set(bad)


# --------------------------------------------------------------------------- the candidate's link


def test_the_candidate_url_of_the_documented_already_invited_answer_is_a_usable_link(spec):
    from plugins.vervoe import wire

    responses = spec.operation("post", "/integration/assessments/{slug}/invite").operation["responses"]
    (example,) = responses["400"]["content"]["application/json"]["examples"].values()
    uuid, url = wire.parse_invitation(example["value"])  # candidateUrl: '<http://example.com/login?token=...>'
    assert uuid == "cbb3e136-ef30-4452-955b-1835a79caa65"
    assert url is not None and url.startswith("http://example.com/login?token=") and not url.endswith(">")
    # a link the hub would keep, show and hand on must be a web address: anything else is read again
    for odd in ("javascript:alert(1)", "example.com/login", "http://" + "x" * 2000, "null"):
        assert wire.parse_invitation({"success": True, "data": {"candidateAssessmentUuid": "u",
                                                                "candidateUrl": odd}}) == ("u", None)
        assert wire.parse_candidate_url({"success": True, "data": {"candidateUrl": odd}}) is None
