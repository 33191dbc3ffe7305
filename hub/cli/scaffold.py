"""``hub new-plugin NAME --kind assessment|source``: a plugin distribution that installs and passes
its tests as generated (entry point, hook implementations, a sandbox stub, contract tests, hook
tests for an assessment plugin and story tests for a source)."""

from __future__ import annotations

import keyword
import os
import re
import shlex
import sys
from pathlib import Path
from string import Template

import click

from hub.cli import scaffold_templates as templates
from hub.words import with_article

NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,40}$")
RESERVED_NAMES = {"hub"}  # the source name of the events the hub itself emits


def installed_plugin_names() -> set[str]:
    """The names of the plugins installed in this environment (their entry points)."""
    from importlib import metadata

    from hub.plugins.manager import ENTRY_POINT_GROUP

    return {ep.name for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)}


def render_plugin(name: str, kind: str) -> dict[str, str]:
    """The files of a new plugin distribution, by relative path."""
    package = f"ats_hub_{name}"
    title = name.replace("_", " ").title()
    values = {"name": name, "package": package, "title": title, "a_title": with_article(title), "kind": kind,
              "env": name.upper()}
    plugin = templates.ASSESSMENT_PLUGIN if kind == "assessment" else templates.SOURCE_PLUGIN
    sandbox = templates.ASSESSMENT_SANDBOX if kind == "assessment" else templates.SOURCE_SANDBOX
    tests = templates.ASSESSMENT_TESTS if kind == "assessment" else templates.SOURCE_TESTS
    files = {
        "pyproject.toml": templates.PYPROJECT,
        "README.md": templates.README,
        ".gitignore": templates.GITIGNORE,  # the README's .venv, and what an editable install leaves
        f"{package}/__init__.py": plugin,
        f"{package}/sandbox/__init__.py": sandbox,
        f"{package}/sandbox/__main__.py": templates.SANDBOX_MAIN,
        "tests/__init__.py": "",
        "tests/test_contract.py": tests,
    }
    if kind == "assessment":
        files["tests/conftest.py"] = templates.CONFTEST
        files["tests/test_hooks.py"] = templates.ASSESSMENT_HOOK_TESTS
        files["tests/test_cancel.py"] = templates.ASSESSMENT_CANCEL_TESTS
        files["tests/test_webhooks.py"] = templates.ASSESSMENT_WEBHOOK_TESTS
    else:
        files["tests/test_webhooks.py"] = templates.SOURCE_WEBHOOK_TESTS
    return {path: Template(text).substitute(values) for path, text in files.items()}


@click.command("new-plugin")
@click.argument("name")
@click.option("--kind", type=click.Choice(["assessment", "source"]), required=True,
              help="An assessment provider or a source (ATS).")
@click.option("--directory", type=click.Path(file_okay=False), default=None,
              help="The plugin's own directory (created; must be empty). Default: ./ats-hub-NAME, with NAME's "
                   "underscores as hyphens.")
def new_plugin_command(name, kind, directory):
    """Create a plugin distribution NAME: pyproject with the `ats_hub` entry point, hook
    implementations, a sandbox stub of the vendor, contract tests from `hub.testing` and, for an
    assessment plugin, hook tests through a served hub (`hub.testing.ProviderHub`); for a source,
    its story (webhook, invitation, result written back) through `hub.testing.SourceHub`.

    Then (the command prints the commands, with your directory): give the plugin a virtual
    environment of its own, with the hub and the plugin's [test] extra (pytest, which `hub.testing`
    needs), and run its tests there, or run them without installing the plugin
    (HUB_EXTRA_PLUGIN_MODULES). Installing adds the plugin to every hub run from that environment,
    so not into the hub's own: docs/plugin-guide.md, "Your first plugin".

    NAME is 2-41 lower-case letters, digits or underscores, starting with a letter; not a Python
    keyword (such as class or import), not hub (reserved for the events the hub emits itself), and
    not the name of a plugin already installed where hub runs. It is the plugin's name everywhere:
    its entry point, HUB_PLUGINS, `hub plugins enable NAME`, its webhook URL.
    """
    if not NAME_RE.match(name):
        raise click.BadParameter("use 2-41 lower-case letters, digits or underscores, starting with a letter",
                                 param_hint="NAME")
    if keyword.iskeyword(name):
        raise click.BadParameter(f"{name!r} is a Python keyword; choose another name", param_hint="NAME")
    if name in RESERVED_NAMES:
        raise click.BadParameter(f"{name!r} is reserved for the hub's own events; choose another name",
                                 param_hint="NAME")
    if name in installed_plugin_names():
        raise click.BadParameter(f"a plugin named {name!r} is already installed, and two plugins with one name "
                                 "cannot both load; choose another name", param_hint="NAME")
    if directory is not None and not directory.strip():
        raise click.BadParameter("is empty: name a folder, or leave --directory out for ./ats-hub-NAME",
                                 param_hint="'--directory'")
    target = Path(directory or f"ats-hub-{name.replace('_', '-')}")
    try:
        occupied = target.exists() and any(target.iterdir())
    except OSError as exc:  # a name too long for the file system, a folder it may not read: said, not raised
        raise click.BadParameter(f"cannot use {target}: {exc.strerror or exc}", param_hint="'--directory'") from None
    if occupied:
        raise click.ClickException(f"{target} exists and is not empty: name a new or empty folder with --directory")
    try:
        for relative, text in render_plugin(name, kind).items():
            path = target / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)
    except OSError as exc:  # a parent that cannot be created or written to: said in words, not as FileNotFoundError
        raise click.ClickException(f"cannot write the plugin into {target}: {exc.strerror or exc}") from None
    click.echo(f"created {kind} plugin {name!r} in {target}")
    click.echo(next_steps(name, target))


def hub_requirement() -> str:
    """How pip installs the hub running this command into another environment: ``-e`` its source
    tree when it runs from one (a development install), else its distribution name."""
    import hub

    tree = Path(hub.__file__).resolve().parent.parent
    return f"-e {shlex.quote(str(tree))}" if (tree / "pyproject.toml").is_file() else "ats-hub"


def next_steps(name: str, target: Path) -> str:
    """What to run after ``hub new-plugin``: first a virtual environment of the plugin's own (an
    entry point installed where the hub runs loads in every ``hub`` command and test run there, the
    hub's own test suite included), or the tests without installing."""
    directory = str(target) if target.is_absolute() else f"./{target}"
    # the interpreter running this command, where the hub is installed: a bare ``python`` is another
    # environment's; absolute, as it must still name it after the ``cd`` (never resolved: a virtual
    # environment's python is a link, and resolving it would leave the environment)
    hub_python = shlex.quote(os.path.abspath(sys.executable))
    venv = f"{directory}/.venv"
    package = f"ats_hub_{name}"
    return "\n".join([
        "next, in a virtual environment of the plugin's own (installed into the hub's environment, the plugin "
        "would load in every hub command and test run there):",
        f"  {hub_python} -m venv {shlex.quote(venv)}",
        f"  {shlex.quote(venv + '/bin/pip')} install {hub_requirement()} -e {shlex.quote(directory + '[test]')}",
        f"  {shlex.quote(venv + '/bin/python')} -m pytest {shlex.quote(directory + '/tests')}",
        "or, without installing it, with the hub's own Python (pytest installed with it: the hub's test extra):",
        f"  cd {shlex.quote(directory)} && PYTHONPATH=. HUB_EXTRA_PLUGIN_MODULES={name}={package} "
        f"{hub_python} -m pytest tests",
    ])
