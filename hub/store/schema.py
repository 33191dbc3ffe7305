"""The migrations this code ships, as ``/readyz`` and the commands that refuse an outdated
database compare the database's revision with them.

``scripts(app)`` reads the migration files once per process (each read parses every file, about
30 ms; a web process reads them as it loads the app, ``hub.wsgi``); ``knows(app, revision)`` says whether a revision is one of them: a database at a revision
the code does not know was migrated by a newer version of the hub (a deploy rolled back), and
``hub db upgrade`` is then the wrong advice.
"""

from __future__ import annotations

SCRIPTS = "hub.schema_scripts"  # app.extensions key


def scripts(app):
    found = app.extensions.get(SCRIPTS)
    if found is None:
        from alembic.script import ScriptDirectory

        found = app.extensions[SCRIPTS] = ScriptDirectory(app.extensions["migrate"].directory)
    return found


def head(app) -> str:
    return scripts(app).get_current_head()


def revisions(app) -> tuple[str | None, str]:
    """The database's Alembic revision (None: never migrated) and the newest this code ships. Ends
    the read transaction: on SQLite it would hold the write lock."""
    from alembic.runtime.migration import MigrationContext

    from hub.extensions import db

    try:
        current = MigrationContext.configure(db.session.connection()).get_current_revision()
    finally:
        db.session.rollback()
    return current, head(app)


def migrated_by_newer_version(app) -> str | None:
    """``newer_version_message`` when a newer version of the hub migrated the database, else None."""
    current, needed = revisions(app)
    if current is not None and current != needed and not knows(app, current):
        return newer_version_message(current, needed)
    return None


def knows(app, revision: str) -> bool:
    try:
        return scripts(app).get_revision(revision) is not None
    except Exception:  # alembic: "Can't locate revision ..."
        return False


def newer_version_message(current: str, needed: str) -> str:
    return (f"the database schema is at {current}, which this code does not know: a newer version of the hub "
            f"migrated it (this code needs {needed}); run that version, or `hub db downgrade {needed}` with it")
