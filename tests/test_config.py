"""Configuration: defaults, environment overrides, and refusing to start in production with a
missing or placeholder key; the embedded default generates keys into instance/ with mode 0600."""

import os
import stat

import pytest
from cryptography.fernet import Fernet

from hub.app import create_app
from hub.config import ConfigError


def test_embedded_default_generates_keys_with_mode_0600(tmp_path):
    instance = tmp_path / "instance"
    app = create_app({"INSTANCE_PATH": str(instance), "LOAD_ENTRY_POINTS": False})
    for name in ("secret_key", "encryption_keys"):
        mode = stat.S_IMODE(os.stat(instance / name).st_mode)
        assert mode == 0o600
    again = create_app({"INSTANCE_PATH": str(instance), "LOAD_ENTRY_POINTS": False})
    assert again.config["SECRET_KEY"] == app.config["SECRET_KEY"]
    assert app.config["DATABASE_URL"] == "sqlite:///" + str(instance / "hub.db")


# (fixed ids: the generated keys must not name the tests, or pytest-xdist's workers collect different ones)
@pytest.mark.parametrize("secret_key, keys, problem", [
    (None, Fernet.generate_key().decode(), "HUB_SECRET_KEY is missing. "),
    ("change-me", Fernet.generate_key().decode(), "HUB_SECRET_KEY is a placeholder. "),
    ("short", Fernet.generate_key().decode(), "HUB_SECRET_KEY is too short (5 characters). "),
    ("x" * 40, None, "HUB_ENCRYPTION_KEYS is missing. "),
    ("x" * 40, "placeholder", "HUB_ENCRYPTION_KEYS is a placeholder. "),
    ("x" * 40, "notakey", "HUB_ENCRYPTION_KEYS is not a Fernet key (one is 44 characters). "),
], ids=["no-secret-key", "placeholder-secret-key", "short-secret-key", "no-encryption-keys",
        "placeholder-encryption-keys", "malformed-encryption-key"])
def test_production_refuses_missing_or_placeholder_keys(tmp_path, secret_key, keys, problem):
    """Each says which of the three is wrong: a malformed key used to be called "missing or a placeholder"."""
    config = {"INSTANCE_PATH": str(tmp_path), "ENV": "production", "LOAD_ENTRY_POINTS": False,
              "SECRET_KEY": secret_key, "ENCRYPTION_KEYS": keys, "PUBLIC_URL": "https://hub.example.com"}
    with pytest.raises(ConfigError) as info:
        create_app(config)
    assert str(info.value).startswith(problem)
    assert not (tmp_path / "secret_key").exists()


def test_production_with_real_keys_starts_with_secure_cookies(tmp_path):
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "production", "LOAD_ENTRY_POINTS": False,
                      "PUBLIC_URL": "https://hub.example.com/",
                      "SECRET_KEY": "s" * 48, "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                      "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")})
    assert app.config["SESSION_COOKIE_SECURE"] is True
    assert app.config["SESSION_COOKIE_HTTPONLY"] is True
    assert app.config["SESSION_COOKIE_SAMESITE"] == "Lax"


def test_environment_overrides_defaults(tmp_path, monkeypatch):
    monkeypatch.setenv("HUB_WORKERS", "7")
    monkeypatch.setenv("HUB_PUBLIC_URL", "https://hub.example.com")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert app.config["WORKERS"] == 7
    assert app.config["PUBLIC_URL"] == "https://hub.example.com"


def test_every_setting_is_documented():
    from pathlib import Path

    from hub.config import DEFAULTS

    doc = (Path(__file__).resolve().parents[1] / "docs" / "operations.md").read_text()
    missing = [name for name in DEFAULTS if f"HUB_{name}" not in doc]
    assert missing == []


@pytest.mark.parametrize("variable, value, message", [
    ("HUB_WORKERS", "abc", "HUB_WORKERS must be a whole number (more than 0), not 'abc'"),
    ("HUB_WORKERS", "2.5", "HUB_WORKERS must be a whole number"),
    ("HUB_DELIVERY_MAX_ATTEMPTS", "0", "HUB_DELIVERY_MAX_ATTEMPTS must be a whole number (more than 0)"),
    ("HUB_LEASE_SECONDS", "-1", "HUB_LEASE_SECONDS must be a number (more than 0), not -1"),
    ("HUB_SWEEP_INTERVAL_SECONDS", "soon", "HUB_SWEEP_INTERVAL_SECONDS must be a number"),
    ("HUB_RETRY_BASE_SECONDS", "-0.5", "HUB_RETRY_BASE_SECONDS must be a number (0 or more)"),
    ("HUB_WEBHOOK_MAX_BYTES", "true", "HUB_WEBHOOK_MAX_BYTES must be a whole number"),
    ("HUB_TRACE_HOOKS", "maybe", "HUB_TRACE_HOOKS must be true or false, not 'maybe'"),
    ("HUB_LOG_FORMAT", "xml", "HUB_LOG_FORMAT must be one of text, json, not 'xml'"),
    ("HUB_ENV", "staging", "HUB_ENV must be one of embedded, production"),
    ("HUB_DATABASE_URL", "notaurl", "HUB_DATABASE_URL must be a database URL such as sqlite:////absolute/path/hub.db "
                                    "or postgresql+psycopg://"),
    ("HUB_DATABASE_URL", "mysql://hub@db/hub", "HUB_DATABASE_URL must name a SQLite or PostgreSQL database"),
    ("HUB_DATABASE_URL", "postgresql+nosuchdriver://hub@db/hub",
     "HUB_DATABASE_URL names the database driver 'postgresql+nosuchdriver', which is not installed"),
    ("HUB_REDIS_URL", "notaurl", "HUB_REDIS_URL must be a Redis URL such as redis://host:6379/0"),
    ("HUB_REDIS_URL", "redis://localhost:port/0", "HUB_REDIS_URL must be a Redis URL such as redis://host:6379/0"),
    ("HUB_EXTRA_PLUGIN_MODULES", "garbage", "HUB_EXTRA_PLUGIN_MODULES must be comma-separated name=dotted.module "
                                            "pairs, e.g. myplugin=mypackage.plugin, not 'garbage'"),
    ("HUB_EXTRA_PLUGIN_MODULES", "ok=tests.support.slow_plugin,bad=", "HUB_EXTRA_PLUGIN_MODULES must be "
                                                                      "comma-separated name=dotted.module pairs"),
    ("HUB_EXTRA_PLUGIN_MODULES", "x=tests.no_such_module",
     "HUB_EXTRA_PLUGIN_MODULES: the module 'tests.no_such_module' of plugin 'x' cannot be imported"),
], ids=lambda value: value if value.startswith("HUB_") else None)
def test_a_setting_that_cannot_work_stops_the_hub_with_a_message_naming_it(tmp_path, monkeypatch,
                                                                          variable, value, message):
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert message in str(raised.value)
    # a refused start writes nothing: the embedded hub's keys are generated only once it is accepted
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "encryption_keys").exists()


def test_settings_from_the_environment_are_normalised(tmp_path, monkeypatch):
    for variable, value in {"HUB_TRACE_HOOKS": "yes", "HUB_LEASE_SECONDS": "30", "HUB_LOG_FORMAT": "JSON",
                            "HUB_LOG_LEVEL": "WARN",
                            "HUB_QUEUE_IMMEDIATE": "off", "HUB_SESSION_COOKIE_SECURE": "1"}.items():
        monkeypatch.setenv(variable, value)
    config = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False}).config
    assert config["TRACE_HOOKS"] is True and config["QUEUE_IMMEDIATE"] is False
    assert config["LEASE_SECONDS"] == 30.0 and isinstance(config["LEASE_SECONDS"], float)
    assert config["LOG_FORMAT"] == "json" and config["LOG_LEVEL"] == "warn"  # any name logging knows
    assert config["SESSION_COOKIE_SECURE"] is True


def test_the_cli_reports_a_bad_setting_in_one_line(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "HUB_INSTANCE_PATH": str(tmp_path), "HUB_WORKERS": "abc"}
    done = subprocess.run([sys.executable, "-m", "hub", "worker"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip() == "Error: HUB_WORKERS must be a whole number (more than 0), not 'abc'"


def test_production_requires_a_public_url_and_any_public_url_must_be_absolute(tmp_path):
    production = {"INSTANCE_PATH": str(tmp_path), "ENV": "production", "LOAD_ENTRY_POINTS": False,
                  "SECRET_KEY": "s" * 48, "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                  "DATABASE_URL": "sqlite:///" + str(tmp_path / "x.db")}
    with pytest.raises(ConfigError, match="HUB_PUBLIC_URL is missing"):
        create_app(production)
    for bad in ("notaurl", "ftp://hub.example.com", "https://", "https://hub.example.com/?x=1"):
        with pytest.raises(ConfigError, match="HUB_PUBLIC_URL must be an absolute http"):
            create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "PUBLIC_URL": bad})
    app = create_app({**production, "PUBLIC_URL": " https://hub.example.com/ "})
    assert app.config["PUBLIC_URL"] == "https://hub.example.com"


def test_text_settings_from_the_environment_are_taken_as_written(tmp_path, monkeypatch):
    """The environment's values are parsed as JSON when they look like it, but not those of text
    settings: a secret of digits, or a queue named 12345, stays text."""
    monkeypatch.setenv("HUB_SECRET_KEY", "1" * 40)
    monkeypatch.setenv("HUB_QUEUE_NAME", "12345")
    monkeypatch.setenv("HUB_WORKERS", "8")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "ENV": "production", "LOAD_ENTRY_POINTS": False,
                      "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PUBLIC_URL": "https://hub.example.com"})
    assert app.config["SECRET_KEY"] == "1" * 40
    assert app.config["QUEUE_NAME"] == "12345"
    assert app.config["WORKERS"] == 8  # not a text setting: still parsed


def test_url_and_module_settings_take_the_documented_forms_and_refuse_others(tmp_path):
    """Checked without connecting: ``load_config`` only reads the values."""
    from flask import Flask

    from hub.config import load_config

    accepted = {
        "DATABASE_URL": ["sqlite:////srv/hub/hub.db", "sqlite:///relative.db",
                         " postgresql+psycopg://hub:pw@db.example.com:5432/hub ", "postgresql://hub@db.example.com/hub"],
        "REDIS_URL": ["redis://127.0.0.1:6379/0", "rediss://:pw@redis.example.com:6380/1", "unix:///run/redis.sock"],
        "EXTRA_PLUGIN_MODULES": ["slow=tests.support.slow_plugin, other = tests.support.plugins"],
    }
    refused = {"DATABASE_URL": "notaurl", "REDIS_URL": "notaurl", "EXTRA_PLUGIN_MODULES": "garbage"}
    for name, values in accepted.items():
        for value in values:
            app = Flask("check", instance_path=str(tmp_path))
            load_config(app, {name: value})
            expected = value.strip() if name.endswith("_URL") else value
            if expected.startswith("postgresql://"):  # no driver named: psycopg's, the one installed
                expected = "postgresql+psycopg://" + expected.removeprefix("postgresql://")
            assert app.config[name] == expected
        with pytest.raises(ConfigError, match=f"HUB_{name} must be"):
            load_config(Flask("check", instance_path=str(tmp_path)), {name: refused[name]})


def test_postgresql_urls_as_hosting_platforms_give_them_are_read_with_the_installed_driver(tmp_path):
    """``postgres://`` was refused as "not a 'postgres' database" and ``postgresql://`` as naming a
    driver that is not installed (psycopg2), though both mean the PostgreSQL the hub runs on."""
    from flask import Flask

    from hub.config import load_config

    for given in ("postgres://hub:p%40ss@db.example.com:5432/hub", "postgresql://hub:p%40ss@db.example.com:5432/hub"):
        app = Flask("check", instance_path=str(tmp_path))
        load_config(app, {"DATABASE_URL": given})
        assert app.config["DATABASE_URL"] == "postgresql+psycopg://hub:p%40ss@db.example.com:5432/hub"


def test_the_connection_pool_is_sized_by_settings(tmp_path):
    from hub.extensions import db

    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "DB_POOL_SIZE": 3,
                      "DB_MAX_OVERFLOW": 0, "DATABASE_URL": "postgresql+psycopg://hub@127.0.0.1:1/nowhere"})
    with app.app_context():  # no connection is made to read the pool's size
        assert (db.engine.pool.size(), db.engine.pool._max_overflow) == (3, 0)
    with pytest.raises(ConfigError, match=r"HUB_DB_POOL_SIZE must be a whole number \(more than 0\), not 0"):
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "DB_POOL_SIZE": 0})


def test_a_bad_url_is_not_repeated_in_the_message_as_it_may_hold_a_password(tmp_path, monkeypatch):
    for variable, value in {"HUB_DATABASE_URL": "mysql://hub:hunter2-secret@db/hub",
                            "HUB_REDIS_URL": "http://:hunter2-secret@redis:6379/0"}.items():
        monkeypatch.setenv(variable, value)
        with pytest.raises(ConfigError, match=variable) as raised:
            create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
        assert "hunter2" not in str(raised.value)
        monkeypatch.delenv(variable)


def test_the_plugin_allow_list_may_name_plugins_given_directly_but_not_unknown_ones(tmp_path):
    from hub.runtime import get_runtime
    from tests.support.plugins import Recorder

    config = {"INSTANCE_PATH": str(tmp_path), "EXTRA_PLUGINS": [("rec", Recorder())]}
    app = create_app({**config, "PLUGINS": "lever, rec"})
    assert get_runtime(app).registry.names() == ["lever", "rec"]
    with pytest.raises(ConfigError) as raised:
        create_app({**config, "PLUGINS": "levr,rec,nope"})
    message = str(raised.value)
    assert message.startswith("HUB_PLUGINS lists 'levr', 'nope', but no plugin of those names is installed "
                              "(installed: ")
    assert "lever" in message and "rec" in message


def test_json_logs_keep_the_exception_message_and_traceback(tmp_path, capsys):
    import json
    import logging

    create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "LOG_FORMAT": "json"})
    capsys.readouterr()
    try:
        raise ValueError("the vendor answered 418\nwith a second line")
    except ValueError:
        logging.getLogger("hub.test").error("delivery failed", exc_info=True, extra={"delivery_id": 7})
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1  # one object per line, the traceback's newlines escaped
    body = json.loads(lines[0])
    assert body["message"] == "delivery failed" and body["delivery_id"] == 7
    assert body["exc_type"] == "ValueError"
    assert body["exc_message"] == "the vendor answered 418\nwith a second line"
    assert body["traceback"].startswith("Traceback (most recent call last):")
    assert "test_json_logs_keep_the_exception_message_and_traceback" in body["traceback"]
    assert body["traceback"].endswith("ValueError: the vendor answered 418\nwith a second line")


def test_json_logs_cover_the_lines_huey_and_werkzeug_write_for_the_hub(tmp_path, capsys):
    import json
    import logging

    create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "LOG_FORMAT": "json"})
    capsys.readouterr()
    logging.getLogger("huey.consumer").info("Executing hub.tasks.run_delivery: 1f2e")  # per task: noise, dropped
    logging.getLogger("huey.consumer").error("Unhandled exception in task 1f2e")
    logging.getLogger("werkzeug").info('127.0.0.1 - - "GET /healthz HTTP/1.1" 200 -')
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(body["logger"], body["level"], body["message"]) for body in lines] == [
        ("huey.consumer", "error", "Unhandled exception in task 1f2e"),
        ("werkzeug", "info", '127.0.0.1 - - "GET /healthz HTTP/1.1" 200 -')]


def test_gunicorn_lines_take_the_json_format_when_the_hub_s_do(tmp_path):
    """``gunicorn.conf.py`` hands gunicorn's own loggers the hub's JSON format with
    ``HUB_LOG_FORMAT=json``, or ``HUB_ENV=production`` without ``HUB_LOG_FORMAT``, and leaves them
    alone otherwise; the same settings in the instance folder's ``hub.cfg`` count too, below the
    environment's."""
    import json
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    probe = ("import json, runpy, sys; from gunicorn.config import Config; from gunicorn.glogging import Logger; "
             "log = Logger(Config()); settings = runpy.run_path('gunicorn.conf.py'); "
             "settings['on_starting'](type('Server', (), {'log': log, 'master_name': 'Master', 'pidfile': None})()); "
             "log.error('Worker (pid:%s) was sent SIGKILL!', 42)")
    # keys and a public URL: on_starting also stops a master whose configuration cannot work
    # (tests/cli/test_setting_bounds.py), and production requires them
    keys = {"HUB_SECRET_KEY": "s" * 48, "HUB_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
            "HUB_PUBLIC_URL": "https://hub.example.com"}
    for settings, is_json in (({"HUB_LOG_FORMAT": "json"}, True), ({"HUB_LOG_FORMAT": "JSON"}, True),
                              ({"HUB_LOG_FORMAT": "text"}, False), ({"HUB_LOG_FORMAT": ""}, False),
                              ({"HUB_ENV": "production"}, True), ({"HUB_ENV": "embedded"}, False),
                              ({"HUB_ENV": "production", "HUB_LOG_FORMAT": "text"}, False)):
        answer = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60,
                                env={"PATH": "/usr/bin:/bin", **keys, **settings})
        if settings == {"HUB_LOG_FORMAT": ""}:  # refused, as by every hub command: the master stops, in text
            assert answer.returncode == 2 and answer.stderr.strip().splitlines()[-1].endswith(
                "[ERROR] Reason: HUB_LOG_FORMAT must be one of text, json, not ''"), answer.stderr
            continue
        assert answer.returncode == 0, answer.stderr
        line = answer.stderr.strip().splitlines()[-1]
        if is_json:
            body = json.loads(line)
            assert (body["logger"], body["level"]) == ("gunicorn.error", "error")
            assert body["message"] == "Worker (pid:42) was sent SIGKILL!"
        else:
            assert line.endswith("[ERROR] Worker (pid:42) was sent SIGKILL!")
    # the same choices written in the instance folder's hub.cfg, which the environment overrides
    for written, settings, is_json in (("LOG_FORMAT = 'json'\n", {}, True), ("ENV = 'production'\n", {}, True),
                                       ("ENV = 'production'\nLOG_FORMAT = 'text'\n", {}, False),
                                       ("LOG_FORMAT = 'json'\n", {"HUB_LOG_FORMAT": "text"}, False),
                                       ("LOG_FORMAT = 'text'\n", {"HUB_ENV": "production"}, False),
                                       ("this is not python\n", {}, False), ("", {"HUB_ENV": "production"}, True)):
        (tmp_path / "hub.cfg").write_text(written)
        answer = subprocess.run([sys.executable, "-c", probe], cwd=root, capture_output=True, text=True, timeout=60,
                                env={"PATH": "/usr/bin:/bin", "HUB_INSTANCE_PATH": str(tmp_path), **keys,
                                     **settings})
        line = answer.stderr.strip().splitlines()[-1]
        assert line.startswith("{") == is_json, (written, settings, line)
        if written.startswith("this is not python"):  # the master stops, saying why in the format asked for
            assert answer.returncode == 2 and "Reason: " in line and "hub.cfg, line 1 cannot be read" in line
        else:
            assert answer.returncode == 0, answer.stderr


def test_a_plugins_credentials_from_the_environment_are_taken_as_written(tmp_path, monkeypatch):
    """Flask reads HUB_* values as JSON: an OAuth client id of digits became an int, a secret
    "123e45" a float, "true" a boolean (found auditing docs/operations.md)."""
    monkeypatch.setenv("HUB_LEVER_CLIENT_ID", "12345678901234567890")
    monkeypatch.setenv("HUB_LEVER_CLIENT_SECRET", "123e45")
    monkeypatch.setenv("HUB_ACME_API_KEY", "true")
    monkeypatch.setenv("HUB_ACME_MAX_RATE", "12")  # a plugin's tunable is still a number
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert app.config["LEVER_CLIENT_ID"] == "12345678901234567890"
    assert app.config["LEVER_CLIENT_SECRET"] == "123e45"
    assert app.config["ACME_API_KEY"] == "true"
    assert app.config["ACME_MAX_RATE"] == 12


def test_a_nested_credential_from_the_environment_is_taken_as_written_where_flask_puts_it(tmp_path, monkeypatch):
    """Flask's ``__`` form nests a variable in a dict (HUB_ACME__API_KEY -> config["ACME"]["API_KEY"]);
    one whose last segment is named like a credential was still JSON-parsed there."""
    monkeypatch.setenv("HUB_LEVER__CLIENT_ID", "12345")
    monkeypatch.setenv("HUB_ACME__API_KEY", "0123")  # not JSON: a leading zero
    monkeypatch.setenv("HUB_ACME__OAUTH__CLIENT_SECRET", "123e45")
    monkeypatch.setenv("HUB_ACME_OAUTH__TOKEN_URL", "null")
    monkeypatch.setenv("HUB_ACME__MAX_RATE", "12")  # a nested tunable is still a number
    monkeypatch.setenv("HUB_ACME__KEY_ID__PAGE_SIZE", "50")  # only the last segment counts
    monkeypatch.setenv("HUB_ACME__ID", "7")  # "ID" alone is no credential suffix, as HUB_ID is not
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert app.config["LEVER"] == {"CLIENT_ID": "12345"}
    assert app.config["ACME"] == {"API_KEY": "0123", "OAUTH": {"CLIENT_SECRET": "123e45"}, "MAX_RATE": 12,
                                  "KEY_ID": {"PAGE_SIZE": 50}, "ID": 7}
    assert app.config["ACME_OAUTH"] == {"TOKEN_URL": "null"}
    # no flat copy under the variable's own name, which Flask never makes
    assert not [key for key in app.config if "__" in key]


def test_a_nested_credential_inside_a_text_setting_stops_the_hub(tmp_path, monkeypatch):
    """A text setting is taken as written, which replaces the group Flask made for a nested variable."""
    monkeypatch.setenv("HUB_PLUGINS", "{}")
    monkeypatch.setenv("HUB_PLUGINS__ACME_ID", "1")
    with pytest.raises(ConfigError, match="HUB_PLUGINS__ACME_ID sets a value inside HUB_PLUGINS, which holds a "
                                          "value, not a group of settings"):
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})


def test_logs_are_json_in_production_and_text_embedded_unless_the_setting_says(tmp_path, capsys, monkeypatch):
    """Issue 7: JSON in production. ``LOG_FORMAT`` (``HUB_LOG_FORMAT``) chooses either way."""
    import json
    import logging

    monkeypatch.delenv("HUB_ENV", raising=False)
    for n, (production, setting, variable, expected) in enumerate([
        (False, None, None, "text"),
        (True, None, None, "json"),
        ("hub.cfg", None, None, "json"),
        (True, "text", None, "text"),
        (True, None, "text", "text"),
        (False, None, "json", "json"),
    ]):
        instance = tmp_path / str(n)
        instance.mkdir()
        monkeypatch.delenv("HUB_LOG_FORMAT", raising=False)
        if variable:
            monkeypatch.setenv("HUB_LOG_FORMAT", variable)
        config = {"INSTANCE_PATH": str(instance), "LOAD_ENTRY_POINTS": False}
        if production:
            config.update(PUBLIC_URL="https://hub.example.com", SECRET_KEY="s" * 48,
                          ENCRYPTION_KEYS=Fernet.generate_key().decode(),
                          DATABASE_URL="sqlite:///" + str(instance / "x.db"))
            if production == "hub.cfg":
                (instance / "hub.cfg").write_text("ENV = 'production'\n")
            else:
                config["ENV"] = "production"
        if setting:
            config["LOG_FORMAT"] = setting
        case = (production, setting, variable)
        app = create_app(config)
        assert app.config["LOG_FORMAT"] == expected, case
        capsys.readouterr()
        logging.getLogger("hub.test").warning("which format")
        line = capsys.readouterr().err.strip().splitlines()[-1]
        if expected == "json":
            assert json.loads(line)["message"] == "which format", case
        else:
            assert line.endswith(" WARNING hub.test: which format"), case


def test_json_log_timestamps_are_utc_with_milliseconds_and_a_zone(tmp_path, capsys, monkeypatch):
    """``ts`` was the host's local time to the second, without a zone."""
    import json
    import logging
    import time
    from datetime import datetime, timezone

    monkeypatch.setenv("TZ", "America/New_York")  # a local time that is not UTC
    time.tzset()
    try:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "LOG_FORMAT": "json"})
        capsys.readouterr()
        moment = datetime(2026, 11, 30, 2, 41, 7, 123456, tzinfo=timezone.utc).timestamp()
        monkeypatch.setattr(time, "time", lambda: moment)  # logging stamps a record with time.time()
        monkeypatch.setattr(time, "time_ns", lambda: int(moment * 1e9))
        logging.getLogger("hub.test").warning("stamped")
    finally:
        monkeypatch.undo()
        time.tzset()
    assert json.loads(capsys.readouterr().err.splitlines()[-1])["ts"] == "2026-11-30T02:41:07.123Z"


def test_an_error_huey_repeats_is_logged_at_most_once_a_minute(tmp_path, capsys):
    """With Redis down, each consumer thread logged "Error reading from queue" with a traceback at
    each poll: about 8 lines a second."""
    import logging

    create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    capsys.readouterr()
    worker = logging.getLogger("huey.consumer.Worker")
    for _ in range(20):
        try:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        except ConnectionError:
            worker.exception("Error reading from queue")
    logging.getLogger("huey.consumer.Scheduler").error("Error reading schedule.")  # another message: its own line
    lines = capsys.readouterr().err.splitlines()
    assert sum("Error reading from queue" in line for line in lines) == 1
    assert sum(line.startswith("Traceback") for line in lines) == 1
    assert "Error reading schedule." in lines[-1]


def test_a_bad_value_in_hub_cfg_is_reported_as_a_key_of_hub_cfg(tmp_path, monkeypatch):
    """It was reported as ``HUB_WORKERS must be ...``, a variable that was not set."""
    monkeypatch.delenv("HUB_WORKERS", raising=False)
    (tmp_path / "hub.cfg").write_text('WORKERS = "abc"\n')
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(raised.value) == f"WORKERS in {tmp_path / 'hub.cfg'} must be a whole number (more than 0), not 'abc'"
    monkeypatch.setenv("HUB_WORKERS", "xyz")  # the environment's value replaces hub.cfg's: it is the one named
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(raised.value) == "HUB_WORKERS must be a whole number (more than 0), not 'xyz'"


def test_a_hub_prefixed_key_in_hub_cfg_stops_the_hub_saying_to_drop_the_prefix(tmp_path):
    """``HUB_WORKERS = 3`` in hub.cfg was silently ignored."""
    (tmp_path / "hub.cfg").write_text("HUB_WORKERS = 3\n")
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(raised.value) == (f"{tmp_path / 'hub.cfg'} sets HUB_WORKERS, which the hub does not read: keys in "
                                 "hub.cfg have no HUB_ prefix (only environment variables do). Write it as WORKERS = ...")


def test_hub_cfg_keys_without_the_prefix_are_read(tmp_path, monkeypatch):
    monkeypatch.delenv("HUB_WORKERS", raising=False)
    (tmp_path / "hub.cfg").write_text("WORKERS = 3\n")
    assert create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False}).config["WORKERS"] == 3


def test_the_sweeper_s_failed_enqueues_are_logged_at_most_once_a_minute(tmp_path, capsys):
    """With Redis down, every sweeper pass (5 s, in each worker) logged "could not enqueue" with a
    traceback; the deliveries are safe in the database, one line a minute says so."""
    import logging

    from hub.engine import queue  # noqa: F401  (installs the filter)

    create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    capsys.readouterr()
    log = logging.getLogger("hub.engine.queue")
    for n in range(12):
        try:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        except ConnectionError:
            log.exception("could not enqueue deliveries %s; the sweeper will pick them up", [n])
    lines = capsys.readouterr().err.splitlines()
    assert sum("could not enqueue deliveries" in line for line in lines) == 1
    assert sum(line.startswith("Traceback") for line in lines) == 1


def test_a_different_exception_under_the_same_message_is_logged(tmp_path, capsys):
    """Huey logs every failing task as "Unhandled exception in task %s.": a KeyError after an
    OperationalError is another error, and was held back as one "more like it"."""
    import logging

    create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    capsys.readouterr()
    log = logging.getLogger("huey")
    for error in (RuntimeError("database is locked"), RuntimeError("database is locked"), KeyError("stage")):
        try:
            raise error
        except Exception:
            log.exception("Unhandled exception in task %s.", "run_delivery")
    err = capsys.readouterr().err
    assert err.count("Unhandled exception in task run_delivery.") == 2
    assert "KeyError: 'stage'" in err and err.count("RuntimeError: database is locked") == 1
    for n in range(5):  # the same kind of error naming another id each time is the same error
        try:
            raise RuntimeError(f"delivery {n} is locked")
        except RuntimeError:
            log.exception("Unhandled exception in task %s.", "run_delivery")
    assert capsys.readouterr().err == ""


def test_every_setting_that_cannot_work_is_named_in_one_start_up(tmp_path, monkeypatch):
    """It stopped at the first: an operator fixed one setting per attempt."""
    (tmp_path / "hub.cfg").write_text("HUB_LEASE_SECONDS = 3\nLOG_FORMAT = 'xml'\n")
    monkeypatch.setenv("HUB_WORKERS", "abc")
    monkeypatch.setenv("HUB_REDIS_URL", "http://cache:6379")
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "ENV": "production",
                    "PUBLIC_URL": "https://hub.example.com", "ENCRYPTION_KEYS": Fernet.generate_key().decode()})
    problems = raised.value.problems
    assert len(problems) == 5, problems
    assert problems[0].startswith(f"{tmp_path / 'hub.cfg'} sets HUB_LEASE_SECONDS, which the hub does not read")
    assert "HUB_WORKERS must be a whole number (more than 0), not 'abc'" in problems
    assert any(p.startswith(f"LOG_FORMAT in {tmp_path / 'hub.cfg'} must be one of") for p in problems)
    assert any(p.startswith("HUB_SECRET_KEY is missing") for p in problems)
    assert any(p.startswith("HUB_REDIS_URL must be a Redis URL") for p in problems)
    message = str(raised.value)
    assert message.startswith("the configuration has 5 problems:\n")
    assert [line[2:] for line in message.splitlines()[1:]] == problems


def test_the_cli_lists_every_bad_setting_one_per_line(tmp_path):
    import subprocess
    import sys

    env = {**os.environ, "HUB_INSTANCE_PATH": str(tmp_path), "HUB_WORKERS": "abc", "HUB_LEASE_SECONDS": "-1"}
    done = subprocess.run([sys.executable, "-m", "hub", "worker"], env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "Error: the configuration has 2 problems:",
        "- HUB_WORKERS must be a whole number (more than 0), not 'abc'",
        "- HUB_LEASE_SECONDS must be a number (more than 0), not -1",
    ]


def test_an_unknown_mode_stops_before_anything_is_written_for_either_mode(tmp_path, monkeypatch):
    """With ``HUB_ENV=prod`` (a typo), the embedded hub's keys were generated into the instance
    folder while the problems were being gathered."""
    monkeypatch.setenv("HUB_WORKERS", "abc")
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False, "ENV": "prod"})
    assert raised.value.problems == ["HUB_ENV must be one of embedded, production, not 'prod'",
                                     "HUB_WORKERS must be a whole number (more than 0), not 'abc'"]
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_start_refused_for_its_plugins_writes_no_key_file(tmp_path):
    """The plugins are checked after the configuration is read: HUB_PLUGINS naming none installed
    left secret_key and encryption_keys in the instance folder (a review)."""
    with pytest.raises(ConfigError, match="nosuchplugin"):
        create_app({"INSTANCE_PATH": str(tmp_path), "PLUGINS": "nosuchplugin"})
    assert not (tmp_path / "secret_key").exists() and not (tmp_path / "encryption_keys").exists()


@pytest.mark.parametrize("line, said", [
    ("SECRET_KEY = Sup3rSecretValue", "a text without quotes"),
    ('SECRET_KEY = "Sup3rSecretValue', "not Python (unterminated string literal (detected at line 2))"),
    ("SECRET_KEY = 1 / 0", "Python cannot run it (ZeroDivisionError)"),
])
def test_a_hub_cfg_that_is_not_python_is_named_with_its_line_and_never_its_values(tmp_path, line, said):
    """An unquoted value in hub.cfg stopped the hub with "Error: NameError: name 'Sup3rSecretValue'
    is not defined", naming neither the file nor the line (an operator's walk-through), and quoting
    the value, here a secret (a review)."""
    (tmp_path / "hub.cfg").write_text(f"WORKERS = 8\n{line}\n")
    with pytest.raises(ConfigError) as raised:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(raised.value) == (f"{tmp_path / 'hub.cfg'}, line 2 cannot be read: {said}. hub.cfg is Python: write "
                                 'texts in quotes, e.g. PUBLIC_URL = "https://hub.example.com"')
    assert "Sup3rSecret" not in str(raised.value)


@pytest.mark.parametrize("value", ["", "   ", "two words", "hub*", "-leading-dash", "x" * 101])
def test_a_queue_name_that_names_nothing_apart_is_refused(tmp_path, monkeypatch, value):
    """An empty ``HUB_QUEUE_NAME`` was accepted; the Redis keys of the queue and the rate limiter
    start with it, so it must be a plain name."""
    monkeypatch.setenv("HUB_QUEUE_NAME", value)
    with pytest.raises(ConfigError) as info:
        create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert str(info.value) == (f"HUB_QUEUE_NAME must be a name of 1 to 100 letters, digits and . _ : - (starting with "
                               f"a letter or digit), e.g. ats-hub, not {value!r}")


@pytest.mark.parametrize("value", ["ats-hub", "hub_2.prod:eu", " spaced-around ", "x" * 100])
def test_a_plain_queue_name_is_taken_without_surrounding_spaces(tmp_path, monkeypatch, value):
    monkeypatch.setenv("HUB_QUEUE_NAME", value)
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_ENTRY_POINTS": False})
    assert app.config["QUEUE_NAME"] == value.strip()


def test_a_hub_cfg_that_is_a_folder_is_refused_not_ignored(tmp_path):
    """Flask reads a missing settings file as no settings, and a folder of that name too: the
    settings the operator meant to put there were silently not used."""
    instance = tmp_path / "instance"
    (instance / "hub.cfg").mkdir(parents=True)
    with pytest.raises(ConfigError) as info:
        create_app({"INSTANCE_PATH": str(instance), "LOAD_ENTRY_POINTS": False})
    assert str(info.value).startswith(f"{instance / 'hub.cfg'} is a folder, not a file: ")
    assert "Remove the folder or make it a file." in str(info.value)


def test_only_a_production_process_without_a_database_url_is_told_it_lacks_one(tmp_path, monkeypatch):
    """`HUB_DATABASE_URL` defaults to the instance folder's SQLite file, in production too; that is
    said (``unset_database_in_production``) where an empty database would otherwise ask for `hub init`."""
    from hub.config import unset_database_in_production

    monkeypatch.delenv("HUB_DATABASE_URL", raising=False)
    production = {"ENV": "production", "SECRET_KEY": "s" * 48, "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
                  "PUBLIC_URL": "https://hub.example.com", "LOAD_ENTRY_POINTS": False}
    unset = create_app({**production, "INSTANCE_PATH": str(tmp_path / "a")})
    said = unset_database_in_production(unset)
    assert said.startswith(f"HUB_DATABASE_URL is not set, so this hub process uses the SQLite database in its "
                           f"instance folder ({tmp_path / 'a' / 'hub.db'}), not the one the other hub processes share")
    given = create_app({**production, "INSTANCE_PATH": str(tmp_path / "b"),
                        "DATABASE_URL": "sqlite:///" + str(tmp_path / "b.db")})
    embedded = create_app({"INSTANCE_PATH": str(tmp_path / "c"), "LOAD_ENTRY_POINTS": False})
    assert unset_database_in_production(given) is None and unset_database_in_production(embedded) is None
