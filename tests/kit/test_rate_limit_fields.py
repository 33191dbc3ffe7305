"""``hub.kit.vendor_http.rate_limit_fields``: a request bucket's two settings, for a vendor that
publishes no rate limit (Canditech's and Vervoe's, and any plugin's)."""

from __future__ import annotations

import pytest
from marshmallow import Schema, ValidationError

from hub.kit.vendor_http import MAX_BURST, rate_limit_fields


class AcmeSettings(Schema):
    rate_limit_per_second, rate_limit_burst = rate_limit_fields("Acme", 10, 20)


def test_the_defaults_labels_and_form_values():
    assert AcmeSettings().load({}) == {"rate_limit_per_second": 10, "rate_limit_burst": 20}
    assert AcmeSettings().load({"rate_limit_per_second": " 2.5 ", "rate_limit_burst": "7"}) == \
        {"rate_limit_per_second": 2.5, "rate_limit_burst": 7}
    fields = AcmeSettings().fields
    assert fields["rate_limit_per_second"].metadata["label"] == "API requests per second"
    assert "Acme publishes no rate limit" in fields["rate_limit_per_second"].metadata["description"]
    assert fields["rate_limit_burst"].metadata["label"] == "API request burst"


@pytest.mark.parametrize("name,value,words", [
    ("rate_limit_per_second", 0.1, "from 0.25 to 100 (the default is 10)"),
    ("rate_limit_per_second", "1e1", "from 0.25 to 100 (the default is 10)"),
    ("rate_limit_per_second", None, "from 0.25 to 100 (the default is 10)"),
    ("rate_limit_burst", MAX_BURST + 1, f"from 1 to {MAX_BURST} (the default is 20)"),
    ("rate_limit_burst", 2.5, f"from 1 to {MAX_BURST} (the default is 20)"),
])
def test_a_wrong_value_gets_one_message_naming_the_bounds(name, value, words):
    with pytest.raises(ValidationError) as refused:
        AcmeSettings().load({name: value})
    assert [words in message for message in refused.value.messages[name]] == [True]
