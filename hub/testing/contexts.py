"""``plugin_context``: the ``ctx`` a plugin's hooks receive, for the plugin's own tests.

```python
from hub.testing import enable_plugins, make_test_app, plugin_context

def test_a_webhook_without_an_opportunity_id_is_refused(tmp_path):
    app = make_test_app(tmp_path, {"PLUGINS": "acme"})
    enable_plugins(app, "acme")
    with plugin_context(app, "acme") as ctx:
        ctx.update_secrets({"webhook_secret": "test-secret"})
        ...  # call your hooks with ctx: verify_webhook(ctx, request)
```
"""

from __future__ import annotations

import contextlib
from typing import Iterator


@contextlib.contextmanager
def plugin_context(app, plugin_name: str, workspace_id: int = 1, *, actor=None) -> Iterator:
    """The ``PluginContext`` a hook of ``plugin_name`` receives in ``workspace_id`` of ``app`` (a
    hub of ``make_test_app``), made as the hub makes it for a hook: its settings and secrets as
    stored, its stores, ``ctx.source`` (the workspace's enabled source). The ``with`` block runs in
    ``app``'s application context, which the ctx needs; no database transaction is open when it
    starts. ``actor`` is who the calls are made for (the secrets the plugin stores are attributed to
    them; default: the plugin).

    The plugin must be loaded in ``app`` and enabled in the workspace (``enable_plugins``):
    ``LookupError`` says which is missing. A ctx reads its settings and secrets once, when made:
    make another (or call ``ctx.reload()``) to see what was saved since by other means."""
    from hub.runtime import get_runtime

    with app.app_context():
        runtime = get_runtime()
        loaded = runtime.registry.names()
        if plugin_name not in loaded:
            raise LookupError(f"plugin_context: no plugin {plugin_name!r} is loaded in this hub (loaded: "
                              f"{', '.join(sorted(loaded)) or 'none'}); name it in make_test_app's PLUGINS and "
                              f"install it (or load it uninstalled: HUB_EXTRA_PLUGIN_MODULES={plugin_name}=PACKAGE), "
                              f"or pass it in plugins=")
        row = runtime.integration(workspace_id, plugin_name)
        if row is None or not row.enabled:
            raise LookupError(f"plugin_context: {plugin_name} is not enabled in workspace {workspace_id}: "
                              f"enable it first (enable_plugins(app, {plugin_name!r}, workspace_id={workspace_id}))")
        ctx = runtime.context(workspace_id, plugin_name, actor=actor)
        yield ctx
