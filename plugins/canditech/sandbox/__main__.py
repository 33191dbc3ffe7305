"""Run the Canditech sandbox: ``python -m plugins.canditech.sandbox [--host H] [--port P] ...``.

Contract: serves with werkzeug (threaded) and, once listening, prints exactly one line
``CANDITECH_SANDBOX_URL=http://<host>:<port>`` to stdout (flushed); ``--port 0`` picks a free
port. Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys

from werkzeug.serving import make_server

from .app import url_host, create_sandbox_app


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m plugins.canditech.sandbox",
        description="Canditech API simulator (sandbox) for tests, benchmarks and demos.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    parser.add_argument("--webhook-url", help="where webhooks go when an invitation has no "
                        "callback_url")
    parser.add_argument("--webhook-secret", help="HMAC secret of the Canditech-Signature header")
    parser.add_argument("--api-key", action="append", dest="api_keys",
                        help="accepted API key (repeatable; default canditech-sandbox-key)")
    parser.add_argument("--public-url", help="base URL of invite and report links")
    parser.add_argument("--retry-delays", help="comma-separated webhook retry delays in seconds")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> dict:
    config: dict = {}
    if args.webhook_url:
        config["WEBHOOK_URL"] = args.webhook_url
    if args.webhook_secret:
        config["WEBHOOK_SECRET"] = args.webhook_secret
    if args.api_keys:
        config["API_KEYS"] = args.api_keys
    if args.public_url:
        config["PUBLIC_URL"] = args.public_url
    if args.retry_delays:
        config["WEBHOOK_RETRY_DELAYS"] = [float(d) for d in args.retry_delays.split(",") if d]
    return config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        app = create_sandbox_app(config_from_args(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"CANDITECH_SANDBOX_URL=http://{url_host(args.host)}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
