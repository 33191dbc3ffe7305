"""The forms speak the hub's words, not marshmallow's: the walk-through found "Not a valid
integer.", "Must be greater than or equal to 1 and less than or equal to 86400." and "Must be one
of: production, sandbox, custom." (where the form offers "Production") beside the hub's own "At
most 200 characters."."""

from __future__ import annotations

import re

import pytest

from hub.web.ui.form_messages import friendly, friendly_errors


@pytest.mark.parametrize("stock, ours", [
    ("Not a valid integer.", "Enter a whole number."),
    ("Not a valid number.", "Enter a number."),
    ("Must be greater than or equal to 1 and less than or equal to 86400.", "Enter a number from 1 to 86400."),
    ("Must be greater than or equal to 0.0 and less than or equal to 100.0.", "Enter a number from 0 to 100."),
    ("Must be greater than or equal to 1.", "Enter a number of at least 1."),
    ("Longer than maximum length 200.", "At most 200 characters."),
    ("Shorter than minimum length 1.", "This field is required."),
    ("Length must be between 8 and 72.", "Enter 8 to 72 characters."),
    ("Not a valid URL.", "Enter a URL that starts with http:// or https://."),
    ("Not a valid email address.", "Enter an email address, e.g. name@example.com."),
    ("Missing data for required field.", "This field is required."),
    ("Must be one of: production, sandbox, custom.", "Choose one of: production, sandbox, custom."),
    ("not a header name", "Not a header name."),  # a plugin's own words: only made a sentence
])
def test_stock_messages_in_the_hubs_words(stock, ours):
    assert friendly(stock) == ours


def test_a_choice_is_named_by_its_label_and_nested_messages_are_flattened():
    choices = {"environment": [("production", "Production"), ("sandbox", "Sandbox"), ("custom", "Custom URL")]}
    errors = {"environment": ["Must be one of: production, sandbox, custom."], "limits": {"rate": ["Not a valid integer."]}}
    assert friendly_errors(errors, choices) == {"environment": ["Choose one of: Production, Sandbox, Custom URL."],
                                                "limits": ["Enter a whole number."]}


def test_the_settings_form_shows_them(hub_app, seeded, as_role):
    response = as_role("super_admin").post("/integrations/fakesource/settings", data={
        "account": "acme", "region": "eu", "base_url": "https://api.fake-ats.example", "max_rate": "500",
        "api_key": "", "signature_token": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert re.search(r'id="setting-max_rate-error"[^>]*>\s*Enter a number from 1 to 50\.', html), html
