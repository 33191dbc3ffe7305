"""Where a Lever connection lives: the Data API base, the OAuth endpoints and the ``audience``.

Production and sandbox are Lever's documented hosts (lever.md §2.4). ``custom`` is any base URL
serving the same paths (``<base>/v1``, ``<base>/authorize``, ``<base>/oauth/token``), such as the
hub's own simulator in ``plugins/lever/sandbox``. No real Lever host serves OAuth that way, so
``custom`` suits the simulator, or API-key access to a Data API host Lever names. Customers in
Lever's EU data centre use production: Lever redirects their OAuth and calls there itself.
"""

from __future__ import annotations

from dataclasses import dataclass

from hub.errors import HubError

from .settings import LeverSettings


@dataclass(frozen=True)
class LeverHosts:
    api_base: str
    authorize_url: str
    token_url: str
    audience: str


PRODUCTION = LeverHosts(
    api_base="https://api.lever.co/v1",
    authorize_url="https://auth.lever.co/authorize",
    token_url="https://auth.lever.co/oauth/token",
    audience="https://api.lever.co/v1/",
)

SANDBOX = LeverHosts(
    api_base="https://api.sandbox.lever.co/v1",
    authorize_url="https://sandbox-lever.auth0.com/authorize",
    token_url="https://sandbox-lever.auth0.com/oauth/token",
    audience="https://api.sandbox.lever.co/v1/",
)


def custom(base_url: str) -> LeverHosts:
    base = base_url.strip().rstrip("/")
    return LeverHosts(api_base=f"{base}/v1", authorize_url=f"{base}/authorize",
                      token_url=f"{base}/oauth/token", audience=f"{base}/v1/")


def hosts_for(settings: LeverSettings) -> LeverHosts:
    if settings.environment == "production":
        return PRODUCTION
    if settings.environment == "sandbox":
        return SANDBOX
    if settings.environment == "custom":
        if not settings.base_url:
            raise HubError("Lever settings: the custom environment needs a base URL", status=400,
                           code="lever_not_configured")
        return custom(settings.base_url)
    raise HubError(f"Lever settings: unknown environment {settings.environment!r}", status=400,
                   code="lever_not_configured")
