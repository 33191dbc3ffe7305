"""Duplicates and order (issue 7): 1,000 logical Lever events, each delivered 1 to 5 times, all
shuffled and sent concurrently to a running hub; then the candidates' completions, whose Canditech
webhooks come duplicated and out of order too. Every delivery is answered 2xx, every logical event
is stored once, and the outcome is the one the logical events call for (``event_chains.Oracle``):
exactly one invitation per opportunity and attachment the chains put there (cancelled where they
archived the candidate), at the hub and at the vendor, and exactly one result note per completion
on its Lever opportunity.

Real candidates in the Lever sandbox follow chains of steps in three rounds (``event_chains.CHAINS``:
into the attached stage, out, back in, archived, unarchived, hired, deleted, into Vervoe's stage),
mixed with events about opportunities Lever does not have. The sandbox builds and signs every
webhook as Lever does but sends none (its drop fault at 100% logs each, body included): the test is
the network. It delivers each logical event 1 to 5 times (some copies re-signed with a new token,
as Lever may do on a retry; before the last round, one copy of each sent more than once only with
the next round's, when the candidate may be back where it was), shuffled, 16 at a time. Round 2's
webhooks carry no ``id`` (as in Lever's examples): the hub knows them by token and retry key.
Then every open Canditech invitation is completed: the sandbox holds its webhooks (started and
completed, a random half of them twice) and releases them newest first, while the test resends
each completion's body, signed afresh as a sender's retry is, until it has arrived 1 to 5 times.

``HUB_DUPLICATE_EVENTS`` sets the number of logical Lever events (one candidate per 12 of them).
The stack follows the run's database (``make_app``: SQLite, or PostgreSQL in scripts/test.sh's
second run).
"""

from __future__ import annotations

import json
import os
import random
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
import sqlalchemy as sa

from hub.entities import ArchiveChange, CandidateDeleted, CandidateHired, StageChange
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Delivery, Event, Invitation
from plugins.canditech.sandbox import wire as canditech_wire
from plugins.lever.sandbox.signing import make_body, resigned
from tests.e2e.harness import all_settled, eventually, start_stack
from tests.reliability.event_chains import (
    ARCHIVE_CHANGE, ATTACHED, CHAINS, DELETED, FIRST_STAGE, HIRED, ROUNDS, STAGE_CHANGE, Oracle,
)

LOGICAL = int(os.environ.get("HUB_DUPLICATE_EVENTS", "1000"))
CANDIDATES = max(len(CHAINS), LOGICAL // 12)
SENDERS = 16
BATCH = 100  # candidates per read of the Lever sandbox's log, which keeps its last 1,000 webhooks
LEVER_HEADERS = {"Content-Type": "application/json", "User-Agent": "Lever-Webhooks"}
HUB_TYPES = {STAGE_CHANGE: StageChange, ARCHIVE_CHANGE: ArchiveChange, HIRED: CandidateHired,
             DELETED: CandidateDeleted}
ELSEWHERE = ("stage-recruiter-screen", "stage-phone-interview", "stage-onsite-interview", "stage-offer")
FLUSH = "flush"


def api(method: str, url: str, **kwargs):
    response = requests.request(method, url, timeout=60, **kwargs)
    response.raise_for_status()
    return response.json()


class LeverWebhooks:
    """The webhooks the Lever sandbox built, each taken once from its log (``kind`` "event")."""

    def __init__(self, lever: str):
        self.lever, self.seen = lever, set()

    def take(self) -> list[dict]:
        entries = api("GET", self.lever + "/_sandbox/webhook_log", params={"kind": "event"})["data"]
        new = [e for e in entries if e["delivery_id"] not in self.seen]
        self.seen.update(e["delivery_id"] for e in new)
        assert all(e["error"] == "dropped by fault injection" for e in new), "the sandbox sent a webhook itself"
        return new


def take_step(lever: str, opportunity_id: str, step) -> None:
    base = f"{lever}/_sandbox/opportunities/{opportunity_id}"
    if step.action == "move":
        api("POST", base + "/move", json={"stage_id": step.stage})
    elif step.action == "archive":
        api("POST", base + "/archive", json={"reason_id": "reason-underqualified"})
    elif step.action == "unarchive":
        api("POST", base + "/archive", json={"reason_id": None})
    elif step.action == "hire":
        api("POST", base + "/hire", json={})
    else:
        api("DELETE", base)


def in_batches(items: list, work, webhooks: LeverWebhooks) -> list[dict]:
    """``work(item)`` for every item, 8 at a time; returns the webhooks Lever built meanwhile,
    read after every ``BATCH`` items."""
    built: list[dict] = []
    with ThreadPoolExecutor(8) as pool:
        for start in range(0, len(items), BATCH):
            list(pool.map(work, items[start:start + BATCH]))
            built += webhooks.take()
    return built


def create_candidates(lever: str, webhooks: LeverWebhooks, oracle: Oracle, emails: dict) -> list[dict]:
    """``CANDIDATES`` candidates applying to the attached posting; returns their applicationCreated."""
    def create(index: int) -> None:
        opportunity = api("POST", lever + "/_sandbox/opportunities", json={
            "name": f"Chain Candidate{index}", "email": f"chain{index}@example.com",
            "posting_id": "posting-backend-engineer", "stage_id": FIRST_STAGE})
        oracle.add(opportunity["id"], list(CHAINS)[index % len(CHAINS)])
        emails[opportunity["id"]] = f"chain{index}@example.com"

    created = in_batches(list(range(CANDIDATES)), create, webhooks)
    assert len(created) == CANDIDATES
    return created


def take_round(lever: str, webhooks: LeverWebhooks, oracle: Oracle, round_: int) -> list[dict]:
    """Every candidate's steps of ``round_`` taken in Lever (each candidate's in order); the
    oracle told; returns the webhooks Lever built for them."""
    candidates = [c for c in oracle.candidates.values() if c.steps(round_)]

    def steps_of(candidate) -> None:
        for step in candidate.steps(round_):
            take_step(lever, candidate.opportunity_id, step)

    built = in_batches(candidates, steps_of, webhooks)
    fired = oracle.round([(c.opportunity_id, step) for c in candidates for step in c.steps(round_)])
    assert Counter(e["event"] for e in built) == fired
    return built


def about_unknown(hooks: dict, opportunity_ids: list[str], rng: random.Random, with_id: bool) -> list[dict]:
    """Signed webhooks about opportunities Lever does not have (one each, so no two share a retry
    key), of every kind the hub stores; a few name the attached stage (the re-read finds nothing)."""
    made = []
    for opportunity_id in opportunity_ids:
        kind = rng.choices([STAGE_CHANGE, ARCHIVE_CHANGE, HIRED, DELETED], weights=[6, 2, 1, 1])[0]
        data = {"opportunityId": opportunity_id, "candidateId": opportunity_id, "contactId": str(uuid.uuid4())}
        if kind == STAGE_CHANGE:
            to_stage = ATTACHED["canditech"] if rng.random() < 0.05 else rng.choice(ELSEWHERE)
            data.update(toStageId=to_stage, fromStageId=FIRST_STAGE)
        elif kind == ARCHIVE_CHANGE:
            data.update(fromArchived=None, toArchived={"archivedAt": int(time.time() * 1000),
                                                       "reason": "reason-underqualified"})
        hook = hooks[kind]
        made.append({"event": kind, "webhook_id": hook["id"], "url": hook["url"],
                     "payload": make_body(kind, data, hook["signatureToken"], with_id=with_id)})
    return made


def copies(logical: list[dict], tokens: dict, rng: random.Random, late: bool) -> tuple[list, list]:
    """Each logical webhook 1 to 5 times, as (url, body): those to send now, and, with ``late``,
    those that come with the next round's (the last copy of each sent more than once, and the
    others 1 time in 5). A copy after the first is re-signed (a new token) 3 times in 10."""
    now, later = [], []
    for webhook in logical:
        url, payload = webhook["url"], webhook["payload"]
        now.append((url, json.dumps(payload).encode()))
        extra = rng.randint(1, 5) - 1
        for n in range(extra):
            copy = resigned(payload, tokens[webhook["webhook_id"]]) if rng.random() < 0.3 else payload
            comes_late = late and (n == extra - 1 or rng.random() < 0.2)
            (later if comes_late else now).append((url, json.dumps(copy).encode()))
    return now, later


def deliver(sends: list, rng: random.Random, send) -> Counter:
    """``send(item)`` for every item, shuffled, ``SENDERS`` at a time; the statuses answered."""
    sends = list(sends)
    rng.shuffle(sends)
    with ThreadPoolExecutor(SENDERS) as pool:
        return Counter(pool.map(send, sends))


def http_session() -> requests.Session:
    session = requests.Session()
    session.mount("http://", requests.adapters.HTTPAdapter(pool_maxsize=SENDERS))
    return session


def check_invitations(stack, oracle: Oracle, emails: dict, when: str) -> None:
    """One invitation per (opportunity, provider) the oracle has, none elsewhere, at the hub and at
    the vendor; in the oracle's status at the hub and at Canditech."""
    with stack.app.app_context():
        rows = db.session.execute(sa.select(Invitation.opportunity_id, Invitation.provider,
                                            Invitation.status)).all()
        db.session.rollback()
    twice = sorted(key for key, n in Counter((o, p) for o, p, _ in rows).items() if n > 1)
    assert not twice, f"{when}: more than one invitation for {twice}"
    actual = {(o, p): status for o, p, status in rows}
    wrong = sorted((oracle.candidates[o].chain, p, oracle.invitations.get((o, p)), actual.get((o, p)))
                   for o, p in set(actual) | set(oracle.invitations)
                   if actual.get((o, p)) != oracle.invitations.get((o, p)))
    assert not wrong, f"{when}: (chain, provider, expected, at the hub): {wrong}"

    at_canditech = api("GET", stack.url("canditech") + "/_sandbox/invitations")["data"]
    at_vervoe = api("GET", stack.url("vervoe") + "/_sandbox/user-assessments")["data"]
    for provider, emails_there in (("canditech", [i["candidate"]["email"] for i in at_canditech]),
                                   ("vervoe", [i["candidateEmail"] for i in at_vervoe])):
        expected = Counter(emails[o] for o, p in oracle.invitations if p == provider)
        assert Counter(emails_there) == expected, f"{when}: invitations at {provider}"
    statuses = {i["candidate"]["email"]: i["status"] for i in at_canditech}
    assert statuses == {emails[o]: s for (o, p), s in oracle.invitations.items() if p == "canditech"}, when


def check_lever_events(stack, stored: Counter, when: str) -> None:
    """Every logical Lever event the hub keeps is stored once, and delivered once to every plugin
    that implements its hook (all three are enabled), done."""
    registry = get_runtime(stack.app).registry
    expected_events = {HUB_TYPES[kind].type: n for kind, n in stored.items() if n}
    expected_deliveries = {(HUB_TYPES[kind].hook, plugin, "done"): n for kind, n in stored.items() if n
                           for plugin in registry.subscribers(HUB_TYPES[kind].hook)}
    with stack.app.app_context():
        events = dict(db.session.execute(sa.select(Event.type, sa.func.count()).where(
            Event.source_plugin == "lever").group_by(Event.type)).all())
        deliveries = {(hook, plugin, status): n for hook, plugin, status, n in db.session.execute(
            sa.select(Delivery.hook, Delivery.plugin, Delivery.status, sa.func.count()).join(Event)
            .where(Event.source_plugin == "lever").group_by(Delivery.hook, Delivery.plugin, Delivery.status)).all()}
        db.session.rollback()
    assert events == expected_events, when
    assert deliveries == expected_deliveries, when


@pytest.mark.slow
def test_chains_of_events_delivered_one_to_five_times_in_random_order_have_the_logical_outcome(make_app, tmp_path):
    # Lever's rate limit is not under test here (tests/test_ratelimit.py, tests/plugins/lever/test_client.py):
    # lifted, the hub's workers race each other harder, and the test takes less time
    stack = start_stack(make_app, tmp_path, "embedded", env_overrides={
        "HUB_LEVER_RATE_LIMIT_PER_SECOND": "200", "HUB_LEVER_RATE_LIMIT_BURST": "50"})
    lever = stack.url("lever")
    rng = random.Random(5)
    phases = {"start": time.monotonic()}
    try:
        hooks = {w["event"]: w for w in api("GET", lever + "/_sandbox/webhooks")["data"]}
        tokens = {w["id"]: w["signatureToken"] for w in hooks.values()}
        webhooks, oracle, emails = LeverWebhooks(lever), Oracle(), {}
        api("POST", lever + "/_sandbox/settings", json={"rate_limit_per_second": 1000, "rate_limit_burst": 1000})
        api("POST", lever + "/_sandbox/faults", json={"webhook_drop_rate": 1.0})
        creations = create_candidates(lever, webhooks, oracle, emails)
        chained = sum(len(s.webhooks) for c in oracle.candidates.values() for r in range(ROUNDS) for s in c.steps(r))
        unknown = LOGICAL - CANDIDATES - chained
        assert unknown >= 0, f"HUB_DUPLICATE_EVENTS={LOGICAL} is fewer than the candidates' own events"
        session = http_session()

        def send_lever(item) -> int:
            url, body = item
            return session.post(url, data=body, headers=LEVER_HEADERS, timeout=60).status_code

        stored, late, sent = Counter(), [], 0
        for round_ in range(ROUNDS):
            with_id = round_ != 1  # round 2's webhooks carry no id, as in Lever's own examples
            api("POST", lever + "/_sandbox/faults", json={"webhook_drop_rate": 1.0, "webhook_omit_id": not with_id})
            logical = (creations if round_ == 0 else []) + take_round(lever, webhooks, oracle, round_)
            # later rounds also name the candidates deleted in round 1: Lever has them no more
            gone = [o for o, c in oracle.candidates.items() if c.deleted] if round_ else []
            count = unknown // ROUNDS + (unknown % ROUNDS if round_ == ROUNDS - 1 else 0)
            ids = (gone + [f"opp-unknown-{round_ + 1}-{i}" for i in range(count)])[:count]
            strangers = about_unknown(hooks, ids, rng, with_id)
            stored.update(w["event"] for w in strangers)
            now, late_now = copies(logical + strangers, tokens, rng, late=round_ < ROUNDS - 1)
            sends, late = now + late, late_now
            statuses = deliver(sends, rng, send_lever)
            assert statuses == {200: len(sends)}, f"round {round_ + 1}: answers {statuses}"
            sent += len(sends)
            eventually(lambda: all_settled(stack.app), 300, f"round {round_ + 1}'s deliveries to finish")
            check_lever_events(stack, stored + oracle.stored, f"after round {round_ + 1}")
            check_invitations(stack, oracle, emails, f"after round {round_ + 1}")
            phases[f"round {round_ + 1}"] = time.monotonic()
        completions = complete_with_duplicates(stack, oracle, emails, rng)
        check_invitations(stack, oracle, emails, "after the completions")
        with stack.app.app_context():
            from_canditech = db.session.scalar(sa.select(sa.func.count(Event.id)).where(
                Event.source_plugin == "canditech"))
            scores = dict(db.session.execute(sa.select(Invitation.opportunity_id, Invitation.score).where(
                Invitation.provider == "canditech", Invitation.status == "completed")).all())
            deliveries = dict(db.session.execute(sa.select(Delivery.status, sa.func.count()).group_by(
                Delivery.status)).all())
            db.session.rollback()
        assert from_canditech == len(completions["events"])  # started and completed, each stored once
        assert scores == completions["scores"]
        assert set(deliveries) == {"done"}, deliveries
        check_result_notes(lever, oracle, completions["scores"])
        phases["completions"] = time.monotonic()
        names = list(phases)
        print(f"{LOGICAL} logical Lever events of {CANDIDATES} candidates sent {sent} times; "
              f"{len(completions['scores'])} completions, Canditech webhooks sent {completions['sent']} times; "
              + ", ".join(f"{b} {phases[b] - phases[a]:.1f}s" for a, b in zip(names, names[1:])))
    finally:
        stack.stop()


def complete_with_duplicates(stack, oracle: Oracle, emails: dict, rng: random.Random) -> dict:
    """Every open Canditech invitation completed, with its own score; the sandbox holds its webhooks
    (a random half of them twice) and releases them newest first (``flush``) while the test resends
    each completion until it has arrived 1 to 5 times. Returns ``scores`` (opportunity -> score),
    ``events`` (the sandbox's event records) and ``sent`` (webhooks sent, all told)."""
    canditech = stack.url("canditech")
    secret = api("GET", canditech + "/_sandbox/config")["WEBHOOK_SECRET"]
    api("POST", canditech + "/_sandbox/faults", json={
        "webhook_reorder": True, "webhook_reorder_batch": 1_000_000, "webhook_reorder_hold_ms": 3_600_000,
        "webhook_duplicate_rate": 0.5, "seed": 7})
    at_vendor = {i["candidate"]["email"]: i["id"] for i in api("GET", canditech + "/_sandbox/invitations")["data"]}
    scores, bodies = {}, {}
    for index, opportunity_id in enumerate(oracle.open_invitations("canditech")):
        scores[opportunity_id] = 1 + (index * 37) % 100
        completed = api("POST", f"{canditech}/_sandbox/invitations/{at_vendor[emails[opportunity_id]]}/complete",
                        json={"score": scores[opportunity_id]})
        bodies[completed["id"]] = completed  # the invitation as the completion's webhook shows it
        oracle.complete(opportunity_id, "canditech")
    events = api("GET", canditech + "/_sandbox/webhook_log")["events"]
    assert Counter(e["type"] for e in events) == {canditech_wire.EVENT_STARTED: len(scores),
                                                  canditech_wire.EVENT_COMPLETED: len(scores)}
    assert {e["status"] for e in events} == {"pending"}  # held, none sent yet
    resends = [FLUSH]
    for event in events:
        if event["type"] == canditech_wire.EVENT_COMPLETED:
            body = json.dumps({"id": event["id"], "type": event["type"], "created_at": event["created_at"],
                               "data": {"invitation": bodies[event["invitation_id"]]}}, separators=(",", ":"))
            resends += [(event["url"], body.encode())] * max(0, rng.randint(1, 5) - event["copies"])
    session = http_session()

    def send(item) -> int:
        if item == FLUSH:  # the sandbox's own copies, newest first, among the resends
            return requests.post(canditech + "/_sandbox/webhooks/flush", timeout=60).status_code
        url, body = item
        signature = canditech_wire.sign(secret, body, int(time.time()))  # signed afresh, as every attempt is
        return session.post(url, data=body, headers={"Content-Type": "application/json",
                                                      canditech_wire.SIGNATURE_HEADER: signature},
                            timeout=60).status_code

    statuses = deliver(resends, rng, send)
    assert statuses == {200: len(resends)}, statuses

    def sandbox_done() -> bool:
        log = api("GET", canditech + "/_sandbox/webhook_log")
        return not log["pending"] and not log["in_flight"] and {e["status"] for e in log["events"]} == {"delivered"}

    eventually(sandbox_done, 120, "the Canditech sandbox to deliver its webhooks")
    attempts = api("GET", canditech + "/_sandbox/webhook_log")["attempts"]
    assert {a["outcome"] for a in attempts} == {"delivered"}  # every copy answered 2xx at the first attempt
    eventually(lambda: all_settled(stack.app), 300, "the completions' deliveries to finish")
    return {"scores": scores, "events": events, "sent": len(resends) - 1 + len(attempts)}


def check_result_notes(lever: str, oracle: Oracle, scores: dict) -> None:
    """Exactly one note on each completed candidate's opportunity, with its score; no other note."""
    notes = api("GET", lever + "/_sandbox/state")["notes"]
    written = {o: [f["value"] for note in notes.get(o, []) for f in note["fields"]]
               for o, c in oracle.candidates.items() if not c.deleted}
    wrong = sorted((oracle.candidates[o].chain, len(values), scores.get(o)) for o, values in written.items()
                   if len(values) != (1 if o in scores else 0)
                   or (values and f"Score: {scores[o]} / 100" not in values[0]))
    assert not wrong, f"(chain, notes on the opportunity, score): {wrong}"
