"""``HUB_METRICS_TOKEN``: unset, /metrics answers anyone; set, only a bearer of that token, and a
token too short to be safe stops the hub at start-up."""

import pytest

from hub.app import create_app
from hub.config import ConfigError

TOKEN = "metrics-token-0123456789abcdef"


def test_without_a_token_metrics_answer_anyone(make_app):
    answer = make_app(entry_points=False).test_client().get("/metrics")
    assert answer.status_code == 200
    assert b"hub_webhooks_received_total" in answer.data


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-0123456789", f"Basic {TOKEN}", "Bearer ",
                                    f"Bearer {TOKEN}x"], ids=["none", "wrong", "other-scheme", "empty", "longer"])
def test_with_a_token_metrics_refuse_requests_without_it(make_app, header):
    client = make_app({"METRICS_TOKEN": TOKEN}, entry_points=False).test_client()
    answer = client.get("/metrics", headers={"Authorization": header} if header else {})
    assert answer.status_code == 401
    assert answer.headers["WWW-Authenticate"].startswith("Bearer")
    assert "HUB_METRICS_TOKEN" in answer.get_json()["error"]["message"]
    assert b"hub_webhooks_received_total" not in answer.data


def test_with_a_token_metrics_answer_its_bearer(make_app):
    client = make_app({"METRICS_TOKEN": TOKEN}, entry_points=False).test_client()
    answer = client.get("/metrics", headers={"Authorization": f"bearer {TOKEN}"})
    assert answer.status_code == 200
    assert b"hub_webhooks_received_total" in answer.data
    assert client.get("/healthz").status_code == 200  # the health checks stay open


@pytest.mark.parametrize("token", ["short", "change-me", "   "], ids=["short", "placeholder", "blank"])
def test_a_weak_metrics_token_stops_the_hub_at_start_up(tmp_path, token):
    with pytest.raises(ConfigError, match="HUB_METRICS_TOKEN"):
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "METRICS_TOKEN": token})


def test_a_token_from_the_environment_is_taken_as_written(tmp_path, monkeypatch):
    """The environment's values are parsed as JSON when they look like it: this one reads as a
    number (1234 x 10^5678...), but the token is the text."""
    token = "1234e5678901234567"
    monkeypatch.setenv("HUB_METRICS_TOKEN", token)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert app.config["METRICS_TOKEN"] == token
    client = app.test_client()
    assert client.get("/metrics", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    assert client.get("/metrics", headers={"Authorization": "Bearer inf"}).status_code == 401
