"""Helpers to set up integrations and run the engine to quiescence in tests."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Delivery, utcnow
from hub.testing import enable_plugins, run_deliveries


enable = enable_plugins
drain = run_deliveries


def deliveries(app) -> list[Delivery]:
    with app.app_context():
        rows = list(db.session.scalars(sa.select(Delivery).order_by(Delivery.id)))
        db.session.expunge_all()
        return rows


def dispose(app) -> None:
    """Close the app's database connections (before its database is dropped)."""
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def expire_leases() -> None:
    """Every delivery's lease runs out now, as if its worker had died (in the current app context)."""
    db.session.execute(sa.update(Delivery).values(lease_until=utcnow() - timedelta(seconds=1)))
    db.session.commit()


def one_delivery(app, source_key: str, event_id: str = "evt-1") -> int:
    """With no queue (nothing runs by itself), post an event from plugin ``src`` and return the id
    of the one delivery it created (in the current app context)."""
    from hub.runtime import get_runtime

    get_runtime().queue = None
    app.test_client().post(f"/webhooks/src/{source_key}", data=json.dumps({"id": event_id}))
    return db.session.scalar(sa.select(Delivery.id))


def api_client(app, email: str, token_name: str = "test"):
    """``call(method, path, **kw)`` on the app's JSON API (``/api/v1`` + ``path``) with a new API
    token of the user with ``email``."""
    from hub import services
    from hub.store.models import User

    with app.app_context():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        token = services.create_api_token(user, token_name)
    client = app.test_client()
    return lambda method, path, **kw: client.open(f"/api/v1{path}", method=method,
                                                  headers={"Authorization": f"Bearer {token}"}, **kw)
