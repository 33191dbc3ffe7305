"""The database unavailable during ingest: the webhook gets 503 (so the sender retries), never 200
and never a crash; the hub recovers by itself when the database returns. Real PostgreSQL behind a
TCP proxy that the test cuts."""

import json
import logging
import os
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from hub import hookimpl
from hub.engine.runner import run_delivery
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Event
from tests.support.engine import drain, enable, one_delivery
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
def test_every_webhook_gets_503_while_the_database_is_down_not_only_the_first(make_app, proxied_database, caplog,
                                                                            monkeypatch):
    """The first webhook of the outage breaks the ingress's open connection; the next ones must
    open another, and that failing is the same outage: 503 each, never a 500. The outage is
    logged once, not once per refused webhook."""
    from hub.logging_setup import RepeatLimiter
    from hub.web import errors

    monkeypatch.setattr(errors.outage_log, "filters", [RepeatLimiter()])  # nothing held from an earlier test
    proxy, url = proxied_database
    app = make_app({"DATABASE_URL": url, "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}},
                   plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")
    client = app.test_client()
    assert client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": "before"})).status_code == 200

    proxy.cut()
    with caplog.at_level(logging.INFO, logger="hub.web"):
        for number in range(3):
            during = client.post(f"/webhooks/src/{keys['src']}", data=json.dumps({"id": f"during-{number}"}))
            assert (during.status_code, during.json["error"]["code"]) == (503, "unavailable"), (number, during.json)
    outage = [r.getMessage() for r in caplog.records if r.getMessage().startswith("database unavailable")]
    assert len(outage) == 1 and outage[0].startswith("database unavailable: OperationalError ("), outage

    proxy.restore()
    for number in range(3):
        assert client.post(f"/webhooks/src/{keys['src']}",
                           data=json.dumps({"id": f"during-{number}"})).json["status"] == "accepted"


class CutsTheDatabaseAsItReturns(Recorder):
    """An assessment plugin whose vendor call succeeds just as the database goes away: the hook
    cuts the proxy before it returns and restores it ``outage`` seconds later (``None``: never)."""

    def __init__(self, proxy: TcpProxy, outage: float | None):
        super().__init__("Cuts the database")
        self.proxy, self.outage = proxy, outage

    @hookimpl
    def on_stage_change(self, ctx, change):
        with self.lock:
            self.calls.append(change)
        self.proxy.cut()
        if self.outage is not None:
            threading.Timer(self.outage, self.proxy.restore).start()


def _outage_app(make_app, url, plugin, lease_seconds):
    app = make_app({"DATABASE_URL": url, "LEASE_SECONDS": lease_seconds,
                    "SQLALCHEMY_ENGINE_OPTIONS": {"connect_args": {"connect_timeout": 2}}},
                   plugins=[("src", FakeSource()), ("cut", plugin)], entry_points=False)
    keys = enable(app, "src", "cut")
    return app, keys


@pytest.mark.slow
def test_an_outcome_the_outage_kept_from_being_recorded_is_recorded_once_the_database_is_back(
        make_app, proxied_database, caplog):
    """The vendor call succeeded, then the database went away for 1.5 s: the worker records "done"
    when it returns, with the same lease and attempt, instead of leaving the delivery to run
    (and call the vendor) again once its lease has run out."""
    proxy, url = proxied_database
    plugin = CutsTheDatabaseAsItReturns(proxy, outage=1.5)
    app, keys = _outage_app(make_app, url, plugin, lease_seconds=60)
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        with caplog.at_level(logging.INFO, logger="hub.engine.runner"):
            outcome = run_delivery(get_runtime(), delivery_id)
        assert outcome == "done"
        row = db.session.get(Delivery, delivery_id)
        assert (row.status, row.attempts, row.lease_token) == ("done", 1, None)
        db.session.rollback()
    assert len(plugin.calls) == 1  # the vendor was called once
    waits = [r.getMessage() for r in caplog.records if "could not record the outcome" in r.getMessage()]
    assert len(waits) == 1 and "the database is unavailable" in waits[0], waits  # one line, not one per try
    assert any("once the database was back" in r.getMessage() for r in caplog.records)


@pytest.mark.slow
def test_an_outage_longer_than_the_lease_leaves_the_delivery_to_run_again(make_app, proxied_database):
    """Still away after ``HUB_LEASE_SECONDS``: the worker gives up (the error is raised, as a Huey
    task's failure) and the delivery stays running until the sweeper takes it over."""
    proxy, url = proxied_database
    plugin = CutsTheDatabaseAsItReturns(proxy, outage=None)
    app, keys = _outage_app(make_app, url, plugin, lease_seconds=1.5)
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        started = time.monotonic()
        with pytest.raises(sa.exc.OperationalError):
            run_delivery(get_runtime(), delivery_id)
        waited = time.monotonic() - started
        proxy.restore()
        db.session.rollback()
        row = db.session.get(Delivery, delivery_id)
        assert (row.status, row.attempts) == ("running", 1)
        assert row.lease_token is not None
        db.session.rollback()
    assert 0.5 < waited < 10, waited  # it tried again for about the lease, then gave up


def test_a_failure_that_is_no_outage_is_not_retried_when_recording(make_app, monkeypatch):
    """A deadlock (SQLSTATE 40P01) while recording is raised at once: the outcome's write is
    retried only for an outage."""
    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    keys = enable(app, "src", "rec")

    class Deadlock(Exception):
        sqlstate = "40P01"

    calls = []
    with app.app_context():
        delivery_id = one_delivery(app, keys["src"])
        real_execute = db.session.execute

        def execute(statement, *args, **kwargs):
            if str(statement).startswith("UPDATE deliveries") and "finished_at" in str(statement):  # the outcome
                calls.append(statement)
                raise sa.exc.OperationalError("UPDATE deliveries", {}, Deadlock("deadlock detected"))
            return real_execute(statement, *args, **kwargs)

        monkeypatch.setattr(db.session, "execute", execute)
        with pytest.raises(sa.exc.OperationalError):
            run_delivery(get_runtime(), delivery_id)
    assert len(calls) == 1
