"""The ``Retry-After`` header of a vendor's 429 or 503, as seconds to wait (public plugin kit).

``parse_retry_after(value, now=None)`` takes the header's value as it came (``None`` when the
header is absent) and returns seconds to wait as a finite float ``>= 0``, or ``None`` when there
is no usable answer, which a caller treats exactly like an absent header (its own backoff):

- delay-seconds, RFC 9110 section 10.2.3: ASCII digits, optionally with a decimal fraction
  (``"120"``, ``"0.5"``), surrounding whitespace ignored -> that many seconds;
- an HTTP-date (``"Wed, 21 Oct 2015 07:28:00 GMT"``, and the obsolete RFC 850 and asctime
  forms; a date without a zone is read as UTC) -> the seconds from ``now`` (default: the current
  time) until then; a date already past -> ``0.0`` (retry now);
- ``None`` for anything else: absent or empty, garbage, a sign (``"-5"``, ``"+5"``), exponents and
  the non-finite spellings Python's ``float`` would accept (``"1e400"``, ``"inf"``, ``"nan"``), an
  impossible date, and a wait longer than ``MAX_RETRY_AFTER_SECONDS`` (a year: no service means
  that; it is a bug or hostile, and scheduling it would overflow date arithmetic).

It does not cap a plausible long wait: the caller decides what to do with one (wait briefly in
the call, or raise ``TemporaryError(retry_after=...)``), and the engine bounds every wait a
plugin asks for to a day when it schedules the retry.
"""

from __future__ import annotations

import math
import re
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime

MAX_RETRY_AFTER_SECONDS = 366 * 24 * 3600.0

_DELAY_SECONDS = re.compile(r"[0-9]+(?:\.[0-9]+)?")
_HTTP_WHITESPACE = " \t"


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` value (delay-seconds or an HTTP-date): a finite
    float from 0 to ``MAX_RETRY_AFTER_SECONDS``, or ``None`` (absent, garbage, negative,
    non-finite, absurd). ``now`` (timezone-aware; naive is read as UTC) anchors an HTTP-date."""
    if not isinstance(value, str):
        return None
    text = value.strip(_HTTP_WHITESPACE)
    if not text or len(text) > 100:
        return None
    if _DELAY_SECONDS.fullmatch(text):
        seconds = float(text)
    else:
        seconds = _seconds_until(text, now)
    if seconds is None or not math.isfinite(seconds) or seconds > MAX_RETRY_AFTER_SECONDS:
        return None
    return max(0.0, seconds)


def _seconds_until(text: str, now: datetime | None) -> float | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, OverflowError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    if now.tzinfo is None:
        now = now.replace(tzinfo=timezone.utc)
    try:
        return (when - now).total_seconds()
    except OverflowError:
        return None
