"""The web layer: one blueprint per area.

- ``input_guard``: refuses, before any view, text the database cannot store (NUL characters)
- ``health``: ``/healthz``, ``/readyz``, ``/metrics``
- ``webhooks``: ``POST /webhooks/<plugin>/<key>``, the ingress path of every vendor webhook
- ``auth``: sign-in and sign-out
- ``ui``: the admin pages
- ``api``: the JSON API under ``/api/v1``
"""

from __future__ import annotations

from flask import Flask
from werkzeug.routing import IntegerConverter

from hub.store.models import ID32_MAX, ID64_MAX


NO_ROW = 0  # the id given to a view for an id no row can have: every table's ids start at 1


class DatabaseIdConverter(IntegerConverter):
    """``<int:...>`` in every route: the id of a table with 32-bit ids. An id beyond them names no
    row: the view gets ``NO_ROW`` and answers 404 as for any id that does not exist, after its
    sign-in and permission checks (a 404 raised here, while routing, came before them). The
    database is never asked for an id out of its column's range (PostgreSQL would refuse it)."""

    largest = ID32_MAX

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        return number if number <= self.largest else NO_ROW


class BigIdConverter(DatabaseIdConverter):
    """``<id64:...>``: the id of a table that grows with traffic (``hub.store.models.BigId``)."""

    largest = ID64_MAX


def register_web(app: Flask) -> None:
    from hub.web import errors, health, input_guard, paths, webhooks, security

    app.url_map.converters["int"] = DatabaseIdConverter
    app.url_map.converters["id64"] = BigIdConverter

    errors.register(app)
    app.before_request(paths.explain_404)  # a 404 from routing names an id that is not a whole number
    security.register(app)
    input_guard.register(app)
    app.register_blueprint(health.bp)
    app.register_blueprint(webhooks.bp)
    try:
        from hub.web import auth, ui, api
    except ImportError:  # pragma: no cover - during bootstrap only
        return
    app.register_blueprint(auth.bp)
    app.register_blueprint(ui.bp)
    app.register_blueprint(api.bp)
