"""Encryption of secrets at rest: Fernet tokens under a MultiFernet, so keys can rotate.

``HUB_ENCRYPTION_KEYS`` lists keys newest first; the first encrypts, all decrypt. Rotating means
putting a new key in front, running ``hub keys rotate`` (re-encrypts every row with the new key,
while old tokens keep decrypting meanwhile), then dropping the old key.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from hub.config import ConfigError


class SecretsUnreadable(ConfigError):
    """No key of this process's ``HUB_ENCRYPTION_KEYS`` decrypts a stored secret: a key was dropped
    too early, or this process was not restarted with the new key list before ``hub keys rotate``
    re-encrypted the secrets (another process may well read them). The process's configuration is
    at fault, not the vendor's: a delivery waits for a process that can read it, a page says so."""


UNREADABLE = ("this hub process cannot decrypt the stored secrets with its HUB_ENCRYPTION_KEYS: restart it with "
              "the key list the other hub processes have (docs/operations.md, Keys and secrets); if the key that "
              "encrypted them is lost, revoke the integration and connect it again")


class SecretBox:
    def __init__(self, keys: str | list[str]):
        if isinstance(keys, str):
            keys = [k.strip() for k in keys.split(",") if k.strip()]
        try:
            self._fernet = MultiFernet([Fernet(k.encode() if isinstance(k, str) else k) for k in keys])
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                "HUB_ENCRYPTION_KEYS must be comma-separated Fernet keys (32 url-safe base64-encoded bytes each)"
            ) from exc

    def encrypt(self, data: dict[str, Any]) -> str:
        return self._fernet.encrypt(json.dumps(data, sort_keys=True).encode()).decode()

    def decrypt(self, token: str | None) -> dict[str, Any]:
        """The secrets in ``token``, a fresh dict each time. Recently decrypted tokens are kept
        (a token's plaintext never changes, and every webhook would otherwise decrypt again)."""
        if not token:
            return {}
        return json.loads(self._plaintext(token))

    @functools.lru_cache(maxsize=256)
    def _plaintext(self, token: str) -> bytes:
        try:
            return self._fernet.decrypt(token.encode())
        except InvalidToken as exc:
            raise SecretsUnreadable(UNREADABLE) from exc

    def rotate(self, token: str) -> str:
        """The same secret re-encrypted under the newest key. ``ConfigError`` when no key of
        ``HUB_ENCRYPTION_KEYS`` decrypts it (the old key was dropped before rotating)."""
        try:
            return self._fernet.rotate(token.encode()).decode()
        except InvalidToken as exc:
            raise ConfigError("stored secrets cannot be decrypted with HUB_ENCRYPTION_KEYS: keep the old key "
                              "after the new one (HUB_ENCRYPTION_KEYS=new,old) until `hub keys rotate` is done") from exc
