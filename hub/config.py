"""Configuration: defaults in code, then the instance folder's ``hub.cfg``, then ``HUB_*``
environment variables, then the mapping a test passes to ``create_app``.

Every setting is documented in ``docs/operations.md`` (a test keeps that table in step with
``DEFAULTS``). Values from the environment are parsed as JSON when they look like JSON
(``HUB_WORKERS=8`` is an int), as Flask's ``from_prefixed_env`` does, except those of text
settings (``TEXT_SETTINGS``: URLs, keys, names), which are taken as written.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import stat
import traceback
from datetime import timedelta
from pathlib import Path
from typing import Any, Iterator, Mapping, MutableMapping, Sequence
from urllib.parse import urlsplit

from cryptography.fernet import Fernet

ENV_PREFIX = "HUB"

DEFAULTS: dict[str, Any] = {
    # "embedded" (one process, SQLite, generated keys) or "production" (keys must be given).
    "ENV": "embedded",
    "DATABASE_URL": None,  # default: sqlite:///<instance>/hub.db
    "REDIS_URL": None,  # set in production: Huey broker and shared rate limiter
    "SECRET_KEY": None,  # Flask session signing; generated into instance/ when embedded
    "ENCRYPTION_KEYS": None,  # comma-separated Fernet keys, newest first; generated when embedded
    "PUBLIC_URL": None,  # the hub's external base URL, for webhook and OAuth callback URLs
    "PLUGINS": None,  # comma-separated allow-list of plugin names to load (default: all installed)
    "TRACE_HOOKS": False,  # log every hook call
    "WORKERS": 4,  # worker threads (embedded) or per `hub worker` process
    "QUEUE_IMMEDIATE": False,  # run tasks inline (tests of things other than the queue only)
    "QUEUE_NAME": "ats-hub",  # Huey queue name (several hubs can share one Redis)
    # with the default backoff (2 s doubling, at most an hour, jitter x0.5-1) the 20th attempt comes
    # 4.6-9 hours after the first: a vendor down for an afternoon delays work, it does not kill it
    "DELIVERY_MAX_ATTEMPTS": 20,
    "RETRY_BASE_SECONDS": 2.0,
    "RETRY_MAX_SECONDS": 3600.0,
    "LEASE_SECONDS": 120.0,
    "MAX_DEFER_SECONDS": 7 * 24 * 3600.0,
    "SWEEP_INTERVAL_SECONDS": 5.0,
    "STALLED_AFTER_SECONDS": 300.0,  # a due delivery not taken by then is woken again, even while the queue is busy
    "RECONCILE_INTERVAL_SECONDS": 300.0,
    "RETENTION_DAYS": 30,
    "DEDUPE_DAYS": 8,
    "WEBHOOK_MAX_BYTES": 1_000_000,
    "INGEST_BATCH_MAX": 100,  # webhooks made durable by one transaction at most (group commit)
    "INGEST_COMMITTERS": 2,  # transactions storing webhooks at once, per web process
    "INGEST_TIMEOUT_SECONDS": 10.0,  # a webhook not committed by then answers 503 (the sender retries)
    "HTTP_TIMEOUT_SECONDS": 15.0,  # default timeout of plugins' outbound HTTP (ctx.http)
    "LOG_FORMAT": None,  # "text" or "json"; default: "json" in production, "text" embedded
    "LOG_LEVEL": "INFO",
    # sign-in throttling (hub.web.auth): failures at one email from one client address lock that
    # pair for SIGN_IN_LOCK_SECONDS, those from one address at any emails (password spraying) lock
    # the address; those at one email from every address together only slow it down (one attempt
    # every SIGN_IN_SLOWDOWN_SECONDS), so nobody can lock an email's owner out from elsewhere
    "SIGN_IN_MAX_FAILURES": 5,
    "SIGN_IN_MAX_FAILURES_PER_ADDRESS": 20,
    "SIGN_IN_MAX_FAILURES_PER_EMAIL": 10,
    "SIGN_IN_LOCK_SECONDS": 300,
    "SIGN_IN_SLOWDOWN_SECONDS": 30,
    # a browser that signed in to an email is trusted for it this long (a "known browser" cookie):
    # its attempts count only against itself, never slowed or locked by others' failures; 0: none
    "SIGN_IN_KNOWN_BROWSER_DAYS": 180,
    "SESSION_IDLE_SECONDS": 12 * 3600,  # a signed-in browser left idle this long must sign in again
    # proxies (load balancers) in front of the web processes whose X-Forwarded-For and
    # X-Forwarded-Proto the hub believes: 0 believes none (a client could write them itself)
    "TRUSTED_PROXIES": 0,
    "SESSION_COOKIE_SECURE": None,  # default: True in production
    "METRICS_TOKEN": None,  # when set, GET /metrics answers only "Authorization: Bearer <token>"
    # PostgreSQL connections per process: kept open, and opened beyond them under load (closed after)
    "DB_POOL_SIZE": 10,
    "DB_MAX_OVERFLOW": 20,
    # candidates one backfill ("Invite candidates already in stage") lists and invites at most: the
    # list is read from the source while the admin waits (Lever: 100 a page, about 10 pages a second)
    "BACKFILL_MAX_CANDIDATES": 1000,
}

# Settings without a default that are flags, not text.
FLAGS_WITHOUT_DEFAULT = ("SESSION_COOKIE_SECURE",)
# Settings that are text: the environment's value is taken as written, not parsed as JSON.
TEXT_SETTINGS = tuple(name for name, default in DEFAULTS.items()
                      if isinstance(default, str) or (default is None and name not in FLAGS_WITHOUT_DEFAULT))

# Environment variables named like credentials (a plugin's ``HUB_<PLUGIN>_CLIENT_ID``...) are taken
# as written like ``TEXT_SETTINGS``: Flask would read "12345678901234567890" as a number, "true" as
# a boolean.
CREDENTIAL_SUFFIXES = ("_ID", "_SECRET", "_KEY", "_TOKEN", "_PASSWORD", "_URL")

# Settings whose value must be one of these (compared case-insensitively; stored lower-case).
CHOICES: dict[str, tuple[str, ...]] = {
    "ENV": ("embedded", "production"),
    "LOG_FORMAT": ("text", "json"),
    "LOG_LEVEL": ("notset", "debug", "info", "warn", "warning", "error", "critical"),  # logging's names
}
NON_NEGATIVE = {"RETRY_BASE_SECONDS", "DB_MAX_OVERFLOW", "TRUSTED_PROXIES", "SIGN_IN_KNOWN_BROWSER_DAYS"}  # numbers that may be 0; every other number must be > 0
# The largest value of each number that still works: past it a duration overflows the waits and
# date arithmetic of the threads that use it (an OverflowError each sweep, or a sweeper dead for
# good), and a count of threads starts more than a process can hold.
YEAR_SECONDS = 365 * 24 * 3600
MAXIMUM: dict[str, int | float] = {
    **{name: YEAR_SECONDS for name in DEFAULTS if name.endswith("_SECONDS")},
    "INGEST_TIMEOUT_SECONDS": 3600,  # on PostgreSQL also a statement_timeout (milliseconds, a 32-bit integer)
    "RETENTION_DAYS": 36500, "DEDUPE_DAYS": 36500, "SIGN_IN_KNOWN_BROWSER_DAYS": 36500,
    "WORKERS": 64, "INGEST_COMMITTERS": 64,  # threads (as `hub run --workers`, `hub worker --workers`)
    "BACKFILL_MAX_CANDIDATES": 10_000,  # at Lever's rate a list of about 10 seconds, twice per backfill
    "TRUSTED_PROXIES": 10,
    **{name: 1_000_000_000 for name in ("DELIVERY_MAX_ATTEMPTS", "WEBHOOK_MAX_BYTES", "INGEST_BATCH_MAX",
                                        "SIGN_IN_MAX_FAILURES", "SIGN_IN_MAX_FAILURES_PER_ADDRESS",
                                        "SIGN_IN_MAX_FAILURES_PER_EMAIL", "DB_POOL_SIZE", "DB_MAX_OVERFLOW")},
}
TRUE_WORDS, FALSE_WORDS = ("1", "true", "yes", "on"), ("0", "false", "no", "off")

PLACEHOLDER_SECRETS = {"", "change-me", "changeme", "secret", "dev", "development", "placeholder", "xxx"}


class ConfigError(RuntimeError):
    """The configuration cannot work; the message says what to set. ``problems``: each problem
    found, in words (one, unless ``load_config`` found several: its message then lists them all)."""

    def __init__(self, message: str, problems: Sequence[str] = ()):
        super().__init__(message)
        self.problems = list(problems) or [message]


class _Problems:
    """The problems of independent checks, gathered so that one start-up names all of them
    instead of one per attempt."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    @contextlib.contextmanager
    def check(self) -> Iterator[None]:
        """Run the block; a ``ConfigError`` it raises is noted, and the next check runs."""
        try:
            yield
        except ConfigError as exc:
            self.messages.extend(exc.problems)

    def raise_any(self) -> None:
        if len(self.messages) == 1:
            raise ConfigError(self.messages[0])
        if self.messages:
            raise ConfigError(f"the configuration has {len(self.messages)} problems:\n"
                              + "\n".join(f"- {message}" for message in self.messages), self.messages)


def default_instance_path() -> str:
    return os.environ.get(f"{ENV_PREFIX}_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")


def load_config(app, overrides: Mapping[str, Any] | None) -> None:
    """Fill ``app.config`` in order: defaults, instance ``hub.cfg``, environment, overrides.
    Raises ``ConfigError`` naming every setting that cannot work (each check runs, whatever the
    others found)."""
    problems = _Problems()
    if os.path.exists(app.instance_path) and not os.path.isdir(app.instance_path):
        # else a bare FileExistsError or NotADirectoryError when its database, queue or keys are made
        raise ConfigError(f"the instance folder {app.instance_path} (HUB_INSTANCE_PATH, default ./instance) is a "
                          "file, not a folder: name a folder (it is created when missing)")
    app.config.update(DEFAULTS)
    from_file = _read_hub_cfg(app, problems)
    app.config.update(from_file)
    app.config.from_prefixed_env(ENV_PREFIX)
    for name in TEXT_SETTINGS:  # as written: a token "1234e5678..." must not become a number
        raw = os.environ.get(f"{ENV_PREFIX}_{name}")
        if raw is not None:
            app.config[name] = raw
    with problems.check():
        _credentials_as_written(app.config)
    if overrides:
        app.config.update(overrides)
    check_values(app.config, _origins(app, from_file, overrides or {}), problems)
    if str(app.config.get("ENV")) not in CHOICES["ENV"]:
        # every check below depends on the mode (an embedded hub writes its keys to the instance
        # folder, production requires them): with no mode known, stop with what was found
        problems.raise_any()
    if not app.config.get("DATABASE_URL"):
        app.config["DATABASE_URL"] = "sqlite:///" + os.path.join(app.instance_path, "hub.db")
        app.extensions[DATABASE_URL_DEFAULTED] = True
    _check_production_keys(app.config, problems)
    for check in (_check_database_url, _check_redis_url, _check_extra_plugin_modules, _check_public_url,
                  _check_metrics_token, _check_encryption_keys):
        with problems.check():
            check(app.config)
    problems.raise_any()
    if app.config.get("SESSION_COOKIE_SECURE") is None:
        app.config["SESSION_COOKIE_SECURE"] = is_production(app.config)
    if app.config.get("LOG_FORMAT") is None:  # production's logs go to a shipper: one JSON object a line
        app.config["LOG_FORMAT"] = "json" if is_production(app.config) else "text"
    app.config.update(
        SQLALCHEMY_DATABASE_URI=app.config["DATABASE_URL"],
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=app.config["SESSION_COOKIE_SECURE"],
        REMEMBER_COOKIE_SAMESITE="Lax",
        # sessions are made permanent at sign-in, and their cookie is written again by a page the
        # user opens, at most once a minute (hub.web.auth.note_activity), never by a live list's
        # poll: this is how long one stays valid after that, in the browser and as the signature's
        # age the hub accepts (a copied cookie too). Not at every request: each answer would write
        # the session as its request read it, and a poll answered late would undo a change made
        # meanwhile (a new password's fingerprint, a secret shown once).
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=float(app.config["SESSION_IDLE_SECONDS"])),
        SESSION_REFRESH_EACH_REQUEST=False,
        MAX_CONTENT_LENGTH=int(app.config["WEBHOOK_MAX_BYTES"]),
        WTF_CSRF_TIME_LIMIT=None,
    )


HUB_CFG = "hub.cfg"
DATABASE_URL_DEFAULTED = "hub.database_url_defaulted"  # app.extensions key: no DATABASE_URL was given


def unset_database_in_production(app, then: str = "start this one again") -> str | None:
    """In production, when ``HUB_DATABASE_URL`` was not set (so the process uses the instance
    folder's SQLite file, the embedded default), what to do about it, in words, ending with
    ``then`` (what to do once it is set); else None. Said where an empty database would otherwise
    ask for ``hub init``: run on such a node, it would create a database of its own there, which no
    other process shares."""
    if not (is_production(app.config) and app.extensions.get(DATABASE_URL_DEFAULTED)):
        return None
    path = os.path.join(app.instance_path, "hub.db")
    return (f"HUB_DATABASE_URL is not set, so this hub process uses the SQLite database in its instance folder "
            f"({path}), not the one the other hub processes share: in production set HUB_DATABASE_URL "
            f"(e.g. postgresql+psycopg://user:password@host:5432/hub) in the environment of every web process "
            f"and worker, and {then}")


def instance_settings(environ: Mapping[str, str]) -> dict[str, Any]:
    """The settings of ``hub.cfg`` in the instance folder ``environ`` names (``HUB_INSTANCE_PATH``,
    else ``./instance``), for a process that reads some before any app exists (gunicorn's master,
    for its log format); {} when there is none or it cannot be read (the app, reading it, says why)."""
    from flask import Config

    folder = environ.get(f"{ENV_PREFIX}_INSTANCE_PATH") or os.path.join(os.getcwd(), "instance")
    settings = Config(os.path.abspath(folder))
    try:
        settings.from_pyfile(HUB_CFG, silent=True)
    except Exception:
        return {}
    return dict(settings)


def _read_hub_cfg(app, problems: _Problems) -> dict[str, Any]:
    """The settings of the instance folder's ``hub.cfg`` (none when there is no such file). A key
    written with the environment's ``HUB_`` prefix, which nothing reads, is a problem (and left out)."""
    from flask import Config

    settings = Config(app.instance_path)
    path = os.path.join(app.instance_path, HUB_CFG)
    if os.path.isdir(path):  # Flask's silent=True would ignore it, and with it the settings meant to be there
        raise ConfigError(f"{path} is a folder, not a file: the hub reads its settings from a file of that name "
                          "(Python, e.g. PUBLIC_URL = \"https://hub.example.com\"). Remove the folder or make it a file.")
    try:
        settings.from_pyfile(HUB_CFG, silent=True)
    except Exception as exc:  # Python syntax: an unquoted text is a NameError, a stray quote a SyntaxError
        raise ConfigError(_unreadable_hub_cfg(os.path.join(app.instance_path, HUB_CFG), exc)) from None
    for key in [key for key in settings if key.startswith(f"{ENV_PREFIX}_")]:
        plain = key[len(ENV_PREFIX) + 1:]
        problems.messages.append(f"{os.path.join(app.instance_path, HUB_CFG)} sets {key}, which the hub does not "
                                 f"read: keys in hub.cfg have no {ENV_PREFIX}_ prefix (only environment variables "
                                 f"do). Write it as {plain} = ...")
        del settings[key]
    return dict(settings)


def _unreadable_hub_cfg(path: str, exc: BaseException) -> str:
    """What is wrong with ``hub.cfg`` (``path``), naming its line: the file is Python. Never a value
    written there (a secret key among them): Python's NameError quotes the unquoted text."""
    if isinstance(exc, OSError):
        return f"{path} cannot be read: {exc.strerror or type(exc).__name__}"
    line = getattr(exc, "lineno", None) if isinstance(exc, SyntaxError) else None
    if line is None:
        frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if frame.filename == path]
        line = frames[-1].lineno if frames else None
    where = f"{path}, line {line}" if line else path
    if isinstance(exc, NameError):
        what = "a text without quotes"
    elif isinstance(exc, SyntaxError):
        what = f"not Python ({exc.msg})"
    else:
        what = f"Python cannot run it ({type(exc).__name__})"
    return (f"{where} cannot be read: {what}. hub.cfg is Python: write texts in quotes, "
            f'e.g. PUBLIC_URL = "https://hub.example.com"')


def _origins(app, from_file: Mapping[str, Any], overrides: Mapping[str, Any]) -> dict[str, str]:
    """Where each setting read from ``hub.cfg`` came from, as messages name it: the key in hub.cfg,
    unless an environment variable or an override replaced it (those are named ``HUB_<NAME>``)."""
    path = os.path.join(app.instance_path, HUB_CFG)
    return {name: f"{name} in {path}" for name in from_file
            if name not in overrides and f"{ENV_PREFIX}_{name}" not in os.environ}


def _credentials_as_written(config) -> None:
    """Put the raw text of every ``HUB_*`` variable named like a credential (``CREDENTIAL_SUFFIXES``:
    ``HUB_LEVER_CLIENT_ID``) where ``from_prefixed_env`` put its JSON-parsed value. A nested variable
    in Flask's double-underscore form counts by its last segment and lands at the same nested place:
    ``HUB_ACME_OAUTH__CLIENT_ID=12345`` is ``config["ACME_OAUTH"]["CLIENT_ID"] == "12345"``.

    The hub's own settings are flat, and no doc of the hub mentions the nested form (its one
    mapping, Flask-SQLAlchemy's ``SQLALCHEMY_ENGINE_OPTIONS``, has lower-case keys, which no suffix
    matches); the nested rule is for third-party plugins and extensions that read a group of
    settings. A plugin's ``ctx.config`` shows top-level keys starting with its name and "_", so
    plugin acme sees ``ctx.config["ACME_OAUTH"]`` but not ``HUB_ACME__CLIENT_ID`` (key ``ACME``).
    Raises ``ConfigError`` when a text setting taken as written replaced the group such a variable
    goes in (``HUB_PLUGINS='{}'`` with ``HUB_PLUGINS__X_ID``)."""
    for variable, raw in os.environ.items():
        if not variable.startswith(f"{ENV_PREFIX}_"):
            continue
        *groups, name = variable[len(ENV_PREFIX) + 1:].split("__")  # Flask's split: the same place
        if not name.endswith(CREDENTIAL_SUFFIXES):
            continue
        place = config
        for depth, group in enumerate(groups, 1):
            place = place.get(group)
            if not isinstance(place, MutableMapping):
                raise ConfigError(f"{variable} sets a value inside {ENV_PREFIX}_{'__'.join(groups[:depth])}, which "
                                  "holds a value, not a group of settings: unset one of the two.")
        place[name] = raw


def _number(name: str, value: Any, kind: type, label: str) -> int | float:
    bound = "0 or more" if name in NON_NEGATIVE else "more than 0"
    problem = ConfigError(f"{label} must be {'a whole number' if kind is int else 'a number'} ({bound}), "
                          f"not {value!r}")
    if isinstance(value, bool):
        raise problem
    try:
        number = kind(value) if kind is float or isinstance(value, (int, str)) else None
    except (TypeError, ValueError):
        raise problem from None
    if number is None or number != number or number in (float("inf"), float("-inf")):  # NaN, infinity
        raise problem
    if number < 0 or (number == 0 and name not in NON_NEGATIVE):
        raise problem
    if number > MAXIMUM[name]:
        bound = f"{MAXIMUM[name]} (365 days)" if MAXIMUM[name] == YEAR_SECONDS else f"{MAXIMUM[name]}"
        raise ConfigError(f"{label} must be at most {bound}, not {value!r}")
    return number


QUEUE_NAME_FORM = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,99}")


def _queue_name(value: Any, label: str) -> str:
    """``QUEUE_NAME``: the start of every key the hub's queue and rate limiter keep in Redis (and the
    queue's name in SQLite). Empty, it would name nothing apart from another hub's; spaces or
    ``*`` would make key patterns that match other keys."""
    name = str(value).strip()
    if not QUEUE_NAME_FORM.fullmatch(name):
        raise ConfigError(f"{label} must be a name of 1 to 100 letters, digits and . _ : - (starting with a letter or "
                          f"digit), e.g. ats-hub, not {value!r}")
    return name


def _flag(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS or word in FALSE_WORDS:
        return word in TRUE_WORDS
    raise ConfigError(f"{label} must be true or false, not {value!r}")


def _check_public_url(config) -> None:
    """``PUBLIC_URL``, when set, is an absolute http(s) URL without query or fragment; production
    requires it (workers build the callback URLs they give vendors from it, outside any request)."""
    value = config.get("PUBLIC_URL")
    if not value:
        if is_production(config):
            raise ConfigError("HUB_PUBLIC_URL is missing. In production set it to the hub's external base URL, "
                              "e.g. https://hub.example.com: vendors call the hub back at addresses built on it.")
        return
    parts = urlsplit(str(value).strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query or parts.fragment:
        raise ConfigError(f"HUB_PUBLIC_URL must be an absolute http(s) URL such as https://hub.example.com, "
                          f"not {value!r}")
    config["PUBLIC_URL"] = str(value).strip().rstrip("/")


DATABASE_URL_FORM = "sqlite:////absolute/path/hub.db or postgresql+psycopg://user:password@host:5432/hub"
DATABASE_BACKENDS = ("sqlite", "postgresql")
POSTGRESQL_WITHOUT_DRIVER = ("postgres", "postgresql")  # read as postgresql+psycopg


def _check_database_url(config) -> None:
    """``DATABASE_URL`` is a SQLAlchemy URL of a backend the hub runs on (SQLite, PostgreSQL) whose
    driver is installed; ``postgres://`` and ``postgresql://`` (no driver named) are read as
    ``postgresql+psycopg://``. The value is not repeated in the message: it may hold a password."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    value = config["DATABASE_URL"]
    if isinstance(value, str):
        value = config["DATABASE_URL"] = value.strip()
    try:
        url = make_url(value)  # a str, or a sqlalchemy URL given by hub.cfg or a test
    except (ArgumentError, TypeError, ValueError):
        raise ConfigError(f"HUB_DATABASE_URL must be a database URL such as {DATABASE_URL_FORM}; "
                          "the value given cannot be read as one") from None
    if url.drivername in POSTGRESQL_WITHOUT_DRIVER:  # as hosting platforms give them: psycopg is the driver installed
        url = url.set(drivername="postgresql+psycopg")
        config["DATABASE_URL"] = url.render_as_string(hide_password=False)
    backend = url.get_backend_name()
    if backend not in DATABASE_BACKENDS:
        raise ConfigError(f"HUB_DATABASE_URL must name a SQLite or PostgreSQL database, e.g. {DATABASE_URL_FORM}; "
                          f"not a {backend!r} one")
    try:
        url.get_dialect().import_dbapi()
    except (NoSuchModuleError, ImportError):
        raise ConfigError(f"HUB_DATABASE_URL names the database driver {url.drivername!r}, which is not installed; "
                          f"use e.g. {DATABASE_URL_FORM}") from None


REDIS_SCHEMES = ("redis", "rediss", "unix")


def _check_redis_url(config) -> None:
    """``REDIS_URL``, when set, is a URL redis-py can connect with (``redis://``, ``rediss://`` for
    TLS, ``unix://``). The value is not repeated in the message: it may hold a password."""
    value = config.get("REDIS_URL")
    if not value:
        return
    form = "redis://host:6379/0 (rediss:// for TLS, unix:///path/to/redis.sock)"
    text = str(value).strip()
    scheme = text.partition("://")[0].lower() if "://" in text else ""
    if scheme not in REDIS_SCHEMES:
        raise ConfigError(f"HUB_REDIS_URL must be a Redis URL such as {form}; "
                          f"it starts with neither redis://, rediss:// nor unix://")
    from redis.connection import parse_url

    try:
        parse_url(text)
    except ValueError:  # its text may quote a part of the password
        raise ConfigError(f"HUB_REDIS_URL must be a Redis URL such as {form}; the value given cannot be read "
                          "as one (a password holding '/', '#' or '@' must be percent-encoded)") from None
    config["REDIS_URL"] = text


_DOTTED_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*")


def _check_extra_plugin_modules(config) -> None:
    """``EXTRA_PLUGIN_MODULES``, when set, is comma-separated ``name=dotted.module`` pairs."""
    value = config.get("EXTRA_PLUGIN_MODULES")
    if not value:
        return
    items = value if isinstance(value, (list, tuple)) else str(value).split(",")
    for item in (str(part).strip() for part in items):
        if not item:
            continue
        name, equals, module = (part.strip() for part in item.partition("="))
        if not equals or not name or not _DOTTED_NAME.fullmatch(module):
            raise ConfigError("HUB_EXTRA_PLUGIN_MODULES must be comma-separated name=dotted.module pairs, "
                              f"e.g. myplugin=mypackage.plugin, not {item!r}")


METRICS_TOKEN_MIN_LENGTH = 16


def _check_metrics_token(config) -> None:
    """``METRICS_TOKEN``, when set, is long enough not to be guessed and is not a placeholder."""
    value = config.get("METRICS_TOKEN")
    if value is None:
        return
    if _secret_problem(str(value), METRICS_TOKEN_MIN_LENGTH, "is too short"):
        raise ConfigError(f"HUB_METRICS_TOKEN must be at least {METRICS_TOKEN_MIN_LENGTH} characters and not a "
                          "placeholder, e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'; "
                          "leave it unset to serve /metrics without a token.")
    config["METRICS_TOKEN"] = str(value).strip()


# A Fernet key as ``Fernet.generate_key()`` writes it: 32 bytes in url-safe base64, 44 characters,
# the last one "=". Fernet itself decodes leniently: it skips characters outside that alphabet and
# stops at the first "=", so "new old" or "new;old" (no comma) were read as the first key alone,
# without a word (the secrets under the second then unreadable), and a key cut short stopped
# gunicorn's workers with a traceback each, past its master's check. A key in standard base64 ("+"
# and "/" where url-safe has "-" and "_", as ``openssl rand -base64 32`` writes one) is the same 32
# bytes to Fernet, which always read it: it is a key, not a mistake.
FERNET_KEY_FORM = re.compile(r"[A-Za-z0-9_+/-]{43}=")
FERNET_KEY_EXAMPLE = "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"


def _ordinal(number: int) -> str:
    return f"{number}{'th' if 10 <= number % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(number % 10, 'th')}"


def _fernet_key_problem(key: str) -> str | None:
    """What keeps ``key`` from being a Fernet key, in words that never repeat it, or None."""
    if any(character.isspace() or character == ";" for character in key):
        return "holds a space or a semicolon (two keys? they are separated by commas)"
    if len(key) != 44:
        cut = ": was it cut short?" if len(key) < 44 else ""
        return f"has {len(key)} characters, where a Fernet key has 44 (the last one '='){cut}"
    if not FERNET_KEY_FORM.fullmatch(key):
        return "holds characters a Fernet key has not (44 letters, digits, '-' and '_' (or '+' and '/'), the last one '=')"
    return None


def _check_encryption_keys(config) -> None:
    """``ENCRYPTION_KEYS``, when set, is Fernet keys separated by commas, each checked as
    ``Fernet.generate_key()`` writes it and named by its place in the list (never shown: it is a
    secret). Quotes around a key (an env file that keeps them) are dropped, as Fernet's lenient
    decoding always did, and empty items (a trailing comma) skipped; the value is kept as the keys
    joined by commas."""
    value = config.get("ENCRYPTION_KEYS")
    if isinstance(value, (list, tuple)):
        value = ",".join(str(key) for key in value)
    if value is None or not str(value).strip():
        return  # embedded: generated into the instance folder; production: refused as missing already
    if is_production(config) and _secret_problem(str(value), 32, "is too short"):
        return  # refused already, as a placeholder or too short
    keys = [key.strip().strip("\"'").strip() for key in str(value).split(",")]
    keys = [key for key in keys if key]
    if not keys:
        raise ConfigError(f"HUB_ENCRYPTION_KEYS holds no key, only commas. Give Fernet keys separated by commas, "
                          f"newest first, e.g. {FERNET_KEY_EXAMPLE}.")
    for number, key in enumerate(keys, 1):
        problem = _fernet_key_problem(key)
        if problem:
            place = ("HUB_ENCRYPTION_KEYS" if len(keys) == 1
                     else f"the {_ordinal(number)} of the {len(keys)} keys in HUB_ENCRYPTION_KEYS")
            end = "" if problem.endswith("?") else "."
            raise ConfigError(f"{place} {problem}{end} Give Fernet keys separated by commas, newest first, "
                              f"e.g. {FERNET_KEY_EXAMPLE}.")
    config["ENCRYPTION_KEYS"] = ",".join(keys)


def check_values(config, origins: Mapping[str, str] | None = None, problems: _Problems | None = None) -> None:
    """Check and normalise every setting of ``DEFAULTS`` whose default is a flag or a number,
    and those of ``CHOICES``: ``"8"`` becomes ``8``, ``"yes"`` becomes ``True``. Raises
    ``ConfigError`` naming where the value that cannot work came from and the value: its entry in
    ``origins`` (``WORKERS in /srv/hub/instance/hub.cfg``), else the ``HUB_*`` variable (a typo
    must stop the hub at start-up, not a worker thread hours later). With ``problems``, every
    setting is checked and each one that cannot work is noted there instead."""
    for name, default in DEFAULTS.items():
        value = config.get(name)
        if value is None:
            continue
        label = (origins or {}).get(name, f"{ENV_PREFIX}_{name}")
        with (problems.check() if problems is not None else contextlib.nullcontext()):
            if isinstance(default, bool) or name in FLAGS_WITHOUT_DEFAULT:
                config[name] = _flag(value, label)
            elif isinstance(default, (int, float)):
                config[name] = _number(name, value, type(default), label)
            elif name == "QUEUE_NAME":
                config[name] = _queue_name(value, label)
            elif name in CHOICES:
                word = str(value).strip().lower()
                if word not in CHOICES[name]:
                    raise ConfigError(f"{label} must be one of {', '.join(CHOICES[name])}, not {value!r}")
                config[name] = word


def is_production(config: Mapping[str, Any]) -> bool:
    return str(config.get("ENV", "embedded")).lower() == "production"


def _secret_problem(value: str | None, min_length: int, short: str) -> str | None:
    """What is wrong with a production secret, in words ("is missing", "is a placeholder", ``short``),
    or None."""
    if value is None or not value.strip():
        return "is missing"
    if value.strip().lower() in PLACEHOLDER_SECRETS:
        return "is a placeholder"
    if len(value.strip()) < min_length:
        return short
    return None


def _check_production_keys(config, problems: _Problems) -> None:
    """In production, the secret key and the encryption keys must be set, and real."""
    if is_production(config):
        secret = config.get("SECRET_KEY")
        if problem := _secret_problem(secret, 32, f"is too short ({len(str(secret).strip())} characters)"):
            problems.messages.append(
                f"HUB_SECRET_KEY {problem}. In production set it to a random value of at "
                "least 32 characters, e.g. python -c 'import secrets; print(secrets.token_urlsafe(48))'."
            )
        keys = config.get("ENCRYPTION_KEYS")
        if problem := _secret_problem(keys, 32, "is not a Fernet key (one is 44 characters)"):
            problems.messages.append(
                f"HUB_ENCRYPTION_KEYS {problem}. In production set it to one or more "
                "comma-separated Fernet keys (newest first), e.g. python -c "
                "'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'."
            )


def ensure_embedded_keys(app) -> None:
    """An embedded hub's keys, when not configured: read from the instance folder, generated there
    on the first start. ``create_app`` calls it once the configuration and the plugins are
    accepted, so that a refused start writes no file."""
    config = app.config
    if is_production(config):
        return
    instance = Path(app.instance_path)
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = _read_or_create(instance / "secret_key", lambda: secrets.token_urlsafe(48))
    if not config.get("ENCRYPTION_KEYS"):
        config["ENCRYPTION_KEYS"] = _read_or_create(
            instance / "encryption_keys", lambda: Fernet.generate_key().decode()
        )


def _read_or_create(path: Path, make) -> str:
    """The secret stored at ``path``; generated with file mode 0600 on first use. Raises
    ``ConfigError`` when it cannot be read (a folder in its place, no permission)."""
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    except OSError as exc:
        raise ConfigError(f"{path} (a key the embedded hub generated in its instance folder) cannot be read: "
                          f"{exc.strerror or type(exc).__name__}") from None
    path.parent.mkdir(parents=True, exist_ok=True)
    value = make()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
    except FileExistsError:  # another process created it first
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value
