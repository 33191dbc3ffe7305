"""``seed`` writes back the rows of the process's first seed of the same kind of app: the tests that
use it must see exactly what seeding through the services makes, with fresh timestamps."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from tests.web import support
from tests.web.support import FakeAssess, FakeSource, _contents, seed, sign_in, without_timestamps


def _build(make_app):
    return make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)


def _start_again(app) -> None:
    """The database as a new test app's: every row deleted, ids starting at 1, workspace 1 made."""
    from hub import services
    from hub.extensions import db
    from tests.conftest import _empty_all

    with app.app_context():
        if db.engine.dialect.name == "postgresql":
            _empty_all(app)  # as after every test: rows deleted, sequences restarted
        else:
            for table in reversed(db.metadata.sorted_tables):
                db.session.execute(table.delete())
            if db.session.scalar(sa.text("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_sequence'")):
                db.session.execute(sa.text("DELETE FROM sqlite_sequence"))
            db.session.commit()
        services.default_workspace()
        db.session.commit()


def test_a_second_seed_is_the_first_one_s_rows_with_fresh_timestamps(make_app, monkeypatch):
    monkeypatch.setattr(support, "_SEED_COPIES", {})
    app = _build(make_app)
    through_services = seed(app)
    assert len(support._SEED_COPIES) == 1
    kept = next(iter(support._SEED_COPIES.values()))
    # as if the first seed ran three hours ago in this process
    kept.taken_at -= timedelta(hours=3)
    kept.after = {table: [{k: v - timedelta(hours=3) if isinstance(v, datetime) else v for k, v in row.items()}
                          for row in rows] for table, rows in kept.after.items()}

    _start_again(app)
    calls = []
    monkeypatch.setattr(support, "_seed_through_services", lambda a: calls.append(a))
    written_back = seed(app)
    assert calls == []  # nothing went through the services
    assert written_back == through_services and written_back is not kept.result
    with app.app_context():
        now = _contents(timestamps=True)
    assert without_timestamps(now) == without_timestamps(kept.after)
    assert set(now) > {"workspaces", "users", "integrations", "invitations", "deliveries"}
    stamps = [v for rows in now.values() for row in rows for v in row.values() if isinstance(v, datetime)]
    assert stamps and all(abs(datetime.now(timezone.utc) - stamp) < timedelta(minutes=5) for stamp in stamps)

    # the seeded users sign in, and their API tokens work, on the written-back rows
    client = app.test_client()
    assert sign_in(client, written_back.email("admin")).status_code == 302
    token = written_back.tokens["team_member"]
    assert app.test_client().get("/api/v1/invitations", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_new_rows_after_a_written_back_seed_take_new_ids(make_app, monkeypatch):
    from hub.extensions import db
    from hub.store.models import Workspace

    monkeypatch.setattr(support, "_SEED_COPIES", {})
    app = _build(make_app)
    seed(app)
    _start_again(app)
    result = seed(app)
    with app.app_context():
        highest = db.session.scalar(sa.select(sa.func.max(Workspace.id)))
        row = Workspace(name="Third company")
        db.session.add(row)
        db.session.commit()
        assert row.id > highest >= result.workspace_id


def test_a_database_holding_something_else_is_seeded_through_the_services(make_app, monkeypatch):
    from hub.extensions import db
    from hub.store.models import Workspace

    monkeypatch.setattr(support, "_SEED_COPIES", {})
    app = _build(make_app)
    seed(app)
    _start_again(app)
    with app.app_context():
        db.session.add(Workspace(name="Made by the test first"))
        db.session.commit()
    real = support._seed_through_services
    calls = []
    monkeypatch.setattr(support, "_seed_through_services", lambda a: calls.append(a) or real(a))
    seed(app)
    assert calls == [app]
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Workspace).where(
            Workspace.name == "Made by the test first")) == 1


def test_another_kind_of_app_is_seeded_through_the_services(make_app, monkeypatch):
    monkeypatch.setattr(support, "_SEED_COPIES", {})
    first = _build(make_app)
    seed(first)
    _start_again(first)
    other = make_app({"SESSION_IDLE_SECONDS": 3600}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())],
                     entry_points=False)
    real = support._seed_through_services
    calls = []
    monkeypatch.setattr(support, "_seed_through_services", lambda a: calls.append(a) or real(a))
    seed(other)
    assert calls == [other]
    assert len(support._SEED_COPIES) == 2
