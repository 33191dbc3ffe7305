"""Connecting a workspace to the plugin's own Canditech simulator (``plugins/canditech/sandbox``),
for ``hub demo``, the plugin kit's contract tests and the end-to-end tests.

It does what an admin does: copy the API key and the webhook signing secret from Canditech into
the hub's settings, and point Canditech's webhooks at the hub. The simulator is never imported
here: it runs in its own process or thread, and this module talks to its control API over HTTP.
The ``/_sandbox`` paths belong to the simulator, not to Canditech's API, so they are here and not
in ``wire``.
"""

from __future__ import annotations

from typing import Any

from .client import CanditechClient
from .settings import SECRET_FIELDS, CanditechSettingsSchema

SANDBOX_MODULE = "plugins.canditech.sandbox"
CONFIG_PATH = "/_sandbox/config"


def connect(ctx: Any, sandbox_url: str) -> str:
    base = sandbox_url.rstrip("/")
    answer = ctx.http.get(base + CONFIG_PATH)
    answer.raise_for_status()
    config = answer.json()
    api_keys = config.get("API_KEYS") or []
    # webhooks of invitations without a callback URL come to this connection as well
    ctx.http.post(base + CONFIG_PATH, json={"WEBHOOK_URL": ctx.webhook_url}).raise_for_status()

    loaded = CanditechSettingsSchema().load({
        **ctx.settings, "base_url": base,
        "api_key": api_keys[0] if api_keys else "", "webhook_secrets": config.get("WEBHOOK_SECRET") or "",
    })
    ctx.update_settings({k: v for k, v in loaded.items() if k not in SECRET_FIELDS})
    ctx.update_secrets({k: loaded[k] for k in SECRET_FIELDS if loaded.get(k)})
    count = len(CanditechClient(ctx).list_assessments())
    message = f"connected to the Canditech sandbox at {base} ({count} assessments)"
    ctx.set_status("connected", message)
    return message
