"""Helpers to set up integrations and run the engine to quiescence in tests."""

from __future__ import annotations

import time

import sqlalchemy as sa

from hub import services
from hub.engine.runner import run_delivery
from hub.engine.sweeper import due_deliveries
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import D_OPEN, Delivery


def enable(app, *names, workspace_id: int = 1):
    with app.app_context():
        runtime = get_runtime()
        keys = {}
        for name in names:
            keys[name] = services.set_enabled(runtime, workspace_id, name, True, "test").webhook_key
        return keys


def drain(app, timeout: float = 10.0) -> None:
    """Run due deliveries in this thread until none is open (or fail after ``timeout``)."""
    deadline = time.monotonic() + timeout
    with app.app_context():
        runtime = get_runtime()
        while True:
            for delivery_id in due_deliveries():
                run_delivery(runtime, delivery_id)
            open_count = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status.in_(D_OPEN)))
            db.session.rollback()
            if not open_count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"{open_count} deliveries still open after {timeout}s")
            time.sleep(0.01)


def deliveries(app) -> list[Delivery]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        return rows
