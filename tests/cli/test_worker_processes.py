"""``hub worker --processes N`` (``hub.cli.supervisor``) on real processes: a worker process killed
mid-delivery is replaced by a new fork, which runs the delivery again once; SIGTERM or SIGINT stops
every worker process gracefully; worker processes stop by themselves when the supervisor is gone."""

from __future__ import annotations

import os
import signal
import threading
import uuid
from pathlib import Path

import pytest

from hub.cli.supervisor import FIRST_PAUSE, MAX_PAUSE, SupervisorError, next_pause, supervise
from hub.engine.ingest import ingest
from hub.entities import InboundEvent, StageChange
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery
from tests.support.engine import enable
from tests.support.plugins import FakeSource
from tests.support.processes import child_pids, hub_env, kill, running, start_hub, wait_for

STARTED = "INFO hub.engine.queue: worker started"
STOPPED = "INFO hub.engine.queue: worker stopped"


def _text(path: Path) -> str:
    return path.read_text(errors="replace") if path.exists() else ""


def _supervisor(make_app, tmp_path, processes: int, slow_seconds: str = "0"):
    """The app, and ``hub worker --processes <processes> --workers 1`` with the slow test plugin,
    once all its worker processes have started; its log is ``tmp_path / "worker.log"``."""
    overrides = {"QUEUE_IMMEDIATE": False, "EXTRA_PLUGIN_MODULES": "slow=tests.support.slow_plugin",
                 "QUEUE_NAME": f"hub-test-{uuid.uuid4().hex[:8]}"}
    app = make_app(overrides, plugins=[("src", FakeSource())], entry_points=False)
    enable(app, "src", "slow")
    env = hub_env(app.config, HUB_LOAD_ENTRY_POINTS="false", HUB_EXTRA_PLUGIN_MODULES="slow=tests.support.slow_plugin",
                  HUB_LEASE_SECONDS="2", HUB_SWEEP_INTERVAL_SECONDS="0.3", SLOW_PLUGIN_LOG=str(tmp_path / "effects.log"),
                  SLOW_PLUGIN_SECONDS=slow_seconds)
    log = tmp_path / "worker.log"
    process = start_hub(["worker", "--processes", str(processes), "--workers", "1"], env, log)
    try:
        wait_for(lambda: _text(log).count(STARTED) == processes and len(child_pids(process.pid)) == processes, 60,
                 message=f"{processes} worker processes to start")
    except BaseException:
        kill(process)
        raise
    return app, process, log


@pytest.mark.slow
def test_a_killed_worker_process_is_replaced_and_its_delivery_run_again_once(make_app, tmp_path):
    app, supervisor, log = _supervisor(make_app, tmp_path, processes=2, slow_seconds="2")
    effects = tmp_path / "effects.log"
    try:
        assert "hub worker started (2 processes, 1 thread each)" in _text(log)
        first = child_pids(supervisor.pid)
        with app.app_context():
            outcome = ingest(get_runtime(), 1, "src",
                             InboundEvent(external_id="e-1", event=StageChange(opportunity_id="opp-1", to_stage_id="s")))
        delivery_id = outcome.delivery_ids[0]
        wait_for(lambda: "start opp-1" in _text(effects), 60, message="a worker process to start the delivery")
        for pid in first:  # whichever runs it
            os.kill(pid, signal.SIGKILL)
        wait_for(lambda: _text(log).count(STARTED) == 4 and len(child_pids(supervisor.pid)) == 2, 30,
                 message="two new worker processes")
        assert not set(child_pids(supervisor.pid)) & set(first)

        def finished():
            with app.app_context():
                row = db.session.get(Delivery, delivery_id, populate_existing=True)
                status, attempts = row.status, row.attempts
                db.session.rollback()
            return (status, attempts) if status == "done" else None

        assert wait_for(finished, 60, message="a new worker process to finish the delivery") == ("done", 2)
    finally:
        kill(supervisor)
    lines = _text(effects).splitlines()
    assert lines.count("start opp-1") == 2 and lines.count("effect opp-1") == 1 and lines.count("done opp-1") == 1
    output = _text(log)
    for pid in first:
        assert f"worker process {pid} was killed by SIGKILL; starting another" in output
    assert "Traceback" not in output


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_sigterm_or_sigint_stops_every_worker_process_gracefully(make_app, tmp_path, sig):
    _app, supervisor, log = _supervisor(make_app, tmp_path, processes=2)
    children = child_pids(supervisor.pid)
    try:
        os.kill(supervisor.pid, sig)  # the supervisor alone: it tells its worker processes
        assert supervisor.wait(timeout=30) == 0
    finally:
        kill(supervisor)
    output = _text(log)
    assert output.count(STOPPED) == 2 and "Traceback" not in output
    assert not any(running(pid) for pid in children)


@pytest.mark.slow
def test_worker_processes_stop_by_themselves_when_the_supervisor_is_gone(make_app, tmp_path):
    _app, supervisor, log = _supervisor(make_app, tmp_path, processes=2)
    children = child_pids(supervisor.pid)
    try:
        os.kill(supervisor.pid, signal.SIGKILL)  # the supervisor alone, not its process group
        supervisor.wait(timeout=10)
        wait_for(lambda: not any(running(pid) for pid in children), 20, message="the worker processes to stop")
    finally:
        try:
            os.killpg(supervisor.pid, signal.SIGKILL)  # whatever is left of the group
        except ProcessLookupError:
            pass
    output = _text(log)
    assert output.count(f"the supervising process {supervisor.pid} is gone; stopping") == 2
    assert output.count(STOPPED) == 2


def test_a_worker_process_that_ends_before_starting_is_replaced_after_a_growing_pause():
    assert next_pause(0.0, started=True) == 0.0
    pauses = [0.0]
    for _ in range(10):
        pauses.append(next_pause(pauses[-1], started=False))
    assert pauses[1:4] == [FIRST_PAUSE, FIRST_PAUSE * 2, FIRST_PAUSE * 4]
    assert max(pauses) == pauses[-1] == MAX_PAUSE
    assert next_pause(MAX_PAUSE, started=True) == 0.0  # one that started resets it


def test_refuses_to_fork_while_a_thread_runs(make_app):
    """A fork copies the locks a running thread may hold, not the thread: no fork then."""
    app = make_app()
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait, name="a-plugin-thread", daemon=True)
    thread.start()
    try:
        with pytest.raises(SupervisorError, match="cannot fork worker processes while threads run: .*a-plugin-thread"):
            supervise(app, 1, 1)
    finally:
        stop.set()
        thread.join()


def test_worker_help_names_the_processes_option(runner):
    help_text = " ".join(runner.invoke(args=["worker", "--help"]).output.split())
    assert "--processes INTEGER RANGE" in help_text
    assert "one that dies (killed, out of memory) is replaced by a new fork" in help_text


def test_processes_is_refused_out_of_range(runner):
    result = runner.invoke(args=["worker", "--processes", "0"])
    assert result.exit_code == 2 and "Invalid value for '--processes': 0 is not in the range" in result.output
