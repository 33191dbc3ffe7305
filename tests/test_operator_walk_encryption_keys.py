"""``HUB_ENCRYPTION_KEYS`` is checked key by key when the hub starts (an operator's walk through a
production deployment and a key rotation).

Fernet decodes a key leniently: it skips characters outside url-safe base64 and stops at the first
"=". So ``new old`` or ``new;old`` (a space or a semicolon where a comma belongs) were read as the
new key alone, without a word: the secrets still under the old one became unreadable on every
process, and the hub blamed "the key list the other hub processes have". A key cut short (its
last "=" lost in a copy) passed the configuration's checks and failed only when the runtime built
its ``SecretBox``: one generic line from a ``hub`` command, and under gunicorn a traceback per
worker and "Worker failed to boot" (exit status 3) instead of the master's ``Reason:`` line."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from hub.app import configuration_problem, create_app
from hub.config import ConfigError
from tests.support.processes import ROOT

NEW, OLD = Fernet.generate_key().decode(), Fernet.generate_key().decode()


def _production(tmp_path, keys: str) -> dict:
    return {"INSTANCE_PATH": str(tmp_path), "ENV": "production", "LOAD_ENTRY_POINTS": False, "SECRET_KEY": "s" * 48,
            "ENCRYPTION_KEYS": keys, "PUBLIC_URL": "https://hub.example.com",
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "hub.db")}


@pytest.mark.parametrize("keys, start", [
    (f"{NEW},{OLD[:-1]}", "the 2nd of the 2 keys in HUB_ENCRYPTION_KEYS has 43 characters, where a Fernet key "
                          "has 44 (the last one '='): was it cut short? Give Fernet keys separated by commas"),
    (NEW[:-1], "HUB_ENCRYPTION_KEYS has 43 characters, where a Fernet key has 44 (the last one '='): was it cut short?"),
    (f"{NEW} {OLD}", "HUB_ENCRYPTION_KEYS holds a space or a semicolon (two keys? they are separated by commas)."),
    (f"{NEW};{OLD}", "HUB_ENCRYPTION_KEYS holds a space or a semicolon (two keys? they are separated by commas)."),
    (f"{NEW},{OLD[:-2]}!=", "the 2nd of the 2 keys in HUB_ENCRYPTION_KEYS holds characters a Fernet key has not"),
], ids=["second-key-cut-short", "only-key-cut-short", "space-between-keys", "semicolon-between-keys",
        "stray-character"])
def test_a_key_list_fernet_would_misread_stops_the_hub_naming_the_key_by_its_place(tmp_path, keys, start):
    with pytest.raises(ConfigError) as raised:
        create_app(_production(tmp_path, keys))
    message = str(raised.value)
    assert message.startswith(start), message
    assert NEW[:-1] not in message and OLD[:-2] not in message  # a secret: never repeated
    assert not (tmp_path / "secret_key").exists()


def test_the_embedded_hub_checks_a_key_list_it_is_given_too(tmp_path):
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "ENCRYPTION_KEYS": f"{NEW} {OLD}"})
    assert str(raised.value).startswith("HUB_ENCRYPTION_KEYS holds a space or a semicolon")


def test_keys_that_worked_before_still_work_and_reach_the_runtime_cleaned(tmp_path):
    """Quotes kept by an env file, spaces around the commas, a trailing comma: Fernet read them as
    the same keys; they still are, and a secret sealed under the old key is read."""
    from hub.runtime import get_runtime
    from hub.store.crypto import SecretBox

    sealed = SecretBox(OLD).encrypt({"api_key": "k"})
    for keys in (f'"{NEW},{OLD}"', f" {NEW} , {OLD} ,", f"'{NEW}',{OLD}"):
        app = create_app(_production(tmp_path, keys))
        assert app.config["ENCRYPTION_KEYS"] == f"{NEW},{OLD}"
        with app.app_context():
            assert get_runtime(app).secret_box.decrypt(sealed) == {"api_key": "k"}


def test_gunicorns_master_sees_it_before_it_forks_a_worker(tmp_path, monkeypatch):
    """``configuration_problem`` is what gunicorn's master asks (``hub/gunicorn_conf.py``)."""
    for name, value in {"HUB_ENV": "production", "HUB_SECRET_KEY": "s" * 48, "HUB_PUBLIC_URL": "https://hub.example.com",
                        "HUB_ENCRYPTION_KEYS": f"{NEW},{OLD[:-1]}", "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
                        "HUB_DATABASE_URL": "sqlite:///" + str(tmp_path / "hub.db")}.items():
        monkeypatch.setenv(name, value)
    assert (configuration_problem() or "").startswith("the 2nd of the 2 keys in HUB_ENCRYPTION_KEYS has 43 characters")


@pytest.mark.slow
def test_gunicorn_refuses_a_key_cut_short_with_its_reason_not_a_traceback_per_worker(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
           "HUB_ENV": "production", "HUB_LOG_FORMAT": "text", "HUB_SECRET_KEY": "s" * 48,
           "HUB_PUBLIC_URL": "https://hub.example.com", "HUB_ENCRYPTION_KEYS": f"{NEW},{OLD[:-1]}",
           "HUB_DATABASE_URL": "sqlite:///" + str(tmp_path / "hub.db")}
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:hub.gunicorn_conf", "-w", "2",
                                "-b", "127.0.0.1:0", "hub.wsgi:app"], cwd=tmp_path, env=env, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        _, stderr = process.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        _, stderr = process.communicate()
        pytest.fail(f"gunicorn still ran after 60 s; its last output:\n{stderr[-3000:]}")
    assert process.returncode == 2, stderr
    assert "Traceback" not in stderr and "Booting worker" not in stderr, stderr
    reasons = [line.partition("] Reason: ")[2] for line in stderr.splitlines() if "] Reason: " in line]
    assert reasons == [line for line in reasons if line.startswith("the 2nd of the 2 keys in HUB_ENCRYPTION_KEYS")]
    assert len(reasons) == 1, stderr
