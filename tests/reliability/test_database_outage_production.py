"""Issue 7 in production shape: the database goes away under a running hub (gunicorn with 2
workers, 2 ``hub worker`` processes on Redis), which reaches PostgreSQL through a TCP proxy the
test cuts and restores. Lever's sandbox sends its signed webhooks for real and retries by its own
schedule.

While the database is away: every webhook answers 503 (never 200: nothing is acknowledged that
is not stored), no process exits, ``/healthz`` answers and ``/readyz`` says not ready, and the
web processes log that the database is unavailable. A worker whose delivery was calling Canditech
when the connection was cut cannot record the invitation (the plugin's write fails, so the run's
outcome is a retry), nor that outcome, and says it keeps trying. Once the proxy is back, with
nothing restarted: Lever's retries are accepted, the same run records its outcome (not left for its
lease to run out), the retry finds the invitation Canditech already made and sends none, every
candidate has exactly one invitation at Canditech, and no delivery is dead or left open. (An outage
longer than the lease, after which the delivery runs again once its lease has run out: the
in-process test_database_outage.py and the crash trials.)

PostgreSQL + Redis only: this module defines its test only in scripts/test.sh's PostgreSQL + Redis
run (``ON_POSTGRES``); the SQLite run collects nothing here (the in-process outage test,
test_database_outage.py, runs there)."""

from __future__ import annotations

import json
import time

import pytest
import requests
import sqlalchemy as sa

from hub.extensions import db
from hub.store.models import Delivery, Event, Invitation
from tests.conftest import _fresh_postgres_database
from tests.e2e.harness import all_settled, eventually, start_stack
from tests.e2e.topologies import ON_POSTGRES
from tests.support.tcpproxy import TcpProxy

STAGE = "stage-canditech"  # the stage the harness's workspace attaches Canditech's assessment to
POSTING = "posting-backend-engineer"  # ... of this posting's pipeline
# Lever's retries (seconds apart) while the database is away: more than the outage lasts, so that
# a retry comes after it (the harness starts the sandbox with 0.3,0.6,1,2,3: 6.9 s in all)
RETRY_DELAYS = [0.3, 0.6, 1, 2, 3, 4, 6]
CANDITECH_ANSWER_DELAY_MS = 2500  # Canditech's answer to each call, once it took effect
LEASE_SECONDS = 60  # longer than the outage: the interrupted run keeps trying to record its outcome


def api(url: str, method: str = "GET", **kwargs):
    answer = requests.request(method, url, timeout=10, **kwargs)
    answer.raise_for_status()
    return answer.json()


@pytest.fixture
def proxied_postgres():
    """A fresh database on the suite's PostgreSQL server: ``(direct_url, proxied_url, proxy)``."""
    with _fresh_postgres_database("hub_outage_prod") as direct:
        url = sa.engine.make_url(direct)
        proxy = TcpProxy(url.host or "127.0.0.1", url.port or 5432)
        try:
            yield direct, url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False), proxy
        finally:
            proxy.close()


def _children(pid: int) -> set[int]:
    """The processes ``pid`` started that still run (gunicorn's workers, for its master)."""
    with open(f"/proc/{pid}/task/{pid}/children") as handle:
        return {int(child) for child in handle.read().split()}


def _hub_processes(stack) -> dict[str, int]:
    """Every process of the hub by role: the gunicorn master, its workers, the `hub worker`s."""
    found = {}
    for process in stack.processes:
        args = " ".join(map(str, process.args))
        if "gunicorn" in args:
            found["gunicorn master"] = process.pid
            for index, child in enumerate(sorted(_children(process.pid))):
                found[f"gunicorn worker {index}"] = child
        elif " hub worker" in args:
            found[f"hub worker {sum(1 for k in found if k.startswith('hub worker'))}"] = process.pid
    return found


def _alive(stack) -> dict[str, int]:
    """The hub's processes (``_hub_processes``) after checking that none of them has exited."""
    for process in stack.processes:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
    return _hub_processes(stack)


def _log_lines(stack, name: str) -> list[dict]:
    """The JSON lines (production's log format) of one process's log."""
    lines = []
    for line in (stack.logs / f"{name}.log").read_text(errors="replace").splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


def _canditech_invitations(stack) -> dict[str, list[str]]:
    """Candidate email -> the ids of Canditech's invitations for them."""
    found: dict[str, list[str]] = {}
    for invitation in api(stack.url("canditech") + "/_sandbox/invitations")["data"]:
        found.setdefault(invitation["candidate"]["email"], []).append(invitation["id"])
    return found


def _stage_changes(stack, opportunity_ids: set[str]) -> dict[str, list[dict]]:
    """Lever's log of its stage-change webhooks, by opportunity: every attempt, oldest first."""
    found: dict[str, list[dict]] = {}
    for entry in api(stack.url("lever") + "/_sandbox/webhook_log?event=candidateStageChange")["data"]:
        opportunity = entry["payload"]["data"]["opportunityId"]
        if opportunity in opportunity_ids:
            found.setdefault(opportunity, []).append(entry)
    return found


def _move(stack, opportunity_id: str) -> None:
    api(f"{stack.url('lever')}/_sandbox/opportunities/{opportunity_id}/move", "POST", json={"stage_id": STAGE})


@pytest.mark.slow
def test_production_hub_answers_503_while_the_database_is_away_and_recovers_by_itself(proxied_postgres, make_app,
                                                                                      tmp_path):
    direct_url, proxied_url, proxy = proxied_postgres
    # the test reads the database directly; the hub's processes only through the proxy
    stack = start_stack(make_app, tmp_path, "production", overrides={"DATABASE_URL": direct_url},
                        env_overrides={"HUB_DATABASE_URL": proxied_url, "HUB_LEASE_SECONDS": str(LEASE_SECONDS)})
    lever, canditech = stack.url("lever"), stack.url("canditech")
    try:
        api(lever + "/_sandbox/settings", "POST", json={"webhook_retry_delays": RETRY_DELAYS})
        extra = [api(lever + "/_sandbox/opportunities", "POST", json={
            "name": name, "email": f"{name.split()[0].lower()}@example.com", "posting_id": POSTING})["id"]
            for name in ("Fay Fischer", "Gus Green")]

        # the story's first step, database up: a move into the stage -> an invitation at Canditech
        _move(stack, "opp-alice")
        eventually(lambda: "alice@example.com" in _canditech_invitations(stack), 60, "alice's invitation")
        eventually(lambda: all_settled(stack.app), 60, "alice's deliveries to finish")
        processes = _alive(stack)
        assert len(processes) == 5, processes  # gunicorn's master and 2 workers, 2 `hub worker`s

        # a delivery in flight: Canditech creates bob's invitation, answers 2.5 s later, and the
        # connection to the database is cut in between
        api(canditech + "/_sandbox/faults", "POST", json={"latency_after_ms": CANDITECH_ANSWER_DELAY_MS})
        _move(stack, "opp-bob")
        eventually(lambda: "bob@example.com" in _canditech_invitations(stack), 30, "bob's invitation at Canditech")
        proxy.cut()

        # webhooks while the database is away: Lever's first attempts and retries all get 503
        during = ["opp-carol", *extra]
        for opportunity in during:
            _move(stack, opportunity)

        def every_attempt_refused():
            statuses = {opportunity: [entry["status_code"] for entry in entries]
                        for opportunity, entries in _stage_changes(stack, set(during)).items()}
            assert set(statuses) == set(during), statuses
            assert all(set(codes) == {503} for codes in statuses.values()), statuses
            return True

        eventually(every_attempt_refused, 10, "Lever's webhooks to be refused with 503")
        for _ in range(4):  # gunicorn's 2 workers answer in turn, whichever gets the connection
            assert requests.get(stack.hub_url + "/healthz", timeout=5).status_code == 200
            ready = requests.get(stack.hub_url + "/readyz", timeout=5)
            assert ready.status_code == 503 and ready.json()["status"] == "not_ready", ready.text
            assert ready.json()["checks"]["database"].startswith("unavailable"), ready.text
        eventually(lambda: any("database unavailable" in line["message"] for line in _log_lines(stack, "gunicorn")),
                   10, "the web processes to log that the database is unavailable")
        # bob's delivery got Canditech's answer and could not record it: its worker keeps trying
        eventually(lambda: any("could not record the outcome (retry)" in line["message"]
                               and "the database is unavailable" in line["message"]
                               for name in ("worker0", "worker1") for line in _log_lines(stack, name)),
                   15, "the worker running bob's delivery to wait for the database")
        assert _alive(stack) == processes
        api(canditech + "/_sandbox/faults", "DELETE")
        restored_at = time.time() * 1000
        proxy.restore()

        # back, with nothing restarted
        eventually(lambda: requests.get(stack.hub_url + "/readyz", timeout=5).status_code == 200, 30,
                   "the hub to be ready again")

        def each_finally_accepted():
            attempts = _stage_changes(stack, set(during))
            assert set(attempts) == set(during), attempts
            assert all(entries[-1]["ok"] and entries[-1]["final"] for entries in attempts.values()), attempts
            return attempts

        attempts = eventually(each_finally_accepted, 30, "Lever's retries to be accepted")
        for opportunity, entries in attempts.items():
            assert [e["ok"] for e in entries] == [False] * (len(entries) - 1) + [True], (opportunity, entries)
            assert {e["status_code"] for e in entries[:-1]} == {503}, (opportunity, entries)
            assert entries[-1]["time"] > restored_at, (opportunity, entries)  # nothing acknowledged unstored
            assert entries[-1]["status_code"] in (200, 202), (opportunity, entries)
        emails = {f"{name}@example.com" for name in ("alice", "bob", "carol", "fay", "gus")}
        eventually(lambda: set(_canditech_invitations(stack)) == emails, 60, "an invitation for every candidate")
        eventually(lambda: all_settled(stack.app), 60, "every delivery to finish")

        assert {email: len(ids) for email, ids in _canditech_invitations(stack).items()} == dict.fromkeys(emails, 1)
        assert set(api(canditech + "/_sandbox/invitations")["post_counts"].values()) == {1}  # bob's not sent again
        with stack.app.app_context():
            recorded = db.session.scalars(sa.select(Invitation.provider_invitation_id)).all()
            dead = db.session.scalar(sa.select(sa.func.count(Delivery.id)).where(Delivery.status == "dead"))
            moves = db.session.scalar(sa.select(sa.func.count(Event.id)).where(Event.type == "stage_change"))
            db.session.rollback()
        assert len(recorded) == 5 and all(recorded), recorded
        assert dead == 0
        assert any("recorded the outcome (retry)" in line["message"] and "once the database was back" in line["message"]
                   for name in ("worker0", "worker1") for line in _log_lines(stack, name))
        assert moves == 5  # each move stored once, whatever its sender's retries
        assert _alive(stack) == processes
    except AssertionError:
        print(stack.diagnosis())  # shown with the failure: the logs go with tmp_path
        raise
    finally:
        stack.stop()


if not ON_POSTGRES:  # the SQLite run collects nothing here (module docstring)
    del test_production_hub_answers_503_while_the_database_is_away_and_recovers_by_itself
