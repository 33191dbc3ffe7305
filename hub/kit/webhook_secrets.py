"""Webhook signing secrets kept in one setting, several active at once, so a secret can be rotated
without dropping webhooks: add the new one, switch the vendor over, remove the old one.

Contract:

* ``split_secrets(value)`` -> the active secrets of a newline- or comma-separated string (or a
  list), stripped, blanks dropped, in order; ``()`` for ``None``.
* ``validate_secrets(value)`` is a marshmallow validator for such a setting: at least one
  secret, each of at least ``MIN_LENGTH`` characters (``ValidationError`` otherwise).
* ``normalise_secrets(value)`` -> the same secrets one per line (store this).
"""

from __future__ import annotations

import re
from typing import Any

from marshmallow import ValidationError

MIN_LENGTH = 8
_SPLIT = re.compile(r"[,\r\n]+")


def split_secrets(value: Any) -> tuple[str, ...]:
    """The active webhook secrets of a newline/comma separated value (or a list), blanks dropped."""
    if value is None:
        return ()
    items = value if isinstance(value, (list, tuple)) else _SPLIT.split(str(value))
    return tuple(s.strip() for s in items if isinstance(s, str) and s.strip())


def validate_secrets(value: Any) -> None:
    found = split_secrets(value)
    if not found:
        raise ValidationError("give at least one webhook secret")
    if any(len(s) < MIN_LENGTH for s in found):
        raise ValidationError(f"each webhook secret must have at least {MIN_LENGTH} characters")


def normalise_secrets(value: Any) -> str:
    return "\n".join(split_secrets(value))
