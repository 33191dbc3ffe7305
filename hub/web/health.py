"""Health and metrics: ``/healthz`` (the process answers), ``/readyz`` (database and queue reachable),
``/metrics`` (Prometheus text format; with ``HUB_METRICS_TOKEN`` set, only for
``Authorization: Bearer <that token>``)."""

from __future__ import annotations

import hmac

import sqlalchemy as sa
from flask import Blueprint, Response, jsonify, request

from hub.errors import Unauthorized
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
