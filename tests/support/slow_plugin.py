"""A plugin for crash tests, loaded in ``hub worker`` subprocesses through
``HUB_EXTRA_PLUGIN_MODULES=slow=tests.support.slow_plugin``.

Each ``on_stage_change`` appends "start <opportunity>" to the file named by ``SLOW_PLUGIN_LOG``,
sleeps ``SLOW_PLUGIN_SECONDS``, records the effect idempotently (one line per opportunity, as a
vendor with idempotency keys would), then appends "done <opportunity>".
"""

from __future__ import annotations

import fcntl
import os
import time

from hub import hookimpl
from hub.entities import ASSESSMENT, IntegrationSpec

__version__ = "1.0"


def _append(line: str) -> None:
    path = os.environ["SLOW_PLUGIN_LOG"]
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())


@hookimpl
def register_integration(register):
    register(IntegrationSpec(kind=ASSESSMENT, title="Slow test plugin"))


@hookimpl
def on_stage_change(ctx, change):
    _append(f"start {change.opportunity_id}")
    time.sleep(float(os.environ.get("SLOW_PLUGIN_SECONDS", "0")))
    if ctx.records.put_if_absent(f"effect:{change.opportunity_id}", True):
        _append(f"effect {change.opportunity_id}")
    _append(f"done {change.opportunity_id}")
