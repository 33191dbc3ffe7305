"""The hub's tables (SQLAlchemy 2.0 typed models). Plugins own no tables: they keep their
settings and secrets on ``Integration`` and their bookkeeping in ``PluginRecord``.

All timestamps are timezone-aware UTC in Python and naive UTC in the database (``UTCDateTime``),
so SQLite and PostgreSQL behave the same.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone
from typing import Any, Optional

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

from hub.extensions import db
from hub.store.search_text import search_text as folded_search_text

# Roles, as Lever names them, from most to least access.
SUPER_ADMIN = "super_admin"
ADMIN = "admin"
TEAM_MEMBER = "team_member"
LIMITED_TEAM_MEMBER = "limited_team_member"
ROLES = (SUPER_ADMIN, ADMIN, TEAM_MEMBER, LIMITED_TEAM_MEMBER)
ROLE_LABELS = {
    SUPER_ADMIN: "Super Admin",
    ADMIN: "Admin",
    TEAM_MEMBER: "Team Member",
    LIMITED_TEAM_MEMBER: "Limited Team Member",
}

# Delivery statuses.
D_PENDING = "pending"
D_RUNNING = "running"
D_RETRY = "retry"
D_DONE = "done"
D_DEAD = "dead"
D_CANCELLED = "cancelled"
DELIVERY_STATUSES = (D_PENDING, D_RUNNING, D_RETRY, D_DONE, D_DEAD, D_CANCELLED)
D_OPEN = (D_PENDING, D_RUNNING, D_RETRY)


# The ids of the tables that grow with traffic (events, their keys and deliveries, webhook and
# audit logs, timelines): 64-bit on PostgreSQL, where a 32-bit id would run out after 2^31 rows
# (weeks at a sustained 1,000 webhooks/s); SQLite's integer primary key is 64-bit already, and
# must stay INTEGER to be the rowid.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
ID32_MAX = 2**31 - 1  # the largest id of every other table
ID64_MAX = 2**63 - 1


def is_table_id(value: object, largest: int = ID32_MAX) -> bool:
    """Whether ``value`` can be the id of a row (of a table with 32-bit ids, unless ``largest`` says)."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= largest


def parse_table_id(text: str, largest: int = ID32_MAX) -> int | None:
    """``text`` as the id of a row (``is_table_id``), or None: ASCII digits only ("²" is a digit to
    ``str.isdigit`` but ``int`` refuses it), and few enough for ``int`` (it refuses over 4,300)."""
    if not (isinstance(text, str) and text.isascii() and text.isdigit() and len(text) <= len(str(largest))):
        return None
    value = int(text)
    return value if is_table_id(value, largest) else None


def new_reference_token() -> str:
    """10 random hex characters for an invitation's external reference."""
    return secrets.token_hex(5)


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


class UTCDateTime(TypeDecorator):
    """Stores naive UTC, returns aware UTC; refuses naive datetimes on the way in."""

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(timezone.utc).replace(tzinfo=None)

    def process_result_value(self, value: Optional[datetime], dialect) -> Optional[datetime]:
        if value is None:
            return None
        return value.replace(tzinfo=timezone.utc)


JSONType = sa.JSON().with_variant(sa.dialects.postgresql.JSONB(), "postgresql")


class Workspace(db.Model):
    __tablename__ = "workspaces"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class User(db.Model):
    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200), default="")
    password_hash: Mapped[str] = mapped_column(sa.String(300))
    role: Mapped[str] = mapped_column(sa.String(32))
    active: Mapped[bool] = mapped_column(default=True)
    # raised when the user is deactivated: it is part of the session fingerprint, so a session
    # signed in before stays signed out even once the user is reactivated
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    workspace: Mapped[Workspace] = relationship()

    # flask-login protocol
    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        """What the session cookie keeps: ``<id>:<fingerprint of the password hash>``. A new password
        changes the fingerprint, so every session that still carries the old one stops working
        (``hub.web.auth.load_user``); whoever changed it is signed in again with the new one."""
        return f"{self.id}:{self.session_fingerprint()}"

    def end_sessions(self) -> None:
        """Sign out every session (and remember-me cookie) of this user, wherever it is: a new
        epoch changes the fingerprint each of them carries (``session_fingerprint``). The caller
        commits."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def session_fingerprint(self) -> str:
        """HMAC of the password hash (and, once the user has signed out or been deactivated, of
        the session epoch, which each of those raises) with the app's secret key: the cookie is signed but readable, so it must not carry
        anything of the hash itself. (Epoch 0 leaves the message as it was before epochs, so
        existing sessions stay signed in.)"""
        from flask import current_app

        key = current_app.secret_key
        key = key.encode() if isinstance(key, str) else key
        message = self.password_hash or ""
        if self.session_epoch:
            message += f"|epoch:{self.session_epoch}"
        return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()[:32]

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


class ApiToken(db.Model):
    """A token for ``/api/v1``; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id"))
    # who created it (a Super Admin may create a token acting as another user); None: made before this was kept
    issued_by_id: Mapped[Optional[int]] = mapped_column(
        sa.ForeignKey("users.id", name="fk_api_tokens_issued_by_id_users"))
    name: Mapped[str] = mapped_column(sa.String(200))
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    revoked_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship(foreign_keys=[user_id])
    issuer: Mapped[Optional[User]] = relationship(foreign_keys=[issued_by_id])

    @property
    def suspended(self) -> bool:
        """A token acting as someone other than its issuer works only while its issuer is an active
        Super Admin of its workspace (the one role that may act in someone else's name): one whose
        issuer was demoted is suspended (deactivating them revoked it). A user's own token, and one
        made before the issuer was kept (``issued_by_id`` None), are never suspended."""
        if self.issued_by_id is None or self.issued_by_id == self.user_id:
            return False
        issuer = self.issuer
        return not (issuer is not None and issuer.active and issuer.workspace_id == self.workspace_id
                    and issuer.role == SUPER_ADMIN)


class Integration(db.Model):
    """One plugin's connection in one workspace: settings, encrypted secrets and health."""

    __tablename__ = "integrations"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "plugin"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    plugin: Mapped[str] = mapped_column(sa.String(100))
    enabled: Mapped[bool] = mapped_column(default=False)
    enabled_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    enabled_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    settings: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    secrets_encrypted: Mapped[Optional[str]] = mapped_column(sa.Text)
    secrets_meta: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    webhook_key: Mapped[str] = mapped_column(sa.String(64), unique=True)
    status: Mapped[str] = mapped_column(sa.String(40), default="not_connected")
    status_message: Mapped[Optional[str]] = mapped_column(sa.Text)
    verified_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    last_webhook_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    enabled_by: Mapped[Optional[User]] = relationship()


# what became of a webhook request (WebhookLog.outcome): its events stored (accepted), all of them
# seen before (duplicate), a verification ping, verified but nothing to store (ignored), refused
WEBHOOK_OUTCOMES = ("accepted", "duplicate", "ping", "ignored", "rejected")


class WebhookLog(db.Model):
    """Every inbound webhook request and what became of it (never the body's secrets)."""

    __tablename__ = "webhook_log"
    __table_args__ = (
        # a workspace's webhooks since a time (the Dashboard's refusals of the last day, what an
        # integration missed while disabled); its prefix serves every lookup by workspace
        sa.Index("ix_webhook_log_workspace_received", "workspace_id", "received_at"),
        # whether a refused webhook's body came again and was taken: one lookup per refusal
        sa.Index("ix_webhook_log_digest", "workspace_id", "plugin", "body_digest"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"))
    plugin: Mapped[str] = mapped_column(sa.String(100))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    outcome: Mapped[str] = mapped_column(sa.String(20))  # one of WEBHOOK_OUTCOMES
    status_code: Mapped[int] = mapped_column()
    message: Mapped[str] = mapped_column(sa.Text, default="")
    event_count: Mapped[int] = mapped_column(default=0)
    # the first 128 bits of the SHA-256 of the request's body (hex), never the body: a refused webhook
    # sent again, the same, and accepted is no lost work (``hub.web.queries.refused_webhooks``).
    # None: logged before the hub kept it
    body_digest: Mapped[Optional[str]] = mapped_column(sa.String(32))


class Attachment(db.Model):
    """An assessment attached to a pipeline stage of a posting."""

    __tablename__ = "attachments"
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    posting_id: Mapped[str] = mapped_column(sa.String(200))
    posting_name: Mapped[str] = mapped_column(sa.String(500))
    stage_id: Mapped[str] = mapped_column(sa.String(200))
    stage_name: Mapped[str] = mapped_column(sa.String(500))
    provider: Mapped[str] = mapped_column(sa.String(100))
    assessment_id: Mapped[str] = mapped_column(sa.String(200))
    assessment_name: Mapped[str] = mapped_column(sa.String(500))
    options: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    created_by_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    detached_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    __table_args__ = (
        sa.Index("ix_attachments_lookup", "workspace_id", "posting_id", "stage_id"),
        # one live attachment of an assessment per stage: a second would invite each candidate twice
        sa.Index("uq_attachments_live", "workspace_id", "posting_id", "stage_id", "provider", "assessment_id",
                 unique=True, sqlite_where=sa.text("detached_at IS NULL"),
                 postgresql_where=sa.text("detached_at IS NULL")),
    )


# Indexes that only a migration makes, on PostgreSQL: the trigram index of the Candidates search
# (migration 2d7f4b9e6a15; GIN with pg_trgm's operator class, an extension a model's metadata cannot
# depend on). Autogenerate and the "models and migrations agree" test leave it out.
MIGRATION_ONLY_INDEXES = frozenset({"ix_invitations_search_trgm"})


def include_in_autogenerate(name, type_, parent_names) -> bool:
    """Alembic's ``include_name`` hook: every object but ``MIGRATION_ONLY_INDEXES``."""
    return not (type_ == "index" and name in MIGRATION_ONLY_INDEXES)


class Invitation(db.Model):
    __tablename__ = "invitations"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "opportunity_id", "attachment_id", name="uq_invitation_once"),
        sa.Index("ix_invitations_status", "workspace_id", "status"),
        sa.Index("ix_invitations_workspace_updated", "workspace_id", "updated_at"),  # Candidates' order
        # the API's order (newest first): SQLite's planner, without statistics, takes any index
        # that starts with the workspace and sorts, unless one gives the order (its rowid is the id)
        sa.Index("ix_invitations_workspace_id", "workspace_id"),
        # Activity's search by a candidate page's address; a hash index on PostgreSQL, whose B-tree
        # entries cannot hold the longest addresses the column allows
        sa.Index("ix_invitations_profile_url", "profile_url", postgresql_using="hash"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"))
    attachment_id: Mapped[int] = mapped_column(sa.ForeignKey("attachments.id"))
    opportunity_id: Mapped[str] = mapped_column(sa.String(200), index=True)
    posting_id: Mapped[Optional[str]] = mapped_column(sa.String(200))
    candidate_name: Mapped[Optional[str]] = mapped_column(sa.String(500))
    candidate_email: Mapped[Optional[str]] = mapped_column(sa.String(320))
    # the name and email folded for the Candidates search (hub.store.search_text), kept by
    # _keep_search_text below on every ORM write
    search_text: Mapped[Optional[str]] = mapped_column(sa.Text)
    profile_url: Mapped[Optional[str]] = mapped_column(sa.String(2000))
    provider: Mapped[str] = mapped_column(sa.String(100))
    assessment_id: Mapped[str] = mapped_column(sa.String(200))
    assessment_name: Mapped[str] = mapped_column(sa.String(500))
    status: Mapped[str] = mapped_column(sa.String(20))
    round: Mapped[int] = mapped_column(default=1)
    # part of the reference the vendor stores (``entities.Invitation.external_reference``): ids
    # repeat across databases (a second hub on the same vendor account, a restored backup)
    reference_token: Mapped[Optional[str]] = mapped_column(sa.String(20), default=new_reference_token)
    provider_invitation_id: Mapped[Optional[str]] = mapped_column(sa.String(200))
    invite_url: Mapped[Optional[str]] = mapped_column(sa.String(2000))
    score: Mapped[Optional[float]] = mapped_column()
    max_score: Mapped[Optional[float]] = mapped_column()
    # the attachment's pass threshold (percent) when the result was recorded: editing the
    # attachment later must not change whether a past result passed
    pass_threshold: Mapped[Optional[float]] = mapped_column()
    report_url: Mapped[Optional[str]] = mapped_column(sa.String(2000))
    verdict: Mapped[Optional[str]] = mapped_column(sa.String(20))
    failure_reason: Mapped[Optional[str]] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    invited_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    started_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    completed_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    verdict_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    attachment: Mapped[Attachment] = relationship()


@sa.event.listens_for(Invitation, "before_insert")
@sa.event.listens_for(Invitation, "before_update")
def _keep_search_text(_mapper, _connection, target: Invitation) -> None:
    """``search_text`` follows the name and email on every ORM write (a bulk ``UPDATE`` of either
    must set it too: ``hub.store.search_text.search_text``)."""
    target.search_text = folded_search_text(target.candidate_name, target.candidate_email)


class TimelineEntry(db.Model):
    """One step in an invitation's life, for the candidate's timeline page."""

    __tablename__ = "timeline"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    invitation_id: Mapped[int] = mapped_column(sa.ForeignKey("invitations.id"), index=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    kind: Mapped[str] = mapped_column(sa.String(40))
    source: Mapped[str] = mapped_column(sa.String(100))
    detail: Mapped[str] = mapped_column(sa.Text, default="")
    # ids the entry is about, by documented key (``hub.engine.invitations.TIMELINE_REFS``); None on
    # entries that name none, and on every entry written before refs existed
    refs: Mapped[Optional[dict[str, str]]] = mapped_column(JSONType)


class Event(db.Model):
    """A verified inbound event. Unique per workspace, source plugin and the sender's event id."""

    __tablename__ = "events"
    __table_args__ = (
        sa.UniqueConstraint("workspace_id", "source_plugin", "external_id", name="uq_event_external"),
        # every lookup by subject is within a workspace (a candidate's page, the runner's wake-ups)
        sa.Index("ix_events_workspace_subject", "workspace_id", "subject"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    source_plugin: Mapped[str] = mapped_column(sa.String(100))
    type: Mapped[str] = mapped_column(sa.String(50))
    external_id: Mapped[str] = mapped_column(sa.String(300))
    subject: Mapped[Optional[str]] = mapped_column(sa.String(200))
    payload: Mapped[dict[str, Any]] = mapped_column(JSONType)
    outcome: Mapped[str] = mapped_column(sa.String(30), default="delivered")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    deliveries: Mapped[list["Delivery"]] = relationship(back_populates="event", cascade="all, delete-orphan")


class EventKey(db.Model):
    """Every id under which an event was seen (its external id and aliases), for deduplication."""

    __tablename__ = "event_keys"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "source_plugin", "key", name="uq_event_key"),)
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"))
    source_plugin: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(300))
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class Delivery(db.Model):
    """One event handed to one plugin's hook implementation."""

    __tablename__ = "deliveries"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "plugin", name="uq_delivery_once"),
        sa.Index("ix_deliveries_due", "status", "next_attempt_at"),
        # a workspace's deliveries of a status (Activity's filter, the Dashboard's counts, "work pending")
        sa.Index("ix_deliveries_workspace_status", "workspace_id", "status"),
    )
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    event_id: Mapped[int] = mapped_column(BigId, sa.ForeignKey("events.id", ondelete="CASCADE"))
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"))
    plugin: Mapped[str] = mapped_column(sa.String(100))
    hook: Mapped[str] = mapped_column(sa.String(100))
    status: Mapped[str] = mapped_column(sa.String(20), default=D_PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    deferrals: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # set at the first of an unbroken run of deferrals (``Deferred``), cleared by any other outcome
    waiting_since: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    lease_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)
    lease_token: Mapped[Optional[str]] = mapped_column(sa.String(40))
    last_error: Mapped[Optional[str]] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    finished_at: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    event: Mapped[Event] = relationship(back_populates="deliveries")


class AuditEntry(db.Model):
    """Who did what to which integration, setting, attachment or user, and when."""

    __tablename__ = "audit_log"
    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"), index=True)
    user_id: Mapped[Optional[int]] = mapped_column(sa.ForeignKey("users.id"))
    actor: Mapped[str] = mapped_column(sa.String(320))
    action: Mapped[str] = mapped_column(sa.String(100))
    target: Mapped[str] = mapped_column(sa.String(400))  # "user:" + an email of up to 320 characters
    detail: Mapped[dict[str, Any]] = mapped_column(JSONType, default=dict)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)


class PluginRecord(db.Model):
    """A plugin's small key-value bookkeeping (a note already written, a webhook it registered)."""

    __tablename__ = "plugin_records"
    __table_args__ = (sa.UniqueConstraint("workspace_id", "plugin", "key", name="uq_plugin_record"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    workspace_id: Mapped[int] = mapped_column(sa.ForeignKey("workspaces.id"))
    plugin: Mapped[str] = mapped_column(sa.String(100))
    key: Mapped[str] = mapped_column(sa.String(300))
    value: Mapped[Any] = mapped_column(JSONType)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class Lock(db.Model):
    """A named lease, so one worker among many does a thing at a time (e.g. an OAuth refresh)."""

    __tablename__ = "locks"
    name: Mapped[str] = mapped_column(sa.String(300), primary_key=True)
    holder: Mapped[str] = mapped_column(sa.String(64))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignInThrottle(db.Model):
    """Failed sign-ins per key (an email from one address, an address, an email: ``hub.web.auth``),
    to slow down password guessing."""

    __tablename__ = "sign_in_throttle"
    key: Mapped[str] = mapped_column(sa.String(400), primary_key=True)
    failures: Mapped[int] = mapped_column(default=0)
    first_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_until: Mapped[Optional[datetime]] = mapped_column(UTCDateTime)

    def seconds_locked(self, now: datetime) -> int:
        """Whole seconds (rounded up) until this key may try again; 0 when it is not locked."""
        if self.locked_until is None or self.locked_until <= now:
            return 0
        return max(1, int((self.locked_until - now).total_seconds() + 0.999))

    def starts_afresh(self, now: datetime, window: timedelta) -> bool:
        """Whether the next attempt counts from zero, for a row not locked now (``seconds_locked``
        0): a lock that has ended, or failures older than the window. (An email slowed down, whose
        short waits end within its window, starts afresh with the window alone: ``hub.web.auth``.)"""
        return self.locked_until is not None or self.first_failure_at + window < now

    @staticmethod
    def expired(now: datetime, window: timedelta):
        """The rows that no longer slow anyone down: older than the window and not locked (never,
        or until a time that has passed). A new attempt starts afresh from them
        (``hub.web.auth.reserve_attempt``), so the retention purge deletes them: a sign-in with a new
        email each time adds a row. A lock lasts the window from its last failure, so a lock that
        has ended has its window behind it; an email slowed down (short waits, ``hub.web.auth``) is
        kept until its window is over, however many of its waits have passed."""
        return sa.and_(SignInThrottle.first_failure_at < now - window,
                       sa.or_(SignInThrottle.locked_until.is_(None), SignInThrottle.locked_until <= now))
