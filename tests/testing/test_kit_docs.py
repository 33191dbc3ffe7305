"""The test kit's and the plugin contract's documentation says what the code does: the fixture in
``hub/testing/provider_hub.py``'s docstring (which docs/plugin-guide.md calls the contract) is the
one ``hub new-plugin`` generates, and the guide names exactly the modules a plugin may import, the
fields ``ctx.invitations.transition`` sets and the signatures of the kit's functions."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import hub.testing.provider_hub as provider_hub
from hub.cli.scaffold import render_plugin
from hub.context import LIST_OPEN_PAGE, InvitationStore
from hub.engine.invitations import SETTABLE
from hub.testing import ProviderHub, enable_plugins, make_test_app, plugin_context, run_deliveries
from hub.testing.contract import PUBLIC_MODULES, SANDBOX_MODULES

GUIDE = (Path(__file__).resolve().parents[2] / "docs" / "plugin-guide.md").read_text()


def _section(title: str) -> str:
    """The guide's section ``## title`` up to the next ``## `` heading."""
    start = GUIDE.index(f"\n## {title}\n")
    end = GUIDE.find("\n## ", start + 1)
    return GUIDE[start:end if end != -1 else None]


def test_the_provider_hub_example_is_the_scaffolds_fixture():
    """The docstring showed ``make_test_app(..., plugins=[("acme", acme), ...], entry_points=False)``
    and a ``sandbox_url`` fixture from nowhere; the scaffold loads the plugin from its entry point."""
    example = re.search(r"```python\n(.*?)```", provider_hub.__doc__, re.S).group(1)
    conftest = render_plugin("acme", "assessment")["tests/conftest.py"]
    assert "def hub(tmp_path, sandbox_url):" in example and "def sandbox_url():" in example
    assert example in conftest


def test_the_guide_lists_exactly_the_modules_a_plugin_may_import():
    paragraph = re.search(r"\nA plugin may import (.*?)\n\n", GUIDE, re.S).group(1)
    named = set(re.findall(r"`(hub(?:\.[a-z_]+)*)`", paragraph))
    assert named == PUBLIC_MODULES
    sandbox = re.search(r"Its sandbox (.*?)\n\n", GUIDE[GUIDE.index("\nA plugin may import "):], re.S).group(1)
    assert set(re.findall(r"`(hub(?:\.[a-z_]+)*)`", sandbox)) == SANDBOX_MODULES


def plain_signature(function) -> str:
    """``function``'s parameters as the guide writes them: names and defaults, no annotations
    (``self`` left out, a tuple of statuses by their constants' names)."""
    parts, star = [], False
    for parameter in inspect.signature(function).parameters.values():
        if parameter.name == "self":
            continue
        if parameter.kind is inspect.Parameter.VAR_POSITIONAL:
            parts.append(f"*{parameter.name}")
            star = True
            continue
        if parameter.kind is inspect.Parameter.KEYWORD_ONLY and not star:
            parts.append("*")
            star = True
        default = parameter.default
        if default is inspect.Parameter.empty:
            parts.append(parameter.name)
        elif isinstance(default, tuple) and default and all(isinstance(item, str) for item in default):
            parts.append(f"{parameter.name}=({', '.join(item.upper() for item in default)})")
        else:
            parts.append(f"{parameter.name}={default!r}")
    return f"({', '.join(parts)})"


def test_the_guide_names_every_field_transition_sets_and_list_opens_signature():
    reference = _section("`ctx` reference")
    transition = re.search(r"`ctx\.invitations\.transition\(.*?\n\n", reference, re.S).group(0)
    assert set(re.findall(r"`([a-z_]+)`", transition)) >= SETTABLE
    assert f"`ctx.invitations.list_open{plain_signature(InvitationStore.list_open)}`" in reference
    assert f"limit={LIST_OPEN_PAGE}" in reference


def test_the_guide_gives_the_test_kits_signatures():
    kit = _section("The test kit (`hub.testing`)")
    for name, function in (("make_test_app", make_test_app), ("enable_plugins", enable_plugins),
                           ("run_deliveries", run_deliveries), ("ProviderHub.ingest", ProviderHub.ingest),
                           ("plugin_context", plugin_context)):
        assert f"`{name}{plain_signature(function)}`" in kit, name


def test_the_docs_say_who_hears_of_its_own_invitations_only():
    """Canditech, Vervoe and the scaffold's plugin register with ``own_invitations_only``: the hub
    announces them their own invitations only. The guide's delivery rule, its
    ``ctx.invitations.transition`` bullet, the plugins' READMEs and the scaffold's
    ``on_invitation_status`` said every enabled plugin hears of every invitation."""
    from hub.entities import IntegrationSpec
    from plugins import canditech, vervoe

    root = Path(__file__).resolve().parents[2]
    specs = []
    for module in (canditech, vervoe):
        module.register_integration(specs.append)
    assert [spec.own_invitations_only for spec in specs] == [True, True]
    generated = render_plugin("acme", "assessment")["ats_hub_acme/__init__.py"]
    assert "own_invitations_only=True" in generated
    assert IntegrationSpec.__dataclass_fields__["own_invitations_only"].default is False
    text = " ".join(GUIDE.split())
    assert "Canditech, Vervoe and the scaffold's plugin register so" in text
    hooks = _section("How the hub calls hooks")
    assert "own_invitations_only" in re.search(r"one delivery per event and per.*?\.", hooks, re.S).group(0)
    transition = re.search(r"`ctx\.invitations\.transition\(.*?\n- ", _section("`ctx` reference"), re.S).group(0)
    assert "announced to every enabled plugin's" in transition and "own_invitations_only" in transition
    for name in ("canditech", "vervoe"):
        assert "`own_invitations_only`" in (root / "plugins" / name / "README.md").read_text(), name
    status_hook = re.search(r"def on_invitation_status\(ctx, progress\):\n    \"\"\"(.*?)\"\"\"", generated, re.S).group(1)
    assert "own_invitations_only" in status_hook and "hears of every invitation" not in status_hook


def test_the_guide_says_the_pipeline_checks_the_stages_of_one_page():
    """The Pipeline page checks the stages of the attachments it shows (``PIPELINE_PAGE`` a page),
    not of every attachment: ``stages_per_posting`` saves calls per page."""
    from hub.web.ui.pipeline import PIPELINE_PAGE

    paragraph = " ".join(re.search(r"#### `source_list_stages\(.*?\n\n", GUIDE, re.S).group(0).split())
    assert f"checks the stage of every attachment it shows, {PIPELINE_PAGE} a page" in paragraph
