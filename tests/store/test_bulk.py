"""Multi-row inserts of the ingest path, on the database under test (SQLite or PostgreSQL)."""

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from hub.extensions import db
from hub.store.bulk import insert_rows
from hub.store.models import Event, EventKey


def test_insert_rows_converts_values_and_returns_the_inserted_rows(app):
    when = datetime(2026, 11, 28, 12, 0, tzinfo=timezone(timedelta(hours=2)))
    rows = [{"workspace_id": 1, "source_plugin": "src", "type": "stage_change", "external_id": f"e-{n}",
             "subject": None if n == 2 else f"opp-{n}", "payload": {"n": n, "nested": ["x", None]},
             "outcome": "delivered", "received_at": when} for n in range(3)]
    with app.app_context():
        returned = insert_rows(db.session.connection(), Event.__table__, rows, returning=("id", "external_id"))
        db.session.commit()
        assert sorted(x for _, x in returned) == ["e-0", "e-1", "e-2"]
        stored = {e.external_id: e for e in db.session.scalars(sa.select(Event))}
        assert {e.id for e in stored.values()} == {i for i, _ in returned}
        assert stored["e-1"].payload == {"n": 1, "nested": ["x", None]}
        assert stored["e-2"].subject is None
        assert stored["e-0"].received_at == when  # stored as UTC, read back as the same instant


def test_skip_conflicts_leaves_out_and_does_not_return_rows_already_there(app):
    now = datetime.now(timezone.utc)

    def key(name):
        return {"workspace_id": 1, "source_plugin": "src", "key": name, "seen_at": now}

    with app.app_context():
        connection = db.session.connection()
        first = insert_rows(connection, EventKey.__table__, [key("a"), key("b")], skip_conflicts=True,
                            returning=("key",))
        second = insert_rows(connection, EventKey.__table__, [key("b"), key("c")], skip_conflicts=True,
                             returning=("key",))
        db.session.commit()
        assert sorted(first) == [("a",), ("b",)]
        assert second == [("c",)]
        assert sorted(db.session.scalars(sa.select(EventKey.key))) == ["a", "b", "c"]


def test_no_rows_is_no_statement(app):
    with app.app_context():
        assert insert_rows(db.session.connection(), Event.__table__, [], returning=("id",)) == []
