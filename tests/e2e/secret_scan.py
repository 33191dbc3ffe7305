"""Looking for secrets where they must not be, for the end-to-end secrets test: the secrets a hub
holds (every integration's, decrypted; the hub's own keys; the webhook URL keys), the texts to
search (the raw database, the hub's log files), and every place a text holds a secret in any form
it would take there (as is, or escaped for JSON, HTML or a URL)."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any, Iterator, Mapping
from urllib.parse import quote, quote_plus

import sqlalchemy as sa

from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration

# shorter values could match any text by chance
MIN_LENGTH = 8
# values kept among an integration's encrypted secrets that are no credential, and that the hub
# shows by design: the scopes Lever granted and its account id (in the connection's status), the
# Lever API root that issued the grant (a settings value), the fingerprint of Vervoe's key pair
# (never the key itself). Numbers (expiry times) are skipped too.
NOT_CREDENTIALS = frozenset({"oauth_scope", "oauth_account_id", "oauth_api_base", "access_token_key_id"})


def _parts(value: Any) -> Iterator[str]:
    """The credentials in a stored value: a string (one secret per line or comma, as several
    webhook secrets are kept), or those of a dict's values or a list's items."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _parts(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _parts(item)
    elif isinstance(value, str):
        for part in re.split(r"[\n,]", value):
            if len(part.strip()) >= MIN_LENGTH:
                yield part.strip()


def integration_secrets(app) -> dict[str, str]:
    """Every credential stored on any integration of the hub, decrypted: value -> "plugin name"."""
    found: dict[str, str] = {}
    with app.app_context():
        box = get_runtime().secret_box
        for row in db.session.scalars(sa.select(Integration)):
            for name, value in box.decrypt(row.secrets_encrypted).items():
                if name not in NOT_CREDENTIALS:
                    found.update((part, f"{row.plugin} {name}") for part in _parts(value))
        db.session.rollback()
    return found


def hub_keys(config: Mapping[str, Any]) -> dict[str, str]:
    """The hub's own secrets: the key that signs sessions and each key of ``HUB_ENCRYPTION_KEYS``."""
    found = {str(config["SECRET_KEY"]): "the hub's SECRET_KEY"}
    found.update((key.strip(), "a key of ENCRYPTION_KEYS") for key in str(config["ENCRYPTION_KEYS"]).split(",")
                 if key.strip())
    return found


def webhook_keys(app) -> dict[str, str]:
    """Each integration's webhook URL key (the last segment of ``/webhooks/<plugin>/<key>``)."""
    with app.app_context():
        rows = db.session.execute(sa.select(Integration.plugin, Integration.webhook_key)).all()
        db.session.rollback()
    return {key: f"{plugin}'s webhook URL key" for plugin, key in rows}


def forms(secret: str) -> set[str]:
    """``secret`` as a text could hold it: as is, in a JSON string, in HTML, in a URL."""
    return {secret, json.dumps(secret)[1:-1], html.escape(secret), quote(secret, safe=""), quote_plus(secret)}


def leaks(secrets: Mapping[str, str], texts: Mapping[str, str]) -> list[str]:
    """"<label> in <where>" for each secret (value -> label) that a text (where -> text) holds."""
    return [f"{label} ({secret!r}) in {where}" for secret, label in secrets.items()
            for where, text in texts.items() if any(form in text for form in forms(secret))]


def database_texts(app) -> dict[str, str]:
    """The whole database as text: every column of every row of every table, as the database
    itself renders it (``CAST(... AS TEXT)``: no type of the hub's decodes anything); on SQLite
    also the bytes of its files (the database and its write-ahead log, free pages included), and
    of the embedded queue's (Huey on SQLite, in the instance folder). Production's queue, Redis,
    is not read: its messages name a delivery by id, nothing else."""
    with app.app_context():
        rows = "\n".join("\t".join(map(str, row)) for table in db.metadata.sorted_tables
                         for row in db.session.execute(sa.select(*(sa.cast(c, sa.Text) for c in table.columns))))
        db.session.rollback()
        url = db.engine.url
    texts = {"the database's rows": rows}
    files = list(Path(app.config["INSTANCE_PATH"]).glob("*.db*"))
    if url.get_backend_name() == "sqlite" and url.database:
        files += Path(url.database).parent.glob(Path(url.database).name + "*")
    for path in sorted(set(files)):
        texts[f"the SQLite file {path.name}"] = path.read_bytes().decode("latin-1")
    return texts


def log_texts(logs: Path) -> dict[str, str]:
    """Every log file of the hub's processes in ``logs`` (``start_stack``'s), by file name. The
    sandboxes' logs (``*-sandbox.log``) are left out: they are the vendors' side, which issued
    those credentials and holds them anyway."""
    return {path.name: path.read_text(errors="replace") for path in sorted(logs.glob("*.log"))
            if not path.name.endswith("-sandbox.log")}
