"""The application factory. Nothing is computed at import time; everything hangs off the app."""

from __future__ import annotations

import importlib
import os
from typing import Any, Mapping

import sqlalchemy as sa
from flask import Flask

from hub.config import ConfigError, default_instance_path, ensure_embedded_keys, load_config
from hub.extensions import csrf, db, login_manager, migrate


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the hub: configuration, database, plugins, queue, web blueprints, CLI.

    ``config`` overrides everything else (tests pass a mapping). Raises ``hub.config.ConfigError``
    in production mode when a key is missing, and ``PluginLoadError`` when a plugin is broken.
    """
    instance_path = (config or {}).get("INSTANCE_PATH") or default_instance_path()
    # no /static route: the UI's assets are served under /assets by its blueprint
    app = Flask("hub", instance_path=os.path.abspath(instance_path), instance_relative_config=True,
                static_folder=None)
    load_config(app, config)

    from hub.logging_setup import configure_logging

    configure_logging(app)
    _init_database(app)
    migrate.init_app(app, db, directory=_migrations_dir())
    csrf.init_app(app)
    login_manager.init_app(app)

    from hub.plugins.manager import build_registry
    from hub.runtime import HubRuntime
    from hub.engine.queue import init_queue

    allow = _csv(app.config.get("PLUGINS"))
    extra_plugins = _extra_plugins(app.config)
    use_entry_points = bool(app.config.get("LOAD_ENTRY_POINTS", True))
    registry = build_registry(
        allow=allow,
        extra_plugins=extra_plugins,
        trace=bool(app.config.get("TRACE_HOOKS")),
        use_entry_points=use_entry_points,
    )
    if allow and use_entry_points:
        _check_allow_list(allow, registry.names(), extra_plugins)
    ensure_embedded_keys(app)  # only now that nothing was refused: a refused start writes no key file
    runtime = HubRuntime(app, registry)
    app.extensions["hub"] = runtime
    init_queue(app, runtime)

    from hub.web import register_web

    register_web(app)
    _believe_trusted_proxies(app)
    from hub.cli import register_cli

    register_cli(app)
    return app


def _believe_trusted_proxies(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` proxies, the client's address and scheme are those the proxies
    forwarded (``X-Forwarded-For``, ``X-Forwarded-Proto``, the last that many hops): what plugins
    see as ``WebhookRequest.remote_addr`` and ``hub run``'s request log shows. With 0, the default,
    both are the connection's own, since a client can send those headers itself (werkzeug's
    ``ProxyFix``). Outermost, so every layer sees the forwarded values."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)  # type: ignore[method-assign]


def configuration_problem() -> str | None:
    """What would stop ``create_app()`` for its configuration, in words (the ``ConfigError`` message
    the ``hub`` command prints), or None. For gunicorn's master (``hub/gunicorn_conf.py``), which
    checks before it forks workers: each would otherwise fail in ``create_app`` with a traceback.
    It does not build the hub: no plugin is imported (the names of ``PLUGINS`` are compared with the
    installed entry points' and those ``EXTRA_PLUGIN_MODULES`` gives), no file is written and no
    database or queue is opened."""
    from hub.metrics import check_multiprocess_dir
    from hub.plugins import manager

    app = Flask("hub", instance_path=os.path.abspath(default_instance_path()), instance_relative_config=True,
                static_folder=None)
    try:
        load_config(app, None)
        check_multiprocess_dir()
        allow = _csv(app.config.get("PLUGINS"))
        if allow and app.config.get("LOAD_ENTRY_POINTS", True):
            given = [(item.partition("=")[0].strip(),) for item in _csv(app.config.get("EXTRA_PLUGIN_MODULES")) or []]
            installed = {ep.name for ep in manager.metadata.entry_points(group=manager.ENTRY_POINT_GROUP)}
            _check_allow_list(allow, sorted(installed | {name for name, in given}), given)
    except ConfigError as exc:
        return str(exc)
    return None


def _csv(value: Any) -> list[str] | None:
    if not value:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def _extra_plugins(config: Mapping[str, Any]) -> list[tuple]:
    """Plugins given directly: ``EXTRA_PLUGINS`` (name, object) pairs from tests, and
    ``EXTRA_PLUGIN_MODULES`` ("name=dotted.module" strings) for development without packaging, as
    (name, module, where it was given) triples."""
    plugins: list[tuple] = list(config.get("EXTRA_PLUGINS") or [])
    for item in _csv(config.get("EXTRA_PLUGIN_MODULES")) or []:  # the form is checked by load_config
        name, _, module = (part.strip() for part in item.partition("="))
        try:
            plugins.append((name, importlib.import_module(module), f"HUB_EXTRA_PLUGIN_MODULES ({name}={module})"))
        except ImportError as exc:
            raise ConfigError(f"HUB_EXTRA_PLUGIN_MODULES: the module {module!r} of plugin {name!r} cannot be "
                              f"imported: {exc}") from exc
    return plugins


def _check_allow_list(allow: list[str], loaded: list[str], extra_plugins: list[tuple]) -> None:
    """Every name of the ``PLUGINS`` allow-list is an installed plugin: a typo must stop start-up,
    not leave the hub running without the plugin. (Only when entry points are loaded: tests that
    turn them off may use an allow-list that matches nothing to load no plugin at all.)"""
    unknown = [name for name in dict.fromkeys(allow) if name not in loaded]
    if not unknown:
        return
    from hub.plugins import manager

    installed = sorted({ep.name for ep in manager.metadata.entry_points(group=manager.ENTRY_POINT_GROUP)}
                       | {name for name, *_ in extra_plugins})
    example = unknown[0] if len(unknown) == 1 else "NAME"
    # one line (the CLI prints it as its error): what is wrong, then how a plugin comes to be found
    raise ConfigError(f"HUB_PLUGINS lists {', '.join(map(repr, unknown))}, but no plugin of "
                      f"{'that name' if len(unknown) == 1 else 'those names'} is installed "
                      f"(installed: {', '.join(installed) or 'none'}). The hub finds a plugin through its "
                      f"`{manager.ENTRY_POINT_GROUP}` entry point once its distribution is installed where the hub "
                      f"runs (pip install -e DIR), or, without installing, through "
                      f"HUB_EXTRA_PLUGIN_MODULES={example}=package.module (its package importable, e.g. on "
                      f"PYTHONPATH). Or correct the name in HUB_PLUGINS.")


def _migrations_dir() -> str:
    import migrations

    return os.path.dirname(os.path.abspath(migrations.__file__))


def _init_database(app: Flask) -> None:
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    # hide_parameters: a failed statement's error (logged) must not quote its values, which can be
    # a webhook URL's key, a token or personal data
    options: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        options["connect_args"] = {"timeout": 30, "check_same_thread": False}
        os.makedirs(app.instance_path, exist_ok=True)
    else:
        options.update(pool_size=int(app.config["DB_POOL_SIZE"]), max_overflow=int(app.config["DB_MAX_OVERFLOW"]),
                       pool_recycle=1800)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {**options, **app.config.get("SQLALCHEMY_ENGINE_OPTIONS", {})}
    db.init_app(app)
    if url.startswith("sqlite"):
        with app.app_context():
            _sqlite_pragmas(db.engine)


def _sqlite_pragmas(engine: sa.Engine) -> None:
    """WAL for concurrent readers, a busy timeout, and BEGIN IMMEDIATE so two writers queue up
    instead of failing with "database is locked" when a reader upgrades to a writer.
    ``synchronous=FULL``: a commit returns once the WAL is flushed to disk. With NORMAL, WAL mode
    keeps a commit safe from a crash of the process but not of the machine (power loss), and a
    webhook is answered only once what it carries is durable (README.md, Guarantees, 1)."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's "begin" event issue BEGIN
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE")
