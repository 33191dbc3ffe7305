"""The Vervoe connection's settings: the marshmallow (4) schema the hub validates and renders, and
``VervoeSettings``, the typed view the rest of the plugin reads from ``ctx``.

``base_url`` must be a URL the plugin can append its paths to (``hub.kit.vendor_http``: http(s), a
port from 1 to 65535, no query, fragment or user:password, only URL path characters), and not
``http://`` at a Vervoe host (``wire.is_vervoe_host``): Vervoe's API is HTTPS only (guide 02).
``api_key``, ``api_secret`` and ``webhook_secret`` are hub secrets (encrypted, never shown back).
Several webhook secrets may be active at once (one per line, or comma-separated) so the secret can
be rotated in Vervoe's dashboard without dropping webhooks (``hub.kit.webhook_secrets``). The
whole-number settings are ``hub.kit.vendor_http.WholeNumber`` (299.5 is refused, not saved as 299),
the key, secret and webhook secrets ``PlainText`` (stripped; control and invisible characters
refused, naming their code points; line breaks separate webhook secrets). The
plugin also keeps its bearer token among the secrets (``auth.TOKEN``...), never in the settings.

``rate_limit_per_second`` (a ``hub.kit.vendor_http.DecimalNumber``) and ``rate_limit_burst`` size
the connection's request bucket (5/s, bursts of 10, by default: ``wire.RATE_LIMIT_*``). Vervoe
publishes no rate limit (neither its OpenAPI document nor its guides name one, nor a 429), so that
default is the plugin's guess, and an admin sets the one Vervoe gives them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from urllib.parse import urlsplit

from marshmallow import Schema, ValidationError, fields, post_load, validate

from hub.kit.vendor_http import PlainText, WholeNumber, rate_limit_fields, validate_base_url
from hub.kit.webhook_secrets import normalise_secrets, split_secrets, validate_secrets

from . import wire

SECRET_FIELDS = ("api_key", "api_secret", "webhook_secret")

DEFAULTS: dict[str, Any] = {
    "base_url": wire.DEFAULT_BASE_URL,
    "signature_tolerance_seconds": 300,
    "send_invitation_email": True,
    "redirect_candidate_url": None,
    "reject_on_archive": True,
    "reconcile_after_minutes": 30,
    "unscored_result_after_minutes": 24 * 60,
    "verdict_watch_days": 14,
    "sending_window_seconds": 300,
    "rate_limit_per_second": wire.RATE_LIMIT_PER_SECOND,
    "rate_limit_burst": wire.RATE_LIMIT_BURST,
}


HTTPS_ONLY = f"Vervoe's API is served over HTTPS only: start the URL with https:// (such as {wire.DEFAULT_BASE_URL})."


def validate_vervoe_base_url(value: Any) -> None:
    """``validate_base_url``, and no plain ``http://`` at a Vervoe host (``HTTPS_ONLY``)."""
    validate_base_url(value)
    parts = urlsplit(value)
    if parts.scheme.lower() == "http" and wire.is_vervoe_host(parts.hostname):
        raise ValidationError(HTTPS_ONLY)


class VervoeSettingsSchema(Schema):
    base_url = fields.String(
        load_default=wire.DEFAULT_BASE_URL, validate=validate_vervoe_base_url,
        metadata={"connection": True, "destination": True, "label": "API base URL",
                  "description": "Vervoe's API root: https://api.vervoe.com/api (a sandbox's /api for tests). "
                                 "Vervoe's own hosts only over https://."})
    api_key = PlainText(
        what="an API key", required=True, validate=validate.Length(min=1, max=500),
        metadata={"connection": True, "label": "API key", "secret": True,
                  "description": "Your Vervoe API key (Enterprise plan or partner; ask Vervoe to enable the API)."})
    api_secret = PlainText(
        what="an API secret", required=True, validate=validate.Length(min=1, max=500),
        metadata={"connection": True, "label": "API secret", "secret": True,
                  "description": "The secret key issued with the API key; the hub trades both for a "
                                 "10-minute token."})
    webhook_secret = PlainText(
        what="a webhook secret", line_breaks=True, load_default=None, validate=validate_secrets,
        metadata={"label": "Webhook secret(s)", "secret": True,
                  "description": "From Vervoe's dashboard, API webhook settings (Vervoe-Signature). Several "
                                 "may be active while rotating: one per line."})
    signature_tolerance_seconds = WholeNumber(
        load_default=300, validate=validate.Range(min=1, max=86400),
        metadata={"label": "Signature timestamp tolerance (seconds)",
                  "description": "Webhooks signed further than this in the past or future are rejected."})
    send_invitation_email = fields.Bool(
        load_default=True,
        metadata={"label": "Vervoe emails the candidate",
                  "description": "Vervoe sends its (customisable) invitation email. Off: only the link is "
                                 "kept in the hub and written back to the ATS."})
    redirect_candidate_url = fields.URL(
        load_default=None, allow_none=True, require_tld=False, schemes={"http", "https"},
        metadata={"label": "Redirect after completion",
                  "description": "Where Vervoe sends the candidate after finishing (optional)."})
    reject_on_archive = fields.Bool(
        load_default=True,
        metadata={"label": "Reject at Vervoe when archived",
                  "description": "When the candidate is archived in the ATS, reject their open Vervoe "
                                 "assessment (Vervoe's only way to close one; it sends Vervoe's reject email "
                                 "if that is enabled in Vervoe). One the candidate already completed is not "
                                 "rejected: its result is still written back."})
    reconcile_after_minutes = WholeNumber(
        load_default=30, validate=validate.Range(min=0, max=7 * 24 * 60),
        metadata={"label": "Reconcile after (minutes)",
                  "description": "Ask Vervoe about invitations open longer than this, in case a webhook was lost."})
    unscored_result_after_minutes = WholeNumber(
        load_default=24 * 60, validate=validate.Range(min=0, max=30 * 24 * 60),
        metadata={"label": "Report an unscored completion after (minutes)",
                  "description": "A completed assessment still waiting for Vervoe's grading after this long "
                                 "is written back without a score."})
    verdict_watch_days = WholeNumber(
        load_default=14, validate=validate.Range(min=1, max=365),
        metadata={"label": "Watch for verdicts (days)",
                  "description": "For this many days after a candidate completes, ask Vervoe now and then whether "
                                 "the candidate was hired or rejected there (and for a changed decision), in case "
                                 "its webhook was lost."})
    # the hub retries a failed delivery after 2, 4, 8 ... 128 s by default (HUB_RETRY_BASE_SECONDS,
    # doubling, capped at HUB_RETRY_MAX_SECONDS) and re-runs a dead worker's once its lease
    # (HUB_LEASE_SECONDS, 120) runs out; a plugin cannot read those, so the default covers them
    sending_window_seconds = WholeNumber(
        load_default=300, validate=validate.Range(min=0, max=24 * 3600),
        metadata={"label": "Wait for a send's retry (seconds)",
                  "description": "After sending an invitation ended without Vervoe's answer (a timeout, an error), "
                                 "Vervoe's reports that may be about it are refused for this long so that Vervoe "
                                 "sends them again once the retry has found it; afterwards they are taken as not "
                                 "the hub's, and reconciliation brings their news later. Raise it if the hub's "
                                 "delivery retries are spaced further apart."})
    rate_limit_per_second, rate_limit_burst = rate_limit_fields("Vervoe", wire.RATE_LIMIT_PER_SECOND,
                                                                wire.RATE_LIMIT_BURST)

    @post_load
    def _normalise(self, data: dict[str, Any], **_: Any) -> dict[str, Any]:
        if data.get("base_url"):
            data["base_url"] = data["base_url"].rstrip("/")
        if data.get("webhook_secret"):
            data["webhook_secret"] = normalise_secrets(data["webhook_secret"])
        return data


@dataclass(frozen=True)
class VervoeSettings:
    base_url: str
    api_key: str | None
    api_secret: str | None
    webhook_secrets: tuple[str, ...]
    signature_tolerance_seconds: int
    send_invitation_email: bool
    redirect_candidate_url: str | None
    reject_on_archive: bool
    reconcile_after_minutes: int
    unscored_result_after_minutes: int
    sending_window_seconds: int
    verdict_watch_days: int = 14
    rate_limit_per_second: float = wire.RATE_LIMIT_PER_SECOND
    rate_limit_burst: int = wire.RATE_LIMIT_BURST

    @classmethod
    def from_context(cls, ctx: Any) -> "VervoeSettings":
        values = {**DEFAULTS, **{k: v for k, v in (ctx.settings or {}).items() if v is not None}}
        secrets = ctx.secrets or {}
        return cls(
            base_url=str(values["base_url"]).rstrip("/"),
            api_key=secrets.get("api_key") or None,
            api_secret=secrets.get("api_secret") or None,
            webhook_secrets=split_secrets(secrets.get("webhook_secret")),
            signature_tolerance_seconds=int(values["signature_tolerance_seconds"]),
            send_invitation_email=bool(values["send_invitation_email"]),
            redirect_candidate_url=values.get("redirect_candidate_url") or None,
            reject_on_archive=bool(values["reject_on_archive"]),
            reconcile_after_minutes=int(values["reconcile_after_minutes"]),
            unscored_result_after_minutes=int(values["unscored_result_after_minutes"]),
            sending_window_seconds=int(values["sending_window_seconds"]),
            verdict_watch_days=int(values["verdict_watch_days"]),
            rate_limit_per_second=float(values["rate_limit_per_second"]),
            rate_limit_burst=int(values["rate_limit_burst"]),
        )
