"""The Canditech connection's rate limit is a setting (``rate_limit_per_second``,
``rate_limit_burst``): validated on save with a message naming the field (422, never a 500),
10/s with bursts of 20 by default, and what is configured is what the client's limiter gets.

Canditech publishes no rate limit (the team's notes: its API is private), so the limit cannot be
fixed in code: see plugins/canditech/README.md."""

from __future__ import annotations

import re

import pytest
from marshmallow import ValidationError

import plugins.canditech as canditech
from hub.extensions import db
from hub.runtime import get_runtime
from plugins.canditech.client import CanditechClient
from plugins.canditech.settings import CanditechSettings, CanditechSettingsSchema
from tests.plugins.canditech.helpers import FakeContext
from tests.support.engine import api_client
from tests.web.support import make_user, sign_in

RATE, BURST = "rate_limit_per_second", "rate_limit_burst"
RATE_MESSAGE = "Enter a number of requests per second from 0.25 to 100 (the default is 10)."
BURST_MESSAGE = "Enter a whole number of requests from 1 to 100 (the default is 20)."
OWNER = "owner@canditech-rate.test"


# ---------------------------------------------------------------- the schema
def test_the_default_is_10_per_second_with_bursts_of_20():
    loaded = CanditechSettingsSchema().load({"api_key": "k"})
    assert loaded[RATE] == 10.0 and loaded[BURST] == 20
    fields = CanditechSettingsSchema().fields
    assert fields[RATE].metadata["label"] == "API requests per second"
    assert fields[BURST].metadata["label"] == "API request burst"


@pytest.mark.parametrize("given, expected", [("2.5", 2.5), ("0.25", 0.25), (100, 100.0), ("10", 10.0)])
def test_a_rate_from_0_25_to_100_is_accepted(given, expected):
    assert CanditechSettingsSchema().load({"api_key": "k", RATE: given})[RATE] == expected


@pytest.mark.parametrize("given", [0, -1, "0.2", 100.5, "1e9", "abc", "", "nan", "inf", True, None])
def test_a_bad_rate_is_refused_naming_the_field(given):
    with pytest.raises(ValidationError) as caught:
        CanditechSettingsSchema().load({"api_key": "k", RATE: given})
    assert caught.value.messages == {RATE: [RATE_MESSAGE]}


@pytest.mark.parametrize("given", [0, -3, 101, "2.5", "many", True, None])
def test_a_bad_burst_is_refused_naming_the_field(given):
    with pytest.raises(ValidationError) as caught:
        CanditechSettingsSchema().load({"api_key": "k", BURST: given})
    assert caught.value.messages == {BURST: [BURST_MESSAGE]}


def test_at_the_slowest_rate_a_reconciliation_read_still_gets_a_token_by_waiting():
    from plugins.canditech.reconciliation import READ_LIMITER_WAIT
    from hub.kit.vendor_http import MIN_RATE_PER_SECOND

    assert 1 / MIN_RATE_PER_SECOND < READ_LIMITER_WAIT
    with pytest.raises(ValidationError):
        CanditechSettingsSchema().load({"api_key": "k", RATE: 1 / READ_LIMITER_WAIT})


def test_both_bad_values_are_named_at_once():
    with pytest.raises(ValidationError) as caught:
        CanditechSettingsSchema().load({"api_key": "k", RATE: "fast", BURST: 0})
    assert caught.value.messages == {RATE: [RATE_MESSAGE], BURST: [BURST_MESSAGE]}


# ---------------------------------------------------------------- the client's limiter
def _limiter_args(settings: dict) -> tuple:
    ctx = FakeContext(settings=settings)
    try:
        CanditechClient(ctx, sleep=lambda _: None)
        return ctx.limiter_args
    finally:
        ctx.close()


def test_by_default_the_client_asks_for_10_per_second_with_bursts_of_20():
    for stored in ({}, {RATE: None, BURST: None}):  # never saved, or saved empty: the defaults
        ctx = FakeContext(settings=stored)
        settings = CanditechSettings.from_context(ctx)
        ctx.close()
        assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (10.0, 20)
        assert _limiter_args(stored) == ("api", 10.0, 20)


def test_a_configured_rate_and_burst_reach_the_limiter():
    assert _limiter_args({RATE: 2.5, BURST: 5}) == ("api", 2.5, 5)  # one bucket, whatever its parameters
    ctx = FakeContext(settings={RATE: 3, BURST: 4})
    settings = CanditechSettings.from_context(ctx)
    ctx.close()
    assert (settings.rate_limit_per_second, settings.rate_limit_burst) == (3.0, 4)


# ---------------------------------------------------------------- the hub: form, API, real limiter
@pytest.fixture
def canditech_app(make_app):
    app = make_app(plugins=[("canditech", canditech)], entry_points=False)
    with app.app_context():
        make_user(1, OWNER, "super_admin")
        db.session.commit()
    return app


@pytest.fixture
def browser(canditech_app):
    client = canditech_app.test_client()
    assert sign_in(client, OWNER).status_code == 302
    return client


@pytest.fixture
def api(canditech_app):
    return api_client(canditech_app, OWNER, "rate test")


def _stored(app) -> dict:
    with app.app_context():
        return dict(get_runtime().integration(1, "canditech").settings or {})


def test_the_settings_form_shows_both_fields_with_their_bounds(browser):
    html = browser.get("/integrations/canditech").get_data(as_text=True)
    rate = re.search(r'<input[^>]*id="setting-rate_limit_per_second"[^>]*>', html).group(0)
    assert 'type="number"' in rate and 'min="0.25"' in rate and 'max="100"' in rate and 'value="10"' in rate
    burst = re.search(r'<input[^>]*id="setting-rate_limit_burst"[^>]*>', html).group(0)
    assert 'type="number"' in burst and 'min="1"' in burst and 'max="100"' in burst and 'value="20"' in burst
    assert "Canditech publishes no rate limit" in html


FORM = {"base_url": "http://127.0.0.1:8002", "api_key": "key-1", "signature_header": "Canditech-Signature",
        "signature_tolerance_seconds": "300", "reconcile_after_minutes": "10", "verdict_watch_days": "14"}


def test_a_bad_rate_in_the_form_is_a_422_shown_at_the_field_and_nothing_is_saved(canditech_app, browser):
    response = browser.post("/integrations/canditech/settings", data={**FORM, RATE: "0", BURST: "500"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="setting-rate_limit_per_second-error"' in html and 'id="setting-rate_limit_burst-error"' in html
    assert RATE_MESSAGE in html and BURST_MESSAGE in html
    assert RATE not in _stored(canditech_app)
    response = browser.post("/integrations/canditech/settings", data={**FORM, RATE: "2.5", BURST: "5"})
    assert response.status_code == 302
    assert _stored(canditech_app)[RATE] == 2.5 and _stored(canditech_app)[BURST] == 5


@pytest.mark.parametrize("value", [0, -2, 1000, "lots", None, True])
def test_a_bad_rate_through_the_api_is_a_422_naming_the_field(canditech_app, api, value):
    response = api("PUT", "/integrations/canditech", json={"api_key": "key-1", RATE: value})
    error = response.get_json()["error"]
    assert response.status_code == 422
    assert error["fields"] == {RATE: [RATE_MESSAGE]}
    assert error["message"] == f"invalid field: {RATE}"
    assert RATE not in _stored(canditech_app)


def test_the_real_limiter_takes_the_saved_rate_and_a_change_takes_effect(canditech_app, api):
    assert api("PUT", "/integrations/canditech", json={"api_key": "key-1"}).status_code == 200
    with canditech_app.app_context():
        runtime = get_runtime()
        limiter = CanditechClient(runtime.context(1, "canditech"))._limiter
        assert (limiter.rate, limiter.burst) == (10.0, 20)
    response = api("PUT", "/integrations/canditech", json={RATE: 0.5, BURST: 3})
    assert response.status_code == 200 and response.get_json()["settings"][RATE] == 0.5
    with canditech_app.app_context():
        limiter = CanditechClient(get_runtime().context(1, "canditech"))._limiter
        assert (limiter.rate, limiter.burst) == (0.5, 3)
