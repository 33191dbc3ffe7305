"""The ``hub`` command: a Flask CLI group whose app is ``create_app()``.

Commands: ``init``, ``run``, ``worker``, ``demo``, ``users``, ``plugins``, ``deliveries``, ``keys``,
``new-plugin``, and Flask-Migrate's ``db``. Every command has ``--help``; a bad argument or a
configuration problem prints one line and exits non-zero, never a traceback.
"""

from __future__ import annotations

import sys

import click
from flask.cli import FlaskGroup, ScriptInfo

NO_TABLES = "the database has no tables yet: run `hub init` (or `hub db upgrade`)"


def _create_app():
    from hub.app import create_app

    return create_app()


def register_cli(app) -> None:
    from hub.cli import admin, serve

    for command in (*admin.COMMANDS, *serve.COMMANDS):
        app.cli.add_command(command)
    try:
        from hub.cli import demo

        app.cli.add_command(demo.demo_command)
    except ImportError:  # pragma: no cover - optional during bootstrap
        pass
    from hub.cli import scaffold

    app.cli.add_command(scaffold.new_plugin_command)  # also here: app.test_cli_runner() sees app.cli only


class HubGroup(FlaskGroup):
    """Flask's group (it loads ``create_app()`` and pushes an app context for each command) without
    the options Flask adds for its own ``flask`` command: ``-e/--env-file`` (needs python-dotenv,
    which the hub does not install), ``-A/--app`` and ``--debug``. The hub always runs
    ``create_app()`` and is configured through ``HUB_*`` variables and ``hub.cfg``."""

    FLASK_ONLY = ("env_file", "app", "debug")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.params = [param for param in self.params if param.name not in self.FLASK_ONLY]

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        # FlaskGroup.parse_args reads FLASK_ENV_FILE and FLASK_APP before showing help: skip it
        return click.Group.parse_args(self, ctx, args)

    def get_command(self, ctx: click.Context, name: str):
        # a command of the group itself (``new-plugin``) needs no app: none is created for it, so
        # scaffolding a plugin writes no instance folder (with keys) into the working directory
        command = click.Group.get_command(self, ctx, name)
        return command if command is not None else super().get_command(ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # FlaskGroup.list_commands (for `hub --help`) prints the traceback of an app that cannot be
        # created and lists no command: load the app first, so that a configuration problem
        # reaches main() and is reported in one line, as for every command
        ctx.ensure_object(ScriptInfo).load_app()
        return super().list_commands(ctx)


@click.group(cls=HubGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False, set_debug_flag=False,
             help="ATS Hub: joins your ATS (Lever) to assessment vendors (Canditech, Vervoe).")
def cli() -> None:
    pass


def _add_app_free_commands() -> None:
    from hub.cli import scaffold

    cli.add_command(scaffold.new_plugin_command)


_add_app_free_commands()


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``hub`` console script."""
    from hub.config import ConfigError
    from hub.plugins.manager import PluginLoadError

    try:
        cli.main(args=argv, prog_name="hub", standalone_mode=True)
    except (ConfigError, PluginLoadError) as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except Exception as exc:  # one line, not a traceback
        from sqlalchemy.exc import OperationalError

        from sqlalchemy.exc import ProgrammingError

        text = str(exc).lower()
        if isinstance(exc, (OperationalError, ProgrammingError)) and ("no such table" in text or "does not exist" in text):
            click.echo(f"Error: {NO_TABLES}", err=True)
        elif isinstance(exc, OperationalError):
            click.echo("Error: the database cannot be reached (check HUB_DATABASE_URL)", err=True)
        else:
            click.echo(f"Error: {type(exc).__name__}: {exc}", err=True)
        sys.exit(1)
