"""Ingest benchmark: signed Lever webhooks vs a hello-world endpoint of the same app.

Both endpoints are served by the same gunicorn (``python -m gunicorn -c gunicorn.conf.py -w N --threads T
wsgi:app``, production configuration) and driven by the same wrk settings, in the same run:

1. ``GET /healthz`` (answers ``{"status": "ok"}``, touches nothing): the ceiling of this server,
   measured before and again after the webhooks; the higher rate counts (``healthz_rps``; both in
   ``healthz_rps_runs``), so a run where ``/healthz`` happened to be slow cannot flatter the ratio;
2. ``POST /webhooks/lever/<key>``: each request a distinct ``candidateStageChange`` signed the way
   Lever signs (HMAC-SHA256 of ``token + triggeredAt``), so every 2xx means an event and its
   delivery committed to the database. No worker runs: this measures ingest alone.

Then the ack latency (p50/p99) at half the measured webhook rate (and at other fractions of it with
``--latency-fractions``), with an open-loop generator: a fixed schedule, latency counted from each
request's scheduled time, so a slow answer cannot hide the ones queued behind it. The generator is
``bench/openloop.c`` (one epoll thread in C, built with the system's compiler at the start of the
run), which leaves the CPU to the hub; without a compiler, Python threads, which cost about 1 ms of
CPU per request on the machine the hub runs on (``--generator``). Durability: events in the
database vs 2xx answers. Memory: the peak RSS (VmHWM) of the gunicorn master and of each worker
over the whole run. CPU: the time the gunicorn workers (and, on PostgreSQL, the database's server
processes) spent per request during each wrk run, from /proc: a figure that other load on the
machine disturbs far less than rates.

With ``--rounds N`` steps 1-2 (and ``/healthz`` again) run N times; the round with the median ratio
(the lower middle one for an even N) gives the printed figures, ``ratio_runs`` lists every round's
ratio, and the latency run uses half that round's webhook rate. On a machine whose speed drifts,
one round can land anywhere in a wide range.

Targets (issue 7): webhook/healthz ratio >= 0.5, p99 ack latency <= 50 ms.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import http.client
import json
import math
import resource
import secrets
import shutil
import subprocess
import threading
import time
import uuid
from pathlib import Path

from common import (
    PeakRssSampler, base_parser, child_pids, count_rows, cpu_seconds, cpu_used, database_url, free_port,
    hub_config, hub_env, percentile, redis_url, result_block, say, setup_app, start_gunicorn, workspace,
)

SIGNATURE_TOKEN = "bench-signature-token-" + "0" * 16
LUA = Path(__file__).with_name("wrk_pool.lua")


def add_load_options(parser, duration: float, warmup: float) -> None:
    """wrk's and gunicorn's settings (shared with ``bench/ingest_floors.py``)."""
    parser.add_argument("--duration", type=float, default=duration, help="seconds of each wrk run")
    parser.add_argument("--warmup", type=float, default=warmup, help="seconds of wrk warm-up before each run")
    parser.add_argument("--threads", type=int, default=2, help="wrk -t")
    parser.add_argument("--connections", type=int, default=32, help="wrk -c")
    parser.add_argument("--gunicorn-workers", type=int, default=2, help="gunicorn -w")
    parser.add_argument("--gunicorn-threads", type=int, default=16, help="gunicorn --threads (gthread workers)")


def _fractions(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a comma-separated list of numbers") from None
    if not values or not all(0.01 <= v <= 1 for v in values):
        raise argparse.ArgumentTypeError("each fraction must be at least 0.01 and at most 1")
    return sorted({round(v, 2) for v in values})  # whole percents: each prints as latency_at_<percent>pct_*


def parse_args():
    parser = base_parser(__doc__)
    add_load_options(parser, duration=30, warmup=3)
    parser.add_argument("--latency-duration", type=float, default=20,
                        help="seconds of each open-loop latency run (at half the webhook rate, and at each --latency-fractions)")
    parser.add_argument("--latency-fractions", type=_fractions, default=[0.5],
                        help="comma-separated fractions of the measured webhook rate to measure the ack latency "
                             "at, each for --latency-duration seconds (0.5, the target's rate, is always measured; "
                             "others print latency_at_<percent>pct_*)")
    parser.add_argument("--generator", choices=("auto", "c", "python"), default="auto",
                        help="open-loop generator of the latency run: bench/openloop.c built with the system's "
                             "C compiler (c), Python threads (python), or c when a compiler is found (auto)")
    parser.add_argument("--clients", type=int, default=64, help="threads of the Python open-loop generator")
    parser.add_argument("--pool", type=int, default=0,
                        help="pre-signed bodies for the wrk run (0: sized from the /healthz rate)")
    parser.add_argument("--rounds", type=int, default=1,
                        help="measure the /healthz, webhooks, /healthz sequence this many times; the round with "
                             "the median ratio gives the figures, every round's ratio is in ratio_runs")
    parser.add_argument("--embedded", action="store_true",
                        help="SQLite database and SQLite queue instead of PostgreSQL and Redis")
    args = parser.parse_args()
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    return args


# --------------------------------------------------------------------------- setup


def prepare(space, args):
    """Database, setup app, Lever (manual signature token) and Canditech enabled; returns
    ``(app, config, webhook key)``."""
    from hub import services
    from hub.runtime import get_runtime

    config = hub_config(space, database_url(space, args, args.embedded), "lever,canditech")
    if not args.embedded:
        config["REDIS_URL"] = redis_url(space, args.redis_url, config["QUEUE_NAME"])
    app = setup_app(space, config)
    with app.app_context():
        runtime = get_runtime()
        key = services.set_enabled(runtime, 1, "lever", True, "bench").webhook_key
        services.set_enabled(runtime, 1, "canditech", True, "bench")
        services.save_settings(runtime, 1, "lever", {
            "environment": "custom", "base_url": "http://127.0.0.1:9", "auth_mode": "api_key",
            "api_key": "x", "signature_tokens": SIGNATURE_TOKEN}, "bench")
    return app, config, key


def signed_body(signature_token: str = SIGNATURE_TOKEN) -> str:
    """One ``candidateStageChange`` as Lever sends it (lever.md §1.3-§1.4), never sent before."""
    token = secrets.token_hex(24)
    triggered_at = int(time.time() * 1000)
    signature = hmac.new(signature_token.encode(), f"{token}{triggered_at}".encode(), hashlib.sha256).hexdigest()
    return json.dumps({
        "id": str(uuid.uuid4()), "event": "candidateStageChange", "triggeredAt": triggered_at,
        "signature": signature, "token": token,
        "data": {"opportunityId": str(uuid.uuid4()), "candidateId": str(uuid.uuid4()),
                 "contactId": str(uuid.uuid4()), "toStageId": "stage-canditech", "fromStageId": "stage-new"},
    }, separators=(",", ":"))


def write_pool(path: Path, count: int) -> Path:
    with open(path, "w") as handle:
        for _ in range(count):
            handle.write(signed_body() + "\n")
    return path


# --------------------------------------------------------------------------- load


def run_wrk(space, args, url: str, seconds: float, bodies: Path | None = None) -> dict:
    """One wrk run; returns the BENCH_JSON totals plus ``rps`` (answers per second)."""
    script_args = ["post", str(bodies), str(args.threads)] if bodies else ["get"]
    command = ["wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{max(1, round(seconds))}s",
               "--latency", "-s", str(LUA), url, "--", *script_args]
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    with open(space.logs / "wrk.log", "a") as log:
        log.write(" ".join(command) + "\n" + output + "\n")
    line = next(line for line in output.splitlines() if line.startswith("BENCH_JSON "))
    stats = json.loads(line.split(" ", 1)[1])
    stats["rps"] = stats["requests"] / (stats["duration_us"] / 1e6)
    return stats


OPENLOOP_C = Path(__file__).with_name("openloop.c")


def build_openloop(space) -> Path | None:
    """Compile ``bench/openloop.c`` with the system's C compiler into the workspace; None if
    there is no compiler or it fails (the Python generator is used then)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    binary = space.path / "openloop"
    built = subprocess.run([compiler, "-O2", "-o", str(binary), str(OPENLOOP_C)], capture_output=True, text=True)
    if built.returncode != 0:
        say(f"could not build {OPENLOOP_C.name} ({built.stderr.strip()[:200]}); using the Python generator")
        return None
    return binary


def open_loop_c(binary: Path, space, url: str, bodies: list[str], rate: float) -> dict:
    """``bench/openloop.c``: the same schedule and figures as ``open_loop``, from one epoll thread
    in C, so the generator takes little of the CPU it shares with the hub."""
    from urllib.parse import urlsplit

    target = urlsplit(url)
    source, answers = space.path / "openloop-bodies.txt", space.path / "openloop-out.txt"
    source.write_text("".join(body + "\n" for body in bodies))
    started, cpu_before = time.perf_counter(), _children_cpu()
    subprocess.run([str(binary), target.hostname, str(target.port), target.path, repr(float(rate)), str(source),
                    str(answers)], check=True)
    elapsed = time.perf_counter() - started - 0.2  # it starts its schedule 0.2 s after it starts
    rows = [line.split() for line in answers.read_text().splitlines()]
    return _loop_figures([int(row[0]) / 1e6 for row in rows], [int(row[1]) / 1e6 for row in rows],
                         [int(row[2]) for row in rows], elapsed, _children_cpu() - cpu_before)


def _children_cpu() -> float:
    """CPU seconds (user and system) of this process's finished children."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def open_loop(url: str, bodies: list[str], rate: float, clients: int) -> dict:
    """POST ``bodies`` at a fixed ``rate`` (request i is due at start + i/rate), each on a fresh
    connection (as a webhook sender opens them), from ``clients`` Python threads: client k sends
    requests k, k+clients, ... Latency = answer time - due time; ``lag`` = send time - due time
    (the generator's own delay). The fallback of ``open_loop_c``: it costs the machine far more
    CPU per request (``latency_generator_cpu_ms`` says how much)."""
    from urllib.parse import urlsplit

    target = urlsplit(url)
    count = len(bodies)
    latency = [0.0] * count
    lag = [0.0] * count
    status = [0] * count
    start, cpu_before = time.perf_counter() + 0.5, time.process_time()

    def client(k: int) -> None:
        for i in range(k, count, clients):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            sent = time.perf_counter()
            conn = http.client.HTTPConnection(target.hostname, target.port, timeout=30)
            try:
                conn.request("POST", target.path, body=bodies[i], headers={"Content-Type": "application/json"})
                answer = conn.getresponse()
                answer.read()
                status[i] = answer.status
            except OSError:
                status[i] = 0
            finally:
                conn.close()
            latency[i] = time.perf_counter() - due
            lag[i] = sent - due

    workers = [threading.Thread(target=client, args=(k,), daemon=True) for k in range(min(clients, count))]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return _loop_figures(latency, lag, status, time.perf_counter() - start, time.process_time() - cpu_before)


def _loop_figures(latency: list[float], lag: list[float], status: list[int], elapsed: float, cpu: float) -> dict:
    """What both generators return: per request latency and lag (seconds), 2xx and other answers
    (status 0: none), the run's length, and the generator's CPU per request (ms)."""
    return {"latency": latency, "lag": lag, "ok": sum(1 for s in status if 200 <= s < 300),
            "non2xx": sum(1 for s in status if not 200 <= s < 300), "elapsed": elapsed,
            "cpu_ms": 1000 * cpu / max(1, len(status))}


def latency_run(space, args, app, binary: Path | None, url: str, rate: float) -> tuple[dict, int, int]:
    """One open-loop run of ``--latency-duration`` seconds of fresh webhooks at ``rate``; returns
    the generator's figures, the number of requests, and the events committed meanwhile."""
    count = max(1, int(rate * args.latency_duration))
    say(f"open-loop latency: {count} fresh webhooks at {rate:.0f}/s")
    fresh = [signed_body() for _ in range(count)]
    before, _ = lever_events(app)
    loop = (open_loop_c(binary, space, url, fresh, rate) if binary is not None
            else open_loop(url, fresh, rate, args.clients))
    return loop, count, lever_events(app)[0] - before



# --------------------------------------------------------------------------- checks


def lever_events(app) -> tuple[int, int]:
    """(events from Lever, their deliveries) in the database."""
    from hub.store.models import Delivery, Event

    events = count_rows(app, Event, Event.source_plugin == "lever")
    deliveries = count_rows(app, Delivery, Delivery.hook == "on_stage_change")
    return events, deliveries


def settled_lever_events(app) -> tuple[int, int]:
    """``lever_events`` once requests still in flight (wrk stops without waiting for its
    outstanding answers) have finished: the count stays the same for a second."""
    previous = lever_events(app)
    while True:
        time.sleep(1.0)
        current = lever_events(app)
        if current == previous:
            return current
        previous = current


def postgres_backends(app) -> list[int]:
    """The server processes of the PostgreSQL database the hub uses (none on SQLite)."""
    import sqlalchemy as sa

    from hub.extensions import db

    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            return []
        pids = list(db.session.scalars(sa.text(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()")))
        db.session.rollback()
    return pids


class CpuMeter:
    """CPU seconds of the gunicorn workers and of the database's server processes over a window."""

    def __init__(self, app, master: int):
        self.app, self.master = app, master

    def snapshot(self) -> tuple[dict[int, float], dict[int, float]]:
        return cpu_seconds(child_pids(self.master)), cpu_seconds(postgres_backends(self.app))

    def per_request_ms(self, before, after, requests: int) -> tuple[float, float]:
        """(hub, database) CPU milliseconds per request between two snapshots."""
        count = max(1, requests)
        return (1000 * cpu_used(before[0], after[0]) / count, 1000 * cpu_used(before[1], after[1]) / count)


def rss_report(peaks: dict[int, int], master: int) -> dict:
    """Peak RSS of the gunicorn master, the largest worker, and the sum over all of them (MiB)."""
    for pid, kib in sorted(peaks.items()):
        say(f"  peak RSS {'master' if pid == master else 'worker'} {pid}: {kib / 1024:.1f} MiB")
    worker_peaks = [kib for pid, kib in peaks.items() if pid != master]
    return {
        "rss_peak_master_mib": peaks.get(master, 0) / 1024,
        "rss_peak_worker_max_mib": max(worker_peaks, default=0) / 1024,
        "rss_peak_sum_mib": sum(peaks.values()) / 1024,
        "rss_processes": len(peaks),
    }


def measure_round(space, args, app, meter: CpuMeter, base: str, webhook_url: str, number: int) -> dict:
    """One round: wrk on /healthz, on fresh signed webhooks, on /healthz again. The round's ratio
    uses the higher of its two /healthz rates."""
    if args.rounds > 1:
        say(f"round {number} of {args.rounds}")
    say(f"GET /healthz: wrk -t{args.threads} -c{args.connections} for {args.duration:g}s")
    run_wrk(space, args, base + "/healthz", args.warmup)
    before = meter.snapshot()
    health = run_wrk(space, args, base + "/healthz", args.duration)
    health_cpu = meter.per_request_ms(before, meter.snapshot(), health["requests"])
    say(f"  {health['rps']:.0f} req/s, p99 {health['latency_us']['p99'] / 1000:.1f} ms; "
        f"hub CPU {health_cpu[0]:.3f} ms per request")

    pool_size = args.pool or int(math.ceil(health["rps"] * args.duration * 1.3)) + 1000
    say(f"pre-signing {pool_size} webhook bodies")
    warm_pool = write_pool(space.path / f"warmup-{number}.jsonl", int(health["rps"] * args.warmup * 1.3) + 200)
    pool = write_pool(space.path / f"bodies-{number}.jsonl", pool_size)
    run_wrk(space, args, webhook_url, args.warmup, warm_pool)
    events_before, deliveries_before = settled_lever_events(app)

    say(f"POST /webhooks/lever/<key>: same wrk settings for {args.duration:g}s")
    before = meter.snapshot()
    hooks = run_wrk(space, args, webhook_url, args.duration, pool)
    hook_cpu = meter.per_request_ms(before, meter.snapshot(), hooks["requests"])
    events_after, deliveries_after = settled_lever_events(app)
    events = events_after - events_before
    deliveries = deliveries_after - deliveries_before
    say(f"  {hooks['rps']:.0f} req/s, p99 {hooks['latency_us']['p99'] / 1000:.1f} ms; "
        f"{hooks['ok']} answered 2xx, {events} events and {deliveries} deliveries committed")
    say(f"  CPU per webhook: hub {hook_cpu[0]:.3f} ms, database {hook_cpu[1]:.3f} ms")
    if hooks["wrapped"]:
        say(f"  WARNING: the pool ran out ({hooks['wrapped']} wraps); rerun with --pool larger than "
            f"{hooks['sent']}")

    # /healthz again: a rate that drifted (another load on the machine, a slow start) must not
    # flatter the ratio; the ratio uses the higher of the two /healthz rates
    before = meter.snapshot()
    health_after = run_wrk(space, args, base + "/healthz", args.duration)
    health_after_cpu = meter.per_request_ms(before, meter.snapshot(), health_after["requests"])
    say(f"GET /healthz again: {health_after['rps']:.0f} req/s; hub CPU {health_after_cpu[0]:.3f} ms per request")
    health_runs = [(health, health_cpu), (health_after, health_after_cpu)]
    health, health_cpu = max(health_runs, key=lambda run: run[0]["rps"])
    return {"health": health, "health_cpu": health_cpu, "hooks": hooks, "hook_cpu": hook_cpu,
            "health_runs": health_runs, "events": events, "deliveries": deliveries,
            "ratio": hooks["rps"] / health["rps"] if health["rps"] else float("nan")}


# --------------------------------------------------------------------------- main


def require_wrk() -> None:
    """Stop with a clear message, before any setup, when the load generator is missing."""
    if shutil.which("wrk") is None:
        raise SystemExit("bench/ingest.py needs wrk (the HTTP load generator) on the PATH: "
                         "apt-get install wrk (docs/performance.md, Before you run them)")


def main() -> None:
    args = parse_args()
    require_wrk()
    with workspace(args.keep) as space:
        say("preparing the database and the hub's settings")
        app, config, key = prepare(space, args)
        port = free_port()
        env = hub_env(config, production=not args.embedded)
        say(f"starting gunicorn -w {args.gunicorn_workers} on port {port}")
        master = start_gunicorn(space, env, port, args.gunicorn_workers, args.gunicorn_threads)
        sampler = PeakRssSampler(master.pid).start()
        base = f"http://127.0.0.1:{port}"
        webhook_url = f"{base}/webhooks/lever/{key}"

        meter = CpuMeter(app, master.pid)
        rounds = [measure_round(space, args, app, meter, base, webhook_url, n) for n in range(1, args.rounds + 1)]
        chosen = sorted(rounds, key=lambda r: r["ratio"])[(len(rounds) - 1) // 2]  # the median round
        health, health_cpu, hooks, hook_cpu = chosen["health"], chosen["health_cpu"], chosen["hooks"], chosen["hook_cpu"]
        health_runs = chosen["health_runs"]
        events = sum(r["events"] for r in rounds)
        deliveries = sum(r["deliveries"] for r in rounds)
        answered = sum(r["hooks"]["ok"] for r in rounds)

        binary = build_openloop(space) if args.generator != "python" else None
        if binary is None and args.generator == "c":
            raise SystemExit("--generator c: bench/openloop.c could not be built (no C compiler?)")
        other_rates = {}
        for fraction in sorted(set(args.latency_fractions) - {0.5}):
            other_rates[fraction] = latency_run(space, args, app, binary, webhook_url, hooks["rps"] * fraction)
        rate = hooks["rps"] / 2
        loop, count, loop_events = latency_run(space, args, app, binary, webhook_url, rate)
        peaks = sampler.stop()

        ms = [v * 1000 for v in loop["latency"]]
        lag_ms = [v * 1000 for v in loop["lag"]]
        results = {
            "topology": "embedded-sqlite" if args.embedded else "postgresql+redis",
            "gunicorn_workers": args.gunicorn_workers,
            "gunicorn_threads": args.gunicorn_threads,
            "wrk_threads": args.threads,
            "wrk_connections": args.connections,
            "wrk_duration_s": max(1, round(args.duration)),
            "healthz_rps": health["rps"],
            "healthz_rps_runs": ",".join(f"{run['rps']:.0f}" for run, _ in health_runs),
            "rounds": args.rounds,
            **({"ratio_runs": ",".join(f"{r['ratio']:.3f}" for r in rounds)} if args.rounds > 1 else {}),
            "webhook_rps": hooks["rps"],
            "ratio": hooks["rps"] / health["rps"] if health["rps"] else float("nan"),
            "ratio_target": ">=0.5",
            "webhook_2xx": answered,
            "webhook_non2xx": sum(r["hooks"]["non2xx"] + sum(r["hooks"]["errors"].values()) for r in rounds),
            "events_committed": events,
            "deliveries_committed": deliveries,
            "durable": "yes" if all(r["events"] >= r["hooks"]["ok"] for r in rounds) and deliveries == events else "NO",
            "events_minus_2xx": events - answered,
            "pool_wrapped": sum(r["hooks"]["wrapped"] for r in rounds),
            "webhook_wrk_p99_ms": hooks["latency_us"]["p99"] / 1000,
            "healthz_hub_cpu_ms": health_cpu[0],
            "webhook_hub_cpu_ms": hook_cpu[0],
            "webhook_db_cpu_ms": hook_cpu[1],
            "cpu_ratio": ((health_cpu[0] + health_cpu[1]) / (hook_cpu[0] + hook_cpu[1])
                          if hook_cpu[0] + hook_cpu[1] else float("nan")),
            "latency_generator": "c" if binary is not None else "python",
            "latency_generator_cpu_ms": loop["cpu_ms"],
            "latency_rate_rps": rate,
            "latency_requests": count,
            "latency_achieved_rps": count / loop["elapsed"] if loop["elapsed"] else float("nan"),
            "latency_p50_ms": percentile(ms, 50),
            "latency_p99_ms": percentile(ms, 99),
            "latency_max_ms": max(ms),
            "latency_p99_target": "<=50ms",
            "latency_2xx": loop["ok"],
            "latency_non2xx": loop["non2xx"],
            "latency_events_committed": loop_events,
            "generator_lag_p99_ms": percentile(lag_ms, 99),
            **{f"latency_at_{round(fraction * 100)}pct_{name}": value
               for fraction, (other, other_count, _) in other_rates.items()
               for name, value in (("rate_rps", other_count / args.latency_duration),
                                   ("p50_ms", percentile([v * 1000 for v in other["latency"]], 50)),
                                   ("p99_ms", percentile([v * 1000 for v in other["latency"]], 99)),
                                   ("generator_lag_p99_ms", percentile([v * 1000 for v in other["lag"]], 99)))},
            **rss_report(peaks, master.pid),
        }
        result_block("ingest", results)


if __name__ == "__main__":
    main()
