"""``ctx.records``: ``keys`` and ``items`` by prefix (``%`` and ``_`` in a prefix are literal),
scoped to the context's plugin."""

from __future__ import annotations

import pytest

from hub.runtime import get_runtime
from tests.support.engine import enable
from tests.support.plugins import FakeSource, Recorder


@pytest.fixture
def app(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("assess", Recorder("Assess"))], entry_points=False)
    enable(app, "src", "assess")
    return app


def test_items_returns_the_values_under_a_prefix_taken_literally(app):
    with app.app_context():
        records = get_runtime().context(1, "assess").records
        records.put("watch:2", {"n": 2})
        records.put("watch:1", [1])
        records.put("watch_x", "underscore is not a wildcard")
        records.put("w%tch:3", 3)
        records.put("other", None)
        get_runtime().context(1, "src").records.put("watch:9", "another plugin's")
        assert records.items("watch:") == {"watch:1": [1], "watch:2": {"n": 2}}
        assert list(records.items("watch:")) == ["watch:1", "watch:2"]  # in key order
        assert records.items("w%") == {"w%tch:3": 3}
        assert records.items("watch_") == {"watch_x": "underscore is not a wildcard"}
        assert set(records.items()) == {"watch:1", "watch:2", "watch_x", "w%tch:3", "other"}
        assert sorted(records.keys("watch")) == ["watch:1", "watch:2", "watch_x"]
