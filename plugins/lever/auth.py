"""Credentials for Lever's Data API: an API key (HTTP Basic) or OAuth 2.0 as a partner app.

OAuth (lever.md §2.2) goes through Authlib's ``OAuth2Session``: the authorize URL (with
``audience``, ``state``, ``prompt=consent``), the code exchange and the refresh. Tokens are hub
secrets (``SecretNames``). Access tokens live an hour; one is refreshed when less than
``LEVER_REFRESH_MARGIN_SECONDS`` (default 300) remain, by one worker at a time across every
process (``ctx.lock("oauth-refresh")``): the others wait, re-read the secrets and use the token
the winner stored. Lever rotates the refresh token on every refresh, so the new one is stored
every time; ``invalid_grant`` means the grant is gone (revoked, expired, or a refresh token that
was already spent) and turns the connection into "needs re-authorization". The refused grant is
remembered (``REFUSED``, with the hash of its refresh token): every later call, in any worker,
raises ``NeedsReauthorization`` at once instead of offering Lever the dead grant again (each
retry of each delivery, each page reading Lever, the daily keep-alive), until a connect stores a
new grant. A token endpoint that fails otherwise (5xx, 429, a timeout, no answer) is a
``TemporaryError``: the work is retried later with the same grant.

The code exchange of a (re)connect stores its grant under the same lock as refreshes: a worker
refreshing the old grant at that moment finishes first, so neither the old grant's rotated tokens
nor its refusal ("needs re-authorization") land on top of the new connection.

Lever drops a refresh token after 90 days without use, and every grant after a year (lever.md
§2.2). Refreshes happen only when a call needs a token, so a connection idle for a season would
lose its grant: ``keep_alive`` (run by the plugin's periodic ``reconcile`` hook) refreshes an OAuth
grant that Lever last renewed more than ``KEEPALIVE_AFTER_SECONDS`` ago. Nothing can extend the
one-year limit: after it the admin connects again.

The scopes requested are ``HUB_LEVER_SCOPES`` (default ``SCOPES``); when the stored grant has
fewer (a narrower consent, or a connection made before the hub requested more), the integration's
page warns which are missing (``grant_warnings``) until a connect grants them; ``complete`` logs it.
"""

from __future__ import annotations

import base64
import hashlib
import json
import time
from urllib.parse import urlsplit
from typing import Any, Mapping

import requests
from authlib.integrations.base_client import OAuthError
from authlib.integrations.requests_client import OAuth2Session

from hub.errors import Deferred, HubError, NeedsReauthorization, PermanentError, PluginError, TemporaryError

from .hosts import LeverHosts, hosts_for
from .settings import SecretNames, settings_of

# The assessment use case's scopes (lever.md §2.3) plus postings, users and archive reasons, and
# the reads of an opportunity's application and contact when Lever does not expand them (readapi).
SCOPES = (
    "offline_access",
    "opportunities:write:admin",
    "notes:write:admin",
    "stages:read:admin",
    "tags:read:admin",
    "webhooks:write:admin",
    "postings:read:admin",
    "users:read:admin",
    "archive_reasons:read:admin",
    "applications:read:admin",
    "contact:read:admin",
)
OFFLINE_ACCESS = "offline_access"  # without it Lever issues no refresh token (lever.md §2.2)

# A refresh renews Lever's 90-day inactivity clock; weekly leaves room for weeks of failures.
KEEPALIVE_AFTER_SECONDS = 7 * 24 * 3600
KEEPALIVE_RETRY_SECONDS = 24 * 3600  # after a failed keep-alive, the next try waits this long
KEEPALIVE_RECORD = "oauth:keepalive"  # ctx.records: {"attempted_at": epoch seconds}
REFRESHED_AT = "oauth_refreshed_at"  # secret: epoch seconds when Lever last issued the tokens
REFUSED = "oauth_refused_grant"  # secret: {"refresh_token_sha256", "message"} of the grant Lever refused

DEFAULT_REFRESH_MARGIN = 300.0
DEFAULT_TOKEN_LIFETIME = 3600
TOKEN_TIMEOUT = 15.0
REFRESH_LOCK = "oauth-refresh"
ACCOUNT_CLAIM = "https://oauth.lever.co/accountId"


# --------------------------------------------------------------------------- API key


def basic_auth(ctx) -> tuple[str, str]:
    """``(key, "")`` for requests' HTTP Basic: Lever wants the key as user name, no password."""
    key = ctx.secrets.get("api_key")
    if not key:
        raise NeedsReauthorization("Lever is not connected: enter an API key in the settings")
    return (str(key), "")


# --------------------------------------------------------------------------- OAuth client


def client_credentials(ctx) -> tuple[str, str]:
    config = ctx.config
    client_id, secret = config.get("LEVER_CLIENT_ID"), config.get("LEVER_CLIENT_SECRET")
    if not client_id or not secret:
        raise HubError("Lever OAuth is not configured: set HUB_LEVER_CLIENT_ID and HUB_LEVER_CLIENT_SECRET",
                       status=400, code="lever_oauth_not_configured")
    return str(client_id), str(secret)


def _session(ctx, redirect_uri: str | None = None) -> OAuth2Session:
    client_id, secret = client_credentials(ctx)
    return OAuth2Session(client_id, secret, token_endpoint_auth_method="client_secret_post",
                         redirect_uri=redirect_uri, default_timeout=TOKEN_TIMEOUT)


def _hosts(ctx) -> LeverHosts:
    return hosts_for(settings_of(ctx))


def scopes(ctx) -> tuple[str, ...]:
    """The scopes to request: ``HUB_LEVER_SCOPES`` (names separated by spaces or commas, or a
    JSON list) or ``SCOPES`` when unset or empty, in the order given, each once, with
    ``offline_access`` added when missing. Raises ``HubError`` for a value that is neither."""
    raw = ctx.config.get("LEVER_SCOPES")
    if raw is None:
        return SCOPES
    if isinstance(raw, str):
        names = raw.replace(",", " ").split()
    elif isinstance(raw, (list, tuple)) and all(isinstance(name, str) for name in raw):
        names = [part for name in raw for part in name.replace(",", " ").split()]
    else:
        raise HubError("HUB_LEVER_SCOPES must list Lever scope names separated by spaces or commas, "
                       f"not {raw!r}: correct it and restart the hub", status=400, code="lever_not_configured")
    if not names:
        return SCOPES
    if OFFLINE_ACCESS not in names:
        names.insert(0, OFFLINE_ACCESS)
    return tuple(dict.fromkeys(names))


def missing_scopes(requested: tuple[str, ...], granted: Any) -> list[str]:
    """The requested scopes that ``granted`` (the token response's ``scope``) lacks, in request
    order. A write scope includes its read scope (lever.md §2.3). ``offline_access`` is not
    checked (the refresh token shows it), and an absent ``scope`` means all were granted (RFC 6749
    §5.1: the server may omit it when it granted what was asked)."""
    if isinstance(granted, str):
        have = set(granted.replace(",", " ").split())
    elif isinstance(granted, (list, tuple)):
        have = {str(name) for name in granted}
    else:
        return []
    if not have:
        return []
    return [name for name in requested if name != OFFLINE_ACCESS and name not in have
            and name.replace(":read:", ":write:") not in have]


def authorize_url(ctx, redirect_uri: str, state: str) -> str:
    hosts = _hosts(ctx)
    with _session(ctx, redirect_uri) as session:
        url, _ = session.create_authorization_url(hosts.authorize_url, state=state, scope=" ".join(scopes(ctx)),
                                                  audience=hosts.audience, prompt="consent")
    return url


def complete(ctx, redirect_uri: str, params: Mapping[str, str]) -> str:
    """Finish the authorization-code flow: exchange the code and store the tokens. Returns the
    message the connect flow shows the admin (also the connection's status message); it warns
    when Lever sent no refresh token. A grant of fewer scopes than requested is logged, and the
    integration's page shows it (``grant_warnings``)."""
    error = params.get("error")
    if error:
        description = params.get("error_description") or error
        raise HubError(f"Lever did not authorize the connection: {description}", status=400,
                       code="oauth_access_denied" if error == "access_denied" else "oauth_error")
    code = params.get("code")
    if not code:
        raise HubError("Lever's callback carried neither a code nor an error", status=400, code="oauth_error")
    hosts = _hosts(ctx)
    requested = scopes(ctx)
    try:
        # the refresh lock, taken before the code is spent: a worker refreshing the old grant right
        # now finishes (stores its tokens, or its refusal) before this grant is stored over it
        with ctx.lock(REFRESH_LOCK, ttl=60.0, wait=30.0):
            try:
                with _session(ctx, redirect_uri) as session:
                    token = session.fetch_token(hosts.token_url, code=code, grant_type="authorization_code")
            except OAuthError as exc:
                raise HubError(f"Lever refused the authorization code: {exc.description or exc.error}",
                               status=400, code="oauth_error") from exc
            except (requests.RequestException, ValueError) as exc:
                raise HubError(f"{_endpoint_failure(exc)}, so nothing was connected: press “Connect with "
                               "Lever” (or “Reconnect with Lever”) again in a few minutes", status=502,
                               code="lever_unavailable") from exc
            stored = _store_token(ctx, token, forget=(REFUSED,))
    except Deferred as exc:
        raise HubError("The hub is renewing its Lever access at this very moment and it takes longer than "
                       "usual, so nothing was connected: press “Connect with Lever” (or “Reconnect with "
                       "Lever”) again in a minute", status=503, code="lever_unavailable") from exc
    if settings_of(ctx).auth_mode != "oauth":
        ctx.update_settings({"auth_mode": "oauth"})
    account = stored.get(SecretNames.ACCOUNT_ID)
    message = "Lever is connected with OAuth" + (f" (account {account})" if account else "")
    if not stored.get(SecretNames.REFRESH_TOKEN) and not ctx.secrets.get(SecretNames.REFRESH_TOKEN):
        message += "; Lever sent no refresh token, so the connection ends when the access token expires"
    missing = missing_scopes(requested, token.get("scope"))
    if missing:  # the integration's page shows it (``grant_warnings``) until a connect grants them
        ctx.log.warning("lever OAuth grant lacks requested scopes: %s", " ".join(missing))
    ctx.set_status("connected", message)
    return message + "."


def grant_warnings(ctx) -> tuple[str, ...]:
    """For ``connection_state``: a warning when the stored grant lacks scopes this hub requests (a
    narrower consent, or a connection made before the hub requested more). A grant Lever stored
    without a ``scope``, or an unreadable ``HUB_LEVER_SCOPES`` (its own error), gives none."""
    granted = ctx.secrets.get(SecretNames.SCOPE)
    if not granted:
        return ()
    try:
        missing = missing_scopes(scopes(ctx), granted)
    except HubError:
        return ()
    if not missing:
        return ()
    return (f"Lever did not grant {', '.join(missing)}, so the hub's calls that need "
            f"{'it' if len(missing) == 1 else 'them'} will be refused: ask a Lever Super Admin to approve "
            "every scope the hub requests, then reconnect with Lever.",)


def _account_id(access_token: str) -> str | None:
    """The Lever account id claim of an access token, when it is a readable JWT (lever.md §2.2
    marks the claims as UNCERTAIN: absence is fine)."""
    try:
        payload = access_token.split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except (IndexError, ValueError, TypeError):
        return None
    value = claims.get(ACCOUNT_CLAIM) if isinstance(claims, dict) else None
    return str(value) if value else None


def _store_token(ctx, token: Mapping[str, Any], forget: tuple[str, ...] = ()) -> dict[str, Any]:
    access = token.get("access_token")
    if not isinstance(access, str) or not access:
        raise TemporaryError("Lever's token endpoint answered without an access token")
    expires_at = token.get("expires_at")
    if not isinstance(expires_at, (int, float)):
        expires_in = token.get("expires_in")
        lifetime = float(expires_in) if isinstance(expires_in, (int, float)) else DEFAULT_TOKEN_LIFETIME
        expires_at = time.time() + lifetime
    values: dict[str, Any] = {SecretNames.ACCESS_TOKEN: access, SecretNames.EXPIRES_AT: float(expires_at),
                              REFRESHED_AT: time.time(), SecretNames.API_BASE: _hosts(ctx).api_base}
    if token.get("refresh_token"):
        values[SecretNames.REFRESH_TOKEN] = token["refresh_token"]
    if token.get("scope"):
        values[SecretNames.SCOPE] = token["scope"]
    account = _account_id(access)
    if account:
        values[SecretNames.ACCOUNT_ID] = account
    ctx.update_secrets(values, remove=forget)
    return values


def _sha256(value: Any) -> str:
    return hashlib.sha256(str(value).encode()).hexdigest()


def _refused(secrets: Mapping[str, Any]) -> str | None:
    """The message of Lever's refusal when the stored refresh token is the one Lever refused."""
    refused = secrets.get(REFUSED)
    refresh_token = secrets.get(SecretNames.REFRESH_TOKEN)
    if not isinstance(refused, Mapping) or not refresh_token:
        return None
    if refused.get("refresh_token_sha256") != _sha256(refresh_token):
        return None
    return str(refused.get("message") or "Lever refused the connection: connect with OAuth again")


def issued_elsewhere(ctx, secrets: Mapping[str, Any] | None = None) -> tuple[str, str] | None:
    """``(issuer, here)``, the hosts of the Lever that issued the stored grant and of the one the
    settings now point at, when they differ (the environment or the custom base URL changed since
    Lever issued it); None when they are the same, when no issuer was kept (a grant stored before
    it was, trusted where it is), or when the settings name no Lever."""
    secrets = ctx.secrets if secrets is None else secrets
    issued_by = secrets.get(SecretNames.API_BASE)
    if not issued_by:
        return None
    try:
        here = _hosts(ctx).api_base
    except HubError:  # no Lever to compare with (a custom environment without its base URL)
        return None
    if issued_by == here:
        return None
    return urlsplit(issued_by).netloc, urlsplit(here).netloc


def adopt_issuer(ctx) -> bool:
    """Record where a grant stored before the issuer was kept (no ``oauth_api_base``) is used now:
    the Lever the settings name, which it has been used with. Run by the periodic hook, so such a
    grant is bound to its Lever soon after an upgrade, not only at its next refresh (until then a
    new environment or base URL would receive its tokens). True when it recorded one."""
    secrets = ctx.secrets
    if settings_of(ctx).auth_mode != "oauth" or secrets.get(SecretNames.API_BASE) or not (
            secrets.get(SecretNames.ACCESS_TOKEN) or secrets.get(SecretNames.REFRESH_TOKEN)):
        return False
    try:
        here = _hosts(ctx).api_base
    except HubError:  # no Lever named (a custom environment without its base URL): nothing to record
        return False
    ctx.update_secrets({SecretNames.API_BASE: here})
    return True


def _check_issued_here(ctx, secrets: Mapping[str, Any]) -> None:
    """Refuse to send the stored grant's tokens to a Lever other than the one that issued them: a
    Super Admin who points the environment or the custom base URL elsewhere (anyone's server) must
    connect with OAuth again there; the tokens never leave for the new address. A grant stored
    before the issuer was kept has none and is trusted where it is."""
    hosts = issued_elsewhere(ctx, secrets)
    if hosts is None:  # a settings error (no base URL) is said by the call that needs the hosts
        return
    issuer, here = hosts
    raise _needs_reauthorization(ctx, f"the OAuth connection was made with Lever at {issuer}, "
                                      f"and the Lever environment is now {here}: connect with OAuth again")


def _endpoint_failure(exc: Exception) -> str:
    """What went wrong with Lever's token endpoint, in words (never requests' own text, which
    names connection pools and retries, nor an error page's HTML)."""
    if isinstance(exc, requests.Timeout):
        return "Lever's token endpoint did not answer in time"
    if isinstance(exc, requests.HTTPError) and exc.response is not None:
        response = exc.response
        reason = f" {response.reason}" if response.reason else ""
        return f"Lever's token endpoint answered {response.status_code}{reason}"
    if isinstance(exc, requests.ConnectionError):
        return "Lever's token endpoint could not be reached (no connection)"
    if isinstance(exc, requests.RequestException):
        return f"Lever's token endpoint could not be reached ({type(exc).__name__})"
    return "Lever's token endpoint answered something that is not a token"


# --------------------------------------------------------------------------- access tokens


def _margin(ctx) -> float:
    try:
        return float(ctx.config.get("LEVER_REFRESH_MARGIN_SECONDS", DEFAULT_REFRESH_MARGIN))
    except (TypeError, ValueError):
        return DEFAULT_REFRESH_MARGIN


def _fresh(ctx, secrets: Mapping[str, Any]) -> str | None:
    """The stored access token if it has more than the margin left, else None."""
    token = secrets.get(SecretNames.ACCESS_TOKEN)
    expires_at = secrets.get(SecretNames.EXPIRES_AT)
    if not token or not isinstance(expires_at, (int, float)):
        return None
    return token if expires_at - time.time() > _margin(ctx) else None


def access_token(ctx, *, rejected: str | None = None) -> str:
    """A usable access token, refreshed first when it is about to expire.

    ``rejected``: a token Lever just answered 401 to; a refresh is forced unless another worker
    already replaced it. At most one worker refreshes at a time (single-flight).
    """
    secrets = ctx.secrets
    if not secrets.get(SecretNames.ACCESS_TOKEN) and not secrets.get(SecretNames.REFRESH_TOKEN):
        raise NeedsReauthorization("Lever is not connected: connect with OAuth")
    _check_issued_here(ctx, secrets)
    if _refused(secrets):  # refused when this ctx read them: a reconnect may have stored a grant since
        reload(ctx)
        secrets = ctx.secrets
        refused = _refused(secrets)
        if refused:  # Lever refused this grant already: its access token is as dead as its refresh token
            raise NeedsReauthorization(refused)
    if rejected is None:
        token = _fresh(ctx, secrets)
        if token:
            return token
    with ctx.lock(REFRESH_LOCK, ttl=60.0, wait=30.0):
        reload(ctx)  # another worker may have refreshed while we waited for the lock
        secrets = ctx.secrets
        refused = _refused(secrets)
        if refused:  # ...or been refused
            raise NeedsReauthorization(refused)
        token = _fresh(ctx, secrets)
        if token and token != rejected:
            return token
        return _refresh(ctx, secrets)


def reload(ctx) -> None:
    """``ctx.reload()``, then end the read transaction it leaves open (on SQLite, where the hub
    begins every transaction IMMEDIATE, an open one would block every other worker for the length
    of our HTTP call). ``ctx.records.get`` commits, so it closes the transaction."""
    ctx.reload()
    ctx.records.get("auth:reloaded")


def _needs_reauthorization(ctx, message: str) -> NeedsReauthorization:
    ctx.set_status("needs_reauthorization", message)
    return NeedsReauthorization(message)


def _refresh(ctx, secrets: Mapping[str, Any]) -> str:
    _check_issued_here(ctx, secrets)
    refresh_token = secrets.get(SecretNames.REFRESH_TOKEN)
    if not refresh_token:
        ctx.record_token_refresh("failed")
        raise _needs_reauthorization(ctx, "the Lever access token expired and there is no refresh token: "
                                          "connect with OAuth again")
    hosts = _hosts(ctx)
    try:
        with _session(ctx) as session:
            token = session.refresh_token(hosts.token_url, refresh_token=refresh_token)
    except OAuthError as exc:
        ctx.record_token_refresh("failed")
        detail = exc.description or exc.error
        if exc.error == "invalid_grant":
            message = f"Lever refused to refresh the connection ({detail}): connect with OAuth again"
            # remembered, so no worker offers Lever this grant again (every retry, page, keep-alive)
            ctx.update_secrets({REFUSED: {"refresh_token_sha256": _sha256(refresh_token), "message": message}})
            raise _needs_reauthorization(ctx, message) from exc
        if exc.error in ("invalid_client", "unauthorized_client"):
            ctx.set_status("error", f"Lever refused the hub's OAuth client: {detail}")
            raise PermanentError(f"Lever refused the hub's OAuth client: {detail}") from exc
        raise TemporaryError(f"Lever's token endpoint did not refresh the access token this time "
                             f"({exc.error}: {detail}); the hub tries again later") from exc
    except (requests.RequestException, ValueError) as exc:
        ctx.record_token_refresh("failed")
        raise TemporaryError(f"{_endpoint_failure(exc)}; the hub tries again later") from exc
    _store_token(ctx, token)
    ctx.record_token_refresh("ok")
    ctx.log.info("lever access token refreshed")
    return token["access_token"]


# --------------------------------------------------------------------------- keep-alive


def _keepalive_due(ctx, secrets: Mapping[str, Any], now: float) -> bool:
    """An OAuth grant with a refresh token that Lever last renewed ``KEEPALIVE_AFTER_SECONDS``
    ago or more (or at an unknown time: grants stored before the time was kept), and no failed
    keep-alive within ``KEEPALIVE_RETRY_SECONDS``."""
    if not secrets.get(SecretNames.REFRESH_TOKEN) or _refused(secrets):
        return False
    refreshed_at = secrets.get(REFRESHED_AT)
    if isinstance(refreshed_at, (int, float)) and now - refreshed_at < KEEPALIVE_AFTER_SECONDS:
        return False
    attempted_at = (ctx.records.get(KEEPALIVE_RECORD) or {}).get("attempted_at")
    return not (isinstance(attempted_at, (int, float)) and now - attempted_at < KEEPALIVE_RETRY_SECONDS)


def keep_alive(ctx) -> bool:
    """Refresh the OAuth grant if it is due (``_keepalive_due``), so Lever's 90 days of inactivity
    never run out; returns whether it refreshed. API-key connections are left alone.

    Runs under the same single-flight lock as an on-demand refresh (a busy lock means one is under
    way: skipped). Never raises: a failure is logged and the next try waits
    ``KEEPALIVE_RETRY_SECONDS``; ``invalid_grant`` marks the connection "needs re-authorization"
    exactly as an on-demand refresh does.
    """
    try:
        adopt_issuer(ctx)
    except (HubError, PluginError) as exc:  # revoked meanwhile, say: the next run records it
        ctx.log.warning("lever OAuth grant's issuer not recorded: %s", exc)
    if settings_of(ctx).auth_mode != "oauth" or not _keepalive_due(ctx, ctx.secrets, time.time()):
        return False
    try:
        with ctx.lock(REFRESH_LOCK, ttl=60.0, wait=0):
            reload(ctx)  # another worker may have refreshed since
            if not _keepalive_due(ctx, ctx.secrets, time.time()):
                return False
            ctx.records.put(KEEPALIVE_RECORD, {"attempted_at": time.time()})
            _refresh(ctx, ctx.secrets)
    except Deferred:
        return False  # another worker holds the refresh lock: it is refreshing right now
    except (HubError, PluginError) as exc:
        ctx.log.warning("lever OAuth keep-alive refresh failed: %s", exc)
        return False
    ctx.log.info("lever OAuth grant refreshed to keep it alive")
    return True
