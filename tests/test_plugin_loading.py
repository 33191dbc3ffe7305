"""Plugin discovery through entry points and the ``HUB_PLUGINS`` allow-list: an entry point left
out of the allow-list is never imported, so a broken one cannot stop start-up."""

from __future__ import annotations

from importlib import metadata
from types import SimpleNamespace

import pytest

from hub.plugins import manager
from hub.plugins.manager import ENTRY_POINT_GROUP, PluginLoadError
from hub.runtime import get_runtime

BROKEN = metadata.EntryPoint(name="broken", value="tests.no_such_plugin_module", group=ENTRY_POINT_GROUP)


@pytest.fixture
def broken_entry_point(monkeypatch):
    """The installed entry points plus one whose import fails."""
    def entry_points(group):
        return [*metadata.entry_points(group=group), BROKEN]

    monkeypatch.setattr(manager, "metadata", SimpleNamespace(entry_points=entry_points))


def test_a_broken_plugin_not_in_the_allow_list_is_not_imported(make_app, broken_entry_point):
    app = make_app({"PLUGINS": "lever,canditech"})
    assert get_runtime(app).registry.names() == ["canditech", "lever"]


def test_a_broken_plugin_in_the_allow_list_stops_start_up(make_app, broken_entry_point):
    with pytest.raises(PluginLoadError, match="plugin 'broken' .* failed to import"):
        make_app({"PLUGINS": "lever,broken"})


def test_a_broken_plugin_stops_start_up_without_an_allow_list(make_app, broken_entry_point):
    with pytest.raises(PluginLoadError, match="plugin 'broken' .* failed to import"):
        make_app()


def _plugin_registering(spec_factory):
    """A plugin module whose ``register_integration`` registers ``spec_factory()``."""
    from hub import hookimpl

    class Plugin:
        @hookimpl
        def register_integration(self, register):
            register(spec_factory())

    return Plugin()


def _settings_schema():
    import marshmallow

    class Settings(marshmallow.Schema):
        api_key = marshmallow.fields.String()
        region = marshmallow.fields.String()

    return Settings


@pytest.mark.parametrize("fields, message", [
    (dict(settings_schema="Settings", secret_fields=()), "settings_schema must be a marshmallow Schema class"),
    (dict(secret_fields=("apikey",)), r"secret_fields \['apikey'\] are not fields of its settings_schema"),
    (dict(secret_fields="api_key"), "secret_fields must be a tuple of field names"),
    (dict(settings_schema=None, secret_fields=("api_key",)), "without a settings_schema"),
])
def test_a_settings_spec_that_would_expose_a_secret_stops_start_up(make_app, fields, message):
    """A misspelt secret field used to load: the API key was then stored in clear and shown back."""
    from hub.entities import IntegrationSpec

    spec = {"kind": "assessment", "title": "Acme", "settings_schema": _settings_schema(), **fields}
    plugin = _plugin_registering(lambda: IntegrationSpec(**spec))
    with pytest.raises(PluginLoadError, match=f"plugin 'acme'.*{message}"):
        make_app({"PLUGINS": "acme"}, plugins=[("acme", plugin)], entry_points=False)


def test_an_error_in_register_integration_names_the_plugin(make_app):
    from hub.entities import IntegrationSpec

    plugin = _plugin_registering(lambda: IntegrationSpec(kind="assesment", title="Acme"))
    with pytest.raises(PluginLoadError, match="plugin 'acme' failed in register_integration: ValueError: kind"):
        make_app({"PLUGINS": "acme"}, plugins=[("acme", plugin)], entry_points=False)


def test_a_plugin_named_hub_stops_start_up(make_app):
    """"hub" is the source of the events the hub emits itself: ingest skips the provider and
    state-machine checks for them, so a plugin of that name could set any invitation's state."""
    from hub.entities import IntegrationSpec

    plugin = _plugin_registering(lambda: IntegrationSpec(kind="assessment", title="Hub"))
    with pytest.raises(PluginLoadError, match="a plugin may not be named 'hub': the name is reserved"):
        make_app(plugins=[("hub", plugin)], entry_points=False)


# ---------------------------------------------------------------- messages for a plugin developer's mistakes

PLUGIN_SOURCE = '''
from hub import hookimpl
from hub.entities import IntegrationSpec


@hookimpl
def register_integration(register):
    register(IntegrationSpec(kind="assessment", title="Acme"))
'''


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """``install(module, source)``: a plugin module and a ``*.egg-info`` declaring it as the entry point
    ``acme``, in a directory on ``sys.path``: what ``pip install -e`` leaves in the plugin's directory,
    which ``python -m pytest`` run from there finds."""
    import importlib
    import sys

    modules = []

    def install(module: str = "ats_hub_loadtest_acme", source: str = PLUGIN_SOURCE):
        (tmp_path / "src").mkdir(exist_ok=True)
        (tmp_path / "src" / f"{module}.py").write_text(source)
        info = tmp_path / "src" / f"{module}.egg-info"
        info.mkdir()
        (info / "PKG-INFO").write_text(f"Metadata-Version: 2.1\nName: {module.replace('_', '-')}\nVersion: 0.1.0\n")
        (info / "entry_points.txt").write_text(f"[{ENTRY_POINT_GROUP}]\nacme = {module}\n")
        monkeypatch.syspath_prepend(str(tmp_path / "src"))
        modules.append(module)
        return importlib.import_module(module)

    yield install
    for module in modules:
        sys.modules.pop(module, None)


def _module_plugin(name: str, source: str):
    """A plugin module made from ``source`` (not importable by name)."""
    from types import ModuleType

    module = ModuleType(name)
    module.__file__ = f"/plugins/{name}.py"
    exec(compile(source, module.__file__, "exec"), module.__dict__)
    return module


def test_an_unknown_hook_names_the_plugin_and_the_hook_it_may_have_meant():
    """pluggy's message named the module object (``<module 'ats_hub_acme' from ...>``) and
    suggested nothing."""
    plugin = _module_plugin("ats_hub_acme", PLUGIN_SOURCE + '''

@hookimpl
def source_get_candidates(ctx, opportunity_id):
    pass
''')
    with pytest.raises(PluginLoadError) as raised:
        manager.build_registry(extra_plugins=[("acme", plugin)], use_entry_points=False)
    assert str(raised.value) == (
        "unknown hook implementation: plugin 'acme' implements 'source_get_candidates', which is not a hub hook "
        "(did you mean 'source_get_candidate'?); the hub's hooks are those of the module hub.hookspecs")


def test_an_unknown_hook_far_from_any_hub_hook_gets_no_suggestion():
    from hub import hookimpl

    class Plugin:
        @hookimpl
        def register_integration(self, register):
            pass

        @hookimpl
        def frobnicate(self):
            pass

    with pytest.raises(PluginLoadError, match="plugin 'acme' implements 'frobnicate', which is not a hub hook;"):
        manager.build_registry(extra_plugins=[("acme", Plugin())], use_entry_points=False)


def test_an_undecorated_register_integration_says_to_decorate_it():
    plugin = _module_plugin("ats_hub_acme", PLUGIN_SOURCE.replace("@hookimpl\n", ""))
    with pytest.raises(PluginLoadError, match=r"plugin 'acme' does not implement register_integration: its "
                                              r"register_integration lacks the @hookimpl decorator \(from hub "
                                              r"import hookimpl\)"):
        manager.build_registry(extra_plugins=[("acme", plugin)], use_entry_points=False)


def test_a_plugin_without_register_integration_gets_no_decorator_hint():
    from hub import hookimpl

    class Plugin:
        @hookimpl
        def on_hired(self, ctx, hired):
            pass

    with pytest.raises(PluginLoadError) as raised:
        manager.build_registry(extra_plugins=[("acme", Plugin())], use_entry_points=False)
    assert str(raised.value) == "plugin 'acme' does not implement register_integration"


def test_an_undecorated_hook_function_is_a_warning(caplog):
    """pluggy skips a function without ``@hookimpl`` silently: the plugin loaded and the hook was
    never called."""
    from hub import hookimpl
    from hub.entities import IntegrationSpec

    class Plugin:
        @hookimpl
        def register_integration(self, register):
            register(IntegrationSpec(kind="source", title="Acme"))

        def source_get_candidate(self, ctx, opportunity_id):  # no @hookimpl
            pass

        @staticmethod
        def on_hired(ctx, hired):  # no @hookimpl
            pass

        def get_candidate(self, ctx):  # not named like a hook: not a warning
            pass

        @hookimpl
        def on_stage_change(self, ctx, change):
            pass

    with caplog.at_level("WARNING", logger="hub.plugins"):
        registry = manager.build_registry(extra_plugins=[("acme", Plugin())], use_entry_points=False)
    assert registry.names() == ["acme"]
    warnings = sorted(record.getMessage() for record in caplog.records if record.name == "hub.plugins")
    assert warnings == [
        f"plugin 'acme' has a function named {hook!r}, a hub hook, without @hookimpl: the hub does not call it "
        "(decorate it with @hookimpl, from hub import hookimpl)" for hook in ("on_hired", "source_get_candidate")]


def test_the_bundled_plugins_load_without_warnings(caplog):
    with caplog.at_level("WARNING", logger="hub.plugins"):
        registry = manager.build_registry(allow=["lever", "canditech", "vervoe"])
    assert registry.names() == ["canditech", "lever", "vervoe"]
    assert [record.getMessage() for record in caplog.records if record.name == "hub.plugins"] == []


def test_the_same_module_through_an_entry_point_and_given_directly_loads_once(make_app, installed_plugin):
    """After ``pip install -e .``, the plugin's tests run from its directory with
    ``HUB_EXTRA_PLUGIN_MODULES=acme=ats_hub_acme`` (as its README says) found it twice and stopped
    with "two plugins are named 'acme'"."""
    installed_plugin()
    app = make_app({"PLUGINS": "acme", "EXTRA_PLUGIN_MODULES": "acme=ats_hub_loadtest_acme"})
    registry = get_runtime(app).registry
    assert registry.names() == ["acme"]
    assert registry.spec("acme").version == "0.1.0"  # the entry point's, which came first


def test_the_same_module_through_two_entry_points_loads_once(installed_plugin, monkeypatch):
    """A leftover ``*.egg-info`` in the current directory next to the installed distribution."""
    installed_plugin()
    (acme,) = metadata.entry_points(group=ENTRY_POINT_GROUP, name="acme")
    monkeypatch.setattr(manager, "metadata", SimpleNamespace(
        entry_points=lambda group: [*metadata.entry_points(group=group), acme]))
    assert manager.build_registry(allow=["acme"]).names() == ["acme"]


def test_two_different_plugins_of_the_same_name_say_where_each_came_from(installed_plugin, tmp_path):
    module = installed_plugin()
    other = _module_plugin("ats_hub_other_acme", PLUGIN_SOURCE)
    with pytest.raises(PluginLoadError) as raised:
        manager.build_registry(allow=["acme"], extra_plugins=[("acme", other)])
    egg_info = tmp_path / "src" / "ats_hub_loadtest_acme.egg-info"
    assert str(raised.value) == (
        "two plugins are named 'acme'; plugin names must be unique: one is entry point 'acme' = "
        f"ats_hub_loadtest_acme of ats-hub-loadtest-acme 0.1.0 ({egg_info}) (module ats_hub_loadtest_acme from "
        f"{module.__file__}), the other given directly (EXTRA_PLUGINS) (module "
        "ats_hub_other_acme from /plugins/ats_hub_other_acme.py)")


def test_two_plugin_objects_of_the_same_name_name_their_classes_and_origins():
    from tests.support.plugins import FakeSource

    with pytest.raises(PluginLoadError) as raised:
        manager.build_registry(extra_plugins=[("src", FakeSource(), "HUB_EXTRA_PLUGIN_MODULES"),
                                              ("src", FakeSource())], use_entry_points=False)
    message = str(raised.value)
    assert message.startswith("two plugins are named 'src'; plugin names must be unique: one is "
                              "HUB_EXTRA_PLUGIN_MODULES (FakeSource of module tests.support.plugins from ")
    assert "the other given directly (EXTRA_PLUGINS) (FakeSource of module " in message


def test_a_module_of_hub_extra_plugin_modules_is_named_as_such_beside_another_of_its_name(make_app):
    from tests.support.plugins import FakeSource

    with pytest.raises(PluginLoadError) as raised:
        make_app({"EXTRA_PLUGIN_MODULES": "src=tests.support.plugins"}, plugins=[("src", FakeSource())],
                 entry_points=False)
    assert "the other HUB_EXTRA_PLUGIN_MODULES (src=tests.support.plugins) (module tests.support.plugins" \
        in str(raised.value)
