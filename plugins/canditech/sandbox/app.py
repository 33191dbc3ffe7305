"""Factory and in-thread server of the Canditech sandbox.

Contract:

* ``create_sandbox_app(config=None) -> Flask``: a fresh app (own store, faults, webhook
  dispatcher; nothing shared between apps). ``config`` overrides ``runtime.DEFAULT_CONFIG``
  (``API_KEYS``, ``WEBHOOK_URL``, ``WEBHOOK_SECRET``, ``WEBHOOK_RETRY_DELAYS``,
  ``WEBHOOK_TIMEOUT``, ``WEBHOOK_WORKERS``, ``RATE_LIMIT_PER_SECOND``, ``RATE_LIMIT_BURST``,
  ``PUBLIC_URL``, ``PAGE_SIZE``); other keys go to Flask's config untouched. Bad values raise
  ``ValueError``.
* ``serve_in_thread(config=None, host="127.0.0.1", port=0) -> (base_url, stop)``: serves a new
  app with werkzeug (threaded) in a daemon thread; ``stop()`` shuts the server and the webhook
  workers down. ``stop.app`` is the Flask app, for in-process inspection.
* ``SandboxError``, unknown paths and wrong methods answer the JSON error envelope under
  ``/v1`` and ``/_sandbox``, a small HTML page elsewhere. Every answer outside ``/_sandbox`` is
  counted in the stats (a reset connection counts as status ``reset``).
"""

from __future__ import annotations

from typing import Callable

from flask import Flask, g, jsonify, request
from werkzeug.exceptions import HTTPException

from hub.kit.sandbox import server

from . import api, control, pages, wire
from .runtime import DEFAULT_CONFIG, EXTENSION_KEY, SandboxRuntime, runtime, validate_settings
from .state import SandboxError

_JSON_PREFIXES = (wire.API_PREFIX + "/", "/_sandbox/")

_HTTP_CODES = {404: wire.ERR_NOT_FOUND, 405: wire.ERR_METHOD_NOT_ALLOWED}


def create_sandbox_app(config: dict | None = None) -> Flask:
    """A new Canditech sandbox app (see the module docstring)."""
    app = Flask(__name__)
    app.config.update({k: (list(v) if isinstance(v, list) else v)
                       for k, v in DEFAULT_CONFIG.items()})
    overrides = dict(config or {})
    ours = {k: overrides.pop(k) for k in list(overrides) if k in DEFAULT_CONFIG}
    try:
        app.config.update(validate_settings(ours))
    except SandboxError as exc:
        raise ValueError(exc.message) from exc
    app.config.update(overrides)
    app.json.sort_keys = False
    app.extensions[EXTENSION_KEY] = SandboxRuntime(app.config)

    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(control.bp)

    @app.errorhandler(SandboxError)
    def _sandbox_error(exc: SandboxError):
        if request.path.startswith(_JSON_PREFIXES):
            return jsonify(exc.body()), exc.status
        return pages.message("Not possible", exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith(_JSON_PREFIXES):
            code = _HTTP_CODES.get(exc.code, "http_error")
            return jsonify(wire.error_body(code, exc.description or exc.name)), exc.code
        return pages.message(exc.name, exc.description or exc.name, exc.code)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("canditech sandbox: unexpected error")
        if request.path.startswith(_JSON_PREFIXES):
            return jsonify(wire.error_body(wire.ERR_INTERNAL, "internal error")), 500
        return pages.message("Error", "Something went wrong.", 500)

    @app.after_request
    def _count(response):
        if not request.path.startswith("/_sandbox/"):
            route = request.url_rule.rule if request.url_rule else "(unmatched)"
            status = "reset" if g.get("sandbox_reset") else response.status_code
            runtime().stats.record(request.method, route, request.path, status)
        return response

    return app


def serve_in_thread(config: dict | None = None, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[str, Callable[[], None]]:
    """Serve a new sandbox app in a daemon thread; returns its base URL and a stop function."""
    return server.serve_in_thread(create_sandbox_app(config), host, port, name="canditech-sandbox",
                                  on_stop=stop_webhooks)


def stop_webhooks(app: Flask) -> None:
    """Stop the app's webhook workers (after its server stopped)."""
    app.extensions[EXTENSION_KEY].dispatcher.stop()
