"""``hub demo``: the hub on its embedded default with every plugin's sandbox, seeded and connected."""

from __future__ import annotations

import ipaddress
import os
import socket
import tempfile

import click

from hub.cli.serve import listen_address
from hub.kit.vendor_http import control_characters

DEMO_EMAIL = "admin@example.com"
DEMO_PASSWORD = "hub-demo-password"
# What the demo keeps in its folder (an embedded hub's instance folder): ``--reset`` deletes these
# (with SQLite's files beside a database) and keeps a ``hub.cfg``; a folder holding anything else
# is not a demo's (``--instance ~`` or ``/`` by mistake), and --reset refuses it
DEMO_FILES = frozenset({"secret_key", "encryption_keys",
                        *(f"{db}{end}" for db in ("hub.db", "queue.db") for end in ("", "-wal", "-shm", "-journal"))})
KEPT_FILES = frozenset({"hub.cfg"})
# Written by the demo into its folder: an embedded hub's own instance folder holds the same files,
# and --reset must not take it for a demo's (``hub demo --reset --instance ./instance``)
DEMO_MARKER = "hub-demo"
DEMO_MARKER_TEXT = ("This folder holds the data of `hub demo`. `hub demo --reset` deletes its databases and keys; "
                    "it refuses a folder without this file.\n")


def _port(host: str, preferred: int) -> int:
    """``preferred`` if it is free, else any free port. Probed as the servers bind (reusing
    addresses): a port left in TIME_WAIT by the last demo's connections is free for them."""
    for candidate in (preferred, 0):
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, candidate))
            except OSError:
                continue
            return probe.getsockname()[1]
    raise click.ClickException(f"no free port on {host}")


def instance_folder(ctx, param, value: str | None) -> str | None:
    """Click callback for --instance: not empty (it stood for the default, silently), and no
    control or invisible character (a folder named so is a mistake, and shows as another name)."""
    if value is None:
        return value
    if not value.strip():
        raise click.BadParameter("is empty: name a folder, or leave --instance out for <HUB_INSTANCE_PATH>/demo")
    hidden = control_characters(value)
    if hidden:
        raise click.BadParameter(f"{value!r} holds an invisible or control character (U+{ord(hidden[0]):04X})")
    return value


def not_empty(ctx, param, value: str | None) -> str | None:
    if value is not None and not value.strip():
        raise click.BadParameter("is empty: name an ATS plugin, or leave --source out for the first by name")
    return value


def reset_folder(folder: str, default: bool = False) -> None:
    """Delete the demo's files in ``folder`` (``DEMO_FILES``); a folder holding other files, or
    holding a hub's files without the ``DEMO_MARKER`` (unless it is the ``default`` demo folder,
    which demos made before the marker), is refused before anything is deleted, as a usage error
    naming a few of them."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    except OSError as exc:
        raise click.BadParameter(f"cannot read {folder}: {exc.strerror or exc}", param_hint="'--instance'") from None
    foreign = sorted(name for name in names if name not in KEPT_FILES | {DEMO_MARKER} and not (
        name in DEMO_FILES and os.path.isfile(os.path.join(folder, name))))
    if foreign:
        shown = ", ".join(foreign[:3]) + (f" and {len(foreign) - 3} more" if len(foreign) > 3 else "")
        raise click.BadParameter(f"{folder} is not a demo's folder: it holds {shown}. --reset deletes only the "
                                 f"demo's own files, in a folder holding nothing else", param_hint="'--instance'")
    if DEMO_FILES.intersection(names) and DEMO_MARKER not in names and not default:
        raise click.BadParameter(f"{folder} holds a hub's database and keys, but `hub demo` did not make it (it has no "
                                 f"{DEMO_MARKER} file): --reset deletes only a demo's data. To start a hub afresh, "
                                 "move that folder away yourself", param_hint="'--instance'")
    for name in names:
        if name in DEMO_FILES:
            os.remove(os.path.join(folder, name))


def writable_folder(folder: str) -> None:
    """Create ``folder`` if need be and check that a file can be written in it (as root, ``os.access``
    says yes to /proc), else a usage error saying why, before anything is started. A new folder, or
    one with no hub data yet, gets the ``DEMO_MARKER`` file: it is the demo's."""
    try:
        os.makedirs(folder, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
        if not DEMO_FILES.intersection(os.listdir(folder)):
            with open(os.path.join(folder, DEMO_MARKER), "w", encoding="utf-8") as marker:
                marker.write(DEMO_MARKER_TEXT)
    except OSError as exc:
        raise click.BadParameter(f"cannot write in {folder}: {exc.strerror or exc}", param_hint="'--instance'") from None


def _check_source(source: str, registry) -> None:
    """``--source`` must name an ATS plugin with a sandbox the demo can connect; else a usage error
    naming those installed."""
    from hub.demo import demo_sources, sandbox_specs

    sources = demo_sources(registry, list(sandbox_specs(registry)))
    if source not in sources:
        raise click.BadParameter(f"{source!r} is not an ATS plugin with a sandbox (those installed: "
                                 f"{', '.join(sources) or 'none'})", param_hint="--source")


def loopback_address(ctx, param, host: str) -> str:
    """Click callback: ``listen_address``, and an IPv4 address only this machine reaches. The demo's
    Super Admin has a published password and its sandboxes take any credentials: served on
    another interface, anyone on the network could sign in."""
    host = listen_address(ctx, param, host)
    try:  # IPv4: the demo's servers and the addresses it prints are IPv4 ones
        addresses = {info[4][0] for info in socket.getaddrinfo(host, 0, socket.AF_INET, socket.SOCK_STREAM)}
        loopback = all(ipaddress.ip_address(address).is_loopback for address in addresses)
    except (OSError, ValueError):
        loopback = False
    if not loopback:
        raise click.BadParameter(f"{host!r} is not an IPv4 loopback address (e.g. 127.0.0.1 or localhost): the "
                                 f"demo's Super Admin has a published password. For a hub others reach, use `hub run`.")
    return host


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True, callback=loopback_address,
              help="Loopback address for the hub and sandboxes (another address is refused: the demo's "
                   "password is published).")
@click.option("--port", type=click.IntRange(0, 65535), default=5000, show_default=True,
              help="Hub port. The sandboxes take the ports after it, one per plugin with a sandbox in name "
                   "order (bundled: canditech +1, lever +2, vervoe +3); busy ports are replaced by free "
                   "ones; 0: free ports for all.")
@click.option("--reset", is_flag=True,
              help="Delete the demo's data from earlier runs (its databases and keys; a hub.cfg is kept) and start "
                   "afresh. A folder holding other files is refused: it is not a demo's.")
@click.option("--instance", "instance_path", default=None, type=click.Path(file_okay=False), callback=instance_folder,
              help="Folder for the demo's database and keys, created if need be (default: <HUB_INSTANCE_PATH>/demo, "
                   "./instance/demo when HUB_INSTANCE_PATH is unset).")
@click.option("--source", default=None, metavar="PLUGIN", callback=not_empty,
              help="The ATS plugin to connect when several have a sandbox (a workspace has one ATS; default: "
                   "the first by name). An earlier run's ATS stays: add --reset to change it.")
def demo_command(host, port, reset, instance_path, source):
    """Run a clickable demo: the hub (embedded default) plus the sandbox of every plugin that has
    one (bundled: Canditech, Lever, Vervoe), a Super Admin, each of those plugins connected (of
    several ATS plugins, one: a workspace has one ATS), and each assessment provider's first
    assessment attached to the first open posting's stage whose
    name contains the provider's title ("Canditech Stage", "Vervoe Stage").

    Ctrl-C stops everything. Running it again reuses the demo data; --reset starts afresh.
    """
    from hub.app import create_app
    from hub.cli.admin import upgrade_database
    from hub.cli.serve import serve
    from hub.demo import connect_workspace, sandbox_specs, start_sandbox_threads
    from hub.config import default_instance_path
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub import services
    from hub.store.models import SUPER_ADMIN, User

    import sqlalchemy as sa

    default_folder = os.path.abspath(os.path.join(default_instance_path(), "demo"))
    folder = os.path.abspath(instance_path) if instance_path else default_folder
    if reset:
        if source is not None:  # a mistyped --source must not cost the demo's data
            with tempfile.TemporaryDirectory() as scratch:
                probe = create_app({"INSTANCE_PATH": scratch, "PUBLIC_URL": "http://127.0.0.1", "ENV": "embedded"})
                try:
                    _check_source(source, get_runtime(probe).registry)
                finally:
                    with probe.app_context():
                        db.engine.dispose()
        reset_folder(folder, default=folder == default_folder)
    writable_folder(folder)
    hub_port = _port(host, port) if port else _port(host, 0)
    public_url = f"http://{host}:{hub_port}"
    app = create_app({"INSTANCE_PATH": folder, "PUBLIC_URL": public_url, "ENV": "embedded",
                      "RECONCILE_INTERVAL_SECONDS": 60.0})
    runtime = get_runtime(app)
    names = list(sandbox_specs(runtime.registry))
    if source is not None:
        _check_source(source, runtime.registry)
    ports = {name: _port(host, hub_port + 1 + i if port else 0) for i, name in enumerate(names)}
    sandboxes = start_sandbox_threads(runtime.registry, host, ports)
    try:
        with app.app_context():
            upgrade_database()
            workspace = services.default_workspace()
            admin = db.session.scalar(sa.select(User).where(User.email == DEMO_EMAIL))
            if admin is None:
                services.create_user(workspace.id, DEMO_EMAIL, SUPER_ADMIN, password=DEMO_PASSWORD,
                                     name="Demo Admin", actor="hub demo")
            elif admin.role != SUPER_ADMIN or not admin.active:
                admin.role, admin.active = SUPER_ADMIN, True
                db.session.commit()
            setup = connect_workspace(runtime, workspace.id, {n: url for n, (url, _) in sandboxes.items()},
                                      source=source)
        _print_banner(public_url, sandboxes, runtime.registry, setup)

        serve(app, host, hub_port, with_worker=True, workers=None)
    finally:
        for _, stop in sandboxes.values():
            stop()
        click.echo("demo stopped")


def story_steps(registry, setup) -> list[str]:
    """The demo's story in steps, named after what this demo connected and attached: the
    workspace's ATS, the first attachment's stage, posting and provider."""
    ats = registry.title(setup.source) if setup.source else None
    if ats is None:
        return ["Hub > Integrations: connect an ATS (none of the plugins with a sandbox is one), then attach an "
                "assessment to one of its stages on Pipeline."]
    if not setup.attached:
        return ["Hub > Pipeline: attach an assessment to a stage of a posting (the demo attached none: see above).",
                f"{ats} sandbox: move a candidate of that posting into that stage.",
                "Hub > Candidates: the candidate is invited. Open the invite link and answer the test.",
                f"{ats} sandbox: the candidate has a note with the score and the report link."]
    first = setup.attached[0]
    return ["Hub > Integrations: the plugins above are connected; Pipeline shows the attached assessments.",
            f'{ats} sandbox: move a candidate of "{first.posting}" into "{first.stage}" (Move).',
            "Hub > Candidates: the candidate is invited. Open the invite link and answer the test.",
            f"{ats} sandbox: the candidate has a note with the score and the report link.",
            f"{first.provider_title} sandbox: give the result a thumbs up or down. {ats} shows the verdict, and "
            "the hub's timeline too."]


def _print_banner(public_url, sandboxes, registry, setup) -> None:
    click.echo("")
    click.echo("ATS Hub demo is running (Ctrl-C stops everything)")
    click.echo(f"  Hub:  {public_url}   sign in as {DEMO_EMAIL} / {DEMO_PASSWORD}")
    for name, (url, _) in sandboxes.items():
        click.echo(f"  {registry.spec(name).title} sandbox:  {url}")
    for message in setup.messages:
        click.echo(f"  - {message}")
    for attachment in setup.attachments:
        click.echo(f"  - attached {attachment}")
    click.echo("")
    click.echo("The story, step by step:")
    for number, step in enumerate(story_steps(registry, setup), start=1):
        click.echo(f"  {number}. {step}")
    click.echo("")
