"""Run the Canditech sandbox: ``python -m plugins.canditech.sandbox [--host H] [--port P] ...``.

Contract (``hub.kit.sandbox.server.serve_forever``): serves with werkzeug (threaded) and, once
listening, prints exactly one line ``CANDITECH_SANDBOX_URL=http://<host>:<port>`` to stdout
(flushed); ``--port 0`` picks a free port. Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import sys

from hub.kit.sandbox import server

from .app import create_sandbox_app, stop_webhooks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server.command_line("python -m plugins.canditech.sandbox",
                                 "Canditech API simulator (sandbox) for tests, benchmarks and demos.")
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
    return server.serve_forever(lambda: create_sandbox_app(config_from_args(args)), args.host, args.port,
                                announce="CANDITECH_SANDBOX_URL", on_stop=stop_webhooks)


if __name__ == "__main__":
    sys.exit(main())
