"""``/v1/webhooks`` routes: Lever's Webhooks Subscription API (lever.md §1.8).

Contract:
- ``GET /webhooks`` -> ``{"data": [webhook]}`` WITHOUT ``signatureToken`` (UI-configured webhooks
  included).
- ``POST /webhooks`` ``{"url" (http(s), required), "event" (one of the ten), "configuration"?}``
  -> ``201 {"data": {id, event, url, configuration: {signatureToken (48 hex), ...}, createdAt,
  updatedAt}}`` (one ``data`` level, as public clients parse it). The webhook is active at once,
  unless the ``require_toggle`` setting is on: then it stays inactive until
  ``POST /_sandbox/webhooks/<id>/enable`` (real Lever needs a Super Admin toggle).
- ``PUT /webhooks`` ``{"data": [{"id", "url"?, "configuration"?}]}`` -> ``200 {"data": [...]}``.
- ``DELETE /webhooks/<id>`` -> 204.
- Only API-created webhooks may be changed through the API (400 for UI ones).
"""

from __future__ import annotations

from .api import bp, data_response, json_body
from .context import get_sandbox
from .errors import bad_request
from .render import webhook_obj
from .state import validate_webhook_fields


@bp.get("/webhooks")
def list_webhooks():
    state = get_sandbox().state
    with state.lock:
        items = [webhook_obj(h) for h in state.webhooks.values()]
    return data_response(items)


@bp.post("/webhooks")
def create_webhook():
    sandbox = get_sandbox()
    body = json_body()
    url, event, configuration = body.get("url"), body.get("event"), body.get("configuration")
    validate_webhook_fields(url, event, configuration)
    hook = sandbox.state.create_webhook(
        url=url, event=event, configuration=configuration, source="api",
        active=not sandbox.settings["require_toggle"])
    return data_response(webhook_obj(hook, with_token=True), 201)


@bp.put("/webhooks")
def update_webhooks():
    state = get_sandbox().state
    updates = json_body().get("data")
    if not isinstance(updates, list) or not all(isinstance(u, dict) and u.get("id")
                                                for u in updates):
        raise bad_request("data must be a list of objects with an id")
    with state.lock:
        for update in updates:  # validate everything before changing anything
            hook = state.api_webhook(update["id"])
            validate_webhook_fields(update.get("url", hook["url"]), hook["event"],
                                    update.get("configuration"))
        changed = [state.update_webhook(u["id"], url=u.get("url"),
                                        configuration=u.get("configuration"))
                   for u in updates]
        return data_response([webhook_obj(h) for h in changed])


@bp.delete("/webhooks/<webhook_id>")
def delete_webhook(webhook_id: str):
    get_sandbox().state.delete_webhook(webhook_id, via_api=True)
    return "", 204
