"""Ingest floors: how far each step of a webhook's path takes the webhook/healthz ratio.

``bench/ingest.py`` compares durable webhooks with ``GET /healthz`` under the same gunicorn. This
script runs the same comparison with the ingress cut short at each step (``bench/floor_wsgi.py``
patches the app; ``BENCH_FLOOR``), one gunicorn per floor, so the ratio each step leaves is
measured rather than guessed:

- ``body``: routed, body read, answered (what any JSON POST costs in this app);
- ``verify``: + the integration found, the Lever plugin's verification and parsing, metrics and
  the JSON answer (a stand-in store answers "accepted");
- ``handoff``: + the group commit's hand-off between request threads (tickets, leaders, a
  batch's app context and session), with a handler that stores nothing;
- ``full``: the hub as it is: events, deliveries, dedupe keys and log lines committed to
  PostgreSQL, workers woken through Redis.

For each floor: wrk on ``/healthz``, on the webhook URL (fresh pre-signed Lever webhooks, as
``bench/ingest.py``), and on ``/healthz`` again (the higher ``/healthz`` rate counts). CPU per
request of the gunicorn workers (and, for ``full``, of PostgreSQL) from ``/proc``. With
``--rounds N`` the floors run N times, interleaved, and the medians are printed. The figures
that matter are the ratios and CPU milliseconds per request, compared within a run: the machine's
speed drifts between runs.
"""

from __future__ import annotations

import math
import statistics

from common import (
    base_parser, free_port, hub_env, result_block, say, start_gunicorn, workspace,
)
from ingest import CpuMeter, add_load_options, prepare, require_wrk, run_wrk, write_pool

FLOORS = ("body", "verify", "handoff", "full")


def parse_args():
    parser = base_parser(__doc__)
    add_load_options(parser, duration=15, warmup=2)
    parser.add_argument("--floors", default=",".join(FLOORS), help="comma-separated floors to measure, in order")
    parser.add_argument("--rounds", type=int, default=1, help="times each floor is measured (interleaved)")
    args = parser.parse_args()
    args.embedded = False  # prepare() reads it: PostgreSQL and Redis, as in production
    args.floors = [f.strip() for f in args.floors.split(",") if f.strip()]
    unknown = [f for f in args.floors if f not in FLOORS]
    if unknown or not args.floors:
        parser.error(f"--floors takes some of {', '.join(FLOORS)}; unknown: {', '.join(unknown) or '(none given)'}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


def measure(space, args, app, config, key: str, floor: str) -> dict:
    """One gunicorn serving ``floor``: /healthz, webhooks, /healthz again."""
    port = free_port()
    env = hub_env(config, production=True, BENCH_FLOOR=floor)
    master = start_gunicorn(space, env, port, args.gunicorn_workers, args.gunicorn_threads,
                            app="bench.floor_wsgi:app")
    try:
        base = f"http://127.0.0.1:{port}"
        meter = CpuMeter(app, master.pid)

        def healthz() -> tuple[dict, tuple[float, float]]:
            before = meter.snapshot()
            stats = run_wrk(space, args, base + "/healthz", args.duration)
            return stats, meter.per_request_ms(before, meter.snapshot(), stats["requests"])

        run_wrk(space, args, base + "/healthz", args.warmup)
        first = healthz()
        url = f"{base}/webhooks/lever/{key}"
        run_wrk(space, args, url, args.warmup,
                write_pool(space.path / f"warmup-{floor}.jsonl", int(first[0]["rps"] * args.warmup * 1.3) + 200))
        pool = write_pool(space.path / f"bodies-{floor}.jsonl",
                          int(math.ceil(first[0]["rps"] * args.duration * 1.3)) + 1000)
        before = meter.snapshot()
        hooks = run_wrk(space, args, url, args.duration, pool)
        hook_cpu = meter.per_request_ms(before, meter.snapshot(), hooks["requests"])
        second = healthz()
    finally:
        space.stop_processes([master])
    health, health_cpu = max((first, second), key=lambda run: run[0]["rps"])
    figures = {
        "healthz_rps": health["rps"], "webhook_rps": hooks["rps"], "ratio": hooks["rps"] / health["rps"],
        "healthz_hub_cpu_ms": health_cpu[0], "webhook_hub_cpu_ms": hook_cpu[0], "webhook_db_cpu_ms": hook_cpu[1],
        "cpu_ratio": (health_cpu[0] + health_cpu[1]) / (hook_cpu[0] + hook_cpu[1]),
        "webhook_non2xx": hooks["non2xx"] + sum(hooks["errors"].values()), "pool_wrapped": hooks["wrapped"],
    }
    say(f"  {floor}: /healthz {health['rps']:.0f}/s, webhooks {hooks['rps']:.0f}/s, ratio {figures['ratio']:.3f}; "
        f"hub CPU {health_cpu[0]:.3f} / {hook_cpu[0]:.3f} ms per request (database {hook_cpu[1]:.3f}), "
        f"cpu ratio {figures['cpu_ratio']:.3f}, {figures['webhook_non2xx']} non-2xx")
    return figures


def main() -> None:
    args = parse_args()
    require_wrk()
    with workspace(args.keep) as space:
        say("preparing the database and the hub's settings")
        app, config, key = prepare(space, args)
        runs: dict[str, list[dict]] = {floor: [] for floor in args.floors}
        for round_number in range(1, args.rounds + 1):
            say(f"round {round_number} of {args.rounds}: wrk -t{args.threads} -c{args.connections} "
                f"for {args.duration:g}s per run, gunicorn -w {args.gunicorn_workers} --threads {args.gunicorn_threads}")
            for floor in args.floors:
                runs[floor].append(measure(space, args, app, config, key, floor))
        results: dict = {"gunicorn_workers": args.gunicorn_workers, "gunicorn_threads": args.gunicorn_threads,
                         "wrk_connections": args.connections, "wrk_duration_s": max(1, round(args.duration)),
                         "rounds": args.rounds}
        for floor, figures in runs.items():
            for name in figures[0]:
                values = [f[name] for f in figures]
                results[f"{floor}_{name}"] = statistics.median(values)
            if args.rounds > 1:
                results[f"{floor}_ratio_runs"] = ",".join(f"{f['ratio']:.3f}" for f in figures)
        result_block("ingest_floors", results)


if __name__ == "__main__":
    main()
