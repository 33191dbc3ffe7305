"""What the `hub` commands print for an operator: no database password, a missing PostgreSQL
database or role named as such, and the migrations `hub db upgrade`/`downgrade` ran."""

import re

import pytest
from sqlalchemy.exc import OperationalError

import hub.cli
from hub.cli import database_url_shown, redis_url_shown

# what psycopg says when the server has no such database or role
NO_DATABASE = ('connection failed: connection to server at "127.0.0.1", port 5432 failed: '
               'FATAL:  database "hubx" does not exist')
NO_ROLE = 'connection failed: connection to server at "127.0.0.1", port 5432 failed: FATAL:  role "hubber" does not exist'


def test_init_prints_the_database_url_without_its_password(runner, app):
    app.config["DATABASE_URL"] = "postgresql+psycopg://postgres:s3cretpw@db.example.com:5432/hub"  # as printed only
    result = runner.invoke(args=["init", "--non-interactive"])
    assert result.exit_code == 0, result.output
    assert "s3cretpw" not in result.output
    assert "Database ready at postgresql+psycopg://postgres:***@db.example.com:5432/hub" in result.output


def test_urls_shown_to_an_operator_hide_passwords():
    assert database_url_shown("postgresql+psycopg://u:pw@h/db") == "postgresql+psycopg://u:***@h/db"
    assert database_url_shown("sqlite:////srv/hub.db") == "sqlite:////srv/hub.db"
    # libpq takes the password in the query too (a review found it printed whole)
    assert database_url_shown("postgresql+psycopg://u@h/db?password=pw&sslmode=require") == "postgresql+psycopg://u@h/db"
    assert redis_url_shown("redis://user:pw@h:6379/0") == "redis://***@h:6379/0"
    assert redis_url_shown("rediss://h:6380/1?password=pw") == "rediss://h:6380/1"


def test_a_socket_s_redis_url_is_shown_with_its_path_whole():
    """``unix:///run/redis.sock`` was shown as ``unix:/run/redis.sock`` (its ``//`` lost with the
    empty host): not the URL to put in HUB_REDIS_URL, which takes only ``unix://``. Its password
    is hidden as a host's is."""
    for url, shown in (("unix:///run/redis/redis.sock?db=0", "unix:///run/redis/redis.sock"),
                       ("unix:///run/redis.sock", "unix:///run/redis.sock"),
                       ("unix://:secret@/run/redis.sock", "unix://***@/run/redis.sock"),
                       ("unix://user:secret@/run/redis.sock?db=2&password=other", "unix://***@/run/redis.sock"),
                       ("redis://:secret@h:6379", "redis://***@h:6379")):
        assert redis_url_shown(url) == shown, url


def _main_failing_with(monkeypatch, capsys, text):
    def fail(*args, **kwargs):
        raise OperationalError("SELECT 1", {}, Exception(text))

    monkeypatch.setattr(hub.cli.cli, "main", fail)
    with pytest.raises(SystemExit) as exited:
        hub.cli.main(["init"])
    assert exited.value.code == 1
    return capsys.readouterr().err.strip()


def test_a_missing_database_is_named_not_taken_for_missing_tables(monkeypatch, capsys):
    error = _main_failing_with(monkeypatch, capsys, NO_DATABASE)
    assert "\n" not in error
    assert error.startswith('Error: the database "hubx" named in HUB_DATABASE_URL does not exist')
    # owned by the hub's role: created by another, its public schema refuses the hub's tables
    assert "owned by the role named as the user in HUB_DATABASE_URL (createdb -O ROLE hubx)" in error
    assert "no tables" not in error


def test_a_missing_role_is_named_not_taken_for_missing_tables(monkeypatch, capsys):
    error = _main_failing_with(monkeypatch, capsys, NO_ROLE)
    assert "\n" not in error
    assert error.startswith('Error: the role "hubber" named as the user in HUB_DATABASE_URL does not exist')
    assert "createuser" in error and "no tables" not in error


def test_a_missing_table_is_still_reported_as_such(monkeypatch, capsys):
    error = _main_failing_with(monkeypatch, capsys, 'relation "users" does not exist')
    assert error == f"Error: {hub.cli.NO_TABLES}"


@pytest.fixture
def own_database(make_app, tmp_path):
    """An app on a SQLite database of its own (migrations go back and forth on it)."""
    return make_app({"DATABASE_URL": "sqlite:///" + str(tmp_path / "own.db")}, entry_points=False)


def test_db_upgrade_and_downgrade_print_each_migration_they_apply(own_database):
    runner = own_database.test_cli_runner()
    at_head = runner.invoke(args=["db", "upgrade"])
    assert at_head.exit_code == 0, at_head.output
    head = re.fullmatch(r"no migration to apply: the database is at (\w+) \(head\)\n", at_head.output)
    assert head, at_head.output
    down = runner.invoke(args=["db", "downgrade"])
    assert down.exit_code == 0, down.output
    step = re.fullmatch(rf"downgraded the database: {head.group(1)} -> (\w+) \(undid: .+\)\n", down.output)
    assert step, down.output
    up = runner.invoke(args=["db", "upgrade"])
    assert re.fullmatch(rf"upgraded the database: {step.group(1)} -> {head.group(1)} \(.+\)\n", up.output), up.output
