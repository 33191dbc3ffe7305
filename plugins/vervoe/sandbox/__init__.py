"""Vervoe sandbox: a simulator of Vervoe's API (its OpenAPI document, copied in
``plugins/vervoe/openapi/``, and Vervoe's guides, summarised in the team's notes
``shared/apis/vervoe/``, kept outside this repository) for tests, benchmarks and the demo, over
real HTTP. It imports nothing from the hub but the sandbox kit (``hub.kit.sandbox``).

Public entry points:

* ``create_sandbox_app(config=None) -> flask.Flask``
* ``serve_in_thread(config=None, host="127.0.0.1", port=0) -> (base_url, stop)``
* ``python -m plugins.vervoe.sandbox --host 127.0.0.1 --port 0 [--retry-delays 0.3,0.6,1]`` prints
  ``VERVOE_SANDBOX_URL=http://127.0.0.1:<port>`` once listening.

The API is served under ``<base_url>/api`` (Vervoe's is ``https://api.vervoe.com/api``). See README.md.
"""

from .app import create_sandbox_app, serve_in_thread

__all__ = ["create_sandbox_app", "serve_in_thread"]
