"""An optional stored secret (a webhook signing token) can be removed from the settings form:
an empty field keeps the stored value, so a stale token could only go with a revoke."""

from __future__ import annotations

import re

from hub.runtime import get_runtime
from tests.web.support import SECRET_VALUE

FORM = {"account": "acme", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "10",
        "api_key": ""}


def stored(app) -> tuple[dict, dict]:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        return get_runtime().secret_box.decrypt(row.secrets_encrypted), dict(row.secrets_meta or {})


def test_a_stored_optional_secret_is_removed_with_its_box(hub_app, seeded, as_role):
    client = as_role("super_admin")
    assert client.post("/integrations/fakesource/settings",
                       data={**FORM, "signature_token": "whsec-stale"}).status_code == 302
    page = client.get("/integrations/fakesource").get_data(as_text=True)
    assert 'name="clear-signature_token"' in page
    assert 'name="clear-api_key"' not in page  # required: it can be replaced, not removed
    response = client.post("/integrations/fakesource/settings",
                           data={**FORM, "signature_token": "", "clear-signature_token": "y"})
    assert response.status_code == 302
    secrets, meta = stored(hub_app)
    assert secrets == {"api_key": SECRET_VALUE} and "signature_token" not in meta
    page = client.get("/integrations/fakesource").get_data(as_text=True)
    assert 'name="clear-signature_token"' not in page
    assert re.search(r'id="setting-signature_token-state">Not set yet\.', page)
    audit = client.get("/audit").get_data(as_text=True)
    assert "Changed:</span> Signature token" in audit  # by its form label


def test_a_new_value_and_the_remove_box_together_are_refused(hub_app, seeded, as_role):
    client = as_role("super_admin")
    client.post("/integrations/fakesource/settings", data={**FORM, "signature_token": "whsec-old"})
    response = client.post("/integrations/fakesource/settings",
                           data={**FORM, "signature_token": "whsec-new", "clear-signature_token": "y"})
    assert response.status_code == 422
    assert "Enter a new value or remove the stored one, not both." in response.get_data(as_text=True)
    assert stored(hub_app)[0]["signature_token"] == "whsec-old"


def test_a_required_secret_is_never_removed_even_when_asked(hub_app, seeded, as_role):
    response = as_role("super_admin").post("/integrations/fakesource/settings",
                                           data={**FORM, "signature_token": "", "clear-api_key": "y"})
    assert response.status_code == 302  # no box is offered for it: the field is ignored
    assert stored(hub_app)[0]["api_key"] == SECRET_VALUE


def test_the_service_refuses_to_remove_a_required_secret_or_a_setting(hub_app, seeded):
    import pytest

    from hub import services
    from hub.errors import ValidationFailed
    from hub.extensions import db

    form = {"account": "acme", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": 10}
    with hub_app.app_context():
        with pytest.raises(ValidationFailed) as required:
            services.save_settings(get_runtime(), 1, "fakesource", form, "test", clear={"api_key"})
        db.session.rollback()
        assert "api_key" in required.value.fields
        with pytest.raises(ValidationFailed, match="only secrets can be removed"):
            services.save_settings(get_runtime(), 1, "fakesource", form, "test", clear={"region"})
        db.session.rollback()
    assert stored(hub_app)[0]["api_key"] == SECRET_VALUE


def test_lever_offers_no_box_for_its_api_key(make_app):
    """Lever's API key is optional (OAuth is the other way) but it is the connection's credential:
    one tick deleted it and the deliveries failed."""
    from hub.web.ui.settings_form import build_fields
    from plugins.lever.settings import LeverSettingsSchema

    views = {view.attribute: view for view in build_fields(LeverSettingsSchema, ("api_key", "signature_tokens"),
                                                           {}, {})}
    assert not views["api_key"].removable and views["signature_tokens"].removable
