"""``hub.testing.plugin_context``: the ``ctx`` a plugin's hooks receive, for its own tests. A source
plugin had no public way to get one (``ProviderHub`` is for providers, ``make_test_app`` returns an
app): a developer imported ``hub.runtime``, which the contract kit refuses in a plugin."""

from __future__ import annotations

import pytest
from flask import current_app

from hub import hookimpl
from hub.context import PluginContext
from hub.entities import ASSESSMENT, SOURCE, IntegrationSpec, Posting
from hub.testing import enable_plugins, plugin_context


class Toy:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy"))


class ToyAts:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Toy ATS"))

    @hookimpl
    def source_list_postings(self, ctx):
        return [Posting(id="p-1", title="Posting", state="published")]


@pytest.fixture
def app(make_app):
    app = make_app(plugins=[("toy", Toy()), ("toyats", ToyAts())], entry_points=False)
    enable_plugins(app, "toy", "toyats")
    return app


def no_open_transaction() -> bool:
    from hub.extensions import db

    return not db.session().in_transaction()


def test_it_gives_the_ctx_a_hook_receives_inside_the_apps_context(app):
    with plugin_context(app, "toy") as ctx:
        assert isinstance(ctx, PluginContext) and current_app._get_current_object() is app
        assert (ctx.plugin_name, ctx.workspace_id, ctx.settings, ctx.secrets) == ("toy", 1, {}, {})
        assert ctx.webhook_url.startswith("http://hub.test/webhooks/toy/")
        assert no_open_transaction()
        ctx.update_settings({"base_url": "http://vendor.test"})
        ctx.update_secrets({"api_key": "k"})
        ctx.records.put("seen", 1)
        assert [p.id for p in ctx.source.list_postings()] == ["p-1"]  # the workspace's source, as in a hook
    with plugin_context(app, "toy") as again:  # what was stored, as the next hook sees it
        assert (again.settings, again.secrets, again.records.get("seen")) == ({"base_url": "http://vendor.test"},
                                                                              {"api_key": "k"}, 1)


def test_storing_settings_or_secrets_leaves_no_transaction_open(app):
    """A hook that refreshes a token (``update_secrets``) and goes on calling its vendor must not
    hold a transaction meanwhile: on SQLite each one is BEGIN IMMEDIATE, the database's write lock,
    and the webhook ingress waited behind it (found by a second-ATS walk-through)."""
    with plugin_context(app, "toy") as ctx:
        ctx.update_secrets({"api_key": "k"})
        assert no_open_transaction()
        assert ctx.secrets == {"api_key": "k"}
        ctx.update_settings({"base_url": "http://vendor.test"})
        assert no_open_transaction()
        assert ctx.settings == {"base_url": "http://vendor.test"}


def test_the_secrets_it_stores_are_attributed_to_the_actor(app):
    from hub.runtime import get_runtime

    with plugin_context(app, "toy", actor="dev@example.com") as ctx:
        ctx.update_secrets({"api_key": "k"})
    with app.app_context():
        meta = get_runtime().integration(1, "toy").secrets_meta
    assert meta["api_key"]["set_by"] == "dev@example.com"


def test_another_workspace(app):
    from hub.extensions import db
    from hub.store.models import Workspace

    with app.app_context():
        db.session.add(Workspace(id=2, name="Second"))
        db.session.commit()
    enable_plugins(app, "toy", workspace_id=2)
    with plugin_context(app, "toy", workspace_id=2) as ctx:
        assert ctx.workspace_id == 2


def test_a_plugin_not_loaded_or_not_enabled_is_named(make_app):
    bare = make_app(plugins=[("toy", Toy()), ("toyats", ToyAts())], entry_points=False)
    with pytest.raises(LookupError, match=r"no plugin 'nope' is loaded in this hub \(loaded: toy, toyats\)") as raised:
        with plugin_context(bare, "nope"):
            pass
    # both ways the plugin guide gives to load a plugin in development
    assert "install it (or load it uninstalled: HUB_EXTRA_PLUGIN_MODULES=nope=PACKAGE)" in str(raised.value)
    with pytest.raises(LookupError, match=r"toy is not enabled in workspace 1: enable it first "
                                          r"\(enable_plugins\(app, 'toy', workspace_id=1\)\)"):
        with plugin_context(bare, "toy"):
            pass
    from hub import services
    from hub.runtime import get_runtime

    enable_plugins(bare, "toy")
    with bare.app_context():
        services.set_enabled(get_runtime(), 1, "toy", False, "test")
    with pytest.raises(LookupError, match="toy is not enabled in workspace 1"):
        with plugin_context(bare, "toy"):
            pass
