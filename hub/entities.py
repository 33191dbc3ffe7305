"""The plain data the hub and its plugins exchange: part of the public plugin contract.

Nothing here imports Flask or SQLAlchemy. Every class is a frozen dataclass so a hook cannot
change what another plugin will see. Hub events (``StageChange``, ``AssessmentResult``...)
are what source and assessment plugins turn their vendors' webhooks into; ``to_payload`` /
``event_from_payload`` convert them to and from the JSON stored with each event.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar, Mapping

SOURCE = "source"
ASSESSMENT = "assessment"
PLUGIN_KINDS = (SOURCE, ASSESSMENT)
# The options of an attachment that the workspace's source carries out, when it says it does
# (``IntegrationSpec.attachment_options``): on a thumbs up, move the candidate to a stage; on a
# thumbs down, archive them with a reason; tag the candidate with the result.
SOURCE_ATTACHMENT_OPTIONS = ("move_to_stage_on_thumbs_up", "archive_reason_on_thumbs_down", "tag_results")

# Invitation statuses, in the order an invitation normally moves through them.
PENDING = "pending"  # row created, provider not yet called (or the call's outcome is unknown)
INVITED = "invited"
STARTED = "started"
COMPLETED = "completed"
EXPIRED = "expired"
CANCELLED = "cancelled"
FAILED = "failed"  # never sent: e.g. the candidate has no valid email
INVITATION_STATUSES = (PENDING, INVITED, STARTED, COMPLETED, EXPIRED, CANCELLED, FAILED)
OPEN_STATUSES = (PENDING, INVITED, STARTED)

THUMBS_UP = "thumbs_up"
THUMBS_DOWN = "thumbs_down"
VERDICTS = (THUMBS_UP, THUMBS_DOWN)


@dataclass(frozen=True)
class IntegrationSpec:
    """What a plugin registers about itself through ``register_integration``.

    ``settings_schema`` is a marshmallow ``Schema`` class: it validates the settings form and
    the API body, and drives the generated settings page. Fields whose names are listed in
    ``secret_fields`` are stored encrypted and never shown back.
    """

    kind: str
    title: str
    settings_schema: type | None = None
    secret_fields: tuple[str, ...] = ()
    description: str = ""
    version: str = ""
    supports_oauth: bool = False
    supports_webhook_setup: bool = False
    # Texts for the integration page, each about this plugin only (the hub has generic defaults):
    # ``webhook_help``: the manual steps at the vendor (what to paste where) for the webhook URL;
    # ``verification_help``: how the connection becomes verified (e.g. a vendor's "Verify" button);
    # ``revoke_help``: what revoking undoes at the vendor (what the ``disconnect`` hook does) and
    # what the admin must remove there themselves.
    webhook_help: str = ""
    verification_help: str = ""
    revoke_help: str = ""
    # A source whose pipeline stages are the same for every posting (Lever's are the account's)
    # sets False: the hub then asks ``source_list_stages`` once, with ``posting_id=None``, where it
    # would ask once per posting (the Pipeline page checks the stage of every attachment it shows).
    stages_per_posting: bool = True
    # An assessment provider that acts only on its own invitations' news sets True: the hub then
    # delivers it ``on_invitation_status``, ``on_assessment_completed`` and ``on_verdict`` only for
    # the invitations it provides, not for every provider's (each enabled provider would otherwise
    # get a delivery, a queue task and a worker's call for every other provider's invitation
    # changing status). Sources hear of every invitation whatever they say.
    own_invitations_only: bool = False
    # A source names the attachment options it acts on, of ``SOURCE_ATTACHMENT_OPTIONS``: the
    # Pipeline's attach form offers only these, and the API refuses the others for its
    # attachments (an option no plugin acts on would be a promise nobody keeps). None, the
    # default, is a source that does not say: every option is offered, as before the field existed.
    # ``hub new-plugin`` generates ``()``; add each name once the plugin's ``on_verdict`` (moves,
    # archives) or ``on_assessment_completed`` (tags) acts on it. Assessment providers leave it None.
    attachment_options: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if self.kind not in PLUGIN_KINDS:
            raise ValueError(f"kind must be one of {PLUGIN_KINDS}, not {self.kind!r}")
        if self.attachment_options is not None:
            unknown = sorted(set(self.attachment_options) - set(SOURCE_ATTACHMENT_OPTIONS))
            if isinstance(self.attachment_options, str) or unknown:
                raise ValueError(f"attachment_options must be a tuple of {', '.join(SOURCE_ATTACHMENT_OPTIONS)}, "
                                 f"not {self.attachment_options!r}")


@dataclass(frozen=True)
class RegisteredWebhook:
    """A webhook the plugin registered at the vendor for this connection (``connection_state``)."""

    event: str
    label: str = ""
    url: str = ""  # the URL it was registered for; the page compares it with the current one
    token_stored: bool = True  # its signature token is stored (never shown)


@dataclass(frozen=True)
class ConnectionState:
    """What the plugin knows about its connection without calling the vendor (``connection_state``).

    ``None`` means "the plugin does not say": the hub then uses its defaults (credentials present
    when any secret is stored; OAuth available and chosen when the plugin implements it).
    """

    credentials_present: bool | None = None
    credentials_help: str = ""  # the next step when credentials are missing, e.g. "enter the API key"
    oauth_available: bool | None = None  # OAuth can work on this server (e.g. its client id is configured)
    oauth_unavailable_reason: str = ""
    oauth_chosen: bool | None = None  # the settings choose OAuth rather than an API key
    webhooks: tuple[RegisteredWebhook, ...] = ()  # registered through the vendor's API
    webhooks_missing: tuple[str, ...] = ()  # labels of events that have no registered webhook yet
    manual_secret_field: str | None = None  # the setting only needed when webhooks are set up by hand
    # what the admin should fix about a working connection (e.g. a permission the vendor did not
    # grant), each a sentence shown as a warning on the integration's page until it no longer applies
    warnings: tuple[str, ...] = ()
    # stored secrets the chosen way of authenticating does not use, kept for switching back (an
    # API key while OAuth is chosen, the OAuth tokens while an API key is): the integration's page
    # says so beside them, and the revoke confirmation that they are forgotten too
    unused_secrets: tuple[str, ...] = ()


@dataclass(frozen=True)
class SandboxSpec:
    """A vendor simulator a plugin ships (see the ``register_sandbox`` hook)."""

    module: str
    title: str = ""


@dataclass(frozen=True)
class Stage:
    id: str
    name: str


@dataclass(frozen=True)
class ArchiveReason:
    """A reason the ATS offers for archiving a candidate. ``type``: ``"hired"`` for a reason meant
    for hired candidates (the hub never archives a rejected candidate with one), ``"non-hired"``
    for the others, ``""`` when the ATS does not say (taken as not for hired candidates)."""

    id: str
    name: str
    type: str = ""

    @property
    def for_hired(self) -> bool:
        return self.type.strip().lower() == "hired"


@dataclass(frozen=True)
class Posting:
    """A job posting of the source. ``state`` is the ATS's word ("published", "internal", "closed",
    "draft"...); ``location`` and ``team``, when the ATS has them, tell apart postings of the same
    title in the hub's lists."""

    id: str
    title: str
    state: str = ""
    owner_email: str | None = None
    hiring_manager_email: str | None = None
    follower_emails: tuple[str, ...] = ()
    location: str = ""
    team: str = ""

    def member_emails(self) -> set[str]:
        """Lower-cased emails of everyone who is on this posting (owner, hiring manager, followers)."""
        emails = {self.owner_email, self.hiring_manager_email, *self.follower_emails}
        return {e.lower() for e in emails if e}


@dataclass(frozen=True)
class SourceUser:
    id: str
    name: str
    email: str
    access_role: str = ""


@dataclass(frozen=True)
class Candidate:
    """A candidate as the source (ATS) knows them *now*: re-read, never taken from a webhook body."""

    opportunity_id: str
    name: str
    email: str | None
    posting_id: str | None
    posting_title: str | None = None
    stage_id: str | None = None
    archived: bool = False
    profile_url: str | None = None

    @property
    def first_name(self) -> str:
        return self.name.split(" ", 1)[0] if self.name else ""

    @property
    def last_name(self) -> str:
        parts = self.name.split(" ", 1) if self.name else []
        return parts[1] if len(parts) > 1 else ""


@dataclass(frozen=True)
class StageCandidate:
    """A candidate in a stage, as ``source_list_stage_candidates`` may list them: the opportunity id,
    and for the admin who decides on a backfill, the candidate's name and their page in the ATS
    (both optional: shown, never trusted; the candidate is re-read before an invitation)."""

    opportunity_id: str
    name: str = ""
    profile_url: str | None = None


@dataclass(frozen=True)
class Assessment:
    id: str
    name: str
    duration_minutes: int | None = None
    max_score: float | None = None


@dataclass(frozen=True)
class Attachment:
    """An assessment attached to a (posting, stage) of the source, with its options."""

    id: int
    posting_id: str
    posting_name: str
    stage_id: str
    stage_name: str
    provider: str
    assessment_id: str
    assessment_name: str
    options: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Invitation:
    """The hub's record of one candidate invited to one attachment's assessment."""

    id: int
    attachment_id: int
    opportunity_id: str
    candidate_name: str | None
    candidate_email: str | None
    provider: str
    assessment_id: str
    assessment_name: str
    status: str
    provider_invitation_id: str | None = None
    invite_url: str | None = None
    score: float | None = None
    max_score: float | None = None
    report_url: str | None = None
    verdict: str | None = None
    failure_reason: str | None = None
    created_at: datetime | None = None
    # the attachment's ``pass_threshold`` (percent of ``max_score``) when the result was recorded;
    # None before a result, or when the attachment had none then
    pass_threshold: float | None = None
    completed_at: datetime | None = None
    verdict_at: datetime | None = None
    round: int = 1
    reference_token: str | None = None

    @property
    def external_reference(self) -> str:
        """The id the provider stores with the invitation so the hub can find it again:
        ``hub-inv-<id>-<token>``, and ``-r<round>`` after a re-invite (a new round, so a new
        reference). The token is random per invitation, so the reference is unique beyond this
        database: two hubs sharing a vendor account (staging and production), or a hub restored
        from a backup, issue the same ids but never the same reference. (Invitations made before
        the token existed have none: ``hub-inv-<id>``.) ``parse_external_reference`` reverses it.
        """
        token = f"-{self.reference_token}" if self.reference_token else ""
        suffix = f"-r{self.round}" if self.round > 1 else ""
        return f"hub-inv-{self.id}{token}{suffix}"


def parse_external_reference(reference: str) -> int | None:
    """The hub invitation id inside an external reference made by ``Invitation.external_reference``.

    Only the id: the invitation it names may be another hub's, or another round's. Compare the
    whole reference with that invitation's ``external_reference`` before acting on it."""
    if not isinstance(reference, str) or not reference.startswith("hub-inv-"):
        return None
    head = reference[len("hub-inv-"):].split("-", 1)[0]
    return int(head) if head.isascii() and head.isdigit() else None  # not '²': int() refuses it


# --------------------------------------------------------------------------- hub events


@dataclass(frozen=True)
class HubEvent:
    """Base of every event that flows through the engine. ``type`` names the hook it fires."""

    type: ClassVar[str] = ""
    hook: ClassVar[str] = ""


@dataclass(frozen=True)
class StageChange(HubEvent):
    """The candidate of ``opportunity_id`` entered stage ``to_stage_id``. An empty ``to_stage_id``
    means the source announced that the candidate entered a stage without naming it (Lever's
    ``applicationCreated``): it is the candidate's current stage, as the provider's re-read of the
    candidate finds it (``hub.kit.provider.candidate_in_stage`` does this). ``attachment_id`` is set
    only when the hub itself made the change up for one attachment (an admin's backfill of the
    candidates already in its stage): act for that attachment alone, not every one of the stage."""

    type: ClassVar[str] = "stage_change"
    hook: ClassVar[str] = "on_stage_change"
    opportunity_id: str = ""
    to_stage_id: str = ""
    from_stage_id: str | None = None
    occurred_at: datetime | None = None
    attachment_id: int | None = None


@dataclass(frozen=True)
class ArchiveChange(HubEvent):
    type: ClassVar[str] = "archive_change"
    hook: ClassVar[str] = "on_archive_change"
    opportunity_id: str = ""
    archived: bool = True
    reason: str | None = None
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class CandidateDeleted(HubEvent):
    type: ClassVar[str] = "candidate_deleted"
    hook: ClassVar[str] = "on_candidate_deleted"
    opportunity_id: str = ""
    occurred_at: datetime | None = None


@dataclass(frozen=True)
class CandidateHired(HubEvent):
    type: ClassVar[str] = "hired"
    hook: ClassVar[str] = "on_hired"
    opportunity_id: str = ""
    occurred_at: datetime | None = None


# ``round`` on a provider's invitation event (``InvitationProgress``, ``AssessmentResult``,
# ``Verdict``): the invitation's round the provider found the news to be about (the ``round`` of the
# invitation whose whole ``external_reference`` it matched). The hub applies the event only while the
# invitation is still in that round: a re-invite landing between the plugin's check and the ingest
# makes it an earlier round's news, dropped (ingest outcome ``earlier_round``). None: not checked.


def _check_round(event) -> None:
    value = event.round
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise ValueError(f"{type(event).__name__}.round must be a whole number of 1 or more, or None, not {value!r}")


@dataclass(frozen=True)
class InvitationProgress(HubEvent):
    """An assessment provider's news about an invitation: started, expired, cancelled or failed.

    ``invitation_id`` is the hub's id (recovered from the external reference).
    """

    type: ClassVar[str] = "invitation_progress"
    hook: ClassVar[str] = "on_invitation_status"
    invitation_id: int = 0
    status: str = ""
    reason: str | None = None
    occurred_at: datetime | None = None
    by: str | None = None  # who made the change: a plugin's name, an admin's email, or the provider
    round: int | None = None  # the round it is about; see _check_round

    def __post_init__(self) -> None:
        _check_round(self)


@dataclass(frozen=True)
class AssessmentResult(HubEvent):
    type: ClassVar[str] = "assessment_completed"
    hook: ClassVar[str] = "on_assessment_completed"
    invitation_id: int = 0
    score: float | None = None
    max_score: float | None = None
    report_url: str | None = None
    completed_at: datetime | None = None
    round: int | None = None  # the round it is about; see _check_round

    def __post_init__(self) -> None:
        """A plugin's wrong value is refused here, naming the field, rather than by the database
        (a text score failed every attempt to store it, with a traceback naming neither)."""
        _check_round(self)
        for name in ("score", "max_score"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value)):
                raise ValueError(f"AssessmentResult.{name} must be a finite number or None, not {value!r}")
        if self.max_score is not None and self.max_score <= 0:
            raise ValueError(f"AssessmentResult.max_score must be above 0, not {self.max_score!r}")
        if self.report_url is not None and not isinstance(self.report_url, str):
            raise ValueError(f"AssessmentResult.report_url must be a string or None, not {self.report_url!r}")
        if self.completed_at is not None and not isinstance(self.completed_at, datetime):
            raise ValueError(f"AssessmentResult.completed_at must be a datetime or None, not {self.completed_at!r}")


@dataclass(frozen=True)
class Verdict(HubEvent):
    type: ClassVar[str] = "verdict"
    hook: ClassVar[str] = "on_verdict"
    invitation_id: int = 0
    verdict: str = ""
    decided_at: datetime | None = None
    round: int | None = None  # the round it is about; see _check_round

    def __post_init__(self) -> None:
        _check_round(self)
        if self.verdict not in VERDICTS:
            raise ValueError(f"verdict must be one of {VERDICTS}, not {self.verdict!r}")


@dataclass(frozen=True)
class ReinviteRequested(HubEvent):
    type: ClassVar[str] = "reinvite_requested"
    hook: ClassVar[str] = "on_reinvite_requested"
    invitation_id: int = 0
    requested_by: str | None = None


EVENT_TYPES: dict[str, type[HubEvent]] = {
    cls.type: cls
    for cls in (
        StageChange,
        ArchiveChange,
        CandidateDeleted,
        CandidateHired,
        InvitationProgress,
        AssessmentResult,
        Verdict,
        ReinviteRequested,
    )
}


@dataclass(frozen=True)
class InboundEvent:
    """One event a plugin parsed out of a webhook (or found by reconciliation).

    ``external_id`` identifies the event at its sender and is unique per source plugin: the
    same id arriving again is a duplicate. It must be a non-empty string (the plugin contract,
    ``docs/plugin-guide.md``): an event with no id could be neither deduplicated nor stored, so
    building one raises ``ValueError``; a plugin refuses a body without a usable id with
    ``WebhookRejected`` (a 4xx) instead. Ids are compared on their first 300 characters.
    ``alias_ids`` are further ids that must also count as "seen" (Lever: the delivery ``token``
    as well as the event ``id``); empty ones are ignored.
    """

    external_id: str
    event: HubEvent
    alias_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.external_id, str) or not self.external_id:
            raise ValueError(f"InboundEvent.external_id must be a non-empty string (the plugin contract: the id "
                             f"of the event at its sender), not {self.external_id!r}")


@dataclass(frozen=True)
class WebhookRequest:
    """What the hub hands a plugin to verify: the raw body, the headers, and when it arrived."""

    body: bytes
    headers: Mapping[str, str]
    received_at: datetime
    remote_addr: str | None = None

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        for key, value in self.headers.items():
            if key.lower() == lowered:
                return value
        return None


@dataclass(frozen=True)
class WebhookResult:
    """A verified webhook: the events in it, and whether it was a connection test ("ping").

    ``seen_ids``: ids of this request the hub must remember although it carries no event (a
    ping, an event the hub does not use), as it remembers every event's ids: a later request
    naming one of them is a duplicate. A sender that signs a nonce but not the body (Lever
    signs ``token + triggeredAt``) needs this, or its signed ping could be replayed with another
    body as a new event."""

    events: tuple[InboundEvent, ...] = ()
    ping: bool = False
    note: str = ""
    seen_ids: tuple[str, ...] = ()

    def __post_init__(self):
        object.__setattr__(self, "seen_ids", checked_seen_ids(self.seen_ids))
        if self.seen_ids and self.events:
            raise ValueError("seen_ids are for a result without events; give an event's other ids as its alias_ids")


def checked_seen_ids(ids: Any) -> tuple[str, ...]:
    """``seen_ids`` as a tuple of non-empty strings; one string is taken as one id (not as its
    characters); ``ValueError`` otherwise (a plugin bug, answered 500 so the sender retries)."""
    if isinstance(ids, str):
        ids = (ids,)
    ids = tuple(ids)
    if not all(isinstance(i, str) and i for i in ids):
        raise ValueError(f"seen_ids must be non-empty strings, not {ids!r:.200}")
    return ids


# --------------------------------------------------------------------------- (de)serialising


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, tuple):
        return list(value)
    return value


def to_payload(event: HubEvent) -> dict[str, Any]:
    """The JSON-ready dict stored with an event."""
    return {f.name: _to_jsonable(getattr(event, f.name)) for f in dataclasses.fields(event)}


def event_from_payload(event_type: str, payload: Mapping[str, Any]) -> HubEvent:
    """Rebuild a hub event from its stored type and payload (the inverse of ``to_payload``)."""
    cls = EVENT_TYPES[event_type]
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in payload:
            continue
        value = payload[f.name]
        if value is not None and f.name.endswith("_at") and isinstance(value, str):
            value = datetime.fromisoformat(value)
        kwargs[f.name] = value
    return cls(**kwargs)
