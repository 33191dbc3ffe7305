"""Small helpers for the hub's messages in English, shared by the engine, the pages and the API."""

from __future__ import annotations


def with_article(noun: str) -> str:
    """``noun`` after its indefinite article, by its first letter: "a dict", "an Assessment",
    "a status", "an assessment" (type and field names, not words like "hour" or "user")."""
    return ("an " if noun[:1].lower() in ("a", "e", "i", "o", "u") else "a ") + noun


def unexpected_failure(title: str, exc: BaseException) -> str:
    """What an admin is shown of an exception a plugin did not mean to raise: its type, and where
    its text is ("Acme failed: KeyError (the hub's log has the details)"). The text itself may
    quote a secret (a header value, a key), so it goes to the log alone."""
    return f"{title} failed: {type(exc).__name__} (the hub's log has the details)"
