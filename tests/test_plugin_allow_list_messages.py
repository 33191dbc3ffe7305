"""``HUB_PLUGINS`` naming a plugin the hub cannot find stops start-up, and says how a plugin comes to
be found: its ``ats_hub`` entry point once installed, or ``HUB_EXTRA_PLUGIN_MODULES`` without
installing. It said only "no plugin of that name is installed (installed: ...)"."""

import sys

import pytest

from hub.config import ConfigError
from hub.testing import make_test_app


def test_an_unknown_name_says_how_a_plugin_is_found(tmp_path):
    with pytest.raises(ConfigError) as refused:
        make_test_app(tmp_path, {"PLUGINS": "testo"}, migrate=False)
    message = str(refused.value)
    assert message.startswith("HUB_PLUGINS lists 'testo', but no plugin of that name is installed (installed: ")
    assert ("The hub finds a plugin through its `ats_hub` entry point once its distribution is installed where the "
            "hub runs (pip install -e DIR), or, without installing, through "
            "HUB_EXTRA_PLUGIN_MODULES=testo=package.module (its package importable, e.g. on PYTHONPATH). Or correct "
            "the name in HUB_PLUGINS.") in message
    assert len(message.splitlines()) == 1  # the CLI's one-line error


def test_several_unknown_names_are_named_and_the_example_is_generic(tmp_path):
    with pytest.raises(ConfigError) as refused:
        make_test_app(tmp_path, {"PLUGINS": "testo,other"}, migrate=False)
    message = str(refused.value)
    assert message.startswith("HUB_PLUGINS lists 'testo', 'other', but no plugin of those names is installed")
    assert "HUB_EXTRA_PLUGIN_MODULES=NAME=package.module" in message


def test_the_way_named_is_the_one_the_hub_takes(tmp_path):
    """The module the message names as the way without installing loads the plugin."""
    from hub.runtime import get_runtime

    package = tmp_path / "ats_hub_testo"
    package.mkdir()
    (package / "__init__.py").write_text(
        "from hub import hookimpl\nfrom hub.entities import ASSESSMENT, IntegrationSpec\n\n\n"
        "@hookimpl\ndef register_integration(register):\n"
        "    register(IntegrationSpec(kind=ASSESSMENT, title='Testo'))\n")
    sys.path.insert(0, str(tmp_path))
    try:
        app = make_test_app(tmp_path, {"PLUGINS": "testo", "EXTRA_PLUGIN_MODULES": "testo=ats_hub_testo"})
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("ats_hub_testo", None)
    assert "testo" in get_runtime(app).registry.names()
