"""Group commit: concurrent jobs share a transaction, each answered only once it is committed."""

import threading
import time

import pytest
import sqlalchemy as sa

from hub.engine.group_commit import GroupCommit, GroupCommitTimeout
from hub.extensions import db
from hub.store.models import Workspace


def _names(app) -> list[str]:
    with app.app_context():
        names = sorted(db.session.scalars(sa.select(Workspace.name).where(Workspace.name.like("job-%"))))
        db.session.rollback()
        return names


def _stage_workspaces(jobs):
    """The test handler: one workspace row per job; a job named "job-bad" breaks its batch."""
    for name in jobs:
        if name == "job-bad":
            raise ValueError("bad job")
        db.session.add(Workspace(name=name))
    db.session.flush()
    return [f"stored {name}" for name in jobs]


def _submit_all(committer, names):
    results, errors = {}, {}

    def submit(name):
        try:
            results[name] = committer.submit(name)
        except Exception as exc:  # noqa: BLE001 - recorded for the assertions
            errors[name] = exc

    threads = [threading.Thread(target=submit, args=(name,)) for name in names]
    for thread in threads:
        thread.start()
    return threads, results, errors


def test_jobs_waiting_during_a_commit_share_the_next_one(app):
    first_batch_started, release = threading.Event(), threading.Event()
    sizes = []

    def handler(jobs):
        sizes.append(len(jobs))
        if len(sizes) == 1:
            first_batch_started.set()
            release.wait(10)  # a slow first commit: the others queue up behind it
        return _stage_workspaces(jobs)

    committer = GroupCommit(app, handler)
    first, results, errors = _submit_all(committer, ["job-0"])
    assert first_batch_started.wait(10)
    others, other_results, other_errors = _submit_all(committer, [f"job-{n}" for n in range(1, 10)])
    deadline = time.monotonic() + 10
    while len(committer._queued) < 9 and time.monotonic() < deadline:
        time.sleep(0.01)
    release.set()
    for thread in first + others:
        thread.join(10)
    assert errors == {} and other_errors == {}
    assert sizes == [1, 9]
    assert results == {"job-0": "stored job-0"}
    assert other_results == {f"job-{n}": f"stored job-{n}" for n in range(1, 10)}  # each its own result
    assert _names(app) == sorted(f"job-{n}" for n in range(10))
    assert (committer.batches, committer.jobs) == (2, 10)


def _batch_behind_a_held_commit(app, handler_after_first, names, **options):
    """Commit "job-first" and hold that commit until ``names`` are queued behind it, so that they
    form the next batch, handled by ``handler_after_first``. Returns the handler's calls and
    the outcomes: (calls, errors of job-first, results, errors)."""
    calls, release = [], threading.Event()

    def handler(jobs):
        calls.append(list(jobs))
        if len(calls) == 1:
            release.wait(10)
            return _stage_workspaces(jobs)
        return handler_after_first(jobs)

    committer = GroupCommit(app, handler, **options)
    first, _, first_errors = _submit_all(committer, ["job-first"])
    while not calls:
        time.sleep(0.01)
    threads, results, errors = _submit_all(committer, names)
    while len(committer._queued) < len(names):
        time.sleep(0.01)
    release.set()
    for thread in first + threads:
        thread.join(10)
    return calls, first_errors, results, errors


def test_a_failing_job_fails_alone_and_its_batch_mates_are_committed(app):
    names = ["job-a", "job-bad", "job-b"]
    calls, first_errors, results, errors = _batch_behind_a_held_commit(app, _stage_workspaces, names)
    assert first_errors == {}
    assert set(results) == {"job-a", "job-b"}
    assert isinstance(errors["job-bad"], ValueError)
    assert sorted(calls[1]) == sorted(names)  # the shared attempt, rolled back, then one by one
    assert _names(app) == ["job-a", "job-b", "job-first"]


def test_submit_returns_only_after_the_commit_is_visible_to_other_connections(app):
    committer = GroupCommit(app, _stage_workspaces)
    assert committer.submit("job-visible") == "stored job-visible"
    assert _names(app) == ["job-visible"]  # read on another connection, right away


def test_a_job_not_committed_in_time_times_out_and_is_not_committed_later(app):
    release, started = threading.Event(), threading.Event()

    def slow(jobs):
        if "job-leader" in jobs:
            started.set()
            release.wait(10)
        return _stage_workspaces(jobs)

    committer = GroupCommit(app, slow, timeout=0.2)
    leader, leader_results, leader_errors = _submit_all(committer, ["job-leader"])
    assert started.wait(10)
    with pytest.raises(GroupCommitTimeout):
        committer.submit("job-gave-up")  # queued behind the slow commit, then withdrawn
    release.set()
    leader[0].join(10)
    assert leader_results == {"job-leader": "stored job-leader"} and leader_errors == {}
    assert _names(app) == ["job-leader"]
    assert committer.submit("job-next") == "stored job-next"  # the lead was given back


def test_a_lone_job_is_committed_by_its_own_thread(app):
    threads = []

    def handler(jobs):
        threads.append(threading.current_thread())
        return _stage_workspaces(jobs)

    committer = GroupCommit(app, handler)
    assert committer.submit("job-1") == "stored job-1"
    assert committer.submit("job-2") == "stored job-2"
    assert threads == [threading.current_thread()] * 2  # no hand-off to another thread
    assert _names(app) == ["job-1", "job-2"]


def test_up_to_committers_batches_are_committed_at_once(app):
    inside, release = threading.Semaphore(0), threading.Event()

    def handler(jobs):
        inside.release()
        release.wait(10)
        return _stage_workspaces(jobs)

    committer = GroupCommit(app, handler, committers=2)
    threads, results, errors = _submit_all(committer, ["job-a", "job-b", "job-c"])
    assert inside.acquire(timeout=10) and inside.acquire(timeout=10)  # two commits in flight together
    deadline = time.monotonic() + 10
    while len(committer._queued) < 1 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(committer._queued) == 1  # the third waits for one of them
    release.set()
    for thread in threads:
        thread.join(10)
    assert errors == {} and set(results) == {"job-a", "job-b", "job-c"}
    assert _names(app) == ["job-a", "job-b", "job-c"]


def test_a_database_error_reaches_the_submitter_and_the_committer_keeps_going(app):
    def handler(jobs):
        if "job-broken" in jobs:
            db.session.execute(sa.text("SELECT * FROM no_such_table"))
        return _stage_workspaces(jobs)

    committer = GroupCommit(app, handler)
    with pytest.raises(sa.exc.DBAPIError):
        committer.submit("job-broken")
    assert committer.submit("job-fine") == "stored job-fine"
    assert _names(app) == ["job-fine"]


def test_an_error_every_job_would_meet_fails_the_whole_batch_at_once(app):
    """``shared_failure``: a batch stopped by the database (unreachable, a statement timeout) is
    not run again job by job, each of which would wait for the same failure again."""

    def timed_out(jobs):
        raise sa.exc.OperationalError("INSERT ...", {}, Exception("canceling statement due to statement timeout"))

    names = ["job-a", "job-b", "job-c"]
    calls, first_errors, results, errors = _batch_behind_a_held_commit(
        app, timed_out, names, shared_failure=lambda exc: isinstance(exc, sa.exc.OperationalError))
    assert first_errors == {} and results == {}
    assert set(errors) == set(names) and all(isinstance(e, sa.exc.OperationalError) for e in errors.values())
    assert len(calls) == 2 and sorted(calls[1]) == names  # one attempt for the batch, none alone
    assert _names(app) == ["job-first"]


def _gated(handler_gates: dict[str, threading.Event], entered: dict[str, threading.Event]):
    """A handler whose batch holding job ``j`` signals ``entered[j]`` and waits for ``handler_gates[j]``."""

    def handler(jobs):
        for job in jobs:
            if job in entered:
                entered[job].set()
            if job in handler_gates:
                assert handler_gates[job].wait(10)
        return _stage_workspaces(jobs)

    return handler


def _pause_before_leading(committer, thread_name: str):
    """Hold the thread ``thread_name`` between being made a leader and taking its first batch:
    ``(at_the_door, let_in)``."""
    at_the_door, let_in = threading.Event(), threading.Event()
    lead = committer._lead

    def paused_lead(own):
        if threading.current_thread().name == thread_name:
            at_the_door.set()
            assert let_in.wait(10)
        lead(own)

    committer._lead = paused_lead
    return at_the_door, let_in


def _start(committer, job, results, name=None):
    def submit():
        value = committer.submit(job)
        results[job] = (value, job in _names(committer.app))  # answered, and committed by then?

    thread = threading.Thread(target=submit, name=name or job)
    thread.start()
    return thread


def test_a_leader_whose_job_another_leader_took_is_answered_only_after_that_commit(app):
    """Leader B is made a leader, but before it takes a batch, leader X takes B's job into its own
    batch. B must wait for X's commit (it used to return None at once, before anything was committed)."""
    gates = {"job-a": threading.Event(), "job-x": threading.Event()}
    entered = {"job-a": threading.Event(), "job-x": threading.Event()}
    committer = GroupCommit(app, _gated(gates, entered), committers=3)
    b_at_door, let_b_in = _pause_before_leading(committer, "B")
    results: dict = {}
    a = _start(committer, "job-a", results)
    assert entered["job-a"].wait(10)  # leader A commits its own job, held
    b = _start(committer, "job-b", results, name="B")
    assert b_at_door.wait(10)  # leader B, job queued, not yet leading
    x = _start(committer, "job-x", results)
    assert entered["job-x"].wait(10)  # leader X took job-b and job-x, held
    let_b_in.set()
    b.join(0.5)  # before the fix B returned here, with nothing committed
    assert "job-b" not in results
    gates["job-x"].set()
    gates["job-a"].set()
    for thread in (a, b, x):
        thread.join(10)
    assert results == {job: (f"stored {job}", True) for job in ("job-a", "job-b", "job-x")}
    assert committer._leaders == 0 and not committer._queued  # every slot given back
    assert committer.submit("job-next") == "stored job-next"


def test_the_lead_is_not_handed_to_a_ticket_that_leads_already(app):
    """A finishing leader passes its slot to a queued ticket; one queued as a leader already has a
    slot, and giving it a second leaked one: the process then committed with fewer committers."""
    gates, entered = {"job-a": threading.Event()}, {"job-a": threading.Event()}
    committer = GroupCommit(app, _gated(gates, entered), committers=2)
    b_at_door, let_b_in = _pause_before_leading(committer, "B")
    results: dict = {}
    a = _start(committer, "job-a", results)
    assert entered["job-a"].wait(10)
    b = _start(committer, "job-b", results, name="B")
    assert b_at_door.wait(10)  # B queued, as the second leader
    gates["job-a"].set()
    a.join(10)  # A finished and found only B queued
    let_b_in.set()
    b.join(10)
    assert results == {job: (f"stored {job}", True) for job in ("job-a", "job-b")}
    assert committer._leaders == 0
