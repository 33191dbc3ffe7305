"""The plugin developer kit: build a hub for tests, and contract tests a plugin subclasses.

```python
# tests/test_contract.py of your plugin
from hub.testing import AssessmentPluginContract

class TestAcmeContract(AssessmentPluginContract):
    plugin_name = "acme"

    def signed_webhook(self, ctx):          # a webhook your vendor would send, correctly signed
        ...
```

``SourcePluginContract`` is the same for ATS plugins. ``ProviderHub`` (with ``RecordingSource``)
serves a real hub over HTTP for an assessment provider's own hook tests against its sandbox. Both run the plugin through the hub exactly
as production does (entry-point discovery, a migrated database, the engine), against the plugin's
own sandbox (``register_sandbox`` / ``connect_sandbox``) where a test needs the vendor.
"""

from hub.testing.apps import make_test_app, enable_plugins, run_deliveries
from hub.testing.contract import AssessmentPluginContract, KitSource, PluginContract, SourcePluginContract
from hub.testing.provider_hub import ProviderHub, RecordingSource

__all__ = [
    "make_test_app", "enable_plugins", "run_deliveries", "PluginContract", "AssessmentPluginContract",
    "SourcePluginContract", "KitSource", "ProviderHub", "RecordingSource",
]
