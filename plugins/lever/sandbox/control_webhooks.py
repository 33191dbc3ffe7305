"""Control API for webhooks and OAuth (same ``/_sandbox`` blueprint as ``control.py``).

Contract:
- ``GET /webhook_log[?event&webhook_id&kind]`` -> ``{"data": [entry]}``, oldest first; an entry
  is ``{delivery_id, event_id, webhook_id, event, url, kind ("event"|"duplicate"|"test"),
  attempt, status_code, ok, error, time (ms), duration_ms, final, payload}``.
- ``POST /webhooks/wait_idle`` ``{"timeout": s (default 5)}`` -> ``{"idle": bool,
  "pending": n}`` once nothing is queued, held or in flight (or the timeout passed).
- ``GET /webhooks`` -> every webhook with ``signatureToken``, ``source`` ("api"|"ui") and
  ``active``.
- ``POST /webhooks/<id>/test``: Lever's "Verify connection" (signed, event candidateHired,
  ``data: {}``), sent now -> ``{"webhook_id", "status_code", "ok", "error"}``.
- ``POST /webhooks/<id>/enable`` | ``/disable``: the Super Admin toggle.
- ``POST /manual_webhooks`` ``{"url", "event", "signed"?}`` -> 201 webhook incl.
  ``signatureToken`` (a webhook configured on Lever's settings page; the admin pastes the token
  into the hub). With ``"signed": false`` no signing token is generated: ``signatureToken`` is
  null and its requests (deliveries and tests) carry no ``signature``, as Lever's do until a
  token is generated (lever.md §1.4). ``POST /manual_webhooks/<id>/regenerate`` -> the webhook
  with a new token (old one stops verifying; an unsigned webhook is signed from then on).
- ``POST /oauth/revoke`` ``{"client_id"}`` -> counts of revoked tokens (an admin revoking the
  app); ``POST /oauth/expire`` ``{"client_id"?}`` -> ``{"expired": n}`` (access tokens only).
"""

from __future__ import annotations

from flask import jsonify, request

from .api import json_body
from .context import get_sandbox
from .control import bp, control_webhook_obj
from .errors import bad_request
from .state import validate_webhook_fields


@bp.get("/webhook_log")
def webhook_log():
    args = request.args
    entries = get_sandbox().sender.log(event=args.get("event"),
                                       webhook_id=args.get("webhook_id"), kind=args.get("kind"))
    return jsonify({"data": entries})


@bp.post("/webhooks/wait_idle")
def wait_idle():
    timeout = json_body().get("timeout", 5)
    if not isinstance(timeout, (int, float)) or not 0 <= timeout <= 600:
        raise bad_request("timeout must be between 0 and 600 seconds")
    sender = get_sandbox().sender
    idle = sender.wait_idle(float(timeout))
    return jsonify({"idle": idle, "pending": sender.pending()})


@bp.get("/webhooks")
def list_webhooks():
    state = get_sandbox().state
    with state.lock:
        return jsonify({"data": [control_webhook_obj(h) for h in state.webhooks.values()]})


def verify_connection(webhook_id: str) -> dict:
    """Send the test request for ``webhook_id`` now and summarise the result."""
    sandbox = get_sandbox()
    entry = sandbox.sender.send_test(dict(sandbox.state.webhook(webhook_id)))
    return {"webhook_id": webhook_id, "status_code": entry["status_code"], "ok": entry["ok"],
            "error": entry["error"]}


@bp.post("/webhooks/<webhook_id>/test")
def test_webhook(webhook_id: str):
    return jsonify(verify_connection(webhook_id))


@bp.post("/webhooks/<webhook_id>/enable")
def enable_webhook(webhook_id: str):
    return jsonify(control_webhook_obj(get_sandbox().state.set_webhook_active(webhook_id, True)))


@bp.post("/webhooks/<webhook_id>/disable")
def disable_webhook(webhook_id: str):
    return jsonify(control_webhook_obj(get_sandbox().state.set_webhook_active(webhook_id, False)))


def create_manual_webhook(url, event, signed: bool = True) -> dict:
    """Create a UI-configured (always active) webhook, with a signing token unless ``signed`` is
    False; returns its store record."""
    validate_webhook_fields(url, event, None)
    return get_sandbox().state.create_webhook(url=url, event=event, configuration=None,
                                              source="ui", active=True, signed=signed)


@bp.post("/manual_webhooks")
def manual_webhook():
    body = json_body()
    signed = body.get("signed", True)
    if not isinstance(signed, bool):
        raise bad_request("signed must be a boolean")
    hook = create_manual_webhook(body.get("url"), body.get("event"), signed)
    return jsonify(control_webhook_obj(hook)), 201


@bp.post("/manual_webhooks/<webhook_id>/regenerate")
def regenerate(webhook_id: str):
    return jsonify(control_webhook_obj(get_sandbox().state.regenerate_token(webhook_id)))


@bp.post("/oauth/revoke")
def revoke():
    sandbox = get_sandbox()
    client_id = json_body().get("client_id")
    if not sandbox.oauth.client_known(client_id):
        raise bad_request("client_id must name a registered OAuth client")
    return jsonify({"client_id": client_id, **sandbox.oauth.revoke_client(client_id)})


@bp.post("/oauth/expire")
def expire():
    client_id = json_body().get("client_id")
    return jsonify({"expired": get_sandbox().oauth.expire_access_tokens(client_id)})
