"""What every answer of the hub to a fuzzed request must be, for the fuzzing tests of the API and
the webhooks: never a 5xx; a refusal (4xx) is JSON in the hub's one error envelope
(``hub.web.errors``: ``{"error": {"code", "message"}}``, plus ``fields`` for a validation error)
whose message names the problem."""

from __future__ import annotations

import json
import re

from werkzeug.exceptions import BadRequest

# marshmallow's key for an error of a whole object: no field a client sent, so never a message's word
WHOLE = "_schema"
NAMES_WHOLE = re.compile(r"(?:^|[\s,.:])_schema\b")  # "invalid field: _schema", "options._schema"
# Werkzeug's own 400 text: it names nothing ("sent a request that this server could not understand")
GENERIC_400 = BadRequest.description


def unnamed(error: object) -> str | None:
    """Why ``error`` (the envelope's ``error`` object) does not name the problem, or None if it does.

    A validation error's ``fields`` map each field to its messages; the message names every one of
    them (a nested object's own error, ``options._schema``, is named ``options``), except that a
    single field's error may say it in its own words ("the part before @ is too long")."""
    if not isinstance(error, dict):
        return "the error is not an object"
    code, message = error.get("code"), error.get("message")
    if not isinstance(code, str) or not code or code == "internal_error":
        return f"the code is {code!r}"
    if not isinstance(message, str) or not message.strip():
        return "the message is empty"
    if message == GENERIC_400:
        return "the message is Werkzeug's generic 400 text"
    if NAMES_WHOLE.search(message):
        return f"the message names marshmallow's {WHOLE!r}, not the problem"
    if "fields" not in error:
        return None
    fields = error["fields"]
    if not isinstance(fields, dict) or not fields:
        return "fields is not a non-empty object"
    for name, messages in fields.items():
        if not isinstance(messages, list) or not messages or not all(isinstance(m, str) and m for m in messages):
            return f"the messages of field {name!r} are not a list of texts"
    named = [name.removesuffix("." + WHOLE) for name in fields if name != WHOLE]
    missing = [name for name in named if name not in message]
    if missing and len(fields) > 1:
        return f"the message does not name {', '.join(missing)}"
    return None


def check_answer(label: str, status: int, content_type: str | None, body: bytes | str) -> None:
    """Assert that an answer keeps the contract above; ``label`` says which request it was."""
    text = body.decode("utf-8", "replace") if isinstance(body, bytes) else body
    assert status < 500, f"{label}: {status} {text[:500]}"
    if status < 400:
        return
    mimetype = (content_type or "").split(";")[0].strip().lower()
    assert mimetype == "application/json", f"{label}: a {status} of type {content_type!r}: {text[:300]}"
    try:
        error = json.loads(text).get("error")
    except (ValueError, AttributeError):
        raise AssertionError(f"{label}: a {status} that is not the JSON error envelope: {text[:300]}") from None
    problem = unnamed(error)
    assert problem is None, f"{label}: a {status} whose error does not name the problem ({problem}): {error}"
