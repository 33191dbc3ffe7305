"""Crash trials, longer than CI's: worker processes killed with SIGKILL at random moments while
signed stage-change webhooks are ingested and candidates complete, then the invariants counted.

The driver is the CI test's (``tests/reliability/crash_driver.py``, used by
``tests/reliability/test_crash_trials.py``); this script builds the world around it, as the other
benchmarks do: the Lever, Canditech and Vervoe sandboxes, ``hub run --no-worker`` for the webhooks
(on a fresh PostgreSQL database and Redis, as CI's 200 trials; ``--embedded``: SQLite and Huey on
SQLite), and one ``hub worker --processes N``, whose worker processes are killed.
The workspace is connected as ``hub demo`` connects it (``hub.demo.connect_workspace``).

A trial is one kill: the next candidate is moved into the Canditech stage (while any is left), every
invitation the hub has recorded as sent is completed at Canditech, then after a random pause
(``--pause-min``..``--pause-max`` seconds) the oldest worker process is SIGKILLed and the
supervisor forks its replacement. After ``--trials`` kills the killing stops and the work left is
waited for (``--settle-timeout``). The Canditech sandbox answers 150 ms late after creating an
invitation, so kills land between its creating one and the hub recording it, and it does not refuse
a duplicate reference: a second invitation would be created and counted.

RESULT lines: ``kills``; ``resumed_after_created`` (invitations whose delivery, run again, found
them at Canditech by reference: kills that landed between the vendor call and the hub recording its
result, counted by the sandbox); ``resumed_deliveries`` (deliveries run more than once);
``invitations``, ``notes`` (result notes at Lever); ``duplicates`` (invitations beyond one per
candidate plus notes beyond one per completion: must be 0); ``lost`` (candidates whose invitation,
recorded completion or note is missing, plus deliveries given up: must be 0); ``open`` (deliveries
unfinished at the end); ``completed_during_kills``; ``restart_p50_ms`` / ``restart_max_ms`` (a kill to
its replacement's "worker started"); ``kill_s``, ``settle_s``, ``wall_s``. Exits 1 when
``duplicates``, ``lost`` or ``open`` is not 0.
"""

from __future__ import annotations

import sys
import time

from common import (
    answers_200, base_parser, database_url, free_port, hub_config, hub_env, percentile, redis_url, result_block,
    say, setup_app, start_hub, wait_until, workspace,
)

SANDBOX_RETRY_DELAYS = "0.3,0.6,1,2,3"  # the sandboxes' webhook retries, as in the end-to-end tests


def parse_args():
    parser = base_parser(__doc__)
    parser.add_argument("--embedded", action="store_true",
                        help="SQLite and Huey on SQLite instead of PostgreSQL and Redis")
    parser.add_argument("--trials", type=int, default=1000, help="worker processes killed (one kill per trial)")
    parser.add_argument("--candidates", type=int, default=None,
                        help="candidates moved into the Canditech stage, one per trial while any is left "
                             "(default: as many as --trials)")
    parser.add_argument("--processes", type=int, default=4, help="worker processes (hub worker --processes)")
    parser.add_argument("--worker-threads", type=int, default=2, help="threads per worker process")
    parser.add_argument("--pause-min", type=float, default=0.1,
                        help="shortest pause (seconds) from a replacement's start to the next kill, drawn "
                             "uniformly between this and --pause-max")
    parser.add_argument("--pause-max", type=float, default=0.6, help="longest such pause")
    parser.add_argument("--seed", type=int, default=1, help="seed of the pauses")
    parser.add_argument("--settle-timeout", type=float, default=900,
                        help="seconds to wait after the last kill for the work left")
    args = parser.parse_args()
    if args.trials < 1 or args.processes < 1 or not 0 <= args.pause_min <= args.pause_max:
        parser.error("--trials and --processes must be at least 1, and 0 <= --pause-min <= --pause-max")
    return args


def start_stack(space, args):
    """Sandboxes, ``hub run --no-worker``, the workspace connected; returns (setup app, env, sandbox URLs)."""
    from hub import services
    from hub.demo import connect_workspace, sandbox_specs
    from hub.runtime import get_runtime
    from tests.reliability.crash_driver import ENGINE_ENV

    production = not args.embedded
    port = free_port()
    config = hub_config(space, database_url(space, args, embedded=not production), "lever,canditech,vervoe",
                        PUBLIC_URL=f"http://127.0.0.1:{port}")
    if production:
        config["REDIS_URL"] = redis_url(space, args.redis_url, config["QUEUE_NAME"])
    app = setup_app(space, config)
    urls = {name: space.start_sandbox(spec.module, ["--retry-delays", SANDBOX_RETRY_DELAYS])
            for name, spec in sandbox_specs(get_runtime(app).registry).items()}
    env = hub_env(config, production=False, **ENGINE_ENV)
    start_hub(space, ["run", "--port", str(port), "--no-worker"], env, "hub.log")
    wait_until(lambda: answers_200(config["PUBLIC_URL"] + "/readyz"), 60, "the hub to answer /readyz")
    with app.app_context():
        connect_workspace(get_runtime(), 1, urls, actor="bench")
        services.save_settings(get_runtime(), 1, "lever", {"tag_results": False}, "bench")
    return app, env, urls


def main() -> None:
    args = parse_args()
    candidates = args.candidates if args.candidates is not None else args.trials
    began = time.monotonic()
    with workspace(args.keep) as space:
        from tests.reliability.crash_driver import Killer, Trials

        say(f"starting the sandboxes and the hub ({'SQLite' if args.embedded else 'PostgreSQL, Redis'})")
        app, env, urls = start_stack(space, args)
        trials = Trials(app, urls["lever"], urls["canditech"])
        say(f"creating {candidates} candidates")
        trials.prepare(candidates)
        log = space.logs / "workers.log"
        supervisor = start_hub(space, ["worker", "--processes", str(args.processes), "--workers",
                                       str(args.worker_threads)], env, "workers.log")
        killer = Killer(supervisor, log, args.processes, (args.pause_min, args.pause_max), seed=args.seed)
        killer.wait_ready()
        say(f"{args.trials} trials: a kill every {args.pause_min:g}-{args.pause_max:g} s after the last replacement "
            f"started, {args.processes} worker processes of {args.worker_threads} threads")

        def progress(kills: int) -> None:
            if kills % 100 == 0:
                say(f"  {kills} kills, {trials.moved} candidates moved")

        trials.run(killer, args.trials, progress)
        say(f"{killer.kills} kills in {trials.kill_seconds:.0f} s; waiting for the work left")
        try:
            trials.settle(args.settle_timeout)
        except AssertionError as exc:
            say(f"the work did not settle: {exc}")
        figures = trials.figures(killer)
        say(figures.summary())
    restarts_ms = [seconds * 1000 for seconds in figures.restarts]
    result_block("crash", {
        "backend": "sqlite" if args.embedded else "postgresql",
        "processes": args.processes,
        "worker_threads": args.worker_threads,
        "trials": args.trials,
        "kills": figures.kills,
        "candidates": figures.candidates,
        "resumed_after_created": figures.resumed_after_created,
        "resumed_deliveries": figures.resumed_deliveries,
        "invitations": figures.invitations,
        "notes": figures.notes,
        "duplicates": figures.duplicates,
        "lost": figures.lost,
        "open": figures.open,
        "completed_during_kills": figures.completed_during_kills,
        "restart_p50_ms": percentile(restarts_ms, 50),
        "restart_max_ms": max(restarts_ms, default=float("nan")),
        "kill_s": figures.kill_seconds,
        "settle_s": figures.settle_seconds,
        "wall_s": time.monotonic() - began,
    })
    if figures.duplicates or figures.lost or figures.open:
        sys.exit(1)


if __name__ == "__main__":
    main()
