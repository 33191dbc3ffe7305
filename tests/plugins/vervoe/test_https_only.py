"""Vervoe's API is HTTPS only ("All API requests must be made over HTTPS", guide 02): a base URL
that would call a Vervoe host over plain http (and so send the API key and secret, and the bearer
token, unencrypted) is refused on save; the same URL with https, and http at any other host (the
sandbox's loopback, a proxy), are kept."""

from __future__ import annotations

import pytest
from marshmallow import ValidationError

from plugins.vervoe.settings import VervoeSettingsSchema

KEPT = [
    ("http://127.0.0.1:5003/api", "http://127.0.0.1:5003/api"),  # a sandbox's
    ("http://notvervoe.com/api", "http://notvervoe.com/api"),  # not a Vervoe host
    ("http://vervoe.com.example.net/api", "http://vervoe.com.example.net/api"),
]


def _load(url: str) -> dict:
    return VervoeSettingsSchema().load({"api_key": "k", "api_secret": "s", "base_url": url})


@pytest.mark.parametrize("url", [
    "http://api.vervoe.com/api",
    "HTTP://API.Vervoe.COM/api",
    "http://api.vervoe.com:80/api",
    "http://company.vervoe.com/api",
    "http://vervoe.com/api",
    "http://api.vervoe.com./api",
])
def test_http_to_a_vervoe_host_is_refused_with_a_sentence_and_https_kept(url):
    with pytest.raises(ValidationError) as caught:
        _load(url)
    (message,) = caught.value.messages["base_url"]
    assert "HTTPS only" in message and "https://api.vervoe.com/api" in message and message.endswith(".")
    secure = "https" + url[len("http"):]
    assert _load(secure)["base_url"] == secure
    for kept, stored in KEPT:
        assert _load(kept)["base_url"] == stored
