"""Drain benchmark: a backlog of Lever write-backs against the Lever sandbox's rate limit.

The backlog: ``--count`` completed assessments of a stand-in provider (``bench/standin_plugin.py``),
each with its Lever delivery (``on_assessment_completed``: a note with the score, and a tag)
pending. Then ``hub worker`` processes start (production: 2 x 8 threads on PostgreSQL, with Redis as
the queue and the shared rate limiter) and write back to the Lever sandbox, whose limit is 10
requests/s per credential with bursts of 20 (429 beyond).

Measured over a window that starts ``--warmup`` seconds after the workers (so the initial burst of
20 does not count) and lasts ``--duration`` seconds, or until the backlog is empty with ``--full``:
Lever API requests accepted per second / the limit (target >= 0.9), 429s (target 0), write-backs
done per second, and whether each write-back wrote exactly one note (a sample of opportunities
read back from the sandbox, and notes created vs write-backs done overall).
"""

from __future__ import annotations

import random
import threading
import time

import requests

from common import (
    api, base_parser, count_rows, database_url, hub_config, hub_env, huey_queue_length, parallel_map, redis_url,
    result_block, say, setup_app, start_hub, workspace,
)

LIMIT_PER_SECOND = 10.0  # the Lever sandbox's default (plugins/lever/sandbox/context.py)
POSTING = "posting-backend-engineer"  # seed ids of the Lever sandbox
STAGE = "stage-canditech"
HOOK = "on_assessment_completed"


def parse_args():
    parser = base_parser(__doc__)
    parser.add_argument("--count", type=int, default=10_000, help="pending write-backs to create")
    parser.add_argument("--duration", type=float, default=120, help="seconds of the measurement window")
    parser.add_argument("--warmup", type=float, default=10,
                        help="seconds between starting the workers and opening the window")
    parser.add_argument("--full", action="store_true", help="measure until every write-back is done")
    parser.add_argument("--processes", type=int, default=None,
                        help="hub worker processes (default: 2, or 1 with --embedded, whose limiter is per process)")
    parser.add_argument("--threads", type=int, default=8, help="hub worker --workers")
    parser.add_argument("--sample", type=int, default=100, help="opportunities whose notes are read back")
    parser.add_argument("--setup-threads", type=int, default=4, help="threads that build the backlog")
    parser.add_argument("--embedded", action="store_true",
                        help="SQLite database and queue (in-process rate limiter) instead of PostgreSQL + Redis")
    return parser.parse_args()


# --------------------------------------------------------------------------- backlog


def connect(app, lever_url: str) -> int:
    """Connect Lever to the sandbox (API key), enable the stand-in and attach it to a stage;
    returns the attachment id."""
    from hub import services
    from hub.demo import connect_workspace
    from hub.runtime import get_runtime

    with app.app_context():
        runtime = get_runtime()
        connect_workspace(runtime, 1, {"lever": lever_url}, actor="bench")
        services.set_enabled(runtime, 1, "standin", True, "bench")
        attachment = services.save_attachment(1, dict(
            posting_id=POSTING, posting_name="Backend Engineer", stage_id=STAGE, stage_name="Canditech Stage",
            provider="standin", assessment_id="standin-test", assessment_name="Stand-in test"), "bench")
        return attachment.id


def create_opportunities(lever_url: str, count: int, threads: int) -> list[dict]:
    """``count`` candidates in the Lever sandbox (control API), applied to ``POSTING``."""
    local = threading.local()

    def create(i: int) -> dict:
        if not hasattr(local, "session"):
            local.session = requests.Session()
        opp = api(f"{lever_url}/_sandbox/opportunities", "POST", session=local.session, json={
            "name": f"Bench Candidate {i}", "email": f"bench{i}@example.com", "posting_id": POSTING})
        return {"id": opp["id"], "name": opp["name"], "email": f"bench{i}@example.com"}

    return parallel_map(create, range(count), threads)


def complete_invitation(app, attachment_id: int, opp: dict) -> int:
    """Invite ``opp`` through the stand-in's context, then ingest its result without waking a
    worker: the Lever write-back stays pending. Returns the invitation id."""
    from hub.engine.ingest import ingest
    from hub.entities import AssessmentResult, Candidate, InboundEvent
    from hub.runtime import get_runtime
    from hub.store.models import utcnow

    with app.app_context():
        runtime = get_runtime()
        ctx = runtime.context(1, "standin")
        attachment = ctx.attachments.get(attachment_id)
        candidate = Candidate(opportunity_id=opp["id"], name=opp["name"], email=opp["email"], posting_id=POSTING)
        invitation, _ = ctx.invitations.get_or_create(attachment, candidate)
        ctx.invitations.transition(invitation.id, "invited", provider_invitation_id=f"standin-{invitation.id}")
        result = AssessmentResult(invitation_id=invitation.id, score=80.0, max_score=100.0,
                                  report_url=f"https://standin.example/reports/{invitation.id}",
                                  completed_at=utcnow())
        ingest(runtime, 1, "standin", InboundEvent(external_id=f"result-{invitation.id}", event=result), wake=False)
        return invitation.id


def build_backlog(app, attachment_id: int, opportunities: list[dict], threads: int) -> None:
    done = [0]
    lock = threading.Lock()

    def one(opp: dict) -> None:
        complete_invitation(app, attachment_id, opp)
        with lock:
            done[0] += 1
            if done[0] % 1000 == 0:
                say(f"  {done[0]} / {len(opportunities)}")

    parallel_map(one, opportunities, threads)


# --------------------------------------------------------------------------- measurement


def writebacks(app, *statuses: str) -> int:
    from hub.store.models import Delivery

    return count_rows(app, Delivery, Delivery.plugin == "lever", Delivery.hook == HOOK,
                      Delivery.status.in_(statuses))


def lever_stats(lever_url: str) -> dict:
    stats = api(f"{lever_url}/_sandbox/stats")
    stats["accepted"] = stats.get("requests", 0) - stats.get("rate_limited", 0)
    return stats


def snapshot(app, lever_url: str, config: dict) -> dict:
    return {"t": time.monotonic(), "stats": lever_stats(lever_url), "done": writebacks(app, "done"),
            "queued": huey_queue_length(config.get("REDIS_URL"), config["QUEUE_NAME"])}


def measure(app, lever_url: str, config: dict, args) -> tuple[dict, dict]:
    """Wait ``--warmup``, then measure ``--duration`` seconds (or until the backlog is empty)."""
    time.sleep(args.warmup)
    first = snapshot(app, lever_url, config)
    say(f"window opened: {first['done']} write-backs done during the warm-up")
    deadline = first["t"] + (float("inf") if args.full else args.duration)
    last_report = first["t"]
    while time.monotonic() < deadline:
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())))
        if writebacks(app, "pending", "running", "retry") == 0:
            if not args.full:
                say("the backlog is empty before the end of the window: the window ends now "
                    "(a larger --count measures the steady state)")
            break
        if time.monotonic() - last_report >= 10:
            now = snapshot(app, lever_url, config)
            seconds = now["t"] - first["t"]
            queued = "" if now["queued"] is None else f", {now['queued']} wake-ups queued in Huey"
            say(f"  {now['done']} done; {(now['stats']['accepted'] - first['stats']['accepted']) / seconds:.2f} "
                f"Lever req/s, {now['stats'].get('rate_limited', 0)} 429s so far{queued}")
            last_report = now["t"]
    return first, snapshot(app, lever_url, config)


def note_texts(note: dict) -> list[str]:
    texts = [note.get("value"), note.get("text")]
    texts += [f.get("value") for f in note.get("fields") or [] if isinstance(f, dict)]
    return [t for t in texts if isinstance(t, str)]


def check_notes(app, lever_url: str, sample: int) -> dict:
    """Read back the notes of a random sample of done write-backs: exactly one result note each?"""
    import sqlalchemy as sa

    from hub.engine.invitations import to_entity
    from hub.extensions import db
    from hub.store.models import Delivery, Event, Invitation

    with app.app_context():
        subjects = list(db.session.scalars(sa.select(Event.subject).join(Delivery, Delivery.event_id == Event.id)
                                          .where(Delivery.plugin == "lever", Delivery.hook == HOOK,
                                                 Delivery.status == "done")))
        ids = [int(s.split(":", 1)[1]) for s in random.sample(subjects, min(sample, len(subjects)))]
        # the marker the Lever plugin writes: its invitation's external reference (which holds a token)
        rows = [(to_entity(row).external_reference, row.opportunity_id) for row in db.session.scalars(
            sa.select(Invitation).where(Invitation.id.in_(ids)))] if ids else []
        db.session.rollback()
    counts = []
    for reference, opportunity_id in rows:
        mark = f"[ats-hub:{reference}]"
        notes = api(f"{lever_url}/_sandbox/opportunities/{opportunity_id}/notes")["data"]
        counts.append(sum(1 for n in notes if any(mark in t for t in note_texts(n))))
    return {"sampled": len(counts), "exactly_one": sum(1 for c in counts if c == 1),
            "none": sum(1 for c in counts if c == 0), "several": sum(1 for c in counts if c > 1)}


# --------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    processes = args.processes or (1 if args.embedded else 2)
    from bench import standin_plugin  # the repository root is on sys.path (common.py)

    with workspace(args.keep) as space:
        say("starting the Lever sandbox")
        lever_url = space.start_sandbox("plugins.lever.sandbox")
        config = hub_config(space, database_url(space, args, args.embedded), "lever,standin")
        # run the (no-op) "invited" notifications inline while building the backlog
        app = setup_app(space, {**config, "QUEUE_IMMEDIATE": True}, plugins=[("standin", standin_plugin)])
        attachment_id = connect(app, lever_url)

        started = time.monotonic()
        say(f"creating {args.count} opportunities in the Lever sandbox")
        opportunities = create_opportunities(lever_url, args.count, 8)
        say(f"creating {args.count} invitations and completed results (write-backs pending)")
        build_backlog(app, attachment_id, opportunities, args.setup_threads)
        pending = writebacks(app, "pending")
        say(f"backlog ready in {time.monotonic() - started:.0f}s: {pending} pending write-backs")

        if not args.embedded:
            config["REDIS_URL"] = redis_url(space, args.redis_url, config["QUEUE_NAME"])
        env = hub_env(config, production=not args.embedded, HUB_EXTRA_PLUGIN_MODULES="standin=bench.standin_plugin")
        before = lever_stats(lever_url)
        say(f"starting {processes} x hub worker --workers {args.threads}")
        workers = [start_hub(space, ["worker", "--workers", str(args.threads)], env, f"worker{i}.log")
                   for i in range(processes)]
        first, last = measure(app, lever_url, config, args)
        say("stopping the workers (they finish the write-backs they hold)")
        space.stop_processes(workers, grace=60)
        after = lever_stats(lever_url)
        done_total = writebacks(app, "done")
        notes = check_notes(app, lever_url, args.sample)

    seconds = last["t"] - first["t"]
    accepted = last["stats"]["accepted"] - first["stats"]["accepted"]
    done_window = last["done"] - first["done"]
    achieved = accepted / seconds if seconds else float("nan")
    statuses = {k: v - before.get("responses_by_status", {}).get(k, 0)
                for k, v in after.get("responses_by_status", {}).items()}
    result_block("drain", {
        "topology": "embedded-sqlite" if args.embedded else "postgresql+redis",
        "workers": f"{processes}x{args.threads}",
        "backlog": pending,
        "window_s": seconds,
        "lever_requests_per_s": achieved,
        "limit_per_s": LIMIT_PER_SECOND,
        "rate_over_limit": achieved / LIMIT_PER_SECOND,
        "rate_over_limit_target": ">=0.9",
        "rate_limited_429": after.get("rate_limited", 0) - before.get("rate_limited", 0),
        "rate_limited_429_target": 0,
        "lever_responses_by_status": ",".join(f"{k}:{v}" for k, v in sorted(statuses.items()) if v),
        "writebacks_done_per_s": done_window / seconds if seconds else float("nan"),
        "lever_requests_per_writeback": accepted / done_window if done_window else float("nan"),
        "writebacks_done_total": done_total,
        "writebacks_left": pending - done_total,
        "notes_created": after.get("notes_created", 0) - before.get("notes_created", 0),
        "notes_sampled": notes["sampled"],
        "notes_exactly_one": notes["exactly_one"],
        "notes_missing": notes["none"],
        "notes_duplicated": notes["several"],
        "huey_queued_at_end": "n/a" if last["queued"] is None else last["queued"],
        "one_note_each": "yes" if notes["exactly_one"] == notes["sampled"] and
                         after.get("notes_created", 0) - before.get("notes_created", 0) == done_total else "NO",
    })


if __name__ == "__main__":
    main()
