"""Crash trials on real processes: signed stage-change webhooks from the Lever sandbox are ingested
while the worker is killed with SIGKILL at random moments (the Canditech sandbox answers slowly
*after* creating an invitation, so many kills land between a vendor call and the hub recording
its result) and restarted. Then every candidate completes while the killing goes on. After
``HUB_CRASH_TRIALS`` trials (default 200): no work lost, exactly one invitation per opportunity and
attachment, exactly one result note per completion."""

from __future__ import annotations

import os
import random
import re
import signal
import threading

import pytest
import requests
import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Invitation
from tests.e2e.harness import REDIS_URL, all_settled, eventually, start_stack
from tests.support.processes import kill, start_hub

TRIALS = int(os.environ.get("HUB_CRASH_TRIALS", "200"))
POSTING, FROM_STAGE, STAGE = "posting-backend-engineer", "stage-new-applicant", "stage-canditech"


class Killer:
    """Keeps one worker running, SIGKILLs it at random moments and starts a new one."""

    def __init__(self, stack, tmp_path, seed: int = 1):
        self.stack, self.tmp_path = stack, tmp_path
        self.random = random.Random(seed)
        self.kills = 0
        self._stop = threading.Event()
        self.worker = self._start()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def _log(self):
        return self.tmp_path / "logs" / "workers.log"

    def _started_count(self) -> int:
        return self._log.read_text(errors="replace").count("INFO hub.engine.queue: worker started") \
            if self._log.exists() else 0

    def _start(self):
        before = self._started_count()
        process = start_hub(["worker", "--workers", "4"], self.stack.env, self._log)
        # kill only a worker that is up and working, so kills land in the middle of deliveries
        eventually(lambda: self._started_count() > before, 60, "a worker to start")
        return process

    def _run(self) -> None:
        while not self._stop.wait(self.random.uniform(0.3, 1.5)):
            kill(self.worker, signal.SIGKILL)
            self.kills += 1
            self.worker = self._start()

    def start(self) -> "Killer":
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop killing; the current worker keeps running."""
        self._stop.set()
        self._thread.join()
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def shutdown(self) -> None:
        """Stop killing (so no new worker starts behind our back), then stop the current worker."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        kill(self.worker, signal.SIGTERM)


def _hub_statuses(app) -> dict[str, int]:
    with app.app_context():
        rows = db.session.execute(sa.select(Invitation.status, sa.func.count()).group_by(Invitation.status)).all()
        db.session.rollback()
    return dict(rows)


@pytest.mark.slow
def test_crash_trials_lose_nothing_and_duplicate_nothing(make_app, tmp_path):
    overrides = {"REDIS_URL": REDIS_URL} if os.environ.get("HUB_TEST_DATABASE_URL") else {}
    stack = start_stack(make_app, tmp_path, "split", overrides,
                        env_overrides={"HUB_LEASE_SECONDS": "3", "HUB_DELIVERY_MAX_ATTEMPTS": "200"})
    lever, canditech = stack.url("lever"), stack.url("canditech")
    killer = None
    try:
        with stack.app.app_context():
            services.save_settings(get_runtime(), 1, "lever", {"tag_results": False}, "test")
        requests.post(canditech + "/_sandbox/faults", json={"latency_after_ms": 150}, timeout=10).raise_for_status()
        opportunities = []
        for index in range(TRIALS):
            created = requests.post(lever + "/_sandbox/opportunities", timeout=10, json={
                "name": f"Trial Candidate{index}", "email": f"trial{index}@example.com",
                "posting_id": POSTING, "stage_id": FROM_STAGE})
            created.raise_for_status()
            opportunities.append(created.json()["id"])

        killer = Killer(stack, tmp_path).start()
        for opportunity in opportunities:
            requests.post(f"{lever}/_sandbox/opportunities/{opportunity}/move", json={"stage_id": STAGE},
                          timeout=10).raise_for_status()
        # the waits are generous: every kill costs a worker start (about 2 CPU-s on 2 shared cores)
        eventually(lambda: _hub_statuses(stack.app).get("invited") == TRIALS, 600, "every candidate invited")
        killer.stop()
        eventually(lambda: all_settled(stack.app), 300, "the invitation deliveries to settle")

        at_vendor = requests.get(canditech + "/_sandbox/invitations", timeout=10).json()["data"]
        assert len(at_vendor) == TRIALS
        assert len({i["external_reference"] for i in at_vendor}) == TRIALS
        assert len({i["candidate"]["email"] for i in at_vendor}) == TRIALS

        killer.start()
        for invitation in at_vendor:
            requests.post(f"{canditech}/_sandbox/invitations/{invitation['id']}/complete", json={"score": 70},
                          timeout=10).raise_for_status()
        eventually(lambda: _hub_statuses(stack.app).get("completed") == TRIALS, 600, "every completion recorded")
        killer.stop()
        eventually(lambda: all_settled(stack.app), 600, "the result write-backs to settle")

        notes = requests.get(lever + "/_sandbox/state", timeout=30).json()["notes"]
        marker = re.compile(r"\[ats-hub:hub-inv-\d+-[0-9a-f]{10}\]")
        per_opportunity = {opp: sum(1 for note in notes.get(opp, []) for field in note["fields"]
                                    if marker.search(field["value"])) for opp in opportunities}
        assert sorted(set(per_opportunity.values())) == [1]
        with stack.app.app_context():
            dead = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status == "dead"))
            # run more than once: a kill took the run's lease away mid-delivery, and another run finished it
            resumed = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.attempts >= 2))
            db.session.rollback()
        assert dead == 0
        # the trials crashed workers in the middle of work (how many kills depends on the machine's
        # speed: on a fast one the work is done after a few)
        assert killer.kills >= 3 and resumed >= 1, (killer.kills, resumed)
        print(f"crash trials: {TRIALS} candidates, {killer.kills} worker kills, {resumed} deliveries resumed")
    finally:
        if killer:
            killer.shutdown()
        stack.stop()
