"""The ``/_sandbox`` control API (JSON, no auth) for tests, benchmarks and the demo.

* ``POST /_sandbox/reset`` ``{"config": true}``? -> seed state: no candidate assessments, no tokens,
  no faults, empty webhook queue and log, zeroed counts (config kept unless ``"config": true``).
* ``GET|POST /_sandbox/config`` -> the settings (lower-case keys; POST takes any case):
  ``webhook_url`` and ``webhook_secret`` (Vervoe's dashboard webhook settings), ``retry_delays``
  (alias of ``webhook_retry_delays``), ``webhook_timeout``, ``api_credentials``,
  ``token_ttl_seconds``, ``auto_grade``, ``page_size``, ``public_url``.
* ``GET /_sandbox/state`` -> config, assessments (with answer keys), candidate assessments (with
  their links), tokens issued, invite POST counts, faults, webhook queue.
* ``GET /_sandbox/user-assessments`` -> ``{"data": [...]}``.
* ``POST /_sandbox/user-assessments/<uuid>/start|complete|grade|hire|unhire|reject|unreject|expire|reset``
  -> the candidate assessment; ``complete`` takes ``{"answers": {"q1": "b"}}`` or ``{"score": 0..100}``,
  ``grade`` takes ``{"score": 0..100}``. Same effects and webhooks as the pages.
* ``POST /_sandbox/tokens/expire`` -> every issued token stops working (the next call gets 401).
* ``GET /_sandbox/webhook_log``; ``POST /_sandbox/webhooks/flush`` sends scheduled retries now.
* ``GET /_sandbox/stats`` -> ``{"by_route": {"GET /api/...": {"200": n}}, "tokens_issued", "invite_posts"}``.
* ``GET|POST|DELETE /_sandbox/faults`` -> show / replace / clear the faults (``faults.DEFAULTS``).
"""

from __future__ import annotations

from flask import Blueprint, jsonify, request

from .runtime import runtime
from .state import SandboxError, UserAssessment, report_json

bp = Blueprint("vervoe_sandbox_control", __name__, url_prefix="/_sandbox")

_ALIASES = {"retry_delays": "webhook_retry_delays"}


def _body() -> dict:
    if not request.get_data():
        return {}
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise SandboxError(400, "body must be a JSON object")
    return body


def _score(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 100:
        raise SandboxError(422, "score: an integer from 0 to 100")
    return value


def full(ua: UserAssessment) -> dict:
    return {**report_json(ua), "candidateFirstName": ua.first_name, "candidateLastName": ua.last_name,
            "candidateUrl": ua.candidate_url, "answers": dict(ua.answers), "sendInvitationEmail": ua.send_email,
            "redirectCandidateUrl": ua.redirect_url, "resets": ua.resets, "createdAt": ua.created_at.isoformat()}


@bp.post("/reset")
def reset():
    runtime().reset(restore_config=bool(_body().get("config")))
    return jsonify({"ok": True})


@bp.get("/config")
def get_config():
    return jsonify(runtime().config_snapshot())


@bp.post("/config")
def set_config():
    body = {_ALIASES.get(str(k).lower(), k): v for k, v in _body().items()}
    return jsonify(runtime().update_config(body))


@bp.get("/state")
def state():
    rt = runtime()
    log = rt.dispatcher.log()
    return jsonify({"config": rt.config_snapshot(), "assessments": rt.store.assessment_list(),
                    "user_assessments": [full(ua) for ua in rt.store.all()], **rt.stats(),
                    "faults": rt.faults.snapshot(),
                    "webhooks": {"pending": log["pending"], "in_flight": log["in_flight"]}})


@bp.get("/user-assessments")
def user_assessments():
    return jsonify({"data": [full(ua) for ua in runtime().store.all()]})


@bp.post("/user-assessments/<uuid>/<action>")
def act(uuid: str, action: str):
    rt = runtime()
    body = _body()
    if action == "complete":
        answers, score = body.get("answers"), body.get("score")
        if answers is not None and (not isinstance(answers, dict)
                                    or not all(isinstance(v, str) for v in answers.values())):
            raise SandboxError(422, "answers: an object of question id -> option id")
        ua = rt.complete(uuid, answers=answers, score=_score(score) if score is not None else None)
    elif action == "grade":
        ua = rt.grade(uuid, _score(body.get("score")))
    elif action == "reset":
        ua = rt.reset_assessment(uuid)
    elif action in ("start", "hire", "unhire", "reject", "unreject", "expire"):
        ua = getattr(rt, action)(uuid)
    else:
        raise SandboxError(404, f"unknown action {action!r}")
    return jsonify(full(ua))


@bp.post("/tokens/expire")
def expire_tokens():
    return jsonify({"expired": runtime().store.expire_tokens()})


@bp.get("/webhook_log")
def webhook_log():
    return jsonify(runtime().dispatcher.log())


@bp.post("/webhooks/flush")
def flush():
    runtime().dispatcher.flush()
    return jsonify({"ok": True})


@bp.get("/stats")
def stats():
    return jsonify(runtime().stats())


@bp.get("/faults")
def get_faults():
    return jsonify(runtime().faults.snapshot())


@bp.post("/faults")
def set_faults():
    return jsonify(runtime().faults.configure(_body()))


@bp.delete("/faults")
def clear_faults():
    return jsonify(runtime().faults.clear())
