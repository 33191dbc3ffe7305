"""Where a durable webhook's CPU goes, in process: no HTTP server and no load generator, only the
hub's WSGI app (production settings, PostgreSQL and Redis) called by ``--threads`` threads with
requests built beforehand. Three measurements, each of ``--requests`` requests:

1. ``GET /healthz`` (what every request costs in Flask);
2. ``POST /webhooks/lever/<key>``, signed as Lever signs: verified, made durable through the
   group commit (event, delivery, dedupe keys, log line), workers woken, answered;
3. the same webhooks with the store replaced by a stand-in that answers "accepted" without the
   database (it replaces ``hub.web.webhooks._store``, an internal): verification, routing,
   metrics and the JSON answer, without the commit.

Printed: CPU milliseconds per request of this process (all threads), and of PostgreSQL's server
processes for the durable webhooks; how many webhooks a commit held on average; and the ratios
that bound ``bench/ingest.py``'s ratio: with a server in front of both, webhook/healthz throughput
can at best approach healthz CPU / webhook CPU (the server's own cost per request lowers that
further only if it is smaller than the hub's). The hub's log lines go to a file, as in
production.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
import time

from common import base_parser, cpu_seconds, cpu_used, hub_env, result_block, say, workspace
from ingest import postgres_backends, prepare, signed_body


def parse_args():
    parser = base_parser(__doc__)
    parser.add_argument("--requests", type=int, default=6000, help="requests per measurement")
    parser.add_argument("--threads", type=int, default=16, help="threads calling the app (gunicorn's --threads)")
    parser.add_argument("--embedded", action="store_true", help="SQLite and the SQLite queue instead")
    return parser.parse_args()


@contextlib.contextmanager
def stderr_to(path):
    """Send file descriptor 2 (the hub's log lines) to ``path`` for the duration."""
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def environ(path: str, body: str | None) -> dict:
    from werkzeug.test import EnvironBuilder

    if body is None:
        return EnvironBuilder(path=path, method="GET").get_environ()
    return EnvironBuilder(path=path, method="POST", data=body, content_type="application/json").get_environ()


def run(app, environs: list[dict], threads: int, backends: list[int]) -> dict:
    """Call ``app`` once per environ from ``threads`` threads; CPU and wall time, non-2xx answers."""
    statuses: list[str] = []

    def start_response(status, headers, exc_info=None):
        statuses.append(status)

    def worker(share: list[dict]) -> None:
        for env in share:
            answer = app(env, start_response)
            for _ in answer:
                pass
            getattr(answer, "close", lambda: None)()

    pool = [threading.Thread(target=worker, args=(environs[k::threads],)) for k in range(threads)]
    db_before, cpu_before, wall_before = cpu_seconds(backends), time.process_time(), time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    count = len(environs)
    return {"cpu_ms": 1000 * (time.process_time() - cpu_before) / count,
            "db_cpu_ms": 1000 * cpu_used(db_before, cpu_seconds(backends)) / count,
            "per_second": count / (time.perf_counter() - wall_before),
            "non2xx": sum(1 for s in statuses if not s.startswith("2"))}


def main() -> None:
    args = parse_args()
    with workspace(args.keep) as space:
        say("preparing the database and the hub's settings")
        setup, config, key = prepare(space, args)
        os.environ.update(hub_env(config, production=not args.embedded))
        sys.setswitchinterval(0.0005)  # as gunicorn.conf.py sets in each web process
        from hub.app import create_app
        import hub.web.webhooks as ingress
        from hub.engine.ingest import IngestOutcome
        from hub.extensions import db

        app = create_app()

        def dispose() -> None:
            with app.app_context():
                db.session.remove()
                db.engine.dispose()

        space.on_close(dispose)
        url = f"/webhooks/lever/{key}"
        results = {"topology": "embedded-sqlite" if args.embedded else "postgresql+redis",
                   "threads": args.threads, "requests": args.requests}
        with stderr_to(space.logs / "hub.log"):
            run(app, [environ("/healthz", None) for _ in range(500)], args.threads, [])  # warm-up
            run(app, [environ(url, signed_body()) for _ in range(500)], args.threads, [])
            backends = postgres_backends(setup)  # the hub's connections, open since the warm-up
            health = run(app, [environ("/healthz", None) for _ in range(args.requests)], args.threads, [])
            committer = app.extensions["hub.webhook_commit"]
            batches, jobs = committer.batches, committer.jobs
            durable = run(app, [environ(url, signed_body()) for _ in range(args.requests)], args.threads, backends)
            batches, jobs = committer.batches - batches, committer.jobs - jobs
            real_store = ingress._store
            ingress._store = lambda runtime, record: [IngestOutcome("accepted", 1, [1]) for _ in record.events]
            try:
                unstored = run(app, [environ(url, signed_body()) for _ in range(args.requests)], args.threads, [])
            finally:
                ingress._store = real_store
        for name, figures in (("healthz", health), ("webhook", durable), ("webhook_without_store", unstored)):
            say(f"{name}: {figures['cpu_ms']:.3f} ms CPU per request, {figures['per_second']:.0f}/s in process")
            results[f"{name}_cpu_ms"] = figures["cpu_ms"]
            results[f"{name}_non2xx"] = figures["non2xx"]
        results["webhook_db_cpu_ms"] = durable["db_cpu_ms"]
        results["webhooks_per_commit"] = jobs / batches if batches else float("nan")
        results["store_cpu_ms"] = durable["cpu_ms"] - unstored["cpu_ms"]
        results["cpu_ratio_healthz_to_webhook"] = health["cpu_ms"] / (durable["cpu_ms"] + durable["db_cpu_ms"])
        results["cpu_ratio_healthz_to_webhook_without_store"] = health["cpu_ms"] / unstored["cpu_ms"]
        result_block("ingest_breakdown", results)


if __name__ == "__main__":
    main()
