"""Workspaces are isolated (docs/permissions.md: "Everything is scoped to the user's workspace:
another workspace's ids answer 404"). Workspace 2 holds one of everything, each carrying the
marker ``otherco`` (names, emails, settings, errors, payloads), and four matrices, each kept
complete by a meta-test over the app's url map, as ``tests/web/test_permissions.py`` does for roles:

- ``ID_ROWS``: every route that takes the id of a workspace's object, for each method, asked by
  every role of workspace 1 with the id of workspace 2's object: 404 for a role whose permission
  allows the route, 403 for the others (the permission comes first, so a 403 tells nothing of the
  id); the answer shows nothing of workspace 2, and nothing of workspace 2 changes.
- ``PLUGIN_ROWS``: the routes that take a plugin's name. The name is the same in every workspace
  and each workspace has its own integration under it: they act on workspace 1's only, and show
  nothing of workspace 2's. ``secondassess`` is set up in workspace 2 only.
- ``READS``: every page and API read (lists with their filters, and workspace 1's own objects), for
  every role allowed: no row of workspace 2 (no marker; none of its ids in JSON, links or element
  ids), after workspace 2's users read the same pages (so no per-process cache crosses over).
- ``BULK_WRITES``: the writes without an id in their path (replay all, create a token, a user, an
  attachment), with bodies that point at workspace 2 where they can: workspace 2 is unchanged.

The fakes answer by workspace (workspace 2's postings, stages and assessments carry the marker),
so a live read made for the wrong workspace shows too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields

from hub import hookimpl, services
from hub.engine.invitations import add_timeline
from hub.entities import ArchiveReason, Assessment, IntegrationSpec, Posting, Stage
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import (
    ApiToken, Attachment, AuditEntry, Delivery, Event, Integration, Invitation, PluginRecord, TimelineEntry, User,
    WebhookLog, Workspace,
)
from hub.web.permissions import PERMISSIONS
from tests.web.support import (
    ROLES, FakeAssess, FakeSource, _attachment, _dead_delivery, _invitation, api_headers, make_user, sign_in,
)

SA, AD, TM, LT = ROLES
MARKER = "otherco"  # in every text of workspace 2 a page could show (compared in lower case)


# --------------------------------------------------------------------------- fakes that answer by workspace


class SourceByWorkspace(FakeSource):
    """The fake ATS; for any workspace but ``home`` (workspace 1, set once seeded) it answers that
    workspace's own postings, stages and archive reasons, named with the marker."""

    home: int | None = None

    def _other(self, ctx) -> bool:
        return self.home is not None and ctx.workspace_id != self.home

    @hookimpl
    def source_list_postings(self, ctx):
        if self._other(ctx):
            return [Posting("p1", "Otherco Python Developer", "published", owner_email="otherco-admin@other.test",
                            follower_emails=("otherco-limited@other.test",)),
                    Posting("p2", "Otherco Support", "published")]
        return super().source_list_postings(ctx)

    @hookimpl
    def source_list_stages(self, ctx, posting_id):
        if self._other(ctx):
            return [Stage(f"s{i}", f"Otherco Stage {i}") for i in range(1, 11)]
        return super().source_list_stages(ctx, posting_id)

    @hookimpl
    def source_list_archive_reasons(self, ctx):
        if self._other(ctx):
            return [ArchiveReason("reason-1", "Otherco reason")]
        return super().source_list_archive_reasons(ctx)

    @hookimpl
    def test_connection(self, ctx):
        return "Otherco ATS answered." if self._other(ctx) else super().test_connection(ctx)


class SecondSettings(Schema):
    label = fields.String()
    api_key = fields.String()


class SecondAssess(FakeAssess):
    """A second assessment provider, set up in workspace 2 only."""

    home: int | None = None

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="assessment", title="Second Tests", settings_schema=SecondSettings,
                                 secret_fields=("api_key",)))

    @hookimpl
    def list_assessments(self, ctx):
        if self.home is not None and ctx.workspace_id != self.home:
            return [Assessment("ot", "Otherco Test", 30, 10.0)]
        return [Assessment("sb", "Second Basics", 30, 10.0)]


@pytest.fixture
def fakes():
    return SourceByWorkspace(), FakeAssess()


@pytest.fixture
def second():
    return SecondAssess()


@pytest.fixture
def hub_app(make_app, fakes, second):
    source, assess = fakes
    return make_app(plugins=[("fakesource", source), ("fakeassess", assess), ("secondassess", second)],
                    entry_points=False)


# --------------------------------------------------------------------------- workspace 2


@dataclass
class Other:
    """Workspace 2: ``one[kind]`` is the object the id rows ask for; ``ids[kind]`` every id of its
    rows of that kind; ``strings`` what of it no answer to workspace 1 may hold."""

    workspace_id: int
    one: dict[str, int]
    ids: dict[str, set[int]] = field(default_factory=dict)
    strings: tuple[str, ...] = ()
    emails: dict[str, str] = field(default_factory=dict)


# what each kind's ids are read from (TimelineEntry has no workspace_id: by its invitation)
KIND_MODELS = {"attachment": Attachment, "invitation": Invitation, "delivery": Delivery, "event": Event,
               "user": User, "token": ApiToken, "audit": AuditEntry, "webhook_log": WebhookLog,
               "integration": Integration, "plugin_record": PluginRecord}


def _populate(app, seeded, source: SourceByWorkspace, second: SecondAssess) -> Other:
    """One of everything in workspace 2 (on top of what ``seed`` made there), each with the marker;
    its invitation and two dead deliveries are about workspace 1's candidate Ada's opportunity, on
    the same posting, so a lookup by the source's ids alone would cross. Also rows of workspace 1
    that name workspace 2's ids (audit entries' targets, an event's subject)."""
    with app.app_context():
        runtime = get_runtime()
        ws = db.session.get(User, seeded.other["user_id"]).workspace_id
        source.home = second.home = seeded.workspace_id
        ada = db.session.get(Invitation, seeded.ids["invitation"])

        someone = db.session.get(User, seeded.other["user_id"])
        someone.name = "Otherco Someone"
        admin = make_user(ws, "otherco-admin@other.test", "super_admin", name="Otherco Admin")
        make_user(ws, "otherco-limited@other.test", "limited_team_member", name="Otherco Limited")

        att = db.session.get(Attachment, seeded.other["attachment_id"])
        att.posting_name, att.stage_name, att.assessment_name = "Otherco Posting", "Otherco Stage", "Otherco Assessment"
        for stage in ("s1", "s2", "s3", "s4"):  # where workspace 1's bulk writes attach the same assessment
            _attachment(ws, "p2", stage, name="Otherco Assessment").posting_name = "Otherco Support"
        inv = db.session.get(Invitation, seeded.other["invitation_id"])
        inv.candidate_name, inv.candidate_email = "Otherco Zenobia", "zenobia@otherco.test"
        inv.opportunity_id, inv.failure_reason = ada.opportunity_id, "otherco: no email"
        _invitation(ws, att, "invited", name="Otherco Yusuf", email="yusuf@otherco.test")
        for row in (ada, inv):  # named from each workspace's stages (workspace 2's carry the marker)
            add_timeline(db.session, row, "stage_moved", "fakesource", "Moved to {stage}", refs={"stage": "s3"})

        dead = db.session.get(Delivery, seeded.other["delivery_id"])
        dead.last_error = "TemporaryError: otherco vendor down"
        dead.event.subject = ada.opportunity_id
        dead.event.payload = {"opportunity_id": ada.opportunity_id, "to_stage_id": "s1", "note": "otherco"}
        hired = _dead_delivery(ws, {"opportunity_id": ada.opportunity_id, "note": "otherco hired"})
        hired.hook, hired.last_error = "on_hired", "otherco: hired not delivered"
        hired.event.type, hired.event.subject = "hired", ada.opportunity_id  # Ada's page would list it
        retrying = _dead_delivery(ws, {"note": "otherco retrying"})  # open: a disable would cancel it
        retrying.status, retrying.last_error = "retry", "TemporaryError: otherco retrying"
        retrying.plugin, retrying.hook = "fakesource", "on_invitation_status"
        cancelled = _dead_delivery(ws, {"note": "otherco cancelled"})
        cancelled.status, cancelled.last_error = "cancelled", "otherco: disabled"
        legacy = _dead_delivery(ws, {"note": "otherco legacy"})
        legacy.plugin, legacy.last_error = "legacyats", "otherco legacy down"
        legacy.event.source_plugin = "legacyats"
        db.session.add(WebhookLog(workspace_id=ws, plugin="fakesource", outcome="rejected", status_code=401,
                                  message="otherco: signature mismatch"))
        db.session.add(PluginRecord(workspace_id=ws, plugin="fakesource", key="otherco-note", value={"n": 1}))
        services.audit(ws, admin, "legacy.import", "otherco:import", note="otherco")
        services.audit(ws, admin, "attachment.create", f"attachment:{att.id}")
        db.session.commit()
        services.create_api_token(admin, "otherco token")

        for plugin in ("fakesource", "fakeassess", "secondassess"):
            services.set_enabled(runtime, ws, plugin, True, "otherco-setup")
        services.save_settings(runtime, ws, "fakesource", {"account": "otherco-account", "api_key": "otherco-key"},
                               "otherco-setup")
        services.save_settings(runtime, ws, "secondassess", {"label": "otherco label", "api_key": "otherco-key-2"},
                               "otherco-setup")
        db.session.execute(sa.update(Integration).where(Integration.workspace_id == ws)
                           .values(status_message="otherco status"))

        # workspace 1's rows naming workspace 2's ids: its pages must not resolve them to names
        services.audit(seeded.workspace_id, "test", "invitation.reinvite", f"invitation:{inv.id}")
        services.audit(seeded.workspace_id, "test", "attachment.update", f"attachment:{att.id}")
        db.session.add(Event(workspace_id=seeded.workspace_id, source_plugin="fakeassess", type="invitation_progress",
                             external_id="evt-about-other", subject=f"invitation:{inv.id}", payload={}))
        # and one about Ada's opportunity, which workspace 2's newer invitation shares
        db.session.add(Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="stage_change",
                             external_id="evt-about-ada", subject=ada.opportunity_id, payload={}))
        db.session.commit()

        ids = {kind: set(db.session.scalars(sa.select(model.id).where(model.workspace_id == ws)))
               for kind, model in KIND_MODELS.items()}
        ids["timeline"] = set(db.session.scalars(sa.select(TimelineEntry.id).where(
            TimelineEntry.invitation_id.in_(ids["invitation"]))))
        keys = tuple(db.session.scalars(sa.select(Integration.webhook_key).where(Integration.workspace_id == ws)))
        token = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.workspace_id == ws))
        one = {"attachment": att.id, "invitation": inv.id, "delivery": dead.id, "user": someone.id, "token": token}
        return Other(ws, one, ids, strings=(MARKER, "someone@other.test", *keys),
                     emails={"admin": admin.email, "limited": "otherco-limited@other.test"})


@pytest.fixture
def other(hub_app, seeded, fakes, second) -> Other:
    return _populate(hub_app, seeded, fakes[0], second)


def _snapshot(app, workspace_id: int) -> dict[str, dict[int, dict]]:
    """Every row of the workspace, column by column (the timeline by its invitations)."""
    found: dict[str, dict[int, dict]] = {}
    with app.app_context():
        for mapper in db.Model.registry.mappers:
            model = mapper.class_
            if model is Workspace:
                where = model.id == workspace_id
            elif "workspace_id" in mapper.columns:
                where = model.workspace_id == workspace_id
            else:
                continue
            found[model.__tablename__] = {row.id: {c.key: getattr(row, c.key) for c in mapper.column_attrs}
                                          for row in db.session.scalars(sa.select(model).where(where))}
        timeline = sa.select(TimelineEntry).where(TimelineEntry.invitation_id.in_(list(found["invitations"])))
        found["timeline"] = {row.id: {c.key: getattr(row, c.key) for c in sa.inspect(TimelineEntry).column_attrs}
                             for row in db.session.scalars(timeline)}
    return found


def _changes(before: dict, after: dict) -> list[str]:
    changes = []
    for table in sorted(set(before) | set(after)):
        old, new = before.get(table, {}), after.get(table, {})
        for row_id in sorted(set(old) | set(new)):
            if old.get(row_id) != new.get(row_id):
                columns = sorted(k for k in set(old.get(row_id, {})) | set(new.get(row_id, {}))
                                 if old.get(row_id, {}).get(k) != new.get(row_id, {}).get(k))
                changes.append(f"{table} {row_id}: " + ("added" if row_id not in old else "deleted"
                                                        if row_id not in new else f"changed {columns}"))
    return changes


# --------------------------------------------------------------------------- what an answer may not hold

# a JSON key naming one kind's id, and the keys whose value is (a list of) objects of one kind
ID_KEYS = {"attachment_id": "attachment", "invitation_id": "invitation", "event_id": "event",
           "delivery_id": "delivery", "user_id": "user", "token_id": "token"}
NESTED_KINDS = {"deliveries": "delivery", "timeline": "timeline", "user": "user", "replayed": "delivery",
                "skipped": "delivery"}
# an element id ``<prefix>-<n>`` in a page names an object of this kind
ELEMENT_KINDS = {
    "invitation": "invitation", "open-invitation": "invitation", "event": "event", "deliveries": "event",
    "payload": "event", "delivery": "delivery", "replay": "delivery", "undelivered": "delivery",
    "attachment": "attachment", "edit": "attachment", "backfill": "attachment", "detach": "attachment",
    "stage-missing": "attachment", "provider-idle": "attachment", "user": "user", "role": "user",
    "role-form": "user", "change-role": "user", "reset-password": "user", "token": "token",
    "revoke-token": "token", "audit": "audit", "timeline": "timeline", "webhook-log": "webhook_log",
}


def _json_ids(value: Any, kind: str | None = None) -> Iterator[tuple[str, int]]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "id" and kind and isinstance(item, int):
                yield kind, item
            elif key in ID_KEYS and isinstance(item, int):
                yield ID_KEYS[key], item
            else:
                yield from _json_ids(item, kind if key == "items" else NESTED_KINDS.get(key))
    elif isinstance(value, list):
        for item in value:
            if isinstance(item, int) and not isinstance(item, bool) and kind:
                yield kind, item
            else:
                yield from _json_ids(item, kind)


def _link_patterns(app) -> list[tuple[re.Pattern, str]]:
    """A regex per id route, from the url map (``/pipeline/(\\d+)/edit`` -> attachment)."""
    patterns = []
    for rule in app.url_map.iter_rules():
        args = [a for a in rule.arguments if a in ARGUMENTS]
        if len(args) == 1 and set(rule.arguments) == set(args):
            pattern = re.sub(r"<(?:\w+:)?\w+>", r"(\\d+)", re.escape(rule.rule))
            patterns.append((re.compile(pattern + r'(?=["?#/])'), ARGUMENTS[args[0]]))
    return patterns


def leaks(response, other: Other, links: list[tuple[re.Pattern, str]], kind: str | None = None,
          sent: dict | None = None) -> list[str]:
    """What of workspace 2 the answer holds: its strings; its ids in JSON (``kind``: of the top
    object or of ``items``), or in a page's links and element ids. What the request ``sent`` (a
    form shown again with its values) is not counted."""
    text = shown = response.get_data(as_text=True)
    for value in (sent or {}).values():
        shown = shown.replace(value, "") if isinstance(value, str) and value else shown
    lower = shown.lower()
    found = [f"shows {s!r}: ...{shown[max(0, lower.find(s.lower()) - 80):lower.find(s.lower()) + 80]!r}..."
             for s in other.strings if s.lower() in lower]
    if response.is_json:
        ids = set(_json_ids(response.get_json(), kind))
    else:
        ids = {(ELEMENT_KINDS[prefix], int(n)) for prefix, n in re.findall(r'\bid="([a-z][a-z-]*?)-(\d+)"', text)
               if prefix in ELEMENT_KINDS}
        ids |= {(link_kind, int(n)) for pattern, link_kind in links for n in pattern.findall(text)}
    found += [f"holds {k} {i} of workspace 2" for k, i in sorted(ids) if i in other.ids.get(k, ())]
    return found


# --------------------------------------------------------------------------- the matrices

# url-rule argument -> the kind of object it names (workspace 2's ``Other.one[kind]`` in ID_ROWS)
ARGUMENTS = {"attachment_id": "attachment", "invitation_id": "invitation", "delivery_id": "delivery",
             "user_id": "user", "token_id": "token"}
PLUGINS = ("fakesource", "secondassess")  # set up in both workspaces; in workspace 2 only

# rules that take an argument but no workspace's object, with the reason
EXEMPT = {
    "/assets/<path:filename>": "the UI's CSS, JavaScript and icon: the same files for everyone",
    "/webhooks/<plugin>/<key>": "public, for the vendors: the unguessable key names one integration, so one "
                                "workspace (tests/web/test_integrations.py, tests/engine/test_ingest.py)",
}


@dataclass(frozen=True)
class Row:
    method: str
    rule: str
    data: Callable[..., dict] | dict | None = None  # form (pages) or JSON (API); by plugin in PLUGIN_ROWS
    query: str = ""

    @property
    def api(self) -> bool:
        return self.rule.startswith("/api/")


ATTACH_FORM = {"posting_id": "p1", "stage_id": "s2", "assessment": "fakeassess:py"}
ID_ROWS: list[Row] = [
    Row("GET", "/pipeline/<int:attachment_id>/edit"),
    Row("POST", "/pipeline/<int:attachment_id>/edit", ATTACH_FORM),
    Row("GET", "/pipeline/<int:attachment_id>/detach"),
    Row("POST", "/pipeline/<int:attachment_id>/detach"),
    Row("GET", "/pipeline/<int:attachment_id>/backfill"),
    Row("POST", "/pipeline/<int:attachment_id>/backfill", {"expected": "0"}),
    Row("GET", "/candidates/<int:invitation_id>"),
    Row("GET", "/candidates/<int:invitation_id>", query="fragment=1"),  # the page's own refresh
    Row("POST", "/candidates/<int:invitation_id>/reinvite"),
    Row("POST", "/candidates/<int:invitation_id>/cancel"),
    Row("POST", "/activity/deliveries/<id64:delivery_id>/replay"),
    Row("POST", "/users/<int:user_id>/role", {"role": "admin"}),
    Row("POST", "/users/<int:user_id>/password"),
    Row("POST", "/users/<int:user_id>/active", {"active": "0"}),
    Row("POST", "/settings/api-tokens/<int:token_id>/revoke"),
    Row("GET", "/api/v1/attachments/<int:attachment_id>"),
    Row("PUT", "/api/v1/attachments/<int:attachment_id>", {"stage_id": "s2"}),
    Row("DELETE", "/api/v1/attachments/<int:attachment_id>"),
    Row("GET", "/api/v1/attachments/<int:attachment_id>/backfill"),
    Row("POST", "/api/v1/attachments/<int:attachment_id>/backfill", {"expected": 0}),
    Row("GET", "/api/v1/invitations/<int:invitation_id>"),
    Row("POST", "/api/v1/invitations/<int:invitation_id>/reinvite"),
    Row("POST", "/api/v1/invitations/<int:invitation_id>/cancel"),
    Row("POST", "/api/v1/deliveries/<id64:delivery_id>/replay"),
    Row("GET", "/api/v1/users/<int:user_id>"),
    Row("PATCH", "/api/v1/users/<int:user_id>", {"role": "admin"}),
    Row("POST", "/api/v1/users/<int:user_id>/password-reset"),
]

SETTINGS = {"fakesource": {"account": "acme", "region": "us", "max_rate": "5"}, "secondassess": {"label": "ours"}}
PLUGIN_ROWS: list[Row] = [
    Row("GET", "/integrations/<plugin>"),
    Row("POST", "/integrations/<plugin>/settings", SETTINGS.get),
    Row("POST", "/integrations/<plugin>/test"),
    Row("POST", "/integrations/<plugin>/webhooks"),
    Row("POST", "/integrations/<plugin>/oauth/start"),
    Row("GET", "/integrations/<plugin>/oauth/callback", query="state=x&code=y"),
    Row("GET", "/integrations/<plugin>/disable"),
    Row("POST", "/integrations/<plugin>/disable"),
    Row("POST", "/integrations/<plugin>/enable"),
    Row("GET", "/integrations/<plugin>/revoke"),
    Row("GET", "/integrations/<plugin>/suggestions/<field>"),  # <field>: "account", a setting of each plugin's
    Row("GET", "/api/v1/integrations/<plugin>"),
    Row("GET", "/api/v1/integrations/<plugin>/webhooks"),
    Row("PUT", "/api/v1/integrations/<plugin>", SETTINGS.get),
    Row("POST", "/api/v1/integrations/<plugin>/disable"),
    Row("POST", "/api/v1/integrations/<plugin>/enable"),
    Row("POST", "/api/v1/integrations/<plugin>/test"),
    Row("POST", "/api/v1/integrations/<plugin>/webhooks/setup"),
    # last: revoking ends workspace 1's connection
    Row("POST", "/integrations/<plugin>/revoke"),
    Row("POST", "/api/v1/integrations/<plugin>/revoke"),
]


@dataclass(frozen=True)
class Read:
    rule: str
    query: str = ""
    kind: str | None = None  # the kind of the JSON's top object, or of its ``items``
    absent: tuple[str, ...] = ()  # more text the answer may not hold
    ok: frozenset = frozenset({200})


READS: list[Read] = [
    Read("/"),
    Read("/account/password"),
    Read("/integrations"),
    Read("/integrations/<plugin>"),
    Read("/integrations/<plugin>/revoke", ok=frozenset({200, 302})),  # not set up here: back to its page
    Read("/integrations/<plugin>/disable", ok=frozenset({200, 302})),  # not enabled here: back to its page
    Read("/pipeline"),
    Read("/pipeline/new", "posting_id=p1"),
    Read("/pipeline/<int:attachment_id>/edit"),
    Read("/pipeline/<int:attachment_id>/detach"),
    Read("/pipeline/<int:attachment_id>/backfill"),
    # each page's own refresh (``fragment``) before the page: it may reuse what this process read
    # for the page in the last minute, which must be the page's workspace's
    Read("/candidates", "fragment=1"),
    Read("/candidates"),
    Read("/candidates", "q=zenobia"),
    Read("/candidates", "posting=p1&status=failed"),
    Read("/candidates/<int:invitation_id>", "fragment=1"),
    Read("/candidates/<int:invitation_id>"),
    Read("/activity", "fragment=1"),
    Read("/activity"),
    Read("/activity", "status=dead"),
    # a plugin uninstalled since is offered while the workspace has events of it: workspace 2 has, 1 not
    Read("/activity", "plugin=legacyats", absent=('<option value="legacyats"',)),
    Read("/users"),
    Read("/audit"),
    Read("/audit", "action=legacy."),
    Read("/settings/api-tokens"),
    Read("/api/v1/me"),
    Read("/api/v1/integrations"),
    Read("/api/v1/integrations/<plugin>"),
    # secondassess receives no webhooks: 404 (tests/web/test_api_webhook_log.py)
    Read("/api/v1/integrations/<plugin>/webhooks", kind="webhook_log", ok=frozenset({200, 404})),
    Read("/api/v1/integrations/<plugin>/webhooks", "outcome=rejected", kind="webhook_log", ok=frozenset({200, 404})),
    Read("/api/v1/attachments", kind="attachment"),
    Read("/api/v1/attachments/<int:attachment_id>", kind="attachment"),
    Read("/api/v1/attachments/<int:attachment_id>/backfill"),
    Read("/api/v1/postings"),
    Read("/api/v1/stages", "posting_id=p1"),
    Read("/api/v1/assessments"),
    Read("/api/v1/invitations", "per_page=200", kind="invitation"),
    Read("/api/v1/invitations", "q=zenobia", kind="invitation"),
    Read("/api/v1/invitations", "posting=p1&status=failed", kind="invitation"),
    Read("/api/v1/invitations/<int:invitation_id>", kind="invitation"),
    Read("/api/v1/activity", "per_page=200", kind="event"),
    # workspace 1 has no event of it: the filter is refused by name, as a misspelt one is
    Read("/api/v1/activity", "plugin=legacyats", kind="event", ok=frozenset({422})),
    Read("/api/v1/activity", "status=dead", kind="event"),
    Read("/api/v1/users", kind="user"),
    Read("/api/v1/users/<int:user_id>", kind="user"),
    Read("/api/v1/audit", "per_page=200", kind="audit"),
    Read("/api/v1/audit", "action=legacy.", kind="audit"),
]

# GET rules that are no workspace's read, with the reason
READ_EXEMPT = {
    "/sign-in": "the sign-in form",
    "/healthz": "the process answers: nothing of any workspace",
    "/readyz": "database and queue reachable: nothing of any workspace",
    "/metrics": "the installation's counters, for the operator (docs/operations.md)",
    "/api/v1/openapi.json": "the API's description: the same for everyone",
    "/assets/<path:filename>": EXEMPT["/assets/<path:filename>"],
    "/integrations/<plugin>/oauth/callback": "an action (completes a connection): in PLUGIN_ROWS",
    "/integrations/<plugin>/suggestions/<field>": "a live read of the plugin's users for one of its settings "
                                                  "(the vendor's list, no workspace's rows): in PLUGIN_ROWS",
}


@dataclass(frozen=True)
class Write:
    method: str
    rule: str
    data: Callable[[str, Other], dict]
    ok: frozenset | None = None  # the status an allowed role gets, when it says the write is workspace 1's


def _attach(base: int, api: bool) -> Callable[[str, Other], dict]:
    """Attach Python Developer to posting p2's stage ``base`` + the role's index (each allowed role
    attaches its own copy, where workspace 2 has one already)."""
    def data(role: str, other: Other) -> dict:
        stage = f"s{base + ROLES.index(role)}"
        if api:
            return {"posting_id": "p2", "stage_id": stage, "provider": "fakeassess", "assessment_id": "py"}
        return {"posting_id": "p2", "stage_id": stage, "assessment": "fakeassess:py"}
    return data


BULK_WRITES: list[Write] = [
    Write("POST", "/account/password", lambda role, other: {
        "current_password": "not it", "new_password": "a new password 1", "confirm_password": "a new password 1"}),
    # workspace 2 has this assessment on each of these stages: workspace 1 attaches its own all the same
    Write("POST", "/pipeline/new", _attach(1, api=False), ok=frozenset({302, 303})),
    Write("POST", "/api/v1/attachments", _attach(3, api=True), ok=frozenset({201})),
    Write("POST", "/activity/deliveries/replay-all", lambda role, other: {"status": "dead"}),
    Write("POST", "/activity/deliveries/replay-all", lambda role, other: {"status": "cancelled"}),
    Write("POST", "/activity/deliveries/replay-all", lambda role, other: {"status": "dead", "plugin": "legacyats"}),
    Write("POST", "/api/v1/deliveries/replay", lambda role, other: {"status": "dead"}, ok=frozenset({200})),
    Write("POST", "/api/v1/deliveries/replay", lambda role, other: {"status": "cancelled"}, ok=frozenset({200})),
    Write("POST", "/api/v1/deliveries/replay", lambda role, other: {"status": "dead", "plugin": "legacyats"},
          ok=frozenset({422})),  # workspace 1 has no event of it
    # a token acting as workspace 2's user: "Choose an active user of this workspace."
    Write("POST", "/settings/api-tokens", lambda role, other: {"name": "pointing", "user_id": str(other.one["user"])},
          ok=frozenset({422})),
    # an email is unique across all workspaces: refused, and workspace 2's user is untouched
    Write("POST", "/users", lambda role, other: {"email": other.emails["admin"], "role": "team_member"},
          ok=frozenset({409, 422})),
    Write("POST", "/api/v1/users", lambda role, other: {"email": other.emails["admin"], "role": "team_member"},
          ok=frozenset({409, 422})),
]
BULK_EXEMPT = {
    "/sign-in": "signs in whoever's email and password are given, into their own workspace",
    "/sign-out": "ends the session's sign-in",
}


def _routes(app) -> dict[tuple[str, str], str]:
    """(method, rule) -> endpoint, for every route of the app."""
    return {(method, rule.rule): rule.endpoint for rule in app.url_map.iter_rules()
            for method in rule.methods - {"HEAD", "OPTIONS"}}


def _permission(app, endpoint: str) -> str | None:
    return getattr(app.view_functions[endpoint], "permission", None)


def _allowed(app, method: str, rule: str) -> frozenset:
    permission = _permission(app, _routes(app)[(method, rule)])
    return frozenset(ROLES) if permission is None else PERMISSIONS[permission]


def _fill(rule: str, values: dict[str, Any]) -> str:
    return re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule)


def _send(client, method: str, path: str, body: dict | None, api: bool, headers: dict | None = None):
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if body is not None:
        kwargs["json" if api else "data"] = body
    return client.open(path, method=method, **kwargs)


@pytest.fixture
def clients(hub_app, seeded, as_role):
    """role -> (its signed-in page client, the API client and its token's headers)."""
    api = hub_app.test_client()
    return {role: (as_role(role), api, api_headers(seeded, role)) for role in ROLES}


def _ask(clients, role: str, method: str, path: str, body: dict | None, api: bool):
    pages, api_client, headers = clients[role]
    return _send(api_client, method, path, body, True, headers) if api else _send(pages, method, path, body, False)


# --------------------------------------------------------------------------- meta-tests


def test_every_id_route_has_a_row(hub_app):
    """A route whose path takes an argument is in ID_ROWS or PLUGIN_ROWS for each of its methods,
    or exempt with a reason; each argument names a kind of workspace 2's objects (add a new kind to
    ARGUMENTS and to ``_populate``)."""
    rows = [(row.method, row.rule) for row in ID_ROWS + PLUGIN_ROWS]
    routes = {key for key in _routes(hub_app) if "<" in key[1] and key[1] not in EXEMPT}
    missing = routes - set(rows)
    assert not missing, f"routes taking an id without a row in the isolation matrix: {sorted(missing)}"
    stale = set(rows) - routes
    assert not stale, f"rows for routes that do not exist: {sorted(stale)}"
    unknown = {(row.rule, name) for row in ID_ROWS for name in re.findall(r"<(?:\w+:)?(\w+)>", row.rule)
               if name not in ARGUMENTS}
    assert not unknown, f"route arguments naming no known kind of object: {sorted(unknown)}"
    assert all(re.findall(r"<(\w+)>", row.rule) in (["plugin"], ["plugin", "field"]) for row in PLUGIN_ROWS)
    assert set(EXEMPT) <= {rule.rule for rule in hub_app.url_map.iter_rules()}


def test_every_read_and_write_is_in_a_matrix(hub_app):
    """Every GET route is in READS (or READ_EXEMPT); every other route without an argument is in
    BULK_WRITES (or BULK_EXEMPT)."""
    routes = _routes(hub_app)
    gets = {rule for method, rule in routes if method == "GET"}
    reads = {read.rule for read in READS}
    assert gets - reads - set(READ_EXEMPT) == set(), "GET routes not checked for another workspace's rows"
    assert reads <= gets and set(READ_EXEMPT) <= gets, "READS or READ_EXEMPT names a route that does not exist"
    writes = {(method, rule) for method, rule in routes if method != "GET" and "<" not in rule}
    bulk = {(write.method, write.rule) for write in BULK_WRITES}
    missing = {key for key in writes - bulk if key[1] not in BULK_EXEMPT}
    assert not missing, f"writes without a row in BULK_WRITES: {sorted(missing)}"
    assert bulk <= writes, f"BULK_WRITES rows for routes that do not exist: {sorted(bulk - writes)}"


# --------------------------------------------------------------------------- the matrices


def test_another_workspaces_ids_are_not_found(hub_app, seeded, other, clients):
    """Every id route, method and role of workspace 1, with workspace 2's object: 404 (or 403
    without the permission), and workspace 2 is unchanged."""
    before = _snapshot(hub_app, other.workspace_id)
    links = _link_patterns(hub_app)
    failures = []
    for row in ID_ROWS:
        allowed = _allowed(hub_app, row.method, row.rule)
        path = _fill(row.rule, {name: other.one[kind] for name, kind in ARGUMENTS.items()})
        path = f"{path}?{row.query}" if row.query else path
        for role in ROLES:
            response = _ask(clients, role, row.method, path, row.data, row.api)
            expected = 404 if role in allowed else 403
            where = f"{row.method} {path} as {role}"
            if response.status_code != expected:
                failures.append(f"{where}: {response.status_code}, expected {expected}")
            elif row.api and response.get_json()["error"]["code"] != ("not_found" if expected == 404 else "forbidden"):
                failures.append(f"{where}: {response.get_json()}")
            failures += [f"{where}: {leak}" for leak in leaks(response, other, links)]
    assert not failures, "\n".join(failures)
    changed = _changes(before, _snapshot(hub_app, other.workspace_id))
    assert not changed, "workspace 2 changed:\n" + "\n".join(changed)


def test_plugin_routes_act_on_the_own_workspace_only(hub_app, seeded, other, clients):
    """The plugin routes, for a plugin set up in both workspaces and for one set up in workspace 2
    only: 403 without the permission; else an answer about workspace 1's integration (no server
    error, nothing of workspace 2's shown), and workspace 2's integrations unchanged."""
    before = _snapshot(hub_app, other.workspace_id)
    links = _link_patterns(hub_app)
    failures = []
    for row in PLUGIN_ROWS:
        allowed = _allowed(hub_app, row.method, row.rule)
        for plugin in PLUGINS:
            path = _fill(row.rule, {"plugin": plugin, "field": "account"}) + (f"?{row.query}" if row.query else "")
            body = row.data(plugin) if callable(row.data) else row.data
            for role in ROLES:
                response = _ask(clients, role, row.method, path, body, row.api)
                where = f"{row.method} {path} as {role}"
                if role not in allowed and response.status_code != 403:
                    failures.append(f"{where}: {response.status_code}, expected 403")
                if role in allowed and response.status_code >= 500:
                    failures.append(f"{where}: {response.status_code}")
                failures += [f"{where}: {leak}" for leak in leaks(response, other, links)]
    assert not failures, "\n".join(failures)
    changed = _changes(before, _snapshot(hub_app, other.workspace_id))
    assert not changed, "workspace 2 changed:\n" + "\n".join(changed)


def _read_path(read: Read, seeded, plugin: str) -> str:
    path = _fill(read.rule, {"attachment_id": seeded.ids["attachment"], "invitation_id": seeded.ids["invitation"],
                             "user_id": seeded.users["team_member"], "plugin": plugin})
    return f"{path}?{read.query}" if read.query else path


def test_reads_show_nothing_of_another_workspace(hub_app, seeded, other, clients):
    """Every page and API read of workspace 1 (its lists, filtered too, and its own objects), for
    every role allowed, once workspace 2's admin and Limited Team Member have read the same pages
    of theirs: nothing of workspace 2."""
    own = {"attachment_id": other.one["attachment"], "invitation_id": other.one["invitation"],
           "user_id": other.one["user"]}
    for email in other.emails.values():  # workspace 2 reads first: its answers are what a cache would keep
        with hub_app.app_context():
            user = db.session.scalar(sa.select(User).where(User.email == email))
            headers = {"Authorization": "Bearer " + services.create_api_token(user, "otherco reader")}
            other.ids["token"] |= set(db.session.scalars(sa.select(ApiToken.id).where(ApiToken.user_id == user.id)))
        pages, api = hub_app.test_client(), hub_app.test_client()
        assert sign_in(pages, email).status_code == 302
        for read in READS:
            path = _fill(read.rule, {**own, "plugin": "fakesource"}) + (f"?{read.query}" if read.query else "")
            if read.rule.startswith("/api/"):
                api.get(path, headers=headers)
            else:
                pages.get(path)
    links = _link_patterns(hub_app)
    failures = []
    for read in READS:
        allowed = _allowed(hub_app, "GET", read.rule)
        for plugin in PLUGINS if "<plugin>" in read.rule else (None,):
            path = _read_path(read, seeded, plugin)
            for role in sorted(allowed, key=ROLES.index):
                response = _ask(clients, role, "GET", path, None, read.rule.startswith("/api/"))
                where = f"GET {path} as {role}"
                if response.status_code not in read.ok:
                    failures.append(f"{where}: {response.status_code}")
                failures += [f"{where}: {leak}" for leak in leaks(response, other, links, read.kind)]
                failures += [f"{where}: holds {text!r}" for text in read.absent
                             if text in response.get_data(as_text=True)]
    assert not failures, "\n".join(failures)


def test_a_plugin_set_up_only_in_another_workspace_is_not_set_up_here(hub_app, seeded, other, clients):
    """Its integration in workspace 1 is none: not enabled, no settings, no secret, no webhook URL."""
    _, api, headers = clients[SA]
    answer = api.get("/api/v1/integrations/secondassess", headers=headers).get_json()
    assert answer["enabled"] is False and answer["settings"] == {} and answer["webhook_url"] is None
    assert answer["secrets"] == {"api_key": {"set": False, "set_at": None, "set_by": None}}
    listed = {item["plugin"]: item for item in api.get("/api/v1/integrations", headers=headers).get_json()["items"]}
    assert listed["secondassess"]["enabled"] is False
    names = {(a["provider"], a["id"]) for a in api.get("/api/v1/assessments", headers=headers).get_json()["items"]}
    assert not {name for name in names if name[0] == "secondassess"}  # workspace 1 has not enabled it


def test_writes_without_an_id_leave_another_workspace_alone(hub_app, seeded, other, clients):
    """Every write that takes no id in its path, with bodies pointing at workspace 2 where they
    can (its dead and cancelled deliveries, its plugin of the past, its user, its attachments'
    stages), by every role: 403 without the permission, else the row's answer; workspace 2 unchanged."""
    before = _snapshot(hub_app, other.workspace_id)
    links = _link_patterns(hub_app)
    failures = []
    for write in BULK_WRITES:
        allowed = _allowed(hub_app, write.method, write.rule)
        for role in ROLES:
            body = write.data(role, other)
            response = _ask(clients, role, write.method, write.rule, body, write.rule.startswith("/api/"))
            where = f"{write.method} {write.rule} {body} as {role}"
            status = response.status_code
            if role not in allowed and status != 403:
                failures.append(f"{where}: {status}, expected 403")
            elif role in allowed and (status >= 500 or (write.ok and status not in write.ok)):
                failures.append(f"{where}: {status}, expected {sorted(write.ok or ['< 500'])} "
                                f"{response.get_data(as_text=True)[:300]!r}")
            failures += [f"{where}: {leak}" for leak in leaks(response, other, links, sent=body)]
    assert not failures, "\n".join(failures)
    changed = _changes(before, _snapshot(hub_app, other.workspace_id))
    assert not changed, "workspace 2 changed:\n" + "\n".join(changed)
