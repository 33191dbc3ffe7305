"""Numbers too large to work, and a configuration gunicorn's master can refuse before it forks.

A number setting had a lower bound only: ``HUB_SWEEP_INTERVAL_SECONDS=1e300`` passed the start-up
checks, then the worker's sweeper thread died with an ``OverflowError`` traceback (no delivery was
ever re-dispatched again); ``HUB_RETENTION_DAYS=99999999999`` or ``HUB_DEDUPE_DAYS=99999999999``
logged an ``OverflowError`` traceback every 5 seconds for as long as the worker ran;
``HUB_WORKERS=100000`` started a worker "with 100000 threads", which ``--workers`` (at most 64)
refuses. And gunicorn, with a setting that cannot work, printed each worker's traceback of
``create_app`` (50 lines) before "Worker failed to boot"."""

import os
import signal
import subprocess
import sys

import pytest

from hub.app import create_app
from hub.config import DEFAULTS, MAXIMUM, ConfigError
from tests.support.processes import ROOT


@pytest.mark.parametrize("variable, value, message", [
    ("HUB_SWEEP_INTERVAL_SECONDS", "1e300", "HUB_SWEEP_INTERVAL_SECONDS must be at most 31536000 (365 days), not 1e+300"),
    ("HUB_LEASE_SECONDS", "31536001", "HUB_LEASE_SECONDS must be at most 31536000 (365 days), not 31536001"),
    ("HUB_RETENTION_DAYS", "99999999999", "HUB_RETENTION_DAYS must be at most 36500, not 99999999999"),
    ("HUB_DEDUPE_DAYS", "36501", "HUB_DEDUPE_DAYS must be at most 36500, not 36501"),
    ("HUB_WORKERS", "100000", "HUB_WORKERS must be at most 64, not 100000"),
    ("HUB_INGEST_COMMITTERS", "65", "HUB_INGEST_COMMITTERS must be at most 64, not 65"),
    ("HUB_INGEST_TIMEOUT_SECONDS", "3601", "HUB_INGEST_TIMEOUT_SECONDS must be at most 3600, not 3601"),
    ("HUB_DELIVERY_MAX_ATTEMPTS", "99999999999999999999", "HUB_DELIVERY_MAX_ATTEMPTS must be at most 1000000000, "
                                                          "not 99999999999999999999"),
], ids=lambda value: value if str(value).startswith("HUB_") else None)
def test_a_number_too_large_to_work_stops_the_hub_naming_its_bound(tmp_path, monkeypatch, variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(raised.value) == message


def test_every_number_has_a_bound_its_default_and_the_bound_itself_pass(tmp_path, monkeypatch):
    numbers = {name for name, default in DEFAULTS.items()
               if isinstance(default, (int, float)) and not isinstance(default, bool)}
    assert set(MAXIMUM) == numbers
    assert all(DEFAULTS[name] <= MAXIMUM[name] for name in numbers)
    for name in numbers:
        monkeypatch.setenv(f"HUB_{name}", str(MAXIMUM[name]))
    config = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False}).config
    assert all(config[name] == MAXIMUM[name] for name in numbers)


def test_a_bound_in_hub_cfg_is_named_as_its_key_there(tmp_path):
    (tmp_path / "hub.cfg").write_text("RETENTION_DAYS = 10 ** 12\n")
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(raised.value) == f"RETENTION_DAYS in {tmp_path / 'hub.cfg'} must be at most 36500, not 1000000000000"


def test_a_worker_refuses_a_sweep_interval_its_sweeper_cannot_wait(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
           "HUB_SWEEP_INTERVAL_SECONDS": "1e300"}
    done = subprocess.run([sys.executable, "-m", "hub", "worker"], env=env, cwd=str(ROOT), capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and "started" not in done.stdout
    assert done.stderr.strip() == ("Error: HUB_SWEEP_INTERVAL_SECONDS must be at most 31536000 (365 days), "
                                   "not 1e+300")


def _gunicorn(tmp_path, **settings):
    """gunicorn with the hub's settings and app, from a directory of its own; it must stop by itself."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
           **settings}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "-w", "2",
                                "-b", "127.0.0.1:0", "hub.wsgi:app"], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"gunicorn still ran after 60 s; its last output:\n{stderr[-3000:]}")
    return process.returncode, stdout, stderr


@pytest.mark.parametrize("settings, reason", [
    ({"HUB_WORKERS": "abc"}, "HUB_WORKERS must be a whole number (more than 0), not 'abc'"),
    ({"HUB_DATABASE_URL": "garbage"}, "HUB_DATABASE_URL must be a database URL such as"),
    ({"HUB_PLUGINS": "lever,nosuch"}, "HUB_PLUGINS lists 'nosuch', but no plugin of that name is installed"),
    ({"PROMETHEUS_MULTIPROC_DIR": "/nonexistent/prometheus"},
     "PROMETHEUS_MULTIPROC_DIR names the directory /nonexistent/prometheus, which does not exist"),
], ids=["number", "database-url", "allow-list", "metrics-directory"])
def test_gunicorn_refuses_a_configuration_that_cannot_work_before_forking_a_worker(tmp_path, settings, reason):
    code, _, stderr = _gunicorn(tmp_path, **settings)
    assert code == 2
    assert "Traceback" not in stderr and "Booting worker" not in stderr, stderr
    reasons = [line.partition("] Reason: ")[2] for line in stderr.splitlines() if "] Reason: " in line]
    assert len(reasons) == 1 and reasons[0].startswith(reason), stderr
    assert "] Shutting down: Master" in stderr
    assert not (tmp_path / "instance").exists()  # nothing written: no key, no queue


def test_gunicorn_names_every_problem_of_the_configuration_in_the_log_format_asked_for(tmp_path):
    """Production's log lines are JSON (gunicorn's too): the reason is one JSON object."""
    import json

    code, _, stderr = _gunicorn(tmp_path, HUB_ENV="production")
    assert code == 2 and "Traceback" not in stderr
    messages = [json.loads(line)["message"] for line in stderr.splitlines() if line.startswith("{")]
    reason = next(message for message in messages if message.startswith("Reason: "))
    assert reason.startswith("Reason: the configuration has 3 problems:\n- HUB_SECRET_KEY is missing")
    assert "\n- HUB_PUBLIC_URL is missing" in reason


def test_gunicorn_still_starts_on_a_configuration_that_works(tmp_path):
    """The check lets a good configuration through (an allow-list of installed plugins too)."""
    import time

    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
           "HUB_PLUGINS": "lever,canditech"}
    errors = open(tmp_path / "error.log", "w+")
    server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "-w", "1",
                               "-b", "127.0.0.1:0", "hub.wsgi:app"], cwd=tmp_path, env=env,
                              stdout=subprocess.DEVNULL, stderr=errors)
    try:
        deadline, booted = time.monotonic() + 60, False
        while not booted and time.monotonic() < deadline and server.poll() is None:
            errors.seek(0)
            booted = "Booting worker" in errors.read()
            time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=30)
        errors.close()
    assert booted, (tmp_path / "error.log").read_text()
