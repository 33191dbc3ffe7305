"""Serving the Lever sandbox over real HTTP on loopback (with the sandbox kit's
``hub.kit.sandbox.server``).

Contract: ``serve_in_thread(config=None, host="127.0.0.1", port=0)`` builds an app, binds a
werkzeug server (threaded; port 0 picks a free port), serves it from a daemon thread and returns
``(base_url, stop)``. The socket is listening when the call returns; ``quiet=True`` (keyword,
default) drops werkzeug's access log. ``stop()`` shuts the server down, closes its socket and
stops the webhook sender; calling it again does nothing. ``run(host, port, config)`` serves in the
foreground and prints exactly one line ``LEVER_SANDBOX_URL=http://<host>:<port>`` to stdout once
listening; it returns the exit status (2 with ``error: ...`` on stderr for a bad ``config``).
"""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask

from hub.kit.sandbox import server

from .app import create_sandbox_app
from .context import EXTENSION_KEY


def _close(app: Flask) -> None:
    app.extensions[EXTENSION_KEY].close()


def serve_in_thread(config: dict | None = None, host: str = "127.0.0.1", port: int = 0,
                    *, quiet: bool = True) -> tuple[str, Callable[[], None]]:
    """Serve a fresh sandbox in a daemon thread; returns ``(base_url, stop)``.

    ``quiet`` (default True) drops werkzeug's access log lines.
    """
    return server.serve_in_thread(create_sandbox_app(config), host, port, name="lever-sandbox", on_stop=_close,
                                  quiet=quiet)


def run(host: str = "127.0.0.1", port: int = 0, config: dict | None = None) -> int:
    """Serve in the foreground until interrupted."""
    return server.serve_forever(lambda: create_sandbox_app(config), host, port, announce="LEVER_SANDBOX_URL",
                                on_stop=_close)
