"""`hub demo` stopped and started again at once kept none of its ports: the connections the browser
had open leave the hub's port in TIME_WAIT for a minute, and the demo's probe (unlike the server,
which reuses addresses) took that for busy, so the hub, and every sandbox after it, moved to random
ports (an admin walk: http://127.0.0.1:5680 became :50765, the bookmarks and the Lever base URL
with it)."""

from __future__ import annotations

import socket

from hub.cli.demo import _port


def _time_wait_port() -> int:
    """A port whose listener (reusing addresses, as werkzeug's server does) is closed, with a
    connection it accepted closed from its side first (that side keeps the port in TIME_WAIT)."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = listener.accept()
    accepted.close()  # the server's side closes first: TIME_WAIT on 127.0.0.1:port
    client.recv(1)  # the FIN
    client.close()
    listener.close()
    return port


def test_a_port_left_in_time_wait_is_the_demos_again():
    port = _time_wait_port()
    assert _port("127.0.0.1", port) == port


def test_a_port_someone_listens_on_is_still_replaced():
    with socket.socket() as other:
        other.bind(("127.0.0.1", 0))
        other.listen()
        taken = other.getsockname()[1]
        assert _port("127.0.0.1", taken) != taken
