"""The ``hub`` command: a Flask CLI group whose app is ``create_app()``.

Commands: ``init``, ``run``, ``worker``, ``demo``, ``users``, ``plugins``, ``deliveries``, ``keys``,
``new-plugin``, and Flask-Migrate's ``db``. Every command has ``--help``; a bad argument or a
configuration problem prints one line and exits non-zero, never a traceback.
"""

from __future__ import annotations

import re
import sys
from urllib.parse import urlsplit

import click
from flask.cli import FlaskGroup

NO_TABLES = "the database has no tables yet: run `hub init` (or `hub db upgrade`)"
SCHEMA_BEHIND = ("the database's schema is behind this version of the hub (it lacks a column the code uses): "
                 "run `hub db upgrade`")
# SQLite's and PostgreSQL's answers to a statement naming a column the table does not have
MISSING_COLUMN = re.compile(r"no such column|has no column named|column \S+ (?:of relation \S+ )?does not exist")
# PostgreSQL's answer to a connection naming a database or a role (user) the server does not have
MISSING_NAME = re.compile(r'\b(database|role) "([^"]*)" does not exist')


def database_url_shown(url) -> str:
    """``url`` (a SQLAlchemy URL, as text or object) fit to print: its password as ``***`` and its
    query (which may carry ``password=``) left out."""
    from sqlalchemy.engine import make_url

    return make_url(url).set(query={}).render_as_string(hide_password=True)


def redis_url_shown(url: str) -> str:
    """A Redis URL fit to print: its user and password as ``***`` and its query (which may carry
    ``password=``) left out. A socket's URL keeps its ``//`` (``unix:///run/redis.sock``):
    ``urlunsplit`` drops it with the empty host, and ``unix:/run/redis.sock`` reads as no URL
    ``HUB_REDIS_URL`` takes."""
    parts = urlsplit(str(url))
    netloc = parts.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return f"{parts.scheme}://{netloc}{parts.path}"


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
    """Flask's group (its commands' ``with_appcontext`` creates the app with ``create_app()``) without
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
        # Every hub command is a command of the group itself (``_add_commands``), found without
        # creating the app: ``hub init --help`` shows the help whatever the configuration, and
        # writes nothing. The app is created when a command runs (``with_appcontext``), so a
        # configuration problem reaches main() then, in one line. (FlaskGroup.get_command would
        # create the app to look for a name the group lacks: a typo would write ./instance too.)
        return click.Group.get_command(self, ctx, name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        # FlaskGroup.list_commands creates the app (for `hub --help`): it would write keys and a
        # queue into ./instance, or fail on a configuration problem instead of showing the help
        return sorted(click.Group.list_commands(self, ctx))


@click.group(cls=HubGroup, create_app=_create_app, add_default_commands=False, add_version_option=False,
             load_dotenv=False, set_debug_flag=False,
             help="ATS Hub: joins your ATS (Lever) to assessment vendors (Canditech, Vervoe).")
def cli() -> None:
    pass


def _migrations_group() -> click.Group:
    """Flask-Migrate's ``db`` group and subcommands, but for its callback, which creates the app
    (``with_appcontext``) to keep the group's options (``-d``, ``-x``) in ``g`` before a subcommand
    even reads ``--help``. Here they are put in ``g`` when the subcommand, as it runs, pushes the
    app's context (Flask's ``appcontext_pushed``). The developers' commands are hidden from the
    help, and those that read the database's revision refuse a newer version's schema first; in
    production, those that use the database refuse to run without ``HUB_DATABASE_URL`` (as ``hub
    init`` does), rather than migrate a SQLite file of the instance folder no other process uses.

    An empty ``-d`` or REVISION is a usage error (Alembic failed an assertion on an empty
    revision). Each subcommand first checks the folder ``-d/--directory`` names (its own, else the group's):
    an empty value, or a path that is no folder of migration scripts, is a usage error (exit
    status 2) naming it. Alembic's errors (a revision it cannot locate...), which Flask-Migrate
    logs as a log line before it exits with status 1, are one ``Error:`` line instead."""
    from flask import appcontext_pushed, g
    from flask_migrate.cli import db as migrate_group

    @click.pass_context
    def keep_options(ctx: click.Context, directory, x_arg) -> None:
        def put(sender, **extra) -> None:
            g.directory, g.x_arg = directory, x_arg

        appcontext_pushed.connect(put, weak=False)
        ctx.call_on_close(lambda: appcontext_pushed.disconnect(put))

    commands = {}
    for name, command in migrate_group.commands.items():
        if name == "current":
            command = _saying_when_never_migrated(command)
        if name in READS_THE_SCHEMA:
            command = _refusing_first(command, _newer_schema)
        if name in USES_THE_DATABASE:  # checked before the schema: which database comes first
            command = _refusing_first(command, _default_database_in_production)
        command = _for_operators(command, check_directory=name not in CREATES_ITS_DIRECTORY)
        if name == "downgrade":
            command = _taking_steps_back(command)
        if name in DEVELOPER_COMMANDS:  # they write migration files: for the hub's developers, not operators
            command.hidden = True
        commands[name] = command
    params = [_checked_param(param) for param in migrate_group.params]
    return click.Group("db", commands=commands, params=params, callback=keep_options,
                       help="Upgrade, inspect or downgrade the hub's database schema (Alembic migrations). "
                            "The commands for the hub's developers (revision, migrate, merge, edit, init, "
                            "list-templates, check) are not listed.")


READS_THE_SCHEMA = ("current", "upgrade", "downgrade")  # and must say plainly that a newer hub migrated it
USES_THE_DATABASE = ("current", "upgrade", "downgrade", "stamp")  # in production, only HUB_DATABASE_URL's
DEVELOPER_COMMANDS = ("init", "revision", "migrate", "merge", "edit", "list-templates", "check")
CREATES_ITS_DIRECTORY = ("init", "list-templates")  # -d: a folder to create (init), or none at all
DIRECTORY_HELP = "Folder of the migration scripts (default: the hub's own, which this version ships)."
DIRECTORY_HINT = "'-d' / '--directory'"
ENV_PY_ONLY = {"x_arg": "Arguments for the env.py of another folder of migration scripts (-d); the hub's own "
                        "env.py reads none.",
               "tag": "A tag for the env.py of another folder of migration scripts (-d); the hub's own env.py "
                      "reads none."}


def _checked_param(param: click.Parameter) -> click.Parameter:
    """``param`` (an option or argument of Flask-Migrate's), refusing an empty value if it is
    ``-d/--directory`` (with help that says the hub's default, not "migrations", a folder of the
    current directory) or a REVISION; ``-x`` and ``--tag`` with help that says the hub's env.py
    reads neither."""
    import copy

    if param.name in ENV_PY_ONLY:  # their help said "custom env.py scripts" consume them
        checked = copy.copy(param)
        checked.help = ENV_PY_ONLY[param.name]
        return checked
    if param.name not in ("directory", "revision") or param.nargs != 1:
        return param
    checked = copy.copy(param)
    if param.name == "directory":
        checked.help = DIRECTORY_HELP
    checked.callback = _not_empty
    return checked


DOWNGRADE_HELP = ("Undo migrations, back to REVISION: a revision's id (`hub db history` lists them), or -N "
                  "to undo the last N migrations applied (default: -1, the last one). E.g. `hub db downgrade -2`.")


def _taking_steps_back(command: click.Command) -> click.Command:
    """``hub db downgrade -1``, Alembic's relative revision, as written: Click read ``-1`` as an
    option ("No such option '-1'"), and only ``hub db downgrade -- -1`` took it. Unknown options
    reach REVISION (``ignore_unknown_options``), where any but ``-N`` is still refused as one."""
    import copy

    checked = copy.copy(command)
    checked.context_settings = {**command.context_settings, "ignore_unknown_options": True}
    checked.help = DOWNGRADE_HELP
    checked.short_help = "Undo migrations: back to REVISION, or -N steps back (default: -1)"
    params = []
    for param in command.params:
        if param.name == "revision":
            param = copy.copy(param)
            param.callback = _steps_back_or_revision
        params.append(param)
    checked.params = params
    return checked


def _steps_back_or_revision(ctx: click.Context, param: click.Parameter, value):
    """``_not_empty``, and a value that reads as an option but is no ``-N`` refused as Click refuses
    an unknown option (``--sq``: "No such option '--sq'. Did you mean '--sql'?")."""
    value = _not_empty(ctx, param, value)
    if isinstance(value, str) and value.startswith("-") and not re.fullmatch(r"-[0-9]+", value):
        options = [name for option in ctx.command.params if isinstance(option, click.Option) for name in option.opts]
        raise click.NoSuchOption(value, possibilities=options, ctx=ctx)
    return value


def _not_empty(ctx: click.Context, param: click.Parameter, value):
    if value is not None and not value.strip():
        if param.name == "directory":
            raise click.BadParameter("is empty: name a folder of migration scripts, or leave -d out for the hub's own")
        raise click.BadParameter("is empty: name a revision (`hub db history` lists them), or leave it out")
    return value


def migrations_folder_problem(path: str) -> str | None:
    """Why ``path`` is no folder of migration scripts Alembic can run (one sentence), or None."""
    import os

    from hub.kit.vendor_http import control_characters

    shown = repr(path)
    hidden = control_characters(path)
    if hidden:
        return f"{shown} holds a control character (U+{ord(hidden[0]):04X}): name a folder of migration scripts"
    if not os.path.exists(path):
        return f"{shown} does not exist: name a folder of migration scripts, or leave -d out for the hub's own"
    if not os.path.isdir(path):
        return f"{shown} is a file, not a folder of migration scripts"
    if not os.access(path, os.R_OK | os.X_OK):
        return f"{shown} cannot be read (permission denied)"
    if not os.path.isfile(os.path.join(path, "env.py")):
        return f"{shown} is not a folder of migration scripts: it has no env.py"
    return None


def _for_operators(command: click.Command, check_directory: bool) -> click.Command:
    """A copy of Flask-Migrate's ``command`` whose ``-d`` says the hub's default, which checks the
    folder it will read first (``check_directory``), and whose Alembic error is one ``Error:`` line
    (Flask-Migrate logs it, then exits with status 1)."""
    import copy
    import functools
    import logging

    original = command.callback

    @functools.wraps(original)
    def callback(*args, **kwargs):
        ctx = click.get_current_context()
        directory = kwargs.get("directory")
        if not directory and ctx.parent is not None:  # Flask-Migrate: ``directory or g.directory``
            directory = ctx.parent.params.get("directory")
        if check_directory and directory is not None:
            problem = migrations_folder_problem(directory)
            if problem:
                raise click.BadParameter(problem, ctx=ctx, param_hint=DIRECTORY_HINT)
        logged = _AlembicError()
        logger = logging.getLogger("flask_migrate")
        logger.addFilter(logged)
        try:
            return original(*args, **kwargs)
        except SystemExit as exc:  # Flask-Migrate's ``catch_errors``: the error logged, then exit(1)
            if exc.code == 1 and logged.message is not None:
                raise click.ClickException(logged.message) from None
            raise
        finally:
            logger.removeFilter(logged)

    checked = copy.copy(command)
    checked.callback = callback
    checked.params = [_checked_param(param) for param in command.params]
    return checked


class _AlembicError:
    """A logging filter keeping (and holding back) the error Flask-Migrate logs before it exits."""

    def __init__(self) -> None:
        self.message: str | None = None

    def filter(self, record) -> bool:
        import logging

        if record.levelno < logging.ERROR:
            return True
        message = record.getMessage()
        message = message[len("Error: "):] if message.startswith("Error: ") else message
        # a revision named on the command line comes back in the message: its control characters escaped
        self.message = "".join(ch if ch.isprintable() else ascii(ch)[1:-1] for ch in message)
        if "Can't locate revision" in message:
            self.message += " (`hub db history` lists the revisions this version knows)"
        return False


def _refusing_first(command: click.Command, problem_of) -> click.Command:
    """``command``, stopping first with ``problem_of(app)`` as its ``Error:`` line when that is not
    None (``problem_of`` runs in the app's context, before the command does anything)."""
    import copy
    import functools

    from flask.cli import with_appcontext

    original = command.callback

    @functools.wraps(original)
    @with_appcontext  # the app's context for this check; the command's own ``with_appcontext`` reuses it
    def callback(*args, **kwargs):
        from flask import current_app

        problem = problem_of(current_app)
        if problem:
            raise click.ClickException(problem)
        return original(*args, **kwargs)

    checked = copy.copy(command)
    checked.callback = callback
    return checked


def _saying_when_never_migrated(command: click.Command) -> click.Command:
    """``hub db current``, which printed nothing at all (and exited 0) on a database no migration
    has reached: the restore procedure and *Upgrading* ask it which revision the database is at. It
    now says so, and what this version needs, on the hub's own migrations (not another folder's, -d)."""
    import copy
    import functools

    from flask.cli import with_appcontext

    original = command.callback

    @functools.wraps(original)
    @with_appcontext
    def callback(*args, **kwargs):
        from flask import current_app

        from hub.store import schema

        result = original(*args, **kwargs)
        ctx = click.get_current_context()
        directory = kwargs.get("directory") or (ctx.parent.params.get("directory") if ctx.parent else None)
        if directory is None:
            current, needed = schema.revisions(current_app)
            if current is None:
                click.echo(f"no migration applied: the database has no tables yet (this version of the hub needs "
                           f"{needed}): run `hub init`")
        return result

    checked = copy.copy(command)
    checked.callback = callback
    return checked


def _newer_schema(app) -> str | None:
    """A database a newer version of the hub migrated, in the words ``hub worker`` uses (Alembic
    said only "Can't locate revision identified by '...'")."""
    from hub.store import schema

    return schema.migrated_by_newer_version(app)


def _default_database_in_production(app) -> str | None:
    """In production without ``HUB_DATABASE_URL``: the command would migrate (or read) a SQLite file
    of this node's own instance folder, which no other hub process uses."""
    from hub.config import unset_database_in_production

    return unset_database_in_production(app, then="run the command again")


def _add_commands() -> None:
    """Put every hub command on the ``hub`` group, so that it is found (for ``--help`` too) without
    creating the app; a command that needs the app creates it when it runs (``with_appcontext``)."""
    from hub.cli import admin, demo, scaffold, serve

    for command in (*admin.COMMANDS, *serve.COMMANDS, demo.demo_command, scaffold.new_plugin_command,
                    _migrations_group()):
        cli.add_command(command)


_add_commands()


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
        click.echo(f"Error: {failure_message(exc)}", err=True)
        sys.exit(1)


INSUFFICIENT_PRIVILEGE = "42501"  # PostgreSQL's SQLSTATE


def _driver_reason(exc: Exception) -> str:
    """": <the driver's first line>" (``hub.store.outage.failure_reason``: psycopg's names the server
    and port, and never the password), or "" (also when the driver said nothing: no ``orig``)."""
    from hub.store.outage import failure_reason

    reason = failure_reason(exc) if getattr(exc, "orig", None) is not None else ""
    return f": {reason}" if reason else ""


def failure_message(exc: Exception) -> str:
    """The one line ``hub`` prints for an unexpected ``exc`` (without ``Error:``); it never
    repeats the database URL, which may hold a password."""
    from sqlalchemy.exc import DatabaseError, OperationalError, ProgrammingError

    text = str(exc)
    missing = MISSING_NAME.search(text) if isinstance(exc, OperationalError) else None
    if missing and missing.group(1) == "database":  # checked before "does not exist" below: also in its text
        return (f'the database "{missing.group(2)}" named in HUB_DATABASE_URL does not exist on its PostgreSQL '
                f"server: create it, owned by the role named as the user in HUB_DATABASE_URL (createdb -O ROLE "
                f"{missing.group(2)}), or correct the database name, then run `hub init`")
    if missing:
        return (f'the role "{missing.group(2)}" named as the user in HUB_DATABASE_URL does not exist on its '
                f"PostgreSQL server: create it (createuser --pwprompt {missing.group(2)}) or correct the user name")
    if getattr(getattr(exc, "orig", None), "sqlstate", None) == INSUFFICIENT_PRIVILEGE:
        return ("the role named as the user in HUB_DATABASE_URL may not create or use the hub's tables in "
                "that database (PostgreSQL: permission denied): make the role the database's owner "
                "(createdb -O ROLE DATABASE, or ALTER DATABASE DATABASE OWNER TO ROLE), then run `hub init` again")
    lowered = text.lower()
    if isinstance(exc, (OperationalError, ProgrammingError)) and MISSING_COLUMN.search(lowered):
        return SCHEMA_BEHIND
    if isinstance(exc, (OperationalError, ProgrammingError)) and ("no such table" in lowered
                                                                  or "does not exist" in lowered):
        return NO_TABLES
    if isinstance(exc, OperationalError):
        return f"the database cannot be reached (check HUB_DATABASE_URL){_driver_reason(exc)}"
    # SQLite's "file is not a database": a file of something else, or damaged. Only the plain class:
    # its subclasses (IntegrityError, DataError...) are about a statement, not the database
    if type(exc) is DatabaseError:
        return f"the database cannot be used (check HUB_DATABASE_URL){_driver_reason(exc)}"
    return f"{type(exc).__name__}: {exc}"
