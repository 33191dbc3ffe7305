"""Application factory of the Lever sandbox.

Contract: ``create_sandbox_app(config=None)`` returns a new Flask app with its own store,
OAuth tokens, rate limiter, fault injector, stats and webhook sender (``Sandbox`` in
``app.extensions["lever_sandbox"]``; nothing is shared between apps). Config keys and defaults:
``context.DEFAULT_CONFIG``. Mounted: ``/v1`` (Lever API), ``/authorize`` and ``/oauth/token``
(OAuth), ``/_sandbox`` (control API), ``/`` ``/candidates`` ``/settings/webhooks`` (HTML). Call
``app.extensions["lever_sandbox"].close()`` to stop the webhook threads (``serve_in_thread``'s
stop callable does it).
"""

from __future__ import annotations

from flask import Flask

# Route modules add their routes to the blueprints at import time.
from . import api_catalog, api_opportunities, api_webhooks, control_webhooks  # noqa: F401
from .api import bp as api_bp
from .context import EXTENSION_KEY, Sandbox
from .control import bp as control_bp
from .errors import register_error_handlers
from .oauth import bp as oauth_bp
from .ui import bp as ui_bp


def create_sandbox_app(config: dict | None = None) -> Flask:
    """Build a Lever sandbox app from a partial ``config`` mapping."""
    app = Flask(__name__, template_folder="templates", static_folder=None)
    app.json.sort_keys = False  # keep Lever's field order
    app.extensions[EXTENSION_KEY] = Sandbox.build(config)
    for blueprint in (api_bp, oauth_bp, control_bp, ui_bp):
        app.register_blueprint(blueprint)
    register_error_handlers(app)
    return app
