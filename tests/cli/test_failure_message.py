"""The one line `hub` prints for a database error, by what the database said."""

import pytest
import sqlalchemy as sa

from hub.cli import NO_TABLES, SCHEMA_BEHIND, failure_message


@pytest.mark.parametrize("error, said", [
    (sa.exc.OperationalError("SELECT", None, Exception("no such column: deliveries.waiting_since")), SCHEMA_BEHIND),
    (sa.exc.OperationalError("INSERT", None, Exception("table api_tokens has no column named issued_by_id")),
     SCHEMA_BEHIND),
    (sa.exc.ProgrammingError("SELECT", None, Exception("column deliveries.waiting_since does not exist")),
     SCHEMA_BEHIND),
    # PostgreSQL's wording for an INSERT or UPDATE: it read as "no tables yet: run hub init"
    (sa.exc.ProgrammingError("INSERT", None,
                             Exception('column "issued_by_id" of relation "api_tokens" does not exist')),
     SCHEMA_BEHIND),
    (sa.exc.ProgrammingError("SELECT", None, Exception('relation "deliveries" does not exist')), NO_TABLES),
    (sa.exc.OperationalError("SELECT", None, Exception("no such table: deliveries")), NO_TABLES),
])
def test_a_schema_behind_the_code_says_upgrade_and_no_tables_says_init(error, said):
    assert failure_message(error) == said


def test_an_unreachable_database_is_named_with_the_drivers_reason():
    """"the database cannot be reached (check HUB_DATABASE_URL)" gave neither host nor port nor why."""
    reason = Exception('connection failed: connection to server at "127.0.0.1", port 5439 failed: Connection '
                       'refused\n\tIs the server running on that host and accepting TCP/IP connections?')
    assert failure_message(sa.exc.OperationalError("connect", None, reason)) == (
        'the database cannot be reached (check HUB_DATABASE_URL): connection failed: connection to server at '
        '"127.0.0.1", port 5439 failed: Connection refused')
