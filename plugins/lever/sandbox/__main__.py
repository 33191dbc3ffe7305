"""Command line: ``python -m plugins.lever.sandbox --host 127.0.0.1 --port 0``.

Contract (``hub.kit.sandbox.server.serve_forever``): serves the sandbox with werkzeug (threaded)
and prints exactly one stdout line, ``LEVER_SANDBOX_URL=http://<host>:<port>``, once listening
(port 0 picks a free port); logs go to stderr. SIGTERM and Ctrl-C stop it cleanly.
"""

from __future__ import annotations

import argparse
import sys

from hub.kit.sandbox import server

from .server import run


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = server.command_line(
        "python -m plugins.lever.sandbox",
        "Lever API simulator (Data API /v1, OAuth, signed webhooks, control API /_sandbox, HTML UI).")
    parser.add_argument("--public-url", help="base URL for urls.show links and the OAuth audience "
                                             "(default: derived from each request)")
    parser.add_argument("--api-key", action="append", dest="api_keys", metavar="KEY",
                        help="accepted API key (repeatable; default lever-sandbox-key)")
    parser.add_argument("--retry-delays", metavar="S,S,...",
                        help="seconds between webhook retries (default 1,5,30,120,600)")
    parser.add_argument("--rate-limit", type=float, metavar="PER_SECOND",
                        help="steady requests/second per credential (default 10)")
    parser.add_argument("--burst", type=int, help="token bucket size (default 20)")
    return parser.parse_args(argv)


def config_from_args(args: argparse.Namespace) -> dict:
    config: dict = {}
    if args.public_url:
        config["PUBLIC_URL"] = args.public_url
    if args.api_keys:
        config["API_KEYS"] = args.api_keys
    if args.retry_delays:
        config["WEBHOOK_RETRY_DELAYS"] = [float(s) for s in args.retry_delays.split(",") if s]
    if args.rate_limit:
        config["RATE_LIMIT_PER_SECOND"] = args.rate_limit
    if args.burst:
        config["RATE_LIMIT_BURST"] = args.burst
    return config


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    return run(args.host, args.port, config_from_args(args))


if __name__ == "__main__":
    sys.exit(main())
