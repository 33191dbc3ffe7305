"""Strict JSON for webhook bodies (public plugin kit).

``json.loads`` of a body as it comes accepts more than a plugin can use: bytes that are not UTF-8,
the ``NaN`` and ``Infinity`` literals (which make invalid JSON again when echoed), numbers too large
for a float (``1e400``: infinity again), integers of any length, and nesting deep enough to exhaust
Python's recursion limit (a ``RecursionError``, not a ``ValueError``: a 500 if not caught).
``parse_json_body`` refuses all of these with a ``NotJson`` whose message says what is wrong in
words, for the plugin to answer 400 with, after its own prefix ("the body is not valid JSON: ...").
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_INTEGER_DIGITS = 100


class NotJson(ValueError):
    """The body is not JSON a plugin can use; ``str(exc)`` says why ("it is not UTF-8 text ...")."""


def _no_constant(name: str) -> Any:
    raise NotJson(f"{name} is not a JSON value")


def _integer(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INTEGER_DIGITS:
        raise NotJson(f"a number has more than {MAX_INTEGER_DIGITS} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400, or more digits than a float holds: Infinity, which no JSON can echo
        raise NotJson(f"the number {text[:40]} is too large (it would be infinity, which is not a JSON value)")
    return value


def parse_json_body(body: bytes) -> Any:
    """The JSON document in ``body`` (UTF-8); raises ``NotJson``."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NotJson(f"it is not UTF-8 text (byte {exc.start})") from None
    try:
        return json.loads(text, parse_constant=_no_constant, parse_int=_integer, parse_float=_float)
    except json.JSONDecodeError as exc:
        raise NotJson(f"{exc.msg} at line {exc.lineno} column {exc.colno} (character {exc.pos})") from None
    except RecursionError:  # e.g. 50,000 "[": Python's parser recurses once per level
        raise NotJson("it is nested too deeply") from None
