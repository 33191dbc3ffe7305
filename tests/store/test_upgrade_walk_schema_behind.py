"""From an upgrade walk: a web process of the new version started before ``hub db upgrade`` (gunicorn
does not refuse, docs/operations.md) answers ``/readyz`` with 503 naming both revisions, but a page
or an API call that reads what the upgrade adds answered "the database is unavailable; retry later"
on SQLite (a missing column is an OperationalError there, taken for an outage) and a 500 with a
traceback in the log on PostgreSQL (UndefinedColumn). Both now answer 503 with /readyz's sentence:
what to run, not a database that is fine said to be down."""

import logging

import pytest

from hub.extensions import db

PASSWORD = "Walk-Passw0rd-123"
BEHIND = "c41d9e7a2b68"  # before api_tokens.issued_by_id and invitations.search_text


@pytest.fixture
def behind(make_app, tmp_path):
    """An app at the newest schema with a Super Admin and a token, its database then taken back to
    ``BEHIND``, as a database the new version's web process meets before the upgrade."""
    from flask_migrate import downgrade

    from hub import services
    from hub.store.models import SUPER_ADMIN
    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_behind") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'behind.db'}"}, entry_points=False)
        with app.app_context():
            admin, _ = services.create_user(1, "admin@example.com", SUPER_ADMIN, password=PASSWORD, actor="test")
            token = services.create_api_token(admin, "script")
            db.session.commit()
            db.session.remove()
            downgrade(directory=app.extensions["migrate"].directory, revision=BEHIND)
            db.session.remove()
        yield app, token
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _head(app) -> str:
    from hub.store import schema

    with app.app_context():
        return schema.head(app)


def test_an_api_call_on_a_database_not_upgraded_yet_says_to_run_the_upgrade(behind, caplog):
    app, token = behind
    client = app.test_client()
    assert client.get("/readyz").status_code == 503
    with caplog.at_level(logging.ERROR):
        answer = client.get("/api/v1/invitations", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 503, answer.get_data(as_text=True)
    message = answer.get_json()["error"]["message"]
    assert message == f"the database schema is at {BEHIND}, the code needs {_head(app)}: run `hub db upgrade`"
    logged = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not [r for r in logged if r.exc_info], "no traceback for a schema the upgrade has not reached"
    assert any("run `hub db upgrade`" in r.getMessage() for r in logged), [r.getMessage() for r in logged]


def test_a_page_on_a_database_not_upgraded_yet_says_to_run_the_upgrade(behind):
    app, _ = behind
    client = app.test_client()
    signed_in = client.post("/sign-in", data={"email": "admin@example.com", "password": PASSWORD})
    assert signed_in.status_code == 302
    page = client.get("/candidates")
    text = page.get_data(as_text=True)
    assert page.status_code == 503, text[:500]
    # the error page says it as a sentence
    assert f"The database schema is at {BEHIND}, the code needs {_head(app)}: run `hub db upgrade`." in text
    assert "unavailable" not in text


def test_once_upgraded_the_same_process_answers(behind):
    from flask_migrate import upgrade

    app, token = behind
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/invitations", headers=headers).status_code == 503
    with app.app_context():
        upgrade(directory=app.extensions["migrate"].directory)
        db.session.remove()
    assert client.get("/api/v1/invitations", headers=headers).status_code == 200
    assert client.get("/readyz").status_code == 200


def test_a_webhook_on_a_database_not_upgraded_yet_is_answered_503_saying_so(make_app, tmp_path):
    """The sender retries (503), and the webhook is stored once the upgrade has run."""
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _fresh_postgres_database
    from tests.support.engine import enable
    from tests.support.plugins import FakeSource

    with _fresh_postgres_database("hub_test_behind_hook") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'behind-hook.db'}"},
                       plugins=[("src", FakeSource())], entry_points=False)
        key = enable(app, "src")["src"]
        directory = app.extensions["migrate"].directory
        with app.app_context():
            db.session.remove()
            downgrade(directory=directory, revision=BEHIND)  # before webhook_log.body_digest
            db.session.remove()
        client = app.test_client()
        answer = client.post(f"/webhooks/src/{key}", data=b'{"id": "e1"}')
        assert answer.status_code == 503, answer.get_data(as_text=True)
        assert answer.get_json()["error"]["message"] == (
            f"the database schema is at {BEHIND}, the code needs {_head(app)}: run `hub db upgrade`")
        with app.app_context():
            upgrade(directory=directory)
            db.session.remove()
        assert client.post(f"/webhooks/src/{key}", data=b'{"id": "e1"}').status_code == 200
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
