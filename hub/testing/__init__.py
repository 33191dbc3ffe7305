"""The plugin developer kit: contract tests a plugin subclasses, a served hub for a provider's
or a source's hook tests, and a hub for any test (docs/plugin-guide.md, "The test kit"). It imports pytest.

```python
# tests/test_contract.py of your plugin
from hub.testing import AssessmentPluginContract

class TestAcmeContract(AssessmentPluginContract):
    plugin_name = "acme"

    def signed_webhook(self, ctx):          # a webhook your vendor would send, correctly signed
        ...
```

* Contract tests: ``AssessmentPluginContract`` and ``SourcePluginContract`` (the same for ATS
  plugins), both ``PluginContract`` (the tests every plugin passes, among them tampered webhooks
  refused: by default a changed body, a cut body, no headers, and the request received after the
  hub's dedupe window, a stale timestamp); ``KitSource``, the stand-in ATS of a provider's
  contract tests. See ``hub.testing.contract``.
* ``ProviderHub`` (with ``RecordingSource``) serves a real hub over HTTP for an assessment
  provider's own hook tests against its sandbox; its module's docstring is its contract, with the
  fixture ``hub new-plugin`` generates.
* ``SourceHub`` (with ``RecordingProvider``) is its counterpart for a source (ATS) plugin: a
  served hub whose stand-in provider invites on the plugin's webhooks, so a test follows the story
  (the ATS's signed webhook, the invitation, the result and verdict written back); see
  ``hub.testing.source_hub``, with the fixture ``hub new-plugin --kind source`` generates.
* ``make_test_app(tmp_path, overrides=None, plugins=(), entry_points=True, database_url=None,
  migrate=True)``, ``enable_plugins(app, *names, workspace_id=1)``, ``run_deliveries(app,
  timeout=10.0)``: a migrated hub with workspace 1 and deliveries run inline, for any test.
* ``plugin_context(app, plugin_name, workspace_id=1, *, actor=None)``: a context manager giving
  the ``ctx`` a hook of an enabled plugin receives in that hub, to call the plugin's hooks with
  in its own tests (``hub.testing.contexts``).

All run the plugin through the hub exactly as production does (entry-point discovery, a migrated
database, the engine), against the plugin's own sandbox (``register_sandbox`` /
``connect_sandbox``) where a test needs the vendor.
"""

from hub.testing.apps import make_test_app, enable_plugins, run_deliveries
from hub.testing.contexts import plugin_context
from hub.testing.contract import AssessmentPluginContract, KitSource, PluginContract, SourcePluginContract
from hub.testing.provider_hub import ProviderHub, RecordingSource
from hub.testing.source_hub import RecordingProvider, SourceHub

__all__ = [
    "make_test_app", "enable_plugins", "run_deliveries", "plugin_context", "PluginContract", "AssessmentPluginContract",
    "SourcePluginContract", "KitSource", "ProviderHub", "RecordingSource", "SourceHub", "RecordingProvider",
]
