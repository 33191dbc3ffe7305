"""Canditech sandbox: a simulator of the Canditech API the hub assumes (the team's notes,
``shared/apis/canditech.md``, kept outside this repository; ``plugins/canditech/README.md`` lists
the assumptions).

Its own small Flask app on its own loopback port, for end-to-end tests, benchmarks and the demo,
over real HTTP. Public entry points:

* ``create_sandbox_app(config=None) -> flask.Flask``
* ``serve_in_thread(config=None, host="127.0.0.1", port=0) -> (base_url, stop)``
* ``python -m plugins.canditech.sandbox --host 127.0.0.1 --port 0`` prints
  ``CANDITECH_SANDBOX_URL=http://127.0.0.1:<port>`` once listening.

Every wire detail (paths, header names, event types, statuses, verdicts) is in ``wire``.
"""

from .app import create_sandbox_app, serve_in_thread

__all__ = ["create_sandbox_app", "serve_in_thread"]
