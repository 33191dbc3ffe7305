"""Logging: one JSON object per line in production (``HUB_ENV=production``), plain text otherwise;
``HUB_LOG_FORMAT`` (``text`` or ``json``) chooses either way.

Lines about work carry ``event_id``, ``delivery_id``, ``workspace_id`` and ``plugin``, so one id
traces a candidate's whole path: a line passes them as ``extra``, and while a delivery runs
(``log_context``, set by the runner) every line the hub's handlers write, whoever logged it (the
engine, the kit, the plugin through ``ctx.log`` or a logger of its own under ``hub``), carries
those of the delivery where it names none itself (``WorkContext``). Secrets are never passed to a
logger.

The libraries that log on the hub's behalf write in the same format: Huey (its consumer runs the
workers of ``hub worker`` and ``hub run``; warnings and errors only, its per-task lines are noise
beside the hub's own) and werkzeug (the server of ``hub run`` and ``hub demo``: its request lines).
gunicorn's own lines follow the same setting through ``gunicorn.conf.py`` (``use_for_gunicorn``).
Any other library's logged warnings and errors (an HTTP client's retries) are written in
the same format too, with the ids of the work under way, through a handler on the root logger
(``OutsideHubTrees``), instead of Python's last-resort plain line.
An error Huey logs again and again (its consumer threads log "Error reading from queue", with a
traceback, at each poll while Redis is down) is written at most once a minute (``RepeatLimiter``).
"""

from __future__ import annotations

import contextlib
import contextvars
import json
import logging
import re
import sys
import threading
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

CONTEXT_FIELDS = ("workspace_id", "event_id", "delivery_id", "plugin", "event_type", "deliveries")

# the ids of the work under way in this thread (``log_context``); None outside any
_work: contextvars.ContextVar[Mapping[str, Any] | None] = contextvars.ContextVar("hub_log_context", default=None)


@contextlib.contextmanager
def log_context(**fields: Any) -> Iterator[None]:
    """For the block, in this thread (and in a thread started with a copy of its context), every
    record the hub's handlers write carries ``fields`` (those not None; ``workspace_id``,
    ``event_id``, ``delivery_id``, ``plugin``) unless it names its own (``extra``). Nested blocks
    replace the fields of the outer one until they end: a delivery run inline inside another's
    (the inline queue) logs its own ids, and the outer one's after it."""
    token = _work.set({name: value for name, value in fields.items() if value is not None})
    try:
        yield
    finally:
        _work.reset(token)


def context_fields() -> dict[str, Any]:
    """The fields ``log_context`` set for the work under way here (empty outside any)."""
    return dict(_work.get() or {})


class WorkContext(logging.Filter):
    """On every hub handler: gives a record the fields of ``log_context`` it does not carry itself
    (missing or None), so a line logged during a delivery's run carries its ids whoever logged it."""

    def filter(self, record: logging.LogRecord) -> bool:
        for name, value in (_work.get() or {}).items():
            if getattr(record, name, None) is None:
                setattr(record, name, value)
        return True


def utc_timestamp(created: float) -> str:
    """``created`` (seconds since the epoch) in ISO 8601, UTC, to the millisecond: ``2026-11-30T02:41:07.123Z``."""
    moment = datetime.fromtimestamp(created, timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": utc_timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value is not None:
                body[name] = value
        if record.exc_info and record.exc_info[0] is not None:  # the traceback, as the text format has it
            body["exc_type"] = record.exc_info[0].__name__
            body["exc_message"] = str(record.exc_info[1])
            body["traceback"] = record.exc_text or self.formatException(record.exc_info)
        if record.stack_info:
            body["stack"] = self.formatStack(record.stack_info)
        return json.dumps(body, default=str)  # newlines escaped: one object per line


class TextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = " ".join(f"{n}={getattr(record, n)}" for n in CONTEXT_FIELDS if getattr(record, n, None) is not None)
        return f"{line} [{context}]" if context else line


def failure_cause(exc: BaseException) -> str:
    """": the database is unavailable" (or the queue's Redis) when ``exc`` is such an outage, which
    a worker rides out by itself, for the line that logs it: the words say what its traceback
    leaves to be inferred. Else ""."""
    import redis

    from hub.store.outage import database_unavailable

    if database_unavailable(exc):
        return ": the database is unavailable"
    if isinstance(exc, redis.exceptions.ConnectionError):
        return ": Redis (the queue) is unavailable"
    return ""


class RepeatLimiter(logging.Filter):
    """Passes an error (or worse) of a logger at most once per ``period`` seconds for each message
    template and kind of exception, and notes on the next one passed how many were held back meanwhile. Lower levels
    always pass. So an outage costs one line (and one traceback) a minute, not several a second."""

    def __init__(self, period: float = 60.0) -> None:
        super().__init__()
        self.period = period
        self._lock = threading.Lock()
        self._passed: dict[tuple[str, ...], float] = {}
        self._held: dict[tuple[str, ...], int] = {}

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.ERROR:
            return True
        # the same message with another kind of exception (an unhandled task's "KeyError" after
        # its "OperationalError") is another error: it passes. Not its text, which may carry ids.
        error = record.exc_info[1] if record.exc_info else None
        key = (record.name, str(record.msg), type(error).__name__ if error else "")
        with self._lock:
            last = self._passed.get(key)
            if last is not None and record.created - last < self.period:
                self._held[key] = self._held.get(key, 0) + 1
                return False
            self._passed[key] = record.created
            held = self._held.pop(key, 0)
            if len(self._passed) > 1000:  # a message whose template varies: forget the quiet ones
                self._passed = {k: t for k, t in self._passed.items() if record.created - t < self.period}
        if held:
            record.msg = f"{record.msg} ({held} more like it since the last one shown were not logged)"
        return True


# loggers of libraries working for the hub, and the least level each passes on
LIBRARY_LOGGERS = {"huey": logging.WARNING, "werkzeug": logging.INFO}
# of those, the ones whose repeated errors are written at most once per period (``RepeatLimiter``)
REPEAT_LIMITED = ("huey",)
# and those that log request lines, whose webhook URLs hold a key (``WebhookKeyRedactor``)
REQUEST_LOGGERS = ("werkzeug",)
# the least level of what any other library logs (an HTTP client's "Retrying ..."), which reaches
# the root logger: written in the hub's format too, not as Python's last-resort plain line
OTHER_LIBRARIES_LEAST = logging.WARNING


class OutsideHubTrees(logging.Filter):
    """On the root logger's handler: only records of loggers outside the trees the hub writes
    itself (``hub``, ``LIBRARY_LOGGERS``, gunicorn's), which reach the root as well, propagated
    after their own handler wrote them."""

    TREES = ("hub", *LIBRARY_LOGGERS, "gunicorn")

    def filter(self, record: logging.LogRecord) -> bool:
        return not any(record.name == tree or record.name.startswith(tree + ".") for tree in self.TREES)


def configure_logging(app) -> None:
    """Install one handler on the ``hub`` logger tree, on ``LIBRARY_LOGGERS`` and on the root
    logger (``OutsideHubTrees``, from ``OTHER_LIBRARIES_LEAST`` up), in the format
    ``LOG_FORMAT`` names (``hub.config`` makes it ``json`` in production unless set), each
    handler adding the ids of the work under way (``WorkContext``); idempotent across apps in one
    process."""
    level = logging.getLevelName(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    fmt = JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else TextFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s")
    _install(logging.getLogger("hub"), fmt, level)
    for name, least in LIBRARY_LOGGERS.items():
        filters = [RepeatLimiter()] if name in REPEAT_LIMITED else []
        filters += [WebhookKeyRedactor()] if name in REQUEST_LOGGERS else []
        _install(logging.getLogger(name), fmt, max(level, least) if isinstance(level, int) else least, *filters)
    # every other library, from OTHER_LIBRARIES_LEAST up: the root logger's level is left as it
    # is (the host's, a test's); the handler's own level and filter choose what it writes
    root = _install(logging.getLogger(), fmt, None, OutsideHubTrees())
    root.setLevel(max(level, OTHER_LIBRARIES_LEAST) if isinstance(level, int) else OTHER_LIBRARIES_LEAST)


def _install(logger: logging.Logger, fmt: logging.Formatter, level, *filters: logging.Filter) -> logging.Handler:
    """Put the hub's handler on ``logger`` (in place of one installed before) and return it;
    ``logger`` set to ``level`` (None: its level is left as it is)."""
    if level is not None:
        logger.setLevel(level)
    for handler in list(logger.handlers):
        if getattr(handler, "_hub_handler", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._hub_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(fmt)
    # on the handler: a logger's own filters never see its children's records
    for handler_filter in (WorkContext(), *filters):
        handler.addFilter(handler_filter)
    logger.addHandler(handler)
    if logger.parent is not None:  # not the root
        logger.propagate = True
    return handler


def json_requested(environ, hub_cfg: Mapping[str, Any] | None = None) -> bool:
    """The settings ask for JSON: ``LOG_FORMAT`` is ``json``, or it is not set and ``ENV`` is
    ``production``; each taken from the environment (``HUB_LOG_FORMAT``, ``HUB_ENV``), else from
    ``hub_cfg`` (the instance folder's ``hub.cfg``, ``hub.config.instance_settings``), as the
    hub's settings are read (in any case, spaces around ignored)."""
    def setting(name: str) -> str:
        value = str(environ.get(f"HUB_{name}", "")).strip().lower()
        return value or str((hub_cfg or {}).get(name) or "").strip().lower()

    chosen = setting("LOG_FORMAT")
    if chosen:
        return chosen == "json"
    return setting("ENV") == "production"


WEBHOOK_KEY_IN_PATH = re.compile(r"(/webhooks/[^/\s?#]+/)[^/\s?#]+")


def redact_webhook_keys(text: str) -> str:
    """``POST /webhooks/lever/<key> HTTP/1.1`` -> ``POST /webhooks/lever/*** HTTP/1.1``: the key in
    a webhook URL is its only credential."""
    return WEBHOOK_KEY_IN_PATH.sub(r"\1***", text)


class WebhookKeyRedactor(logging.Filter):
    """On the request logs (gunicorn's access log and its own log, werkzeug's lines under ``hub run``): the webhook
    key out of the message and its arguments: the values of gunicorn's atoms (``%(r)s``,
    ``%(U)s``, ``{raw_uri}e``..., changed in place: gunicorn's mapping answers "-" for an atom it
    lacks, which a custom ``access_log_format`` relies on) or werkzeug's request line."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_webhook_keys(record.msg)
        args = record.args
        if isinstance(args, dict):
            for name, value in list(args.items()):
                if isinstance(value, str):
                    args[name] = redact_webhook_keys(value)
        elif isinstance(args, tuple):
            record.args = tuple(redact_webhook_keys(v) if isinstance(v, str) else v for v in args)
        return True


def redact_gunicorn_logs(gunicorn_logger) -> None:
    """No webhook URL's key in gunicorn's access log (with ``--access-logfile``) nor in its own log
    (at ``--log-level debug`` its default ``pre_request`` hook logs each request's path; a request
    a worker fails to handle is logged with its URI). Called by ``gunicorn.conf.py`` in every
    process: once, however often it is called."""
    for logger in (gunicorn_logger.access_log, gunicorn_logger.error_log):
        if not any(isinstance(f, WebhookKeyRedactor) for f in logger.filters):
            logger.addFilter(WebhookKeyRedactor())


def use_for_gunicorn(gunicorn_logger) -> None:
    """Give gunicorn's own loggers (boot, worker deaths, its access log when enabled) the hub's
    JSON format: called by ``gunicorn.conf.py`` when the environment asks for JSON
    (``json_requested``). Formatters only, so gunicorn's handlers, and its access log's being off
    unless asked for, stay as they are."""
    for logger in (gunicorn_logger.error_log, gunicorn_logger.access_log):
        for handler in logger.handlers:
            handler.setFormatter(JsonFormatter())
