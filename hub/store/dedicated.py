"""Database connections kept open for one hot path, outside SQLAlchemy's pool.

A pooled connection is pinged at every checkout (``pool_pre_ping``, so that a restarted
database costs no request an error). With psycopg that ping is two round trips (``BEGIN``,
``SELECT 1``) before the transaction's own statements, which is more than the whole work of a
batch of webhooks stored in two round trips (``hub.engine.pipelined_ingest``). So the webhook
ingress keeps a few connections of its own:

- ``DedicatedConnections.use()`` lends one (a psycopg connection in autocommit mode: the caller
  sends ``BEGIN`` and ``COMMIT`` itself), opening it on first use from the engine's settings;
  at most as many exist as callers use them at once.
- A connection whose use raised anything is closed, never lent again: after a database restart
  the batch in flight fails (its webhooks answer 503, so their senders retry) and the next one
  opens a fresh connection. No ping is needed. The driver's errors, using a connection or
  opening one (the database still away: each webhook answers 503 too), are raised as SQLAlchemy's
  (``sqlalchemy.exc.OperationalError``...), as the engine raises them.
- ``statement_timeout`` (seconds, optional): no statement waits longer, for a lock or anything
  else; the caller then gets the driver's error (``OperationalError``) instead of waiting on.
- Fork-safe: a process that inherited the parent's connections opens its own.
- ``engine.dispose()`` closes them too, as it closes the pool's.
"""

from __future__ import annotations

import contextlib
import os
import threading
from typing import Iterator

import sqlalchemy as sa

_IDLE = 0  # psycopg.pq.TransactionStatus.IDLE: no transaction open


class DedicatedConnections:
    def __init__(self, engine, statement_timeout: float | None = None):
        self.engine = engine
        self.statement_timeout = statement_timeout
        self._lock = threading.Lock()
        self._idle: list = []
        self._pid = os.getpid()
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close())

    @contextlib.contextmanager
    def use(self) -> Iterator:
        """A psycopg connection (autocommit, no transaction open) for the duration of the block."""
        with self._lock:
            if self._pid != os.getpid():
                self._idle, self._pid = [], os.getpid()  # the parent's sockets are not ours to use
            proxied = self._idle.pop() if self._idle else None
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        if proxied is None or proxied.dbapi_connection.closed:
            try:
                proxied = self._open()
            except dbapi_error as exc:  # the pool raises the driver's own error: no connection to lend
                raise _as_sqlalchemy(exc, dbapi_error) from exc
        connection = proxied.dbapi_connection
        try:
            yield connection
        except dbapi_error as exc:
            proxied.close()
            raise _as_sqlalchemy(exc, dbapi_error) from exc
        except BaseException:
            proxied.close()
            raise
        if connection.closed or connection.info.transaction_status != _IDLE:
            proxied.close()
            return
        with self._lock:
            self._idle.append(proxied)

    def _open(self):
        # through the engine: its connect arguments and connect events apply
        proxied = self.engine.raw_connection()
        proxied.detach()  # ours from now on (closing it closes the connection); the pool opens another
        try:
            proxied.dbapi_connection.autocommit = True
            if self.statement_timeout:
                milliseconds = max(1, int(self.statement_timeout * 1000))
                proxied.dbapi_connection.execute(f"SET statement_timeout = {milliseconds}")
        except BaseException:  # the database went away just after connecting: lend nothing, keep nothing
            proxied.close()
            raise
        return proxied

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, []
        for proxied in idle:
            proxied.close()


def _as_sqlalchemy(exc: Exception, dbapi_error: type) -> sa.exc.DBAPIError:
    """The driver's ``exc`` as the engine raises it (``OperationalError`` when the database cannot be
    reached...), marked as a lost connection."""
    return sa.exc.DBAPIError.instance(None, None, exc, dbapi_error, connection_invalidated=True)
