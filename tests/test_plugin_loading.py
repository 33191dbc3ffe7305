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
