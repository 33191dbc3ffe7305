"""Operations shared by the CLI, the admin UI and the JSON API, so each is written once.

Each function validates its input (raising ``hub.errors.HubError`` subclasses with a message safe
to show), does its work in one transaction, writes the audit log, and commits.
"""

from __future__ import annotations

import hashlib
import logging
import json
import re
import secrets
from collections import Counter
from dataclasses import dataclass, field as dataclass_field, replace
from typing import Any, Iterable, Mapping

import sqlalchemy as sa
from marshmallow import ValidationError, missing
from sqlalchemy.exc import IntegrityError
from werkzeug.security import generate_password_hash

from hub.engine.runner import replay
from hub.entities import SOURCE, Attachment as AttachmentEntity, ConnectionState
from hub.errors import BadRequest, Conflict, HubError, NotFound, ValidationFailed
from hub.extensions import db
from hub.kit.vendor_http import control_characters
from hub.setting_labels import schema_labels
from hub.store.models import (
    ROLES, SUPER_ADMIN, D_OPEN, D_CANCELLED, D_DEAD, ApiToken, Attachment, AuditEntry, Delivery, Event, Integration,
    SignInThrottle,
    User, Workspace,
    utcnow,
)

_log = logging.getLogger("hub.services")

# no spaces, and none of the characters an address may hold only quoted (RFC 5322 "specials"):
# "<script>@example.com" is no mailbox anyone can receive at
_ATOM = r'[^@\s<>()\[\]\\,;:"]+'
EMAIL_RE = re.compile(rf"^{_ATOM}@{_ATOM}\.{_ATOM}$")
MIN_PASSWORD = 10
MAX_PASSWORD = 256  # room for a passphrase; past it, hashing a pasted document at every sign-in is the cost


def audit(workspace_id: int, actor: User | str | None, action: str, target: str, **detail: Any) -> None:
    """Add an audit entry to the current transaction (the caller commits)."""
    user_id = actor.id if isinstance(actor, User) else None
    name = actor.email if isinstance(actor, User) else (actor or "system")
    db.session.add(AuditEntry(workspace_id=workspace_id, user_id=user_id, actor=name, action=action,
                              target=target, detail=detail))


# --------------------------------------------------------------------------- workspaces and users


def default_workspace() -> Workspace:
    workspace = db.session.scalar(sa.select(Workspace).order_by(Workspace.id).limit(1))
    if workspace is None:
        workspace = Workspace(name="Default workspace")
        db.session.add(workspace)
    db.session.commit()
    return workspace


def _column_length(column) -> int:
    return column.property.columns[0].type.length


MAX_EMAIL = _column_length(User.email)  # 320
MAX_EMAIL_LOCAL_PART = 64
MAX_NAME = _column_length(User.name)  # 200


def hidden_character(text: str) -> str | None:
    """The first character of ``text`` that shows as nothing or moves what follows (a control
    character such as ``\x01``, a format character such as a zero-width space ``\u200b`` or a
    right-to-left override ``\u202e``: ``hub.kit.vendor_http.control_characters``, which plugins'
    settings use), as ``U+XXXX``; None when there is none. Two emails or names that look the same
    on a page must be the same."""
    found = control_characters(text)
    return f"U+{ord(found[0]):04X}" if found else None


def validate_email(email: str) -> str:
    email = (email or "").strip().lower()
    if len(email) > MAX_EMAIL:
        raise ValidationFailed(f"the email address is too long (at most {MAX_EMAIL} characters)",
                               {"email": [f"Longer than maximum length {MAX_EMAIL}."]})
    hidden = hidden_character(email)
    if hidden:
        message = f"not a valid email address: it holds an invisible or control character ({hidden})"
        raise ValidationFailed(message, {"email": [message[0].upper() + message[1:] + "."]})
    if not EMAIL_RE.match(email):
        raise ValidationFailed("not a valid email address", {"email": ["not a valid email address"]})
    if len(email.rsplit("@", 1)[0]) > MAX_EMAIL_LOCAL_PART:  # RFC 5321: no mail server takes a longer one
        raise ValidationFailed(f"the part before @ is too long (at most {MAX_EMAIL_LOCAL_PART} characters)",
                               {"email": [f"The part before @ is longer than {MAX_EMAIL_LOCAL_PART} characters."]})
    return email


def validate_name(name: str | None, email: str) -> str:
    """A user's display name, trimmed; the email's local part (cut to fit) when none is given."""
    name = (name or "").strip()
    if len(name) > MAX_NAME:
        raise ValidationFailed(f"the name is too long ({len(name)} characters; at most {MAX_NAME})",
                               {"name": [f"Longer than maximum length {MAX_NAME}."]})
    hidden = hidden_character(name)
    if hidden:
        raise ValidationFailed(f"the name holds an invisible or control character ({hidden})",
                               {"name": [f"Holds an invisible or control character ({hidden})."]})
    return name or email.split("@")[0][:MAX_NAME]


def create_user(workspace_id: int, email: str, role: str, password: str | None = None, name: str = "",
                actor: User | str | None = None) -> tuple[User, str | None]:
    """Create a user; returns the user and the generated password when none was given."""
    email = validate_email(email)
    name = validate_name(name, email)
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", {"role": ["unknown role"]})
    generated = None
    if password is None:
        generated = password = generate_password()
    validate_password(password)
    if db.session.scalar(sa.select(User.id).where(User.email == email)) is not None:
        raise Conflict(f"a user with the email {email} already exists")
    user = User(workspace_id=workspace_id, email=email, name=name, role=role,
                password_hash=generate_password_hash(password))
    db.session.add(user)
    db.session.flush()
    audit(workspace_id, actor, "user.create", f"user:{email}", role=role)
    db.session.commit()
    return user, generated


def generate_password() -> str:
    """A one-time password for a new user or a reset: 16 URL-safe characters (96 bits)."""
    return secrets.token_urlsafe(12)


BLANK_PASSWORD = "password must not be only spaces"


def validate_password(password: str) -> str:
    """The one password rule (creation, change, reset): ``MIN_PASSWORD`` to ``MAX_PASSWORD`` characters,
    not only spaces (spaces around or between other characters are kept: a passphrase has them, and
    signing in takes the password as typed)."""
    if password and not password.strip():
        raise ValidationFailed(BLANK_PASSWORD, {"password": ["only spaces"]})
    if len(password or "") < MIN_PASSWORD:
        raise ValidationFailed(f"password must have at least {MIN_PASSWORD} characters",
                               {"password": ["too short"]})
    if len(password) > MAX_PASSWORD:
        raise ValidationFailed(f"password must have at most {MAX_PASSWORD} characters (this one has {len(password)})",
                               {"password": ["too long"]})
    return password


def sign_in_throttle_key(email: str) -> str:
    """The ``SignInThrottle`` key of an email's failed sign-ins from every address together
    (``hub.web.auth``: past its limit they slow down, they do not lock)."""
    return f"email:{email}"


def sign_in_throttle_pair_key(email: str, address: str) -> str:
    """The ``SignInThrottle`` key of an email's failed sign-ins from one client address (the one
    that locks). The address (no spaces) comes first, so no email typed into the form can make a
    key of another email's, or of another kind (``email:``, ``address:``)."""
    return f"from:{address} {sign_in_throttle_key(email)}"


def sign_in_throttle_address_key(address: str) -> str:
    """The ``SignInThrottle`` key of one client address's failed sign-ins, at any emails."""
    return f"address:{address}"


def sign_in_throttle_browser_key(browser: str, email: str) -> str:
    """The ``SignInThrottle`` key of an email's failed sign-ins from one known browser (the nonce
    of its cookie, ``hub.web.auth``): the only count such a browser's attempts at that email add to."""
    return f"browser:{browser} {sign_in_throttle_key(email)}"


def _sign_in_throttles_of(email: str):
    """The ``SignInThrottle`` rows of ``email``: its own, those of it from each address and from each
    known browser."""
    key = sign_in_throttle_key(email)
    return sa.or_(SignInThrottle.key == key,
                  sa.and_(sa.or_(SignInThrottle.key.startswith("from:"), SignInThrottle.key.startswith("browser:")),
                          SignInThrottle.key.endswith(f" {key}", autoescape=True)))


def set_password(user: User, password: str | None = None, actor: User | str | None = None) -> str | None:
    """Give ``user`` a new password; returns it when it was generated (none given), to show once.

    The user changing their own password is ``user.password_change``; anyone else setting it (an
    admin on the Users page, the CLI) is a reset, ``user.password_reset``, which also lifts the
    sign-in locks on the email, from every address (not an address's own: ``hub.web.auth``). Either
    way every session signed in with the old password stops working (``User.get_id``). API tokens are not touched. The password is never logged."""
    generated = None
    if password is None:
        generated = password = generate_password()
    validate_password(password)
    user.password_hash = generate_password_hash(password)
    own = isinstance(actor, User) and actor.id == user.id
    if not own:
        db.session.execute(sa.delete(SignInThrottle).where(_sign_in_throttles_of(user.email)))
    audit(user.workspace_id, actor, "user.password_change" if own else "user.password_reset", f"user:{user.email}")
    db.session.commit()
    return generated


def set_role(user: User, role: str, actor: User | str | None = None) -> None:
    if role not in ROLES:
        raise ValidationFailed(f"role must be one of {', '.join(ROLES)}", {"role": ["unknown role"]})
    if user.role == SUPER_ADMIN and role != SUPER_ADMIN and _last_super_admin(user):
        raise Conflict("this is the workspace's last Super Admin; make someone else Super Admin first")
    old = user.role
    user.role = role
    audit(user.workspace_id, actor, "user.role", f"user:{user.email}", old=old, new=role)
    db.session.commit()


def set_active(user: User, active: bool, actor: User | str | None = None) -> None:
    if not active and user.role == SUPER_ADMIN and _last_super_admin(user):
        raise Conflict("this is the workspace's last Super Admin; it cannot be deactivated")
    revoked = 0
    if not active and user.active:
        # signed out for good: reactivating the user later must not bring back a session or a
        # token taken before (a lost laptop, a compromised account)
        user.end_sessions()
        # their own tokens and those they issued to act as others: a Super Admin who leaves keeps no
        # one's power through a token they made
        revoked = db.session.execute(sa.update(ApiToken).where(
            sa.or_(ApiToken.user_id == user.id, ApiToken.issued_by_id == user.id),
            ApiToken.revoked_at.is_(None)).values(revoked_at=utcnow())).rowcount
    user.active = active
    audit(user.workspace_id, actor, "user.activate" if active else "user.deactivate", f"user:{user.email}",
          **({"api_tokens_revoked": revoked} if revoked else {}))
    db.session.commit()


def _last_super_admin(user: User) -> bool:
    """Whether no active Super Admin other than ``user`` is left (an inactive one, demoted or
    deactivated, takes nothing away)."""
    others = db.session.scalar(sa.select(sa.func.count(User.id)).where(
        User.workspace_id == user.workspace_id, User.role == SUPER_ADMIN, User.active.is_(True),
        User.id != user.id))
    return user.active and others == 0


def create_api_token(user: User, name: str, issuer: User | None = None) -> str:
    """A new API token acting as ``user``, created by ``issuer`` (default: ``user``); only its hash
    is stored, the token is returned once. Audited once, as ``api_token.create`` by the issuer, with
    the token's id and, for a token acting as someone else, whom it acts as (``acts_as``)."""
    issuer = issuer or user
    token = "hub_" + secrets.token_urlsafe(32)
    row = ApiToken(workspace_id=user.workspace_id, user_id=user.id, issued_by_id=issuer.id, name=name or "token",
                   token_hash=hash_token(token))
    db.session.add(row)
    db.session.flush()
    detail: dict[str, Any] = {"token_id": row.id}
    if issuer.id != user.id:
        detail["acts_as"] = user.email
    audit(user.workspace_id, issuer, "api_token.create", f"token:{name}", **detail)
    db.session.commit()
    return token


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --------------------------------------------------------------------------- integrations


def get_integration(runtime, workspace_id: int, plugin: str, create: bool = True) -> Integration:
    if plugin not in runtime.registry.specs:
        raise NotFound(f"no plugin named {plugin!r} is installed")
    row = runtime.integration(workspace_id, plugin)
    if row is None:
        if not create:
            raise NotFound(f"{runtime.registry.title(plugin)} is not set up in this workspace")
        row = Integration(workspace_id=workspace_id, plugin=plugin, enabled=False, settings={},
                          secrets_meta={}, webhook_key=secrets.token_urlsafe(32))
        db.session.add(row)
        db.session.commit()
    return row


def set_enabled(runtime, workspace_id: int, plugin: str, enabled: bool, actor: User | str | None) -> Integration:
    """Enable or disable ``plugin`` in the workspace (disabling cancels its open deliveries; enabling
    a source still connected wakes the work that waited for one, ``wake_waiting_on_source``).
    ``Conflict`` when enabling a source (ATS) while another source is enabled: a workspace reads
    postings, stages and candidates from one ATS."""
    row = get_integration(runtime, workspace_id, plugin)
    if enabled and not row.enabled:
        _check_one_source(runtime, workspace_id, plugin)
        row.enabled = True
        row.enabled_at = utcnow()
        row.enabled_by_id = actor.id if isinstance(actor, User) else None
        if row.status in ("not_connected", "revoked"):
            # settings saved while it was revoked (the page offers them before Enable) are not tested yet
            row.status = "configured" if row.secrets_encrypted else "enabled"
            row.status_message = None  # "access revoked; ..." no longer describes it
        audit(workspace_id, actor, "integration.enable", f"plugin:{plugin}")
        db.session.commit()
        if row.status == "connected" and runtime.registry.spec(plugin).kind == SOURCE:
            # a source disabled a moment, connected as it was: the providers' work that found no
            # source enabled goes on now, as after a reconnect (not at the end of its backoff)
            from hub.engine.runner import wake_waiting_on_source

            wake_waiting_on_source(runtime, workspace_id, plugin)
    elif not enabled and row.enabled:
        row.enabled = False
        _cancel_open_deliveries(workspace_id, plugin)
        audit(workspace_id, actor, "integration.disable", f"plugin:{plugin}")
        db.session.commit()
    return row


def _check_one_source(runtime, workspace_id: int, plugin: str) -> None:
    if runtime.registry.spec(plugin).kind != SOURCE:
        return
    if db.engine.dialect.name == "postgresql":  # two admins enabling two sources at once: one waits, then sees the other
        db.session.execute(sa.select(Workspace.id).where(Workspace.id == workspace_id).with_for_update())
    other = runtime.active_source(workspace_id)
    if other is not None and other != plugin:
        title, other_title = runtime.registry.title(plugin), runtime.registry.title(other)
        raise Conflict(f"{other_title} is this workspace's ATS: disable {other_title} before enabling {title} "
                       "(a workspace reads postings, stages and candidates from one ATS)")


# the last_error of a delivery cancelled because its integration was disabled or revoked (here, or
# by the runner finding it so): unlike one cancelled as superseded, it is worth replaying once the
# integration is enabled again
CANCELLED_BY_DISABLE = "integration disabled or revoked"


def _cancel_open_deliveries(workspace_id: int, plugin: str) -> int:
    result = db.session.execute(sa.update(Delivery).where(
        Delivery.workspace_id == workspace_id, Delivery.plugin == plugin, Delivery.status.in_(D_OPEN),
    ).values(status=D_CANCELLED, finished_at=utcnow(), last_error=CANCELLED_BY_DISABLE,
             lease_token=None, lease_until=None))
    return result.rowcount


def save_settings(runtime, workspace_id: int, plugin: str, form: Mapping[str, Any], actor: User | str | None,
                  clear: Iterable[str] = ()) -> Integration:
    """Validate ``form`` with the plugin's schema; store settings, and secrets encrypted.

    Secret fields left empty keep their stored value (secrets are write-only in the UI); the
    secret fields named in ``clear`` lose theirs: optional ones only, never a credential the
    connection depends on (``connection_fields``; the schema refuses a required one too).

    The connection's status: a changed setting the connection depends on takes "connected" or
    "error" back to "configured" (not tested yet); "needs_reauthorization" (the vendor refused the
    credentials) only a new credential typed in (a changed secret the connection depends on) takes
    back, and not for a connection that signs in with OAuth (the plugin's ``connection_state``):
    its refused grant is no setting, only connecting again revives it.
    """
    spec = runtime.registry.spec(plugin)
    row = get_integration(runtime, workspace_id, plugin)
    if spec.settings_schema is None:
        raise BadRequest(f"{spec.title} has no settings")
    # locked while read and rewritten: a worker refreshing an OAuth token meanwhile must not have
    # its new token overwritten with the secrets read here
    row = db.session.get(Integration, row.id, with_for_update=True, populate_existing=True)
    secret_fields = set(spec.secret_fields)
    connection = connection_fields(spec.settings_schema)
    clear = set(clear)
    if clear - secret_fields:
        raise ValidationFailed("only secrets can be removed", {name: ["Not a secret of this integration."]
                                                                 for name in sorted(clear - secret_fields)})
    if clear & connection:
        raise ValidationFailed("a credential the connection depends on cannot be removed", {
            name: ["The connection depends on it: enter a new value, or revoke the integration to remove it."]
            for name in sorted(clear & connection)})
    data = {k: v for k, v in form.items() if not (k in secret_fields and (v is None or v == ""))}
    both = sorted(clear & set(data))
    if both:
        raise ValidationFailed("a secret cannot be both given and removed",
                               {name: ["Enter a new value or remove the stored one, not both."] for name in both})
    stored = runtime.secret_box.decrypt(row.secrets_encrypted)
    removed = sorted(name for name in clear if name in stored)
    for name in removed:
        del stored[name]
    try:
        loaded = spec.settings_schema(partial=tuple(f for f in secret_fields if f in stored)).load(
            {**{k: v for k, v in (row.settings or {}).items() if k not in data}, **data}
        )
    except ValidationError as exc:
        # the message names the fields (a caller outside the web layer, such as ProviderHub, shows only
        # it), never a secret typed in
        raise ValidationFailed.naming_fields("some settings are not valid", _flatten(exc.messages),
                                             hidden=[data[name] for name in secret_fields if name in data]) from exc
    settings = {k: v for k, v in loaded.items() if k not in secret_fields}
    new_secrets = {k: v for k, v in loaded.items() if k in secret_fields and v not in (None, "")}
    # a field never saved had its default: the first save lists what differs from the defaults
    old_settings = {**settings_defaults(spec.settings_schema, secret_fields), **(row.settings or {})}
    changed = sorted(set(settings_changed(old_settings, settings, stored, new_secrets)) | set(removed))
    moved_from = _credentials_left_behind(spec.settings_schema, changed, secret_fields & connection, stored,
                                          new_secrets, settings)
    for name in moved_from:  # unused by how the connection signs in: forgotten, not sent to the new address
        del stored[name]
    removed = sorted(set(removed) | set(moved_from))
    changed = sorted(set(changed) | set(moved_from))
    before = row.settings
    row.settings = settings
    if removed:
        row.secrets_meta = {k: v for k, v in (row.secrets_meta or {}).items() if k not in removed}
        row.secrets_encrypted = runtime.secret_box.encrypt(stored) if stored else None
    if new_secrets:
        meta = dict(row.secrets_meta or {})
        who = actor.email if isinstance(actor, User) else (actor or "system")
        for name in new_secrets:
            # a secret pasted again with the value it has keeps its "set at / by": nothing was set
            if name in changed or name not in meta:
                meta[name] = {"set_at": utcnow().isoformat(), "set_by": who}
        stored.update(new_secrets)
        row.secrets_encrypted = runtime.secret_box.encrypt(stored)
        row.secrets_meta = meta
    # a connection setting the stored settings did not have (a plugin's new field) took its default:
    # nothing the last test used has changed
    moot = sorted(name for name in connection & set(changed) if name in secret_fields or name in (before or {}))
    names = schema_labels(spec.settings_schema)
    # credentials the vendor refused, replaced: typed in, other than the stored ones
    refused = [name for name in moot if name in new_secrets] if row.status == "needs_reauthorization" else []
    refused_message = row.status_message
    if row.status in ("not_connected", "enabled") and (new_secrets or settings):
        row.status = "configured"
    elif row.status == "revoked" and new_secrets:  # credentials again, saved before Enable: not tested yet
        row.status, row.status_message = "configured", None
    test_again = None
    said = untested_labels(row.status_message) if row.status == "configured" else None
    if moot and (row.status in TESTED_STATUSES or said is not None):
        # "Connected" (or an error) said what the last test or use found with the old values; "needs
        # reconnecting" stays until a connect or test clears it (a new base URL does not), or a new
        # credential typed in (below). A change saved since then adds to the names already said.
        row.status = "configured"
        said = said or []
        labels = ", ".join([*said, *(label for label in (names.get(name, name) for name in moot) if label not in said)])
        test_again = f"{labels}{UNTESTED_CHANGE}"
        row.status_message = f"{test_again}: test the connection again"
    # the names of the fields that changed, never a value; a secret given again unchanged is no change
    audit(workspace_id, actor, "integration.settings", f"plugin:{plugin}", changed=changed)
    # as the database gives them back (a JSON round trip: a tuple comes back a list)
    saved = (json.loads(json.dumps(row.settings)), row.secrets_encrypted)
    db.session.commit()
    # What follows asks the plugin's ``connection_state`` about the settings just saved (so after the
    # commit: it reads them through a context of its own, which commits). Its answer is written only
    # if the row still holds what this save stored: a save by someone else since would have been
    # answered about other settings, and writes its own message; a token a worker refreshed since
    # (other secrets) leaves the message saying "test the connection again", which is still true.

    def unchanged_since_saved() -> Integration | None:
        current = db.session.get(Integration, row.id, with_for_update=True, populate_existing=True)
        return current if (current.settings, current.secrets_encrypted) == saved else None

    if test_again is not None:
        # a switch to a way of authenticating that has no credentials stored yet (OAuth chosen, not
        # connected): nothing to test, the next step is the plugin's (connect, or enter the key)
        state = connection_state(workspace_id, plugin)
        current = None if state.credentials_present else unchanged_since_saved()
        if (current is not None and current.status == "configured"
                and current.status_message == f"{test_again}: test the connection again"):
            current.status_message = f"{test_again}: {credentials_how(spec, state)}"
        db.session.commit()
    if refused:
        # "needs reconnecting" said what the vendor answered to the old credentials; whether the new
        # ones are what the connection signs in with, the plugin says
        current = None if connection_state(workspace_id, plugin).oauth_chosen else unchanged_since_saved()
        # unless a test or a use since the save said something newer
        if (current is not None and current.status == "needs_reauthorization"
                and current.status_message == refused_message):
            current.status = "configured"
            labels = ", ".join(names.get(name, name) for name in refused)
            current.status_message = (f"{labels} changed since {spec.title} refused the credentials: "
                                      "test the connection again")
        db.session.commit()
    return db.session.get(Integration, row.id)


TESTED_STATUSES = ("connected", "error")
# the status message of settings the connection depends on saved since its last test says "<labels>"
# before this, and the next step after it
UNTESTED_CHANGE = " changed since the connection was last tested"
_UNTESTED_MESSAGE = re.compile(r"(?P<labels>[^:]+)" + re.escape(UNTESTED_CHANGE) + r": .+", re.S)


def untested_labels(message: str | None) -> list[str] | None:
    """The labels a status message of the form "<labels> changed since the connection was last
    tested: <next step>" names, or ``None`` when the message is not of that form (a plugin's or a
    test's own words that happen to contain the phrase are not taken apart)."""
    match = _UNTESTED_MESSAGE.fullmatch(message or "")
    if match is None:
        return None
    return [label for label in match.group("labels").split(", ") if label]


def credentials_how(spec, state: ConnectionState) -> str:
    """How to give an integration its missing credentials, in words that follow a colon: the
    plugin's ``credentials_help``, else "connect with <title>" where OAuth is available and chosen,
    else the hub's default."""
    if state.credentials_help:
        return state.credentials_help
    if state.oauth_available and state.oauth_chosen:
        return f"connect with {spec.title}"
    return "enter its credentials in the settings and save"


def settings_defaults(schema, exclude: Iterable[str] = ()) -> dict[str, Any]:
    """What the fields of a settings schema that have a ``load_default`` hold when never set, by
    attribute name, but the fields in ``exclude`` (secrets)."""
    defaults = {}
    for name, field in schema().fields.items():
        if name in exclude or field.dump_only or field.load_default is missing:
            continue
        value = field.load_default
        defaults[name] = value() if callable(value) else value
    return defaults


def destination_fields(schema) -> set[str]:
    """The settings that say where the connection's requests, and so its credentials, are sent: the
    schema's fields with ``metadata={"destination": True}`` (a base URL, an environment)."""
    return {name for name, field in schema().fields.items() if field.metadata.get("destination")}


def _credentials_left_behind(schema, changed: Iterable[str], credentials: Iterable[str],
                            stored: Mapping[str, Any], new_secrets: Mapping[str, Any],
                            settings: Mapping[str, Any]) -> list[str]:
    """A save that changes where requests go (``destination_fields``) must type in again every
    stored credential the connection sends (a secret ``connection`` field): secrets are write-only,
    and one kept would be sent to the new address, which could be anyone's (an API key read out by
    pointing the base URL at one's own server and pressing Test connection). ``ValidationFailed``
    (422) naming them. A stored credential the saved ``settings`` leave unused (``unused_fields``:
    an API key while OAuth is chosen) is not asked for: it is returned, to be forgotten with the old
    address (choosing it again then asks for a new one)."""
    unused = unused_fields(schema, settings)
    moved = sorted((destination_fields(schema) & set(changed)) - unused)  # a custom URL kept unused sends nothing
    kept = sorted(name for name in credentials if name in stored and name not in new_secrets)
    if not moved or not kept:
        return []
    needed = [name for name in kept if name not in unused]
    if needed:
        names = schema_labels(schema)
        labels = " and ".join(names.get(name, name) for name in needed)
        where = " and ".join(names.get(name, name) for name in moved)
        message = (f"Enter the {labels} again to save a new {where}: the stored one would be sent to the new "
                   "address.")
        raise ValidationFailed(f"{where} changed without the {labels}",
                               {**{name: [message] for name in moved}, **{name: [message] for name in needed}})
    return kept


def unused_fields(schema, settings: Mapping[str, Any]) -> set[str]:
    """The schema's fields that ``settings`` leave unused: those with ``metadata={"used_when":
    {setting: value, ...}}`` whose settings have other values (Lever's API key is used when
    ``auth_mode`` is ``"api_key"``)."""
    return {name for name, field in schema().fields.items()
            if isinstance(field.metadata.get("used_when"), Mapping)
            and any(settings.get(key) != value for key, value in field.metadata["used_when"].items())}


def connection_fields(schema) -> set[str]:
    """The settings whose change makes the last connection test moot: the schema's fields with
    ``metadata={"connection": True}`` (an API key, a base URL, how to authenticate)."""
    return {name for name, field in schema().fields.items() if field.metadata.get("connection")}


def settings_changed(old: Mapping[str, Any], new: Mapping[str, Any], old_secrets: Mapping[str, Any],
                     new_secrets: Mapping[str, Any]) -> list[str]:
    """The names of the settings whose value differs between ``old`` and ``new`` (added and
    removed ones too), and of the secrets given a value other than the stored one, sorted."""
    def differs(before: Mapping[str, Any], name: str, value: Any) -> bool:
        return name not in before or _as_stored(before[name]) != _as_stored(value)

    names = set(old) - set(new)  # a setting the schema no longer has
    names |= {name for name, value in new.items() if differs(old, name, value)}
    names |= {name for name, value in new_secrets.items() if differs(old_secrets, name, value)}
    return sorted(names)


def _as_stored(value: Any) -> Any:
    """``value`` as it reads back from the JSON column (a tuple as a list...), to compare with what is stored."""
    return json.loads(json.dumps(value, sort_keys=True, default=str))


def _flatten(messages: Any) -> dict[str, list[str]]:
    if isinstance(messages, dict):
        return {str(k): (v if isinstance(v, list) else [str(v)]) for k, v in messages.items()}
    return {"_schema": [str(m) for m in (messages if isinstance(messages, list) else [messages])]}


def revoke(runtime, workspace_id: int, plugin: str, actor: User | str | None) -> list[str]:
    """Disconnect: undo at the vendor (``disconnect`` hook), forget every secret, stop deliveries.

    Returns warnings (e.g. a vendor call that failed); the revoke itself always completes.
    """
    row = get_integration(runtime, workspace_id, plugin, create=False)
    warnings: list[str] = []
    if runtime.registry.implements(plugin, "disconnect") and row.secrets_encrypted:
        try:
            runtime.registry.call(plugin, "disconnect", ctx=runtime.context(workspace_id, plugin))
        except Exception as exc:  # best effort: the vendor may be down or the token already revoked
            db.session.rollback()
            warnings.append(f"{runtime.registry.title(plugin)}: could not undo everything at the vendor: {exc}")
    # locked: work of the plugin's still running (a token refresh) waits, then finds the new key
    # and stores nothing (``PluginContext.update_secrets``)
    row = db.session.get(Integration, row.id, populate_existing=True, with_for_update=True)
    row.enabled = False
    row.secrets_encrypted = None
    row.secrets_meta = {}
    row.status = "revoked"
    row.status_message = "access revoked; connect again to resume"
    row.verified_at = None
    row.last_webhook_at = None  # nothing has arrived at the new URL: reconnecting offers to register it
    row.webhook_key = secrets.token_urlsafe(32)  # the old URL stops working at once
    cancelled = _cancel_open_deliveries(workspace_id, plugin)
    audit(workspace_id, actor, "integration.revoke", f"plugin:{plugin}", cancelled_deliveries=cancelled,
          warnings=warnings)
    db.session.commit()
    return warnings


# --------------------------------------------------------------------------- attachments


ATTACHMENT_OPTIONS = {"pass_threshold", "move_to_stage_on_thumbs_up", "archive_reason_on_thumbs_down",
                      "remind_on_reentry", "tag_results"}


ALREADY_ATTACHED = "this assessment is already attached to that stage of that posting"


class AttachmentChanged(Conflict):
    """``save_attachment(..., expected=...)``: the attachment no longer holds what the caller read
    (another request changed or detached it since), so the values merged onto that read are not
    saved. The API's ``PUT`` reads it again and merges once more."""

    def __init__(self) -> None:
        super().__init__("the attachment was changed by another request while this one was saving it; "
                         "read it again (GET) and send the change again")


def save_attachment(workspace_id: int, values: Mapping[str, Any], actor: User | str | None,
                    attachment_id: int | None = None, expected: Mapping[str, Any] | None = None) -> Attachment:
    """Create the attachment (``attachment_id`` None) or overwrite one with ``values``.

    ``expected``: what the caller read of the attachment (``attachment_fields``) and merged its
    change onto. The row is locked and read again before it is written; if it holds anything else by
    then (a change another request saved meanwhile, or a detach), nothing is saved and
    ``AttachmentChanged`` is raised: saving would undo the other change (a lost update)."""
    required = ("posting_id", "posting_name", "stage_id", "stage_name", "provider", "assessment_id", "assessment_name")
    missing = [k for k in required if not str(values.get(k) or "").strip()]
    if missing:
        raise ValidationFailed("missing: " + ", ".join(missing), {k: ["required"] for k in missing})
    options = dict(values.get("options") or {})
    unknown = set(options) - ATTACHMENT_OPTIONS
    if unknown:
        raise ValidationFailed(f"unknown options: {', '.join(sorted(unknown))}", {"options": sorted(unknown)})
    same = [Attachment.workspace_id == workspace_id, Attachment.detached_at.is_(None)] + [
        getattr(Attachment, key) == str(values[key]).strip()
        for key in ("posting_id", "stage_id", "provider", "assessment_id")]
    if attachment_id is not None:
        # locked and read again (not the session's copy, read before the vendors were asked): the
        # checks below and the audit's "changed" are about what is stored now
        row = db.session.get(Attachment, attachment_id, with_for_update=True, populate_existing=True)
        if row is None or row.workspace_id != workspace_id:
            raise NotFound("no such attachment")
        if expected is not None and (row.detached_at is not None or attachment_fields(row) != dict(expected)):
            db.session.rollback()
            raise AttachmentChanged()
        if row.detached_at is not None:
            raise NotFound("no such attachment")
        same.append(Attachment.id != attachment_id)  # an edit may not make it a copy of another either
    if (existing := db.session.scalar(sa.select(Attachment.id).where(*same))) is not None:
        raise Conflict(ALREADY_ATTACHED, details={"attachment_id": existing})
    before = None if attachment_id is None else attachment_fields(row)
    if attachment_id is None:
        row = Attachment(workspace_id=workspace_id, created_by_id=actor.id if isinstance(actor, User) else None)
        db.session.add(row)
    for key in required:
        setattr(row, key, str(values[key]).strip())
    row.options = options
    try:
        db.session.flush()
    except IntegrityError as exc:  # a copy saved at the same moment (uq_attachments_live)
        db.session.rollback()
        existing = db.session.scalar(sa.select(Attachment.id).where(*same))
        raise Conflict(ALREADY_ATTACHED, details={"attachment_id": existing} if existing else None) from exc
    # an edit says what it changed (never how), as a settings save does; an attach says nothing more
    changed = {} if before is None else {"changed": [name for name, value in attachment_fields(row).items()
                                                     if before.get(name) != value]}
    audit(workspace_id, actor, "attachment.save", f"attachment:{row.id}",
          posting=row.posting_name, stage=row.stage_name, assessment=row.assessment_name, **changed)
    db.session.commit()
    return row


def attachment_fields(row: Attachment) -> dict[str, Any]:
    """What an attachment's edit can change, by the names its audit entry gives them: the posting,
    the stage, the assessment (its provider with it) and each option."""
    fields = {"posting": row.posting_id, "stage": row.stage_id, "assessment": (row.provider, row.assessment_id)}
    options = row.options or {}
    return {**fields, **{name: options.get(name) for name in sorted(ATTACHMENT_OPTIONS)}}


def detach(workspace_id: int, attachment_id: int, actor: User | str | None) -> None:
    row = db.session.get(Attachment, attachment_id)
    if row is None or row.workspace_id != workspace_id or row.detached_at is not None:
        raise NotFound("no such attachment")
    row.detached_at = utcnow()
    audit(workspace_id, actor, "attachment.detach", f"attachment:{row.id}", assessment=row.assessment_name)
    db.session.commit()


# --------------------------------------------------------------------------- deliveries


def replay_delivery(runtime, workspace_id: int, delivery_id: int, actor: User | str | None) -> None:
    _replay_one(runtime, workspace_id, delivery_id, actor)
    runtime.wake([delivery_id])


def _replay_one(runtime, workspace_id: int, delivery_id: int, actor: User | str | None,
                credentials_checked: bool = False, **detail: Any) -> None:
    """Make one delivery due again and audit it (``delivery.replay``); the caller wakes a worker.
    ``Conflict`` when its plugin is not enabled, or cannot authenticate (``_not_connected``; not
    asked again with ``credentials_checked``: ``replay_all`` asks once per plugin)."""
    delivery = db.session.get(Delivery, delivery_id)
    if delivery is None or delivery.workspace_id != workspace_id:
        raise NotFound("no such delivery")
    if delivery.status in D_OPEN and delivery.status != "retry":
        raise Conflict("this delivery is still pending or running")
    integration = runtime.integration(workspace_id, delivery.plugin)
    if integration is None or not integration.enabled:
        raise Conflict(_not_enabled(runtime, delivery.plugin))
    if not credentials_checked:
        refusal = _not_connected(runtime, workspace_id, delivery.plugin, integration)
        if refusal is not None:
            raise Conflict(refusal)
    if not replay(delivery_id, workspace_id):
        raise Conflict("this delivery cannot be replayed now")
    audit(workspace_id, actor, "delivery.replay", f"delivery:{delivery_id}", **detail)
    db.session.commit()


def _not_enabled(runtime, plugin: str) -> str:
    return f"{runtime.registry.title(plugin)} is not enabled; enable it before replaying its deliveries"


def cannot_authenticate(runtime, workspace_id: int, plugin: str,
                        row: Integration | None = None) -> tuple[str, str] | None:
    """Whether the enabled ``plugin``'s work would fail on authentication if it ran now, as
    (what is wrong, the next step), both in words that follow its title and a colon; None when
    it can run (or is not installed, or not set up: the callers refuse those for being disabled).

    It cannot when the vendor refused its credentials ("needs re-authorization", until a new
    credential, a reconnect or a passed test clears it), or when it has none: enabled again after
    a revoke (which forgets them) before they were entered again. A plugin that implements
    ``connection_state`` says whether it has them; for one that does not, it needs them when its
    settings have a secret the connection depends on (``connection_fields``): one whose secrets
    are all optional runs without. A delivery replayed then would only wait for a reconnection (the
    runner's ``NeedsReauthorization``): a replay is refused instead, with the step that comes first
    (``_not_connected``)."""
    if plugin not in runtime.registry.specs:
        return None
    row = row if row is not None else runtime.integration(workspace_id, plugin)
    if row is None:
        return None
    spec = runtime.registry.spec(plugin)
    if row.status == "needs_reauthorization":
        how = credentials_how(spec, connection_state(workspace_id, plugin, row))
        return "needs reconnecting (it refused the credentials)", f"{how} or test the connection again"
    needs = runtime.registry.implements(plugin, "connection_state") or bool(
        spec.settings_schema is not None and set(spec.secret_fields) & connection_fields(spec.settings_schema))
    if not needs:
        return None
    state = connection_state(workspace_id, plugin, row)
    if state.credentials_present:
        return None
    return "is not connected", credentials_how(spec, state)


def refused_replay(runtime, workspace_id: int, plugin: str, waiting: bool = False) -> str | None:
    """Why the deliveries of the enabled ``plugin`` cannot be replayed now, with the step before it
    (``_not_connected``), or None: for pages that offer a replay (the Dashboard's). ``waiting``: for
    a delivery that waits for the reconnection (``hub.engine.runner.is_waiting_for_reconnection``),
    which needs no replay after that step: it then goes on by itself."""
    if not waiting:
        return _not_connected(runtime, workspace_id, plugin)
    reason = cannot_authenticate(runtime, workspace_id, plugin)
    if reason is None:
        return None
    why, how = reason
    return f"{runtime.registry.title(plugin)} {why}: {how}; this delivery then goes on by itself"


def _not_connected(runtime, workspace_id: int, plugin: str, row: Integration | None = None) -> str | None:
    """Why the deliveries of the enabled ``plugin`` cannot be replayed now (``cannot_authenticate``),
    with what to do first, or None: "Canditech is not connected: enter Canditech's API key in the
    settings and save, then replay its deliveries"."""
    reason = cannot_authenticate(runtime, workspace_id, plugin, row)
    if reason is None:
        return None
    why, how = reason
    return f"{runtime.registry.title(plugin)} {why}: {how}, then replay its deliveries"


# what "Replay all" takes, by status: every dead delivery, or every delivery cancelled by a disable
# or revoke of a plugin that is enabled again
BULK_REPLAY = {D_DEAD: "dead", D_CANCELLED: "cancelled by a disable or revoke"}


@dataclass
class BulkReplay:
    """What ``replay_all`` did: the deliveries replayed, and those skipped with the reason."""

    status: str
    replayed: list[int] = dataclass_field(default_factory=list)
    skipped: list[tuple[int, str]] = dataclass_field(default_factory=list)
    remaining: int = 0  # found but left for the next call (``limit``)

    def reasons(self) -> dict[str, int]:
        """Each reason a delivery was skipped for, with how many were, most frequent first."""
        return dict(Counter(reason for _, reason in self.skipped).most_common())


def bulk_replay_query(workspace_id: int | None, status: str, plugin: str | None = None) -> sa.Select:
    """The ids of the deliveries "Replay all" of ``status`` takes, oldest first: every dead one (of
    any plugin: one whose plugin is disabled or cannot authenticate is skipped when replaying, with the reason), or every
    one cancelled by a disable or revoke of its integration (``CANCELLED_BY_DISABLE``) that is enabled
    now (not one cancelled as superseded: it would be cancelled again). Of the workspace (None: of
    every workspace) and, with ``plugin``, of the events Activity's plugin filter shows: delivered to
    that plugin, or of an event from it."""
    if status not in BULK_REPLAY:
        raise ValidationFailed(f"only {' or '.join(BULK_REPLAY)} deliveries can be replayed all at once",
                               {"status": [f"Must be one of: {', '.join(BULK_REPLAY)}."]})
    query = sa.select(Delivery.id).where(Delivery.status == status)
    if workspace_id is not None:
        query = query.where(Delivery.workspace_id == workspace_id)
    if status == D_CANCELLED:
        query = query.where(Delivery.last_error == CANCELLED_BY_DISABLE, sa.exists().where(
            Integration.workspace_id == Delivery.workspace_id, Integration.plugin == Delivery.plugin,
            Integration.enabled.is_(True)))
    if plugin:
        query = query.where(sa.or_(Delivery.plugin == plugin, Delivery.event_id.in_(
            sa.select(Event.id).where(Event.source_plugin == plugin))))
    return query.order_by(Delivery.id)


def replay_all(runtime, workspace_id: int | None, status: str, actor: User | str | None,
               plugin: str | None = None, exclude: Iterable[int] = (), limit: int | None = None) -> BulkReplay:
    """Replay every delivery ``bulk_replay_query`` finds (but those in ``exclude``), each as
    ``replay_delivery`` does (and audited as it is, ``delivery.replay``, with what did it in
    ``bulk``); one that cannot be (its plugin is disabled or cannot authenticate, ``_not_connected``,
    or it was replayed meanwhile) is skipped with the reason, and the others are replayed. With
    ``limit``, it stops once that many are replayed, and counts the rest in ``remaining`` (a web
    request must end in time; the next call goes on, since those replayed are no longer found).
    Shared by Activity's "Replay all" and ``hub deliveries replay --all-dead``."""
    excluded = set(exclude)
    ids = [i for i in db.session.scalars(bulk_replay_query(workspace_id, status, plugin)) if i not in excluded]
    db.session.commit()  # end the read transaction (SQLite: each replay writes)
    done = BulkReplay(status)
    bulk = f"all {BULK_REPLAY[status]} deliveries" + (f" of {runtime.registry.title(plugin)}" if plugin else "")
    # (workspace, plugin) -> why its deliveries cannot be replayed (not enabled, not connected), or None
    refusals: dict[tuple[int, str], str | None] = {}
    for position, delivery_id in enumerate(ids):
        if limit is not None and len(done.replayed) >= limit:
            done.remaining = len(ids) - position
            break
        delivery = db.session.get(Delivery, delivery_id)
        if delivery is None:  # deleted meanwhile (a retention sweep)
            continue
        key = (delivery.workspace_id, delivery.plugin)
        if key not in refusals:
            row = runtime.integration(*key)
            refusals[key] = (_not_enabled(runtime, delivery.plugin) if row is None or not row.enabled
                             else _not_connected(runtime, *key, row))
        if refusals[key] is not None:
            done.skipped.append((delivery_id, refusals[key]))
            continue
        try:
            _replay_one(runtime, delivery.workspace_id, delivery_id, actor, credentials_checked=True, bulk=bulk)
        except HubError as exc:  # replayed by someone else meanwhile, or disabled since
            db.session.rollback()  # nothing of this one is kept; the next starts clean
            done.skipped.append((delivery_id, exc.message))
            continue
        done.replayed.append(delivery_id)
    db.session.commit()  # end the read of the last one skipped: the workers woken now write
    if done.replayed:
        runtime.wake(done.replayed)
    return done


def attachment_entity(row: Attachment) -> AttachmentEntity:
    from hub.context import attachment_entity as convert

    return convert(row)


# --------------------------------------------------------------------------- invitations and API tokens
# (added for the admin UI and the JSON API; the CLI may use them too)

REINVITABLE = ("failed", "expired", "cancelled", "completed")
CANCELLABLE = ("pending", "invited", "started")


def get_invitation(workspace_id: int, invitation_id: int, lock: bool = False):
    from hub.store.models import Invitation

    query = sa.select(Invitation).where(Invitation.id == invitation_id, Invitation.workspace_id == workspace_id)
    row = db.session.scalar(query.with_for_update().execution_options(populate_existing=True) if lock else query)
    if row is None:
        raise NotFound("no such invitation")
    return row


def provider_state(runtime, workspace_id: int, provider: str, lock: bool = False) -> str:
    """``enabled``, ``disabled`` (it may come back), or ``gone`` (revoked, never connected, or
    not installed: nothing will reach its vendor until someone connects it again). ``lock``
    holds the integration row (shared) until the commit: a disable or revoke, which locks it
    first, cannot slip in between this check and the caller's commit."""
    if provider not in runtime.registry.specs:
        return "gone"
    query = sa.select(Integration).where(Integration.workspace_id == workspace_id, Integration.plugin == provider)
    row = db.session.scalar(query.with_for_update(read=True) if lock else query)
    if row is not None and row.enabled:
        return "enabled"
    return "disabled" if row is not None and row.status not in ("revoked", "not_connected") else "gone"


ERASED_REFUSAL = ("this candidate was deleted in the ATS and the hub erased their name and email: they cannot be "
                  "invited again")


def reinvite_invitation(runtime, workspace_id: int, invitation_id: int, actor: User | str | None):
    """Start a new round of an invitation that ended (failed, expired, cancelled or completed):
    reset it to pending, then tell its provider through a ``ReinviteRequested`` event."""
    from hub.engine.ingest import ingest, is_erased
    from hub.engine.invitations import add_timeline
    from hub.entities import InboundEvent, ReinviteRequested

    provider = get_invitation(workspace_id, invitation_id).provider
    if provider_state(runtime, workspace_id, provider, lock=True) != "enabled":
        # the event would reach nobody, and the invitation would wait in "pending" for good
        db.session.rollback()
        raise Conflict(f"{runtime.registry.title(provider)} is not enabled; enable it first, so that it can "
                       "send the invitation again")
    row = get_invitation(workspace_id, invitation_id, lock=True)
    if row.status not in REINVITABLE:
        raise Conflict(f"an invitation that is {row.status} cannot be sent again; "
                       f"only {', '.join(REINVITABLE)} invitations can")
    if is_erased(db.session, row.id):
        # it would fail at once at the provider, after resetting the score and verdict shown
        db.session.rollback()
        raise Conflict(ERASED_REFUSAL)
    who = actor.email if isinstance(actor, User) else (actor or "system")
    row.status = "pending"
    row.round = (row.round or 1) + 1
    for name in ("provider_invitation_id", "invite_url", "score", "max_score", "pass_threshold", "report_url", "verdict",
                 "verdict_at", "failure_reason", "invited_at", "started_at", "completed_at"):
        setattr(row, name, None)
    add_timeline(db.session, row, "reinvite", who, f"invitation sent again (round {row.round})")
    audit(workspace_id, actor, "invitation.reinvite", f"invitation:{row.id}", round=row.round)
    round_ = row.round
    # committed by ``ingest`` with the event that asks the provider for the new round: both or neither
    ingest(runtime, workspace_id, "hub", InboundEvent(
        external_id=f"reinvite:{invitation_id}:r{round_}",
        event=ReinviteRequested(invitation_id=invitation_id, requested_by=who)))
    return get_invitation(workspace_id, invitation_id)


def cancel_invitation(runtime, workspace_id: int, invitation_id: int, actor: User | str | None):
    """Cancel an open invitation in the hub. Plugins hear of it through ``on_invitation_status``
    (a provider that implements it withdraws the invitation at its vendor)."""
    from hub.engine import invitations as machine
    from hub.engine.ingest import ingest
    from hub.entities import InboundEvent, InvitationProgress

    provider = get_invitation(workspace_id, invitation_id).provider
    if provider_state(runtime, workspace_id, provider, lock=True) == "disabled":
        # it may come back: cancelling now would leave the invitation open at its vendor
        db.session.rollback()
        raise Conflict(f"{runtime.registry.title(provider)} is not enabled; enable it first, so that it can "
                       "withdraw the invitation")
    # enabled: the provider hears of it; gone: nothing can reach its vendor any more, and the
    # invitation would otherwise stay open in the hub for good
    row = get_invitation(workspace_id, invitation_id, lock=True)
    if row.status not in CANCELLABLE:
        raise Conflict(f"an invitation that is {row.status} cannot be cancelled")
    who = actor.email if isinstance(actor, User) else (actor or "system")
    machine.transition(db.session, row, "cancelled", source=who)
    audit(workspace_id, actor, "invitation.cancel", f"invitation:{row.id}")
    round_ = row.round
    # committed by ``ingest`` with the event that tells plugins of it: both or neither
    ingest(runtime, workspace_id, "hub", InboundEvent(
        external_id=f"invitation:{invitation_id}:r{round_}:cancelled",
        event=InvitationProgress(invitation_id=invitation_id, status="cancelled", reason=f"cancelled by {who}",
                                 occurred_at=utcnow())))
    return get_invitation(workspace_id, invitation_id)


def revoke_api_token(workspace_id: int, token_id: int, actor: User | str | None) -> ApiToken:
    row = db.session.get(ApiToken, token_id)
    if row is None or row.workspace_id != workspace_id:
        raise NotFound("no such API token")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        audit(workspace_id, actor, "api_token.revoke", f"token:{row.name}")
        db.session.commit()
    return row


def connection_state(workspace_id: int, plugin: str, row: Integration | None = None) -> ConnectionState:
    """The plugin's ``connection_state`` (no vendor call), with the hub's defaults filled in.

    Without the hook (or when it fails or leaves a value ``None``): credentials are present when any
    secret is stored; OAuth is available and chosen when the plugin implements it. An integration
    never set up in the workspace has neither."""
    from hub.runtime import get_runtime

    runtime = get_runtime()
    spec = runtime.registry.spec(plugin)
    row = row if row is not None else runtime.integration(workspace_id, plugin)
    if row is None:  # never set up here: nothing stored, nothing to connect yet (enable it first)
        return ConnectionState(credentials_present=False, oauth_available=False, oauth_chosen=False)
    state = ConnectionState()
    if runtime.registry.implements(plugin, "connection_state"):
        try:
            answer = runtime.registry.call(plugin, "connection_state", ctx=runtime.context(workspace_id, plugin))
            if isinstance(answer, ConnectionState):
                state = answer
            else:
                _log.warning("%s.connection_state returned a %s, not a ConnectionState", plugin, type(answer).__name__)
        except Exception as exc:  # the page must render: fall back to the defaults
            db.session.rollback()
            _log.warning("%s.connection_state failed: %s", plugin, exc, exc_info=True,
                        extra={"workspace_id": workspace_id, "plugin": plugin})
    oauth = spec.supports_oauth and runtime.registry.implements(plugin, "oauth_authorize_url")
    defaults = {
        "credentials_present": bool(row is not None and row.secrets_encrypted and (row.secrets_meta or {})),
        "oauth_available": oauth,
        "oauth_chosen": oauth,
    }
    changes = {name: value for name, value in defaults.items() if getattr(state, name) is None}
    if isinstance(state.warnings, str):  # one warning given bare: not one per character
        changes["warnings"] = (state.warnings,) if state.warnings else ()
    elif not isinstance(state.warnings, tuple) or not all(isinstance(w, str) for w in state.warnings):
        changes["warnings"] = tuple(str(w) for w in state.warnings or ())
    if not oauth:  # a plugin cannot offer what it does not implement
        changes.update(oauth_available=False, oauth_chosen=False)
    return replace(state, **changes) if changes else state
