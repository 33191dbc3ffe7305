"""Run the Vervoe sandbox: ``python -m plugins.vervoe.sandbox [--host H] [--port P] ...``.

Contract (``hub.kit.sandbox.server.serve_forever``): serves with werkzeug (threaded) and, once
listening, prints exactly one line ``VERVOE_SANDBOX_URL=http://<host>:<port>`` to stdout
(flushed); ``--port 0`` picks a free port. Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import sys

from hub.kit.sandbox import server

from .app import create_sandbox_app, stop_webhooks


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server.command_line("python -m plugins.vervoe.sandbox",
                                 "Vervoe API simulator (sandbox) for tests, benchmarks and demos.")
    parser.add_argument("--webhook-url", help="where report webhooks go (Vervoe's dashboard setting)")
    parser.add_argument("--webhook-secret", help="HMAC secret of the Vervoe-Signature header")
    parser.add_argument("--public-url", help="base URL of candidate and card links")
    parser.add_argument("--retry-delays", help="comma-separated webhook retry delays in seconds")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> dict:
    config: dict = {}
    if args.webhook_url:
        config["WEBHOOK_URL"] = args.webhook_url
    if args.webhook_secret:
        config["WEBHOOK_SECRET"] = args.webhook_secret
    if args.public_url:
        config["PUBLIC_URL"] = args.public_url
    if args.retry_delays:
        try:
            config["WEBHOOK_RETRY_DELAYS"] = [float(d) for d in args.retry_delays.split(",") if d.strip()]
        except ValueError:
            raise ValueError("--retry-delays: comma-separated numbers of seconds") from None
    return config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return server.serve_forever(lambda: create_sandbox_app(config_from_args(args)), args.host, args.port,
                                announce="VERVOE_SANDBOX_URL", on_stop=stop_webhooks)


if __name__ == "__main__":
    sys.exit(main())
