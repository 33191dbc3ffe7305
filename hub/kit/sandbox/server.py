"""Serving a vendor sandbox over real HTTP: in a thread (tests, ``hub demo``) or as the program
``python -m <plugin>.sandbox`` (the ``register_sandbox`` contract of docs/plugin-guide.md).

Contract:

* ``url_host(host)`` -> the host as it goes in a URL (an IPv6 address in brackets).
* ``serve_in_thread(app, host="127.0.0.1", port=0, *, name="sandbox", on_stop=None, quiet=False)``
  -> ``(base_url, stop)``: serves ``app`` with werkzeug (threaded; port 0 picks a free port) from
  a daemon thread; the socket is listening when it returns. ``stop()`` shuts the server down,
  closes its socket, then calls ``on_stop(app)`` (stop the sandbox's webhook sender there);
  calling it again does nothing. ``stop.app`` is the Flask app, for in-process inspection.
  ``quiet`` drops werkzeug's access log lines.
* ``command_line(prog, description)`` -> an ``argparse.ArgumentParser`` with ``--host`` (default
  127.0.0.1) and ``--port`` (default 0); the sandbox adds its own options.
* ``serve_forever(create_app, host, port, *, announce, on_stop=None) -> exit status``: builds the
  app with ``create_app()`` (a ``ValueError``, e.g. a bad option, prints ``error: ...`` to stderr
  and returns 2), serves it in the foreground, prints exactly one stdout line
  ``<announce>=http://<host>:<port>`` (flushed) once listening, and returns 0 after SIGINT or
  SIGTERM, once the socket is closed and ``on_stop(app)`` ran.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import Callable

from flask import Flask
from werkzeug.serving import WSGIRequestHandler, make_server

POLL_INTERVAL = 0.05  # how soon a stopped server notices


class QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's handler without the per-request access log line."""

    def log_request(self, code="-", size="-") -> None:
        pass


def url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0, *, name: str = "sandbox",
                    on_stop: Callable[[Flask], None] | None = None,
                    quiet: bool = False) -> tuple[str, Callable[[], None]]:
    """Serve ``app`` in a daemon thread; returns its base URL and a stop function (see above)."""
    server = make_server(host, port, app, threaded=True, request_handler=QuietRequestHandler if quiet else None)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                              name=f"{name}-http", daemon=True)
    thread.start()
    base_url = f"http://{url_host(host)}:{server.server_port}"
    stopped = threading.Event()

    def stop() -> None:
        if stopped.is_set():
            return
        stopped.set()
        server.shutdown()
        server.server_close()
        if on_stop is not None:
            on_stop(app)
        thread.join(5)

    stop.app = app  # type: ignore[attr-defined]
    return base_url, stop


def command_line(prog: str, description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port to bind; 0 picks a free one")
    return parser


def serve_forever(create_app: Callable[[], Flask], host: str, port: int, *, announce: str,
                  on_stop: Callable[[Flask], None] | None = None) -> int:
    """Serve in the foreground until SIGINT or SIGTERM (see above)."""
    try:
        app = create_app()
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = make_server(host, port, app, threaded=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"{announce}=http://{url_host(host)}:{server.server_port}", flush=True)
    try:
        server.serve_forever()  # stopped by a signal, not by shutdown(): no need to poll often
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        if on_stop is not None:
            on_stop(app)
    return 0
