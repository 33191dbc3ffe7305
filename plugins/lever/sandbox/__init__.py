"""Lever sandbox: a simulator of Lever's Data API, OAuth and webhooks, for tests and demos.

Public entry points:
- ``create_sandbox_app(config=None) -> flask.Flask`` (``app.py``; config keys in
  ``context.DEFAULT_CONFIG``),
- ``serve_in_thread(config=None, host="127.0.0.1", port=0) -> (base_url, stop)`` (``server.py``),
- ``python -m plugins.lever.sandbox --host 127.0.0.1 --port 0`` (``__main__.py``),
- ``SEED``: the deterministic ids of the seed data (``seed.py``),
- ``sign``: Lever's webhook signature function (``signing.py``).
Faithful to the team's Lever API notes (``shared/apis/lever.md``, kept outside this repository;
"lever.md §N" in the code points into them); where Lever's docs are silent the choice is
documented in the module that makes it.
"""

from .app import create_sandbox_app
from .seed import SEED
from .server import serve_in_thread
from .signing import sign

__all__ = ["SEED", "create_sandbox_app", "serve_in_thread", "sign"]
