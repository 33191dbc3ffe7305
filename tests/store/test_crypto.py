"""Secrets at rest: encrypted with Fernet under a MultiFernet; keys rotate without downtime."""

import pytest
import sqlalchemy as sa
from cryptography.fernet import Fernet

from hub.config import ConfigError
from hub.store.crypto import SecretBox


def test_round_trip_and_no_clear_text():
    box = SecretBox(Fernet.generate_key().decode())
    token = box.encrypt({"api_key": "super-secret-value"})
    assert "super-secret-value" not in token
    assert box.decrypt(token) == {"api_key": "super-secret-value"}


def test_rotation_keeps_old_tokens_readable_and_rewrites_them_under_the_new_key():
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    token = SecretBox(old).encrypt({"k": "v"})
    both = SecretBox(f"{new},{old}")
    assert both.decrypt(token) == {"k": "v"}
    rotated = both.rotate(token)
    assert SecretBox(new).decrypt(rotated) == {"k": "v"}
    with pytest.raises(ConfigError):
        SecretBox(old).decrypt(rotated)


def test_bad_key_is_a_config_error():
    with pytest.raises(ConfigError, match="Fernet keys"):
        SecretBox("not-a-key")


def test_saved_secret_is_not_in_the_database_in_clear(make_app):
    from marshmallow import Schema, fields

    from hub import hookimpl, services
    from hub.entities import IntegrationSpec
    from hub.extensions import db
    from hub.runtime import get_runtime

    class Settings(Schema):
        api_key = fields.Str(required=True)
        region = fields.Str(load_default="eu")

    class Plugin:
        @hookimpl
        def register_integration(self, register):
            register(IntegrationSpec(kind="assessment", title="Secretive", settings_schema=Settings,
                                     secret_fields=("api_key",)))

    app = make_app(plugins=[("secretive", Plugin())], entry_points=False)
    with app.app_context():
        runtime = get_runtime()
        services.save_settings(runtime, 1, "secretive", {"api_key": "sk_live_abcdef123456"}, "test")
        dump = "\n".join(str(row) for table in db.metadata.sorted_tables
                         for row in db.session.execute(sa.select(table)))
        assert "sk_live_abcdef123456" not in dump
        assert runtime.context(1, "secretive").secrets == {"api_key": "sk_live_abcdef123456"}
        assert runtime.context(1, "secretive").settings == {"region": "eu"}
