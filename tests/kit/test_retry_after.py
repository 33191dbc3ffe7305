"""``hub.kit.retry_after``: one reading of a vendor's ``Retry-After`` for every plugin."""

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import pytest

from hub.kit.retry_after import MAX_RETRY_AFTER_SECONDS, parse_retry_after

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("value, seconds", [
    ("30", 30.0),
    ("0", 0.0),
    ("0.5", 0.5),
    ("007", 7.0),
    (" 30 ", 30.0),            # optional whitespace around a header value
    ("\t120\t", 120.0),
    (str(24 * 3600 * 3), 3 * 24 * 3600.0),  # longer than the engine's day: not this module's cap
])
def test_delay_seconds(value, seconds):
    assert parse_retry_after(value, now=NOW) == seconds


@pytest.mark.parametrize("value", [
    None, "", "   ",
    "soon", "30s", "thirty", "3 0", "0x10", "1_000", "\u0663",  # an Arabic-Indic three: not ASCII
    "-5", "-0.5", "+5",                                          # negative or signed
    "1e400", "-1e400", "1e3", "inf", "Infinity", "-inf", "nan", "NaN",  # exponents, non-finite
    "9" * 99,                                                    # finite in Python, absurd as a wait
    str(int(MAX_RETRY_AFTER_SECONDS) + 1),
    "30\n", "30\r\nX-Injected: 1",
    "Wed, 21 Oct 2015 07:28:99 GMT", "Wed, 21 Oct 99999 07:28:00 GMT",  # impossible dates
    "Fri, 31 Dec 9999 23:59:59 GMT",                              # a date absurdly far ahead
    30, b"30",                                                   # not a header value (str)
])
def test_anything_else_is_no_answer(value):
    assert parse_retry_after(value, now=NOW) is None


def test_an_http_date_is_the_seconds_from_now():
    assert parse_retry_after(format_datetime(NOW + timedelta(seconds=90), usegmt=True), now=NOW) == 90.0
    assert parse_retry_after("Wed, 01 May 2024 12:02:00 GMT", now=NOW) == 120.0
    assert parse_retry_after("  Wed, 01 May 2024 12:02:00 GMT ", now=NOW) == 120.0


def test_the_obsolete_http_date_forms_and_zones():
    assert parse_retry_after("Wednesday, 01-May-24 12:01:00 GMT", now=NOW) == 60.0  # RFC 850
    assert parse_retry_after("Wed May  1 12:01:00 2024", now=NOW) == 60.0            # asctime: UTC
    assert parse_retry_after("Wed, 01 May 2024 14:01:00 +0200", now=NOW) == 60.0
    assert parse_retry_after("Wed, 01 May 2024 12:01:00 -0000", now=NOW) == 60.0


def test_a_past_date_means_now():
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=NOW) == 0.0


def test_now_defaults_to_the_current_time_and_a_naive_now_is_utc():
    ahead = format_datetime(datetime.now(timezone.utc) + timedelta(seconds=120), usegmt=True)
    assert 100 < parse_retry_after(ahead) <= 120
    assert parse_retry_after("Wed, 01 May 2024 12:02:00 GMT", now=NOW.replace(tzinfo=None)) == 120.0


def test_the_answer_is_a_float_the_engine_can_schedule():
    for value in ("30", "Wed, 01 May 2024 12:02:00 GMT", str(int(MAX_RETRY_AFTER_SECONDS))):
        seconds = parse_retry_after(value, now=NOW)
        assert isinstance(seconds, float) and 0 <= seconds <= MAX_RETRY_AFTER_SECONDS
        NOW + timedelta(seconds=seconds)  # no OverflowError


def test_the_bundled_plugins_read_retry_after_with_the_kit():
    """One parser: the plugins' own copies (each patched for ``1e400`` separately) are gone."""
    from pathlib import Path

    from hub.testing.contract import hub_imports

    root = Path(__file__).resolve().parents[2]
    for name in ("plugins/canditech/client.py", "plugins/vervoe/client.py", "plugins/vervoe/auth.py",
                 "plugins/lever/client.py"):
        assert "hub.kit.retry_after" in hub_imports(root / name), name
    copies = [str(p.relative_to(root)) for p in (root / "plugins").rglob("*.py")
              if "sandbox" not in p.parts and "parsedate_to_datetime" in p.read_text()]
    assert copies == []
