"""Administration commands: init, users, plugins, deliveries, keys."""

from __future__ import annotations

import sys

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import with_appcontext

from hub import services
from hub.config import ConfigError
from hub.errors import HubError, NotFound
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import (
    D_DEAD, DELIVERY_STATUSES, ID64_MAX, ROLES, SUPER_ADMIN, Delivery, Event, Integration, User, Workspace,
    is_table_id,
)
from hub.store.text import unstorable

workspace_option = click.option("--workspace", "workspace_id", type=int, default=None,
                                help="Workspace id (default: the first workspace).")


def storable_text(ctx, param, value):
    """Click callback: refuse an argument the database could not store (a NUL, or bytes that are
    not UTF-8), naming the argument, before anything is done."""
    if isinstance(value, str) and (problem := unstorable(value)):
        raise click.BadParameter(f"contains {problem}")
    return value


def email_argument(ctx, param, value):
    """Click callback for a user's EMAIL: ``storable_text``, and not empty (a blank one said "no
    user with the email " and nothing after it)."""
    value = storable_text(ctx, param, value)
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("is empty: give the user's email address")
    return value


def existing_email_argument(ctx, param, value):
    """Click callback for the EMAIL of a user to find: ``email_argument``, and no invisible or
    control character (no user's email has one, ``services.validate_email``); it would otherwise be
    printed back as it is in "no user with the email ...", where a terminal acts on it."""
    value = email_argument(ctx, param, value)
    hidden = services.hidden_character(value) if isinstance(value, str) else None
    if hidden:
        raise click.BadParameter(f"holds an invisible or control character ({hidden}), which no user's email has")
    return value


def password_option(ctx, param, value):
    """Click callback for a --password: ``storable_text``, and no invisible or control character
    (a tab, an escape, a zero-width space...): no one could type it in the sign-in form."""
    value = storable_text(ctx, param, value)
    hidden = services.hidden_character(value) if isinstance(value, str) else None
    if hidden:
        raise click.BadParameter(f"holds an invisible or control character ({hidden}), which no one could type "
                                 f"when signing in")
    return value


def name_option(ctx, param, value):
    """Click callback for a --name: ``storable_text``, and not empty (it stood for the default,
    silently: leave --name out for that)."""
    value = storable_text(ctx, param, value)
    if isinstance(value, str) and not value.strip():
        raise click.BadParameter("is empty: give a display name, or leave --name out for the part of the email "
                                 "before the @")
    return value


def _fail(message: str) -> None:
    raise click.ClickException(message)


def _workspace(workspace_id: int | None) -> Workspace:
    if workspace_id is None:
        return services.default_workspace()
    workspace = db.session.get(Workspace, workspace_id) if is_table_id(workspace_id) else None
    if workspace is None:
        _fail(f"no workspace with id {workspace_id}")
    return workspace


def upgrade_database() -> None:
    """Run the Alembic migrations to head (idempotent). Refuses, in one line, a database that a
    newer version of the hub migrated (Alembic would stop on "Can't locate revision")."""
    from flask_migrate import upgrade

    from hub.store import schema

    newer = schema.migrated_by_newer_version(current_app)
    if newer:
        _fail(newer)
    upgrade(directory=current_app.extensions["migrate"].directory)


def initialize(email: str | None, password: str | None, name: str | None = None) -> tuple[User, str | None, bool]:
    """Migrate, create the default workspace and, when there is none, a first Super Admin (named
    ``name``, else the part of the email before the @, as ``hub users create`` does).
    Returns the Super Admin, the password generated for it (if any), and whether it was created now."""
    upgrade_database()
    workspace = services.default_workspace()
    existing = db.session.scalar(sa.select(User).where(User.workspace_id == workspace.id, User.role == SUPER_ADMIN))
    if existing is not None:
        db.session.commit()  # end the read transaction (SQLite: it holds the write lock)
        return existing, None, False
    user, generated = services.create_user(workspace.id, email or "admin@example.com", SUPER_ADMIN,
                                           password=password, name=name or "", actor="hub init")
    return user, generated, True


@click.command("init")
@click.option("--email", default=None, callback=storable_text,
              help="Email of the first Super Admin (default: admin@example.com).")
@click.option("--password", default=None, callback=password_option,
              help=f"Password for the first Super Admin ({services.MIN_PASSWORD} to {services.MAX_PASSWORD} characters, not "
                   "only spaces; default: generated and printed).")
@click.option("--name", default=None, callback=name_option,
              help="Display name of the first Super Admin (default: the part of the email before the @).")
@click.option("--non-interactive", is_flag=True,
              help="Never prompt; generate what is not given (also when standard input is not a terminal).")
@with_appcontext
def init_command(email, password, name, non_interactive):
    """Create the database (migrations), the default workspace and a first Super Admin (only when
    the workspace has none: an existing one is kept, and --email, --password and --name are then
    unused; they are checked first all the same, before anything is migrated)."""
    if email is not None and not email.strip():
        raise click.BadParameter("is empty: give the first Super Admin's email address", param_hint="'--email'")
    if email is None and not non_interactive and sys.stdin.isatty():  # a script or a container has no one to ask
        email = click.prompt("Super Admin email", default="admin@example.com")
    from hub.config import unset_database_in_production

    if problem := unset_database_in_production(current_app, then="run `hub init` again"):  # a database of its own
        _fail(problem)
    # before the migrations: a refused value must not leave a database made without its Super Admin
    for option, check in (("email", lambda: email is None or services.validate_email(email)),
                          ("name", lambda: name is None or services.validate_name(name, email or "admin@example.com")),
                          ("password", lambda: password is None or services.validate_password(password))):
        try:
            check()
        except HubError as exc:
            raise click.BadParameter(exc.message, param_hint=f"'--{option}'") from None
    try:
        user, generated, created = initialize(email, password, name)
    except HubError as exc:
        _fail(exc.message)
    from hub.cli import database_url_shown

    click.echo(f"Database ready at {database_url_shown(current_app.config['DATABASE_URL'])}")
    if not created:
        given = " and ".join(f"--{option}" for option, value in (("email", email), ("password", password),
                                                                  ("name", name)) if value)
        unused = f" ({given} {'was' if ' and ' not in given else 'were'} not used; change users with `hub users`)" if given else ""
        click.echo(f"Super Admin: {user.email} already exists{unused}")
    elif generated:
        click.echo(f"Super Admin: {user.email}  password: {generated}")
    else:
        click.echo(f"Super Admin: {user.email} (with the password given)")


# --------------------------------------------------------------------------- users


@click.group("users")
def users_group():
    """Create, list and change users."""


@users_group.command("create")
@click.argument("email", callback=email_argument)
@click.option("--role", type=click.Choice(ROLES), default="team_member", show_default=True)
@click.option("--password", default=None, callback=password_option,
              help=f"{services.MIN_PASSWORD} to {services.MAX_PASSWORD} characters, not only spaces. Default: generated "
                   "and printed.")
@click.option("--name", default=None, callback=name_option,
              help="Display name (default: the part of the email before the @).")
@workspace_option
@with_appcontext
def users_create(email, role, password, name, workspace_id):
    """Create a user with EMAIL."""
    workspace = _workspace(workspace_id)
    try:
        user, generated = services.create_user(workspace.id, email, role, password=password, name=name or "",
                                               actor="cli")
    except HubError as exc:
        _fail(exc.message)
    click.echo(f"created {user.email} ({user.role_label})" + (f" password: {generated}" if generated else ""))


@users_group.command("list")
@workspace_option
@with_appcontext
def users_list(workspace_id):
    """List the users of a workspace."""
    workspace = _workspace(workspace_id)
    rows = db.session.scalars(sa.select(User).where(User.workspace_id == workspace.id).order_by(User.email))
    for user in rows:
        click.echo(f"{user.id}\t{user.email}\t{user.role}\t{'active' if user.active else 'deactivated'}")


@users_group.command("set-role")
@click.argument("email", callback=existing_email_argument)
@click.argument("role", type=click.Choice(ROLES))
@with_appcontext
def users_set_role(email, role):
    """Give the user with EMAIL a new ROLE."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        _fail(f"no user with the email {email}")
    try:
        services.set_role(user, role, actor="cli")
    except HubError as exc:
        _fail(exc.message)
    click.echo(f"{user.email} is now {user.role_label}")


@users_group.command("set-password")
@click.argument("email", callback=existing_email_argument)
@click.option("--password", default=None, callback=password_option,
              help=f"The new password ({services.MIN_PASSWORD} to {services.MAX_PASSWORD} characters, not only spaces). "
                   "Default: generated and printed.")
@with_appcontext
def users_set_password(email, password):
    """Give the user with EMAIL a new password (for a lost password: no current one needed). The old
    one stops working, every session signed in with it is signed out, and the sign-in locks on the
    email are lifted, from every address. Their API tokens are kept."""
    user = db.session.scalar(sa.select(User).where(User.email == email.strip().lower()))
    if user is None:
        _fail(f"no user with the email {email}")
    try:
        generated = services.set_password(user, password, actor="cli")
    except HubError as exc:
        _fail(exc.message)
    deactivated = "" if user.active else " (the account is deactivated: reactivate it on the Users page)"
    click.echo(f"{user.email} has a new password" + (f": {generated}" if generated else "") + deactivated)


# --------------------------------------------------------------------------- plugins


@click.group("plugins")
def plugins_group():
    """List installed plugins; enable or disable them per workspace."""


@plugins_group.command("list")
@workspace_option
@with_appcontext
def plugins_list(workspace_id):
    """Installed plugins with kind, version, hooks, and whether enabled in the workspace."""
    runtime = get_runtime()
    workspace = _workspace(workspace_id)
    for name in runtime.registry.names():
        spec = runtime.registry.spec(name)
        row = runtime.integration(workspace.id, name)
        state = "enabled" if row is not None and row.enabled else "disabled"
        click.echo(f"{name}\t{spec.kind}\t{spec.version or '-'}\t{state}\t{','.join(runtime.registry.hooks_of(name))}")


def _set_enabled(name: str, enabled: bool, workspace_id: int | None) -> None:
    runtime = get_runtime()
    workspace = _workspace(workspace_id)
    if name not in runtime.registry.specs:
        _fail(f"no plugin named {name!r} is installed (installed: {', '.join(runtime.registry.names()) or 'none'})")
    try:
        services.set_enabled(runtime, workspace.id, name, enabled, actor="cli")
    except HubError as exc:  # another ATS is enabled
        _fail(exc.message)
    click.echo(f"{name} {'enabled' if enabled else 'disabled'} in workspace {workspace.id}")


@plugins_group.command("enable")
@click.argument("name")
@workspace_option
@with_appcontext
def plugins_enable(name, workspace_id):
    """Enable plugin NAME in a workspace."""
    _set_enabled(name, True, workspace_id)


@plugins_group.command("disable")
@click.argument("name")
@workspace_option
@with_appcontext
def plugins_disable(name, workspace_id):
    """Disable plugin NAME in a workspace (its open deliveries, pending, running or retrying, are
    cancelled)."""
    _set_enabled(name, False, workspace_id)


# --------------------------------------------------------------------------- deliveries


@click.group("deliveries")
def deliveries_group():
    """Inspect and replay deliveries."""


@deliveries_group.command("list")
@click.option("--status", type=click.Choice(DELIVERY_STATUSES), default=None,
              help="Only this status (default: retry and dead).")
@click.option("--limit", type=click.IntRange(1, 10000), default=50, show_default=True)
@with_appcontext
def deliveries_list(status, limit):
    """List deliveries that failed (retrying or dead) or have a given status."""
    statuses = [status] if status else ["retry", D_DEAD]
    rows = db.session.execute(
        sa.select(Delivery, Event.type).join(Event).where(Delivery.status.in_(statuses))
        .order_by(Delivery.id.desc()).limit(limit)).all()
    if not rows:
        click.echo("no deliveries with status " + " or ".join(statuses))
    for delivery, event_type in rows:
        click.echo(f"{delivery.id}\t{delivery.plugin}\t{event_type}\t{delivery.status}\tattempts={delivery.attempts}\t"
                   f"{(delivery.last_error or '')[:120]}")


@deliveries_group.command("replay")
@click.argument("delivery_ids", nargs=-1, type=int)
@click.option("--all-dead", is_flag=True,
              help="Replay every dead delivery. One that cannot be replayed (e.g. its plugin is disabled, or "
                   "has no usable credentials) is skipped with a warning and the rest are replayed; the exit "
                   "status is then 1. None dead is a success (exit status 0).")
@with_appcontext
def deliveries_replay(delivery_ids, all_dead):
    """Make DELIVERY_IDS (or every dead delivery) run again now.

    A DELIVERY_ID that cannot be replayed (unknown, still pending or running, its plugin disabled,
    or without usable credentials: enabled again after a revoke before they were entered again, or
    refused by the vendor) stops the command with an error. With --all-dead, a dead delivery that
    cannot be replayed is skipped with a warning, the others are replayed, and the command exits
    with status 1 at the end (as Activity's "Replay all dead" does, in every workspace). A queue
    that cannot be reached (Redis down) stops it before anything is replayed, with exit status 1.
    """
    runtime = get_runtime()
    named = list(dict.fromkeys(delivery_ids))  # each once, in the order given
    if not named and not all_dead:
        raise click.UsageError("give delivery ids or --all-dead")
    if named or db.session.scalar(services.bulk_replay_query(None, D_DEAD).limit(1)) is not None:
        # before any is made due: "replayed" with no worker woken (the queue down) was a traceback
        # logged, then exit status 0
        from hub.cli.serve import require_queue

        require_queue(then="run the command again (nothing was replayed)")
    for delivery_id in named:
        delivery = db.session.get(Delivery, delivery_id) if is_table_id(delivery_id, ID64_MAX) else None
        try:
            if delivery is None:
                raise NotFound(f"no delivery with id {delivery_id}")
            services.replay_delivery(runtime, delivery.workspace_id, delivery_id, actor="cli")
        except HubError as exc:
            _fail(exc.message if delivery is None else f"delivery {delivery_id}: {exc.message}")
        click.echo(f"delivery {delivery_id} replayed")
    if not all_dead:
        return
    # the named ones ran again already (and may have died again): not twice
    result = services.replay_all(runtime, None, D_DEAD, actor="cli", exclude=named)
    if not named and not result.replayed and not result.skipped:
        # nothing to do is not a failure: a runbook or a cron job runs this after every outage
        click.echo("no dead deliveries: nothing to replay")
        return
    skipped = dict(result.skipped)
    for delivery_id in sorted({*result.replayed, *skipped}):
        if delivery_id in skipped:
            click.echo(f"warning: skipped delivery {delivery_id}: {skipped[delivery_id]}", err=True)
        else:
            click.echo(f"delivery {delivery_id} replayed")
    if skipped:
        count = len(skipped)
        _fail(f"{count} dead deliver{'y was' if count == 1 else 'ies were'} not replayed (see the warnings above)")


# --------------------------------------------------------------------------- keys


@click.group("keys")
def keys_group():
    """Encryption key management."""


@keys_group.command("rotate")
@with_appcontext
def keys_rotate():
    """Re-encrypt every stored secret with the first key of HUB_ENCRYPTION_KEYS (all or nothing:
    a secret no key decrypts stops the command before anything is written)."""
    box = get_runtime().secret_box
    count = 0
    # locked until the commit: a token refresh that wrote meanwhile would be overwritten by the old
    # secrets re-encrypted (it waits, then writes its own with the new first key)
    for row in db.session.scalars(sa.select(Integration).where(Integration.secrets_encrypted.is_not(None))
                                  .with_for_update()):
        try:
            row.secrets_encrypted = box.rotate(row.secrets_encrypted)
        except ConfigError as exc:
            where = f"{row.plugin} in workspace {row.workspace_id}"
            db.session.rollback()
            _fail(f"{exc} (the secrets of {where}); nothing was re-encrypted")
        count += 1
    db.session.commit()
    click.echo(f"re-encrypted the secrets of {count} integration(s)")


COMMANDS = (init_command, users_group, plugins_group, deliveries_group, keys_group)
