"""Health and metrics: ``/healthz`` (the process answers), ``/readyz`` (database and queue reachable),
``/metrics`` (Prometheus text format)."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify

from hub.extensions import csrf, db
from hub.runtime import get_runtime

bp = Blueprint("health", __name__)
csrf.exempt(bp)


@bp.get("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz():
    checks: dict[str, str] = {}
    try:
        db.session.execute(sa.text("SELECT 1"))
        db.session.rollback()
        checks["database"] = "ok"
    except Exception as exc:
        db.session.rollback()
        checks["database"] = f"unavailable: {type(exc).__name__}"
    try:
        get_runtime().queue.ping()
        checks["queue"] = "ok"
    except Exception as exc:
        checks["queue"] = f"unavailable: {type(exc).__name__}"
    ready = all(v == "ok" for v in checks.values())
    return jsonify(status="ready" if ready else "not_ready", checks=checks), 200 if ready else 503


@bp.get("/metrics")
def metrics():
    from hub.engine.sweeper import _update_queue_gauges

    runtime = get_runtime()
    try:
        _update_queue_gauges(runtime)
    except Exception:
        db.session.rollback()
    return Response(runtime.metrics.render(), mimetype="text/plain; version=0.0.4")
