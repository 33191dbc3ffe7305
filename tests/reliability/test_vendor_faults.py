"""Vendor faults over real processes: 5xx, 429, timeouts and connection resets from Lever and
Canditech at 40%, and Canditech down for a while then back: everything completes once it is back,
nothing is duplicated. With the vendor down for good, deliveries end dead after exactly the
configured attempts, visible to admins through the API, and an admin's replay finishes them."""

from __future__ import annotations

import re

import pytest
import requests
import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.store.models import SUPER_ADMIN, Delivery, Invitation, User
from tests.e2e.harness import all_settled, eventually, start_stack

BACKEND = ["opp-alice", "opp-bob", "opp-carol", "opp-nomail"]
STAGE = "stage-canditech"


def post(url, **body):
    answer = requests.post(url, json=body, timeout=10)
    answer.raise_for_status()
    return answer.json()


def invitation_statuses(app) -> dict[str, str]:
    with app.app_context():
        rows = {r.opportunity_id: r.status for r in db.session.scalars(sa.select(Invitation))}
        db.session.rollback()
    return rows


def api_token(app) -> str:
    with app.app_context():
        user, _ = services.create_user(1, "ops@example.com", SUPER_ADMIN, password="a-long-password-1")
        return services.create_api_token(db.session.get(User, user.id), "faults test")


@pytest.mark.slow
def test_faulty_vendors_then_an_outage_complete_everything_once(make_app, tmp_path):
    stack = start_stack(make_app, tmp_path, "embedded", env_overrides={"HUB_HTTP_TIMEOUT_SECONDS": "2"})
    lever, canditech = stack.url("lever"), stack.url("canditech")
    try:
        faults = {"error_rate": 0.4, "error_codes": [500, 503, 429], "timeout_rate": 0.05, "timeout_seconds": 3,
                  "reset_rate": 0.05, "seed": 11}
        post(lever + "/_sandbox/faults", **faults)
        post(canditech + "/_sandbox/faults", **faults, down=True)
        for opportunity in BACKEND:
            post(f"{lever}/_sandbox/opportunities/{opportunity}/move", stage_id=STAGE)
        eventually(lambda: invitation_statuses(stack.app).get("opp-nomail") == "failed", 90,
                   "the candidate without email to be marked failed (no vendor call needed)")
        assert requests.get(canditech + "/_sandbox/invitations", timeout=10).json()["data"] == []

        post(canditech + "/_sandbox/faults", **faults, down=False)  # Canditech is back, still flaky
        eventually(lambda: list(invitation_statuses(stack.app).values()).count("invited") == 3, 120,
                   "the three candidates with email to be invited")
        at_vendor = requests.get(canditech + "/_sandbox/invitations", timeout=10).json()["data"]
        for invitation in at_vendor:
            post(f"{canditech}/_sandbox/invitations/{invitation['id']}/complete", score=60)
        eventually(lambda: list(invitation_statuses(stack.app).values()).count("completed") == 3, 120,
                   "the three completions")
        eventually(lambda: all_settled(stack.app), 180, "every write-back to finish")
        requests.delete(lever + "/_sandbox/faults", timeout=10)
        requests.delete(canditech + "/_sandbox/faults", timeout=10)

        assert len(at_vendor) == 3
        assert sorted(i["candidate"]["email"] for i in at_vendor) == [
            "alice@example.com", "bob@example.com", "carol@example.com"]
        marker = re.compile(r"\[ats-hub:hub-inv-\d+-[0-9a-f]{10}\]")
        for opportunity in BACKEND[:3]:
            notes = requests.get(f"{lever}/_sandbox/opportunities/{opportunity}/notes", timeout=10).json()["data"]
            assert sum(1 for n in notes for f in n["fields"] if marker.search(f["value"])) == 1
        with stack.app.app_context():
            assert db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status == "dead")) == 0
            db.session.rollback()
    finally:
        stack.stop()


@pytest.mark.slow
def test_dead_only_after_the_configured_attempts_visible_and_replayable(make_app, tmp_path):
    stack = start_stack(make_app, tmp_path, "embedded",
                        env_overrides={"HUB_DELIVERY_MAX_ATTEMPTS": "3", "HUB_RETRY_BASE_SECONDS": "0.2"})
    lever, canditech = stack.url("lever"), stack.url("canditech")
    token = api_token(stack.app)
    headers = {"Authorization": f"Bearer {token}"}
    try:
        post(canditech + "/_sandbox/faults", down=True)
        post(f"{lever}/_sandbox/opportunities/opp-alice/move", stage_id=STAGE)

        def dead_delivery():
            activity = requests.get(stack.hub_url + "/api/v1/activity", headers=headers, timeout=10).json()
            return next((d for event in activity["items"] for d in event["deliveries"]
                         if d["plugin"] == "canditech" and d["status"] == "dead"), None)

        dead = eventually(dead_delivery, 120, "the Canditech delivery to be dead")
        assert dead["attempts"] == 3
        assert "503" in dead["last_error"] or "unavailable" in dead["last_error"].lower()
        assert invitation_statuses(stack.app) == {"opp-alice": "pending"}

        requests.delete(canditech + "/_sandbox/faults", timeout=10)
        replayed = requests.post(f"{stack.hub_url}/api/v1/deliveries/{dead['id']}/replay", headers=headers,
                                 timeout=10)
        assert replayed.status_code == 200, replayed.text
        eventually(lambda: invitation_statuses(stack.app) == {"opp-alice": "invited"}, 60, "the replayed invite")
        assert len(requests.get(canditech + "/_sandbox/invitations", timeout=10).json()["data"]) == 1
    finally:
        stack.stop()
