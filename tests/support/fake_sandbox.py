"""A minimal "vendor sandbox" for the sandbox hooks' tests: a Flask app served in a thread."""

from __future__ import annotations

import threading

from flask import Flask, jsonify
from werkzeug.serving import make_server


def serve_in_thread(config=None, host="127.0.0.1", port=0):
    app = Flask("fake_sandbox")

    @app.get("/hello")
    def hello():
        return jsonify(vendor="fake")

    server = make_server(host, port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://{host}:{server.server_port}", server.shutdown
