"""The webhook ingress's own connections (PostgreSQL): lent one at a time, reused, replaced once
broken, and their errors raised as SQLAlchemy's. Runs against the real server in both runs."""

import os
import threading

import pytest
import sqlalchemy as sa

from hub.store.dedicated import DedicatedConnections

PG = os.environ.get("HUB_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def engine():
    engine = sa.create_engine(PG, pool_pre_ping=True)
    yield engine
    engine.dispose()


def _backend_pid(connection) -> int:
    return connection.execute("SELECT pg_backend_pid()").fetchone()[0]


def test_a_connection_is_reused_and_lent_in_autocommit_mode(engine):
    connections = DedicatedConnections(engine)
    with connections.use() as first:
        assert first.autocommit
        pid = _backend_pid(first)
    with connections.use() as again:
        assert _backend_pid(again) == pid
    connections.close()
    assert first.closed


def test_concurrent_users_get_different_connections(engine):
    connections = DedicatedConnections(engine)
    inside, release, pids = threading.Barrier(2), threading.Event(), []

    def borrow():
        with connections.use() as connection:
            pids.append(_backend_pid(connection))
            inside.wait(5)
            release.wait(5)

    threads = [threading.Thread(target=borrow) for _ in range(2)]
    for thread in threads:
        thread.start()
    release.set()
    for thread in threads:
        thread.join(10)
    assert len(set(pids)) == 2
    connections.close()


def test_a_connection_left_in_a_transaction_is_not_lent_again(engine):
    connections = DedicatedConnections(engine)
    with connections.use() as connection:
        connection.execute("BEGIN")
        pid = _backend_pid(connection)
    assert connection.closed
    with connections.use() as fresh:
        assert _backend_pid(fresh) != pid
    connections.close()


def test_a_connection_the_server_dropped_raises_sqlalchemys_error_once_then_is_replaced(engine):
    connections = DedicatedConnections(engine)
    with connections.use() as connection:
        pid = _backend_pid(connection)
    with engine.connect() as admin:
        admin.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    with pytest.raises(sa.exc.OperationalError) as raised:
        with connections.use() as broken:
            broken.execute("SELECT 1")
    assert raised.value.connection_invalidated
    with connections.use() as fresh:
        assert _backend_pid(fresh) != pid
        assert fresh.execute("SELECT 1").fetchone() == (1,)
    connections.close()


def test_disposing_the_engine_closes_them(engine):
    connections = DedicatedConnections(engine)
    with connections.use() as connection:
        pass
    engine.dispose()
    assert connection.closed
