"""bench/openloop.c, the latency benchmark's load generator: its figures are what the docs quote,
so check that it spreads requests over its schedule, times each answer, and reads statuses (no
timing asserted of the hub: the server here is a stand-in with known delays; the only timing
asserted of the generator is a lower bound, which a slow machine cannot break)."""

import shutil
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

SOURCE = Path(__file__).resolve().parents[1] / "bench" / "openloop.c"
SLOW_SECONDS = 0.4


class StandIn(BaseHTTPRequestHandler):
    """201 for a body "ok", 503 for "fail", 201 after ``SLOW_SECONDS`` for "slow"."""

    def do_POST(self):  # noqa: N802 - the name http.server calls
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        if body == "slow":
            threading.Event().wait(SLOW_SECONDS)
        status = 503 if body == "fail" else 201
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def openloop(tmp_path_factory) -> Path:
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "a C compiler is part of every machine this project runs on"
    binary = tmp_path_factory.mktemp("openloop") / "openloop"
    subprocess.run([compiler, "-O2", "-Wall", "-Werror", "-o", str(binary), str(SOURCE)], check=True)
    return binary


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), StandIn)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


def run(openloop: Path, tmp_path: Path, port: int, bodies: list[str], rate: float) -> list[tuple[float, float, int]]:
    source, out = tmp_path / "bodies.txt", tmp_path / "out.txt"
    source.write_text("".join(body + "\n" for body in bodies))
    started = time.monotonic()
    subprocess.run([str(openloop), "127.0.0.1", str(port), "/hook", str(rate), str(source), str(out)],
                   check=True, timeout=60)
    # the last request is due (n - 1) / rate after the first: a generator that sent them all at
    # once, whatever it wrote about them, would finish sooner
    assert time.monotonic() - started >= (len(bodies) - 1) / rate
    rows = [line.split() for line in out.read_text().splitlines()]
    return [(int(latency) / 1e6, int(lag) / 1e6, int(status)) for latency, lag, status in rows]


def test_every_request_is_answered_and_its_status_read(openloop, tmp_path, server):
    bodies = ["ok"] * 30 + ["fail"]
    rows = run(openloop, tmp_path, server.server_address[1], bodies, rate=200)
    assert [status for _, _, status in rows] == [201] * 30 + [503]
    assert all(latency > 0 for latency, _, _ in rows)


def test_a_slow_answer_is_timed_and_holds_back_no_later_request(openloop, tmp_path, server):
    bodies = ["slow"] + ["ok"] * 19  # due every 10 ms: all are due while the first is answered
    rows = run(openloop, tmp_path, server.server_address[1], bodies, rate=100)
    slow_latency = rows[0][0]
    assert slow_latency >= SLOW_SECONDS
    # open loop: the later requests went out on time and were answered before the slow one
    assert max(lag for _, lag, _ in rows[1:]) < SLOW_SECONDS / 2
    assert sum(1 for latency, _, _ in rows[1:] if latency < slow_latency) == 19


def test_a_refused_connection_counts_as_no_answer(openloop, tmp_path, server):
    port = server.server_address[1]
    server.shutdown()
    server.server_close()  # nothing listens on the port any more
    rows = run(openloop, tmp_path, port, ["ok"] * 3, rate=100)
    assert [status for _, _, status in rows] == [0, 0, 0]
