"""``hub run`` (web server plus in-process workers, the embedded default) and ``hub worker``."""

from __future__ import annotations

import socket

import click
from flask import current_app, has_app_context
from flask.cli import with_appcontext

from hub.config import is_production
from hub.store import schema


def bind(app, host: str, port: int):
    """werkzeug's threaded server for ``app``, listening on ``host:port`` (0: a free port).
    Raises ``click.ClickException`` when it cannot (werkzeug itself would print several lines and
    exit)."""
    from werkzeug.serving import make_server

    from werkzeug.serving import select_address_family

    try:  # the address family and socket options of werkzeug's server, which reuses addresses
        family = select_address_family(host, port)
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    return make_server(host, port, app, threaded=True)


def serve(app, host: str, port: int, with_worker: bool, workers: int | None, on_ready=None, server=None) -> None:
    """Serve ``app`` with werkzeug's threaded server (``server``, or one bound now) until Ctrl-C
    or SIGTERM, with worker threads if asked; both signals stop the workers gracefully."""
    import signal

    from hub.engine.queue import Worker
    from hub.extensions import db

    # the serving threads and workers use their own sessions: hold nothing here. Flask-SQLAlchemy
    # scopes a session to its app context, so the session to clear is the current context's
    # (``hub run``); ``hub demo`` serves an app of its own, whose context is not pushed.
    if has_app_context() and current_app._get_current_object() is app:
        db.session.remove()
    else:
        with app.app_context():
            db.session.remove()
    worker = Worker(app, workers) if with_worker else None
    server = server or bind(app, host, port)

    def terminate(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)
    if worker:
        worker.start()
    try:
        if on_ready:
            on_ready(server)
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        if worker:
            worker.stop()


def require_tables() -> None:
    """Stop a command that serves or works on a database that was never migrated (or is behind
    this version of the hub), in one line: its workers would otherwise log a traceback every few
    seconds for ever, and its web pages fail. Stored secrets its encryption keys cannot decrypt
    (``HubRuntime.unreadable_secrets``) are said in a warning line: the process still starts, as
    every other would with a lost key, and its deliveries that need them wait."""
    import sqlalchemy as sa

    from hub.cli import NO_TABLES, database_url_shown
    from hub.extensions import db

    try:  # on the session's connection: on SQLite another one would wait for the lock a read of it holds
        present = set(sa.inspect(db.session.connection()).get_table_names())
    finally:
        db.session.rollback()  # hold no transaction while serving (on SQLite it holds the write lock)
    missing = sorted(set(db.metadata.tables) - present)
    if missing and len(missing) == len(db.metadata.tables):  # named: a forgotten HUB_ENV means the embedded SQLite
        from hub.config import unset_database_in_production

        unset = unset_database_in_production(current_app)  # production: not `hub init` there, the setting
        if unset:
            raise click.ClickException(unset)
        named = f"the database {database_url_shown(db.engine.url)}"
        raise click.ClickException(NO_TABLES.replace("the database", named, 1))
    if missing:
        raise click.ClickException(f"the database lacks tables of this version of the hub ({', '.join(missing)}): "
                                   "run `hub db upgrade`")
    current, head = schema.revisions(current_app)
    if current is not None and current != head and not schema.knows(current_app, current):
        raise click.ClickException(schema.newer_version_message(current, head))
    if current != head:  # a migration that only adds columns leaves every table there
        raise click.ClickException(f"the database is at migration {current or 'none'}, this version of the hub "
                                   f"needs {head}: run `hub db upgrade`")
    from hub.runtime import get_runtime

    unreadable = get_runtime().unreadable_secrets()  # said at start; its deliveries wait (not refused: a lost key)
    if unreadable:
        click.echo(f"Warning: {unreadable}", err=True)


def require_queue(then: str = "start again") -> None:
    """Stop a command that runs workers (or serves webhooks) when the queue cannot be reached, in
    one line: Huey's consumer would otherwise start and log the failure for as long as it runs.
    ``then`` ends the line's advice (a command that wakes workers says to run it again)."""
    from hub.cli import redis_url_shown
    from hub.runtime import get_runtime

    try:
        get_runtime().queue.ping()
    except Exception as exc:
        url = current_app.config.get("REDIS_URL")
        where = f"Redis, HUB_REDIS_URL {redis_url_shown(url)}" if url else "queue.db in the instance folder"
        reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0].rstrip(".")
        fix = "Start Redis or correct HUB_REDIS_URL" if url else "Check that the instance folder is writable"
        raise click.ClickException(f"the queue cannot be reached ({where}): {reason}. {fix}, then {then}.") from None


def listen_address(ctx, param, host: str) -> str:
    """Click callback: ``host`` must be an address of this machine that a server can listen on,
    checked before anything is created (a typo must not leave a database and a printed password
    behind, or pass for "no free port")."""
    if not host.strip():
        raise click.BadParameter("is empty: give an address of this machine, e.g. 127.0.0.1")
    try:
        family = socket.getaddrinfo(host, 0, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
    except (OSError, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise click.BadParameter(f"cannot listen on {host!r}: {reason}") from None
    return host


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, callback=listen_address,
              help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True, help="Port (0: any free port).")
@click.option("--workers", type=click.IntRange(1, 64), default=None, help="Worker threads (default: HUB_WORKERS).")
@click.option("--no-worker", is_flag=True, help="Serve only; run deliveries in separate `hub worker` processes.")
@with_appcontext
def run_command(host, port, workers, no_worker):
    """Run the hub: web UI, webhooks and API, plus worker threads (the embedded default).

    On first run with the embedded default it creates the database and a Super Admin, and prints
    the password. In production use gunicorn (`gunicorn -c python:hub.gunicorn_conf hub.wsgi:app`) and `hub worker` instead.
    """
    from hub.cli.admin import initialize

    app = current_app._get_current_object()
    server = bind(app, host, port)  # first: a busy port must not leave a database and a printed password behind
    # without HUB_PUBLIC_URL, the URLs given to vendors outside a request (workers: Canditech's
    # callback with each invitation) name this server, not the default port 5000; in a request
    # they keep the host the browser used (``HubRuntime.public_url``)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    app.config["SERVER_URL"] = f"http://{shown}:{server.server_port}"
    try:
        require_queue()  # before the first run's database and password, as a busy port
        if not is_production(app.config):
            user, generated, _ = initialize(None, None)
            if generated:
                click.echo(f"First run: created Super Admin {user.email} with password {generated}")
        require_tables()  # production: migrated by `hub db upgrade`, not here
    except BaseException:
        server.server_close()  # refused: the port is free again at once (a test's app, `hub demo`'s)
        raise

    def ready(server):
        click.echo(f"ATS Hub listening on http://{host}:{server.server_port} (Ctrl-C to stop)")

    serve(app, host, port, with_worker=not no_worker, workers=workers, on_ready=ready, server=server)


@click.command("worker")
@click.option("--workers", type=click.IntRange(1, 64), default=None,
              help="Worker threads (default: HUB_WORKERS), in each worker process.")
@click.option("--processes", type=click.IntRange(1, 64), default=None,
              help="Fork this many worker processes from this one and keep them running: one that dies "
                   "(killed, out of memory) is replaced by a new fork at once, without a cold start's "
                   "seconds of imports. SIGTERM or Ctrl-C stops them all gracefully. Default: this "
                   "process runs the workers itself.")
@with_appcontext
def worker_command(workers, processes):
    """Run a standalone worker: runs deliveries, re-dispatches those whose lease ran out or whose
    wake-up was lost, reconciles with vendors and purges data older than HUB_RETENTION_DAYS."""
    from hub.engine.queue import Worker

    app = current_app._get_current_object()
    require_tables()
    require_queue()
    threads = workers or app.config["WORKERS"]
    threads_said = f"{threads} thread{'' if threads == 1 else 's'}"
    if processes:
        from hub.cli.supervisor import SupervisorError, supervise

        click.echo(f"hub worker started ({processes} process{'' if processes == 1 else 'es'}, {threads_said} each)")
        try:
            supervise(app, processes, workers)
        except SupervisorError as exc:
            raise click.ClickException(str(exc)) from None
        return
    click.echo(f"hub worker started ({threads_said})")
    Worker(app, workers).run_forever()


COMMANDS = (run_command, worker_command)
