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
  last is no mistake of this kind: the list's own empty state says so and links to page 1;
* a number (a page, an event number) is plain ASCII digits, as the API's ``QueryInteger`` reads one:
  not ``1 `` or ``1%0A`` (Python's ``int`` strips whitespace around digits), ``1_0``, ``+1`` or the
  digits of another script (``²``, an Arabic-Indic 3). An empty value is no value;
* a parameter given more than once (``?status=dead&status=retry``: which was meant?) is left out as
  a whole, never one of its values taken silently: the list shows what it shows without it, and the
  notice names the parameter and its values, as the API's 422 names it (``hub.web.api.common``).
  ``repeated`` reads a parameter so for a page that is no list (the attach form's ``posting_id``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from flask import request

from hub.web.queries import MAX_PAGE
from hub.web.schemas import MAX_FILTER_LENGTH
from hub.words import with_article

SHOWN_LENGTH = 40  # of a bad value quoted in a notice: enough to recognise it, never a wall of text


def shown(value: str) -> str:
    """``value`` quoted in a notice: at most ``SHOWN_LENGTH`` characters, an ellipsis when cut."""
    return value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH] + "…"


def given_times(count: int) -> str:
    """How many times a parameter was given, in words: "twice", "3 times"."""
    return "twice" if count == 2 else f"{count} times"


def quoted_values(values: list[str], at_most: int = 3) -> str:
    """``values`` quoted for a notice ("“dead”, “retry”"), each ``shown``; past ``at_most``, an ellipsis."""
    text = ", ".join(f"“{shown(value)}”" for value in values[:at_most])
    return text + (", …" if len(values) > at_most else "")


def repeated_message(name: str, values: list[str], consequence: str) -> str:
    """The notice of a parameter given more than once: its name and values, then ``consequence``
    ("it shows every status")."""
    return (f"“{shown(name)}” is given {given_times(len(values))} in the address ({quoted_values(values)}): "
            f"the hub cannot tell which one is meant, so {consequence}. Give it once.")


def repeated(name: str) -> list[str] | None:
    """The values of the query parameter ``name`` when it is given more than once, else None."""
    values = request.args.getlist(name)
    return values if len(values) > 1 else None


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

    def _one(self, name: str, consequence: str) -> str:
        """``name``'s value ("" when absent); "" with a notice when it is given more than once."""
        values = repeated(name)
        if values:
            self.notices.append(Notice(name, repeated_message(name, values, consequence)))
            return ""
        return request.args.get(name, "")

    def text(self, name: str, label: str) -> str:
        """The stripped text of ``name``; past ``MAX_FILTER_LENGTH`` characters, its beginning.
        ``label`` names it in the notice ("The search text")."""
        value = self._one(name, f"{label[:1].lower()}{label[1:]} is left out").strip()
        if len(value) <= MAX_FILTER_LENGTH:
            return value
        self.notices.append(Notice(name, f"{label} is too long: at most {MAX_FILTER_LENGTH} characters. "
                                         f"The list shows what matches its first {MAX_FILTER_LENGTH}."))
        return value[:MAX_FILTER_LENGTH].strip()

    def choice(self, name: str, choices: Iterable[str], what: str, every: str) -> str:
        """``name``'s value if it is one of ``choices``, else "" (no filter). ``what`` names a choice
        ("status"), ``every`` what the list then shows ("every status")."""
        value = self._one(name, f"it shows {every}")
        if not value or value in set(choices):
            return value
        self.notices.append(Notice(name, f"There is no {what} “{shown(value)}”: the list shows {every}. "
                                         f"Choose {with_article(what)} from the list to filter by one."))
        return ""

    def whole_number(self, name: str, what: str) -> int | None:
        """``name``'s value as a whole number from 1 (an id: ASCII digits, nothing around them), else
        None: absent, or not one (with a notice naming ``what``, "event number")."""
        raw = self._one(name, "it shows every event")
        if not raw:
            return None
        if _digits(raw) and len(raw) <= 18 and int(raw) >= 1:
            return int(raw)
        self.notices.append(Notice(name, f"“{shown(raw)}” is not an {what}: the list shows every event. "
                                         f"An {what} is a whole number, such as the event_id of a log line."))
        return None

    def page(self) -> int:
        """The page number: 1 when absent or not a whole number from 1 (ASCII digits, nothing around
        them; with a notice); at most ``MAX_PAGE`` (a larger one is past the last page anyway)."""
        raw = self._one("page", "it shows page 1")
        if not raw:
            return 1
        if _digits(raw):
            # int() of a digit string over 4,300 characters raises: a long one is past MAX_PAGE anyway
            number = int(raw) if len(raw) <= len(str(MAX_PAGE)) else MAX_PAGE
            if number >= 1:
                return min(number, MAX_PAGE)
        self.notices.append(Notice("page", f"“{shown(raw)}” is not a page number: the list shows page 1. "
                                           "Pages are numbered from 1."))
        return 1


def _digits(raw: str) -> bool:
    """``raw`` is ASCII digits only: ``str.isdigit`` alone takes "²" and the digits of other
    scripts, and ``int`` takes spaces around, ``_`` and ``+``."""
    return raw.isascii() and raw.isdigit()
