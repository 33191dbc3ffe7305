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
