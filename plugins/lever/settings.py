"""The Lever connection's settings: the marshmallow schema (it also drives the settings form)
and ``LeverSettings``, the typed view the rest of the plugin reads.

``base_url`` (the custom environment's) must be a URL the plugin can append its paths to
(``hub.kit.vendor_http``: http(s), a port from 1 to 65535, no query, fragment or user:password,
only URL path characters); it is checked on save in the custom environment only (one left over
from a custom setup does not block saving a production connection), and reported together with
the other fields' errors.

``max_webhook_age_hours`` and ``max_clock_skew_minutes`` are ``hub.kit.vendor_http.WholeNumber``
(71.9 is refused, not saved as 71); ``api_key``, ``signature_tokens`` and ``perform_as`` are
``PlainText`` (stripped; control and invisible characters refused, naming their code points; line
breaks separate signature tokens). ``base_url`` is not: checked where it is used, as above (its
rules refuse control characters too).

Secrets (``api_key``, ``signature_tokens``) are fields of the schema so an admin can enter them,
but the hub stores them encrypted and hands them back through ``ctx.secrets``, never
``ctx.settings``. Tokens the plugin obtains itself (OAuth tokens, the signature tokens of webhooks
it registered) are secrets too, written with ``ctx.update_secrets`` (names in ``SECRET_NAMES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from marshmallow import Schema, ValidationError, fields, pre_load, validate, validates_schema

from hub.kit.vendor_http import PlainText, WholeNumber, base_url_problem

ENVIRONMENTS = ("production", "sandbox", "custom")
AUTH_MODES = ("api_key", "oauth")
# what the settings form's drop-downs show for each value (same order)
ENVIRONMENT_LABELS = ("Production (api.lever.co)", "Sandbox (api.sandbox.lever.co)", "Custom base URL")
AUTH_MODE_LABELS = ("API key", "OAuth (partner app)")

# Lever retries a failed delivery five times over an undocumented period; the hub remembers
# accepted ids and tokens for DEDUPE_DAYS (8 by default), so a window longer than a week could
# let a replay outlive the memory of its token. Hence the upper bound.
MAX_AGE_HOURS_LIMIT = 7 * 24

SECRET_FIELDS = ("api_key", "signature_tokens")


class SecretNames:
    """Names of the secrets the plugin writes itself (never shown, wiped on revoke)."""

    ACCESS_TOKEN = "oauth_access_token"
    EXPIRES_AT = "oauth_expires_at"  # epoch seconds (float)
    REFRESH_TOKEN = "oauth_refresh_token"
    SCOPE = "oauth_scope"
    ACCOUNT_ID = "oauth_account_id"
    API_BASE = "oauth_api_base"  # the Lever (its API root) that issued the grant: its tokens go nowhere else
    WEBHOOK_TOKENS = "webhook_tokens"  # {lever webhook id: signature token}

    OAUTH = (ACCESS_TOKEN, EXPIRES_AT, REFRESH_TOKEN, SCOPE, ACCOUNT_ID, API_BASE)


def _blank_to_none(value: Any) -> Any:
    return None if isinstance(value, str) and not value.strip() else value


MAX_TIME_ZONE_LENGTH = 64  # longer than any IANA name ("America/Argentina/ComodRivadavia" is 32)


def _known_time_zone(name: str | None) -> None:
    """An IANA time zone name this machine's time zone database knows, or UTC. A name longer than
    ``MAX_TIME_ZONE_LENGTH`` is left to the length check (marshmallow runs every validator): it
    would only be looked up as a file name too long for the file system."""
    if name is None or name == "UTC" or len(name) > MAX_TIME_ZONE_LENGTH:
        return
    try:
        ZoneInfo(name)
    # OSError: a name that is a folder of the database, not a zone ("Europe": IsADirectoryError)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise ValidationError(f"Unknown time zone “{name}”. Enter an IANA time zone name such as "
                              "Europe/Berlin or America/New_York, or UTC.") from None


class LeverSettingsSchema(Schema):
    """What an admin configures for a Lever connection."""

    environment = fields.String(
        load_default="production", validate=validate.OneOf(ENVIRONMENTS, labels=ENVIRONMENT_LABELS),
        metadata={"connection": True, "destination": True, "label": "Lever environment",
                  "description": "Lever's production or sandbox API, or a custom base URL (e.g. the hub's own "
                                 "Lever simulator)"})
    base_url = fields.String(
        load_default=None, allow_none=True, validate=validate.Length(max=2000),
        metadata={"connection": True, "destination": True, "used_when": {"environment": "custom"},
                  "label": "Custom base URL", "description": "only with the environment Custom base URL, e.g. http://127.0.0.1:5001"})
    auth_mode = fields.String(
        load_default="api_key", validate=validate.OneOf(AUTH_MODES, labels=AUTH_MODE_LABELS),
        metadata={"connection": True, "label": "Authentication", "description": "an API key (HTTP Basic), or OAuth with a registered partner app"})
    api_key = PlainText(
        what="an API key", load_default=None, allow_none=True, validate=validate.Length(max=500),
        metadata={"connection": True, "label": "API key", "secret": True, "used_when": {"auth_mode": "api_key"},
                  "description": "from Lever: Settings > Integrations and API > API Credentials"})
    signature_tokens = PlainText(
        what="a signature token", line_breaks=True, load_default=None, allow_none=True,
        validate=validate.Length(max=20_000),
        metadata={"label": "Webhook signature tokens", "secret": True,
                  "description": "manual mode: the signature token of each webhook configured on Lever's "
                                 "webhooks settings page, one per line (or comma separated)"})
    perform_as = PlainText(
        what="a Lever user id", load_default=None, allow_none=True, validate=validate.Length(max=200),
        metadata={"connection": True, "label": "Write as Lever user", "suggest": "source_users",
                  "description": "a Lever user id; notes, tags, stage moves and archives are attributed to this "
                                 "user (once Lever is connected, by its API key or OAuth, Lever's users are offered to pick from)"})
    max_webhook_age_hours = WholeNumber(
        load_default=72, validate=validate.Range(min=1, max=MAX_AGE_HOURS_LIMIT),
        metadata={"label": "Accept webhooks up to (hours old)"})
    max_clock_skew_minutes = WholeNumber(
        load_default=5, validate=validate.Range(min=0, max=60),
        metadata={"label": "Accept webhooks up to (minutes in the future)"})
    tag_results = fields.Boolean(
        load_default=True, metadata={"label": "Tag candidates with assessment results"})
    note_time_zone = PlainText(
        what="a time zone name", load_default="UTC", allow_none=True,
        validate=[validate.Length(max=MAX_TIME_ZONE_LENGTH), _known_time_zone],
        metadata={"label": "Time zone of the times in Lever notes",
                  "description": "when an assessment was completed or decided, as written in the notes on the "
                                 "candidate in Lever: UTC, or an IANA name such as Europe/Berlin (the note "
                                 "then gives the offset from UTC too)"})
    invite_on_creation = fields.Boolean(
        load_default=False,
        metadata={"label": "Invite candidates created directly in an attached stage",
                  "description": "Lever's \"Application Created\" webhook, for assessing on apply. Each new "
                                 "candidate then costs a Lever read per assessment integration (one per "
                                 "candidate of a bulk import), shared with the hub's other Lever calls"})

    @pre_load
    def _normalise(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        if _blank_to_none(out.get("note_time_zone")) is None:
            out.pop("note_time_zone", None)  # left empty: the default, UTC
        for key in ("base_url", "perform_as", "api_key", "signature_tokens", "note_time_zone"):
            if key in out:
                out[key] = _blank_to_none(out[key])
                if isinstance(out[key], str) and key != "signature_tokens":
                    out[key] = out[key].strip()
        return out

    @validates_schema(skip_on_field_errors=False)
    def _custom_needs_base_url(self, data: Mapping[str, Any], **kwargs: Any) -> None:
        # checked only where it is used: a URL left over from a custom setup must not block saving
        # a production connection's other settings. Run even when other fields have errors (not
        # marshmallow's default), so that the form shows them all at once; ``data`` then holds the
        # fields that loaded: a base_url missing from it had an error of its own (too long), and an
        # environment missing from it was not a valid one.
        if data.get("environment") != "custom" or "base_url" not in data:
            return
        if not data.get("base_url"):
            raise ValidationError("a base URL is required for the custom environment", "base_url")
        problem = base_url_problem(data["base_url"])
        if problem:
            raise ValidationError(problem, "base_url")


@dataclass(frozen=True)
class LeverSettings:
    """The settings of one connection, with defaults filled in."""

    environment: str = "production"
    base_url: str | None = None
    auth_mode: str = "api_key"
    perform_as: str | None = None
    max_webhook_age_hours: int = 72
    max_clock_skew_minutes: int = 5
    tag_results: bool = True
    invite_on_creation: bool = False
    note_time_zone: str = "UTC"

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "LeverSettings":
        defaults = cls()

        def pick(name: str) -> Any:
            value = values.get(name)
            return getattr(defaults, name) if value is None or value == "" else value

        return cls(
            environment=str(pick("environment")),
            base_url=pick("base_url"),
            auth_mode=str(pick("auth_mode")),
            perform_as=pick("perform_as"),
            max_webhook_age_hours=int(pick("max_webhook_age_hours")),
            max_clock_skew_minutes=int(pick("max_clock_skew_minutes")),
            tag_results=bool(pick("tag_results")),
            invite_on_creation=bool(pick("invite_on_creation")),
            note_time_zone=str(pick("note_time_zone")),
        )


def settings_of(ctx) -> LeverSettings:
    return LeverSettings.from_mapping(ctx.settings)


def manual_signature_tokens(raw: str | None) -> list[str]:
    """The tokens an admin pasted: one per line, or separated by commas, semicolons or spaces."""
    if not raw:
        return []
    return [t for t in re.split(r"[\s,;]+", raw) if t]


def active_signature_tokens(secrets: Mapping[str, Any]) -> list[str]:
    """Every signature token that may sign a webhook now: the ones of webhooks the hub registered
    through Lever's API, then the ones pasted by an admin."""
    tokens: list[str] = []
    registered = secrets.get(SecretNames.WEBHOOK_TOKENS) or {}
    if isinstance(registered, Mapping):
        tokens.extend(str(t) for t in registered.values() if isinstance(t, str) and t)
    tokens.extend(manual_signature_tokens(secrets.get("signature_tokens")))
    return list(dict.fromkeys(tokens))
