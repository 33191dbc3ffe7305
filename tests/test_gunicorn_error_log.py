"""gunicorn's own log (logger ``gunicorn.error``) under the repository's settings
(``gunicorn.conf.py``): no webhook URL's key in it, as in its access log."""

import logging
import runpy
from pathlib import Path
from types import SimpleNamespace

from gunicorn.config import Config
from gunicorn.glogging import Logger

ROOT = Path(__file__).resolve().parents[1]
KEY = "TheSecretKey42"


def test_gunicorns_own_log_does_not_hold_webhook_keys(tmp_path):
    """At ``--log-level debug`` gunicorn's default ``pre_request`` hook logs each request's method
    and path in its own log, and a request its worker fails to handle is logged with its URI: the
    access log's redaction did not reach those lines, which carried the webhook URL's key, its only
    credential (found by tests/e2e/test_secrets.py in production shape)."""
    config = Config()
    config.set("loglevel", "debug")
    config.set("errorlog", str(tmp_path / "error.log"))
    loggers = [logging.getLogger(name) for name in ("gunicorn.error", "gunicorn.access")]
    before = [(list(logger.filters), list(logger.handlers)) for logger in loggers]
    server = SimpleNamespace(log=Logger(config))
    try:
        runpy.run_path(str(ROOT / "gunicorn.conf.py"))["on_starting"](server)
        config.pre_request(server, SimpleNamespace(method="POST", path=f"/webhooks/lever/{KEY}"))
        server.log.error("Error handling request %s", f"/webhooks/canditech/{KEY}?x=1")
    finally:  # gunicorn's loggers are the process's: as they were
        for logger, (filters, handlers) in zip(loggers, before):
            for handler in logger.handlers:
                if handler not in handlers:
                    handler.close()
            logger.filters[:], logger.handlers[:] = filters, handlers
    logged = (tmp_path / "error.log").read_text()
    assert "POST /webhooks/lever/***" in logged and "request /webhooks/canditech/***?x=1" in logged
    assert KEY not in logged
