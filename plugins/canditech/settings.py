"""The Canditech connection's settings: the marshmallow (4) schema the hub validates and renders,
and ``CanditechSettings``, the typed view the rest of the plugin reads from ``ctx``.

``base_url`` must be a URL the plugin can append its paths to (``hub.kit.vendor_http``: http(s), a
port from 1 to 65535, no query, fragment or user:password, only URL path characters).
``api_key`` and ``webhook_secrets`` are hub secrets (encrypted, never shown back). Several webhook
secrets may be active at once (newline- or comma-separated), so a secret can be rotated without
dropping webhooks: add the new one, switch Canditech over, remove the old one
(``hub.kit.webhook_secrets``).

The whole-number settings are ``hub.kit.vendor_http.WholeNumber`` (1.5 is refused, not saved as
1), the API key and webhook secrets ``PlainText`` (stripped; control and invisible characters
refused, naming their code points; line breaks separate webhook secrets). ``rate_limit_per_second``
is a ``hub.kit.vendor_http.DecimalNumber``: a JSON number, or the text of a plain decimal number
("2.5"), never text that ``float()`` alone would take ("1_0", digits of other scripts, "1e1",
"inf", "nan").

``rate_limit_per_second`` and ``rate_limit_burst`` size the connection's request bucket (10/s,
bursts of 20, by default: ``wire.RATE_LIMIT_*``). Canditech publishes no rate limit (its API is
private and its limits are not in the team's notes), so an admin sets the one Canditech gives them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, fields, post_load, validate

from hub.kit.vendor_http import PlainText, WholeNumber, rate_limit_fields, validate_base_url
from hub.kit.webhook_secrets import normalise_secrets, split_secrets, validate_secrets

from . import wire

DEFAULT_BASE_URL = "http://127.0.0.1:8002"
DEFAULTS: dict[str, Any] = {
    "base_url": DEFAULT_BASE_URL,
    "signature_header": wire.DEFAULT_SIGNATURE_HEADER,
    "signature_tolerance_seconds": 300,
    "reconcile_after_minutes": 10,
    "verdict_watch_days": 14,
    "remind_on_reentry": False,
    "rate_limit_per_second": wire.RATE_LIMIT_PER_SECOND,
    "rate_limit_burst": wire.RATE_LIMIT_BURST,
}
SECRET_FIELDS = ("api_key", "webhook_secrets")

_HEADER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,99}$")

# The rate limit settings' bounds (``hub.kit.vendor_http.MIN_RATE_PER_SECOND``...): at least 15
# requests a minute, so once the burst is spent the next token is at most 4 s away for a caller
# alone, within the 5 s a reconciliation read waits for one (``reconciliation.READ_LIMITER_WAIT``; a
# delivery's call waits a minute). Callers share the bucket: under load a read may still find none
# in time, and its run stops, to go on at the next (the plugin's README).


class CanditechSettingsSchema(Schema):
    base_url = fields.String(
        load_default=DEFAULT_BASE_URL, validate=validate_base_url,
        metadata={"connection": True, "destination": True, "label": "API base URL",
                  "description": "Canditech's API root, e.g. https://api.canditech.io (the sandbox by default)."})
    api_key = PlainText(
        what="an API key", required=True, validate=validate.Length(min=1, max=500),
        metadata={"connection": True, "label": "API key", "secret": True,
                  "description": "A Canditech admin generates it in Canditech under Settings > Integrations > "
                                 "(your ATS) > Generate Key (only admins can open Settings)."})
    webhook_secrets = PlainText(
        what="a webhook secret", line_breaks=True, load_default=None, validate=validate_secrets,
        metadata={"label": "Webhook signing secret(s)", "secret": True,
                  "description": "The secret Canditech signs webhooks with. Several may be active while "
                                 "rotating: one per line (or comma-separated)."})
    signature_header = fields.Str(
        load_default=wire.DEFAULT_SIGNATURE_HEADER, validate=validate.Regexp(
            _HEADER_NAME, error=f"Enter an HTTP header name: letters, digits and dashes (the default is "
                                f"{wire.DEFAULT_SIGNATURE_HEADER})"),
        metadata={"label": "Signature header", "description": "HTTP header carrying t=<unix>,v1=<hex>."})
    signature_tolerance_seconds = WholeNumber(
        load_default=300, validate=validate.Range(min=1, max=86400),
        metadata={"label": "Signature timestamp tolerance (seconds)",
                  "description": "Webhooks signed further than this in the past or future are rejected."})
    reconcile_after_minutes = WholeNumber(
        load_default=10, validate=validate.Range(min=0, max=7 * 24 * 60),
        metadata={"label": "Reconcile after (minutes)",
                  "description": "Ask Canditech about invitations open longer than this, in case a webhook was lost."})
    verdict_watch_days = WholeNumber(
        load_default=14, validate=validate.Range(min=1, max=365),
        metadata={"label": "Watch for verdicts (days)",
                  "description": "For this many days after a candidate completes, ask Canditech now and then for "
                                 "the reviewer's thumbs up or down (and a changed one), in case its webhook was lost."})
    remind_on_reentry = fields.Bool(
        load_default=False,
        metadata={"label": "Remind on re-entry",
                  "description": "When a candidate re-enters the stage while invited, add a line to the invitation's "
                                 "timeline (Canditech's API has no reminder call, so no reminder is sent)."})
    rate_limit_per_second, rate_limit_burst = rate_limit_fields("Canditech", wire.RATE_LIMIT_PER_SECOND,
                                                                wire.RATE_LIMIT_BURST)

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("base_url"):
            data["base_url"] = data["base_url"].rstrip("/")
        if data.get("webhook_secrets"):
            data["webhook_secrets"] = normalise_secrets(data["webhook_secrets"])
        return data


@dataclass(frozen=True)
class CanditechSettings:
    base_url: str
    api_key: str | None
    webhook_secrets: tuple[str, ...]
    signature_header: str
    signature_tolerance_seconds: int
    reconcile_after_minutes: int
    remind_on_reentry: bool
    verdict_watch_days: int = 14
    rate_limit_per_second: float = wire.RATE_LIMIT_PER_SECOND
    rate_limit_burst: int = wire.RATE_LIMIT_BURST

    @classmethod
    def from_context(cls, ctx: Any) -> "CanditechSettings":
        values = {**DEFAULTS, **{k: v for k, v in (ctx.settings or {}).items() if v is not None}}
        secrets = ctx.secrets or {}
        return cls(
            base_url=str(values["base_url"]).rstrip("/"),
            api_key=secrets.get("api_key") or None,
            webhook_secrets=split_secrets(secrets.get("webhook_secrets")),
            signature_header=str(values["signature_header"]),
            signature_tolerance_seconds=int(values["signature_tolerance_seconds"]),
            reconcile_after_minutes=int(values["reconcile_after_minutes"]),
            remind_on_reentry=bool(values["remind_on_reentry"]),
            verdict_watch_days=int(values["verdict_watch_days"]),
            rate_limit_per_second=float(values["rate_limit_per_second"]),
            rate_limit_burst=int(values["rate_limit_burst"]),
        )
