"""``ConnectionState.warnings`` as the hub reads it from a plugin: a tuple of sentences; a bare
string is one warning (it became one warning per character)."""

from __future__ import annotations

import pytest

from hub import hookimpl
from hub.entities import ASSESSMENT, ConnectionState, IntegrationSpec
from tests.support.engine import enable
from tests.support.plugins import FakeSource


class Warns:
    def __init__(self, warnings):
        self.warnings = warnings

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Warns"))

    @hookimpl
    def connection_state(self, ctx):
        return ConnectionState(warnings=self.warnings)


@pytest.mark.parametrize("given, shown", [
    (("Reconnect to grant notes.",), ("Reconnect to grant notes.",)),
    ("Reconnect to grant notes.", ("Reconnect to grant notes.",)),
    (["one", "two"], ("one", "two")),
    ("", ()),
])
def test_warnings_are_sentences_whatever_the_plugin_returned(make_app, given, shown):
    from hub.web.live import connection_state

    app = make_app(plugins=[("src", FakeSource()), ("warns", Warns(given))], entry_points=False)
    enable(app, "src", "warns")
    with app.app_context():
        assert connection_state(1, "warns").warnings == shown
