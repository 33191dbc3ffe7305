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
