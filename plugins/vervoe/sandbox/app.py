"""Factory and in-thread server of the Vervoe sandbox.

* ``create_sandbox_app(config=None) -> Flask``: a fresh app (own store, faults, webhook sender).
  ``config`` overrides ``runtime.DEFAULT_CONFIG`` (any case); other keys go to Flask's config.
  Bad values raise ``ValueError``.
* ``serve_in_thread(config=None, host="127.0.0.1", port=0) -> (base_url, stop)``: serves a new app
  with werkzeug (threaded) in a daemon thread; ``stop()`` shuts the server and the webhook sender
  down; ``stop.app`` is the Flask app.
* Errors answer Vervoe's JSON error body under ``/api`` and ``/_sandbox``, a small page elsewhere.
  Every ``/api`` answer is counted by route and status (``GET /_sandbox/stats``).
"""

from __future__ import annotations

from typing import Callable

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from hub.kit.sandbox import server

from . import api, control, pages
from .runtime import DEFAULT_CONFIG, EXTENSION_KEY, SandboxRuntime, runtime, validate_settings
from .state import SandboxError

_JSON_PREFIXES = ("/api/", "/_sandbox/")


def create_sandbox_app(config: dict | None = None) -> Flask:
    app = Flask(__name__)
    app.config.update({k: (list(v) if isinstance(v, list) else v) for k, v in DEFAULT_CONFIG.items()})
    overrides = dict(config or {})
    ours = {k: overrides.pop(k) for k in list(overrides) if str(k).upper() in DEFAULT_CONFIG}
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
            return api.error_response(exc.status, exc.message, exc.data)
        return pages.message("Not possible", exc.message, exc.status)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        if request.path.startswith(_JSON_PREFIXES):
            return api.error_response(exc.code or 500, exc.description or exc.name)
        return pages.message(exc.name, exc.description or exc.name, exc.code or 500)

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        app.logger.exception("vervoe sandbox: unexpected error")
        if request.path.startswith(_JSON_PREFIXES):
            return api.error_response(500, "Something went wrong on Vervoe API servers.")
        return pages.message("Error", "Something went wrong.", 500)

    @app.after_request
    def _count(response):
        if request.path.startswith("/api/"):
            route = request.url_rule.rule if request.url_rule else "(unmatched)"
            runtime().count(f"{request.method} {route}", response.status_code)
        return response

    return app


def serve_in_thread(config: dict | None = None, host: str = "127.0.0.1",
                    port: int = 0) -> tuple[str, Callable[[], None]]:
    return server.serve_in_thread(create_sandbox_app(config), host, port, name="vervoe-sandbox",
                                  on_stop=stop_webhooks)


def stop_webhooks(app: Flask) -> None:
    """Stop the app's webhook sender (after its server stopped)."""
    app.extensions[EXTENSION_KEY].dispatcher.stop()
