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


_PROCESS = """
import sys
from pathlib import Path
from hub.testing import make_test_app
from hub.runtime import get_runtime

app = make_test_app(Path(sys.argv[1]), {"PLUGINS": "lever"})
client = app.test_client()
if sys.argv[2] == "count":
    assert client.post("/webhooks/lever/no-such-key", json={}).status_code == 404
else:
    sys.stdout.write(client.get("/metrics").get_data(as_text=True))
"""


def test_with_a_shared_directory_metrics_add_up_every_processs_figures(tmp_path):
    """gunicorn's workers and ``hub worker`` processes each count their own: without
    PROMETHEUS_MULTIPROC_DIR a scrape answers for the one process that served it."""
    import os
    import subprocess
    import sys

    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared)}

    def process(n: int, action: str) -> str:
        done = subprocess.run([sys.executable, "-c", _PROCESS, str(tmp_path / f"p{n}"), action], env=env,
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout

    process(1, "count")
    process(2, "count")
    text = process(3, "scrape")
    assert 'hub_webhooks_received_total{outcome="rejected",reason="unknown_url",source="lever"} 2.0' in text
    assert "hub_deliveries_pending" in text


def test_a_command_that_reads_no_metrics_leaves_no_file_in_the_shared_directory(tmp_path):
    """Each `hub` command builds the app; its gauges used to write a file there as they were made,
    one more file per command run on the host, until the next deploy emptied the directory."""
    import os
    import subprocess
    import sys

    shared = tmp_path / "metrics"
    shared.mkdir()
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(shared), "HUB_INSTANCE_PATH": str(tmp_path / "instance")}
    for command in (["init", "--email", "admin@example.com", "--password", "a-long-password-1"], ["users", "list"]):
        done = subprocess.run([sys.executable, "-m", "hub", *command], env=env, capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, done.stderr
    assert sorted(path.name for path in shared.iterdir()) == []
