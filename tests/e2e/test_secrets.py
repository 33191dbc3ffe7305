"""Secrets over a full scenario: encrypted at rest (the raw database holds no API key, token or
webhook secret in clear) and never in the hub's logs or pages."""

from __future__ import annotations

import pytest
import requests
import sqlalchemy as sa

from hub.extensions import db
from hub.runtime import get_runtime
from tests.e2e.harness import start_stack
from tests.e2e.test_story import EXPECTED, run_story


def secrets_in_play(app) -> set[str]:
    """Every secret value the hub holds after the story (decrypted through the plugins' contexts)."""
    found: set[str] = set()
    with app.app_context():
        runtime = get_runtime()
        for plugin in ("lever", "canditech"):
            for value in runtime.context(1, plugin).secrets.values():
                if isinstance(value, dict):
                    found |= {str(v) for v in value.values()}
                elif value:
                    found |= {part.strip() for part in str(value).replace(",", "\n").splitlines() if part.strip()}
    return {s for s in found if len(s) >= 8}


@pytest.mark.slow
def test_no_secret_in_clear_in_the_database_logs_or_pages(make_app, tmp_path):
    stack = start_stack(make_app, tmp_path, "embedded", overrides={"LOG_LEVEL": "DEBUG"})
    try:
        assert run_story(stack, faulty=False) == EXPECTED
        secrets = secrets_in_play(stack.app)
        assert {"lever-sandbox-key", "canditech-sandbox-key"} <= secrets
        assert len(secrets) >= 4  # plus the webhook signature tokens and the webhook secret
        with stack.app.app_context():
            dump = "\n".join(repr(row) for table in db.metadata.sorted_tables
                             for row in db.session.execute(sa.select(table)))
            db.session.rollback()
        pages = "".join(requests.get(stack.hub_url + path, timeout=10).text
                        for path in ("/healthz", "/readyz", "/metrics", "/webhooks/lever/x"))
        logs = "".join(path.read_text(errors="replace") for path in stack.logs.glob("hub*.log"))
        assert "delivery" in logs  # the log really holds the scenario
        for secret in secrets:
            assert secret not in dump
            assert secret not in logs
            assert secret not in pages
    finally:
        stack.stop()
