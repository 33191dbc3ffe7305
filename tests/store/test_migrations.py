"""One Alembic history: it runs on SQLite and PostgreSQL (whichever this run uses) and agrees
with the models (no pending autogenerate diff)."""

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from hub.extensions import db
from hub.store.models import include_in_autogenerate

# as migrations/env.py compares: the indexes only a migration makes are left out
COMPARE = {"compare_type": True, "include_name": include_in_autogenerate}


def test_models_and_migrations_agree(app):
    with app.app_context():
        with db.engine.connect() as connection:
            context = MigrationContext.configure(connection, opts=COMPARE)
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


def test_the_live_attachment_index_migration_detaches_existing_copies_keeping_the_oldest(make_app, tmp_path):
    """Before 5b0e2c6a9f41 an edit could make a second live copy of an attachment; upgrading
    detaches the later copies (the index could not be built otherwise) and keeps the first."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'copies.db'}"}, entry_points=False)
    directory = app.extensions["migrate"].directory
    row = {"workspace_id": 1, "posting_name": "P", "stage_name": "S", "provider": "canditech",
           "assessment_id": "a1", "assessment_name": "A", "options": "{}",
           "created_at": "2026-11-29 10:00:00", "updated_at": "2026-11-29 10:00:00"}
    insert = sa.text("INSERT INTO attachments (id, workspace_id, posting_id, posting_name, stage_id, stage_name, "
                     "provider, assessment_id, assessment_name, options, created_at, updated_at, detached_at) "
                     "VALUES (:id, :workspace_id, :posting_id, :posting_name, :stage_id, :stage_name, :provider, "
                     ":assessment_id, :assessment_name, :options, :created_at, :updated_at, :detached_at)")
    with app.app_context():
        downgrade(directory=directory, revision="d56baea343a7")
        with db.engine.begin() as connection:
            for id_, stage, detached in ((1, "s1", None), (2, "s1", None), (3, "s1", None),
                                         (4, "s2", None), (5, "s1", "2026-11-28 09:00:00")):
                connection.execute(insert, {**row, "id": id_, "posting_id": "p1", "stage_id": stage,
                                            "detached_at": detached})
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            live = connection.execute(sa.text(
                "SELECT id FROM attachments WHERE detached_at IS NULL ORDER BY id")).scalars().all()
            kept_history = connection.execute(sa.text(
                "SELECT detached_at FROM attachments WHERE id = 5")).scalar_one()
    assert live == [1, 4]  # the oldest copy on s1, and the only one on s2
    assert str(kept_history).startswith("2026-11-28 09:00")  # already detached: left as it was


def test_the_timeline_refs_migration_keeps_old_entries_without_refs_and_downgrades(make_app, tmp_path):
    """4f1c8a2d6e93 adds ``timeline.refs``: entries written before it keep their words and no
    refs (NULL, which the candidate page reads as before); the downgrade drops only the column."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from hub.engine.invitations import add_timeline
    from hub.store.models import Attachment, Invitation

    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'refs.db'}"}, entry_points=False)
    directory = app.extensions["migrate"].directory
    columns = "SELECT detail, refs FROM timeline ORDER BY id"
    with app.app_context():
        attachment = Attachment(workspace_id=1, posting_id="p1", posting_name="P", stage_id="s1", stage_name="S",
                                provider="canditech", assessment_id="a1", assessment_name="A", options={})
        db.session.add(attachment)
        db.session.flush()
        invitation = Invitation(workspace_id=1, attachment_id=attachment.id, opportunity_id="o1",
                                provider="canditech", assessment_id="a1", assessment_name="A", status="pending")
        db.session.add(invitation)
        db.session.commit()
        invitation_id = invitation.id
        db.session.remove()

        downgrade(directory=directory, revision="3d8a6f1e2b57")
        with db.engine.begin() as connection:
            assert "refs" not in {c["name"] for c in sa.inspect(connection).get_columns("timeline")}
            connection.execute(sa.text(
                "INSERT INTO timeline (invitation_id, at, kind, source, detail) VALUES "
                "(:id, '2026-11-29 10:00:00', 'archived', 'lever', 'archived in Lever (reason r-1) on thumbs down')"),
                {"id": invitation_id})
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            assert connection.execute(sa.text(columns)).all() == [
                ("archived in Lever (reason r-1) on thumbs down", None)]

        add_timeline(db.session, db.session.get(Invitation, invitation_id), "stage_moved", "lever", "to {stage}",
                     refs={"stage": "s2"})
        db.session.commit()
        db.session.remove()
        downgrade(directory=directory, revision="3d8a6f1e2b57")
        with db.engine.connect() as connection:
            assert "refs" not in {c["name"] for c in sa.inspect(connection).get_columns("timeline")}
            assert connection.execute(sa.text("SELECT detail FROM timeline ORDER BY id")).scalars().all() == [
                "archived in Lever (reason r-1) on thumbs down", "to {stage}"]
        upgrade(directory=directory)


def test_every_migration_downgrades_and_the_history_upgrades_again(make_app, tmp_path):
    """A release rolled back runs ``hub db downgrade``: every step down must work, and leave a
    database the history builds up again to what the models say. On this run's backend (a
    PostgreSQL database of its own when the run uses PostgreSQL)."""
    import sqlalchemy as sa
    from alembic.script import ScriptDirectory
    from flask_migrate import downgrade, upgrade

    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_roundtrip") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'roundtrip.db'}"}, entry_points=False)
        directory = app.extensions["migrate"].directory
        with app.app_context():
            head = ScriptDirectory.from_config(app.extensions["migrate"].migrate.get_config(directory)).get_current_head()
            db.session.remove()
            downgrade(directory=directory, revision="base")
            with db.engine.connect() as connection:
                assert set(sa.inspect(connection).get_table_names()) <= {"alembic_version"}
                assert MigrationContext.configure(connection).get_current_revision() is None
            upgrade(directory=directory)
            with db.engine.connect() as connection:
                assert MigrationContext.configure(connection).get_current_revision() == head
                diff = compare_metadata(MigrationContext.configure(connection, opts=COMPARE),
                                        db.metadata)
            assert diff == []
            db.session.remove()
            db.engine.dispose()



def test_a_large_history_s_lists_use_the_indexes_made_for_them(make_app, tmp_path):
    """bench/pages.py at 200,000 events: Activity filtered by a delivery status took over 20 s on
    SQLite (a subquery run once per event), and a candidate's page read every event of the
    workspace. Their plans on SQLite (without statistics, as the hub runs it) use the indexes."""
    import sqlalchemy as sa

    from hub.store.models import Invitation
    from hub.web import queries

    app = make_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'plans.db'}"}, entry_points=False)
    with app.app_context():
        def plan(statement) -> str:
            compiled = statement.compile(db.engine, compile_kwargs={"literal_binds": True})
            return " | ".join(row[-1] for row in db.session.execute(sa.text(f"EXPLAIN QUERY PLAN {compiled}")))

        activity = plan(sa.select(sa.func.count()).select_from(queries.events_query(1, status="dead").subquery()))
        assert "CORRELATED" not in activity and "ix_deliveries_workspace_status" in activity, activity
        assert "ix_deliveries_workspace_status" in plan(queries.work_pending_query(1))
        invitation = Invitation(id=7, workspace_id=1, attachment_id=1, opportunity_id="opp-1", provider="canditech",
                                assessment_id="a1", status="invited")
        undone = plan(queries.undone_deliveries_query(invitation, 10))
        assert "ix_events_workspace_subject" in undone, undone
        # Activity's search by a candidate page's address, not the workspace's every invitation
        at_page = plan(queries.opportunities_at_query(1, ["https://ats.example/people/7"]))
        assert "ix_invitations_profile_url" in at_page, at_page


def test_the_candidates_search_has_a_trigram_index_on_postgresql_only(app):
    """On PostgreSQL the search's ``search_text LIKE '%term%'`` is answered from the trigram index
    (migration 2d7f4b9e6a15, which replaced f2b8d6a41c37's two); SQLite gets none."""
    import sqlalchemy as sa

    from hub.store.models import MIGRATION_ONLY_INDEXES, Invitation
    from hub.web.queries import search_matches

    with app.app_context():
        with db.engine.connect() as connection:
            names = {index["name"] for index in sa.inspect(connection).get_indexes("invitations")}
            assert not names & {"ix_invitations_name_trgm", "ix_invitations_email_trgm"}
            if connection.dialect.name != "postgresql":
                assert not names & MIGRATION_ONLY_INDEXES
                return
            assert MIGRATION_ONLY_INDEXES <= names
            connection.execute(sa.text("SET enable_seqscan = off"))  # an empty table: make the planner show it
            query = sa.select(Invitation.id).where(search_matches("Ánders"))
            sql = str(query.compile(dialect=connection.dialect, compile_kwargs={"literal_binds": True}))
            plan = "\n".join(connection.execute(sa.text("EXPLAIN " + sql)).scalars())
            assert "ix_invitations_search_trgm" in plan, plan


def test_the_search_text_of_invitations_from_before_is_filled_by_the_migration(make_app, tmp_path):
    """Invitations stored before migration 2d7f4b9e6a15 are found by the accent-free search once
    it has run (their search_text filled from their name and email), and a downgrade drops it."""
    import sqlalchemy as sa
    from flask_migrate import downgrade, upgrade

    from hub.store.models import Invitation
    from hub.web.queries import search_matches
    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_fold") as postgres_url:
        app = make_app({"DATABASE_URL": postgres_url or f"sqlite:///{tmp_path / 'fold.db'}"}, entry_points=False)
        with app.app_context():
            directory = app.extensions["migrate"].directory
            downgrade(directory=directory, revision="9c3e5a7b1d42")  # the app was made at the newest schema
            with db.engine.begin() as connection:
                connection.execute(sa.text("INSERT INTO workspaces (id, name, created_at) VALUES (901, 'w', '2026-12-01')"))
                connection.execute(sa.text(
                    "INSERT INTO attachments (id, workspace_id, posting_id, posting_name, stage_id, stage_name, provider,"
                    " assessment_id, assessment_name, options, created_at, updated_at) VALUES (901, 901, 'p', 'P', 's', 'S',"
                    " 'x', 'a', 'A', '{}', '2026-12-01', '2026-12-01')"))
                for number, name, email in ((1, "José Núñez", "JN@Mail.test"), (2, None, None), (3, "Ann", None)):
                    connection.execute(sa.text(
                        "INSERT INTO invitations (id, workspace_id, attachment_id, opportunity_id, candidate_name,"
                        " candidate_email, provider, assessment_id, assessment_name, status, round, created_at,"
                        " updated_at) VALUES (:id, 901, 901, :opp, :name, :email, 'x', 'a', 'A', 'pending', 1,"
                        " '2026-12-01', '2026-12-01')"), {"id": number, "opp": f"o{number}", "name": name,
                                                          "email": email})
            upgrade(directory=directory)
            texts = dict(db.session.execute(sa.select(Invitation.opportunity_id, Invitation.search_text)).all())
            assert texts == {"o1": "jose nunez\njn@mail.test", "o2": None, "o3": "ann"}
            found = db.session.scalars(sa.select(Invitation.opportunity_id).where(search_matches("jose nunez"))).all()
            assert found == ["o1"]
            db.session.remove()
            downgrade(directory=directory, revision="9c3e5a7b1d42")
            with db.engine.connect() as connection:
                columns = {column["name"] for column in sa.inspect(connection).get_columns("invitations")}
            assert "search_text" not in columns
            db.session.remove()
            db.engine.dispose()


def test_a_role_that_may_not_create_pg_trgm_migrates_without_the_search_indexes(make_app, tmp_path, caplog):
    """pg_trgm is a trusted extension, but a role without CREATE on the database (a locked-down
    service) may not create it: the migration logs why and goes on, and the Candidates search
    works without its indexes. (On SQLite there is no extension to refuse: it migrates without
    them and searches the same way.)"""
    import logging
    import uuid

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from hub.store.models import MIGRATION_ONLY_INDEXES, Attachment, Invitation, Workspace
    from hub.web.queries import search_matches
    from tests.conftest import _fresh_postgres_database

    with _fresh_postgres_database("hub_test_notrgm") as postgres_url:
        role = None
        url = f"sqlite:///{tmp_path / 'notrgm.db'}"
        if postgres_url is not None:
            role = f"hub_notrgm_{uuid.uuid4().hex[:8]}"
            admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:  # may connect and create tables, not extensions
                connection.exec_driver_sql(f'CREATE ROLE "{role}" LOGIN')
                connection.exec_driver_sql(f'GRANT CONNECT ON DATABASE "{sa.engine.make_url(postgres_url).database}" '
                                           f'TO "{role}"')
                connection.exec_driver_sql(f'GRANT CREATE, USAGE ON SCHEMA public TO "{role}"')
            admin.dispose()
            url = sa.engine.make_url(postgres_url).set(username=role, password=None).render_as_string(
                hide_password=False)
        try:
            app = make_app({"DATABASE_URL": url}, entry_points=False)
            with app.app_context(), caplog.at_level(logging.WARNING, logger="alembic.runtime.migration"):
                upgrade(directory=app.extensions["migrate"].directory)
                with db.engine.connect() as connection:
                    names = {i["name"] for i in sa.inspect(connection).get_indexes("invitations")}
                assert not names & MIGRATION_ONLY_INDEXES
                refused = [r.getMessage() for r in caplog.records if "pg_trgm could not be created" in r.getMessage()]
                assert len(refused) == (1 if role else 0), refused
                if role:
                    assert "permission denied" in refused[0]
                    assert "create the indexes by hand (docs/operations.md)" in refused[0]
                workspace = Workspace(name="w")
                db.session.add(workspace)
                db.session.flush()
                attachment = Attachment(workspace_id=workspace.id, posting_id="p", posting_name="P", stage_id="s",
                                        stage_name="S", provider="x", assessment_id="a", assessment_name="A")
                db.session.add(attachment)
                db.session.flush()
                db.session.add_all([Invitation(workspace_id=workspace.id, attachment_id=attachment.id,
                                               opportunity_id=o, candidate_name=name, provider="x",
                                               assessment_id="a", assessment_name="A", status="pending")
                                    for o, name in (("o1", "Ann Anders"), ("o2", None))])
                db.session.commit()
                found = db.session.scalars(sa.select(Invitation.opportunity_id).where(
                    search_matches("anders"))).all()
                assert found == ["o1"]
                db.session.remove()
                db.engine.dispose()
        finally:
            if role:  # its sessions ended, what it owns dropped (and its grants revoked), then the role
                admin = sa.create_engine(postgres_url, isolation_level="AUTOCOMMIT")
                with admin.connect() as connection:
                    connection.exec_driver_sql(
                        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}'")
                    connection.exec_driver_sql(f'DROP OWNED BY "{role}"')
                    connection.exec_driver_sql(f'DROP ROLE "{role}"')
                admin.dispose()


def test_every_migration_s_first_line_is_a_whole_summary():
    """``hub db upgrade`` prints each step with its migration's first docstring line (Alembic's
    ``doc``): a first line that runs on into a second was printed cut off mid-sentence."""
    from pathlib import Path

    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(Path(__file__).resolve().parents[2] / "migrations"))
    cut_off = []
    for revision in script.walk_revisions():
        lines = (revision.module.__doc__ or "").strip().splitlines()
        assert lines, f"{revision.revision} has no docstring"
        if len(lines) > 1 and lines[1].strip() and not lines[1].startswith("Revision ID:"):
            cut_off.append(f"{revision.revision}: {lines[0]}")
    assert cut_off == []
