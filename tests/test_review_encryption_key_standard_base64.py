"""Review: a Fernet key written in standard base64 (``+`` and ``/``, as ``openssl rand -base64 32``
writes 32 bytes) is a key Fernet decodes to the same 32 bytes as its url-safe spelling, and the
hub ran with one before ``HUB_ENCRYPTION_KEYS`` was checked key by key. After an upgrade the hub
must still start with it and read the secrets sealed under it (refusing it would leave an operator
whose secrets are under that key with a hub that does not start)."""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet

from hub.app import create_app

# 32 bytes whose standard base64 holds both "+" and "/" (0xfb 0xff 0xbf -> "+/+/")
STANDARD = base64.b64encode(b"\xfb\xff\xbf" * 10 + b"hb").decode()
URLSAFE = Fernet.generate_key().decode()


def _production(tmp_path, keys: str) -> dict:
    return {"INSTANCE_PATH": str(tmp_path), "ENV": "production", "LOAD_ENTRY_POINTS": False, "SECRET_KEY": "s" * 48,
            "ENCRYPTION_KEYS": keys, "PUBLIC_URL": "https://hub.example.com",
            "DATABASE_URL": "sqlite:///" + str(tmp_path / "hub.db")}


def test_a_standard_base64_key_that_fernet_reads_still_starts_the_hub(tmp_path):
    from hub.runtime import get_runtime
    from hub.store.crypto import SecretBox

    assert "+" in STANDARD and "/" in STANDARD and len(STANDARD) == 44
    sealed = SecretBox(STANDARD).encrypt({"api_key": "k"})  # as the hub sealed it before the upgrade
    app = create_app(_production(tmp_path, f"{URLSAFE},{STANDARD}"))
    with app.app_context():
        assert get_runtime(app).secret_box.decrypt(sealed) == {"api_key": "k"}
