"""Keeping a hold alive while its holder works: a delivery's lease (``hub.engine.runner``) and a
lock taken outside a delivery (``PluginContext.lock``) are rows whose end a thread pushes ahead
while the work runs. A holder that dies stops renewing, and the hold runs out by itself."""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from typing import Any, Callable

from hub.extensions import db
from hub.logging_setup import failure_cause

MAX_HOLD_SECONDS = 3600.0  # a holder working this long is stuck: its hold then runs out


class Renewer:
    """Every ``interval`` seconds until stopped, call ``renew()`` in an app context of ``app``
    (its own session, removed after each call); ``renew`` commits and returns how many rows it
    kept, and 0 ends the renewals (the hold was released, cancelled or taken over). For at most
    ``max_seconds``. A renewal that raises (the database away for a moment) is logged on ``log``
    as "could not renew <what>" and tried again at the next interval: the hold may run out
    meanwhile, as if the holder had died. The thread, named ``name``, runs in a copy of the
    creating thread's context, so its lines carry the ids of the work under way (``log_context``).

    ``start()`` and ``stop()`` (which joins the thread, if it started), or use it as a context
    manager."""

    def __init__(self, app, name: str, interval: float, renew: Callable[[], int], what: str,
                 log: logging.Logger, log_extra: dict[str, Any] | None = None,
                 max_seconds: float = MAX_HOLD_SECONDS):
        self.app, self.interval, self.renew, self.what = app, interval, renew, what
        self.log, self.log_extra, self.max_seconds = log, log_extra, max_seconds
        self._stop = threading.Event()
        self._thread = threading.Thread(target=contextvars.copy_context().run, args=(self._run,), name=name,
                                        daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.ident is not None:  # started (a start that failed leaves nothing to join)
            self._thread.join()

    def __enter__(self) -> "Renewer":
        self.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self.stop()

    def _run(self) -> None:
        give_up = time.monotonic() + self.max_seconds
        while not self._stop.wait(self.interval) and time.monotonic() < give_up:
            try:
                with self.app.app_context():
                    try:
                        kept = self.renew()
                    finally:
                        db.session.remove()
            except Exception as exc:
                self.log.warning("could not renew %s%s", self.what, failure_cause(exc), exc_info=True,
                                 extra=self.log_extra)
                continue
            if not kept:
                return
