"""Crash trials: the driver shared by ``tests/reliability/test_crash_trials.py`` (CI) and
``bench/crash.py`` (longer runs). It needs a hub whose web process ingests webhooks, the Lever and
Canditech sandboxes connected to it (``hub.demo.connect_workspace``), and ``hub worker
--processes N`` started with ``ENGINE_ENV`` in its environment, logging to a file.

A trial is one SIGKILL of a worker process and its replacement. The workers are the children of
that supervisor, which forks a replacement within milliseconds (it has imported everything
already), so hundreds of kills fit in minutes where a cold ``hub worker`` start takes seconds.
``Trials.run`` does per trial: one candidate moved into the Canditech stage at the Lever sandbox
(a signed stage-change webhook to the hub); every invitation the hub has recorded as sent
completed at the Canditech sandbox (a signed completion webhook; the hub writes the result to a
Lever note); then, after a random pause, ``Killer.kill`` SIGKILLs the oldest worker process and
waits for its replacement's "worker started". After the last trial the killing stops and
``Trials.settle`` waits for the work to finish; ``Trials.figures`` counts from the sandboxes' own
records and the hub's database.

``Trials.prepare`` sets two Canditech sandbox faults. ``latency_after_ms`` (150 ms): Canditech
answers late after creating an invitation, so kills land between the vendor's creating it and the
hub recording it. Such an invitation is found by its reference when its delivery runs again (the
plugin looks up before it creates), which the sandbox counts (``found_counts``):
``Figures.resumed_after_created``. ``no_reference_dedup``: the sandbox does not refuse a second
invitation with a known reference, so a second one would be created and counted: exactly one
invitation per candidate is the hub's doing.
"""

from __future__ import annotations

import os
import random
import re
import signal
import statistics
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import D_OPEN, Attachment, Delivery, Invitation
from tests.support.processes import child_pids

# the worker processes' settings: quick sweeps and retries, a lease short enough that a killed
# worker's delivery runs again within seconds, and attempts enough for a delivery killed many times
ENGINE_ENV = {
    "HUB_SWEEP_INTERVAL_SECONDS": "0.3",
    "HUB_RETRY_BASE_SECONDS": "0.2",
    "HUB_RETRY_MAX_SECONDS": "2",
    "HUB_RECONCILE_INTERVAL_SECONDS": "2",
    "HUB_LEASE_SECONDS": "3",
    "HUB_DELIVERY_MAX_ATTEMPTS": "200",
}
CANDITECH_FAULTS = {"latency_after_ms": 150, "no_reference_dedup": True}
FROM_STAGE = "stage-new-applicant"
NOTE_MARKER = re.compile(r"\[ats-hub:hub-inv-\d+-[0-9a-f]{10}\]")  # the hub's mark on a result note
# a worker process's "worker started" (text or JSON log), not the supervisor's "hub worker started"
STARTED = re.compile(r"(?<!hub )worker started")


class Killer:
    """SIGKILLs the worker processes of a ``hub worker --processes N`` supervisor, the oldest
    first, and waits for each replacement to log "worker started" (``kill``)."""

    def __init__(self, supervisor, log: Path, processes: int, pause: tuple[float, float], seed: int = 1):
        self.supervisor, self.log, self.processes = supervisor, log, processes
        self.pause = pause
        self.random = random.Random(seed)
        self.kills = 0
        self.restarts: list[float] = []  # seconds from a kill to its replacement's "worker started"
        self._offset, self._started = 0, 0

    def started(self) -> int:
        """How many worker processes have logged "worker started" so far."""
        with open(self.log, "rb") as handle:
            handle.seek(self._offset)
            chunk = handle.read()
        complete = chunk.rfind(b"\n") + 1  # a line being written is read again next time
        self._started += len(STARTED.findall(chunk[:complete].decode(errors="replace")))
        self._offset += complete
        return self._started

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait until every worker process has started (at the beginning)."""
        _wait(lambda: self.started() >= self.processes and len(self.children()) == self.processes, timeout,
              f"{self.processes} worker processes to start (see {self.log})")

    def children(self) -> list[int]:
        """The supervisor's worker processes, oldest first."""
        return child_pids(self.supervisor.pid)

    def kill(self) -> None:
        """After a random pause, SIGKILL the oldest worker process; return when its replacement
        has logged "worker started"."""
        time.sleep(self.random.uniform(*self.pause))
        if self.supervisor.poll() is not None:
            raise AssertionError(f"the supervising hub worker exited ({self.supervisor.returncode})")
        victim = self.children()[0]
        before = self.started()
        killed_at = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        self.kills += 1
        _wait(lambda: self.started() > before, 30, f"a worker process to replace {victim} (see {self.log})")
        self.restarts.append(time.monotonic() - killed_at)


@dataclass
class Figures:
    """What a run of crash trials left behind (``Trials.figures``)."""

    kills: int
    candidates: int
    resumed_after_created: int  # invitations a delivery run again found by reference after Canditech created them
    invitations: int            # at the Canditech sandbox
    duplicate_invitations: int  # beyond one per candidate
    completed: int              # hub invitations completed (the completion webhook recorded)
    notes: int                  # result notes on the Lever sandbox's opportunities
    duplicate_notes: int        # beyond one per completion
    lost_candidates: int        # candidates whose invitation, recorded completion or note is missing
    dead: int                   # deliveries that gave up
    open: int                   # deliveries not finished when the run ended
    resumed_deliveries: int     # deliveries run more than once (a kill took their run away)
    completed_during_kills: int  # hub invitations completed when the last kill was made
    kill_seconds: float         # the trials (``Trials.run``)
    settle_seconds: float       # the work left after them (``Trials.settle``)
    restarts: list[float] = field(default_factory=list)  # seconds from a kill to "worker started"

    @property
    def duplicates(self) -> int:
        return self.duplicate_invitations + self.duplicate_notes

    @property
    def lost(self) -> int:
        """Work the hub did not do: candidates left short, and deliveries given up."""
        return self.lost_candidates + self.dead

    def summary(self) -> str:
        restart = (f", a replacement started {statistics.median(self.restarts) * 1000:.0f} ms after a kill "
                   f"(median; max {max(self.restarts) * 1000:.0f} ms)") if self.restarts else ""
        return (f"crash trials: {self.kills} worker kills in {self.kill_seconds:.0f} s, {self.candidates} candidates "
                f"({self.completed_during_kills} completed during the kills, the rest in {self.settle_seconds:.0f} s "
                f"after), {self.resumed_after_created} invitations resumed after Canditech created them, "
                f"{self.resumed_deliveries} deliveries run again{restart}; {self.invitations} invitations, "
                f"{self.notes} notes, duplicates {self.duplicates}, lost {self.lost}, open {self.open}")


class Trials:
    """The workload around the kills: candidates, their invitations and completions."""

    def __init__(self, app, lever_url: str, canditech_url: str):
        self.app, self.lever, self.canditech = app, lever_url, canditech_url
        self.http = requests.Session()
        self.opportunities: dict[str, str] = {}  # opportunity id -> the candidate's email
        self.moved = 0
        self._completed: set[str] = set()  # Canditech invitation ids completed
        self.completed_during_kills = 0
        self.kill_seconds = self.settle_seconds = 0.0

    def prepare(self, candidates: int) -> None:
        """Set the Canditech faults (module docstring) and create ``candidates`` candidates in the
        Lever posting the Canditech assessment is attached to, none in its stage yet."""
        self._post(f"{self.canditech}/_sandbox/faults", CANDITECH_FAULTS)
        posting, _stage = self._attached()
        for index in range(candidates):
            email = f"trial{index}@example.com"
            created = self._post(f"{self.lever}/_sandbox/opportunities", {
                "name": f"Trial Candidate{index}", "email": email, "posting_id": posting, "stage_id": FROM_STAGE})
            self.opportunities[created["id"]] = email

    def run(self, killer: Killer, trials: int, progress: Callable[[int], None] | None = None) -> None:
        """``trials`` trials: per trial the next candidate moved (while any is left), the sent
        invitations completed, one worker process killed and replaced; ``progress(kills)`` after
        each."""
        _posting, stage = self._attached()
        order = list(self.opportunities)
        started = time.monotonic()
        while killer.kills < trials:
            if self.moved < len(order):
                self._post(f"{self.lever}/_sandbox/opportunities/{order[self.moved]}/move", {"stage_id": stage})
                self.moved += 1
            self.complete_sent()
            killer.kill()
            if progress:
                progress(killer.kills)
        self.kill_seconds = time.monotonic() - started
        self.completed_during_kills = self._statuses().get("completed", 0)

    def settle(self, timeout: float) -> None:
        """Move the candidates not moved yet, then wait until every candidate is invited and
        completed and no delivery is open. AssertionError after ``timeout`` seconds."""
        started = time.monotonic()
        deadline = started + timeout
        _posting, stage = self._attached()
        for opportunity in list(self.opportunities)[self.moved:]:
            self._post(f"{self.lever}/_sandbox/opportunities/{opportunity}/move", {"stage_id": stage})
        self.moved = len(self.opportunities)

        def done() -> bool:
            self.complete_sent()
            return self._statuses().get("completed", 0) == len(self.opportunities) and self._open() == 0

        try:
            _wait(done, deadline - time.monotonic(), "every candidate invited and completed, and no delivery open",
                  interval=0.2)
        finally:
            self.settle_seconds = time.monotonic() - started

    def complete_sent(self) -> None:
        """Complete at Canditech every invitation the hub has recorded as sent and not completed."""
        with self.app.app_context():
            sent = set(db.session.scalars(sa.select(Invitation.provider_invitation_id)
                                          .where(Invitation.status == "invited")))
            db.session.rollback()
        sent.discard(None)
        for invitation_id in sorted(sent - self._completed):
            self._post(f"{self.canditech}/_sandbox/invitations/{invitation_id}/complete", {"score": 70})
            self._completed.add(invitation_id)

    def figures(self, killer: Killer) -> Figures:
        at_vendor = self._vendor_invitations()
        per_email = Counter(invitation["candidate"]["email"] for invitation in at_vendor)
        found = self.http.get(f"{self.canditech}/_sandbox/state", timeout=30).json()["found_counts"]
        notes = self.http.get(f"{self.lever}/_sandbox/state", timeout=60).json()["notes"]
        per_opportunity = {opportunity: sum(1 for note in notes.get(opportunity, []) for field_ in note["fields"]
                                            if NOTE_MARKER.search(field_["value"]))
                           for opportunity in self.opportunities}
        with self.app.app_context():
            completed = set(db.session.scalars(sa.select(Invitation.opportunity_id)
                                               .where(Invitation.status == "completed")))

            def count(*where) -> int:
                return db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(*where))

            dead, resumed = count(Delivery.status == "dead"), count(Delivery.attempts >= 2)
            db.session.rollback()
        lost = sum(1 for opportunity, email in self.opportunities.items()
                   if not per_email[email] or opportunity not in completed or not per_opportunity[opportunity])
        return Figures(
            kills=killer.kills, candidates=len(self.opportunities),
            resumed_after_created=sum(1 for hits in found.values() if hits > 0),
            invitations=len(at_vendor), duplicate_invitations=sum(n - 1 for n in per_email.values()),
            completed=len(completed), notes=sum(per_opportunity.values()),
            duplicate_notes=sum(max(0, n - 1) for n in per_opportunity.values()), lost_candidates=lost,
            dead=dead, open=self._open(), resumed_deliveries=resumed,
            completed_during_kills=self.completed_during_kills, kill_seconds=self.kill_seconds,
            settle_seconds=self.settle_seconds, restarts=list(killer.restarts))

    # ----------------------------------------------------------------------------- helpers

    def _post(self, url: str, body: dict) -> dict:
        answer = self.http.post(url, json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def _vendor_invitations(self) -> list[dict]:
        answer = self.http.get(f"{self.canditech}/_sandbox/invitations", timeout=30)
        answer.raise_for_status()
        return answer.json()["data"]

    def _attached(self) -> tuple[str, str]:
        """The (posting, stage) the Canditech assessment is attached to."""
        with self.app.app_context():
            row = db.session.execute(sa.select(Attachment.posting_id, Attachment.stage_id)
                                     .where(Attachment.provider == "canditech")).first()
            db.session.rollback()
        if row is None:
            raise AssertionError("no Canditech assessment is attached (hub.demo.connect_workspace)")
        return tuple(row)

    def _statuses(self) -> dict[str, int]:
        with self.app.app_context():
            rows = db.session.execute(sa.select(Invitation.status, sa.func.count()).group_by(Invitation.status)).all()
            db.session.rollback()
        return dict(rows)

    def _open(self) -> int:
        with self.app.app_context():
            found = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status.in_(D_OPEN)))
            db.session.rollback()
        return found


def _wait(check, timeout: float, message: str, interval: float = 0.02) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)
