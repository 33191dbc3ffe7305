"""Vervoe: the hub's second assessment-provider plugin (hook implementations only).

Built to Vervoe's published API (the OpenAPI document in ``openapi/``; see README.md). The wire format lives in ``wire``; token
auth in ``auth``; the API client in ``client``; settings in ``settings``; the plugin's bookkeeping in
``links``; report -> hub events in ``events``; webhook verification in ``webhooks``; inviting,
re-inviting and closing in ``invite``; reconciliation in ``reconciliation``; the simulator in
``sandbox``. See README.md.
"""

from __future__ import annotations

import secrets as _secrets

import requests

from hub import hookimpl
from hub.entities import ASSESSMENT, ConnectionState, IntegrationSpec, SandboxSpec
from hub.errors import HubError, PermanentError, TemporaryError

from . import auth, invite, reconciliation, webhooks, wire
from .client import VervoeClient, VervoeError, VervoeForbidden
from .settings import SECRET_FIELDS, VervoeSettingsSchema, split_secrets

__version__ = "0.1.0"

DESCRIPTION = (
    "Sends a Vervoe assessment when a candidate enters a stage it is attached to (Vervoe emails the "
    "candidate; the hub keeps the candidate's link), and brings the score, the candidate card link and "
    "hire/reject decisions back to the ATS. Vervoe reports to this connection's webhook URL, set in "
    "Vervoe's dashboard, and signs what it sends with the connection's webhook secret."
)

SANDBOX_MODULE = "plugins.vervoe.sandbox"
# Vervoe's API has no call to register a webhook (no ``setup_webhooks``): the admin sets it in Vervoe.
WEBHOOK_HELP = ("Vervoe has no API to register webhooks: in Vervoe's dashboard, API webhook settings, set the "
                "report webhook URL to this URL, and copy its webhook secret into \"Webhook secret(s)\" in the "
                "settings here.")
VERIFICATION_HELP = "Vervoe has no verify button: the first signed report webhook from Vervoe verifies the connection."
# a 403 to the connection test (guide 02: the API is for Enterprise plans and Vervoe partners; guide 04:
# 403 is a missing permission): the key and secret were taken, so entering them again would not help
FORBIDDEN_ADVICE = ("Vervoe took the API key and secret but does not let this API user list assessments: "
                    "ask Vervoe to give it that permission (Vervoe's API needs an Enterprise plan or partner "
                    "access)")
REVOKE_HELP = ("Nothing is undone at Vervoe (its API cannot remove anything): remove the hub's report webhook URL "
               "in Vervoe's dashboard, API webhook settings; it is refused from now on anyway.")


@hookimpl
def register_integration(register):
    register(IntegrationSpec(kind=ASSESSMENT, title="Vervoe", settings_schema=VervoeSettingsSchema,
                             secret_fields=SECRET_FIELDS, description=DESCRIPTION, version=__version__,
                             webhook_help=WEBHOOK_HELP, verification_help=VERIFICATION_HELP,
                             revoke_help=REVOKE_HELP,
                             # its hooks act on its own invitations only: no delivery of others'
                             own_invitations_only=True))


def _vendor_error(exc: Exception) -> HubError:
    """The connection test's (and so the status line's and dashboard's) text for a failed call:
    Vervoe's own error message after "Vervoe: "; for any other answer (a web server's HTML page at
    a wrong base URL, a bare text, nothing) the client's sentence, which has the status and names
    Vervoe already ("Vervoe answered 404 Not Found with an HTML page, not its API's JSON: check the
    API base URL"); any other error's text, after "Vervoe: " unless it names Vervoe already
    ("Vervoe's token endpoint answered 404: ...", "GET ...: Vervoe answered 502 Bad Gateway with
    ..."). Refused credentials (a 401, or a 400/401/403 from the token endpoint): "Vervoe refused
    the API key and secret: <its message>" for Vervoe's JSON error; else the sentence and advice
    naming the base URL as well as the credentials (``auth.refused_not_json``). A 403 from the API
    (a permission, guide 04; ``client.VervoeForbidden``) is not about the credentials: "Vervoe:
    <its message> (403 Forbidden: the API user lacks a permission this request needs). <what to ask
    Vervoe>" (``FORBIDDEN_ADVICE``) for Vervoe's JSON error, else the sentence; and the connection
    is not flagged for re-authorization."""
    if isinstance(exc, auth.VervoeAuthError):
        own = exc.own_message
        text = f"Vervoe refused the API key and secret: {own}" if own is not None else auth.refused_not_json(exc)
        return HubError(text, status=401, code="vendor_unauthorized")
    if isinstance(exc, VervoeForbidden) and invite.own_message(exc) is not None:
        return HubError(f"{invite.refusal_text(exc, 'Vervoe: ', '')}. {FORBIDDEN_ADVICE}", status=502,
                        code="vendor_error")
    if isinstance(exc, VervoeError):
        return HubError(invite.refusal_text(exc, "Vervoe: ", ""), status=502, code="vendor_error")
    text = str(exc)
    return HubError(text if "Vervoe" in text else f"Vervoe: {text}", status=502, code="vendor_error")


@hookimpl
def list_assessments(ctx):
    try:
        return VervoeClient(ctx).list_assessments()
    except (PermanentError, TemporaryError) as exc:
        raise _vendor_error(exc) from exc


@hookimpl
def test_connection(ctx):
    try:
        assessments = VervoeClient(ctx).list_assessments()
    except (PermanentError, TemporaryError) as exc:
        raise _vendor_error(exc) from exc
    ctx.set_status("connected", f"Vervoe answered with {len(assessments)} assessments")
    return f"Vervoe is connected: {len(assessments)} assessment{'' if len(assessments) == 1 else 's'}"


@hookimpl
def connection_state(ctx):
    secrets = ctx.secrets
    return ConnectionState(credentials_present=bool(secrets.get("api_key") and secrets.get("api_secret")),
                           credentials_help="enter Vervoe's API key and API secret in the settings and save")


@hookimpl
def verify_webhook(ctx, request):
    return webhooks.verify(ctx, request)


@hookimpl
def on_stage_change(ctx, change):
    invite.handle_stage_change(ctx, change)


@hookimpl
def on_reinvite_requested(ctx, request):
    invite.handle_reinvite(ctx, request)


@hookimpl
def on_archive_change(ctx, change):
    invite.handle_archive(ctx, change)


@hookimpl
def on_invitation_status(ctx, progress):
    invite.handle_status(ctx, progress)


@hookimpl
def on_assessment_completed(ctx, result):
    reconciliation.remember_completion(ctx, result)


@hookimpl
def reconcile(ctx):
    return reconciliation.reconcile(ctx)


# --------------------------------------------------------------------------- sandbox


@hookimpl
def register_sandbox(register):
    register(SandboxSpec(module=SANDBOX_MODULE, title="Vervoe sandbox"))


@hookimpl
def connect_sandbox(ctx, sandbox_url):
    """Point this connection at the Vervoe sandbox, as an admin would at Vervoe: the API root, the
    sandbox's API key and secret, a webhook secret; and set the sandbox's report webhook (Vervoe's
    dashboard setting) to the hub's URL with that secret, through the sandbox's control API."""
    base = sandbox_url.rstrip("/")
    control = _sandbox_call(ctx, "GET", base + "/_sandbox/config")
    credentials = (control.get("api_credentials") or [{}])[0]
    existing = split_secrets(ctx.secrets.get("webhook_secret"))
    webhook_secret = existing[0] if existing else "vervoe-sandbox-" + _secrets.token_hex(16)
    loaded = VervoeSettingsSchema().load({
        **{k: v for k, v in ctx.settings.items() if k in VervoeSettingsSchema().fields and k not in SECRET_FIELDS},
        "base_url": base + "/api", "api_key": credentials.get("api_key") or "",
        "api_secret": credentials.get("api_secret") or "", "webhook_secret": webhook_secret,
    })
    ctx.update_settings({k: v for k, v in loaded.items() if k not in SECRET_FIELDS})
    ctx.update_secrets({k: loaded[k] for k in SECRET_FIELDS}, remove=auth.TOKEN_SECRETS)
    _sandbox_call(ctx, "POST", base + "/_sandbox/config",
                  json={"webhook_url": ctx.webhook_url, "webhook_secret": webhook_secret})
    try:
        assessments = VervoeClient(ctx).list_assessments()
    except (PermanentError, TemporaryError) as exc:  # NeedsReauthorization is a PermanentError
        raise _vendor_error(exc) from exc
    connected = f"connected to the Vervoe sandbox at {base} ({len(assessments)} assessments)"
    ctx.set_status("connected", connected)  # as the Lever and Canditech sandboxes say it
    return f"{connected}; its report webhooks go to {ctx.webhook_url}, signed with the stored secret"


def _sandbox_call(ctx, method: str, url: str, **kwargs) -> dict:
    try:
        response = ctx.http.request(method, url, **kwargs)
    except requests.RequestException as exc:
        raise HubError(f"the Vervoe sandbox at {url} is unreachable: {exc}", status=502,
                       code="sandbox_unreachable") from exc
    if response.status_code != wire.STATUS_OK:
        raise HubError(f"the Vervoe sandbox answered {response.status_code} to {method} {url}", status=502,
                       code="sandbox_error")
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict):
        raise HubError(f"the Vervoe sandbox answered {method} {url} without a JSON object", status=502,
                       code="sandbox_error")
    return body
