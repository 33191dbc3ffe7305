"""Multi-row INSERTs for the ingest hot path: one statement however many rows.

``insert_rows(connection, table, rows, returning=..., skip_conflicts=...)`` inserts ``rows``
(dicts with the same keys) and returns the ``returning`` columns of the rows inserted.

- PostgreSQL: ``INSERT ... SELECT * FROM unnest(%(c0)b::type[], ...)``, one array parameter per
  column, sent in binary (text arrays would be escaped element by element). The SQL text is the same for 1 row or 100, so psycopg parses it once and the server
  plans it once (a multi-row ``VALUES`` has a new text for every row count, and parsing that text
  cost more than running it).
- SQLite: SQLAlchemy's multi-row insert (SQLite parses nothing in Python).

Values go through each column's SQLAlchemy bind processing (UTC datetimes, JSON), as with any
other write. ``skip_conflicts`` adds ``ON CONFLICT DO NOTHING``: rows that collide with a unique
index are left out, and out of the returned rows.
"""

from __future__ import annotations

from typing import Any, Sequence

import sqlalchemy as sa

_POSTGRES_SQL: dict[tuple, tuple[str, list]] = {}


def insert_rows(connection: sa.Connection, table: sa.Table, rows: Sequence[dict[str, Any]], *,
                returning: Sequence[str] = (), skip_conflicts: bool = False) -> list[tuple]:
    if not rows:
        return []
    columns = tuple(rows[0])
    if connection.dialect.name == "postgresql":
        sql, processors = _postgres_statement(connection.dialect, table, columns, tuple(returning), skip_conflicts)
        arrays = {f"c{n}": [row[name] for row in rows] if processor is None else
                  [processor(row[name]) for row in rows]
                  for n, (name, processor) in enumerate(zip(columns, processors))}
        # the DBAPI cursor of the same connection and transaction: SQLAlchemy's result wrapper
        # would cost more than the statement
        cursor = connection.connection.cursor()
        try:
            cursor.execute(sql, arrays)
            return [tuple(row) for row in cursor.fetchall()] if returning else []
        finally:
            cursor.close()
    statement = sa.insert(table)
    if skip_conflicts:
        from sqlalchemy.dialects.sqlite import insert

        statement = insert(table).on_conflict_do_nothing()
    if returning:
        return [tuple(row) for row in connection.execute(statement.returning(*(table.c[n] for n in returning)),
                                                          list(rows))]
    connection.execute(statement, list(rows))
    return []


def _postgres_statement(dialect, table: sa.Table, columns: tuple[str, ...], returning: tuple[str, ...],
                        skip_conflicts: bool) -> tuple[str, list]:
    key = (table.name, columns, returning, skip_conflicts)
    cached = _POSTGRES_SQL.get(key)
    if cached is None:
        quote = dialect.identifier_preparer.quote
        types = [table.c[name].type for name in columns]
        arrays = ", ".join(f"%(c{n})b::{column_type.compile(dialect=dialect)}[]" for n, column_type in enumerate(types))
        sql = (f"INSERT INTO {quote(table.name)} ({', '.join(quote(c) for c in columns)}) "
               f"SELECT * FROM unnest({arrays})"
               + (" ON CONFLICT DO NOTHING" if skip_conflicts else "")
               + (f" RETURNING {', '.join(quote(c) for c in returning)}" if returning else ""))
        processors = [column_type.dialect_impl(dialect).bind_processor(dialect) for column_type in types]
        cached = _POSTGRES_SQL[key] = (sql, processors)
    return cached
