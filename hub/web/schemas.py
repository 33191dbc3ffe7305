"""Marshmallow schemas (marshmallow 4) for the JSON API's input and output, and the attachment
options of the pipeline page's attach form. ``hub.web.api.openapi`` turns these same schemas
into the OpenAPI document's components, so the document cannot drift from what is validated.

An API body is JSON, so its fields take their JSON type only: a boolean ``true`` or ``false``
(``JsonBoolean``), a number as a number (``JsonNumber``, ``JsonInteger``), never the strings a form
posts ("yes", "50"), which marshmallow's own Boolean and Float take. A form's schema keeps those
(``AttachmentOptionsSchema``; the API's variant is ``ApiAttachmentOptionsSchema``)."""

from __future__ import annotations

import re
from datetime import timezone

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from hub.entities import INVITATION_STATUSES
from hub.services import MAX_PASSWORD, MIN_PASSWORD
from hub.store.models import DELIVERY_STATUSES, ROLES, WEBHOOK_OUTCOMES
from hub.web.connection_states import CONNECTION_STATES


# --------------------------------------------------------------------------- input


def json_kind(value) -> str:
    """What a JSON value is, in words, for a message saying which type was expected instead."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a decimal number"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return "another value"


class JsonBoolean(fields.Boolean):
    """A boolean of an API body: a JSON ``true`` or ``false``, nothing else. marshmallow's Boolean
    also takes what a form posts ("yes", "no", "on", "1", 1, "true"...), so that ``{"active": "no"}``
    would deactivate a user: in JSON that is a string, and a script that sends it has a bug to be told of."""

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, bool):
            raise ValidationError(f"Not a JSON boolean: send true or false, not {json_kind(value)}.")
        return value


class JsonNumber(fields.Float):
    """A number of an API body: a JSON number (``60``, ``62.5``), never a string (``"60"``, which
    marshmallow's Float takes, as a form posts it) nor a boolean."""

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValidationError(f"Not a JSON number: send a number such as 60 or 62.5, not {json_kind(value)}.")
        return super()._deserialize(value, attr, data, **kwargs)


class JsonInteger(fields.Integer):
    """A whole number of an API body: a JSON number without a fraction (``5``), never a string
    (``"5"``), a boolean or ``5.5`` (``strict``: not cut to ``5``)."""

    def __init__(self, **kwargs):
        super().__init__(strict=True, **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"Not a whole JSON number: send a number such as 5, not {json_kind(value)}.")
        return super()._deserialize(value, attr, data, **kwargs)


THRESHOLD = {"allow_none": True, "validate": validate.Range(min=0, max=100), "metadata": {
    "description": "Score (percent of the maximum) at or above which the candidate passes."}}
REMIND_ON_REENTRY = {"allow_none": True, "metadata": {
    "description": "Remind the candidate (instead of inviting again) when they re-enter the stage "
                   "(left out or null: the integration's setting)."}}
TAG_RESULTS = {"allow_none": True, "metadata": {
    "description": "Tag the candidate with the result at the source (left out or null: the integration's "
                   "setting)."}}


class AttachmentOptionsSchema(Schema):
    """The attach form's options (the pipeline page): its threshold is the text of the form's input.
    The API loads ``options`` with ``ApiAttachmentOptionsSchema``, which takes JSON types only."""

    pass_threshold = fields.Float(**THRESHOLD)
    move_to_stage_on_thumbs_up = fields.String(allow_none=True, metadata={
        "description": "Stage id the candidate is moved to on a thumbs up."})
    archive_reason_on_thumbs_down = fields.String(allow_none=True, metadata={
        "description": "Archive reason id used to archive the candidate on a thumbs down."})
    remind_on_reentry = fields.Boolean(**REMIND_ON_REENTRY)
    tag_results = fields.Boolean(**TAG_RESULTS)


class ApiAttachmentOptionsSchema(AttachmentOptionsSchema):
    """An attachment's options. Each takes its JSON type: pass_threshold a number, remind_on_reentry
    and tag_results true or false (a string such as "50" or "yes" is refused)."""

    # the attach form's fields, of JSON types; the OpenAPI document names it AttachmentOptions
    pass_threshold = JsonNumber(**THRESHOLD)
    remind_on_reentry = JsonBoolean(**REMIND_ON_REENTRY)
    tag_results = JsonBoolean(**TAG_RESULTS)


class AttachmentInSchema(Schema):
    posting_id = fields.String(required=True, validate=validate.Length(min=1))
    stage_id = fields.String(required=True, validate=validate.Length(min=1))
    provider = fields.String(required=True, validate=validate.Length(min=1),
                             metadata={"description": "The assessment plugin's name, e.g. canditech."})
    assessment_id = fields.String(required=True, validate=validate.Length(min=1))
    options = fields.Nested(ApiAttachmentOptionsSchema, load_default=dict)


class UserCreateSchema(Schema):
    email = fields.Email(required=True)
    role = fields.String(required=True, validate=validate.OneOf(ROLES))
    name = fields.String(load_default="", validate=validate.Length(max=200))
    password = fields.String(load_default=None, allow_none=True,  # the one rule (hub.services.validate_password)
                             validate=validate.Length(min=MIN_PASSWORD, max=MAX_PASSWORD),
                             metadata={"description": "Omit to have one generated (returned once)."})


class UserPatchSchema(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    active = JsonBoolean()

    @validates_schema
    def _something(self, data, **kwargs):
        if not data:
            raise ValidationError("give role and/or active", "_schema")


class EmptySchema(Schema):
    """Action endpoints take no body (or an empty JSON object)."""


class BackfillRunSchema(Schema):
    """Invite the candidates already in the attachment's stage (no body, or an empty object,
    invites whoever is there now)."""

    expected = JsonInteger(validate=validate.Range(min=0), metadata={
        "description": "How many candidates to invite you confirmed (to_invite of GET .../backfill). If "
                       "more are to invite now (the stage filled since), nothing is queued and the answer is 409 "
                       "(stage_changed); fewer (a second call, a candidate invited meanwhile) is no error. Left "
                       "out: not checked."})


# The longest search or filter text: more is no name, email or action anyone types, and a pattern
# that long could exceed the database's LIKE limit (SQLite refuses patterns over 50,000 bytes).
MAX_FILTER_LENGTH = 200


class QueryInteger(fields.Integer):
    """A whole number in a query string: ASCII digits only, with an optional minus sign. Python's
    ``int`` also takes the digits of other scripts (``page=%D9%A3``, an Arabic-Indic 3; a fullwidth
    1), spaces around them, ``+`` and ``_`` between digits: none is a page number anyone means."""

    def _validated(self, value):
        if isinstance(value, str) and not re.fullmatch(r"-?[0-9]+", value):
            raise self.make_error("invalid")
        return super()._validated(value)


class NotBlank(validate.Regexp):
    """A text that is not only spaces (its emptiness is ``validate.Length``'s to refuse, in its own
    words); the OpenAPI document shows it as the pattern ``\\S`` (a JSON Schema pattern is searched
    for anywhere in the value, as this one is)."""

    def __init__(self, error: str):
        super().__init__(r"\S", error=error)

    def __call__(self, value: str) -> str:
        if value and self.regex.search(value) is None:
            raise ValidationError(self._format_error(value))
        return value


class QueryTime(fields.AwareDateTime):
    """A moment in a query string: ISO 8601 with its time zone (``2026-12-01T09:00:00Z``,
    ``...+01:00``), loaded as UTC. A ``+`` sent unencoded arrives as a space (``application/
    x-www-form-urlencoded``), so a space before the offset is read as the ``+`` it was: the
    ``updated_at`` the API answers can be sent back as it is. A moment whose UTC falls outside
    years 1-9999 is refused, not an overflow."""

    default_error_messages = {
        "invalid": "Not a date and time: give ISO 8601 with a time zone, e.g. 2026-12-01T09:00:00Z or "
                   "2026-12-01T10:00:00+01:00 (in a query string, + as %2B).",
        "invalid_awareness": "Give the time zone too: 2026-12-01T09:00:00Z for UTC, or an offset such as +01:00.",
        "range": "Out of range: give a moment between the years 1 and 9999 (UTC).",
    }

    def __init__(self, **kwargs):
        super().__init__(format="iso", **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = value.strip().upper()  # RFC 3339 allows a lowercase t and z
            if "T" in value:
                value = re.sub(r" ([0-9]{2}(:?[0-9]{2})?)$", r"+\1", value)
        moment = super()._deserialize(value, attr, data, **kwargs)
        try:
            return moment.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise self.make_error("range") from None


MAX_ROW_ID = 2**63 - 1  # the largest id a row of the hub's may have (a 64-bit integer column)


class PageQuerySchema(Schema):
    page = QueryInteger(load_default=1, validate=validate.Range(min=1, max=1_000_000), metadata={
        "description": "The page, from 1; a page past the last answers no items."})
    per_page = QueryInteger(load_default=25, validate=validate.Range(min=1, max=200), metadata={
        "description": "Rows per page. Rows come newest first."})
    before_id = QueryInteger(validate=validate.Range(min=1, max=MAX_ROW_ID), metadata={
        "description": "Only the rows older than this one (ids below it): send the id of the last row you "
                       "read to read on. A walk this way sees each row once, even while rows arrive or "
                       "leave the filter (with page, rows shift between pages); total and pages count the "
                       "rows below it."})


class InvitationQuerySchema(PageQuerySchema):
    status = fields.String(validate=validate.OneOf(INVITATION_STATUSES))
    assessment = fields.String(validate=validate.Regexp(
        r"^[^:]+:.+$", error="give the provider and the assessment's id as provider:assessment_id, e.g. "
                             "canditech:asmt-python"), metadata={"description": "provider:assessment_id"})
    posting = fields.String(validate=[
        validate.Length(min=1, max=MAX_FILTER_LENGTH),
        NotBlank("Give a posting's id (GET /api/v1/postings lists them), not only spaces.")], metadata={
        "description": "A posting's id at the source (posting_id), exactly: the invitations for it."})
    q = fields.String(validate=validate.Length(max=MAX_FILTER_LENGTH),
                      metadata={"description": "search in candidate name and email"})
    opportunity = fields.String(validate=[
        validate.Length(min=1, max=MAX_FILTER_LENGTH),
        NotBlank("Give an opportunity's id (a candidate's opportunity_id at the source), not only spaces.")],
        metadata={
        "description": "The candidate's opportunity id at the source (opportunity_id), exactly: their invitations, "
                       "one per attachment they were invited for."})
    updated_since = QueryTime(metadata={
        "description": "Only the invitations changed at or after this moment (their updated_at), ISO 8601 with a "
                       "time zone: 2026-12-01T09:00:00Z. For a sync, send the largest updated_at you have read, "
                       "less a minute and less how long your last read took (docs/api.md, Lists, paging and "
                       "filters)."})


class ActivityQuerySchema(PageQuerySchema):
    plugin = fields.String(validate=validate.Length(max=MAX_FILTER_LENGTH))
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    about = fields.String(validate=[
        validate.Length(min=1, max=MAX_FILTER_LENGTH),
        NotBlank("Give an opportunity's id, its page's address at the ATS, or an event's id, not only spaces.")],
        metadata={
        "description": "Events about a candidate: an opportunity id of the source (or the address of its page at "
                       "the ATS: the address the ATS gave for one candidate the hub invited, else its last path segment, "
                       "which at Lever is the id), with the events about its invitations; or "
                       "the event a sender sent under this id."})


class AuditQuerySchema(PageQuerySchema):
    action = fields.String(validate=validate.Length(max=MAX_FILTER_LENGTH),
                           metadata={"description": "action prefix, e.g. integration."})
    user = fields.String(validate=validate.Regexp(r"^(none|[1-9][0-9]{0,17})$", error=(
        "Give a user's id (a whole number, as GET /api/v1/users lists them), or none for the entries no "
        "signed-in user made (the command line, the hub itself).")), metadata={
        "description": "Only the entries this user made (their id), or none: those made by no signed-in user."})


class WebhookLogQuerySchema(PageQuerySchema):
    outcome = fields.String(validate=validate.OneOf(WEBHOOK_OUTCOMES), metadata={
        "description": "Only requests with this outcome (rejected: refused, with the reason in message)."})


class StagesQuerySchema(Schema):
    posting_id = fields.String(load_default=None, metadata={
        "description": "A posting's id: its stages, where the source has stages per posting (Lever's are the "
                       "account's, the same for every posting)."})


# --------------------------------------------------------------------------- output


class SecretStateSchema(Schema):
    set = fields.Boolean(required=True)
    set_at = fields.String(allow_none=True)
    set_by = fields.String(allow_none=True)


class RegisteredWebhookSchema(Schema):
    event = fields.String(required=True)
    label = fields.String()
    url = fields.String(metadata={"description": "The URL it was registered for."})
    token_stored = fields.Boolean(metadata={"description": "Its signature token is stored (never returned)."})


class ConnectionStateSchema(Schema):
    credentials_present = fields.Boolean(required=True)
    credentials_help = fields.String(metadata={"description": "What to enter when credentials are missing."})
    oauth_available = fields.Boolean(allow_none=True)
    oauth_chosen = fields.Boolean(allow_none=True)
    webhooks = fields.List(fields.Nested(RegisteredWebhookSchema), metadata={
        "description": "Webhooks the plugin registered at the vendor for this connection."})
    webhooks_missing = fields.List(fields.String(), metadata={
        "description": "Events with no webhook registered for the current URL yet."})
    warnings = fields.List(fields.String(), metadata={
        "description": "What the admin should fix about the connection (e.g. permissions the vendor did not grant)."})


class IntegrationSchema(Schema):
    plugin = fields.String(required=True)
    title = fields.String(required=True)
    kind = fields.String(required=True, validate=validate.OneOf(("source", "assessment")))
    version = fields.String()
    description = fields.String()
    enabled = fields.Boolean(required=True)
    active_source = fields.Boolean(required=True, metadata={"description": (
        "Whether the hub reads postings, stages and candidates from this integration: true for the "
        "workspace's enabled ATS (a source); when a workspace kept from before the one-ATS rule has "
        "several enabled, for the first set up only, and false for the others. Always false for a "
        "disabled ATS and for an assessment provider.")})
    status = fields.String(required=True, metadata={
        "description": "The connection's state: " + "; ".join(
            f"{code} ({label}: {meaning[:1].lower()}{meaning[1:].rstrip('.')})"
            for code, (label, meaning) in CONNECTION_STATES.items()) + ". A plugin may set a state of its own "
            "(ctx.set_status), so expect other codes too."})
    status_message = fields.String(allow_none=True)
    supports_oauth = fields.Boolean()
    supports_webhook_setup = fields.Boolean()
    hooks = fields.List(fields.String())
    webhook_url = fields.String(allow_none=True)
    verified_at = fields.DateTime(allow_none=True)
    last_webhook_at = fields.DateTime(allow_none=True)
    settings = fields.Dict(metadata={"description": "Non-secret settings; secrets are never returned."})
    secrets = fields.Dict(keys=fields.String(), values=fields.Nested(SecretStateSchema))
    connection = fields.Nested(ConnectionStateSchema, metadata={
        "description": "What the plugin knows of its connection without calling the vendor."})


class AttachmentSchema(Schema):
    id = fields.Integer(required=True)
    posting_id = fields.String(required=True)
    posting_name = fields.String()
    stage_id = fields.String(required=True)
    stage_name = fields.String()
    provider = fields.String(required=True)
    assessment_id = fields.String(required=True)
    assessment_name = fields.String()
    options = fields.Dict()
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class TimelineSchema(Schema):
    """One entry of an invitation's timeline, as recorded (ids are data here, not replaced by names)."""

    at = fields.DateTime()
    kind = fields.String()
    source = fields.String()
    detail = fields.String()
    refs = fields.Dict(keys=fields.String(), values=fields.String(), allow_none=True, metadata={"description": (
        "The ids the entry is about, by key: stage (a stage id of the source ATS), archive_reason (an archive "
        "reason id of the source ATS), ats_note (a note written to the ATS). The candidate page shows detail "
        "with {stage} and {archive_reason} replaced by names. Null when the entry names no id, and for entries "
        "written before refs existed (their ids, if any, are in detail).")})


class InvitationSchema(Schema):
    id = fields.Integer(required=True)
    attachment_id = fields.Integer()
    opportunity_id = fields.String()
    posting_id = fields.String(allow_none=True)
    posting_name = fields.String(allow_none=True)
    candidate_name = fields.String(allow_none=True)
    candidate_email = fields.String(allow_none=True)
    profile_url = fields.String(allow_none=True)
    provider = fields.String()
    assessment_id = fields.String()
    assessment_name = fields.String()
    status = fields.String(validate=validate.OneOf(INVITATION_STATUSES))
    round = fields.Integer()
    score = fields.Float(allow_none=True)
    max_score = fields.Float(allow_none=True)
    pass_threshold = fields.Float(allow_none=True, metadata={
        "description": "The attachment's pass threshold (percent of max_score) when the result was recorded."})
    report_url = fields.String(allow_none=True)
    invite_url = fields.String(allow_none=True, metadata={
        "description": "The candidate's link to the assessment, while the invitation is open (pending, invited or "
                       "started) and the provider gave an http(s) one; else null."})
    verdict = fields.String(allow_none=True)
    failure_reason = fields.String(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()
    invited_at = fields.DateTime(allow_none=True)
    started_at = fields.DateTime(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    verdict_at = fields.DateTime(allow_none=True)


class InvitationDetailSchema(InvitationSchema):
    timeline = fields.List(fields.Nested(TimelineSchema))


BULK_REPLAY_LIMIT = 500  # deliveries one bulk replay request replays at most (a request must end in time)


class BulkReplayInSchema(Schema):
    """Replay every dead delivery, or every one cancelled by a disable or revoke of a plugin that is
    enabled again (as Activity's "Replay all" does)."""

    status = fields.String(required=True, validate=validate.OneOf(("dead", "cancelled")), metadata={
        "description": "dead: every dead delivery; cancelled: every one cancelled by a disable or revoke of "
                       "its integration, which is enabled now"})
    plugin = fields.String(validate=validate.Length(min=1, max=100), metadata={
        "description": "Only the deliveries Activity's plugin filter shows: delivered to this plugin, or of an "
                       "event from it"})
    limit = JsonInteger(load_default=BULK_REPLAY_LIMIT,
                           validate=validate.Range(min=1, max=BULK_REPLAY_LIMIT), metadata={
        "description": "Replay at most this many; the answer's remaining counts the others (call again to go on)"})


class SkippedDeliverySchema(Schema):
    id = fields.Integer(required=True)
    reason = fields.String(required=True)


class BulkReplayResultSchema(Schema):
    status = fields.String(required=True)
    replayed = fields.List(fields.Integer(), required=True, metadata={"description": "ids of the deliveries replayed"})
    skipped = fields.List(fields.Nested(SkippedDeliverySchema), required=True,
                          metadata={"description": "deliveries that could not be replayed, with the reason"})
    remaining = fields.Integer(required=True, metadata={"description": "found but left for the next call (limit)"})


class DeliverySchema(Schema):
    id = fields.Integer(required=True)
    event_id = fields.Integer()
    plugin = fields.String()
    hook = fields.String()
    status = fields.String(validate=validate.OneOf(DELIVERY_STATUSES))
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    next_attempt_at = fields.DateTime(allow_none=True)
    finished_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    updated_at = fields.DateTime()


class EventSchema(Schema):
    id = fields.Integer(required=True)
    source_plugin = fields.String()
    type = fields.String()
    external_id = fields.String()
    subject = fields.String(allow_none=True)
    outcome = fields.String()
    received_at = fields.DateTime()
    payload = fields.Dict(metadata={"description": "Keys naming secrets are redacted."})
    deliveries = fields.List(fields.Nested(DeliverySchema))


class UserSchema(Schema):
    id = fields.Integer(required=True)
    email = fields.String(required=True)
    name = fields.String()
    role = fields.String(validate=validate.OneOf(ROLES))
    role_label = fields.String()
    active = fields.Boolean()
    created_at = fields.DateTime()
    last_login_at = fields.DateTime(allow_none=True)


class UserCreatedSchema(UserSchema):
    generated_password = fields.String(allow_none=True, metadata={
        "description": "Only when no password was given; shown this once."})


class UserPasswordResetSchema(UserSchema):
    generated_password = fields.String(required=True, metadata={
        "description": "The user's new one-time password; shown this once. Their old one stops working and "
                       "they are signed out everywhere."})


class AuditSchema(Schema):
    id = fields.Integer(required=True)
    at = fields.DateTime()
    actor = fields.String()
    action = fields.String()
    target = fields.String()
    detail = fields.Dict()


class WebhookLogEntrySchema(Schema):
    """One request the integration's webhook URL received and what became of it. The body is not
    kept: message says what the request held (event types and their outcomes) or why it was
    refused."""

    id = fields.Integer(required=True)
    received_at = fields.DateTime()
    outcome = fields.String(metadata={"description": "accepted (events stored), duplicate (every event seen "
                                                     "before), ping, ignored (verified, nothing to do) or rejected"})
    status_code = fields.Integer(metadata={"description": "The HTTP status the hub answered."})
    event_count = fields.Integer(metadata={"description": "Events the request carried."})
    message = fields.String()


class PostingSchema(Schema):
    id = fields.String(required=True)
    title = fields.String()
    state = fields.String()
    owner_email = fields.String(allow_none=True)
    hiring_manager_email = fields.String(allow_none=True)
    follower_emails = fields.List(fields.String())
    location = fields.String(metadata={"description": "Where the job is, as the ATS says (empty when it does not)."})
    team = fields.String(metadata={"description": "The team, as the ATS says (empty when it does not)."})


class StageSchema(Schema):
    id = fields.String(required=True)
    name = fields.String()


class AssessmentSchema(Schema):
    provider = fields.String(required=True)
    id = fields.String(required=True)
    name = fields.String()
    duration_minutes = fields.Integer(allow_none=True)
    max_score = fields.Float(allow_none=True)


class ActionResultSchema(Schema):
    message = fields.String(required=True)
    warnings = fields.List(fields.String())
    integration = fields.Nested(IntegrationSchema)


class MeSchema(Schema):
    user = fields.Nested(UserSchema)
    permissions = fields.List(fields.String())
