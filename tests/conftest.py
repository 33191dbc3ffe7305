"""Shared fixtures (flaskr style): ``make_app``, ``app``, ``client``, ``runner``, ``workspace``.

The suite runs on SQLite by default (a fresh file per test) and on PostgreSQL when
``HUB_TEST_DATABASE_URL`` (or ``HUB_DATABASE_URL``) names one: then a database of its own is
created for the session, migrated once, and emptied after every test.
"""

from __future__ import annotations

import os
import uuid

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.testing import make_test_app

TEST_KEYS = Fernet.generate_key().decode()


def _postgres_url() -> str | None:
    url = os.environ.get("HUB_TEST_DATABASE_URL") or os.environ.get("HUB_DATABASE_URL")
    return url if url and url.startswith("postgresql") else None


@pytest.fixture(scope="session")
def postgres_database():
    """A fresh PostgreSQL database for this test session, or None on SQLite."""
    base = _postgres_url()
    if base is None:
        yield None
        return
    url = sa.engine.make_url(base)
    name = f"hub_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    test_url = url.set(database=name).render_as_string(hide_password=False)
    migrated = {"done": False}
    yield {"url": test_url, "migrated": migrated}
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


def _truncate_all(app) -> None:
    from hub.extensions import db

    with app.app_context():
        tables = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
        db.session.execute(sa.text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        db.session.commit()


@pytest.fixture
def make_app(tmp_path, postgres_database):
    """Build an app with overrides; the database is migrated and holds one workspace (id 1)."""
    apps = []

    def factory(overrides: dict | None = None, plugins: list | None = None, entry_points: bool = True):
        migrate = (postgres_database is None or not postgres_database["migrated"]["done"]
                   or "DATABASE_URL" in (overrides or {}))
        app = make_test_app(tmp_path, {"ENCRYPTION_KEYS": TEST_KEYS, **(overrides or {})}, plugins or [],
                            entry_points, postgres_database["url"] if postgres_database else None, migrate)
        if postgres_database:
            postgres_database["migrated"]["done"] = True
        apps.append(app)
        return app

    yield factory
    for app in apps:
        from hub.extensions import db

        with app.app_context():
            db.session.remove()
            db.engine.dispose()
    if postgres_database and apps:
        _truncate_all(apps[0])
        with apps[0].app_context():
            from hub.extensions import db

            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app(entry_points=False)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()
