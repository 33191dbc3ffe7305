"""Token auth against the sandbox over real HTTP: one token fetched and cached among the secrets,
refreshed before it expires and once after a 401, single flight across concurrent workers, and a
refused key pair flagging the connection."""

from __future__ import annotations

import threading
import time

import pytest

from hub.errors import HubError, NeedsReauthorization
from plugins.vervoe import auth
from plugins.vervoe.client import VervoeClient
from plugins.vervoe.settings import VervoeSettings

from .conftest import SANDBOX_KEY, SANDBOX_SECRET, vervoe_settings


def tokens_issued(sandbox) -> int:
    return sandbox.stats()["tokens_issued"]


def token_calls(sandbox) -> dict:
    return sandbox.stats()["by_route"].get("GET /api/public/ats-api/token", {})


def test_one_token_serves_many_calls_and_is_kept_encrypted_with_its_expiry(hub):
    before = time.time()
    assert [a.id for a in hub.call("list_assessments")] == [
        "backend-developer-test", "customer-support-test", "sales-skills-test"]
    hub.call("list_assessments")
    assert tokens_issued(hub.sandbox) == 1
    secrets = hub.secrets()
    assert secrets[auth.TOKEN]
    assert before + 600 - 5 <= secrets[auth.EXPIRES_AT] <= time.time() + 600
    assert secrets[auth.KEY_ID] == auth.key_id(VervoeSettings.from_context(hub.ctx()))
    assert SANDBOX_KEY not in secrets[auth.KEY_ID] and SANDBOX_SECRET not in secrets[auth.KEY_ID]
    integration = hub.integration()
    assert secrets[auth.TOKEN] not in (integration.secrets_encrypted or "")  # encrypted at rest
    assert secrets[auth.TOKEN] not in str(integration.settings)


def test_a_token_about_to_expire_is_refreshed_first(hub):
    hub.call("list_assessments")
    old = hub.secrets()[auth.TOKEN]
    hub.ctx().update_secrets({auth.EXPIRES_AT: time.time() + auth.REFRESH_MARGIN - 1})
    hub.call("list_assessments")
    assert tokens_issued(hub.sandbox) == 2
    assert hub.secrets()[auth.TOKEN] != old
    assert token_calls(hub.sandbox) == {"200": 2}
    # the refresh came before the call: no 401 was ever answered
    assert "401" not in hub.sandbox.stats()["by_route"]["GET /api/integration/assessments"]


def test_a_token_vervoe_no_longer_accepts_is_refreshed_once_and_the_call_repeated(hub):
    hub.call("list_assessments")
    hub.sandbox.call("POST", "/_sandbox/tokens/expire")
    assert len(hub.call("list_assessments")) == 3
    assert tokens_issued(hub.sandbox) == 2
    # two pages each time; the first call of the second listing got 401, was repeated with a new token
    assert hub.sandbox.stats()["by_route"]["GET /api/integration/assessments"] == {"200": 4, "401": 1}


def test_changing_the_key_pair_drops_the_cached_token(hub):
    hub.call("list_assessments")
    hub.save_settings(api_key="another-key")
    with pytest.raises(HubError) as info:
        hub.call("list_assessments")
    assert info.value.status == 401 and "refused" in info.value.message
    assert tokens_issued(hub.sandbox) == 1  # the old token was not used with the new key


def test_concurrent_workers_refresh_once(hub, monkeypatch):
    real_fetch = auth.fetch_token
    fetches = []

    def slow_fetch(ctx, settings, **kwargs):  # a slow token endpoint: every worker wants a token meanwhile
        fetches.append(1)
        time.sleep(0.3)
        return real_fetch(ctx, settings, **kwargs)

    monkeypatch.setattr(auth, "fetch_token", slow_fetch)
    barrier = threading.Barrier(4)
    tokens, errors = [], []

    def worker():
        try:
            with hub.app.app_context():
                ctx = hub.runtime.context(1, "vervoe")
                barrier.wait(timeout=10)
                tokens.append(auth.bearer_token(ctx, VervoeSettings.from_context(ctx)))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert len(tokens) == 4 and len(set(tokens)) == 1
    assert len(fetches) == 1 and tokens_issued(hub.sandbox) == 1
    assert hub.secrets()[auth.TOKEN] == tokens[0]


def test_concurrent_401s_refresh_once(hub):
    hub.call("list_assessments")
    hub.sandbox.call("POST", "/_sandbox/tokens/expire")
    barrier = threading.Barrier(3)
    counts, errors = [], []

    def worker():
        try:
            with hub.app.app_context():
                ctx = hub.runtime.context(1, "vervoe")
                barrier.wait(timeout=10)
                counts.append(len(VervoeClient(ctx).list_assessments()))
        except Exception as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    assert counts == [3, 3, 3]
    assert tokens_issued(hub.sandbox) == 2  # the first one, and ONE refresh for the three 401s


def test_a_refused_key_pair_needs_reauthorization(hub):
    hub.save_settings(vervoe_settings(hub.sandbox, api_secret="wrong-secret"))
    with pytest.raises(HubError) as info:
        hub.call("test_connection")
    assert info.value.status == 401 and info.value.code == "vendor_unauthorized"
    assert "Unauthorized" in info.value.message and "wrong-secret" not in info.value.message
    integration = hub.integration()
    assert integration.status == "needs_reauthorization"
    assert auth.TOKEN not in hub.secrets()
    with pytest.raises(NeedsReauthorization):
        VervoeClient(hub.ctx()).get_report("any")
    assert tokens_issued(hub.sandbox) == 0


def test_test_connection_reports_the_assessments(hub):
    assert hub.call("test_connection") == "Vervoe is connected: 3 assessments"
    assert hub.integration().status == "connected"
