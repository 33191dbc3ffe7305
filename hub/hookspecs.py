"""The hub's plugin contract: every hook a plugin may implement.

A plugin is a module (or object) registered under the entry-point group ``ats_hub`` whose
functions are decorated with ``@hub.hookimpl`` and named after the hooks below. Implement only
the hooks you need, and only the arguments you need (pluggy passes arguments by name, so the hub
can add arguments later without breaking anyone), named exactly as below (``ctx``, not
``context``): an argument a hook does not have stops the hub's start with a message naming it
("plugin 'acme': list_assessments(context) names an argument the hook does not have (context);
its arguments are (ctx). Name each argument exactly as its hook does, or leave it out ...").

How the hub calls hooks:

- The hub never calls a hook on *all* plugins at once and lets one failure stop the rest. It calls
  each plugin's implementation on its own, with that plugin's ``ctx`` (a ``hub.context.PluginContext``:
  the plugin's workspace, settings, decrypted secrets, HTTP session, stores and the source's read API).
- **Event hooks** (``on_*``) run in a worker, from a durable delivery: one delivery per event and
  per enabled plugin that implements the hook. They return nothing. They may run more than once
  for the same event (a worker crash, a retry after an unclear failure), so they must be
  idempotent: check ``ctx.records`` or ``ctx.invitations`` before acting on the outside world.
  Raising ``hub.errors.TemporaryError`` (or any exception) retries the delivery with exponential
  backoff until the configured attempts are used up, then it is dead and visible to admins;
  ``hub.errors.Deferred`` retries soon without using an attempt; ``hub.errors.PermanentError``
  ends it dead at once; ``hub.errors.NeedsReauthorization`` flags the integration, and the
  delivery waits for an admin to reconnect it (no attempt spent; it goes on once connected).
- **Direct hooks** (the rest) are called by the hub when it needs that one plugin's answer
  (webhook ingress, the admin UI, the periodic reconciliation). Their errors are reported to the
  caller: a ``hub.errors.HubError`` with its status and message, anything else as a failure that
  the admin sees with the plugin's name.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable, Mapping

import pluggy

if TYPE_CHECKING:  # pragma: no cover - typing only
    from hub.context import PluginContext
    from hub.entities import (
        ArchiveChange,
        ArchiveReason,
        Assessment,
        AssessmentResult,
        Candidate,
        CandidateDeleted,
        CandidateHired,
        ConnectionState,
        InboundEvent,
        IntegrationSpec,
        InvitationProgress,
        Posting,
        ReinviteRequested,
        SandboxSpec,
        SourceUser,
        StageCandidate,
        Stage,
        StageChange,
        Verdict,
        WebhookRequest,
        WebhookResult,
    )

PROJECT_NAME = "ats_hub"
hookspec = pluggy.HookspecMarker(PROJECT_NAME)


# --------------------------------------------------------------------------- registration


@hookspec
def register_integration(register: Callable[["IntegrationSpec"], None]) -> None:
    """Tell the hub what this plugin is. Called once per plugin when the app starts.

    Call ``register(IntegrationSpec(kind=..., title=..., settings_schema=..., secret_fields=...))``
    exactly once. ``kind`` is ``"source"`` (an ATS such as Lever) or ``"assessment"`` (a test
    provider such as Canditech). The marshmallow ``settings_schema`` validates the settings an admin
    enters and generates the settings form; fields named in ``secret_fields`` are encrypted at rest
    and never shown back. ``description`` is one sentence on what the plugin does, shown after the
    title on the Integrations list and the integration page. A plugin that does not register, or
    registers twice, or registers an invalid spec, stops the hub at start-up with a message naming
    the plugin.
    """


# --------------------------------------------------------------------------- webhook ingress


@hookspec
def verify_webhook(ctx: "PluginContext", request: "WebhookRequest") -> "WebhookResult":
    """Verify and parse one webhook request that arrived at this plugin's URL for ``ctx.workspace_id``.

    Called by the ingress endpoint ``POST /webhooks/<plugin>/<key>``, synchronously, before the
    sender gets its answer; keep it fast (no vendor calls unless the body is too thin to use, or
    to learn the vendor's id of an invitation whose send's answer was lost: docs/plugin-guide.md,
    "A webhook that comes before the retry").

    Check the signature in constant time and the timestamp window, then parse the body into hub
    events. Return ``WebhookResult(events=(InboundEvent(...), ...))``; ``ping=True`` for the
    vendor's connection test (recorded as "verified"); an empty result for events the hub does not
    use (answered 2xx and logged); anything but a ``WebhookResult`` of ``InboundEvent`` items is a
    bug in the plugin: the sender gets a JSON 500 (``internal_error``, so it retries) and the
    webhook log says "the plugin failed: its verify_webhook returned a list, not a WebhookResult (a
    bug in the plugin)". Raise
    ``hub.errors.WebhookRejected(message, status=4xx)`` for a bad signature, a stale timestamp,
    malformed JSON or missing fields: the sender gets that status with ``{"error": {"code",
    "message"}}`` and the admin sees the rejection (never the secret).
    Deduplication is the hub's job: give each ``InboundEvent`` the sender's stable event id. If the
    signature covers a nonce and not the body, name the nonce in ``seen_ids`` of a result without
    events and of a ``WebhookRejected`` raised after the signature verified: the hub remembers it,
    so the signed nonce cannot be replayed with another body.
    """


# --------------------------------------------------------------------------- event hooks


@hookspec
def on_stage_change(ctx: "PluginContext", change: "StageChange") -> None:
    """A candidate's opportunity entered a stage at the source (fires for every stage move).

    For assessment plugins: look up ``ctx.attachments.list(stage_id=change.to_stage_id,
    provider=ctx.plugin_name)``, re-read the candidate with ``ctx.source.get_candidate`` (confirm the
    stage, get the email and posting), and invite once per attachment via ``ctx.invitations``.
    An empty ``change.to_stage_id`` means the source announced an entry without naming the stage
    (Lever's ``applicationCreated``): re-read the candidate first and use its current stage.
    ``hub.kit.provider.candidate_in_stage`` does all of this.
    """


@hookspec
def on_archive_change(ctx: "PluginContext", change: "ArchiveChange") -> None:
    """A candidate was archived (``change.archived``) or unarchived at the source.

    Assessment plugins cancel the open invitations of that opportunity at their vendor.
    """


@hookspec
def on_candidate_deleted(ctx: "PluginContext", deletion: "CandidateDeleted") -> None:
    """A candidate was deleted at the source. The hub has already erased the candidate's name and
    email from its own tables; plugins forget whatever personal data they keep in ``ctx.records``."""


@hookspec
def on_hired(ctx: "PluginContext", hired: "CandidateHired") -> None:
    """A candidate was marked hired at the source. Assessment plugins may close open invitations."""


@hookspec
def on_invitation_status(ctx: "PluginContext", progress: "InvitationProgress") -> None:
    """An invitation changed status (invited, started, expired, cancelled, or failed with a reason).

    Fired once per change, after the hub recorded it, to every enabled plugin that implements it:
    for every provider's invitations (to an assessment provider registered with
    ``IntegrationSpec(own_invitations_only=True)``, for its own only), and for the changes a plugin
    made itself. Source plugins may mirror it, e.g. tag the candidate when an invitation could not
    be sent. A provider acting on it (withdrawing on an admin's cancel) checks that the invitation
    is its own (``ctx.invitations.get(progress.invitation_id).provider == ctx.plugin_name``; with
    ``own_invitations_only`` the hub has already) and who made the change (``progress.by``).
    """


@hookspec
def on_assessment_completed(ctx: "PluginContext", result: "AssessmentResult") -> None:
    """A candidate completed an assessment; the score and report link are in ``result``.

    Fired once per completion, after the hub recorded it on the invitation (to a provider
    registered with ``own_invitations_only``, for its own invitations only). Source plugins write
    the result back to the ATS (e.g. a note), exactly once: remember what was written in
    ``ctx.records`` and check before writing again. Say what was written on the invitation's
    timeline with ``ctx.invitations.note(..., refs={"ats_note": note_id})``: ids go in ``refs``,
    never in the words (docs/plugin-guide.md, "Timeline lines").
    """


@hookspec
def on_verdict(ctx: "PluginContext", verdict: "Verdict") -> None:
    """A reviewer gave a verdict (thumbs up / thumbs down) on a completed assessment.

    Fired once per new verdict (to a provider registered with ``own_invitations_only``, for its own
    invitations only). The verdict may arrive before the completion: raise
    ``hub.errors.Deferred`` until the completion has been written back, so the ATS sees them in order.
    A stage move or archive made for the verdict goes on the timeline with ``refs={"stage": ...}``
    or ``refs={"archive_reason": ...}`` and ``{stage}`` / ``{archive_reason}`` in the words.
    """


@hookspec
def on_reinvite_requested(ctx: "PluginContext", request: "ReinviteRequested") -> None:
    """An admin asked to invite the candidate of ``request.invitation_id`` again.

    The hub has already reset the invitation to ``pending`` with a new round (so a new external
    reference); the provider that owns the invitation sends it again. Where that is a new invitation
    at its vendor, the provider first withdraws there what an earlier round left open (found by the
    references of ``hub.kit.provider.earlier_round_references``; one completed, expired or cancelled
    there, or not found, is left alone), raising ``hub.errors.TemporaryError`` before anything of the new
    round is sent when the vendor fails meanwhile, so the retry starts over.
    """


# What each event hook does, for the people who read Activity (a delivery is one plugin's run of
# one of them): by the kind of the plugin that runs it ("source" or "assessment"), else "". Labels
# only, not part of the contract: a plugin implements hooks by the names above. A new event hook
# gets a label here (a test checks that every one has one).
EVENT_HOOK_LABELS: dict[str, dict[str, str]] = {
    "on_stage_change": {"": "Act on the stage change", "assessment": "Invite on the stage change"},
    "on_archive_change": {"": "Act on the archiving or unarchiving",
                          "assessment": "Cancel the invitations of an archived candidate"},
    "on_candidate_deleted": {"": "Forget the deleted candidate"},
    "on_hired": {"": "Act on the hire", "assessment": "Close the invitations of a hired candidate"},
    "on_invitation_status": {"": "Act on the invitation's new status",
                             "source": "Write the invitation's status to the ATS"},
    "on_assessment_completed": {"": "Act on the completed assessment", "source": "Write the result to the ATS"},
    "on_verdict": {"": "Act on the verdict", "source": "Write the verdict to the ATS"},
    "on_reinvite_requested": {"": "Act on the re-invite request", "assessment": "Send the invitation again"},
}


# --------------------------------------------------------------------------- source read API


@hookspec
def source_get_candidate(ctx: "PluginContext", opportunity_id: str) -> "Candidate | None":
    """Source plugins: read the candidate of an opportunity *now* from the ATS (name, email,
    posting, current stage, archived). ``None`` when it does not exist. Other plugins reach this
    as ``ctx.source.get_candidate(opportunity_id)``."""


@hookspec
def source_list_postings(ctx: "PluginContext") -> "list[Posting]":
    """Source plugins: the postings (positions) of the ATS, with owner, hiring manager and
    followers' emails (used for the Limited Team Member's view)."""


@hookspec
def source_list_stages(ctx: "PluginContext", posting_id: str | None) -> "list[Stage]":
    """Source plugins: the pipeline stages (for ``posting_id`` where the ATS has per-posting
    pipelines; Lever's stages are global)."""


@hookspec
def source_list_users(ctx: "PluginContext") -> "list[SourceUser]":
    """Source plugins: the ATS's users (id, name, email, access role)."""


@hookspec
def source_list_archive_reasons(ctx: "PluginContext") -> "list[ArchiveReason]":
    """Source plugins, optional: the reasons the ATS offers for archiving a candidate. When a
    source implements it, an attachment's "archive on thumbs down" reason is checked against
    them (and chosen from them on the page); otherwise it is taken as typed."""


@hookspec
def source_list_stage_candidates(ctx: "PluginContext", posting_id: str, stage_id: str,
                                 limit: int) -> "list[StageCandidate | str]":
    """Source plugins, optional: the candidates that are in stage ``stage_id`` of posting
    ``posting_id`` at the ATS *now* (read live, never from a cache), leaving out archived and
    deleted ones; each once, at most ``limit`` of them, in a stable order (the hub asks for one
    more than it acts on, to know when there are more), as a list (or tuple) of
    ``hub.entities.StageCandidate`` (the opportunity id, and the name and ATS page the backfill
    page shows the admin before they confirm) or of bare opportunity ids (str: the page then lists
    ids). No emails.

    Called by the hub, synchronously, for the pipeline's backfill ("Invite N candidates already in
    this stage"); not offered through ``ctx.source``. Nothing is trusted beyond the ids: each
    candidate is re-read with ``source_get_candidate`` before an invitation is made, so an id
    that moved on meanwhile invites nobody. A source that does not implement it gets no backfill
    (the page says so). Errors as for every direct hook: a ``hub.errors.HubError`` is shown with
    its message, anything else as a failure of the plugin.
    """


# --------------------------------------------------------------------------- assessment provider API


@hookspec
def list_assessments(ctx: "PluginContext") -> "list[Assessment]":
    """Assessment plugins: the assessments an admin can attach to a stage, read live from the vendor."""


# --------------------------------------------------------------------------- connection lifecycle


@hookspec
def test_connection(ctx: "PluginContext") -> str:
    """Check the stored credentials against the vendor. Return a short success message; raise
    ``hub.errors.HubError`` with the vendor's message on failure."""


@hookspec
def oauth_authorize_url(ctx: "PluginContext", redirect_uri: str, state: str) -> str:
    """OAuth plugins: the vendor's authorize URL the admin's browser is sent to. The hub made
    ``state`` and checks it on the callback."""


@hookspec
def oauth_complete(ctx: "PluginContext", redirect_uri: str, params: Mapping[str, str]) -> str:
    """OAuth plugins: finish the flow with the callback's query ``params`` (``state`` already
    checked): exchange the code, store the tokens with ``ctx.update_secrets``. Return a message."""


@hookspec
def setup_webhooks(ctx: "PluginContext") -> str:
    """Ask the vendor to send its webhooks to ``ctx.webhook_url`` (e.g. Lever's ``POST /webhooks``),
    storing what is needed to verify them. Return a message for the admin (including any manual
    step still needed at the vendor)."""


@hookspec
def disconnect(ctx: "PluginContext") -> None:
    """The admin revoked the integration: undo at the vendor what the hub set up (delete the
    webhooks it created, revoke tokens where the API allows). The hub then deletes the plugin's
    secrets and stops its deliveries. Best effort: errors are reported, the revoke proceeds."""


@hookspec
def connection_state(ctx: "PluginContext") -> "ConnectionState":
    """Optional, read-only and without any vendor call (it runs on every view of the integration
    page): a ``hub.entities.ConnectionState`` from the plugin's settings, secrets and records:
    whether credentials are present, whether OAuth can work on this server and is chosen, which
    webhooks it registered at the vendor. Never put a secret in it."""


@hookspec
def reconcile(ctx: "PluginContext") -> "list[InboundEvent]":
    """Called periodically (every ``HUB_RECONCILE_INTERVAL_SECONDS``, in one worker at a time per
    connection): ask the vendor about work a lost webhook may have missed (e.g. invitations open
    for a while) and return the events found, each an ``InboundEvent`` with a stable
    ``external_id`` (a bare ``AssessmentResult`` fails the run, logged only as a warning); the hub
    ingests them like webhook events, so the usual deduplication and state machine apply. Also the
    place for a connection's periodic upkeep that finds no events (the Lever plugin keeps its OAuth
    refresh token alive here, and returns ``[]``). A disable or revoke while it runs stops it: its
    next request through ``ctx.http`` raises ``PermanentError``, and nothing it returns is ingested."""


# --------------------------------------------------------------------------- sandboxes (demo and tests)


@hookspec
def register_sandbox(register: Callable[["SandboxSpec"], None]) -> None:
    """Plugins that ship a simulator of their vendor: ``register(SandboxSpec(module=...))`` where
    ``module`` is the importable module that runs it (``python -m <module> --host H --port P``
    prints one line ``<NAME>_SANDBOX_URL=<url>`` once listening) and offers
    ``serve_in_thread(config=None, host=..., port=...) -> (base_url, stop)``.
    ``hub demo`` and the end-to-end tests start every registered sandbox."""


@hookspec
def connect_sandbox(ctx: "PluginContext", sandbox_url: str) -> str:
    """Configure this workspace's integration to talk to the plugin's own sandbox at
    ``sandbox_url`` exactly as an admin would (settings, credentials, webhooks both ways), then
    test the connection and say so with ``ctx.set_status("connected", message)``, as "Test
    connection" would (the bundled plugins and ``hub new-plugin``'s do; without it the demo's
    integration page shows the plugin as not tested yet). Used by ``hub demo`` and the end-to-end
    tests; return a short message."""
