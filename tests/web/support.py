"""Test support for the web tests: a fake source (ATS) and a fake assessment provider registered as
plugins, a seeded workspace with a user of every role, and a second workspace to prove isolation.

``seeded`` gives every role its own copy of each resource an action consumes (an attachment to
detach, an invitation to re-invite, a dead delivery to replay...), so the permission matrix can
run every allowed action for every allowed role against one database.
"""

from __future__ import annotations

import copy
import itertools
from dataclasses import dataclass, field
from datetime import datetime, timezone

import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from hub import hookimpl
from hub.entities import ArchiveReason, Assessment, IntegrationSpec, Posting, Stage, WebhookResult
from hub.errors import HubError

PASSWORD = "correct horse battery"
ROLES = ("super_admin", "admin", "team_member", "limited_team_member")
SECRET_VALUE = "sk-live-SUPERSECRET-123"


class FakeSourceSettings(Schema):
    account = fields.String(required=True, metadata={"description": "Your account name at Fake ATS."})
    region = fields.String(load_default="eu", validate=validate.OneOf(["eu", "us"], labels=["Europe", "United States"]),
                           metadata={"description": "Where your account lives."})
    base_url = fields.Url(load_default="https://api.fake-ats.example", metadata={"connection": True})
    contact = fields.Email(allow_none=True, load_default=None)
    max_rate = fields.Integer(load_default=10, validate=validate.Range(min=1, max=50),
                              metadata={"title": "Requests per second"})
    sandbox = fields.Boolean(load_default=False, metadata={"description": "Use the vendor's sandbox."})
    api_key = fields.String(required=True, metadata={"description": "From Settings > Integrations at Fake ATS.",
                                                     "connection": True})
    signature_token = fields.String(load_default=None, allow_none=True)


class FakeAssessSettings(Schema):
    api_key = fields.String()


class FakeSource:
    """A source plugin whose live lists are set by the test (``fail`` makes them raise)."""

    def __init__(self):
        self.postings = [
            Posting("p1", "Python Developer", "published", owner_email="owner@acme.test",
                    follower_emails=("limited_team_member@acme.test",)),
            Posting("p2", "Support Engineer", "published", hiring_manager_email="someone@acme.test"),
        ]
        self.stages = [Stage(f"s{i}", f"Stage {i}") for i in range(1, 11)] + [Stage("canditech", "Canditech Stage")]
        self.archive_reasons = [ArchiveReason("reason-1", "Not a fit"), ArchiveReason("reason-2", "Withdrew")]
        self.fail: Exception | None = None
        self.calls: list[str] = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Fake ATS", settings_schema=FakeSourceSettings,
                                 secret_fields=("api_key", "signature_token"), description="A test ATS",
                                 version="1.2.3", supports_oauth=True, supports_webhook_setup=True))

    def _maybe_fail(self, name):
        self.calls.append(name)
        if self.fail is not None:
            raise self.fail

    @hookimpl
    def source_list_postings(self, ctx):
        self._maybe_fail("source_list_postings")
        return list(self.postings)

    @hookimpl
    def source_list_stages(self, ctx, posting_id):
        self._maybe_fail("source_list_stages")
        return list(self.stages)

    @hookimpl
    def source_list_archive_reasons(self, ctx):
        self._maybe_fail("source_list_archive_reasons")
        return list(self.archive_reasons)

    @hookimpl
    def test_connection(self, ctx):
        self._maybe_fail("test_connection")
        return "Fake ATS answered."

    @hookimpl
    def oauth_authorize_url(self, ctx, redirect_uri, state):
        self.calls.append("oauth_authorize_url")
        return f"https://auth.fake-ats.example/authorize?state={state}&redirect_uri={redirect_uri}"

    @hookimpl
    def oauth_complete(self, ctx, redirect_uri, params):
        self.calls.append("oauth_complete")
        ctx.update_secrets({"api_key": "oauth-" + params.get("code", "")})
        return "Fake ATS is connected."

    @hookimpl
    def setup_webhooks(self, ctx):
        self._maybe_fail("setup_webhooks")
        return "Webhooks registered at Fake ATS."

    @hookimpl
    def disconnect(self, ctx):
        self.calls.append("disconnect")

    @hookimpl
    def verify_webhook(self, ctx, request):
        return WebhookResult(ping=True)


class FakeAssess:
    def __init__(self):
        self.assessments = [Assessment("py", "Python Developer", 60, 100.0),
                            Assessment("sup", "Support Basics", 30, 50.0)]
        self.fail: Exception | None = None
        self.reinvites: list[int] = []
        self.stage_changes: list[str] = []
        self.statuses: list[tuple[int, str]] = []

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="assessment", title="Fake Tests", settings_schema=FakeAssessSettings,
                                 secret_fields=("api_key",)))

    @hookimpl
    def list_assessments(self, ctx):
        if self.fail is not None:
            raise self.fail
        return list(self.assessments)

    @hookimpl
    def on_stage_change(self, ctx, change):
        self.stage_changes.append(change.opportunity_id)

    @hookimpl
    def on_reinvite_requested(self, ctx, request):
        self.reinvites.append(request.invitation_id)

    @hookimpl
    def on_invitation_status(self, ctx, progress):
        self.statuses.append((progress.invitation_id, progress.status))


@dataclass
class Seed:
    """Ids of what ``seed`` created. ``per_role[role][name]`` is that role's own copy."""

    workspace_id: int
    users: dict[str, int] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)
    ids: dict[str, int] = field(default_factory=dict)
    per_role: dict[str, dict[str, int]] = field(default_factory=dict)
    other: dict[str, int] = field(default_factory=dict)  # the second workspace's ids

    def email(self, role: str) -> str:
        return f"{role}@acme.test"


_counter = itertools.count(1)
_HASH: list[str] = []


def make_user(ws: int, email: str, role: str, name: str = ""):
    """A user with the test password. Real hashes are slow on purpose; tests use a cheap pbkdf2
    (``check_password_hash`` reads the method from the hash, so sign-in works the same)."""
    from werkzeug.security import generate_password_hash

    from hub.extensions import db
    from hub.store.models import User

    if not _HASH:
        _HASH.append(generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000"))
    user = User(workspace_id=ws, email=email, role=role, name=name or email.split("@")[0], password_hash=_HASH[0])
    db.session.add(user)
    db.session.flush()
    return user


def _attachment(ws, posting="p1", stage="s1", provider="fakeassess", assessment="py", name="Python Developer"):
    from hub.extensions import db
    from hub.store.models import Attachment

    row = Attachment(workspace_id=ws, posting_id=posting,
                     posting_name={"p1": "Python Developer", "p2": "Support Engineer"}.get(posting, posting),
                     stage_id=stage, stage_name=f"Stage {stage[1:]}" if stage.startswith("s") else stage,
                     provider=provider, assessment_id=assessment, assessment_name=name, options={})
    db.session.add(row)
    db.session.flush()
    return row


def _invitation(ws, attachment, status="invited", posting="p1", name=None, email=None, **extra):
    from hub.engine.invitations import add_timeline
    from hub.extensions import db
    from hub.store.models import Invitation

    n = next(_counter)
    row = Invitation(workspace_id=ws, attachment_id=attachment.id, opportunity_id=f"opp-{n}", posting_id=posting,
                     candidate_name=name or f"Candidate {n}", candidate_email=email or f"candidate{n}@mail.test",
                     profile_url=f"https://ats.example/candidates/opp-{n}", provider=attachment.provider,
                     assessment_id=attachment.assessment_id, assessment_name=attachment.assessment_name,
                     status=status, **extra)
    db.session.add(row)
    db.session.flush()
    add_timeline(db.session, row, "created", "fakeassess", "Python Developer for stage Stage 1")
    return row


def _dead_delivery(ws, payload=None):
    from hub.extensions import db
    from hub.store.models import Delivery, Event

    n = next(_counter)
    event = Event(workspace_id=ws, source_plugin="fakesource", type="stage_change", external_id=f"evt-{n}",
                  subject=f"opp-{n}", payload=payload or {"opportunity_id": f"opp-{n}", "to_stage_id": "s1"})
    db.session.add(event)
    db.session.flush()
    delivery = Delivery(event_id=event.id, workspace_id=ws, plugin="fakeassess", hook="on_stage_change",
                        status="dead", attempts=8, last_error="TemporaryError: vendor down")
    db.session.add(delivery)
    db.session.flush()
    return delivery


def seed(app) -> Seed:
    """Users of every role (with API tokens), both fake integrations enabled, and per-role resources.

    Seeding through the services costs about 40% of a web test's CPU, and nearly every web test
    seeds. So the first seed of a process on each kind of app (``_seed_kind``) goes through the
    services, and its rows are kept (``_SeedCopy``); a later seed whose database holds what the
    first one's held before it (``_contents`` without timestamps) gets those rows written back as
    they were (ids, hashes and encrypted secrets alike), timestamps moved forward by the time
    since, so every age reads as if just seeded. Anything else seeds through the services."""
    with app.app_context():
        kind = _seed_kind(app)
        before = _contents(timestamps=False)
        kept = _SEED_COPIES.get(kind)
        if kept is not None and kept.before == before:
            kept.write_back()
            return copy.deepcopy(kept.result)
    result = _seed_through_services(app)
    with app.app_context():
        _SEED_COPIES[kind] = _SeedCopy(before, _contents(timestamps=True), datetime.now(timezone.utc),
                                       copy.deepcopy(result))
    return result


def _seed_kind(app) -> tuple:
    """What ``seed``'s rows depend on besides the database's contents: its dialect, the keys that
    encrypt its secrets, the plugins' specs (their settings schemas validate what is saved) and
    the settings a test overrode. Called inside ``app``'s context."""
    from hub.runtime import get_runtime

    specs = get_runtime().registry.specs
    overridden = app.extensions.get("hub.test_overrides", ())
    return (app.config["DATABASE_URL"].split(":", 1)[0], str(app.config.get("ENCRYPTION_KEYS")),
            tuple(sorted((name, repr(spec)) for name, spec in specs.items())),
            tuple(sorted((name, repr(app.config.get(name))) for name in overridden if name != "DATABASE_URL")))


def _contents(timestamps: bool) -> dict[str, list[dict]]:
    """Every row of every hub table that has any, by table (in dependency order; an empty table is
    left out), in primary-key order; with ``timestamps=False`` each datetime is left out (they
    differ between any two seeds). One query counts the rows of every table first: a new test
    app's tables are empty but one."""
    from hub.extensions import db

    tables = db.metadata.sorted_tables
    counts = dict(db.session.execute(sa.text(" UNION ALL ".join(
        f"SELECT '{table.name}', (SELECT count(*) FROM \"{table.name}\")" for table in tables))).all())
    out = {}
    for table in (table for table in tables if counts[table.name]):
        out[table.name] = [dict(row) for row in
                           db.session.execute(sa.select(table).order_by(*table.primary_key.columns)).mappings()]
    return out if timestamps else without_timestamps(out)


def without_timestamps(contents: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """``_contents``'s rows with every datetime value left out."""
    return {table: [{k: v for k, v in row.items() if not isinstance(v, datetime)} for row in rows]
            for table, rows in contents.items()}


@dataclass
class _SeedCopy:
    before: dict[str, list[dict]]
    after: dict[str, list[dict]]
    taken_at: datetime
    result: Seed

    def write_back(self) -> None:
        """Replace the rows of a database holding ``before`` with the kept ones (``after``),
        timestamps moved forward by the time since they were kept; on PostgreSQL the id sequence of
        each table written then continues after its rows."""
        from hub.extensions import db

        shift = datetime.now(timezone.utc) - self.taken_at
        tables = db.metadata.sorted_tables
        for table in reversed(tables):
            if table.name in self.before:
                db.session.execute(table.delete())
        for table in tables:
            rows = [{k: v + shift if isinstance(v, datetime) else copy.deepcopy(v) for k, v in row.items()}
                    for row in self.after.get(table.name, ())]
            if rows:
                db.session.execute(table.insert(), rows)
        if db.engine.dialect.name == "postgresql":
            numbered = [table for table in tables if table.name in self.after and len(table.primary_key.columns) == 1
                        and isinstance(next(iter(table.primary_key.columns)).type, sa.Integer)]
            if numbered:
                db.session.execute(sa.text("SELECT " + ", ".join(
                    f"setval(pg_get_serial_sequence('{t.name}', '{c.name}'), (SELECT max(\"{c.name}\") FROM \"{t.name}\"))"
                    for t in numbered for c in t.primary_key.columns)))
        db.session.commit()


_SEED_COPIES: dict[tuple, _SeedCopy] = {}


def _seed_through_services(app) -> Seed:
    from hub import services
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import ApiToken, User, Workspace

    with app.app_context():
        ws = services.default_workspace().id
        result = Seed(workspace_id=ws)
        for role in ROLES:
            user = make_user(ws, result.email(role), role, name=role.replace("_", " ").title())
            result.users[role] = user.id
            result.tokens[role] = services.create_api_token(user, f"{role} token")
        super_admin = db.session.get(User, result.users["super_admin"])
        services.create_api_token(super_admin, "spare token")
        result.ids["spare_token"] = db.session.scalar(sa.select(ApiToken.id).where(ApiToken.name == "spare token"))
        runtime = get_runtime()
        for plugin in ("fakesource", "fakeassess"):
            services.set_enabled(runtime, ws, plugin, True, "test")
        services.save_settings(runtime, ws, "fakesource", {"account": "acme", "api_key": SECRET_VALUE}, "test")

        shared = _attachment(ws, "p1", "s1")
        other_posting = _attachment(ws, "p2", "s2", assessment="sup", name="Support Basics")
        result.ids["attachment"] = shared.id
        result.ids["invitation"] = _invitation(ws, shared, "completed", score=81.0, max_score=100.0,
                                               report_url="https://tests.example/report/1", name="Ada Lovelace",
                                               email="ada@mail.test").id
        result.ids["invitation_p2"] = _invitation(ws, other_posting, "invited", posting="p2", name="Grace Hopper",
                                                  email="grace@mail.test").id
        result.ids["delivery"] = _dead_delivery(ws, {"opportunity_id": "opp-x", "to_stage_id": "s1",
                                                     "api_token": SECRET_VALUE}).id
        for i, role in enumerate(ROLES):
            own = {}
            own["att_keep"] = _attachment(ws, "p1", f"s{3 + i}").id
            for name, posting in (("att_detach_ui", "p1"), ("att_detach_api", "p2")):  # one live copy per stage
                own[name] = _attachment(ws, posting, f"s{3 + i}", assessment="sup", name="Support Basics").id
            keep = db.session.get(type(shared), own["att_keep"])
            own["inv_reinvite_ui"] = _invitation(ws, keep, "failed", failure_reason="no email").id
            own["inv_reinvite_api"] = _invitation(ws, keep, "expired").id
            own["inv_cancel_ui"] = _invitation(ws, keep, "invited").id
            own["inv_cancel_api"] = _invitation(ws, keep, "started").id
            own["dlv_ui"] = _dead_delivery(ws).id
            own["dlv_api"] = _dead_delivery(ws).id
            target = make_user(ws, f"target-{role}@acme.test", "team_member")
            own["target_user"] = target.id
            own["stage_new_ui"] = 7 + i  # s7..s10 are free stages for new attachments
            result.per_role[role] = own
        db.session.commit()

        other = Workspace(name="Other company")
        db.session.add(other)
        db.session.flush()
        o_att = _attachment(other.id, "p1", "s1")
        result.other["attachment_id"] = o_att.id
        result.other["invitation_id"] = _invitation(other.id, o_att, "failed").id
        result.other["delivery_id"] = _dead_delivery(other.id).id
        o_user = make_user(other.id, "someone@other.test", "team_member")
        result.other["user_id"] = o_user.id
        db.session.commit()
        return result


def sign_in(client, email: str, password: str = PASSWORD, follow: bool = False):
    return client.post("/sign-in", data={"email": email, "password": password}, follow_redirects=follow)


def api_headers(seed: Seed, role: str) -> dict:
    return {"Authorization": f"Bearer {seed.tokens[role]}"}


def vendor_error(message: str = "vendor is down") -> Exception:
    return HubError(message, status=502, code="vendor_down")


def api_error(response, status: int) -> dict:
    """The API's ``error`` object of ``response``, which must have ``status``."""
    assert response.status_code == status, response.get_data(as_text=True)[:300]
    return response.get_json()["error"]


__all__ = ["FakeSource", "FakeAssess", "seed", "sign_in", "api_headers", "PASSWORD", "ROLES", "SECRET_VALUE", "api_error"]


def client_from(app, address: str, forwarded: str | None = None):
    """A test client whose requests come from ``address`` (and carry ``X-Forwarded-For: forwarded``)."""
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    if forwarded:
        client.environ_base["HTTP_X_FORWARDED_FOR"] = forwarded
    return client
