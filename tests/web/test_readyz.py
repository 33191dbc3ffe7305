"""``/readyz`` answers 503 on a database whose schema is not this version's (never migrated, or
behind), naming the revisions and what to run; a ready process reads the revision only once."""

import uuid
from pathlib import Path

from cryptography.fernet import Fernet

from hub.app import create_app


def _unmigrated_app(tmp_path: Path):
    return create_app({"INSTANCE_PATH": str(tmp_path / "instance"), "SECRET_KEY": "k-" + uuid.uuid4().hex,
                       "ENCRYPTION_KEYS": Fernet.generate_key().decode(), "PUBLIC_URL": "http://hub.test",
                       "DATABASE_URL": "sqlite:///" + str(tmp_path / "empty.db"), "LOAD_ENTRY_POINTS": False})


def _migrate(app, revision: str = "head") -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory, revision=revision)


def _head(app) -> str:
    from alembic.script import ScriptDirectory

    return ScriptDirectory(app.extensions["migrate"].directory).get_current_head()


def test_an_empty_database_is_not_ready_and_says_to_run_hub_init(tmp_path):
    app = _unmigrated_app(tmp_path)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"]["database"] == "ok"
    assert answer.json["checks"]["schema"] == (f"the database has no tables yet (no migration), the code needs "
                                               f"{_head(app)}: run `hub init`")


def test_a_database_behind_a_migration_is_not_ready_until_it_is_upgraded(tmp_path):
    app = _unmigrated_app(tmp_path)
    _migrate(app, "5b0e2c6a9f41")
    client = app.test_client()
    behind = client.get("/readyz")
    assert behind.status_code == 503 and behind.json["status"] == "not_ready"
    assert behind.json["checks"]["schema"] == (f"the database schema is at 5b0e2c6a9f41, the code needs "
                                               f"{_head(app)}: run `hub db upgrade`")
    _migrate(app)  # a not-ready answer is not kept: the next probe reads the revision again
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json["checks"] == {"database": "ok", "schema": "ok", "secrets": "ok", "queue": "ok"}


def test_a_ready_process_reads_the_schema_revision_once(app, monkeypatch):
    from alembic.runtime.migration import MigrationContext

    client = app.test_client()
    assert client.get("/readyz").status_code == 200

    def unread(*args, **kwargs):
        raise AssertionError("the revision was read again")

    monkeypatch.setattr(MigrationContext, "configure", unread)
    again = client.get("/readyz")
    assert again.status_code == 200 and again.json["checks"]["schema"] == "ok"


def test_healthz_answers_whatever_the_schema(tmp_path):
    assert _unmigrated_app(tmp_path).test_client().get("/healthz").status_code == 200


def test_a_database_ahead_of_the_code_says_a_newer_version_migrated_it(tmp_path):
    """A deploy rolled back after the newer version migrated: 'run hub db upgrade' was wrong advice."""
    import sqlalchemy as sa

    from hub.extensions import db

    app = _unmigrated_app(tmp_path)
    _migrate(app)
    with app.app_context():
        db.session.execute(sa.text("UPDATE alembic_version SET version_num = 'f00dfeed1234'"))
        db.session.commit()
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 503
    assert answer.json["checks"]["schema"] == (
        f"the database schema is at f00dfeed1234, which this code does not know: a newer version of the hub "
        f"migrated it (this code needs {_head(app)}); run that version, or `hub db downgrade {_head(app)}` with it")


def test_a_process_not_ready_yet_reads_the_migration_scripts_once(tmp_path, monkeypatch):
    """Each probe parsed every migration file again (about 30 ms) while the schema was behind."""
    from alembic.script import ScriptDirectory

    app = _unmigrated_app(tmp_path)
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    built = []
    original = ScriptDirectory.__init__

    def counting(self, *args, **kwargs):
        built.append(1)
        original(self, *args, **kwargs)

    monkeypatch.setattr(ScriptDirectory, "__init__", counting)
    for _ in range(3):
        assert client.get("/readyz").status_code == 503
    assert built == []


def test_a_queue_outage_is_reported_but_keeps_the_process_in_the_load_balancer(app, monkeypatch):
    """Without Redis a web process still stores webhooks: a 503 would have the load balancer take
    every web process out and refuse them (an operator's walk-through found /readyz did)."""
    from hub.runtime import get_runtime

    def unreachable():
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(get_runtime(app).queue, "ping", unreachable)
    answer = app.test_client().get("/readyz")
    assert answer.status_code == 200 and answer.json["status"] == "degraded"
    assert answer.json["checks"] == {"database": "ok", "schema": "ok", "secrets": "ok",
                                    "queue": "unavailable: ConnectionError"}
