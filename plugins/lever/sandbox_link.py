"""Connecting a workspace to the plugin's own Lever simulator (``plugins/lever/sandbox``), for
``hub demo`` and the end-to-end tests: the same steps an admin takes (settings, API key, webhook
registration), done through the plugin's public pieces. The simulator itself is never imported
here; it runs as its own process or thread.
"""

from __future__ import annotations

from . import readapi, webhook_setup
from .client import LeverClient
from .settings import SECRET_FIELDS, LeverSettingsSchema, settings_of

SANDBOX_MODULE = "plugins.lever.sandbox"
# The simulator's default API key (plugins/lever/sandbox/seed.py); HUB_LEVER_SANDBOX_API_KEY overrides it.
SANDBOX_API_KEY = "lever-sandbox-key"


def connect(ctx, sandbox_url: str) -> str:
    loaded = LeverSettingsSchema().load({**ctx.settings, "environment": "custom",
                                         "base_url": sandbox_url.rstrip("/"), "auth_mode": "api_key"})
    ctx.update_settings({k: v for k, v in loaded.items() if k not in SECRET_FIELDS})
    ctx.update_secrets({"api_key": str(ctx.config.get("LEVER_SANDBOX_API_KEY") or SANDBOX_API_KEY)})
    readapi.clear_cache(ctx)
    client = LeverClient(ctx, settings=settings_of(ctx))
    client.get("/users", {"limit": 1})  # the credentials work
    webhooks = webhook_setup.setup(ctx, client)
    message = f"connected to the Lever sandbox at {sandbox_url} with its API key"
    ctx.set_status("connected", message)
    return f"{message}. {webhooks}"
