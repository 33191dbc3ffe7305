"""The settings form of a plugin, generated from its marshmallow schema.

Field types map to inputs: String/Url/Email -> text (url/email), Integer/Float -> number (a
Float accepts any decimal, ``step="any"``; a whole number shows without ".0": 10, not 10.0),
Boolean -> checkbox, any field validated by ``OneOf`` -> select. ``metadata={"description": ...}``
is the help text (``metadata={"title": ...}`` the label). Secret fields are password inputs that
are write-only: their value is never rendered, only "set on <date> by <who>"; left empty, the
stored value is kept. A text field of a source plugin with ``metadata={"suggest": "source_users"}``
holds one of the ATS's user ids: once credentials are saved, the page offers the plugin's users
(``source_list_users``, read when the field is first used) to pick from, and names the one chosen,
while any id can still be typed (``SUGGEST_SOURCE_USERS``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterable, Mapping

from marshmallow import ValidationError, fields as mf, missing, validate as mv

from hub.setting_labels import field_label

log = logging.getLogger("hub.web.ui.settings_form")

# a field's ``metadata["suggest"]``: the field holds a user id of the plugin's ATS
SUGGEST_SOURCE_USERS = "source_users"


@dataclass
class FieldView:
    name: str  # the form input's name (the field's data_key)
    attribute: str
    label: str
    kind: str  # text, url, email, number, checkbox, select, password
    required: bool = False
    help: str = ""
    choices: list[tuple[str, str]] = field(default_factory=list)
    value: Any = None
    secret: bool = False
    secret_set_at: datetime | None = None
    secret_set_by: str | None = None
    step: str | None = None
    minimum: Any = None
    maximum: Any = None
    maxlength: int | None = None
    allow_none: bool = False
    plain_string: bool = False
    connection: bool = False  # metadata connection=True: the connection test depends on it
    suggest: str | None = None  # metadata suggest="source_users" on a text field: offer the ATS's users
    suggestions_url: str | None = None  # where the page's script reads them (set by the page when offered)

    @property
    def suggestions_id(self) -> str:
        return f"setting-{self.name}-suggestions"

    @property
    def removable(self) -> bool:
        """A stored secret the admin may remove: optional, and no credential the connection uses."""
        return self.secret and not self.required and not self.connection

    @property
    def input_id(self) -> str:
        return f"setting-{self.name}"

    @property
    def help_id(self) -> str:
        return f"setting-{self.name}-help"

    @property
    def error_id(self) -> str:
        return f"setting-{self.name}-error"


def whole(value: Any) -> Any:
    """A float that is a whole number as an int (10.0 -> 10, so the form shows "10"); anything
    else as it is (2.5, a submitted string, None; a float too large to be written out digit by
    digit). Saving "10" still stores what the schema loads (a float for a Float field)."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    return value


def with_range(help_text: str, minimum: Any, maximum: Any) -> str:
    """A number field's help, saying what it takes ("From 1 to 168.") unless it already names its
    bounds: the range showed only in the error after a save that broke it."""
    if minimum is None and maximum is None or (maximum is not None and f"{maximum:,}" in help_text
                                                 or str(maximum) in help_text):
        return help_text
    if minimum is not None and maximum is not None:
        bounds = f"From {minimum:,} to {maximum:,}."
    elif minimum is not None:
        bounds = f"At least {minimum:,}."
    else:
        bounds = f"At most {maximum:,}."
    return f"{help_text.rstrip()} {bounds}".strip() if help_text.strip() else bounds


def _default(f: mf.Field) -> Any:
    value = f.load_default
    if value is missing:
        return None
    return value() if callable(value) else value


def build_fields(schema_cls: type | None, secret_fields: tuple[str, ...], settings: Mapping[str, Any] | None,
                 secrets_meta: Mapping[str, Any] | None, submitted: Mapping[str, Any] | None = None) -> list[FieldView]:
    """One ``FieldView`` per schema field, with the stored (or just submitted) values filled in."""
    if schema_cls is None:
        return []
    schema = schema_cls()
    settings = settings or {}
    secrets_meta = secrets_meta or {}
    views = []
    for attribute, f in schema.fields.items():
        if f.dump_only:
            continue
        name = f.data_key or attribute
        secret = attribute in secret_fields or name in secret_fields
        view = FieldView(name=name, attribute=attribute, label=field_label(attribute, f), kind="text",
                         required=bool(f.required), help=str(f.metadata.get("description") or ""),
                         secret=secret, allow_none=bool(f.allow_none),
                         connection=bool(f.metadata.get("connection")),
                         suggest=SUGGEST_SOURCE_USERS if f.metadata.get("suggest") == SUGGEST_SOURCE_USERS else None)
        one_of = next((v for v in f.validators if isinstance(v, mv.OneOf)), None)
        if secret:
            view.kind = "password"
            meta = secrets_meta.get(attribute) or secrets_meta.get(name) or {}
            if meta:
                from hub.web.ui.helpers import parse_iso

                view.secret_set_at = parse_iso(meta.get("set_at"))
                view.secret_set_by = meta.get("set_by")
        elif one_of is not None:
            view.kind = "select"
            labels = list(one_of.labels) if one_of.labels else []
            choices = list(one_of.choices)
            view.choices = [(str(c), str(labels[i]) if i < len(labels) else str(c)) for i, c in enumerate(choices)]
        elif isinstance(f, mf.Boolean):
            view.kind = "checkbox"
        elif isinstance(f, mf.Number):
            view.kind = "number"
            view.step = "1" if isinstance(f, mf.Integer) else "any"
            for v in f.validators:
                if isinstance(v, mv.Range):
                    view.minimum, view.maximum = whole(v.min), whole(v.max)
            view.help = with_range(view.help, view.minimum, view.maximum)
        elif isinstance(f, mf.Email):
            view.kind = "email"
        elif isinstance(f, mf.Url):
            view.kind = "url"
        else:
            view.plain_string = isinstance(f, mf.String) and not isinstance(f, (mf.Email, mf.Url))
        if view.kind != "text" or secret:
            view.suggest = None  # offered values need a plain text input to pick them in
        for v in f.validators:
            if isinstance(v, mv.Length) and v.max is not None:
                view.maxlength = v.max
        if not secret:
            if submitted is not None:
                view.value = submitted.get(name)
            elif attribute in settings:
                view.value = settings[attribute]
            else:
                view.value = _default(f)
            if view.kind == "number":
                view.value = whole(view.value)
        views.append(view)
    return views


def form_to_data(views: list[FieldView], form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """The submitted form as the schema's input, and errors found before the schema runs
    (a required field left empty)."""
    data: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for view in views:
        raw = form.get(view.name)
        if view.kind == "checkbox":
            data[view.name] = raw in ("on", "y", "yes", "true", "1")
            continue
        text = (raw or "").strip()
        if view.secret:
            if text:
                data[view.name] = text
            elif view.required and view.secret_set_at is None:
                errors[view.name] = ["This field is required."]
            continue
        if text:
            data[view.name] = text
        elif view.required:
            errors[view.name] = ["This field is required."]
        elif view.allow_none:
            data[view.name] = None
        elif view.plain_string:
            data[view.name] = ""
    return data, errors


def cleared_secrets(views: list[FieldView], form: Mapping[str, str]) -> list[str]:
    """The secrets whose "Remove the stored value" box is ticked (``clear-<name>``), by attribute;
    only ``removable`` ones offer the box."""
    return [view.attribute for view in views if view.removable and form.get(f"clear-{view.name}") in ("on", "y")]


def typed_secrets(views: list[FieldView], form: Mapping[str, str]) -> list[str]:
    """The labels of the secret fields the admin typed a value into (a refused save does not keep them)."""
    return [view.label for view in views if view.secret and (form.get(view.name) or "").strip()]


def schema_errors(schema_cls: type | None, data: Mapping[str, Any], settings: Mapping[str, Any] | None,
                  stored_secrets: Iterable[str] = ()) -> dict[str, Any]:
    """What the plugin's schema says of the submitted ``data``, read over the stored ``settings``
    as a save reads it (``stored_secrets``, the secrets already stored, need not be given again),
    without saving anything: for a form the hub's own checks already refused, so that every field's
    error shows at once. A schema that fails otherwise on such input adds nothing."""
    if schema_cls is None:
        return {}
    merged = {**{k: v for k, v in (settings or {}).items() if k not in data}, **data}
    try:
        schema_cls(partial=tuple(stored_secrets)).load(merged)
    except ValidationError as exc:
        return exc.messages if isinstance(exc.messages, Mapping) else {"_schema": exc.messages}
    except Exception as exc:  # the form's own errors are shown anyway
        log.warning("checking the settings with %s failed: %s", schema_cls.__name__, exc, exc_info=True)
    return {}


def submitted_values(views: list[FieldView], form: Mapping[str, str]) -> dict[str, Any]:
    """What the admin typed, to show the form again after a validation error (never secrets)."""
    values: dict[str, Any] = {}
    for view in views:
        if view.secret:
            continue
        if view.kind == "checkbox":
            values[view.name] = form.get(view.name) in ("on", "y", "yes", "true", "1")
        else:
            values[view.name] = form.get(view.name, "")
    return values
