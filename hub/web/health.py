"""Health and metrics: ``/healthz`` (the process answers), ``/readyz`` (database reachable, its schema
at this version's migration; the queue's and the stored secrets' state reported), ``/metrics``
(Prometheus text format; with ``HUB_METRICS_TOKEN`` set, only for ``Authorization: Bearer <that
token>``)."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, jsonify, request

from hub.errors import Unauthorized
from hub.extensions import csrf, db
from hub.runtime import get_runtime
from hub.store import schema
from hub.web.errors import log_database_unavailable

bp = Blueprint("health", __name__)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    """200 when the database answers and its schema is at this version's newest migration; else 503
    with ``checks`` saying which is not (``schema``: at what revision the database is, which one
    the code needs, and what to run).

    Two more checks are reported without making a process unready, as ``status: "degraded"`` (200;
    alert on it, docs/operations.md): the queue (Redis in production), without which a web process
    still stores every webhook and serves the pages (the queue only wakes workers; once it is back,
    their sweeper wakes what was stored meanwhile); and ``secrets``, whether this process's
    ``HUB_ENCRYPTION_KEYS`` decrypt the stored secrets (``HubRuntime.unreadable_secrets``): a
    process left with old keys answers the webhooks it cannot verify 503, so their senders retry,
    and a key lost everywhere must not take every web process out of the load balancer, which
    would leave no page to revoke and reconnect from. A load balancer that took processes out for
    either would refuse webhooks the hub could have kept."""
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
    except Exception as exc:
        db.session.rollback()
        checks["database"] = f"unavailable: {type(exc).__name__}"
        log_database_unavailable(exc)  # the reason goes to the log only: this answer needs no sign-in
    if checks["database"] == "ok":
        checks["schema"] = schema_check()
    if checks.get("schema") == "ok":
        checks["secrets"] = get_runtime().unreadable_secrets() or "ok"
    try:
        get_runtime().queue.ping()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"unavailable: {type(exc).__name__}"
    ready = checks["database"] == "ok" and checks["schema"] == "ok"
    degraded = checks["queue"] != "ok" or checks.get("secrets", "ok") != "ok"
    status = ("degraded" if degraded else "ready") if ready else "not_ready"
    return jsonify(status=status, checks=checks), 200 if ready else 503


SCHEMA_READY = "hub.schema_ready"  # app.extensions key: the schema was found at head once


def schema_check() -> str:
    """``"ok"`` when the database's Alembic revision is the newest this code ships, else a sentence
    naming both and what to run.

    The code's migrations are read once per process (``hub.store.schema``), and the positive
    answer is kept for the life of the process (in ``app.extensions``), so a ready process reads
    the revision once: a database's schema does not go backwards under a running
    hub (upgrades stop the old version first, *Operations*). A process not ready yet reads it at
    each probe, and becomes ready as soon as ``hub db upgrade`` has run."""
    app = current_app._get_current_object()
    if app.extensions.get(SCHEMA_READY):
        return "ok"
    from alembic.runtime.migration import MigrationContext

    head = schema.head(app)
    try:
        current = MigrationContext.configure(db.session.connection()).get_current_revision()
    except Exception as exc:
        log_database_unavailable(exc)
        return f"unavailable: {type(exc).__name__}"
    finally:
        db.session.rollback()
    if current == head:
        app.extensions[SCHEMA_READY] = True
        return "ok"
    if current is None:
        from hub.config import unset_database_in_production

        # a production node without HUB_DATABASE_URL: `hub init` there would make a database of its own
        return unset_database_in_production(app) or (f"the database has no tables yet (no migration), the code "
                                                     f"needs {head}: run `hub init`")
    if not schema.knows(app, current):  # e.g. a deploy rolled back after a newer version migrated
        return schema.newer_version_message(current, head)
    return f"the database schema is at {current}, the code needs {head}: run `hub db upgrade`"


@bp.get("/metrics")
def metrics():
    from hub.engine.sweeper import _update_queue_gauges

    runtime = get_runtime()
    if not _bears_metrics_token(runtime.config.get("METRICS_TOKEN")):
        refusal = Unauthorized("this hub serves /metrics only with its metrics token: "
                               "Authorization: Bearer <HUB_METRICS_TOKEN>")
        return jsonify(refusal.to_dict()), refusal.status, {"WWW-Authenticate": 'Bearer realm="metrics"'}
    try:
        _update_queue_gauges(runtime)
    except Exception:
        db.session.rollback()
    return Response(runtime.metrics.render(), mimetype="text/plain; version=0.0.4")


def _bears_metrics_token(expected: str | None) -> bool:
    """With ``HUB_METRICS_TOKEN`` set, does the request carry it as a bearer token? (Always, unset.)"""
    if not expected:
        return True
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), expected.encode())
