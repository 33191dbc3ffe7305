"""Hubs sharing a Redis and ``HUB_QUEUE_NAME`` (an operator's walk through a production deployment).

The docs allowed any name of letters, digits and ``. _ : -`` and said it "starts the keys of the
queue": Huey names its queue's keys ``huey.redis.<name>`` without the ``.``, ``:`` and ``-`` (the
walk's ``ops-walk-14648`` queued at ``huey.redis.opswalk14648``), so ``hub-1`` and ``hub.1`` or
``hub1`` share one queue and take each other's wake-ups. The docs now say which names stay apart."""

from __future__ import annotations

from pathlib import Path

from huey import RedisHuey

OPERATIONS = Path(__file__).resolve().parents[1] / "docs" / "operations.md"


def _queue_key(name: str) -> str:
    return RedisHuey(name, url="redis://127.0.0.1:6379/0").storage.queue_key  # no connection is made


def test_names_that_differ_only_in_dots_colons_and_dashes_share_one_huey_queue():
    assert _queue_key("hub-1") == _queue_key("hub.1") == _queue_key("hub1") == _queue_key("hub:1") == "huey.redis.hub1"
    assert _queue_key("ats-hub") == "huey.redis.atshub"  # the default's
    assert len({_queue_key("acme-prod"), _queue_key("acme-staging"), _queue_key("acme_prod")}) == 3


def test_the_configuration_table_says_which_names_keep_hubs_apart():
    row = next(line for line in OPERATIONS.read_text().splitlines() if line.startswith("| `HUB_QUEUE_NAME` |"))
    assert "starts the keys of the queue" not in row
    assert "`huey.redis.atshub`" in row
    assert "differ in their letters, digits or `_`" in row
