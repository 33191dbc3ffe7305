"""The one check for a redirect target taken from the request (``?next=`` on sign-in, the ``next``
field of the Activity forms): a path on this site, or nothing (the caller redirects to its default).

Refused: another host or scheme (an open redirect: ``https://...``, ``//host``, a backslash), a
target outside ``within`` (also by way of ``..``), anything that cannot be parsed, and any control
character. A newline cannot go in a ``Location`` header (werkzeug raises: that was a 500 after the
action had been done), and browsers drop tabs and newlines from URLs, so "/", a tab, "/host" would
turn into "//host".
"""

from __future__ import annotations

import unicodedata
from urllib.parse import unquote, urlsplit


def has_control_characters(text: str) -> bool:
    """Any C0 or C1 control character, or DEL (Unicode category ``Cc``)."""
    return any(unicodedata.category(ch) == "Cc" for ch in text)


def safe_next(target: str | None, within: str = "/") -> str | None:
    """``target`` when it is a path on this site at or under ``within`` (``"/activity"``: that
    page and the paths below it, with any query string); else None."""
    if not target or not isinstance(target, str) or has_control_characters(target):
        return None
    if not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    try:
        parts = urlsplit(target)
    except ValueError:
        return None
    if parts.scheme or parts.netloc:
        return None
    within = "/" + within.strip("/")
    if within != "/":
        if parts.path != within and not parts.path.startswith(within + "/"):
            return None
        if any(segment in (".", "..") for segment in unquote(parts.path).split("/")):
            return None  # "/activity/../users" is not under /activity
    return target
