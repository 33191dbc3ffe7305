"""Alembic environment: runs migrations with the hub app's engine and models' metadata.

``render_as_batch`` makes ALTERs work on SQLite; ``compare_type`` catches column type drift so
the "models and migrations agree" test is meaningful.
"""

from alembic import context
from flask import current_app

config = context.config


def _metadata():
    from hub.store import models  # noqa: F401  (registers every table)

    return current_app.extensions["migrate"].db.metadata


def run_migrations_offline() -> None:
    context.configure(url=str(current_app.extensions["migrate"].db.engine.url), target_metadata=_metadata(),
                      literal_binds=True, render_as_batch=True, compare_type=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = current_app.extensions["migrate"].db.engine
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), render_as_batch=True,
                          compare_type=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
