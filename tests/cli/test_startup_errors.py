"""Problems found when the hub starts stop it with one line and a non-zero exit, never a traceback,
whatever the command: `hub --help` with a bad setting, a worker or a server on a database that
was never migrated, an allow-list naming no installed plugin."""

import os
import re
import signal
import sqlite3
import subprocess
import sys

import pytest
from cryptography.fernet import Fernet

from tests.support.processes import ROOT



def _hub(args, env, timeout=60):
    """Run ``python -m hub ARGS``; it must exit within ``timeout`` s (else it is killed, and the test fails)."""
    process = subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, cwd=str(ROOT), text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"hub {' '.join(args)} still ran after {timeout} s; its last output:\n{stderr[-3000:]}")
    return process.returncode, stdout, stderr


def _env(tmp_path, **settings):
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "HUB_INSTANCE_PATH": str(tmp_path / "instance"),
            **settings}


def _production(tmp_path, **settings):
    return _env(tmp_path, HUB_ENV="production", HUB_SECRET_KEY="s" * 48,
                HUB_ENCRYPTION_KEYS=Fernet.generate_key().decode(), HUB_PUBLIC_URL="https://hub.example.com",
                **settings)


@pytest.mark.parametrize("args", [["--help"], ["init", "--help"], ["db", "upgrade", "--help"]], ids=" ".join)
def test_help_is_shown_whatever_the_configuration_and_writes_nothing(tmp_path, args):
    """`hub --help` built the app: in a directory without configuration it wrote ./instance (keys,
    queue.db); with a setting missing or bad it printed that error instead of the help."""
    for settings in ({}, {"HUB_WORKERS": "abc"}, {"HUB_ENV": "production"}):
        env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), **settings}  # no HUB_INSTANCE_PATH: ./instance
        done = subprocess.run([sys.executable, "-m", "hub", *args], env=env, cwd=tmp_path, capture_output=True,
                              text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        assert done.stdout.startswith(f"Usage: hub {' '.join(args[:-1])}".rstrip() + " [OPTIONS]")
        assert done.stderr == ""
        assert list(tmp_path.iterdir()) == []


def test_a_command_still_reports_a_bad_setting_in_one_line(tmp_path):
    code, stdout, stderr = _hub(["users", "list"], _env(tmp_path, HUB_WORKERS="abc"))
    assert code == 2
    assert stderr.strip() == "Error: HUB_WORKERS must be a whole number (more than 0), not 'abc'"
    assert stdout == ""


def test_a_worker_refuses_to_start_when_redis_cannot_be_reached(tmp_path):
    """It used to start, then Huey logged "Error reading from queue" with a traceback several times
    a second for as long as it ran."""
    import socket

    env = _env(tmp_path)
    code, _, stderr = _hub(["db", "upgrade"], env)
    assert code == 0, stderr
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, stdout, stderr = _hub(["worker"], {**env, "HUB_REDIS_URL": f"redis://:s3cretpw@127.0.0.1:{port}/0"},
                                timeout=30)
    assert code == 1 and "started" not in stdout
    assert len(stderr.strip().splitlines()) == 1 and "s3cretpw" not in stderr
    assert stderr.startswith(f"Error: the queue cannot be reached (Redis, HUB_REDIS_URL redis://***@127.0.0.1:{port}/0)")
    assert stderr.strip().endswith("Start Redis or correct HUB_REDIS_URL, then start again.")


def test_hub_run_refuses_an_unreachable_queue_before_creating_the_first_super_admin(tmp_path):
    """It created the database and printed the Super Admin's password, then refused: the next
    start found the admin made and the password gone with the terminal."""
    import socket

    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    code, stdout, stderr = _hub(["run", "--port", "0"], {**_env(tmp_path), "HUB_REDIS_URL": f"redis://127.0.0.1:{port}/0"},
                                timeout=30)
    assert code == 1 and "Super Admin" not in stdout and "password" not in stdout, (stdout, stderr)
    assert stderr.startswith("Error: the queue cannot be reached (Redis")


def test_a_missing_prometheus_multiproc_dir_is_named_in_one_line(tmp_path):
    """It used to say "Error: FileNotFoundError: ... gauge_mostrecent_<pid>.db" (gunicorn's workers:
    "Worker failed to boot")."""
    missing = tmp_path / "prometheus"
    code, stdout, stderr = _hub(["users", "list"], _env(tmp_path, PROMETHEUS_MULTIPROC_DIR=str(missing)))
    assert code == 2 and stdout == ""
    assert stderr.strip() == (f"Error: PROMETHEUS_MULTIPROC_DIR names the directory {missing}, which does not "
                              "exist: create it (empty, writable by every hub process of this host) or unset "
                              "the variable.")


@pytest.mark.parametrize("args, settings", [
    (["worker"], {}),
    (["run", "--no-worker", "--port", "0"], {"production": True}),
    (["run", "--port", "0"], {"production": True}),
], ids=["worker", "run-no-worker-production", "run-production"])
def test_serving_or_working_on_a_database_never_migrated_stops_in_one_line(tmp_path, args, settings):
    env = _production(tmp_path) if settings.get("production") else _env(tmp_path)
    code, stdout, stderr = _hub(args, env)
    assert code == 1
    if settings.get("production"):  # without HUB_DATABASE_URL: the setting, not `hub init` on that node's own file
        assert stderr.startswith("Error: HUB_DATABASE_URL is not set, so this hub process uses the SQLite database "
                                 f"in its instance folder ({tmp_path}/instance/hub.db)"), stderr
        assert "hub init" not in stderr and len(stderr.strip().splitlines()) == 1
    else:
        # the database is named: a forgotten HUB_ENV=production shows as the embedded SQLite file
        database = re.fullmatch(r"Error: the database (\S+) has no tables yet: run `hub init` \(or `hub db upgrade`\)",
                                stderr.strip())
        assert database, stderr
        assert database.group(1) == f"sqlite:///{tmp_path}/instance/hub.db"
    assert "started" not in stdout and "listening" not in stdout


@pytest.mark.parametrize("args", [["db", "upgrade"], ["db", "current"], ["db", "stamp", "head"]], ids=" ".join)
def test_db_commands_in_production_without_a_database_url_refuse_and_make_no_database(tmp_path, args):
    """`hub db upgrade` there migrated a SQLite file of the node's own instance folder, exit 0, while
    `hub init`, `hub run` and `hub worker` refused: an operator who forgot the setting was told the
    schema was up to date."""
    code, stdout, stderr = _hub(args, _production(tmp_path))
    assert code == 1, (stdout, stderr)
    assert stderr.startswith("Error: HUB_DATABASE_URL is not set, so this hub process uses the SQLite database "
                             f"in its instance folder ({tmp_path}/instance/hub.db)") and len(stderr.strip().splitlines()) == 1
    assert stderr.strip().endswith("and run the command again")
    assert not (tmp_path / "instance" / "hub.db").exists()


def test_an_allow_list_naming_no_installed_plugin_stops_the_hub(tmp_path):
    code, stdout, stderr = _hub(["plugins", "list"], _env(tmp_path, HUB_PLUGINS="lever,nosuch"))
    assert code == 2 and stdout == ""
    assert stderr.startswith("Error: HUB_PLUGINS lists 'nosuch', but no plugin of that name is installed "
                             "(installed: ")
    assert "lever" in stderr and len(stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("variable, value, message", [
    ("HUB_DATABASE_URL", "notaurl", "Error: HUB_DATABASE_URL must be a database URL such as sqlite:///"),
    ("HUB_REDIS_URL", "notaurl", "Error: HUB_REDIS_URL must be a Redis URL such as redis://"),
    ("HUB_EXTRA_PLUGIN_MODULES", "garbage",
     "Error: HUB_EXTRA_PLUGIN_MODULES must be comma-separated name=dotted.module pairs"),
], ids=lambda value: value if value.startswith("HUB_") else None)
def test_a_malformed_url_or_module_list_is_reported_in_one_line_naming_it(tmp_path, variable, value, message):
    code, stdout, stderr = _hub(["plugins", "list"], _env(tmp_path, **{variable: value}))
    assert code == 2
    assert stderr.startswith(message) and len(stderr.strip().splitlines()) == 1


def test_a_worker_on_a_database_behind_this_version_names_the_missing_tables(tmp_path):
    env, database = _migrated(tmp_path)
    with sqlite3.connect(database) as connection:
        connection.execute("DROP TABLE timeline")  # as if a migration adding it had not run
    code, stdout, stderr = _hub(["worker"], env)
    assert code == 1 and "started" not in stdout
    assert stderr.strip() == ("Error: the database lacks tables of this version of the hub (timeline): "
                              "run `hub db upgrade`")


def test_run_on_a_busy_port_stops_before_creating_anything(tmp_path):
    """It used to create the database and print a Super Admin's password, then fail to listen: the
    next run did not print the password again."""
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, stdout, stderr = _hub(["run", "--port", str(port)], _env(tmp_path))
    assert code == 1
    assert stderr.strip().startswith(f"Error: cannot listen on 127.0.0.1:{port}: ")
    assert "password" not in stdout
    assert not (tmp_path / "instance" / "hub.db").exists()


def test_a_worker_on_a_database_behind_this_version_stops_in_one_line(tmp_path):
    """Every table there, one migration missing (it only adds a column): the worker started and
    failed on every query of that column."""
    env = _env(tmp_path)
    code, _, stderr = _hub(["db", "upgrade", "5b0e2c6a9f41"], env)
    assert code == 0, stderr
    code, stdout, stderr = _hub(["worker"], env)
    assert code == 1
    assert stderr.strip().startswith("Error: the database is at migration 5b0e2c6a9f41, this version of the hub "
                                      "needs ") and stderr.strip().endswith(": run `hub db upgrade`")
    assert "started" not in stdout


def test_a_command_on_a_database_behind_this_version_says_to_upgrade(tmp_path):
    """`hub deliveries list` on a database one migration behind (a column missing) said "the
    database cannot be reached"."""
    env = _env(tmp_path)
    code, _, stderr = _hub(["db", "upgrade", "b7e3a9c4d215"], env)  # before deliveries.waiting_since
    assert code == 0, stderr
    code, stdout, stderr = _hub(["deliveries", "list"], env)
    assert code == 1
    assert stderr.strip() == ("Error: the database's schema is behind this version of the hub (it lacks a column "
                              "the code uses): run `hub db upgrade`")


def _migrated(tmp_path):
    """The embedded database of an instance folder in ``tmp_path``, migrated by `hub db upgrade`:
    the environment and the database file."""
    env = _env(tmp_path)
    code, _, stderr = _hub(["db", "upgrade"], env)
    assert code == 0, stderr
    (database,) = list(tmp_path.rglob("hub.db"))
    return env, database


def _migrated_by_a_newer_version(tmp_path):
    """The embedded database, migrated, then marked at a revision this code does not know: the
    environment and the database file."""
    env, database = _migrated(tmp_path)
    with sqlite3.connect(database) as connection:
        connection.execute("UPDATE alembic_version SET version_num = 'f00dfeed1234'")
    return env, database


def test_a_worker_on_a_database_a_newer_version_migrated_says_so(tmp_path):
    """'run hub db upgrade' was the advice for a database ahead of the code (a deploy rolled back)."""
    env, _ = _migrated_by_a_newer_version(tmp_path)
    code, stdout, stderr = _hub(["worker"], env, timeout=30)
    assert code == 1 and "started" not in stdout
    assert "the database schema is at f00dfeed1234, which this code does not know: a newer version" in stderr
    assert "run `hub db upgrade`" not in stderr


@pytest.mark.parametrize("args", [["init"], ["run", "--port", "0"]], ids=" ".join)
def test_migrating_commands_on_a_database_a_newer_version_migrated_say_so(tmp_path, args):
    """`hub init` and the embedded `hub run` migrate first: they stopped on Alembic's "Can't locate
    revision" and its traceback, not the sentence the worker and /readyz give."""
    env, database = _migrated_by_a_newer_version(tmp_path)
    code, stdout, stderr = _hub(args, env, timeout=30)
    assert code == 1 and "Traceback" not in stderr, stderr
    assert stderr.strip().startswith("Error: the database schema is at f00dfeed1234, which this code does not know: "
                                     "a newer version of the hub migrated it"), stderr
    with sqlite3.connect(database) as connection:  # nothing created on it
        assert connection.execute("SELECT count(*) FROM users").fetchone() == (0,)


@pytest.mark.parametrize("args", [["db", "current"], ["db", "upgrade"], ["db", "downgrade", "base"]], ids=" ".join)
def test_db_commands_on_a_database_a_newer_version_migrated_say_so(tmp_path, args):
    """`hub db current` (what the restore procedure runs), `upgrade` and `downgrade` logged only
    Alembic's "Error: Can't locate revision identified by 'f00dfeed1234'" (an operator's walk-through)."""
    env, _ = _migrated_by_a_newer_version(tmp_path)
    code, stdout, stderr = _hub(args, env, timeout=30)
    assert code == 1 and "Traceback" not in stderr and "Can't locate revision" not in stderr, stderr
    from alembic.script import ScriptDirectory

    head = ScriptDirectory(str(ROOT / "migrations")).get_current_head()
    assert stderr.strip() == (f"Error: the database schema is at f00dfeed1234, which this code does not know: a "
                              f"newer version of the hub migrated it (this code needs {head}); run that version, or "
                              f"`hub db downgrade {head}` with it")


def test_db_lists_the_operators_commands_and_keeps_the_developers_ones_working(tmp_path):
    code, stdout, _ = _hub(["db", "--help"], _env(tmp_path), timeout=30)
    assert code == 0 and "upgrade" in stdout and "current" in stdout and "stamp" in stdout
    listed = {line.split()[0] for line in stdout.split("Commands:")[1].splitlines() if line.strip()}
    assert "upgrade" in listed and not {"revision", "migrate", "merge", "edit", "list-templates"} & listed
    code, stdout, _ = _hub(["db", "revision", "--help"], _env(tmp_path), timeout=30)  # hidden, not gone
    assert code == 0 and "Create a new revision file" in stdout


def test_init_as_a_role_that_does_not_own_the_database_says_what_to_do(tmp_path):
    """PostgreSQL 15 and later let only the owner of a database create tables in its public
    schema; `hub init` as another role stopped on SQLAlchemy's "permission denied for schema public"
    with the statement."""
    import uuid

    import sqlalchemy as sa

    server = sa.engine.make_url(os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"))
    name = f"hub_role_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE ROLE "{name}" LOGIN')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')  # owned by postgres, not by the role
    database = sa.create_engine(server.set(database=name), isolation_level="AUTOCOMMIT")
    with database.connect() as conn:  # as PostgreSQL 15 and later create it; before 15, PUBLIC had CREATE
        conn.exec_driver_sql("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    database.dispose()
    try:
        url = server.set(username=name, database=name).render_as_string(hide_password=False)
        code, _, stderr = _hub(["init", "--non-interactive"], _production(tmp_path, HUB_DATABASE_URL=url,
                                                                        HUB_QUEUE_BACKEND="sqlite"))
        assert code == 1
        assert stderr.strip().startswith("Error: the role named as the user in HUB_DATABASE_URL may not create "
                                         "or use the hub's tables in that database")
        assert "createdb -O ROLE DATABASE" in stderr and "Traceback" not in stderr and "[SQL:" not in stderr
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
            conn.exec_driver_sql(f'DROP ROLE IF EXISTS "{name}"')
        admin.dispose()


@pytest.mark.parametrize("args, message", [
    (["--email", "not-an-email"], "Error: Invalid value for '--email': not a valid email address"),
    (["--password", "short"], "Error: Invalid value for '--password': password must have at least 10 characters"),
    (["--name", "n" * 201], "Error: Invalid value for '--name': the name is too long (201 characters; at most 200)"),
], ids=["email", "password", "name"])
def test_init_refuses_a_bad_value_before_it_creates_the_database(tmp_path, args, message):
    """The values were checked only after the migrations: a refused one left a database with
    every table and no Super Admin. The refusal names the option (a usage error, exit status 2)."""
    code, stdout, stderr = _hub(["init", "--non-interactive", *args], _env(tmp_path))
    assert code == 2 and message in stderr and "Traceback" not in stderr, stderr
    assert "Database ready" not in stdout
    assert not (tmp_path / "instance" / "hub.db").exists()


def test_init_in_production_without_a_database_url_refuses_and_makes_no_database(tmp_path):
    """Without HUB_DATABASE_URL a production node's default is its instance folder's SQLite file:
    `hub init` there would make a database no other process shares."""
    code, stdout, stderr = _hub(["init", "--non-interactive"], _production(tmp_path))
    assert code == 1 and stderr.startswith("Error: HUB_DATABASE_URL is not set, so this hub process uses the SQLite "
                                           "database in its instance folder"), stderr
    assert stderr.rstrip().endswith("and run `hub init` again") and "Database ready" not in stdout
    assert not (tmp_path / "instance" / "hub.db").exists()
