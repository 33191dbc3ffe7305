"""Crash trials on real processes: signed stage-change webhooks from the Lever sandbox are ingested,
and candidates complete at the Canditech sandbox, while worker processes are killed with SIGKILL at
random moments and replaced (``tests/reliability/crash_driver.py``). A trial is one kill:
``HUB_CRASH_TRIALS`` of them (default 200), as many candidates. The workers are the children of
one ``hub worker --processes 4``, which forks a replacement at once. The Canditech sandbox answers
slowly *after* creating an invitation, so kills land between a vendor call and the hub recording
its result: the sandbox counts the invitations a delivery run again found by reference, and at
least one must be. It creates a second invitation for a known reference (no deduplication), so
exactly one is the hub's doing. After the trials: no work lost, exactly one invitation per
opportunity and attachment, exactly one result note per completion."""

from __future__ import annotations

import os
import signal

import pytest

from hub import services
from hub.runtime import get_runtime
from tests.e2e.harness import REDIS_URL, start_stack
from tests.reliability.crash_driver import ENGINE_ENV, Killer, Trials
from tests.support.processes import kill, start_hub

TRIALS = int(os.environ.get("HUB_CRASH_TRIALS", "200"))
PROCESSES, THREADS = 4, 2  # a kill takes a quarter of the workers' deliveries in flight away
# seconds from a replacement's start to the next kill (drawn uniformly): the pace of the trials
PAUSE = (0.1, 0.6)


@pytest.mark.slow
def test_crash_trials_lose_nothing_and_duplicate_nothing(make_app, tmp_path):
    overrides = {"REDIS_URL": REDIS_URL} if os.environ.get("HUB_TEST_DATABASE_URL") else {}
    stack = start_stack(make_app, tmp_path, "split", overrides, env_overrides=ENGINE_ENV)
    supervisor = None
    try:
        with stack.app.app_context():
            services.save_settings(get_runtime(), 1, "lever", {"tag_results": False}, "test")
        trials = Trials(stack.app, stack.url("lever"), stack.url("canditech"))
        trials.prepare(TRIALS)
        log = tmp_path / "logs" / "workers.log"
        supervisor = start_hub(["worker", "--processes", str(PROCESSES), "--workers", str(THREADS)], stack.env, log)
        killer = Killer(supervisor, log, PROCESSES, PAUSE, seed=1)
        killer.wait_ready()
        trials.run(killer, TRIALS)
        # generous: on 2 shared cores a delivery killed several times waits a lease (3 s) each time
        trials.settle(timeout=300)
        figures = trials.figures(killer)
    finally:
        if supervisor:
            kill(supervisor, signal.SIGTERM)
        stack.stop()
    print(figures.summary())
    assert figures.kills >= TRIALS
    assert figures.invitations == figures.candidates == TRIALS
    assert figures.duplicate_invitations == 0 and figures.duplicate_notes == 0
    assert figures.notes == figures.completed == TRIALS
    assert figures.lost == 0 and figures.dead == 0 and figures.open == 0
    # kills landed between Canditech creating an invitation and the hub recording it
    assert figures.resumed_after_created >= 1, figures.summary()
