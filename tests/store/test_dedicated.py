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


def test_a_statement_waiting_past_the_statement_timeout_gives_up_with_sqlalchemys_error(engine):
    """A commit blocked by a lock (a migration holding the table) must not hold its webhook's
    sender indefinitely: the statement gives up, as ``OperationalError`` (answered 503)."""
    table = f"dedicated_timeout_{os.getpid()}_{threading.get_ident()}"
    with engine.begin() as setup:
        setup.execute(sa.text(f"CREATE TABLE {table} (id integer)"))
    connections = DedicatedConnections(engine, statement_timeout=0.2)
    outcome = {}

    def blocked():
        try:
            with connections.use() as connection:
                connection.execute(f"INSERT INTO {table} VALUES (1)")
            outcome["result"] = "inserted"
        except Exception as exc:  # noqa: BLE001 - recorded for the assertion
            outcome["result"] = exc

    try:
        with engine.connect() as holder:
            holder.execute(sa.text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
            worker = threading.Thread(target=blocked)
            worker.start()
            worker.join(60)  # without a timeout it would wait for the lock until the holder ends
            finished = not worker.is_alive()
            holder.rollback()
        worker.join(60)
        assert finished, "the statement kept waiting for the lock"
        assert isinstance(outcome["result"], sa.exc.OperationalError), outcome
        assert "statement timeout" in str(outcome["result"])
        with connections.use() as fresh:  # the next use gets a working connection, with the timeout
            assert fresh.execute("SHOW statement_timeout").fetchone() == ("200ms",)
    finally:
        connections.close()
        with engine.begin() as cleanup:
            cleanup.execute(sa.text(f"DROP TABLE {table}"))
