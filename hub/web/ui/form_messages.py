"""marshmallow's stock validation messages in the UI's own words.

The forms show a plugin's validation messages beside the hub's hand-written ones ("At most 200
characters."), and marshmallow speaks in its own terms ("Longer than maximum length 200.", "Must
be one of: production, sandbox, custom." where the form offers "Production"). ``friendly`` maps
the stock messages to the hub's wording and leaves every other message as it is (a plugin's own
words are already meant for the admin). The API keeps marshmallow's messages: clients may match
them.
"""

from __future__ import annotations

import re
from typing import Callable, Mapping, Sequence

from hub.web.ui.helpers import sentence

_Rule = tuple[str, Callable[[re.Match[str]], str]]


def _number(text: str) -> str:
    """``1.0`` -> ``1``: marshmallow prints the bounds as given, often floats."""
    try:
        value = float(text)
    except ValueError:
        return text
    return str(int(value)) if value.is_integer() else text


def _characters(count: str) -> str:
    return "1 character" if count == "1" else f"{count} characters"


_RULES: list[_Rule] = [
    (r"Missing data for required field\.?|Field may not be null\.?",
     lambda m: "This field is required."),
    (r"Not a valid integer\.?", lambda m: "Enter a whole number."),
    (r"Not a valid number\.?", lambda m: "Enter a number."),
    (r"Not a valid boolean\.?", lambda m: "Choose yes or no."),
    (r"Not a valid URL\.?", lambda m: "Enter a URL that starts with http:// or https://."),
    (r"Not a valid email address\.?", lambda m: "Enter an email address, e.g. name@example.com."),
    (r"Must be greater than or equal to (\S+) and less than or equal to (\S+?)\.?",
     lambda m: f"Enter a number from {_number(m[1])} to {_number(m[2])}."),
    (r"Must be greater than or equal to (\S+?)\.?", lambda m: f"Enter a number of at least {_number(m[1])}."),
    (r"Must be less than or equal to (\S+?)\.?", lambda m: f"Enter a number of at most {_number(m[1])}."),
    (r"Longer than maximum length (\d+)\.?", lambda m: f"At most {_characters(m[1])}."),
    (r"Shorter than minimum length 1\.?", lambda m: "This field is required."),
    (r"Shorter than minimum length (\d+)\.?", lambda m: f"At least {_characters(m[1])}."),
    (r"Length must be between (\d+) and (\d+)\.?", lambda m: f"Enter {m[1]} to {_characters(m[2])}."),
]
# the hub's own validators say some of these in lower case
_COMPILED = [(re.compile(pattern, re.IGNORECASE), words) for pattern, words in _RULES]
_ONE_OF = re.compile(r"Must be one of: (.*?)\.?")


def friendly(message: object, choices: Sequence[tuple[str, str]] = ()) -> str:
    """``message`` as a sentence in the hub's words. ``choices`` (value, label) are the field's
    options, so "Must be one of: ..." names what the form shows."""
    text = str(message or "").strip()
    one_of = _ONE_OF.fullmatch(text)
    if one_of:
        labels = [label for _, label in choices] or [c.strip() for c in one_of[1].split(",")]
        return f"Choose one of: {', '.join(labels)}."
    for pattern, words in _COMPILED:
        found = pattern.fullmatch(text)
        if found:
            return words(found)
    return sentence(text)


def friendly_errors(errors: Mapping[str, object],
                    choices: Mapping[str, Sequence[tuple[str, str]]] | None = None) -> dict[str, list[str]]:
    """A form's errors (field -> a message, a list of them, or a nested dict) as sentences in the
    hub's words; ``choices`` gives a field's options by name."""
    def flat(name: str, messages: object) -> list[str]:
        if isinstance(messages, Mapping):
            return [m for value in messages.values() for m in flat(name, value)]
        items = [messages] if isinstance(messages, str) else list(messages or [])
        return [friendly(m, (choices or {}).get(name, ())) for m in items]

    return {name: flat(name, messages) for name, messages in errors.items()}


def in_sentence(label: str) -> str:
    """A setting's label inside a sentence: "Access token" -> "access token", "Webhook signature
    tokens" -> "webhook signature tokens"; "API key" and "OAuth client" keep their capitals."""
    first = label.split(" ", 1)[0]
    return label[:1].lower() + label[1:] if first[1:].islower() else label


def and_list(items: Sequence[str]) -> str:
    """ "a", "a and b", "a, b and c"."""
    items = list(items)
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} and {items[-1]}"


NAMED_PEOPLE = 5  # a message names this many people (the first), then counts the rest


def some_named(names: Sequence[str], total: int) -> str:
    """The first ``NAMED_PEOPLE`` of ``names`` in a sentence, the rest of ``total`` counted: "Ada
    Lovelace, Grace Hopper and 3 more"; "" without a name."""
    shown = list(names)[:NAMED_PEOPLE]
    if not shown:
        return ""
    more = total - len(shown)
    return and_list(shown + ([f"{more} more"] if more > 0 else []))


def refused_save(typed_secrets: Sequence[str] = ()) -> str:
    """The banner of a settings form that was refused; ``typed_secrets``: the labels of the secrets
    typed into it, which are never shown back, so the admin is told to paste them again."""
    text = "Some settings need your attention; nothing was saved."
    if typed_secrets:
        one = len(typed_secrets) == 1
        text += (f" The {and_list(typed_secrets)} you typed {'was' if one else 'were'} not kept: "
                 f"paste {'it' if one else 'them'} again.")
    return text
