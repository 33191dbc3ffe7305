"""The seed's story end to end, over real HTTP between separate processes: the hub, the Lever
sandbox and the assessment provider's sandbox.

Move a candidate into the attached stage -> exactly one invitation at the provider -> the candidate
completes -> a note with the score and report link on the Lever opportunity -> thumbs up -> the
verdict tag in Lever. Run clean, and again with every webhook delivered twice and out of order and
20% of vendor calls failing with 5xx or 429: the end state is identical. Both on the embedded
default and in production shape (gunicorn with 2 workers, 2 `hub worker` processes, PostgreSQL,
Redis): the embedded hub in both runs of the suite, the production shape in the PostgreSQL run
(``STORY_TOPOLOGIES``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Delivery, Invitation
from tests.e2e.harness import all_settled, eventually, start_stack
from tests.e2e.topologies import STORY_TOPOLOGIES

OPPORTUNITY = "opp-alice"
PYTHON_ANSWERS = {"q1": "b", "q2": "b", "q3": "c", "q4": "a"}  # Canditech's Python test, all right: 100


def api(url: str, method: str = "GET", **kwargs):
    answer = requests.request(method, url, timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


@dataclass(frozen=True)
class Provider:
    """How the story drives one assessment provider's sandbox (the hub side is the same for all)."""

    name: str
    title: str
    stage: str
    report_path: str

    def invitations(self, stack) -> list[dict]:
        if self.name == "canditech":
            return [{"id": i["id"], "email": i["candidate"]["email"]}
                    for i in api(stack.url(self.name) + "/_sandbox/invitations")["data"]]
        return [{"id": i["candidateAssessmentUuid"], "email": i["candidateEmail"]}
                for i in api(stack.url(self.name) + "/_sandbox/user-assessments")["data"]]

    def complete(self, stack, invitation_id: str) -> None:
        if self.name == "canditech":
            api(f"{stack.url(self.name)}/_sandbox/invitations/{invitation_id}/complete", "POST",
                json={"answers": PYTHON_ANSWERS})
        else:
            api(f"{stack.url(self.name)}/_sandbox/user-assessments/{invitation_id}/complete", "POST",
                json={"score": 100})

    def thumbs_up(self, stack, invitation_id: str) -> None:
        if self.name == "canditech":
            api(f"{stack.url(self.name)}/_sandbox/invitations/{invitation_id}/verdict", "POST",
                json={"verdict": "thumbs_up"})
        else:  # Vervoe's "hired" is the thumbs up
            api(f"{stack.url(self.name)}/_sandbox/user-assessments/{invitation_id}/hire", "POST", json={})


PROVIDERS = {
    "canditech": Provider("canditech", "Canditech", "stage-canditech", "/reports/"),
    "vervoe": Provider("vervoe", "Vervoe", "stage-vervoe", "/integration_candidate_card/"),
}


def lever_notes(stack) -> list[str]:
    notes = api(f"{stack.url('lever')}/_sandbox/opportunities/{OPPORTUNITY}/notes")["data"]
    return [field["value"] for note in notes for field in note["fields"]]


def lever_tags(stack) -> list[str]:
    return api(f"{stack.url('lever')}/_sandbox/opportunities/{OPPORTUNITY}/tags")["data"]


def set_faults(stack, provider: Provider, faulty: bool) -> None:
    if not faulty:
        return
    api(stack.url("lever") + "/_sandbox/faults", "POST", json={
        "error_rate": 0.2, "error_codes": [500, 503, 429], "webhook_duplicate_rate": 1.0, "webhook_reorder": True,
        "webhook_reorder_batch": 2, "webhook_reorder_window_ms": 300, "seed": 7})
    api(stack.url(provider.name) + "/_sandbox/faults", "POST", json={
        "error_rate": 0.2, "error_codes": [500, 503, 429], "webhook_duplicate_rate": 1.0, "webhook_reorder": True,
        "webhook_reorder_batch": 2, "webhook_reorder_hold_ms": 500, "seed": 7})


def _hub_invitation_sent(stack) -> bool:
    with stack.app.app_context():
        sent = db.session.scalar(sa.select(sa.func.count(Invitation.id)).where(
            Invitation.provider_invitation_id.is_not(None)))
        db.session.rollback()
    return sent > 0


def run_story(stack, faulty: bool, provider: Provider = PROVIDERS["canditech"]) -> dict:
    set_faults(stack, provider, faulty)
    api(f"{stack.url('lever')}/_sandbox/opportunities/{OPPORTUNITY}/move", "POST", json={"stage_id": provider.stage})
    invitation = eventually(lambda: next(iter(provider.invitations(stack)), None), 90,
                            "the invitation at the provider")
    assert invitation["email"] == "alice@example.com"
    # the invitation exists at the provider a moment before the hub has recorded it: a candidate
    # can take a test only after receiving it (a Vervoe report for a candidate assessment the hub
    # has not linked yet is ignored; see the closing note of 2026-11-29)
    eventually(lambda: _hub_invitation_sent(stack), 60, "the hub to record the invitation")
    # the candidate answers the test, and a reviewer decides right away: with faults on, the
    # provider's completion and verdict webhooks arrive duplicated and in reverse order
    provider.complete(stack, invitation["id"])
    if not faulty:
        eventually(lambda: any("100" in n and provider.report_path in n for n in lever_notes(stack)), 90,
                   "the result note in Lever")
    provider.thumbs_up(stack, invitation["id"])
    eventually(lambda: f"{provider.title}: thumbs up" in lever_tags(stack), 120, "the verdict tag in Lever")
    api(stack.url("lever") + "/_sandbox/faults", "DELETE")
    api(stack.url(provider.name) + "/_sandbox/faults", "DELETE")

    eventually(lambda: all_settled(stack.app), 60, "every delivery to finish")
    notes = lever_notes(stack)
    result_notes = [n for n in notes if re.search(r"\[ats-hub:hub-inv-\d+-[0-9a-f]{10}\]", n)]
    verdict_position = next(i for i, n in enumerate(notes) if "verdict on" in n and "thumbs up" in n
                            and re.search(r":verdict-\d+-thumbs_up\]", n))
    result_position = notes.index(result_notes[0])
    with stack.app.app_context():
        rows = list(db.session.scalars(sa.select(Invitation)))
        state = {
            "hub_invitations": [(r.opportunity_id, r.status, r.score, r.verdict) for r in rows],
            "dead_deliveries": db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(
                Delivery.status == "dead")),
        }
        db.session.rollback()
    state.update({
        "provider_invitations": len(provider.invitations(stack)),
        "result_notes": len(result_notes),
        "note_before_verdict": result_position < verdict_position,
        "verdict_tags": sorted(t.split(": ", 1)[1] for t in lever_tags(stack)
                               if t.startswith(f"{provider.title}: thumbs")),
    })
    return state


EXPECTED = {
    "hub_invitations": [(OPPORTUNITY, "completed", 100.0, "thumbs_up")],
    "dead_deliveries": 0,
    "provider_invitations": 1,
    "result_notes": 1,
    "note_before_verdict": True,
    "verdict_tags": ["thumbs up"],
}


@pytest.mark.slow
@pytest.mark.parametrize("provider", ["canditech", "vervoe"])
@pytest.mark.parametrize("topology", STORY_TOPOLOGIES)
@pytest.mark.parametrize("faulty", [False, True], ids=["clean", "faults"])
def test_the_story_end_to_end(make_app, tmp_path, topology, faulty, provider):
    stack = start_stack(make_app, tmp_path, topology)
    try:
        assert run_story(stack, faulty, PROVIDERS[provider]) == EXPECTED
        if topology == "production":  # what gunicorn's and the two `hub worker` processes counted
            assert_metric_families(requests.get(f"{stack.hub_url}/metrics", timeout=10).text, provider)
    except AssertionError:
        print(stack.diagnosis())  # shown with the failure: the logs go with tmp_path
        raise
    finally:
        stack.stop()


def _samples(text: str) -> dict[str, list]:
    """Sample name -> its samples, from a Prometheus text exposition."""
    found: dict[str, list] = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found.setdefault(sample.name, []).append(sample)
    return found


def _total(samples, **labels) -> float:
    return sum(s.value for s in samples if all(s.labels.get(k) == v for k, v in labels.items()))


def assert_metric_families(text: str, provider: str) -> None:
    """The families issue 7 names, summed over every process (multiprocess mode), after one story:
    webhooks by source and outcome, events by source and type, deliveries by plugin and status,
    vendor calls by vendor, endpoint and status with latency buckets, the queue's depth and the
    age of its oldest pending delivery."""
    found = _samples(text)
    assert _total(found.get("hub_webhooks_received_total", []), source="lever", outcome="accepted") >= 1
    assert _total(found.get("hub_events_ingested_total", []), source="lever", event_type="stage_change",
                  outcome="accepted") >= 1
    assert _total(found.get("hub_deliveries_finished_total", []), status="done") >= 3
    for vendor in ("lever", provider):
        calls = [s for s in found.get("hub_vendor_call_seconds_count", []) if s.labels["vendor"] == vendor]
        assert calls and all(s.labels["endpoint"] and s.labels["status"] for s in calls), vendor
        buckets = [s for s in found.get("hub_vendor_call_seconds_bucket", []) if s.labels["vendor"] == vendor]
        assert {s.labels["le"] for s in buckets} >= {"0.1", "1.0", "+Inf"}, vendor
    assert found.get("hub_deliveries_pending") and found.get("hub_deliveries_oldest_pending_seconds")
