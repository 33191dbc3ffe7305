"""The ``/_sandbox`` control API (JSON, no auth) for tests, benchmarks and the demo.

Contract:

* ``POST /_sandbox/reset`` ``{"config": true}``? -> back to the seed: no invitations, no faults,
  zeroed stats and rate buckets, empty webhook queue and log. Runtime config (webhook URL and
  secret...) is kept unless ``"config": true`` restores the start-up values.
* ``GET /_sandbox/state`` -> ``{"config", "assessments" (with questions and correct answers),
  "invitations", "post_counts", "found_counts", "faults", "webhooks": {"pending", "in_flight"}}``;
  ``found_counts``: {external_reference: number of ``GET /v1/invitations?external_reference=``
  lookups that found an invitation} (a client looking up one it had already created, e.g. a
  retry after its worker died before recording the answer).
* ``POST /_sandbox/config`` ``{"WEBHOOK_URL": ..., "WEBHOOK_SECRET": ..., ...}`` (keys of
  ``runtime.DEFAULT_CONFIG`` in any case) -> the config.
* ``GET /_sandbox/invitations`` -> ``{"data": [invitation + "post_count"], "post_counts":
  {external_reference: number of POST /v1/invitations calls}}``.
* ``POST /_sandbox/invitations/<id>/start|complete|verdict|expire|cancel`` -> the invitation;
  ``complete`` takes ``{"answers": {"q1": "b"}}`` or ``{"score": 0..100}``, ``verdict`` takes
  ``{"verdict": "thumbs_up"|"thumbs_down"}``. Same effects (and webhooks) as the pages.
* ``GET /_sandbox/webhook_log`` -> the dispatcher log; ``POST /_sandbox/webhooks/flush`` sends
  every scheduled retry and held event now.
* ``GET /_sandbox/stats`` -> request statistics.
* ``POST /_sandbox/faults`` -> replaces the fault settings (see ``faults.DEFAULTS``);
  ``DELETE /_sandbox/faults`` clears them; ``GET`` shows them.
Errors use the same envelope as the API.
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from . import wire
from .runtime import runtime
from .state import SandboxError, to_wire

bp = Blueprint("canditech_sandbox_control", __name__, url_prefix="/_sandbox")


def _json_object() -> dict:
    body = request.get_json(silent=True)
    if body is None and not request.get_data():
        return {}
    if not isinstance(body, dict):
        raise SandboxError(400, wire.ERR_INVALID_JSON, "body must be a JSON object")
    return body


@bp.post("/reset")
def reset():
    runtime().reset(restore_config=bool(_json_object().get("config")))
    return jsonify({"ok": True})


@bp.get("/state")
def state():
    rt = runtime()
    log = rt.dispatcher.log()
    return jsonify({
        "config": rt.config_snapshot(),
        "assessments": rt.store.assessments(),
        "invitations": [to_wire(i) for i in rt.store.all()],
        "post_counts": rt.store.post_counts(),
        "found_counts": rt.store.found_counts(),
        "faults": rt.faults.snapshot(),
        "webhooks": {"pending": log["pending"], "in_flight": log["in_flight"]},
    })


@bp.post("/config")
def config():
    return jsonify(runtime().update_config(_json_object()))


@bp.get("/config")
def get_config():
    return jsonify(runtime().config_snapshot())


@bp.get("/invitations")
def invitations():
    rt = runtime()
    counts = rt.store.post_counts()
    data = [{**to_wire(i), "post_count": counts.get(i.external_reference, 0)}
            for i in rt.store.all()]
    return jsonify({"data": data, "post_counts": counts})


@bp.post("/invitations/<invitation_id>/start")
def start(invitation_id: str):
    return jsonify(to_wire(runtime().start(invitation_id)))


@bp.post("/invitations/<invitation_id>/complete")
def complete(invitation_id: str):
    body = _json_object()
    answers, score = body.get("answers"), body.get("score")
    if answers is not None:
        if not isinstance(answers, dict) or not all(isinstance(v, str) for v in answers.values()):
            raise SandboxError(422, wire.ERR_VALIDATION,
                               "answers: an object of question id -> option id", field="answers")
        inv = runtime().complete(invitation_id, answers=answers)
    elif score is not None:
        if isinstance(score, bool) or not isinstance(score, int) or not 0 <= score <= 100:
            raise SandboxError(422, wire.ERR_VALIDATION, "score: an integer from 0 to 100",
                               field="score")
        inv = runtime().complete(invitation_id, score=score)
    else:
        raise SandboxError(422, wire.ERR_VALIDATION, "answers or score: one is required",
                           field="answers")
    return jsonify(to_wire(inv))


@bp.post("/invitations/<invitation_id>/verdict")
def verdict(invitation_id: str):
    return jsonify(to_wire(runtime().set_verdict(invitation_id, _json_object().get("verdict"))))


@bp.post("/invitations/<invitation_id>/expire")
def expire(invitation_id: str):
    return jsonify(to_wire(runtime().expire(invitation_id)))


@bp.post("/invitations/<invitation_id>/cancel")
def cancel(invitation_id: str):
    return jsonify(to_wire(runtime().cancel(invitation_id)))


@bp.get("/webhook_log")
def webhook_log():
    return jsonify(runtime().dispatcher.log())


@bp.post("/webhooks/flush")
def flush_webhooks():
    runtime().dispatcher.flush()
    return jsonify({"ok": True})


@bp.get("/stats")
def stats():
    return jsonify(runtime().stats.snapshot())


@bp.get("/faults")
def get_faults():
    return jsonify(runtime().faults.snapshot())


@bp.post("/faults")
def set_faults():
    return jsonify(runtime().faults.configure(_json_object()))


@bp.delete("/faults")
def clear_faults():
    return jsonify(runtime().faults.clear())
