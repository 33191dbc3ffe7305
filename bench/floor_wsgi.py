"""The hub's WSGI app with its webhook ingress cut short, for ``bench/ingest_floors.py`` only.

``BENCH_FLOOR`` says where a ``POST /webhooks/<plugin>/<key>`` stops (each floor includes the ones
before it):

- ``body``: the request is routed and its body read, then answered ``{"status": "accepted"}``;
- ``verify``: the integration is found and the plugin verifies and parses the webhook; then a
  stand-in for the store answers "accepted" (as ``bench/ingest_breakdown.py``'s third
  measurement): metrics and the JSON answer, no commit;
- ``handoff``: the webhook goes through the group commit (tickets, leaders, the batch's app
  context and session) to a stand-in handler that stores nothing;
- ``full`` (or unset): the hub as it is.

It patches internals of ``hub.web.webhooks`` (a benchmark may; a plugin may not), before the
first request creates the group commit, which takes its handler then.
"""

from __future__ import annotations

import os

from flask import jsonify, request

from hub.engine.ingest import IngestOutcome
import hub.web.webhooks as ingress
from wsgi import app

FLOORS = ("body", "verify", "handoff", "full")
floor = os.environ.get("BENCH_FLOOR") or "full"
if floor not in FLOORS:
    raise SystemExit(f"BENCH_FLOOR must be one of {', '.join(FLOORS)}, not {floor!r}")


def _accepted(record) -> list[IngestOutcome]:
    return [IngestOutcome("accepted", 1, []) for _ in record.events]


if floor == "body":
    def _read_and_answer(plugin: str, key: str):
        request.get_data(cache=False)
        return jsonify(status="accepted")

    app.view_functions["webhooks.receive"] = _read_and_answer
elif floor == "verify":
    ingress._store = lambda runtime, record: _accepted(record)
elif floor == "handoff":
    ingress.persist = lambda records: [_accepted(record) for record in records]
