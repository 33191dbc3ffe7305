"""The query parameters of the list pages (Candidates, Activity, Audit), read leniently.

A list page answers any query string with the list (200): a value it cannot use is replaced by
what the page shows instead, and a notice in the filter area says so, naming the value (truncated
to ``SHOWN_LENGTH`` characters; the template escapes it). Refusing the page (the 422 it once was
for a long search, or a bare error page) would help no one: the list is meaningful without the bad
value, and the form lets the user correct it. Only the JSON API refuses such values (422), where a
client needs to learn its mistake.

* a search or filter text longer than ``MAX_FILTER_LENGTH``: its first ``MAX_FILTER_LENGTH``
  characters are used (and shown in the search box);
* a choice that is not among the select's options (an unknown status): ignored, every one shown;
* a page that is no whole number from 1 (``abc``, ``-1``, ``0``, ``1.5``): page 1. A page past the
  last is no mistake of this kind: the list's own empty state says so and links to page 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from flask import request

from hub.web.queries import MAX_PAGE
from hub.web.schemas import MAX_FILTER_LENGTH

SHOWN_LENGTH = 40  # of a bad value quoted in a notice: enough to recognise it, never a wall of text


def shown(value: str) -> str:
    """``value`` quoted in a notice: at most ``SHOWN_LENGTH`` characters, an ellipsis when cut."""
    return value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH] + "…"


def with_article(noun: str) -> str:
    """``noun`` after its indefinite article: "a status", "an assessment"."""
    return ("an " if noun[:1].lower() in ("a", "e", "i", "o", "u") else "a ") + noun


@dataclass(frozen=True)
class Notice:
    """What the list page did with a value it could not use: ``param`` names the query parameter
    (the notice's element id is ``filter-notice-<param>``), ``message`` is a full sentence."""

    param: str
    message: str


@dataclass
class ListArgs:
    """The current request's list parameters, read one by one; ``notices`` collects what was
    replaced, in the order read."""

    notices: list[Notice] = field(default_factory=list)

    def text(self, name: str, label: str) -> str:
        """The stripped text of ``name``; past ``MAX_FILTER_LENGTH`` characters, its beginning.
        ``label`` names it in the notice ("The search text")."""
        value = (request.args.get(name) or "").strip()
        if len(value) <= MAX_FILTER_LENGTH:
            return value
        self.notices.append(Notice(name, f"{label} is too long: at most {MAX_FILTER_LENGTH} characters. "
                                         f"The list shows what matches its first {MAX_FILTER_LENGTH}."))
        return value[:MAX_FILTER_LENGTH].strip()

    def choice(self, name: str, choices: Iterable[str], what: str, every: str) -> str:
        """``name``'s value if it is one of ``choices``, else "" (no filter). ``what`` names a choice
        ("status"), ``every`` what the list then shows ("every status")."""
        value = request.args.get(name) or ""
        if not value or value in set(choices):
            return value
        self.notices.append(Notice(name, f"There is no {what} “{shown(value)}”: the list shows {every}. "
                                         f"Choose {with_article(what)} from the list to filter by one."))
        return ""

    def whole_number(self, name: str, what: str) -> int | None:
        """``name``'s value as a whole number from 1 (an id), else None: absent, or not one (with a
        notice naming ``what``, "event number")."""
        raw = (request.args.get(name) or "").strip()
        if not raw:
            return None
        if raw.isascii() and raw.isdigit() and len(raw) <= 18 and int(raw) >= 1:
            return int(raw)
        self.notices.append(Notice(name, f"“{shown(raw)}” is not an {what}: the list shows every event. "
                                         f"An {what} is a whole number, such as the event_id of a log line."))
        return None

    def page(self) -> int:
        """The page number: 1 when absent or not a whole number from 1 (with a notice); at most
        ``MAX_PAGE`` (a larger one is past the last page anyway)."""
        raw = (request.args.get("page") or "").strip()
        if not raw:
            return 1
        if raw.isascii() and raw.isdigit():
            # int() of a digit string over 4,300 characters raises: a long one is past MAX_PAGE anyway
            number = int(raw) if len(raw) <= len(str(MAX_PAGE)) else MAX_PAGE
            if number >= 1:
                return min(number, MAX_PAGE)
        self.notices.append(Notice("page", f"“{shown(raw)}” is not a page number: the list shows page 1. "
                                           "Pages are numbered from 1."))
        return 1
