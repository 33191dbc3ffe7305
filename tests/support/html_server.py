"""A web server that is not the vendor: an HTML error page for every GET, as a wrong base URL (or a
proxy in front of the API) meets."""

from __future__ import annotations

import contextlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

HTML_404 = ('<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>404 Not Found</title></head>'
            '<body><h1>Not Found</h1><p>The requested URL was not found on the server.</p></body></html>')


def _handler(status: int, page: str) -> type[BaseHTTPRequestHandler]:
    class HtmlPage(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            body = page.encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    return HtmlPage


@contextlib.contextmanager
def html_error_server(status: int = 404, page: str = HTML_404) -> Iterator[str]:
    """Serve ``page`` with ``status`` on a free loopback port; yields the server's base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(status, page))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def html_404_server() -> contextlib.AbstractContextManager[str]:
    """The 404 page of a web server at a wrong base URL."""
    return html_error_server(404, HTML_404)
