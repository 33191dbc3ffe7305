"""The database unavailable during ingest: the webhook gets 503 (so the sender retries), never 200
and never a crash; the hub recovers by itself when the database returns. Real PostgreSQL behind a
TCP proxy that the test cuts."""

import json
import os
import uuid

import pytest
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Event
from tests.support.engine import drain, enable
from tests.support.plugins import FakeSource, Recorder
from tests.support.tcpproxy import TcpProxy

PG = os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def proxied_database():
    url = sa.engine.make_url(PG)
    name = f"hub_outage_{uuid.uuid4().hex[:8]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
    yield proxy, url.set(database=name, host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    proxy.close()
    with admin.connect() as conn:
        conn.exec_driver_sql(
            f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}' AND pid <> pg_backend_pid()")
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}"')
    admin.dispose()


@pytest.mark.slow
def test_webhook_gets_503_while_the_database_is_down_and_the_hub_recovers(make_app, proxied_database):
    proxy, url = proxied_database
    recorder = Recorder()
    app = make_app({"DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}},
                   plugins=[("src", FakeSource()), ("rec", recorder)], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "before"})).status_code == 200

    proxy.cut()
    during = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "during"}))
    assert during.status_code == 503
    assert during.json["error"]["code"] == "unavailable"
    assert "retry" in during.json["error"]["message"]
    assert client.get("/readyz").status_code == 503

    proxy.restore()
    retried = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "during"}))
    assert retried.status_code == 200 and retried.json["status"] == "accepted"
    assert client.get("/readyz").status_code == 200
    drain(app)
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Event.external_id))) == ["before", "during"]
    assert len(recorder.calls) == 2


@pytest.mark.slow
def test_every_webhook_gets_503_while_the_database_is_down_not_only_the_first(make_app, proxied_database):
    """The first webhook of the outage breaks the ingress's open connection; the next ones must
    open another, and that failing is the same outage: 503 each, never a 500."""
    proxy, url = proxied_database
    app = make_app({"DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}},
                   plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "before"})).status_code == 200

    proxy.cut()
    for number in range(3):
        during = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": f"during-{number}"}))
        assert (during.status_code, during.json["error"]["code"]) == (503, "unavailable"), (number, during.json)

    proxy.restore()
    for number in range(3):
        assert client.post(f"/webhooks/src/{keys['src']}",
                           data=json.dumps({"id": f"during-{number}"})).json["status"] == "accepted"
