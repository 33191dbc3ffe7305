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

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NamedTuple, Sequence

import sqlalchemy as sa



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


def _aware(value: str | None) -> datetime | None:
    """A timestamp as PostgreSQL's JSON writes it (naive UTC, as stored) -> an aware datetime."""
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=timezone.utc)


def _json_value(value):
    if isinstance(value, datetime):  # UTC columns store naive UTC (``hub.store.models.UTCDateTime``)
        return value.astimezone(timezone.utc).replace(tzinfo=None).isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _json(rows) -> str:
    return json.dumps(rows, default=_json_value, allow_nan=False, separators=(",", ":"))


_STATEMENTS: dict[tuple, str] = {}


def _rows_from_json(dialect, table: sa.Table, columns: Sequence[str], param: str) -> str:
    """``SELECT <columns> FROM json_to_recordset(%(param)s::json) AS x(<columns and types>)``:
    a batch's rows as one JSON text (encoded in C, parsed by the server), where arrays of
    binary values would cost psycopg's Python array dumper per value."""
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    typed = ", ".join(f"{quote(c)} {table.c[c].type.compile(dialect=dialect)}" for c in columns)
    return f"SELECT {names} FROM json_to_recordset(%({param})s::json) AS x({typed})"


def _reserve_sql(dialect, keys_table: sa.Table, key_columns: tuple[str, ...]) -> str:
    key = ("reserve", keys_table.name, key_columns)
    if key not in _STATEMENTS:
        quote = dialect.identifier_preparer.quote
        columns = (*key_columns, "seen_at")
        returned = ", ".join(quote(c) for c in key_columns)
        _STATEMENTS[key] = (
            # keys go in sorted: two batches sharing keys take their index entries in the same order
            f"WITH keys AS (INSERT INTO {quote(keys_table.name)} ({', '.join(quote(c) for c in columns)}) "
            f"{_rows_from_json(dialect, keys_table, columns, 'keys')} ORDER BY {returned} "
            f"ON CONFLICT DO NOTHING RETURNING {returned}) "
            "SELECT (SELECT coalesce(json_agg(json_build_array(id, workspace_id, plugin, enabled, webhook_key, "
            "updated_at)), '[]') FROM integrations WHERE workspace_id = ANY(%(workspaces)s::integer[])), "
            f"(SELECT coalesce(json_agg(json_build_array({returned})), '[]') FROM keys), "
            "(SELECT coalesce(json_agg(nextval(pg_get_serial_sequence('events', 'id'))), '[]') "
            "FROM generate_series(1, %(events)s::integer)), "
            "(SELECT coalesce(json_agg(nextval(pg_get_serial_sequence('deliveries', 'id'))), '[]') "
            "FROM generate_series(1, %(deliveries)s::integer))")
    return _STATEMENTS[key]


def reserve(connection, dialect, workspace_ids: Sequence[int], keys_table: sa.Table, key_rows: Sequence[dict],
            key_columns: Sequence[str], events: int, deliveries: int) -> Reservation:
    """Round trip 1: begin, read the integrations of ``workspace_ids``, insert ``key_rows``
    (skipping conflicts) and take ``events`` and ``deliveries`` ids; one statement."""
    with connection.pipeline():
        connection.execute("BEGIN")
        cursor = connection.execute(_reserve_sql(dialect, keys_table, tuple(key_columns)), {
            "keys": _json(list(key_rows)),
            "workspaces": sorted(set(workspace_ids)), "events": events, "deliveries": deliveries})
    integrations, inserted, event_ids, delivery_ids = cursor.fetchone()
    rows = [IntegrationRow(id_, workspace, plugin, enabled, key, _aware(updated))
            for id_, workspace, plugin, enabled, key, updated in integrations]
    return Reservation(rows, {tuple(row) for row in inserted}, event_ids, delivery_ids)


def _write_sql(dialect, inserts: Sequence[tuple[sa.Table, tuple[str, ...]]]) -> str:
    key = ("write", tuple((table.name, columns) for table, columns in inserts))
    if key not in _STATEMENTS:
        quote = dialect.identifier_preparer.quote
        parts = [f"i{n} AS (INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
                 f"{_rows_from_json(dialect, table, columns, f'rows{n}')})"
                 for n, (table, columns) in enumerate(inserts)]
        # "last seen" (and "verified") of the batch's integrations; ``updated_at`` stays, so
        # verifications cached against it stay valid
        parts.append("seen AS (UPDATE integrations SET last_webhook_at = %(now)s::timestamp, verified_at = "
                     "CASE WHEN s.verified THEN %(now)s::timestamp ELSE integrations.verified_at END "
                     "FROM json_to_recordset(%(seen)s::json) AS s(id integer, verified boolean) "
                     "WHERE integrations.id = s.id)")
        _STATEMENTS[key] = "WITH " + ", ".join(parts) + " SELECT 1"
    return _STATEMENTS[key]


def write_and_commit(connection, dialect, inserts: Sequence[tuple[sa.Table, Sequence[dict]]],
                     seen: Sequence[tuple[int, bool]], now: datetime) -> None:
    """Round trip 2: insert each table's rows, mark each ``(integration id, verified)`` of
    ``seen`` as seen at ``now`` (and verified), in one statement; and commit. Rows referring to
    rows of another table in the same statement (a delivery's event) are checked at its end."""
    present = [(table, rows) for table, rows in inserts if rows]
    sql = _write_sql(dialect, [(table, tuple(rows[0])) for table, rows in present])
    params = {f"rows{n}": _json(list(rows)) for n, (_, rows) in enumerate(present)}
    params.update(now=_json_value(now), seen=_json([{"id": i, "verified": v} for i, v in seen]))
    with connection.pipeline():
        connection.execute(sql, params)
        connection.execute("COMMIT")
