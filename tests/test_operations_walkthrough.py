"""What an operator's walk through docs/operations.md found, on the production configuration
(``HUB_ENV=production``), each on a SQLite database of its own (whichever backend the run uses).

* A production node where ``HUB_DATABASE_URL`` is missing used the instance folder's SQLite file;
  its ``/readyz``, ``hub worker`` and ``hub run`` then said to run ``hub init``, which would fill
  that file on that node alone. They name the missing setting instead.
* ``/readyz`` keeps a ready answer: an old version's process left running through ``hub db
  upgrade`` stays ready (docs/operations.md, *Upgrading*, says so now); a process started on a
  database whose revision is not its code's is not.
* *First deployment*, step 4: ``hub init`` prints each migration and the database's URL without
  its password; ``hub db current`` then names the revision ``hub db heads`` gives.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from hub.app import create_app

ROOT = Path(__file__).resolve().parents[1]
PRODUCTION = {"ENV": "production", "SECRET_KEY": "s" * 48, "PUBLIC_URL": "https://hub.example.com",
              "LOAD_ENTRY_POINTS": False}
UNSET = "HUB_DATABASE_URL is not set, so this hub process uses the SQLite database in its instance folder ("


@pytest.fixture
def no_backend_settings(monkeypatch):
    """The walk-through's node: none of the run's own database or queue settings."""
    for name in ("HUB_DATABASE_URL", "HUB_REDIS_URL", "HUB_ENV", "HUB_INSTANCE_PATH", "PROMETHEUS_MULTIPROC_DIR"):
        monkeypatch.delenv(name, raising=False)


def _production_app(tmp_path, **settings):
    return create_app({**PRODUCTION, "INSTANCE_PATH": str(tmp_path / "instance"),
                       "ENCRYPTION_KEYS": Fernet.generate_key().decode(), **settings})


def test_a_production_node_without_a_database_url_is_not_told_to_run_hub_init(tmp_path, no_backend_settings):
    app = _production_app(tmp_path)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503 and answer.json["status"] == "not_ready"
    schema = answer.json["checks"]["schema"]
    assert schema.startswith(UNSET + str(tmp_path / "instance" / "hub.db") + ")"), schema
    assert "in production set HUB_DATABASE_URL" in schema and "hub init" not in schema


@pytest.mark.parametrize("command", [["worker"], ["run", "--port", "0", "--no-worker"]], ids=["worker", "run"])
def test_hub_worker_and_hub_run_there_name_the_setting(tmp_path, no_backend_settings, command):
    result = _production_app(tmp_path).test_cli_runner().invoke(args=command)
    assert result.exit_code == 1
    assert result.output.startswith("Error: " + UNSET), result.output
    assert "hub init" not in result.output


def test_a_database_url_given_keeps_the_advice_to_run_hub_init(tmp_path, no_backend_settings):
    """Only the missing setting changes the words: an empty database that was named still needs `hub init`."""
    app = _production_app(tmp_path, DATABASE_URL="sqlite:///" + str(tmp_path / "named.db"))
    assert app.test_client().get("/readyz").json["checks"]["schema"].endswith(": run `hub init`")
    result = app.test_cli_runner().invoke(args=["worker"])
    assert result.exit_code == 1 and "has no tables yet: run `hub init`" in result.output
    embedded = create_app({"INSTANCE_PATH": str(tmp_path / "embedded"), "LOAD_ENTRY_POINTS": False})
    assert embedded.test_client().get("/readyz").json["checks"]["schema"].endswith(": run `hub init`")


def test_a_ready_process_stays_ready_through_a_change_of_revision(tmp_path, no_backend_settings):
    """docs/operations.md, *Upgrading*: the 503 naming both revisions is for a process started on
    such a database; one that was ready keeps answering 200 (the old version's, left running)."""
    import sqlalchemy as sa
    from flask_migrate import upgrade

    from hub.extensions import db
    from hub.store import schema

    url = "sqlite:///" + str(tmp_path / "hub.db")
    running = _production_app(tmp_path, DATABASE_URL=url)
    with running.app_context():
        upgrade(directory=running.extensions["migrate"].directory)
    assert running.test_client().get("/readyz").status_code == 200
    head = schema.head(running)
    with running.app_context():  # as if a newer version had migrated it
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = '7c2f17f9dc57'"))
        db.session.commit()
    assert running.test_client().get("/readyz").status_code == 200
    started = _production_app(tmp_path, DATABASE_URL=url)
    answer = started.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"]["schema"] == (f"the database schema is at 7c2f17f9dc57, the code needs {head}: "
                                               "run `hub db upgrade`")


def test_first_deployment_steps_on_a_production_configuration(tmp_path):
    """Step 4 (`hub init --non-interactive --email ... --name ...`), then *Upgrading*, step 2
    (`hub db current` and `hub db heads`), as the doc gives them, in a process each."""
    password_url = f"sqlite:///{tmp_path / 'hub.db'}"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_ENV": "production",
           "HUB_SECRET_KEY": "s" * 48, "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
           "HUB_PUBLIC_URL": "https://hub.example.com", "HUB_DATABASE_URL": password_url,
           "HUB_INSTANCE_PATH": str(tmp_path / "instance"), "HUB_METRICS_TOKEN": "m" * 8 + "-token-of-the-walk"}

    def hub(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hub", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)

    init = hub("init", "--non-interactive", "--email", "you@example.com", "--name", "Your Name")
    assert init.returncode == 0, init.stderr
    lines = init.stdout.splitlines()
    assert lines[0].startswith("upgraded the database: empty -> ") and lines[0].endswith("(initial schema)")
    assert f"Database ready at {password_url}" in lines
    assert any(line.startswith("Super Admin: you@example.com  password: ") for line in lines)
    current, heads = hub("db", "current"), hub("db", "heads")
    assert current.returncode == heads.returncode == 0, current.stderr + heads.stderr
    assert current.stdout.strip() == heads.stdout.strip() and current.stdout.strip().endswith("(head)")
    again = hub("init", "--non-interactive", "--email", "you@example.com")
    assert again.returncode == 0 and "no migration to apply: the database is at " in again.stdout
    assert "Super Admin: you@example.com already exists" in again.stdout
    assert not os.path.exists(tmp_path / "instance" / "secret_key")  # production generates no key


def test_hub_run_refused_frees_its_port(tmp_path, no_backend_settings):
    """`hub run` listens first (a busy port must not leave a database behind), then checks the
    queue and the tables: refused there, it left its socket open (a ResourceWarning, and the port
    busy for as long as the refusal was kept)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = _production_app(tmp_path).test_cli_runner().invoke(args=["run", "--port", str(port), "--no-worker"])
    assert result.exit_code == 1 and result.exc_info is not None
    with socket.socket() as again:  # no SO_REUSEADDR: free only once the refused server closed it
        again.bind(("127.0.0.1", port))
