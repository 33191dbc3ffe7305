"""Run the Vervoe sandbox: ``python -m plugins.vervoe.sandbox [--host H] [--port P] ...``.

Serves with werkzeug (threaded) and, once listening, prints exactly one line
``VERVOE_SANDBOX_URL=http://<host>:<port>`` to stdout (flushed); ``--port 0`` picks a free port.
Stops on SIGINT/SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys

from werkzeug.serving import make_server

from .app import create_sandbox_app, url_host
from .runtime import EXTENSION_KEY


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m plugins.vervoe.sandbox",
                                     description="Vervoe API simulator (sandbox) for tests, benchmarks and demos.")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
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
    try:
        app = create_sandbox_app(config_from_args(args))
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = make_server(args.host, args.port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"VERVOE_SANDBOX_URL=http://{url_host(args.host)}:{server.server_port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        app.extensions[EXTENSION_KEY].dispatcher.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
