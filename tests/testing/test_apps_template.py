"""``make_test_app`` starts each new SQLite app as a copy of one database migrated per process
(``hub.testing.apps``): the copy must be of a fresh, empty database, never of one a test had
filled, and every app still starts migrated with workspace 1 and nothing else."""

from __future__ import annotations

import sqlalchemy as sa

from hub.testing import apps


def _workspaces(app) -> list[str]:
    from hub.extensions import db
    from hub.store.models import Workspace

    with app.app_context():
        names = list(db.session.scalars(sa.select(Workspace.name).order_by(Workspace.id)))
        db.session.remove()
        db.engine.dispose()
    return names


def test_a_database_a_test_filled_never_becomes_the_copy(tmp_path, monkeypatch):
    monkeypatch.setattr(apps, "_migrated", {})  # this process's copy, as if none was made yet
    used = apps.make_test_app(tmp_path / "used")
    from hub.extensions import db
    from hub.store.models import Workspace

    with used.app_context():
        db.session.get(Workspace, 1).name = "LEAKED"
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    monkeypatch.setattr(apps, "_migrated", {})
    again = apps.make_test_app(tmp_path / "used")  # the same folder again: its file, with its data
    assert _workspaces(again) == ["LEAKED"]
    fresh = apps.make_test_app(tmp_path / "fresh")
    assert "LEAKED" not in _workspaces(fresh) and len(_workspaces(fresh)) == 1


def test_apps_built_from_the_copy_are_migrated_and_apart(tmp_path):
    first = apps.make_test_app(tmp_path / "a")
    second = apps.make_test_app(tmp_path / "b")
    from hub.extensions import db

    with first.app_context():
        db.session.execute(sa.text("UPDATE workspaces SET name = 'only in a'"))
        db.session.commit()
    assert _workspaces(first) == ["only in a"] and _workspaces(second) != ["only in a"]
    with second.app_context():
        version = db.session.scalar(sa.text("SELECT version_num FROM alembic_version"))
        db.session.remove()
    from alembic.script import ScriptDirectory

    with second.app_context():
        heads = ScriptDirectory(second.extensions["migrate"].directory).get_heads()
    assert [version] == heads
