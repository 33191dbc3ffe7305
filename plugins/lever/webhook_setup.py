"""Registering the hub's webhooks through Lever's Webhooks API, and removing them (lever.md §1.8).

``POST /webhooks`` answers the new webhook's signature token once (nested one or two ``data``
levels deep: UNCERTAIN, both are accepted); it is stored at once in the secret ``webhook_tokens``
({webhook id: token}) and the webhook's id in the record ``webhooks`` ({event: {id, url}}).
Setting up again is idempotent: an event that already has a webhook at this URL with a known token
is left alone. A webhook at this URL whose token the hub does not know (a crash between Lever's
answer and our write) is deleted and created again; if Lever refuses the delete it was configured
in Lever's UI and its token must be pasted (manual mode).

A webhook created through the API stays silent until a Lever Super Admin switches its group on
in Lever's settings; the message returned says so.

Lever delivers webhooks over HTTPS only, to a certificate a certificate authority signed (lever.md
§1.2): with a real Lever (the production or sandbox environment) a webhook URL that is not https
is refused before anything is registered (``HUB_PUBLIC_URL`` names the hub's https address). The
custom environment (the hub's simulator, on loopback) takes any URL.

A revoke deletes the hub's webhooks at Lever. Those Lever does not let it delete (Lever down at
that moment) are kept in the record ``webhooks-left`` ({id: {event, url}}), which outlives the
revoke: the integration page warns of them, and the next registration deletes them first.
"""

from __future__ import annotations

from typing import Any, Mapping
from urllib.parse import urlsplit

from hub.entities import RegisteredWebhook
from hub.errors import HubError, NeedsReauthorization, PermanentError, TemporaryError

from .auth import reload
from .client import LeverAPIError, LeverClient, LeverNotFound, path
from .readapi import store_record
from .settings import SecretNames, manual_signature_tokens
from .webhooks import APPLICATION_CREATED, ARCHIVE_CHANGE, DELETED, HIRED, STAGE_CHANGE

# applicationCreated: a candidate created straight into an attached stage fires no stage change
# (lever.md §1.1 documents none), so without it "assess on apply" would never invite.
EVENTS = (STAGE_CHANGE, APPLICATION_CREATED, ARCHIVE_CHANGE, DELETED, HIRED)
RECORD = "webhooks"
LEFT_RECORD = "webhooks-left"  # webhooks a revoke could not delete at Lever: {id: {event, url}}
EVENT_LABELS = {STAGE_CHANGE: "Candidate Stage Change", APPLICATION_CREATED: "Application Created",
                ARCHIVE_CHANGE: "Candidate Archive State Change", DELETED: "Candidate Deleted",
                HIRED: "Candidate Hired"}


def _created(body: Any) -> tuple[str, str]:
    """``(id, signatureToken)`` from ``{"data": {...}}`` or ``{"data": {"data": {...}}}``."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if isinstance(data, Mapping) and isinstance(data.get("data"), Mapping):
        data = data["data"]
    if not isinstance(data, Mapping):
        raise TemporaryError("Lever's answer to POST /webhooks has no webhook in it")
    configuration = data.get("configuration") if isinstance(data.get("configuration"), Mapping) else {}
    webhook_id, token = data.get("id"), configuration.get("signatureToken") or data.get("signatureToken")
    if not isinstance(webhook_id, str) or not webhook_id or not isinstance(token, str) or not token:
        raise TemporaryError("Lever's answer to POST /webhooks lacks the webhook id or its signature token")
    return webhook_id, token


def _tokens(ctx) -> dict[str, str]:
    value = ctx.secrets.get(SecretNames.WEBHOOK_TOKENS) or {}
    return dict(value) if isinstance(value, Mapping) else {}


def _remember(ctx, event: str, webhook_id: str, token: str, url: str) -> None:
    reload(ctx)
    ctx.update_secrets({SecretNames.WEBHOOK_TOKENS: {**_tokens(ctx), webhook_id: token}})
    registered = dict(ctx.records.get(RECORD) or {})
    registered[event] = {"id": webhook_id, "url": url}
    store_record(ctx.records, RECORD, registered)


def _forget(ctx, webhook_ids: set[str]) -> None:
    reload(ctx)
    tokens = {k: v for k, v in _tokens(ctx).items() if k not in webhook_ids}
    ctx.update_secrets({SecretNames.WEBHOOK_TOKENS: tokens})
    registered = {e: w for e, w in dict(ctx.records.get(RECORD) or {}).items()
                  if isinstance(w, Mapping) and w.get("id") not in webhook_ids}
    store_record(ctx.records, RECORD, registered)


def registered(ctx) -> tuple[RegisteredWebhook, ...]:
    """The webhooks the hub registered at Lever for this connection (for ``connection_state``)."""
    tokens = _tokens(ctx)
    known = dict(ctx.records.get(RECORD) or {})
    return tuple(RegisteredWebhook(event=event, label=EVENT_LABELS.get(event, event), url=str(w.get("url") or ""),
                                   token_stored=w.get("id") in tokens)
                 for event, w in sorted(known.items(), key=lambda kv: _order(kv[0]))
                 if isinstance(w, Mapping) and w.get("id"))


def missing(ctx) -> tuple[str, ...]:
    """Labels of the events without a webhook registered for the current URL and a stored token."""
    tokens = _tokens(ctx)
    known = dict(ctx.records.get(RECORD) or {})
    ok = {e for e, w in known.items() if isinstance(w, Mapping) and w.get("url") == ctx.webhook_url
          and w.get("id") in tokens}
    return tuple(EVENT_LABELS[e] for e in EVENTS if e not in ok)


def _order(event: str) -> int:
    return EVENTS.index(event) if event in EVENTS else len(EVENTS)


def _delete(client: LeverClient, webhook_id: str) -> bool:
    """DELETE a webhook; True if it is gone (or was already), False if Lever refused."""
    try:
        client.request("DELETE", path("webhooks", webhook_id))
    except LeverNotFound:
        return True
    except LeverAPIError:
        return False
    return True


def left_at_lever(ctx) -> dict[str, Any]:
    """The webhooks an earlier revoke could not delete at Lever, by id."""
    left = ctx.records.get(LEFT_RECORD)
    return dict(left) if isinstance(left, Mapping) else {}


def _webhooks(count: int) -> str:
    """``count`` webhooks, in words: "1 webhook", "5 webhooks"."""
    return f"{count} webhook{'' if count == 1 else 's'}"


def left_warning(ctx) -> tuple[str, ...]:
    """The integration page's warning while webhooks of a revoked connection are still at Lever."""
    left = left_at_lever(ctx)
    if not left:
        return ()
    return (f"{_webhooks(len(left))} of an earlier, revoked connection could not be deleted at Lever "
            f"({_labels(left)}): Lever still sends them to an address that refuses them. “Register webhooks” "
            "deletes them, or delete them in Lever under Settings > Integrations and API > Webhooks.",)


def _labels(left: Mapping[str, Any]) -> str:
    events = sorted({str(w["event"]) for w in left.values() if isinstance(w, Mapping) and w.get("event")},
                    key=_order)
    return ", ".join(EVENT_LABELS.get(e, e) for e in events) or "events not recorded"


def _delete_left(ctx, client: LeverClient) -> None:
    """Delete the webhooks an earlier revoke left at Lever; those still refused stay recorded."""
    left = left_at_lever(ctx)
    if not left:
        return
    remaining = {webhook_id: w for webhook_id, w in left.items() if not _delete(client, webhook_id)}
    if remaining:
        store_record(ctx.records, LEFT_RECORD, remaining)
    else:
        ctx.records.delete(LEFT_RECORD)


REAL_LEVER = ("production", "sandbox")  # environments whose webhooks a real Lever sends


def _not_https(client: LeverClient, url: str) -> HubError | None:
    """Why Lever could not send webhooks to ``url``: a real Lever sends them over HTTPS only."""
    if client.settings.environment not in REAL_LEVER or urlsplit(url).scheme.lower() == "https":
        return None
    return HubError(f"Lever sends webhooks only to an https address (with a certificate a certificate authority "
                    f"signed, not a self-signed one), and this connection's webhook URL is {url}: set "
                    "HUB_PUBLIC_URL to the hub's https address, then register the webhooks again. Nothing was "
                    "registered at Lever.", status=400, code="lever_webhook_url_not_https")


def setup(ctx, client: LeverClient) -> str:
    url = ctx.webhook_url
    if (problem := _not_https(client, url)) is not None:
        raise problem
    _delete_left(ctx, client)
    existing = [w for w in client.list("/webhooks") if isinstance(w.get("id"), str)]
    tokens = _tokens(ctx)
    registered = dict(ctx.records.get(RECORD) or {})
    created, kept, manual = [], [], []

    # Webhooks the hub made for an older URL of this connection: remove them.
    for event, known in registered.items():
        if isinstance(known, Mapping) and known.get("url") != url and known.get("id"):
            if _delete(client, known["id"]):
                _forget(ctx, {known["id"]})

    for event in EVENTS:
        here = [w for w in existing if w.get("event") == event and w.get("url") == url]
        if any(w["id"] in tokens for w in here):
            kept.append(event)
            continue
        unknown_token = [w for w in here if w["id"] not in tokens]
        if unknown_token and not all(_delete(client, w["id"]) for w in unknown_token):
            manual.append(event)  # configured in Lever's UI: its token must be pasted
            continue
        body = client.request("POST", "/webhooks", json={"url": url, "event": event})
        webhook_id, token = _created(body)
        _remember(ctx, event, webhook_id, token, url)
        tokens[webhook_id] = token
        created.append(event)

    def named(events: list[str]) -> str:  # as Lever's webhook settings page names them
        return ", ".join(EVENT_LABELS.get(e, e) for e in events)

    parts = []
    if created:
        parts.append(f"Registered {_webhooks(len(created))} at Lever for {url}: {named(created)}.")
    if kept:
        parts.append(f"Already registered: {named(kept)}.")
    if manual:
        pasted = manual_signature_tokens(ctx.secrets.get("signature_tokens"))
        parts.append(f"Configured in Lever's settings page, not through the API: {named(manual)}; "
                     + ("their signature tokens are pasted in the settings." if pasted else
                        "paste their signature tokens into the settings (signature_tokens)."))
    groups = ", ".join(f'"{EVENT_LABELS[e]}"' for e in EVENTS)
    parts.append(f"Check in Lever: a Super Admin must switch on the webhook groups ({groups}) under Settings > "
                 "Integrations and API > Webhooks if they are off (the API cannot). While they are off, Lever "
                 "sends nothing; \"Verify connection\" shows whether webhooks arrive.")
    return " ".join(parts)


def disconnect(ctx, client: LeverClient) -> None:
    """Delete the webhooks the hub created at Lever, then forget their tokens and ids."""
    registered = dict(ctx.records.get(RECORD) or {})
    known = {w["id"]: {"event": event, "url": w.get("url")} for event, w in registered.items()
             if isinstance(w, Mapping) and w.get("id")}
    ids = set(known) | set(_tokens(ctx))
    failures: dict[str, str] = {}
    for webhook_id in sorted(ids):
        try:
            if not _delete(client, webhook_id):
                failures[webhook_id] = "Lever refused the delete"
        except (TemporaryError, NeedsReauthorization, PermanentError, HubError) as exc:
            failures[webhook_id] = str(exc)
    ctx.update_secrets({}, remove=(SecretNames.WEBHOOK_TOKENS, *SecretNames.OAUTH))
    ctx.records.delete(RECORD)
    if failures:
        left = {**left_at_lever(ctx), **{i: known.get(i, {"event": None, "url": None}) for i in failures}}
        store_record(ctx.records, LEFT_RECORD, left)
        reasons = sorted(set(failures.values()))
        raise HubError(f"could not delete {_webhooks(len(failures))} at Lever ({_labels(left)}): "
                       f"{reasons[0]}{' (and other reasons)' if len(reasons) > 1 else ''}. After reconnecting, "
                       "“Register webhooks” deletes them; or delete them in Lever under Settings > Integrations "
                       "and API > Webhooks.", status=502, code="lever_disconnect_incomplete")
