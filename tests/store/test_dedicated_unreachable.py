"""The webhook ingress's own connections when the database cannot be reached at all: opening one
raises SQLAlchemy's ``OperationalError`` (answered 503 by the ingress), as using a broken one does,
not the driver's own error (answered 500). Needs no server: nothing listens on the port."""

import pytest
import sqlalchemy as sa

from hub.store.dedicated import DedicatedConnections
from tests.support.processes import free_port


@pytest.fixture
def unreachable_engine():
    engine = sa.create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/postgres",
                              connect_args={"connect_timeout": 2})
    yield engine
    engine.dispose()


def test_a_database_that_cannot_be_reached_raises_sqlalchemys_operational_error(unreachable_engine):
    connections = DedicatedConnections(unreachable_engine)
    for _ in range(2):  # each use tries to open one afresh, and fails alike
        with pytest.raises(sa.exc.OperationalError) as raised:
            with connections.use():
                pass
        assert raised.value.connection_invalidated


def test_a_connection_whose_setup_fails_is_closed_not_leaked(unreachable_engine, monkeypatch):
    """The database may go away between connecting and ``SET statement_timeout``: the connection
    just opened is closed before the error goes on (nothing keeps it)."""
    closed = []

    class Raw:
        autocommit = False
        closed = False

        def execute(self, statement):
            raise OSError("the server closed the connection")

    class Proxied:
        dbapi_connection = Raw()

        def detach(self):
            pass

        def close(self):
            closed.append(True)

    monkeypatch.setattr(unreachable_engine, "raw_connection", Proxied)
    connections = DedicatedConnections(unreachable_engine, statement_timeout=5)
    with pytest.raises(OSError):
        with connections.use():
            pass
    assert closed == [True]
