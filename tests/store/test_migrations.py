"""One Alembic history: it runs on SQLite and PostgreSQL (whichever this run uses) and agrees
with the models (no pending autogenerate diff)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.extensions import db


def test_models_and_migrations_agree(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
    assert diff == []


def test_migrations_are_at_head(app):
    from alembic.script import ScriptDirectory

    with app.app_context():
        directory = app.extensions["migrate"].directory
        config = app.extensions["migrate"].migrate.get_config(directory)
        head = ScriptDirectory.from_config(config).get_current_head()
        with db.engine.connect() as connection:
            current = MigrationContext.configure(connection).get_current_revision()
    assert current == head is not None


def test_the_tables_that_grow_with_traffic_take_ids_beyond_32_bits(app):
    import sqlalchemy as sa

    from hub.store.models import Delivery, Event, utcnow

    beyond = 2**31 + 5
    with app.app_context():
        if db.engine.dialect.name == "postgresql":  # the sequence itself must count past 2^31
            db.session.execute(sa.text("SELECT setval(pg_get_serial_sequence('events', 'id'), :value)"),
                               {"value": beyond})
        else:
            db.session.add(Event(id=beyond, workspace_id=1, source_plugin="src", type="t", external_id="first",
                                 payload={}))
            db.session.flush()
        event = Event(workspace_id=1, source_plugin="src", type="t", external_id="second", payload={})
        db.session.add(event)
        db.session.flush()
        delivery = Delivery(event_id=event.id, workspace_id=1, plugin="p", hook="h", next_attempt_at=utcnow())
        db.session.add(delivery)
        db.session.commit()
        assert event.id == beyond + 1
        assert db.session.get(Delivery, delivery.id, populate_existing=True).event_id == beyond + 1
