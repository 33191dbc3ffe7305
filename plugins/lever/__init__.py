"""The Lever plugin: Lever as the hub's source (ATS).

Hook implementations only; the work is in the modules beside this one (see README.md):
``settings`` (schema), ``hosts`` (production/sandbox/custom URLs), ``auth`` (API key, OAuth),
``client`` (the HTTP client), ``webhooks`` (verification and parsing), ``webhook_setup``
(registering webhooks at Lever), ``readapi`` (candidates, postings, stages, users, the candidates
of a stage) and ``writeback`` (notes, tags, stage moves), ``sandbox_link`` (``hub demo`` and
end-to-end tests).
``sandbox`` is a simulator of Lever's API for tests and demos; the plugin never imports it.
"""

from __future__ import annotations

from typing import Mapping

from hub import hookimpl
from hub.entities import SOURCE_ATTACHMENT_OPTIONS, ConnectionState, IntegrationSpec, SandboxSpec
from hub.errors import HubError, NeedsReauthorization, PermanentError, TemporaryError

from . import auth, readapi, sandbox_link, webhook_setup, webhooks, writeback
from .client import LeverAPIError, LeverClient
from .hosts import hosts_for
from .settings import SECRET_FIELDS, LeverSettingsSchema, SecretNames, settings_of

__version__ = "0.1.0"

DESCRIPTION = ("Lever (LeverTRM): candidates move through stages in Lever; assessment results, verdicts "
               "and failures are written back as notes and tags.")


WEBHOOK_HELP = ("Manual mode: in Lever, Settings > Integrations and API > Webhooks, add this URL to the groups "
                "\"Candidate Stage Change\", \"Application Created\", \"Candidate Archive State Change\", "
                "\"Candidate Deleted\" and \"Candidate Hired\", switch them on, and paste each webhook's signature token into "
                "\"Webhook signature tokens\" in the settings.")
VERIFICATION_HELP = ("In Lever, Settings > Integrations and API > Webhooks, press \"Verify connection\" next to "
                     "the hub's URL; the first signed webhook Lever sends verifies it too.")
REVOKE_HELP = ("The hub deletes at Lever the webhooks it registered there through Lever's API and forgets their "
               "tokens and any OAuth tokens (forgotten, not revoked at Lever: remove the app under Settings > "
               "Integrations and API > Authorized Apps if you want). Webhooks you added yourself in Lever's "
               "settings stay: delete them there.")


def _client(ctx) -> LeverClient:
    return LeverClient(ctx)


def _as_hub_error(exc: Exception) -> HubError:
    """Errors of direct hooks (admin UI) as ``HubError`` with a message the admin can act on."""
    if isinstance(exc, HubError):
        return exc
    if isinstance(exc, LeverAPIError):
        return HubError(str(exc), status=502, code="lever_error")
    if isinstance(exc, NeedsReauthorization):
        return HubError(str(exc), status=401, code="needs_reauthorization")
    if isinstance(exc, TemporaryError):
        return HubError(f"Lever is unavailable: {exc}", status=503, code="lever_unavailable")
    return HubError(str(exc), status=502, code="lever_error")


# --------------------------------------------------------------------------- registration


@hookimpl
def register_integration(register):
    register(IntegrationSpec(
        kind="source",
        title="Lever",
        settings_schema=LeverSettingsSchema,
        secret_fields=SECRET_FIELDS,
        description=DESCRIPTION,
        version=__version__,
        supports_oauth=True,
        supports_webhook_setup=True,
        webhook_help=WEBHOOK_HELP,
        verification_help=VERIFICATION_HELP,
        revoke_help=REVOKE_HELP,
        stages_per_posting=False,  # Lever's stages are the account's
        # writeback.py moves, archives and tags as the attachment's options ask
        attachment_options=SOURCE_ATTACHMENT_OPTIONS,
    ))


@hookimpl
def register_sandbox(register):
    register(SandboxSpec(module=sandbox_link.SANDBOX_MODULE, title="Lever sandbox"))


# --------------------------------------------------------------------------- webhooks


@hookimpl
def verify_webhook(ctx, request):
    return webhooks.verify(ctx, request, settings_of(ctx))


# --------------------------------------------------------------------------- read API


@hookimpl
def source_get_candidate(ctx, opportunity_id):
    return readapi.get_candidate(ctx, _client(ctx), opportunity_id)


@hookimpl
def source_list_postings(ctx):
    return readapi.list_postings(ctx, _client(ctx))


@hookimpl
def source_list_stages(ctx, posting_id):
    return readapi.list_stages(ctx, _client(ctx))  # Lever's stages are global


@hookimpl
def source_list_users(ctx):
    return readapi.list_users(ctx, _client(ctx))


@hookimpl
def source_list_archive_reasons(ctx):
    return readapi.list_archive_reasons(ctx, _client(ctx))


@hookimpl
def source_list_stage_candidates(ctx, posting_id, stage_id, limit):
    try:
        return readapi.list_stage_candidates(_client(ctx), posting_id, stage_id, limit)
    except (PermanentError, TemporaryError) as exc:
        raise _as_hub_error(exc) from exc


# --------------------------------------------------------------------------- connection lifecycle


@hookimpl
def test_connection(ctx):
    settings = settings_of(ctx)
    try:
        client = LeverClient(ctx, settings=settings)
        body = client.get("/users", {"limit": 1})
        readapi.clear_cache(ctx)  # a (re)connection is the time to re-read postings and stages
        if not isinstance(body, Mapping) or not isinstance(body.get("data"), list):
            raise HubError("Lever answered GET /users without a list of users", status=502, code="lever_error")
        problem = readapi.perform_as_problem(client, settings.perform_as)
    except (HubError, PermanentError, TemporaryError) as exc:
        raise _as_hub_error(exc) from exc
    if problem:
        # Lever answers 404 to every write as an unknown perform_as user: say so now, not per note
        raise HubError(f"Lever is reachable, but {problem}. Put an active Lever user's id in “Write as Lever "
                       "user” (notes, tags, stage moves and archives are written as that user), or leave it "
                       "empty.", status=422, code="lever_perform_as")
    host = hosts_for(settings).api_base
    how = "OAuth" if settings.auth_mode == "oauth" else "an API key"
    account = ctx.secrets.get(SecretNames.ACCOUNT_ID) if settings.auth_mode == "oauth" else None
    message = f"Lever is connected at {host} with {how}" + (f" (account {account})" if account else "")
    ctx.set_status("connected", message)
    return message + "."


@hookimpl
def connection_state(ctx):
    settings = settings_of(ctx)
    secrets = ctx.secrets
    oauth = settings.auth_mode == "oauth"
    try:
        auth.client_credentials(ctx)
        oauth_available, reason = True, ""
    except HubError as exc:
        oauth_available, reason = False, exc.message
    if oauth:
        present = bool(secrets.get(SecretNames.ACCESS_TOKEN) or secrets.get(SecretNames.REFRESH_TOKEN))
        need = ("connect with Lever (OAuth)" if oauth_available else
                "OAuth is not set up on this server: choose “API key” under Authentication and enter one")
        moved = auth.issued_elsewhere(ctx, secrets) if present else None
        if moved:  # its tokens go only to the Lever that issued them: none the hub can use or test here
            present = False
            need = (f"connect with Lever (OAuth) again: the stored OAuth connection was made with Lever at "
                    f"{moved[0]}, and the Lever environment is now {moved[1]}" if oauth_available else
                    f"the stored OAuth connection was made with Lever at {moved[0]}, and the Lever environment "
                    f"is now {moved[1]}: {need}")
    else:
        present = bool(secrets.get("api_key"))
        need = "enter Lever's API key in the settings and save"
    return ConnectionState(
        credentials_present=present, credentials_help=need,
        oauth_available=oauth_available, oauth_unavailable_reason=reason, oauth_chosen=oauth,
        webhooks=webhook_setup.registered(ctx), webhooks_missing=webhook_setup.missing(ctx),
        manual_secret_field="signature_tokens",
        # the other way's credentials, kept: choosing it again uses them
        unused_secrets=("api_key",) if oauth else (*SecretNames.OAUTH, auth.REFRESHED_AT, auth.REFUSED),
        warnings=(*(auth.grant_warnings(ctx) if oauth and present else ()), *webhook_setup.left_warning(ctx)))


@hookimpl
def oauth_authorize_url(ctx, redirect_uri, state):
    return auth.authorize_url(ctx, redirect_uri, state)


@hookimpl
def oauth_complete(ctx, redirect_uri, params):
    return auth.complete(ctx, redirect_uri, params)


@hookimpl
def setup_webhooks(ctx):
    try:
        return webhook_setup.setup(ctx, _client(ctx))
    except (PermanentError, TemporaryError) as exc:
        raise _as_hub_error(exc) from exc


@hookimpl
def disconnect(ctx):
    try:
        webhook_setup.disconnect(ctx, _client(ctx))
    finally:
        readapi.clear_cache(ctx)


@hookimpl
def connect_sandbox(ctx, sandbox_url):
    return sandbox_link.connect(ctx, sandbox_url)


@hookimpl
def reconcile(ctx):
    """The hub's periodic hook: Lever's webhooks need no recovery here (a stage change missed is
    the backfill's job), so it only keeps an OAuth grant from expiring (``auth.keep_alive``)."""
    auth.keep_alive(ctx)
    return []


# --------------------------------------------------------------------------- event hooks


@hookimpl
def on_assessment_completed(ctx, result):
    writeback.assessment_completed(ctx, _client(ctx), settings_of(ctx), result)


@hookimpl
def on_verdict(ctx, verdict):
    writeback.verdict(ctx, _client(ctx), settings_of(ctx), verdict)


@hookimpl
def on_invitation_status(ctx, progress):
    writeback.invitation_status(ctx, _client(ctx), settings_of(ctx), progress)


@hookimpl
def on_candidate_deleted(ctx, deletion):
    writeback.candidate_deleted(ctx, deletion)
