"""From an upgrade walk: a database migrated by the version of 8236add (the first of migration
9c3e5a7b1d42, before commit 53f2476 added ``ix_invitations_workspace_id`` to it) and then
upgraded to the newest version lacked that index for good: Alembic runs a migration once, and the
models' metadata and the migrated schema differed (an autogenerate diff of one ``add_index``). On
this run's backend (a PostgreSQL database of its own when the run uses PostgreSQL)."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.extensions import db
from hub.store.models import include_in_autogenerate

COMPARE = {"compare_type": True, "include_name": include_in_autogenerate}


def _indexes(connection) -> set:
    return {index["name"] for index in sa.inspect(connection).get_indexes("invitations")}


def test_a_database_migrated_by_9c3e5a7b1d42_s_first_version_gets_its_index(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_edited") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'edited.db'}"}, entry_points=False)
        directory = app.extensions["migrate"].directory
        with app.app_context():
            db.session.remove()
            downgrade(directory=directory, revision="9c3e5a7b1d42")
            with db.engine.begin() as connection:  # 9c3e5a7b1d42 as 8236add shipped it: no such index
                connection.execute(sa.text("DROP INDEX ix_invitations_workspace_id"))
            upgrade(directory=directory)
            with db.engine.connect() as connection:
                assert "ix_invitations_workspace_id" in _indexes(connection)
                assert compare_metadata(MigrationContext.configure(connection, opts=COMPARE), db.metadata) == []
            db.session.remove()
            db.engine.dispose()


def test_a_database_that_has_the_index_upgrades_and_downgrades_as_before(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_edited_had") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'had.db'}"}, entry_points=False)
        directory = app.extensions["migrate"].directory
        with app.app_context():
            db.session.remove()
            downgrade(directory=directory, revision="e8c2f5a1b974")
            with db.engine.connect() as connection:
                assert "ix_invitations_workspace_id" in _indexes(connection)
            upgrade(directory=directory)
            downgrade(directory=directory, revision="6a2d9c1e4b70")  # 9c3e5a7b1d42's downgrade drops it
            with db.engine.connect() as connection:
                assert "ix_invitations_workspace_id" not in _indexes(connection)
            upgrade(directory=directory)
            with db.engine.connect() as connection:
                assert compare_metadata(MigrationContext.configure(connection, opts=COMPARE), db.metadata) == []
            db.session.remove()
            db.engine.dispose()
