"""Crash safety on real processes: a worker killed with SIGKILL in the middle of a delivery has
that delivery re-run after its lease, and the effect happens exactly once. Runs with Huey on
SQLite storage and on Redis."""

import signal
import uuid
from pathlib import Path

import pytest

from hub.engine.ingest import ingest
from hub.entities import InboundEvent, StageChange
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery
from tests.support.engine import enable
from tests.support.plugins import FakeSource
from tests.support.processes import hub_env, kill, start_hub, wait_for

REDIS_URL = "redis://127.0.0.1:6379/0"


def _log_lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


@pytest.mark.slow
@pytest.mark.parametrize("queue", ["sqlite", "redis"])
def test_worker_killed_mid_delivery_has_it_rerun_once_after_the_lease(make_app, tmp_path, queue):
    overrides = {"QUEUE_IMMEDIATE": False, "EXTRA_PLUGIN_MODULES": "slow=tests.support.slow_plugin",
                 "QUEUE_NAME": f"hub-test-{uuid.uuid4().hex[:8]}"}
    if queue == "redis":
        overrides["REDIS_URL"] = REDIS_URL
    app = make_app(overrides, plugins=[("src", FakeSource())], entry_points=False)
    enable(app, "src", "slow")
    log = tmp_path / "effects.log"
    env = hub_env(app.config, HUB_LOAD_ENTRY_POINTS="false", HUB_EXTRA_PLUGIN_MODULES="slow=tests.support.slow_plugin",
                  HUB_LEASE_SECONDS="2", HUB_SWEEP_INTERVAL_SECONDS="0.3", SLOW_PLUGIN_LOG=str(log),
                  SLOW_PLUGIN_SECONDS="30")
    first = start_hub(["worker", "--workers", "2"], env, tmp_path / "worker1.log")
    try:
        with app.app_context():
            outcome = ingest(get_runtime(), 1, "src",
                             InboundEvent(external_id="e-1", event=StageChange(opportunity_id="opp-1", to_stage_id="s")))
        delivery_id = outcome.delivery_ids[0]
        wait_for(lambda: "start opp-1" in _log_lines(log), 60, message="the first worker to start the delivery")
        kill(first, signal.SIGKILL)
    finally:
        kill(first)
    env["SLOW_PLUGIN_SECONDS"] = "0"
    second = start_hub(["worker", "--workers", "2"], env, tmp_path / "worker2.log")
    try:
        def finished():
            with app.app_context():
                row = db.session.get(Delivery, delivery_id, populate_existing=True)
                status, attempts = row.status, row.attempts
                db.session.rollback()
                return (status, attempts) if status == "done" else None

        status, attempts = wait_for(finished, 60, message="the second worker to finish the delivery")
    finally:
        kill(second, signal.SIGTERM)
    lines = _log_lines(log)
    assert status == "done"
    assert attempts == 2
    assert lines.count("start opp-1") == 2
    assert lines.count("effect opp-1") == 1
    assert lines.count("done opp-1") == 1
