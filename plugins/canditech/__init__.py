"""Canditech: the hub's assessment-provider plugin (hook implementations only).

The wire format lives in ``wire``; the API client in ``client``; settings in ``settings``;
webhook verification in ``webhooks``; inviting and cancelling in ``invite``; reconciliation in
``reconciliation``; connecting to the bundled simulator in ``sandbox_link``. See README.md.
"""

from __future__ import annotations

from hub import hookimpl
from hub.entities import ASSESSMENT, ConnectionState, IntegrationSpec, SandboxSpec
from hub.errors import HubError, PermanentError, TemporaryError

from . import invite, reconciliation, sandbox_link, webhooks
from .client import CanditechClient, CanditechError, CanditechUnavailable
from .settings import SECRET_FIELDS, CanditechSettingsSchema

__version__ = "0.1.0"

DESCRIPTION = (
    "Sends a Canditech assessment when a candidate enters a stage it is attached to, and brings the "
    "score, report link and the reviewer's thumbs up/down back to the ATS. Canditech reports to the hub's "
    "webhook URL, sent with every invitation as its callback URL, and signs what it sends with this "
    "connection's webhook secret."
)

WEBHOOK_HELP = ("Nothing to paste at Canditech: the hub sends this URL with every invitation as its callback URL "
                "(only if your Canditech account ignores callback URLs, paste it in Canditech's webhook settings). "
                "Enter the secret Canditech signs its webhooks with under \"Webhook signing secret(s)\" in the settings.")
VERIFICATION_HELP = "Canditech has no verify button: the first signed webhook from Canditech verifies the connection."
REVOKE_HELP = ("Nothing is undone at Canditech (its API cannot remove anything): invitations already sent stay "
               "open there, candidates can still take them, and their callbacks to the old webhook URL are refused "
               "from now on. Connecting again gives a new webhook URL, but only invitations sent after that carry it: "
               "the results of earlier ones reach the hub only through reconciliation, and their verdicts only "
               "through the verdict watch (for \"Watch for verdicts (days)\" after completion). To stop candidates "
               "taking them, cancel them in the hub before revoking: the plugin then withdraws them at Canditech.")


@hookimpl
def register_integration(register):
    register(IntegrationSpec(kind=ASSESSMENT, title="Canditech", settings_schema=CanditechSettingsSchema,
                             secret_fields=SECRET_FIELDS, description=DESCRIPTION,
                             webhook_help=WEBHOOK_HELP, verification_help=VERIFICATION_HELP,
                             revoke_help=REVOKE_HELP,
                             # its hooks act on its own invitations only: no delivery of others'
                             own_invitations_only=True))


def _vendor_error(exc: Exception) -> HubError:
    """The connection test's (and so the status line's and dashboard's) text for a failed call:
    Canditech's own error message after "Canditech: "; for any other answer (a web server's HTML
    page at a wrong base URL, a bare text, nothing) the client's sentence, which has the status and
    names Canditech already ("Canditech answered 404 Not Found with an HTML page, not its API's
    JSON: check the API base URL"), as has a ``CanditechUnavailable``'s text. A 403 to a later page
    of the assessments while the first was answered (``CanditechForbidden``) says so: "Canditech:
    <its message> (403 Forbidden, although the API key works)"; a 403 to the first page is the
    key's (``CanditechAuthError``: the client checks the key no further)."""
    if isinstance(exc, CanditechError):
        return HubError(invite.refusal_text(exc, "Canditech: ", ""), status=502, code="vendor_error")
    if isinstance(exc, CanditechUnavailable):
        return HubError(str(exc), status=502, code="vendor_error")
    return HubError(f"Canditech: {exc}", status=502, code="vendor_error")


@hookimpl
def list_assessments(ctx):
    try:
        return CanditechClient(ctx).list_assessments()
    except (PermanentError, TemporaryError) as exc:
        raise _vendor_error(exc) from exc


@hookimpl
def test_connection(ctx):
    try:
        assessments = CanditechClient(ctx).list_assessments()
    except (PermanentError, TemporaryError) as exc:
        raise _vendor_error(exc) from exc
    return f"Canditech is connected: {len(assessments)} assessment{'' if len(assessments) == 1 else 's'}"


@hookimpl
def connection_state(ctx):
    return ConnectionState(credentials_present=bool(ctx.secrets.get("api_key")),
                           credentials_help="enter Canditech's API key in the settings and save")


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
def on_verdict(ctx, verdict):
    reconciliation.forget_completion(ctx, verdict)


@hookimpl
def reconcile(ctx):
    return reconciliation.reconcile(ctx)


@hookimpl
def register_sandbox(register):
    register(SandboxSpec(module=sandbox_link.SANDBOX_MODULE, title="Canditech sandbox"))


@hookimpl
def connect_sandbox(ctx, sandbox_url):
    return sandbox_link.connect(ctx, sandbox_url)
