"""The Lever sandbox's token-endpoint faults over real HTTP (``faults.py``: ``token_down``,
``token_error_rate`` + ``token_error_codes``, ``token_latency_ms``): set through
``/_sandbox/faults`` like the API's, acting on ``POST /oauth/token`` only, and changing nothing
(the refresh token presented stays valid)."""

from __future__ import annotations

import pytest
import requests

from plugins.lever.sandbox.faults import FaultInjector

from .conftest import API_KEY, CLIENT_ID, CLIENT_SECRET

REDIRECT = "http://client.test/callback"


def grant(sandbox) -> dict:
    """A fresh OAuth grant of the sandbox (consent page, then the code exchange)."""
    authorize = requests.Request("GET", f"{sandbox.base}/authorize", params={
        "client_id": CLIENT_ID, "redirect_uri": REDIRECT, "response_type": "code", "state": "s",
        "audience": f"{sandbox.base}/v1/", "scope": "offline_access stages:read:admin"}).prepare().url
    code = sandbox.consent(authorize)["code"]
    return token_call(sandbox, grant_type="authorization_code", code=code, redirect_uri=REDIRECT).json()


def token_call(sandbox, **form) -> requests.Response:
    return requests.post(f"{sandbox.base}/oauth/token", timeout=10,
                         data={"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, **form})


def refresh(sandbox, refresh_token: str) -> requests.Response:
    return token_call(sandbox, grant_type="refresh_token", refresh_token=refresh_token)


def stages(sandbox, headers=None, auth=None) -> int:
    return requests.get(f"{sandbox.base}/v1/stages", headers=headers, auth=auth, timeout=10).status_code


def test_token_down_answers_503_and_spends_nothing(sandbox):
    tokens = grant(sandbox)
    sandbox.control("POST", "/faults", json={"token_down": True})
    for _ in range(2):
        answer = refresh(sandbox, tokens["refresh_token"])
        assert answer.status_code == 503 and answer.reason == "Service Unavailable"
        assert answer.json() == {"error": "temporarily_unavailable", "error_description": "Injected fault (token_down)"}
        assert answer.headers["Cache-Control"] == "no-store"
    assert token_call(sandbox, grant_type="authorization_code", code="x", redirect_uri=REDIRECT).status_code == 503
    # the /v1 API is not the token endpoint: it still answers, with the access token or the API key
    assert stages(sandbox, headers={"Authorization": f"Bearer {tokens['access_token']}"}) == 200
    assert stages(sandbox, auth=(API_KEY, "")) == 200
    stats = sandbox.stats()
    assert stats["oauth_token_faults"] == {"down:503": 3}
    assert stats["oauth_token_requests"] == 4  # the code exchange and the three faulted calls
    assert "oauth_failures" not in stats and "faults_injected" not in stats

    sandbox.control("DELETE", "/faults")
    back = refresh(sandbox, tokens["refresh_token"])  # the refresh token offered while down is still good
    assert back.status_code == 200 and back.json()["refresh_token"] != tokens["refresh_token"]
    assert sandbox.stats()["oauth_refreshes"] == {CLIENT_ID: 1}


@pytest.mark.parametrize("codes, error", [([500], "server_error"), ([503], "temporarily_unavailable"),
                                          ([429], "too_many_requests")])
def test_token_error_rate_answers_a_code_of_token_error_codes(sandbox, codes, error):
    tokens = grant(sandbox)
    sandbox.control("POST", "/faults", json={"token_error_rate": 1.0, "token_error_codes": codes})
    answer = refresh(sandbox, tokens["refresh_token"])
    assert answer.status_code == codes[0] and answer.json()["error"] == error
    assert answer.json()["error_description"] == "Injected fault (token_error)"
    assert sandbox.stats()["oauth_token_faults"] == {f"error:{codes[0]}": 1}
    sandbox.control("DELETE", "/faults")
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200


def test_a_token_error_rate_is_seeded_and_partial(sandbox):
    tokens = grant(sandbox)

    def statuses() -> list[int]:
        sandbox.control("POST", "/faults", json={"token_error_rate": 0.5, "seed": 11})
        return [token_call(sandbox, grant_type="refresh_token", refresh_token="unknown").status_code
                for _ in range(20)]

    first = statuses()
    assert first == statuses()  # the same seed, the same faults
    assert set(first) == {400, 500, 503}  # some faulted (500 or 503), the others answered invalid_grant
    sandbox.control("DELETE", "/faults")
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200


def test_api_faults_leave_the_token_endpoint_alone(sandbox):
    tokens = grant(sandbox)
    sandbox.control("POST", "/faults", json={"down": True, "error_rate": 1.0})
    assert stages(sandbox, auth=(API_KEY, "")) == 503
    assert refresh(sandbox, tokens["refresh_token"]).status_code == 200
    assert "oauth_token_faults" not in sandbox.stats()


@pytest.mark.parametrize("settings", [{"token_down": 1}, {"token_error_rate": 1.5}, {"token_error_codes": []},
                                      {"token_error_codes": [400]}, {"token_error_codes": [401]},
                                      {"token_error_codes": ["503"]}, {"token_latency_ms": -1}])
def test_bad_token_fault_settings_are_refused(sandbox, settings):
    answer = requests.post(f"{sandbox.base}/_sandbox/faults", json=settings, timeout=10)
    assert answer.status_code == 400
    assert next(iter(settings)) in answer.json()["message"]


def test_token_faults_are_listed_off_by_default_and_cleared_by_reset(sandbox):
    defaults = sandbox.control("GET", "/faults")
    assert (defaults["token_down"], defaults["token_error_rate"], defaults["token_error_codes"],
            defaults["token_latency_ms"]) == (False, 0.0, [500, 503], 0)
    set_ = sandbox.control("POST", "/faults", json={"token_down": True, "token_latency_ms": 5})
    assert set_["token_down"] is True and set_["token_latency_ms"] == 5
    assert sandbox.control("GET", "/state")["faults"]["token_down"] is True
    sandbox.control("POST", "/reset")
    assert sandbox.control("GET", "/faults") == defaults


def test_token_latency_is_added_to_every_token_call_and_down_comes_first():
    faults = FaultInjector()
    assert faults.for_token_request().sleep == 0 and faults.for_token_request().kind is None
    faults.configure({"token_latency_ms": 250})
    assert faults.for_token_request().sleep == 0.25 and faults.for_token_request().kind is None
    assert faults.for_request().sleep == 0  # the API's latency is its own setting
    faults.configure({"token_latency_ms": 250, "token_down": True, "token_error_rate": 1.0,
                      "token_error_codes": [500]})
    fault = faults.for_token_request()
    assert (fault.sleep, fault.kind, fault.status) == (0.25, "down", 503)
    assert faults.for_request().kind is None
