"""A secret the hub shows once, on the page a form's POST redirects to (post/redirect/get): a new
user's generated password, a reset password, a new API token.

The POST seals the secret into the session (encrypted with the hub's keys: the session cookie is
signed, not encrypted) and redirects; the next GET of the page takes it out and shows it. So
reloading that page neither shows the secret again nor repeats the action, and the browser never
offers to send the form again."""

from __future__ import annotations

import time
from typing import Any

from flask import session
from flask_login import current_user

from hub.config import ConfigError
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import User

SHOWN_WITHIN = 600  # seconds: a secret whose page was never opened is not shown later


def keep(kind: str, **values: Any) -> None:
    """Seal ``values`` (JSON-serialisable) for the current user's next ``take(kind)``; one per kind."""
    session[_key(kind)] = {"by": current_user.id, "at": time.time(),
                           "sealed": get_runtime().secret_box.encrypt(values)}


def take(kind: str) -> dict[str, Any] | None:
    """The values ``keep(kind, ...)`` sealed, removed from the session; None when there are none,
    they are older than ``SHOWN_WITHIN``, another user sealed them, or the hub's keys changed
    since (the admin then repeats the action)."""
    data = session.pop(_key(kind), None)
    if not isinstance(data, dict) or data.get("by") != current_user.id \
            or not time.time() - float(data.get("at") or 0) < SHOWN_WITHIN:
        return None
    sealed = data.get("sealed")
    if not isinstance(sealed, str) or not sealed:
        return None
    try:
        return get_runtime().secret_box.decrypt(sealed)
    except ConfigError:
        return None


def user_of(values: dict[str, Any] | None):
    """The user whose id ``values`` hold as ``user_id``, if still of the current user's workspace;
    else None."""
    user_id = (values or {}).get("user_id")
    user = db.session.get(User, user_id) if isinstance(user_id, int) else None
    return user if user is not None and user.workspace_id == current_user.workspace_id else None


def _key(kind: str) -> str:
    return f"shown_once.{kind}"
