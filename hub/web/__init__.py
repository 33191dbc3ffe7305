"""The web layer: one blueprint per area.

- ``health``: ``/healthz``, ``/readyz``, ``/metrics``
- ``webhooks``: ``POST /webhooks/<plugin>/<key>``, the ingress path of every vendor webhook
- ``auth``: sign-in and sign-out
- ``ui``: the admin pages
- ``api``: the JSON API under ``/api/v1``
"""

from __future__ import annotations

from flask import Flask
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: an id beyond a 64-bit integer is a 404 (no such thing), not
    an overflow in the database driver."""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > 2**63 - 1:
            raise NotFound("no such id")
        return number


def register_web(app: Flask) -> None:
    from hub.web import errors, health, webhooks, security

    app.url_map.converters["int"] = DatabaseIdConverter

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
