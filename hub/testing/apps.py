"""Building a hub app for tests: a migrated database with one workspace, plugins from entry points
and/or given objects, deliveries run inline (or on demand with ``run_deliveries``)."""

from __future__ import annotations

import atexit
import contextlib
import shutil
import sqlite3
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Iterable

from cryptography.fernet import Fernet
from jinja2 import BytecodeCache


def make_test_app(tmp_path: Path, overrides: dict[str, Any] | None = None,
                  plugins: Iterable[tuple[str, Any]] = (), entry_points: bool = True,
                  database_url: str | None = None, migrate: bool = True):
    """A hub app on a fresh SQLite file under ``tmp_path`` (or ``database_url``), migrated, with
    workspace 1. Deliveries run inline (``QUEUE_IMMEDIATE``) unless ``overrides`` say otherwise."""
    from hub.app import create_app

    config = {
        "INSTANCE_PATH": str(Path(tmp_path) / "instance"),
        "SECRET_KEY": "test-secret-key-" + uuid.uuid4().hex,
        "ENCRYPTION_KEYS": Fernet.generate_key().decode(),
        "QUEUE_IMMEDIATE": True,
        "WTF_CSRF_ENABLED": False,
        "PUBLIC_URL": "http://hub.test",
        "RETRY_BASE_SECONDS": 0.01,
        "RETRY_MAX_SECONDS": 0.05,
        "DATABASE_URL": database_url or "sqlite:///" + str(Path(tmp_path) / "hub.db"),
        "LOAD_ENTRY_POINTS": entry_points,
        "EXTRA_PLUGINS": list(plugins),
    }
    config.update(overrides or {})
    own_file = Path(tmp_path) / "hub.db"
    on_own_file = config["DATABASE_URL"] == "sqlite:///" + str(own_file)
    fresh = on_own_file and not own_file.exists()  # a file a test made before holds that test's data
    copied = migrate and fresh and _copy_migrated(own_file)
    app = create_app(config)
    # every test builds new apps, and each new app's Jinja environment would compile every page
    # it renders again: a fifth of the web tests' CPU. The compiled code is kept for the process.
    app.jinja_env.bytecode_cache = _TEMPLATE_CODE
    with app.app_context():
        from hub.cli.admin import upgrade_database
        from hub.services import default_workspace

        if migrate and not copied:
            upgrade_database()
            if fresh:
                _keep_migrated(own_file)
        default_workspace()
    return app


class _SharedTemplateCode(BytecodeCache):
    """Jinja's compiled templates kept in memory for every app of this process (Jinja checks each
    against its template's source). Keyed also by the environment's settings that change the
    code Jinja generates, so an app whose environment compiles differently never gets another's."""

    def __init__(self) -> None:
        self._code: dict[tuple, bytes] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _settings(env) -> tuple:
        # the objects themselves, not their id(): the key keeps them alive, so a freed function's
        # id reused by another can never match. Filters and tests count too: Jinja fixes at compile
        # time whether one takes the context, and folds one applied to a constant.
        def same(function):  # a bound method is a new object for every app: compare its function
            return getattr(function, "__func__", function)

        return (env.block_start_string, env.block_end_string, env.variable_start_string,
                env.variable_end_string, env.comment_start_string, env.comment_end_string,
                env.line_statement_prefix, env.line_comment_prefix, env.trim_blocks, env.lstrip_blocks,
                env.newline_sequence, env.keep_trailing_newline, tuple(sorted(env.extensions)),
                env.optimized, env.is_async, same(env.autoescape), same(env.finalize),
                frozenset((name, same(f)) for name, f in env.filters.items()),
                frozenset((name, same(f)) for name, f in env.tests.items()), env.code_generator_class)

    def load_bytecode(self, bucket) -> None:
        with self._lock:
            code = self._code.get((self._settings(bucket.environment), bucket.key))
        if code is not None:
            bucket.bytecode_from_string(code)  # (a checksum that differs leaves the bucket empty)

    def dump_bytecode(self, bucket) -> None:
        code = bucket.bytecode_to_string()
        with self._lock:
            self._code[(self._settings(bucket.environment), bucket.key)] = code


_TEMPLATE_CODE = _SharedTemplateCode()


# One empty SQLite database migrated to head, per process, which each new app's file starts as a
# copy of: running Alembic over a fresh file costs about as much as building the app itself, for
# every test. (The migrations cannot change while a process runs.)
_migrated: dict[str, Path] = {}
_migrated_lock = threading.Lock()  # apps may be built in several threads of one process


def _keep_migrated(database: Path) -> None:
    """Keep a copy of ``database``, just migrated and empty, for the next apps of this process."""
    with _migrated_lock:
        if "file" not in _migrated:
            folder = tempfile.mkdtemp(prefix="hub-migrated-")
            atexit.register(shutil.rmtree, folder, ignore_errors=True)  # removed when the process ends
            copy = Path(folder) / "migrated.db"
            _sqlite_copy(database, copy)
            _migrated["file"] = copy


def _copy_migrated(target: Path) -> bool:
    """Start ``target`` as a copy of the migrated database, if this process has one."""
    with _migrated_lock:
        if "file" not in _migrated:
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        # a plain copy: the kept file was written whole by SQLite's backup and is never opened again
        # (no WAL or journal beside it), so its bytes are the database (the backup API took ~3x as long)
        shutil.copyfile(_migrated["file"], target)
        return True


def _sqlite_copy(source: Path, target: Path) -> None:
    """SQLite's online backup (a plain file copy could miss what is still in the WAL)."""
    with contextlib.closing(sqlite3.connect(source)) as src, contextlib.closing(sqlite3.connect(target)) as dst:
        src.backup(dst)


def enable_plugins(app, *names: str, workspace_id: int = 1) -> dict[str, str]:
    """Enable plugins in a workspace; returns each one's webhook key."""
    from hub import services
    from hub.runtime import get_runtime

    with app.app_context():
        runtime = get_runtime()
        return {name: services.set_enabled(runtime, workspace_id, name, True, "test").webhook_key for name in names}


def run_deliveries(app, timeout: float = 10.0) -> None:
    """Run due deliveries in this thread until none is open (``AssertionError`` after ``timeout``)."""
    import sqlalchemy as sa

    from hub.engine.runner import run_delivery
    from hub.engine.sweeper import due_deliveries
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import D_OPEN, Delivery

    deadline = time.monotonic() + timeout
    with app.app_context():
        runtime = get_runtime()
        while True:
            for delivery_id in due_deliveries():
                run_delivery(runtime, delivery_id)
            open_count = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status.in_(D_OPEN)))
            db.session.rollback()
            if not open_count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{open_count} deliveries still open after {timeout}s")
            time.sleep(0.01)
