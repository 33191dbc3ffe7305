"""End-to-end latency: a candidate moved into the assessment stage in Lever -> the invitation
created at Canditech.

The whole product runs as separate processes over real HTTP on loopback, as in the end-to-end
tests: the Lever and Canditech sandboxes, and the hub either embedded (``hub run``: werkzeug plus
worker threads, SQLite) or in production shape (gunicorn with 2 workers and 2 ``hub worker``
processes, PostgreSQL, Redis), connected with the same ``connect_sandbox`` hooks as ``hub demo``
(``hub.demo.connect_workspace``), which attaches a Canditech assessment to the "Canditech Stage".

``--moves`` new candidates are moved into that stage one every ``--interval`` seconds (a fixed
schedule). Per candidate: time from the start of the move call to the invitation's ``created_at``
at the Canditech sandbox. The path: Lever's signed webhook -> hub ingress (event + delivery
committed) -> a worker runs Canditech's ``on_stage_change`` -> re-reads the opportunity from Lever
-> creates the invitation at Canditech. Prints p50/p99/max.
"""

from __future__ import annotations

import sys
import time
from datetime import datetime

import requests

from common import (
    answers_200, api, base_parser, database_url, free_port, hub_config, hub_env, percentile, redis_url,
    result_block, say, setup_app, start_gunicorn, start_hub, wait_until, workspace,
)


def parse_args():
    parser = base_parser(__doc__)
    parser.add_argument("--topology", choices=("embedded", "production"), default="embedded",
                        help="embedded: hub run on SQLite; production: gunicorn -w 2 + 2 hub worker, "
                             "PostgreSQL, Redis")
    parser.add_argument("--moves", type=int, default=50, help="candidates moved into the stage")
    parser.add_argument("--interval", type=float, default=0.5,
                        help="seconds between two moves (each invitation costs Lever reads, limited to 10/s)")
    parser.add_argument("--warmup-moves", type=int, default=1, help="moves before the measured ones (not counted)")
    parser.add_argument("--timeout", type=float, default=120, help="seconds to wait for the last invitation")
    parser.add_argument("--worker-threads", type=int, default=4, help="worker threads per hub process")
    return parser.parse_args()


# --------------------------------------------------------------------------- the stack


def start_stack(space, args) -> tuple[object, str, dict[str, str]]:
    """Sandboxes, hub processes, and the workspace connected; returns (setup app, hub URL, sandbox URLs)."""
    from hub.demo import sandbox_specs
    from hub.runtime import get_runtime

    production = args.topology == "production"
    port = free_port()
    config = hub_config(space, database_url(space, args, embedded=not production), "lever,canditech",
                        PUBLIC_URL=f"http://127.0.0.1:{port}")
    if production:
        config["REDIS_URL"] = redis_url(space, args.redis_url, config["QUEUE_NAME"])
    app = setup_app(space, config)
    urls = {name: space.start_sandbox(spec.module)
            for name, spec in sandbox_specs(get_runtime(app).registry).items()}
    env = hub_env(config, production)
    threads = str(args.worker_threads)
    if production:
        start_gunicorn(space, env, port, 2)
        for index in range(2):
            start_hub(space, ["worker", "--workers", threads], env, f"worker{index}.log")
    else:
        start_hub(space, ["run", "--port", str(port), "--workers", threads], env, "hub.log")
    hub_url = config["PUBLIC_URL"]
    wait_until(lambda: answers_200(hub_url + "/readyz"), 60, "the hub to answer /readyz")
    return app, hub_url, urls


def connect(app, urls: dict[str, str]) -> tuple[str, str]:
    """``connect_workspace`` as ``hub demo`` does; returns the (posting, stage) Canditech is attached to."""
    import sqlalchemy as sa

    from hub.demo import connect_workspace
    from hub.extensions import db
    from hub.runtime import get_runtime
    from hub.store.models import Attachment

    with app.app_context():
        setup = connect_workspace(get_runtime(), 1, urls, actor="bench")
        for message in setup.messages + setup.attachments:
            say(f"  {message}")
        row = db.session.scalar(sa.select(Attachment).where(Attachment.provider == "canditech"))
        db.session.rollback()
        if row is None:
            raise RuntimeError("connect_workspace attached no Canditech assessment")
        return row.posting_id, row.stage_id


# --------------------------------------------------------------------------- the moves


def create_candidates(lever_url: str, posting_id: str, count: int) -> list[dict]:
    session = requests.Session()
    tag = time.strftime("%H%M%S")
    return [api(f"{lever_url}/_sandbox/opportunities", "POST", session=session, json={
        "name": f"Latency Candidate {i}", "email": f"latency-{tag}-{i}@example.com", "posting_id": posting_id,
    }) for i in range(count)]


def move_all(lever_url: str, candidates: list[dict], stage_id: str, interval: float) -> dict[str, float]:
    """Move each candidate into ``stage_id`` on a fixed schedule; returns {email: wall time of the call}."""
    session = requests.Session()
    started: dict[str, float] = {}
    start = time.monotonic()
    for i, candidate in enumerate(candidates):
        pause = start + i * interval - time.monotonic()
        if pause > 0:
            time.sleep(pause)
        started[candidate["emails"][0]] = time.time()
        api(f"{lever_url}/_sandbox/opportunities/{candidate['id']}/move", "POST", session=session,
            json={"stage_id": stage_id})
    return started


def invitation_times(canditech_url: str) -> dict[str, float]:
    """{candidate email: created_at (epoch seconds)} of every invitation at the Canditech sandbox."""
    found = {}
    for invitation in api(f"{canditech_url}/_sandbox/invitations")["data"]:
        email = (invitation.get("candidate") or {}).get("email")
        if email:
            found[email] = datetime.fromisoformat(invitation["created_at"].replace("Z", "+00:00")).timestamp()
    return found


def wait_for_invitations(canditech_url: str, emails: set[str], timeout: float) -> dict[str, float]:
    deadline = time.monotonic() + timeout
    while True:
        found = invitation_times(canditech_url)
        if emails <= set(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.25)


# --------------------------------------------------------------------------- main


def main() -> None:
    args = parse_args()
    with workspace(args.keep) as space:
        say(f"starting the sandboxes and the hub ({args.topology})")
        app, hub_url, urls = start_stack(space, args)
        if "lever" not in urls or "canditech" not in urls:
            sys.exit(f"needs the Lever and Canditech sandboxes, found {sorted(urls)}")
        posting_id, stage_id = connect(app, urls)
        total = args.warmup_moves + args.moves
        candidates = create_candidates(urls["lever"], posting_id, total)

        warmup, measured = candidates[:args.warmup_moves], candidates[args.warmup_moves:]
        if warmup:
            say(f"warm-up: {len(warmup)} move(s)")
            emails = set(move_all(urls["lever"], warmup, stage_id, args.interval))
            wait_for_invitations(urls["canditech"], emails, args.timeout)
        say(f"moving {len(measured)} candidates into {stage_id}, one every {args.interval:g}s")
        started = move_all(urls["lever"], measured, stage_id, args.interval)
        found = wait_for_invitations(urls["canditech"], set(started), args.timeout)

    latencies = [(found[email] - t0) * 1000 for email, t0 in started.items() if email in found]
    result_block("e2e_latency", {
        "topology": args.topology,
        "moves": len(started),
        "interval_s": args.interval,
        "invitations": len(latencies),
        "missing": len(started) - len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=float("nan")),
        "min_ms": min(latencies, default=float("nan")),
    })


if __name__ == "__main__":
    main()
