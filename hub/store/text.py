"""Text the database can store: PostgreSQL refuses the NUL character (U+0000) and unpaired UTF-16
surrogates (U+D800-U+DFFF; Python decodes bytes that are not UTF-8 in command-line arguments to
them), SQLite stores both. Every way in (web requests, the command line) checks with
``unstorable`` first, so both backends refuse the same input, with a message, before anything
is stored."""

from __future__ import annotations

NUL = "\x00"


def unstorable(text: str) -> str | None:
    """What in ``text`` the database cannot store (for a message: "a NUL character ..."), or None."""
    if NUL in text:
        return "a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "an unpaired surrogate (\\ud800-\\udfff), e.g. from bytes that are not UTF-8"
    return None
