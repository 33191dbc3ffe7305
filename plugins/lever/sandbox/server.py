"""Serving the Lever sandbox over real HTTP on loopback.

Contract: ``serve_in_thread(config=None, host="127.0.0.1", port=0)`` builds an app, binds a
werkzeug server (``make_server(..., threaded=True)``; port 0 picks a free port), serves it from a
daemon thread and returns ``(base_url, stop)``. The socket is listening when the call returns;
``quiet=True`` (keyword, default) drops werkzeug's access log.
``stop()`` shuts the server down, closes its socket and stops the webhook sender; calling it
again does nothing. ``run(host, port, config)`` serves in the foreground and prints exactly one
line ``LEVER_SANDBOX_URL=http://<host>:<port>`` to stdout once listening.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from .app import create_sandbox_app
from .context import EXTENSION_KEY


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line."""

    def log_request(self, code="-", size="-") -> None:
        pass


def _bind(config: dict | None, host: str, port: int,
          quiet: bool = False) -> tuple[BaseWSGIServer, str]:
    app = create_sandbox_app(config)
    handler = QuietRequestHandler if quiet else None
    server = make_server(host, port, app, threaded=True, request_handler=handler)
    return server, f"http://{host}:{server.server_port}"


def serve_in_thread(config: dict | None = None, host: str = "127.0.0.1", port: int = 0,
                    *, quiet: bool = True) -> tuple[str, Callable[[], None]]:
    """Serve a fresh sandbox in a daemon thread; returns ``(base_url, stop)``.

    ``quiet`` (default True) drops werkzeug's access log lines.
    """
    server, base_url = _bind(config, host, port, quiet)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name=f"lever-sandbox-{base_url}", daemon=True)
    thread.start()
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        server.app.extensions[EXTENSION_KEY].close()

    return base_url, stop


def run(host: str = "127.0.0.1", port: int = 0, config: dict | None = None) -> None:
    """Serve in the foreground until interrupted."""
    server, base_url = _bind(config, host, port)
    print(f"LEVER_SANDBOX_URL={base_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
        server.app.extensions[EXTENSION_KEY].close()
        sys.stdout.flush()
