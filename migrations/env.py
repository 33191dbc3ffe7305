"""Alembic environment: runs migrations with the hub app's engine and models' metadata.

``render_as_batch`` makes ALTERs work on SQLite; ``compare_type`` catches column type drift so
the "models and migrations agree" test is meaningful.

Run by a ``hub`` command that migrates (``hub db upgrade``, ``hub db downgrade``, ``hub init``),
it prints one line per migration applied, or one saying there was none to apply (Alembic's own
log lines are not shown: no logging configuration is read from alembic.ini). Migrations run by
other code (``hub run``'s first start, tests) print nothing.
"""

import click
from alembic import context
from flask import current_app

config = context.config


def _metadata():
    from hub.store import models  # noqa: F401  (registers every table)

    return current_app.extensions["migrate"].db.metadata


def _include_name(name, type_, parent_names) -> bool:
    from hub.store.models import include_in_autogenerate

    return include_in_autogenerate(name, type_, parent_names)


def run_migrations_offline() -> None:
    context.configure(url=str(current_app.extensions["migrate"].db.engine.url), target_metadata=_metadata(),
                      literal_binds=True, render_as_batch=True, compare_type=True, include_name=_include_name)
    with context.begin_transaction():
        context.run_migrations()


REPORTING_COMMANDS = ("upgrade", "downgrade", "init")  # the `hub` commands that say what they migrated


def _reporting() -> bool:
    command = click.get_current_context(silent=True)
    return command is not None and command.info_name in REPORTING_COMMANDS


def _report_step(ctx, step, heads, run_args) -> None:
    """Alembic's ``on_version_apply`` callback: one line per migration applied."""
    start = ", ".join(step.source_revision_ids) or "empty"
    end = ", ".join(step.destination_revision_ids) or "empty"
    doc = (step.up_revision.doc or "").strip().splitlines()
    if step.is_upgrade:
        click.echo(f"upgraded the database: {start} -> {end}" + (f" ({doc[0]})" if doc else ""))
    else:  # the description is the undone migration's
        click.echo(f"downgraded the database: {start} -> {end}" + (f" (undid: {doc[0]})" if doc else ""))


def run_migrations_online() -> None:
    engine = current_app.extensions["migrate"].db.engine
    reporting = _reporting()
    applied: list[object] = []

    def on_apply(ctx, step, heads, run_args):
        applied.append(step)
        _report_step(ctx, step, heads, run_args)

    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), render_as_batch=True,
                          compare_type=True, include_name=_include_name, on_version_apply=on_apply if reporting else ())
        with context.begin_transaction():
            context.run_migrations()
        if reporting and not applied:
            current = ", ".join(context.get_context().get_current_heads()) or "empty (no migration)"
            head = ", ".join(context.script.get_heads())
            at_head = " (head)" if current == head else f"; the newest is {head}"
            click.echo(f"no migration to apply: the database is at {current}{at_head}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
