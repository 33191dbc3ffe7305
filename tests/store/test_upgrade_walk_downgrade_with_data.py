"""From an upgrade walk: ``hub db downgrade`` (docs/operations.md, *Upgrading*, step 4) on a
database in use, not an empty one. On SQLite a migration written as a batch copies its table and
drops the old one, which a table holding rows that reference it refuses (``FOREIGN KEY constraint
failed: DROP TABLE users``): going back from the newest version to one before 3d8a6f1e2b57 stopped
half way. On this run's backend (a PostgreSQL database of its own when the run uses PostgreSQL)."""

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.extensions import db
from hub.store.models import include_in_autogenerate

TABLES = ("users", "api_tokens", "audit_log", "integrations", "attachments", "invitations", "timeline")


def _fill(workspace_id: int) -> None:
    """A workspace in use: users that audit entries, a token, an integration and an attachment
    refer to; an invitation with timeline entries."""
    from hub import services
    from hub.engine.invitations import add_timeline
    from hub.store.models import SUPER_ADMIN, Attachment, Integration, Invitation

    admin, _ = services.create_user(workspace_id, "admin@example.com", SUPER_ADMIN, password="Walk-Passw0rd-123",
                                    name="Admin", actor="test")
    db.session.commit()
    services.create_user(workspace_id, "ada@example.com", "admin", password="Walk-Passw0rd-123", name="Ada",
                         actor=admin)
    services.create_api_token(admin, "script")
    db.session.add(Integration(workspace_id=workspace_id, plugin="fake", enabled=True, enabled_by_id=admin.id,
                               webhook_key="k" * 40))
    attachment = Attachment(workspace_id=workspace_id, posting_id="p1", posting_name="P", stage_id="s1",
                            stage_name="S", provider="fake", assessment_id="a1", assessment_name="A", options={},
                            created_by_id=admin.id)
    db.session.add(attachment)
    db.session.flush()
    invitation = Invitation(workspace_id=workspace_id, attachment_id=attachment.id, opportunity_id="o1",
                            candidate_name="Alice Anders", provider="fake", assessment_id="a1",
                            assessment_name="A", status="invited")
    db.session.add(invitation)
    db.session.flush()
    add_timeline(db.session, invitation, "invited", "fake", "invited")
    db.session.commit()


def _counts(connection) -> dict:
    return {table: connection.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() for table in TABLES}


def test_a_database_in_use_downgrades_to_the_first_schema_and_upgrades_again(make_app, tmp_path):
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_down_data") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'in-use.db'}"}, entry_points=False)
        directory = app.extensions["migrate"].directory
        with app.app_context():
            _fill(1)
            with db.engine.connect() as connection:
                before = _counts(connection)
            assert all(before.values()), before
            db.session.remove()
            downgrade(directory=directory, revision="e764903a3146")  # the oldest schema a rollback goes to
            with db.engine.connect() as connection:
                assert MigrationContext.configure(connection).get_current_revision() == "e764903a3146"
                assert _counts(connection) == before
            upgrade(directory=directory)
            with db.engine.connect() as connection:
                assert _counts(connection) == before
                diff = compare_metadata(MigrationContext.configure(
                    connection, opts={"compare_type": True, "include_name": include_in_autogenerate}), db.metadata)
            assert diff == []
            db.session.remove()
            db.engine.dispose()
