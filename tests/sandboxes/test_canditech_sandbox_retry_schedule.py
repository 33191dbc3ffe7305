"""The Canditech sandbox retries a webhook as the team's Canditech notes say Canditech does: "on
any non-2xx, for up to 3 days with growing gaps". Its default schedule (``WEBHOOK_RETRY_DELAYS``)
must therefore keep trying for days, not give up after an hour: a hub down for a few hours gets its
webhooks from Canditech, and so from the sandbox standing in for it."""

from __future__ import annotations

from plugins.canditech.sandbox import create_sandbox_app

HOUR = 3600
DAY = 24 * HOUR


def _default_delays() -> list[float]:
    app = create_sandbox_app({"TESTING": True})
    return app.test_client().get("/_sandbox/config").get_json()["WEBHOOK_RETRY_DELAYS"]


def test_the_default_schedule_retries_with_growing_gaps_for_up_to_three_days():
    delays = _default_delays()
    assert delays[0] <= 1  # the first retry comes within seconds
    assert all(later >= earlier for earlier, later in zip(delays, delays[1:]))  # growing gaps
    assert 2 * DAY < sum(delays) <= 3 * DAY  # for days, at most three
