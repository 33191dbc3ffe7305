"""The Candidates search's text: a candidate's name and email folded so that a search matches
whatever the case and the accents ("jose" finds "José Núñez", "MULLER" finds "Müller",
"strasse" finds "Straße"), on SQLite and PostgreSQL alike.

Folding is done here, in Python, when an invitation is written (``Invitation.search_text``, kept
by an ORM hook), and to the search term when it is read: the databases only compare folded text,
so neither needs an extension for accents (PostgreSQL's ``unaccent`` is not IMMUTABLE, so an
index over it needs a wrapper and a superuser's care) and both answer the same. A change to
``fold`` must come with a migration that fills ``search_text`` again (as 2d7f4b9e6a15 first did).
"""

from __future__ import annotations

import unicodedata

SEPARATOR = "\n"  # between the name and the email: no search term spans both (a term is one line)


def fold(text: str) -> str:
    """``text`` case-folded, compatibility-decomposed, without its combining marks: "Ǆémi Ölçer"
    -> "dzemi olcer". Letters that do not decompose ("ø", "ł") stay as they are."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def search_text(name: str | None, email: str | None) -> str | None:
    """The folded name and email of a candidate, as ``Invitation.search_text`` holds them (None
    when neither is known: an erased candidate matches no search)."""
    parts = [fold(part) for part in (name, email) if part]
    return SEPARATOR.join(parts) if parts else None
