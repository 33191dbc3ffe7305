"""Helpers to set up integrations and run the engine to quiescence in tests."""

from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Delivery
from hub.testing import enable_plugins, run_deliveries


enable = enable_plugins
drain = run_deliveries


def deliveries(app) -> list[Delivery]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        return rows
