"""Request parsing and response helpers for the API: every body and query goes through a
marshmallow schema; errors use the one envelope (``hub.web.errors``)."""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any, Callable

import sqlalchemy as sa

from flask import request
from marshmallow import Schema, ValidationError, fields as ma_fields

from hub.errors import BadRequest, HubError, ValidationFailed
from hub.kit.json_body import MAX_INTEGER_DIGITS
from hub.web.live import LiveError
from hub.web.permissions import current_view


def flatten_messages(messages: Any, prefix: str = "") -> dict[str, list[str]]:
    """marshmallow's nested messages as ``{"options.pass_threshold": ["..."]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if isinstance(value, dict):
                out.update(flatten_messages(value, name))
            else:
                out[name] = [str(v) for v in (value if isinstance(value, list) else [value])]
    else:
        out[prefix or "_schema"] = [str(v) for v in (messages if isinstance(messages, list) else [messages])]
    return out


MISSING = "Missing data for required field."  # marshmallow's message for a required field left out
WHOLE = "_schema"  # marshmallow's key for an error of a whole object rather than of one of its fields


def describe(fields: dict[str, list[str]]) -> str:
    """The message of a validation error: the unknown fields, the required fields left out, the invalid fields (a nested object's
    own error, ``options._schema`` such as "Invalid input type.", names ``options``), then the
    errors of the body as a whole (``_schema``) in their own words ("give role and/or active").
    marshmallow's ``_schema`` is never named: it is no field the client sent."""
    unknown = sorted(k for k, v in fields.items() if v == ["Unknown field."])
    missing = sorted(k for k, v in fields.items() if v == [MISSING])
    invalid = sorted({k.removesuffix("." + WHOLE) for k in fields if k not in unknown + missing and k != WHOLE})
    parts = []
    if unknown:
        parts.append("unknown field" + ("s" if len(unknown) > 1 else "") + ": " + ", ".join(unknown))
    if missing:
        parts.append("missing field" + ("s" if len(missing) > 1 else "") + ": " + ", ".join(missing))
    if invalid:
        parts.append("invalid field" + ("s" if len(invalid) > 1 else "") + ": " + ", ".join(invalid))
    parts.extend(fields.get(WHOLE, []))
    return "; ".join(parts) or "the input is not valid"


def validation_failed(messages: Any) -> ValidationFailed:
    fields = flatten_messages(messages)
    return ValidationFailed(describe(fields), fields)


class _NotUsable(ValueError):
    """A body that is JSON the API does not take: says why, for the 400."""


def _no_constant(name: str) -> Any:
    raise _NotUsable(f"the body is not valid JSON: {name} is not a JSON value")


def _number(text: str) -> str:
    if sum(c.isdigit() for c in text.split("e")[0].split("E")[0]) > MAX_INTEGER_DIGITS:
        raise _NotUsable(f"a number in the body has more than {MAX_INTEGER_DIGITS} digits")
    return text


def _integer(text: str) -> int:
    return int(_number(text))


def _float(text: str) -> float:
    value = float(_number(text))
    if math.isinf(value):  # 1e400: few digits, but no float holds it
        raise _NotUsable("a number in the body is too large (it would be infinity, which is not a JSON value)")
    return value


class _Object(dict):
    """A JSON object of a body, with the names it gave more than once (``object_pairs_hook``)."""

    repeated: list[str]


def _object(pairs: list[tuple[str, Any]]) -> _Object:
    out = _Object(pairs)
    out.repeated = ([name for name, n in Counter(name for name, _ in pairs).items() if n > 1]
                    if len(out) < len(pairs) else [])
    return out


def _repeated(value: Any) -> list[str]:
    """The dotted names (``options.pass_threshold``) of the fields ``value``'s objects give twice.
    A loop, not a recursion: a body nested as deep as the parser takes is no error here."""
    found: list[str] = []
    stack = [("", value)]
    while stack:
        prefix, item = stack.pop()
        if isinstance(item, dict):
            found += [f"{prefix}{name}" for name in getattr(item, "repeated", ())]
            stack += [(f"{prefix}{name}.", inner) for name, inner in item.items()]
        elif isinstance(item, list):
            stack += [(f"{prefix}{index}.", inner) for index, inner in enumerate(item)]
    return sorted(found)


def _unrepeated(value: Any) -> Any:
    """A field given twice (``{"active": false, "active": true}``) is refused, not read as the last
    one, as a query parameter given twice is: a script that writes its JSON by hand has a bug."""
    repeated = _repeated(value)
    if repeated:
        fields = {name: [REPEATED] for name in repeated}
        raise ValidationFailed(f"field{'s' if len(repeated) > 1 else ''} given more than once: "
                               + ", ".join(repeated), fields)
    return value


def json_body() -> Any:
    """The parsed JSON body; ``{}`` when there is none. Non-JSON -> 400.

    Nesting too deep for the parser (``[[[[...``) is a ``RecursionError``, not a ``ValueError``:
    it is malformed input all the same. ``NaN`` and ``Infinity`` are not JSON (Python's parser
    takes them); a number of more than ``MAX_INTEGER_DIGITS`` digits is JSON but no value the API
    takes (Python's ``int`` refuses one of over 4,300 digits, and a longer float, or one with an
    exponent as large as ``1e400``, is infinity), and is refused saying so, as the plugin kit
    refuses it in a webhook (``hub.kit.json_body``). A field an object gives twice is a 422
    (``_unrepeated``)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return {}
    if not request.is_json:
        raise BadRequest("send a JSON body with Content-Type: application/json")
    try:
        parsed = json.loads(raw, parse_int=_integer, parse_float=_float, parse_constant=_no_constant,
                            object_pairs_hook=_object)
    except _NotUsable as exc:
        raise BadRequest(str(exc)) from None
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise BadRequest("the body is not valid JSON") from None
    return _unrepeated(parsed)


NOT_AN_OBJECT = "the body must be a JSON object"


def json_object_body(message: str = NOT_AN_OBJECT) -> dict:
    """The JSON body, which must be an object (``{}`` when there is none); else 422 with ``message``."""
    body = json_body()
    if not isinstance(body, dict):
        raise ValidationFailed(message, {"_schema": ["Invalid input type."]})
    return body


def load_body(schema: type[Schema], partial: bool = False) -> dict:
    data = json_object_body()
    try:
        return schema().load(data, partial=partial)
    except ValidationError as exc:
        raise validation_failed(exc.messages) from None


def takes_query(schema: type[Schema]) -> Callable:
    """Declare the query parameters a view takes (put it below ``require``): ``query_args`` loads
    them, and any other parameter is refused. A view without it takes none
    (``refuse_unknown_query_parameters`` in ``hub.web.api``)."""
    def decorator(view: Callable) -> Callable:
        view.query_schema = schema  # type: ignore[attr-defined]
        return view

    return decorator


def declared_query(view: Callable | None) -> type[Schema] | None:
    """The query schema ``view`` declared with ``takes_query``, else None."""
    return getattr(view, "query_schema", None)


SHOWN_NAME = 40  # characters of a refused parameter's name said back; more is nobody's typo
SHOWN_NAMES = 10  # refused names said back at most


def _named(name: str) -> str:
    return name if len(name) <= SHOWN_NAME else name[:SHOWN_NAME] + "…"


REPEATED = "Given more than once: give it once."  # a single-valued query parameter's message


def query_refusal(unknown: list[str], known: list[str], invalid: dict[str, list[str]] | None = None,
                  repeated: list[str] | None = None) -> ValidationFailed:
    """The 422 of a query: the ``unknown`` parameters (a misspelt filter, ``?stauts=dead``, would
    otherwise list everything) with the ones the endpoint takes, the ``repeated`` ones (given more
    than once, ``?per_page=2&per_page=3000``: which one was meant?), then the ``invalid`` ones
    with their messages. Names are said back shortened, and at most ``SHOWN_NAMES`` of them."""
    unknown = sorted(unknown)[:SHOWN_NAMES]
    repeated = sorted(repeated or [])
    fields = {_named(name): ["Unknown query parameter."] for name in unknown}
    fields.update({name: [REPEATED] for name in repeated})
    fields.update({name: messages for name, messages in (invalid or {}).items()})
    parts = []
    if unknown:
        takes = f"this endpoint takes {', '.join(known)}" if known else "this endpoint takes no query parameters"
        quoted = ", ".join(f"'{_named(name)}'" for name in unknown)
        parts.append(f"unknown query parameter{'s' if len(unknown) > 1 else ''}: {quoted} ({takes})")
    if repeated:
        parts.append(f"query parameter{'s' if len(repeated) > 1 else ''} given more than once: {', '.join(repeated)}")
    if invalid:
        parts.append(f"invalid query parameter{'s' if len(invalid) > 1 else ''}: {', '.join(sorted(invalid))}")
    return ValidationFailed("; ".join(parts), fields)


def invalid_query_value(name: str, reason: str) -> ValidationFailed:
    """The 422 of a query parameter found invalid by the view (a plugin or user that is not
    there), worded as ``query_refusal`` words one its schema refused, with the reason:
    ``invalid query parameter: user (no user with id 7 in this workspace)``."""
    return ValidationFailed(f"invalid query parameter: {name} ({reason})", {name: [_sentence(reason)]})


def invalid_body_value(name: str, reason: str) -> ValidationFailed:
    """``invalid_query_value`` for a body field: ``invalid field: plugin (no plugin named ...)``."""
    return ValidationFailed(f"invalid field: {name} ({reason})", {name: [_sentence(reason)]})


def _sentence(reason: str) -> str:
    return reason[:1].upper() + reason[1:] + "."


def _takes_many(field: Any) -> bool:
    return isinstance(field, ma_fields.List)


def query_args() -> dict:
    """The request's query, loaded with the schema its view declared (``takes_query``): every
    unknown, repeated and invalid parameter refused at once (422). A parameter is single-valued
    unless its schema field is a list: given twice, it is refused rather than one value taken."""
    schema = declared_query(current_view())
    assert schema is not None, f"{request.endpoint} declares no query (takes_query)"
    loader = schema()
    by_key = {f.data_key or name: f for name, f in loader.fields.items()}
    repeated = [name for name, values in request.args.lists() if len(values) > 1
                and name in by_key and not _takes_many(by_key[name])]
    try:
        loaded = loader.load(request.args.to_dict(flat=True))
        errors: dict = {}
    except ValidationError as exc:
        loaded, errors = {}, exc.messages
    if errors or repeated:
        found = flatten_messages(errors) if errors else {}
        unknown = [name for name, messages in found.items() if messages == ["Unknown field."]]
        invalid = {k: v for k, v in found.items() if k not in unknown and k not in repeated}
        raise query_refusal(unknown, list(by_key), invalid, repeated)
    return loaded


def older_than(query: Any, id_column: Any, args: dict) -> Any:
    """``query`` limited to the rows below the ``before_id`` a paged list was given (its rows come
    newest first, by id): the next rows of a walk, whatever arrived or left since its last page."""
    before = args.get("before_id")
    if before is None:
        return query
    # every row is below an id larger than its column holds: PostgreSQL refuses to compare a 32-bit
    # id with such a number ("integer out of range"), so it is not asked to
    bits = 64 if isinstance(id_column.type, sa.BigInteger) else 32
    return query if before > 2 ** (bits - 1) - 1 else query.where(id_column < before)


def live_error(exc: LiveError) -> HubError:
    """A vendor failure as an API error: 502 when the vendor failed, 409 when the plugin cannot do it."""
    code = exc.code or ("vendor_error" if exc.status == 502 else "not_available")
    return HubError(exc.message, status=exc.status, code=code)
