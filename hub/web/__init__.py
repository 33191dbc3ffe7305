"""The web layer: one blueprint per area.

- ``health``: ``/healthz``, ``/readyz``, ``/metrics``
- ``webhooks``: ``POST /webhooks/<plugin>/<key>``, the ingress path of every vendor webhook
- ``auth``: sign-in and sign-out
- ``ui``: the admin pages
- ``api``: the JSON API under ``/api/v1``
"""

from __future__ import annotations

from flask import Flask


def register_web(app: Flask) -> None:
    from hub.web import errors, health, webhooks, security

    errors.register(app)
    security.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    try:
        from hub.web import auth, ui, api
    except ImportError:  # pragma: no cover - during bootstrap only
        return
    app.register_blueprint(auth.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(api.bp)
