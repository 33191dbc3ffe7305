"""Logging: plain text by default, one JSON object per line with ``HUB_LOG_FORMAT=json``.

Lines about work carry ``event_id``, ``delivery_id``, ``workspace_id`` and ``plugin`` (passed as
``extra``), so one id traces a candidate's whole path. Secrets are never passed to a logger.
"""

from __future__ import annotations

import json
import logging
import sys

CONTEXT_FIELDS = ("workspace_id", "event_id", "delivery_id", "plugin", "event_type", "deliveries")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
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


def configure_logging(app) -> None:
    """Install one handler on the ``hub`` logger tree (idempotent across apps in one process)."""
    logger = logging.getLogger("hub")
    logger.setLevel(str(app.config.get("LOG_LEVEL", "INFO")).upper())
    fmt = JsonFormatter() if app.config.get("LOG_FORMAT") == "json" else TextFormatter(
        "%(asctime)s %(levelname)s %(name)s: %(message)s")
    for handler in list(logger.handlers):
        if getattr(handler, "_hub_handler", False):
            logger.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler._hub_handler = True  # type: ignore[attr-defined]
    handler.setFormatter(fmt)
    logger.addHandler(handler)
    logger.propagate = True
