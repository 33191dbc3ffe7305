"""A scaffolded plugin reads its vendor's ``Retry-After`` with the kit (``hub.kit.retry_after``), as
the bundled plugins do: an HTTP-date counts, a non-finite or negative value is no answer."""

import types
from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from hub.cli.scaffold import render_plugin
from hub.testing.contract import PUBLIC_MODULES


def _temporary_error(kind: str, retry_after: str):
    plugin: dict = {}
    exec(compile(render_plugin("acme", kind)["ats_hub_acme/__init__.py"], "plugin", "exec"), plugin)
    answer = types.SimpleNamespace(status_code=429, headers={"Retry-After": retry_after}, text="slow down")
    ctx = types.SimpleNamespace(settings={"base_url": "http://vendor.test"}, secrets={"api_key": "k"},
                                http=types.SimpleNamespace(request=lambda *args, **kwargs: answer))
    with pytest.raises(Exception) as caught:
        plugin["_api"](ctx, "GET", "/things")
    assert type(caught.value).__name__ == "TemporaryError"
    return caught.value


@pytest.mark.parametrize("kind", ["assessment", "source"])
def test_the_scaffold_uses_the_kit_and_honours_an_http_date(kind):
    source = render_plugin("acme", kind)["ats_hub_acme/__init__.py"]
    assert "from hub.kit.retry_after import parse_retry_after" in source and "hub.kit.retry_after" in PUBLIC_MODULES
    when = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    assert 100 < _temporary_error(kind, when).retry_after <= 120


@pytest.mark.parametrize("kind", ["assessment", "source"])
@pytest.mark.parametrize("value, seconds", [("30", 30.0), (" 5 ", 5.0), ("1e400", None), ("nan", None), ("-5", None)])
def test_the_scaffold_reads_seconds_like_the_kit(kind, value, seconds):
    assert _temporary_error(kind, value).retry_after == seconds
