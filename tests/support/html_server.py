"""A web server that is not the vendor: a 404 HTML page for every GET, as a wrong base URL meets."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

HTML_404 = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>404 Not Found</title></head>'
            '<body><h1>Not Found</h1><p>The requested URL was not found on the server.</p></body></html>')


class _Html404(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        body = HTML_404.encode()
        self.send_response(404)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def html_404_server() -> Iterator[str]:
    """Serve the page on a free loopback port; yields the server's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Html404)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
