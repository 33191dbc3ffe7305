"""OAuth 2.0 authorization-code grants of the Lever sandbox (lever.md §2.2-§2.3).

Contract (thread-safe; all times in epoch seconds):
- ``issue_code(client_id, redirect_uri, scope, audience)`` -> a single-use code (10 minutes).
- ``exchange_code(client_id, code, redirect_uri)`` and ``refresh(client_id, refresh_token)``
  return Lever's token response ``{"access_token", "token_type": "Bearer", "scope",
  "expires_in", "refresh_token"?}``; a refresh token is issued only when the scope includes
  ``offline_access``. Refresh tokens ROTATE: each refresh returns a new one and invalidates the
  one presented. A used, unknown, revoked or foreign code/refresh token raises
  ``OAuthError(400, "invalid_grant")``.
- ``authenticate_client`` raises ``OAuthError(401, "invalid_client")`` for unknown client id or
  wrong secret.
- ``access_grant(token)`` -> ``(grant, None)`` for a live token, ``(None, reason)`` otherwise
  (reason "unknown", "expired" or "revoked").
- Access tokens look like Lever's (a JWT with HS512 and ``https://oauth.lever.co/*`` claims,
  lever.md §2.2), but the store is the authority: a token is valid only while stored, so
  ``revoke_client`` (an admin revoking the app) and ``expire_access_tokens`` take effect at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass

KNOWN_SCOPES = frozenset("""
offline_access applications:read:admin archive_reasons:read:admin audit_events:read:admin
confidential:access:admin contact:read:admin contact:write:admin diversity_surveys:read:admin
eeo_responses:read:admin eeo_responses_pii:read:admin feedback:read:admin feedback:write:admin
feedback_templates:read:admin feedback_templates:write:admin files:read:admin files:write:admin
forms:read:admin forms:write:admin form_templates:read:admin form_templates:write:admin
groups:read:admin groups:write:admin interviews:read:admin interviews:write:admin
notes:read:admin notes:write:admin offers:read:admin opportunities:read:admin
opportunities:write:admin panels:read:admin panels:write:admin permissions:read:admin
permissions:write:admin postings:read:admin postings:write:admin referrals:read:admin
requisitions:read:admin requisitions:write:admin requisition_fields:read:admin
requisition_fields:write:admin resumes:read:admin roles:read:admin roles:write:admin
sources:read:admin stages:read:admin tags:read:admin tasks:read:admin uploads:write:admin
users:read:admin users:write:admin webhooks:read:admin webhooks:write:admin
""".split())
CODE_TTL = 600


class OAuthError(Exception):
    """An OAuth error answered as ``{"error", "error_description"}`` with ``status``."""

    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(description)
        self.status, self.error, self.description = status, error, description

    def body(self) -> dict:
        return {"error": self.error, "error_description": self.description}


@dataclass
class AccessGrant:
    """What a live access token stands for."""

    client_id: str
    account_id: str
    scope: str
    expires_at: float


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class OAuthStore:
    """Registered clients, pending codes, access and refresh tokens."""

    def __init__(self, clients: dict[str, str], *, access_ttl: int, account_id: str,
                 signing_key: bytes) -> None:
        self.clients = dict(clients)
        self.access_ttl = int(access_ttl)
        self.account_id = account_id
        self._key = signing_key
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._codes: dict[str, dict] = {}
            self._access: dict[str, AccessGrant] = {}
            self._refresh: dict[str, dict] = {}
            self._dead: dict[str, str] = {}  # retired access token -> "expired" | "revoked"

    # --------------------------------------------------------------- clients
    def client_known(self, client_id: str | None) -> bool:
        return client_id in self.clients

    def authenticate_client(self, client_id: str | None, secret: str | None) -> None:
        expected = self.clients.get(client_id or "")
        if expected is None or not hmac.compare_digest(expected.encode(), (secret or "").encode()):
            raise OAuthError(401, "invalid_client", "Unknown client or wrong client secret")

    # ----------------------------------------------------------------- codes
    def issue_code(self, client_id: str, redirect_uri: str, scope: str, audience: str) -> str:
        code = secrets.token_urlsafe(24)
        with self._lock:
            self._codes[code] = {"client_id": client_id, "redirect_uri": redirect_uri,
                                 "scope": scope, "audience": audience,
                                 "expires_at": time.time() + CODE_TTL}
        return code

    def exchange_code(self, client_id: str, code: str | None, redirect_uri: str | None) -> dict:
        with self._lock:
            grant = self._codes.pop(code or "", None)  # single use, even when it fails below
            if grant is None or grant["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "Invalid authorization code")
            if grant["expires_at"] < time.time():
                raise OAuthError(400, "invalid_grant", "Authorization code expired")
            if redirect_uri != grant["redirect_uri"]:
                raise OAuthError(400, "invalid_grant",
                                 "redirect_uri does not match the authorization request")
            return self._tokens(client_id, grant["scope"], grant["audience"])

    def refresh(self, client_id: str, refresh_token: str | None) -> dict:
        with self._lock:
            grant = self._refresh.get(refresh_token or "")
            if grant is None or grant["client_id"] != client_id:
                raise OAuthError(400, "invalid_grant", "Unknown or invalid refresh token")
            del self._refresh[refresh_token]  # rotation: the presented token is spent
            return self._tokens(client_id, grant["scope"], grant["audience"])

    def _tokens(self, client_id: str, scope: str, audience: str) -> dict:
        """Mint an access token (+ refresh token with offline_access); lock held."""
        now = time.time()
        access = self._jwt(client_id, scope, audience, now)
        self._access[access] = AccessGrant(client_id, self.account_id, scope,
                                           now + self.access_ttl)
        out = {"access_token": access, "token_type": "Bearer", "scope": scope,
               "expires_in": self.access_ttl}
        if "offline_access" in scope.split():
            refresh = secrets.token_urlsafe(32)
            self._refresh[refresh] = {"client_id": client_id, "scope": scope,
                                      "audience": audience}
            out["refresh_token"] = refresh
        return out

    def _jwt(self, client_id: str, scope: str, audience: str, now: float) -> str:
        header = {"alg": "HS512", "typ": "JWT", "v": "2.0", "kid": "lever-sandbox"}
        claims = {"https://oauth.lever.co/accountId": self.account_id,
                  "https://oauth.lever.co/clientId": client_id,
                  "https://oauth.lever.co/userId": "user-super-admin",
                  "iss": "lever-sandbox", "aud": audience, "iat": int(now),
                  "exp": int(now) + self.access_ttl, "azp": client_id, "scope": scope,
                  "jti": secrets.token_hex(8)}
        signing_input = (_b64(json.dumps(header).encode()) + "."
                         + _b64(json.dumps(claims).encode()))
        signature = hmac.new(self._key, signing_input.encode(), hashlib.sha512).digest()
        return signing_input + "." + _b64(signature)

    # ---------------------------------------------------------------- access
    def access_grant(self, token: str) -> tuple[AccessGrant | None, str | None]:
        with self._lock:
            grant = self._access.get(token)
            if grant is None:
                return None, self._dead.get(token, "unknown")
            if grant.expires_at <= time.time():
                del self._access[token]
                self._dead[token] = "expired"
                return None, "expired"
            return grant, None

    def expire_access_tokens(self, client_id: str | None = None) -> int:
        """Expire live access tokens now (all, or one client's); returns how many."""
        with self._lock:
            victims = [t for t, g in self._access.items()
                       if client_id is None or g.client_id == client_id]
            for token in victims:
                del self._access[token]
                self._dead[token] = "expired"
            return len(victims)

    def revoke_client(self, client_id: str) -> dict:
        """Revoke every access and refresh token of ``client_id``; returns counts."""
        with self._lock:
            access = [t for t, g in self._access.items() if g.client_id == client_id]
            refresh = [t for t, g in self._refresh.items() if g["client_id"] == client_id]
            for token in access:
                del self._access[token]
                self._dead[token] = "revoked"
            for token in refresh:
                del self._refresh[token]
            self._codes = {c: g for c, g in self._codes.items() if g["client_id"] != client_id}
            return {"access_tokens": len(access), "refresh_tokens": len(refresh)}

    def counts(self) -> dict:
        with self._lock:
            return {"codes": len(self._codes), "access_tokens": len(self._access),
                    "refresh_tokens": len(self._refresh)}
