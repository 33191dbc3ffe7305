"""The OpenAPI 3.1 document of ``/api/v1``, served at ``/api/v1/openapi.json``.

Paths are written by hand below (one ``_op`` per endpoint); the component schemas are generated
from the marshmallow schemas in ``hub.web.schemas`` that validate and serialise the same data, so
the document and the API agree. A test compares these paths with the app's URL map.
"""

from __future__ import annotations

from typing import Any

from flask import jsonify
from marshmallow import Schema, fields, validate

from hub import __version__
from hub.web import schemas as s
from hub.web.api import bp
from hub.web.api.pipeline import BackfillResultSchema, BackfillSchema, StageCandidateSchema

INPUT_SCHEMAS = (s.ApiAttachmentOptionsSchema, s.AttachmentInSchema, s.UserCreateSchema, s.UserPatchSchema,
                 s.EmptySchema, s.BackfillRunSchema, s.BulkReplayInSchema)
OUTPUT_SCHEMAS = (s.SecretStateSchema, s.RegisteredWebhookSchema, s.ConnectionStateSchema, s.IntegrationSchema, s.AttachmentSchema, s.TimelineSchema,
                  s.InvitationSchema, s.InvitationDetailSchema, s.DeliverySchema, s.EventSchema, s.UserSchema,
                  s.UserCreatedSchema, s.UserPasswordResetSchema, s.AuditSchema, s.PostingSchema, s.StageSchema, s.AssessmentSchema,
                  s.ActionResultSchema, s.MeSchema, s.WebhookLogEntrySchema, BackfillSchema, BackfillResultSchema, StageCandidateSchema, s.SkippedDeliverySchema,
                  s.BulkReplayResultSchema)


# schemas whose component is not named after their class: the API's attachment options (of JSON
# types; the attach form has its own, ``AttachmentOptionsSchema``) are the document's AttachmentOptions
COMPONENT_NAMES = {s.ApiAttachmentOptionsSchema: "AttachmentOptions"}


def component_name(schema: Any) -> str:
    cls = schema if isinstance(schema, type) else type(schema)
    if cls in COMPONENT_NAMES:
        return COMPONENT_NAMES[cls]
    name = cls.__name__
    return name[:-len("Schema")] if name.endswith("Schema") and name != "Schema" else name


def ref(schema: Any) -> dict:
    return {"$ref": f"#/components/schemas/{component_name(schema)}"}


def field_schema(f: fields.Field) -> dict:
    """JSON Schema (2020-12, as OpenAPI 3.1 uses) for one marshmallow field."""
    if isinstance(f, fields.Nested):
        out: dict[str, Any] = ref(f.nested)
    elif isinstance(f, fields.List):
        out = {"type": "array", "items": field_schema(f.inner)}
    elif isinstance(f, fields.Dict):
        out = {"type": "object"}
        if f.value_field is not None:
            out["additionalProperties"] = field_schema(f.value_field)
    elif isinstance(f, fields.Boolean):
        out = {"type": "boolean"}
    elif isinstance(f, fields.Integer):
        out = {"type": "integer"}
    elif isinstance(f, fields.Number):
        out = {"type": "number"}
    elif isinstance(f, fields.DateTime):
        out = {"type": "string", "format": "date-time"}
    elif isinstance(f, fields.Email):
        out = {"type": "string", "format": "email"}
    elif isinstance(f, fields.Url):
        out = {"type": "string", "format": "uri"}
    elif isinstance(f, fields.String):
        out = {"type": "string"}
    else:
        out = {}
    for v in f.validators:
        if isinstance(v, validate.OneOf):
            out["enum"] = list(v.choices)
        elif isinstance(v, validate.Range):
            if v.min is not None:
                out["minimum"] = v.min
            if v.max is not None:
                out["maximum"] = v.max
        elif isinstance(v, validate.Regexp):
            out["pattern"] = v.regex.pattern
        elif isinstance(v, validate.Length):
            if v.min is not None:
                out["minLength"] = v.min
            if v.max is not None:
                out["maxLength"] = v.max
    if f.allow_none:
        if "$ref" in out:
            out = {"anyOf": [out, {"type": "null"}]}
        elif "type" in out:
            out["type"] = [out["type"], "null"]
            if "enum" in out:
                out["enum"] = [*out["enum"], None]
    description = f.metadata.get("description")
    if description:
        out["description"] = description
    return out


def schema_component(cls: type[Schema], closed: bool, answer: bool = False) -> dict:
    """``closed``: an input, whose unknown fields are refused. ``answer``: an output, every field of
    which is always in the answer (null where ``allow_none``), so every field is required."""
    schema = cls()
    properties = {}
    required = []
    for name, f in schema.fields.items():
        key = f.data_key or name
        properties[key] = field_schema(f)
        if f.required or answer:
            required.append(key)
    out: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if closed:
        out["additionalProperties"] = False  # unknown fields are refused with 422
    if cls.__doc__:
        out["description"] = " ".join(cls.__doc__.split())
    return out


def _page_of(item: Any) -> dict:
    return {"type": "object", "required": ["items", "page", "per_page", "total", "pages"], "properties": {
        "items": {"type": "array", "items": ref(item)}, "page": {"type": "integer"},
        "per_page": {"type": "integer"}, "total": {"type": "integer"}, "pages": {"type": "integer"}}}


def _list_of(item: Any) -> dict:
    return {"type": "object", "required": ["items"], "properties": {"items": {"type": "array", "items": ref(item)}}}


def components() -> dict:
    out = {component_name(c): schema_component(c, True) for c in INPUT_SCHEMAS}
    out.update({component_name(c): schema_component(c, False, answer=True) for c in OUTPUT_SCHEMAS})
    # PUT /attachments/{id} takes any of the creation's fields: those left out keep their value
    out["AttachmentUpdate"] = {k: v for k, v in out["AttachmentIn"].items() if k != "required"}
    out["AttachmentUpdate"]["description"] = ("Any of AttachmentIn's fields: those left out keep their value, "
                                              "and so do options left out of options (null clears one).")
    out["Error"] = {
        "type": "object", "required": ["error"], "description": "Every error answer has this envelope.",
        "properties": {"error": {"type": "object", "required": ["code", "message"], "properties": {
            "code": {"type": "string", "examples": ["validation_failed", "forbidden", "not_found"]},
            "message": {"type": "string"},
            "fields": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                       "description": "Validation errors per field (dotted for nested fields)."},
            "permission": {"type": "string", "examples": ["activity.view"],
                           "description": "A 403 the role answers: the permission the operation needs (its "
                                          "x-permission)."},
            "attachment_id": {"type": "integer", "description": "A 409 of POST /attachments or PUT "
                                                                "/attachments/{id}: the attachment of that "
                                                                "assessment already on that stage."}}}}}
    out["Settings"] = {"type": "object", "description": "The plugin's settings, validated by its own schema "
                       "(GET /integrations/{plugin} lists them), which may also take a value as the settings form "
                       "posts it (a number as text, \"72\"). Secret fields are write-only; empty keeps them."}
    out["IntegrationList"] = _list_of(s.IntegrationSchema)
    out["AttachmentList"] = _list_of(s.AttachmentSchema)
    out["PostingList"] = _list_of(s.PostingSchema)
    out["StageList"] = _list_of(s.StageSchema)
    out["UserList"] = _list_of(s.UserSchema)
    out["AssessmentList"] = {**_list_of(s.AssessmentSchema)}
    out["AssessmentList"]["properties"] = {**out["AssessmentList"]["properties"], "errors": {
        "type": "array", "items": {"type": "string"}, "description": (
            "One sentence for each enabled provider whose assessments could not be read, naming it by its title "
            "and saying why (the answer is 200 all the same: items then lacks that provider's assessments).")}}
    out["InvitationPage"] = _page_of(s.InvitationSchema)
    out["AuditPage"] = _page_of(s.AuditSchema)
    out["WebhookLogPage"] = _page_of(s.WebhookLogEntrySchema)
    out["ActivityPage"] = _page_of(s.EventSchema)
    out["ActivityPage"]["properties"]["pending"] = {"type": "boolean",
                                                    "description": "Whether deliveries are still pending."}
    return out


def _error(description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}


UNSTORABLE_400 = _error("The request holds text the hub cannot store (a NUL character, bytes that are not UTF-8)")
ERRORS = {
    "400": _error("The body is not JSON (NaN and Infinity are not), holds a number of more than 100 digits, or "
                  "ended before all of it arrived; or the request holds text the hub cannot store (a NUL "
                  "character, bytes that are not UTF-8)"),
    "401": {**_error("No valid API token"), "headers": {"WWW-Authenticate": {
        "description": "Bearer, with error=\"invalid_token\" for a token the hub does not take and "
                       "error=\"invalid_request\" for a header of another form (RFC 6750)",
        "schema": {"type": "string"}}}},
    "403": _error("The token's user does not have the permission"),
    "404": _error("No such resource in this workspace, or an id in the path that is not a whole number "
                  "(error.message names it; an unknown path is \"no such API endpoint\")"),
    "409": _error("The resource is not in a state that allows this"),
    "413": _error("The body is larger than the hub accepts (HUB_WEBHOOK_MAX_BYTES): error.message names the limit"),
    "422": _error("Validation failed: unknown, repeated, missing or invalid body fields (a value of another JSON "
                  "type included: a string such as \"yes\" or \"50\" for a boolean or number field), or query "
                  "parameters unknown, given more than once or invalid (an operation that lists none takes none), "
                  "named in error.fields"),
    "502": _error("The vendor could not be reached or refused the request"),
    "503": {**_error("The hub cannot answer now: a Limited Team Member's postings cannot be read (the ATS is "
                     "down, or none is enabled: error.message says so in a plain sentence, whatever the id; "
                     "retry after Retry-After seconds), or the request needed the stored credentials, which the "
                     "hub process that took it cannot decrypt (code secrets_unreadable: its HUB_ENCRYPTION_KEYS "
                     "are not the current ones)"),
            "headers": {"Retry-After": {"description": "With a Limited Team Member's postings unreadable: the "
                                                       "seconds to wait before retrying",
                                        "schema": {"type": "integer"}}}},
}


def _json(schema: dict | str, description: str = "OK") -> dict:
    body = {"$ref": f"#/components/schemas/{schema}"} if isinstance(schema, str) else schema
    return {"description": description, "content": {"application/json": {"schema": body}}}


PATH_PARAMS = {
    "plugin": {"name": "plugin", "in": "path", "required": True, "schema": {"type": "string"},
               "description": "The plugin's name, e.g. lever or canditech."},
    "attachment_id": {"name": "attachment_id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int32"}},
    "invitation_id": {"name": "invitation_id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int32"}},
    "delivery_id": {"name": "delivery_id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int64"}},
    "user_id": {"name": "user_id", "in": "path", "required": True, "schema": {"type": "integer", "format": "int32"}},
}


def query_params(schema_cls: type[Schema]) -> list[dict]:
    out = []
    for name, f in schema_cls().fields.items():
        param = {"name": f.data_key or name, "in": "query", "required": bool(f.required),
                 "schema": {k: v for k, v in field_schema(f).items() if k != "description"}}
        if isinstance(f.load_default, (int, str)):  # marshmallow's "missing" marker and None are no default
            param["schema"]["default"] = f.load_default
        if f.metadata.get("description"):
            param["description"] = f.metadata["description"]
        out.append(param)
    return out


def _op(operation_id: str, summary: str, permission: str | None, *, tag: str, ok: str = "200",
        response: dict | None = None, body: str | None = None, body_required: bool = True,
        query: type[Schema] | None = None, errors: tuple[str, ...] = (), path_params: tuple[str, ...] = ()) -> dict:
    op: dict[str, Any] = {"operationId": operation_id, "summary": summary, "tags": [tag]}
    if permission is None:
        op["security"] = []
    else:
        op["x-permission"] = permission
        op["description"] = f"Requires the permission `{permission}` (see docs/permissions.md)."
    parameters = [PATH_PARAMS[p] for p in path_params]
    if query is not None:
        parameters += query_params(query)
    if parameters:
        op["parameters"] = parameters
    if body is not None:
        op["requestBody"] = {"required": body_required,
                             "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{body}"}}}}
    responses: dict[str, Any] = {ok: response or {"description": "OK"}}
    if ok == "201":
        responses[ok] = {**responses[ok], "headers": {"Location": {
            "description": "The new resource's address (/api/v1/...)", "schema": {"type": "string"}}}}
    codes = set(errors)
    if permission is not None:
        codes |= {"401", "403"}
    if path_params:
        codes.add("404")
    # every operation refuses query parameters it does not take (422) and text the database cannot
    # store in its query (400; for a body, also one that is not JSON)
    codes |= {"400", "422"}
    if "502" in codes or permission == "integrations.manage":  # the stored secrets, which this process may not read
        codes.add("503")
    if body is not None:
        codes.add("413")
    for code in sorted(codes):
        responses[code] = UNSTORABLE_400 if code == "400" and body is None else ERRORS[code]
    op["responses"] = responses
    return op


ACTION = "ActionResult"


def _openapi_op() -> dict:
    """This document's own operation: no token needed, but one sent must be valid (a revoked token
    answers 401 here too: ``hub.web.api.authenticate`` reads every request's header)."""
    op = _op("openapi", "This document", None, tag="meta", errors=("401",),
             response={"description": "The OpenAPI document",
                       "content": {"application/json": {"schema": {"type": "object"}}}})
    op["responses"]["401"] = {**ERRORS["401"], "description": "A token was sent and it is not valid (none is needed here)"}
    return op


def paths() -> dict:
    P = ("plugin",)
    A = ("attachment_id",)
    INV = ("invitation_id",)
    return {
        "/openapi.json": {"get": _openapi_op()},
        "/me": {"get": _op("me", "The token's user and permissions", "dashboard.view", tag="meta",
                           response=_json("Me"))},
        "/integrations": {"get": _op("listIntegrations", "Installed plugins and their connection state",
                                     "integrations.view", tag="integrations", response=_json("IntegrationList"))},
        "/integrations/{plugin}": {
            "get": _op("getIntegration", "One integration (settings without secrets)", "integrations.view",
                       tag="integrations", response=_json("Integration"), path_params=P),
            "put": _op("putIntegrationSettings", "Save settings (validated by the plugin's schema)",
                       "integrations.manage", tag="integrations", response=_json("Integration"), body="Settings",
                       path_params=P),
        },
        "/integrations/{plugin}/webhooks": {"get": _op(
            "listWebhookLog", "The webhook log: every request the integration's webhook URL received and what "
            "became of it, newest first (404 for a plugin that receives no webhooks)", "integrations.view",
            tag="integrations", response=_json("WebhookLogPage"), path_params=P, query=s.WebhookLogQuerySchema)},
        "/integrations/{plugin}/enable": {"post": _op(
            "enableIntegration", "Enable (409 for a source while another source, the workspace's ATS, is enabled)",
            "integrations.manage", tag="integrations", response=_json(ACTION), body="Empty", body_required=False,
            path_params=P, errors=("409",))},
        "/integrations/{plugin}/disable": {"post": _op(
            "disableIntegration", "Disable (cancels its pending deliveries)", "integrations.manage",
            tag="integrations", response=_json(ACTION), body="Empty", body_required=False, path_params=P)},
        "/integrations/{plugin}/test": {"post": _op(
            "testIntegration", "Test the connection at the vendor", "integrations.test", tag="integrations",
            response=_json(ACTION), body="Empty", body_required=False, path_params=P, errors=("409", "502"))},
        "/integrations/{plugin}/webhooks/setup": {"post": _op(
            "setupWebhooks", "Register the hub's webhooks at the vendor", "integrations.manage", tag="integrations",
            response=_json(ACTION), body="Empty", body_required=False, path_params=P, errors=("409", "502"))},
        "/integrations/{plugin}/revoke": {"post": _op(
            "revokeIntegration", "Revoke: delete webhooks at the vendor, forget secrets, cancel pending deliveries",
            "integrations.manage", tag="integrations", response=_json(ACTION), body="Empty", body_required=False,
            path_params=P)},
        "/attachments": {
            "get": _op("listAttachments", "Assessments attached to stages", "pipeline.view", tag="pipeline",
                       response=_json("AttachmentList")),
            "post": _op("createAttachment", "Attach an assessment to a stage (names read live)", "pipeline.manage",
                        tag="pipeline", ok="201", response=_json("Attachment", "Created"), body="AttachmentIn",
                        errors=("409", "502")),
        },
        "/attachments/{attachment_id}": {
            "get": _op("getAttachment", "One attachment", "pipeline.view", tag="pipeline",
                       response=_json("Attachment"), path_params=A),
            "put": _op("updateAttachment", "Change an attachment (fields and options left out keep their value; "
                       "an option given as null is cleared)", "pipeline.manage", tag="pipeline",
                       response=_json("Attachment"), body="AttachmentUpdate", path_params=A, errors=("409", "502")),
            "delete": _op("deleteAttachment", "Detach (no body, or {}: a field sent is refused)", "pipeline.manage",
                          tag="pipeline", ok="204", response={"description": "Detached"}, body="Empty",
                          body_required=False, path_params=A),
        },
        "/attachments/{attachment_id}/backfill": {
            "get": _op("getBackfill", "How many candidates are in the attachment's stage without an invitation "
                       "for it (read live from the source; available false when the source cannot list them)",
                       "pipeline.view", tag="pipeline", response=_json("Backfill"), path_params=A,
                       errors=("409", "502")),
            "post": _op("runBackfill", "Invite the candidates already in the attachment's stage without an "
                        "invitation for it: one stage-change event each, delivered to the attachment's provider "
                        "(a second call queues nobody twice). 409 when the source cannot list them, the provider "
                        "cannot invite now, the stage holds more than the limit, or (stage_changed) another "
                        "number to invite than the expected given", "pipeline.manage",
                        tag="pipeline", response=_json("BackfillResult"), body="BackfillRun", body_required=False,
                        path_params=A, errors=("409", "502")),
        },
        "/postings": {"get": _op("listPostings", "Postings, live from the source", "pipeline.view", tag="pipeline",
                                 response=_json("PostingList"), errors=("409", "502"))},
        "/stages": {"get": _op("listStages", "Pipeline stages, live from the source", "pipeline.view",
                               tag="pipeline", response=_json("StageList"), query=s.StagesQuerySchema,
                               errors=("409", "502"))},
        "/assessments": {"get": _op("listAssessments", "Assessments of every enabled provider, live",
                                    "pipeline.view", tag="pipeline", response=_json("AssessmentList"))},
        "/invitations": {"get": _op("listInvitations", "Invitations (filters, search, pages)", "candidates.view",
                                    tag="candidates", response=_json("InvitationPage"),
                                    query=s.InvitationQuerySchema, errors=("503",))},
        "/invitations/{invitation_id}": {"get": _op(
            "getInvitation", "One invitation with its timeline", "candidates.view", tag="candidates",
            response=_json("InvitationDetail"), path_params=INV, errors=("503",))},
        "/invitations/{invitation_id}/reinvite": {"post": _op(
            "reinvite", "Send again (failed, expired, cancelled or completed invitations; 409 for a candidate "
            "deleted in the ATS, whose data the hub erased)", "invitations.manage",
            tag="candidates", response=_json("InvitationDetail"), body="Empty", body_required=False,
            path_params=INV, errors=("409",))},
        "/invitations/{invitation_id}/cancel": {"post": _op(
            "cancelInvitation", "Cancel an open invitation", "invitations.manage", tag="candidates",
            response=_json("InvitationDetail"), body="Empty", body_required=False, path_params=INV,
            errors=("409",))},
        "/activity": {"get": _op("activity", "Inbound events with their deliveries (payloads redacted)",
                                 "activity.view", tag="activity", response=_json("ActivityPage"),
                                 query=s.ActivityQuerySchema)},
        "/deliveries/{delivery_id}/replay": {"post": _op(
            "replayDelivery", "Replay a done, dead or cancelled delivery, or retry one now", "deliveries.replay",
            tag="activity", response=_json("Delivery"), body="Empty", body_required=False,
            path_params=("delivery_id",), errors=("409",))},
        "/deliveries/replay": {"post": _op(
            "replayAllDeliveries", "Replay every dead delivery, or every one cancelled by a disable or revoke of a "
            "plugin enabled again (of one plugin's events with plugin), at most limit per call: remaining counts "
            "the rest; one of a disabled plugin is skipped with the reason; 422 for a plugin neither installed nor with events",
            "deliveries.replay", tag="activity",
            response=_json("BulkReplayResult"), body="BulkReplayIn")},
        "/users": {
            "get": _op("listUsers", "Users of the workspace", "users.view", tag="users", response=_json("UserList")),
            "post": _op("createUser", "Create a user (an Admin cannot create a Super Admin)", "users.manage",
                        tag="users", ok="201", response=_json("UserCreated", "Created"), body="UserCreate",
                        errors=("409",)),
        },
        "/users/{user_id}": {
            "get": _op("getUser", "One user of the workspace", "users.view", tag="users", response=_json("User"),
                       path_params=("user_id",)),
            "patch": _op("updateUser", "Change role and/or active", "users.manage", tag="users",
                         response=_json("User"), body="UserPatch", path_params=("user_id",), errors=("409",)),
        },
        "/users/{user_id}/password-reset": {"post": _op(
            "resetUserPassword", "Give a user a new one-time password (the rule of changing their role: an Admin "
            "resets users below Super Admin; nobody resets their own here)", "users.manage", tag="users",
            response=_json("UserPasswordReset"), body="Empty", body_required=False, path_params=("user_id",))},
        "/audit": {"get": _op("audit", "Audit log, newest first", "audit.view", tag="users",
                              response=_json("AuditPage"), query=s.AuditQuerySchema)},
    }


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "ATS Hub API", "version": __version__,
                 "description": "Everything the admin pages do. Authenticate with `Authorization: Bearer hub_...` "
                                "(tokens are created by a Super Admin); a request acts as the token's user with "
                                "that user's role. Errors are `{\"error\": {\"code\", \"message\"}}`."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearerAuth": []}],
        "tags": [{"name": t} for t in ("meta", "integrations", "pipeline", "candidates", "activity", "users")],
        "paths": paths(),
        "components": {
            "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer",
                                               "description": "An API token: hub_..."}},
            "schemas": components(),
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
