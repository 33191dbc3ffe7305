"""The wire module's parsing of Canditech's answers, and the settings schema (marshmallow 4)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest
from marshmallow import ValidationError

from plugins.canditech import wire
from plugins.canditech.settings import CanditechSettings, CanditechSettingsSchema

from .helpers import SECRET, FakeContext, sign, wire_invitation


def test_parse_invitation_normalises_status_verdict_and_times():
    parsed = wire.parse_invitation(wire_invitation(verdict="thumbs_down", verdict_at="2026-03-02T08:00:00Z"))
    assert parsed["status"] == "completed" and parsed["verdict"] == "thumbs_down"
    assert parsed["score"] == 75.0 and parsed["max_score"] == 100.0
    assert parsed["completed_at"] == datetime(2026, 3, 1, 9, 55, tzinfo=timezone.utc)
    assert parsed["verdict_at"] == datetime(2026, 3, 2, 8, 0, tzinfo=timezone.utc)


def test_parse_invitation_treats_odd_values_as_missing():
    parsed = wire.parse_invitation({"id": "x", "status": "weird", "score": "n/a", "verdict": "maybe",
                                    "completed_at": "yesterday", "external_reference": 12})
    assert parsed["status"] is None and parsed["raw_status"] == "weird"
    assert parsed["score"] is None and parsed["verdict"] is None and parsed["completed_at"] is None
    assert wire.parse_invitation("not an object")["id"] is None


def test_a_report_url_longer_than_max_url_length_is_a_problem_and_the_longest_is_kept():
    prefix = "https://canditech.test/reports/"
    longest = prefix + "a" * (wire.MAX_URL_LENGTH - len(prefix))
    assert wire.MAX_URL_LENGTH == 2000  # the hub keeps links up to 2000 characters
    parsed = wire.parse_invitation(wire_invitation(report_url=longest))
    assert parsed["report_url"] == longest and parsed["problems"] == {}
    parsed = wire.parse_invitation(wire_invitation(report_url=longest + "a"))
    assert parsed["report_url"] is None
    assert parsed["problems"] == {"report_url": "must be an http or https URL of at most 2000 characters"}
    assert wire.result_problems(parsed) == parsed["problems"]  # recorded without it, not refused
    assert wire.invitation_problems(wire.KIND_COMPLETED, parsed) == {}


def test_parse_error_envelope_and_fallback():
    assert wire.parse_error({"error": {"code": "validation_error", "message": "email: bad"}}, 422) == \
        ("validation_error", "email: bad", "Canditech answered 422 validation_error: email: bad")
    # not Canditech's JSON: what it is, never the page (test_base_url_and_error_text.py has more)
    assert wire.parse_error(None, 502, "<h1>Bad   Gateway</h1>")[:2] == ("http_502", "an HTML page, not its API's JSON")
    assert wire.parse_error(None, 500, "")[:2] == ("http_500", "HTTP 500")


def test_signature_round_trip_matches_an_independent_hmac():
    body = b'{"id":"evt"}'
    assert wire.sign(SECRET, body, 1700000000) == sign(SECRET, body, 1700000000)
    assert wire.verify_signature(sign(SECRET, body, 1700000000), body, [SECRET], now=1700000100,
                                 tolerance=300) == 1700000000


@pytest.mark.parametrize("header", ["", "nonsense", "t=123", "v1=" + "a" * 64, "t=abc,v1=" + "a" * 64,
                                    "t=123,v1=xyz", "t=123;v1=" + "a" * 64,
                                    pytest.param("t=\xb2,v1=" + "a" * 64, id="superscript-timestamp")])
def test_malformed_signature_headers(header):
    with pytest.raises(wire.SignatureError):
        wire.verify_signature(header, b"{}", [SECRET], now=123, tolerance=300)


def test_schema_defaults_and_normalisation():
    loaded = CanditechSettingsSchema().load({"api_key": "k", "base_url": "https://api.canditech.io/",
                                             "webhook_secrets": " secret-one-1 ,\n\nsecret-two-2\n"})
    assert loaded == {
        "api_key": "k", "base_url": "https://api.canditech.io",
        "webhook_secrets": "secret-one-1\nsecret-two-2",
        "signature_header": "Canditech-Signature", "signature_tolerance_seconds": 300,
        "reconcile_after_minutes": 10, "verdict_watch_days": 14, "remind_on_reentry": False,
        "rate_limit_per_second": 10.0, "rate_limit_burst": 20,
    }
    assert CanditechSettingsSchema().load({"api_key": "k"})["base_url"] == "http://127.0.0.1:8002"


@pytest.mark.parametrize("values, field", [
    ({}, "api_key"),
    ({"api_key": "k", "base_url": "ftp://x.test"}, "base_url"),
    ({"api_key": "k", "webhook_secrets": " , \n"}, "webhook_secrets"),
    ({"api_key": "k", "webhook_secrets": "short"}, "webhook_secrets"),
    ({"api_key": "k", "signature_header": "Bad Header"}, "signature_header"),
    ({"api_key": "k", "signature_tolerance_seconds": 0}, "signature_tolerance_seconds"),
    ({"api_key": "k", "reconcile_after_minutes": -1}, "reconcile_after_minutes"),
    ({"api_key": "k", "remind_on_reentry": "perhaps"}, "remind_on_reentry"),
])
def test_schema_rejects_bad_values(values, field):
    with pytest.raises(ValidationError) as caught:
        CanditechSettingsSchema().load(values)
    assert field in caught.value.messages


def test_settings_from_context_applies_defaults_and_splits_secrets():
    ctx = FakeContext(settings={"signature_header": "X-Sig"},
                      secrets={"api_key": "k", "webhook_secrets": "one-secret\ntwo-secret"})
    try:
        settings = CanditechSettings.from_context(ctx)
    finally:
        ctx.close()
    assert settings.webhook_secrets == ("one-secret", "two-secret")
    assert settings.signature_header == "X-Sig" and settings.signature_tolerance_seconds == 300
    assert settings.reconcile_after_minutes == 10 and settings.remind_on_reentry is False


def test_a_bad_signature_header_is_told_what_to_enter():
    with pytest.raises(ValidationError) as caught:
        CanditechSettingsSchema().load({"api_key": "k", "signature_header": "Bad Header"})
    message = caught.value.messages["signature_header"][0]
    assert message.startswith("Enter an HTTP header name: letters, digits and dashes (the default is ")
