"""``HubRuntime``: the per-app services (plugin registry, queue, crypto, limiters, metrics),
kept in ``app.extensions["hub"]`` and reached with ``get_runtime()``. Never a module global."""

from __future__ import annotations

import threading
from typing import Any, Iterable

import sqlalchemy as sa
from flask import current_app, has_request_context, request

from hub.entities import SOURCE
from hub.extensions import db
from hub.metrics import Metrics
from hub.plugins.manager import PluginRegistry
from hub.ratelimit import LimiterRegistry
from hub.store.crypto import SecretBox, SecretsUnreadable
from hub.store.models import Integration


class HubRuntime:
    def __init__(self, app, registry: PluginRegistry):
        self.app = app
        self.config = app.config
        self.registry = registry
        self.secret_box = SecretBox(app.config["ENCRYPTION_KEYS"])
        # one namespace per hub (its queue name), so hubs sharing a Redis keep separate buckets
        self.limiters = LimiterRegistry(app.config.get("REDIS_URL"), app.config["QUEUE_NAME"])
        self.metrics = Metrics()
        self.queue = None  # set by hub.engine.queue.init_queue
        # set while this process's workers stop gracefully: work that waits (a delivery's outcome
        # waiting for the database) gives up instead of holding the stop
        self.stopping = threading.Event()
        self.queue_away_since: float | None = None  # the sweeper found the queue unreachable since (monotonic)

    def unreadable_secrets(self) -> str | None:
        """Why this process cannot decrypt the stored secrets (``SecretsUnreadable``'s message), or
        None. Tries the most recently changed enabled integration's: secrets saved by a process that
        has a newer key, and every secret once ``hub keys rotate`` ran, are encrypted under it."""
        try:
            token = db.session.scalar(sa.select(Integration.secrets_encrypted)
                                      .where(Integration.secrets_encrypted.isnot(None), Integration.enabled.is_(True))
                                      .order_by(Integration.updated_at.desc()).limit(1))
        finally:
            db.session.rollback()
        try:
            self.secret_box.decrypt(token)
        except SecretsUnreadable as exc:
            return str(exc)
        return None

    # ------------------------------------------------------------------ plugins
    def integration(self, workspace_id: int, plugin: str) -> Integration | None:
        return db.session.scalar(sa.select(Integration).where(
            Integration.workspace_id == workspace_id, Integration.plugin == plugin))

    def context(self, workspace_id: int, plugin: str, delivery_id: int | None = None, actor=None,
                lease_token: str | None = None, background: bool = False):
        """The plugin's ``ctx``; ``actor`` (a user or a label such as "hub demo") is who the call is
        made for: secrets the plugin stores during it are attributed to them (through the plugin).
        In a delivery, ``delivery_id`` and the run's ``lease_token`` (``ctx.lock`` lives with it).
        ``background``: work the hub runs on its own (a reconciliation), whose vendor calls a
        disable or revoke stops as a delivery's (``PluginContext.http``)."""
        from hub.context import PluginContext

        row = self.integration(workspace_id, plugin)
        if row is None:
            raise LookupError(f"plugin {plugin!r} has no integration in workspace {workspace_id}")
        ctx = PluginContext(self, row, delivery_id, actor=actor, lease_token=lease_token, background=background)
        # Never hold a database transaction while a plugin talks to its vendor (with SQLite it
        # would hold the write lock for the length of an HTTP call).
        db.session.commit()
        return ctx

    def enabled_sources(self, workspace_id: int) -> list[str]:
        """The installed sources (ATSes) enabled in the workspace, in the order they were set up:
        one, except in a workspace kept from before a second was refused."""
        sources = set(self.registry.of_kind(SOURCE))
        enabled = db.session.scalars(sa.select(Integration.plugin).where(
            Integration.workspace_id == workspace_id, Integration.enabled.is_(True)).order_by(Integration.id))
        return [name for name in enabled if name in sources]

    def active_source(self, workspace_id: int) -> str | None:
        """The source the hub reads postings, stages and candidates from: the first set up."""
        return next(iter(self.enabled_sources(workspace_id)), None)

    # ------------------------------------------------------------------ URLs
    def public_url(self) -> str:
        configured = self.config.get("PUBLIC_URL")
        if configured:
            return str(configured).rstrip("/")
        if has_request_context():
            return request.host_url.rstrip("/")
        return self.config.get("SERVER_URL") or "http://127.0.0.1:5000"  # ``hub run``'s own address

    def webhook_url(self, plugin: str, key: str) -> str:
        return f"{self.public_url()}/webhooks/{plugin}/{key}"

    # ------------------------------------------------------------------ queue
    def wake(self, delivery_ids: Iterable[int], delay: float | None = None) -> None:
        """Ask a worker to run these deliveries (the rows are the truth; this is only a nudge)."""
        if self.queue is not None:
            self.queue.enqueue(list(delivery_ids), delay)


def get_runtime(app: Any = None) -> HubRuntime:
    return (app or current_app).extensions["hub"]
