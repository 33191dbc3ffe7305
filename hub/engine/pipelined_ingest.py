"""Storing a batch of webhooks on PostgreSQL in two round trips (the webhook ingress's fast path).

Through a SQLAlchemy session a batch costs about ten round trips to the server: the pool's
ping (``BEGIN``, ``SELECT 1``), the read of the integrations, one statement per table, the
commit. Each costs the web process CPU (psycopg's protocol handling, a wait, taking the GIL
back from the request threads), and under load a batch holds only a few webhooks, so that cost
is not spread thin. Here psycopg's pipeline mode sends each step's statements together, on a
connection of the ingress's own (``hub.store.dedicated``):

1. ``reserve``: ``BEGIN``; read the batch's integrations; insert the dedupe keys (``ON
   CONFLICT DO NOTHING RETURNING``); take ids from the events' and deliveries' sequences for
   as many rows as the batch could create.
2. The caller decides in Python what is new and where it goes, with the same code as the
   session path (``hub.engine.ingest.claim`` and ``plan``), and numbers the rows with the ids.
3. ``write_and_commit``: insert the rows (events, deliveries, log lines), update the
   integrations' "last seen", ``COMMIT``.

Nothing is visible to anyone before the commit, as on the session path. Any error leaves the
transaction uncommitted; the caller closes the connection (``DedicatedConnections.use``).
Batches holding events the hub acts on itself (invitations, a deleted candidate) take the
session path, which locks invitation rows (``hub.engine.ingest.has_owned_effects``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple, Sequence

import sqlalchemy as sa

from hub.store.bulk import postgres_insert


class IntegrationRow(NamedTuple):
    """What the ingress reads of an integration (as ``hub.engine.ingest.workspace_integrations``)."""

    id: int
    workspace_id: int
    plugin: str
    enabled: bool
    webhook_key: str
    updated_at: datetime | None


@dataclass
class Reservation:
    integrations: list[IntegrationRow]
    inserted_keys: set[tuple]
    event_ids: list[int]
    delivery_ids: list[int]


_INTEGRATIONS_SQL = ("SELECT id, workspace_id, plugin, enabled, webhook_key, updated_at FROM integrations "
                     "WHERE workspace_id = ANY(%s)")
_TAKE_IDS_SQL = "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s::integer)"
_SEEN_SQL = "UPDATE integrations SET last_webhook_at = %s WHERE id = %s"
_SEEN_AND_VERIFIED_SQL = "UPDATE integrations SET last_webhook_at = %s, verified_at = %s WHERE id = %s"


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else value.replace(tzinfo=timezone.utc)  # stored as naive UTC


def _naive(value: datetime) -> datetime:
    return value.astimezone(timezone.utc).replace(tzinfo=None)


def reserve(connection, dialect, workspace_ids: Sequence[int], keys_table: sa.Table, key_rows: Sequence[dict],
            key_columns: Sequence[str], events: int, deliveries: int) -> Reservation:
    """Round trip 1: begin, read the integrations of ``workspace_ids``, insert ``key_rows``
    (skipping conflicts) and take ``events`` and ``deliveries`` ids."""
    with connection.pipeline():
        connection.execute("BEGIN")
        integrations = connection.execute(_INTEGRATIONS_SQL, (sorted(set(workspace_ids)),))
        keys = connection.cursor()
        if key_rows:
            postgres_insert(keys, dialect, keys_table, key_rows, returning=key_columns, skip_conflicts=True)
        event_ids = connection.execute(_TAKE_IDS_SQL, ("events", events)) if events else None
        delivery_ids = connection.execute(_TAKE_IDS_SQL, ("deliveries", deliveries)) if deliveries else None
    rows = [IntegrationRow(id_, workspace, plugin, enabled, key, _aware(updated))
            for id_, workspace, plugin, enabled, key, updated in integrations.fetchall()]
    return Reservation(rows, {tuple(row) for row in keys.fetchall()} if key_rows else set(),
                       [row[0] for row in event_ids.fetchall()] if event_ids else [],
                       [row[0] for row in delivery_ids.fetchall()] if delivery_ids else [])


def write_and_commit(connection, dialect, inserts: Sequence[tuple[sa.Table, Sequence[dict]]],
                     seen: Sequence[tuple[int, bool]], now: datetime) -> None:
    """Round trip 2: insert each table's rows (in order), mark each ``(integration id,
    verified)`` of ``seen`` as seen at ``now`` (and verified), and commit."""
    with connection.pipeline():
        for table, rows in inserts:
            if rows:
                postgres_insert(connection.cursor(), dialect, table, rows)
        for integration_id, verified in seen:
            if verified:
                connection.execute(_SEEN_AND_VERIFIED_SQL, (_naive(now), _naive(now), integration_id))
            else:
                connection.execute(_SEEN_SQL, (_naive(now), integration_id))
        connection.execute("COMMIT")
