"""The integration page's Recent webhooks: the whole log the retention keeps, 20 lines a page,
filtered by outcome (it showed the last 20 only: a refusal among a busy day's webhooks was gone)."""

from __future__ import annotations

import re
from datetime import timedelta

from hub.extensions import db
from hub.store.models import WebhookLog, utcnow


def _lines(app, seeded, outcomes: list[str]) -> list[int]:
    """Workspace 1's fakesource log lines with these outcomes, oldest first; their ids."""
    with app.app_context():
        start = utcnow() - timedelta(hours=2)
        rows = [WebhookLog(workspace_id=seeded.workspace_id, plugin="fakesource", outcome=outcome,
                           status_code=401 if outcome == "rejected" else 200, event_count=0,
                           message=f"line {n}", received_at=start + timedelta(seconds=n))
                for n, outcome in enumerate(outcomes)]
        db.session.add_all(rows)
        db.session.commit()
        return [row.id for row in rows]


def _shown(page: str) -> list[int]:
    return [int(n) for n in re.findall(r'<tr id="webhook-log-(\d+)"', page)]


def test_the_log_pages_and_filters_by_outcome(hub_app, seeded, as_role):
    ids = _lines(hub_app, seeded, ["accepted"] * 22 + ["rejected"] * 3)
    client = as_role("admin")
    first = client.get("/integrations/fakesource").get_data(as_text=True)
    assert _shown(first)[:20] == ids[::-1][:20] and len(_shown(first)) == 20
    assert 'aria-label="Webhook log pages"' in first and 'id="page-next"' in first
    older = client.get("/integrations/fakesource?page=2").get_data(as_text=True)
    assert set(ids[:5]) <= set(_shown(older)) and not set(ids[-5:]) & set(_shown(older))
    assert 'id="webhook-log-count" data-focus-result' in older  # asked for with a query: the focus goes there

    rejected = client.get("/integrations/fakesource?outcome=rejected").get_data(as_text=True)
    assert _shown(rejected) == ids[-3:][::-1]
    assert "3 webhooks match these filters." in rejected
    assert '<option value="rejected" selected>Rejected</option>' in rejected


def test_a_filter_that_matches_nothing_and_a_wrong_value_say_so(hub_app, seeded, as_role):
    ids = _lines(hub_app, seeded, ["accepted", "accepted"])
    client = as_role("admin")
    none = client.get("/integrations/fakesource?outcome=rejected").get_data(as_text=True)
    assert _shown(none) == [] and "No rejected webhook is in the log (it keeps the last 30 days)." in none
    wrong = client.get("/integrations/fakesource?outcome=refused").get_data(as_text=True)
    assert "There is no outcome “refused”: the list shows every outcome." in wrong
    assert set(ids) <= set(_shown(wrong))
    past = client.get("/integrations/fakesource?page=9").get_data(as_text=True)
    assert "This page is past the last one" in past


def test_a_settings_form_sent_back_with_errors_still_shows_the_log(hub_app, seeded, as_role):
    """The page is rendered for a POST too (the settings form with its errors): no query to read there."""
    ids = _lines(hub_app, seeded, ["rejected"])
    answer = as_role("super_admin").post("/integrations/fakesource/settings?outcome=accepted",
                                         data={"account": ""})
    assert ids[0] in _shown(answer.get_data(as_text=True))
