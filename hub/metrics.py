"""Prometheus metrics, one registry per app (no module globals, so tests do not share counters).

Several processes (gunicorn's workers, ``hub worker`` processes) each count their own. With
``PROMETHEUS_MULTIPROC_DIR`` set in their environment (prometheus_client's multiprocess mode: an
empty directory that the processes of one host share, emptied at each deploy), every process
writes its figures there and ``/metrics`` answers with their sum, whichever process serves it.
Without it, a scrape answers for the one process that served it. A process whose
``PROMETHEUS_MULTIPROC_DIR`` is not an existing, writable directory does not start
(``ConfigError`` naming the variable).
"""

from __future__ import annotations

import os
import threading

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest, multiprocess

MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


def check_multiprocess_dir(environ=os.environ) -> None:
    """Raise ``ConfigError`` when ``PROMETHEUS_MULTIPROC_DIR`` is set but names no directory this
    process can write in (prometheus_client would fail at the first metric with a bare
    FileNotFoundError on one of its files)."""
    from hub.config import ConfigError

    folder = environ.get(MULTIPROCESS_ENV)
    if not folder:
        return
    if not os.path.isdir(folder):
        raise ConfigError(f"{MULTIPROCESS_ENV} names the directory {folder}, which does not exist: create it "
                          "(empty, writable by every hub process of this host) or unset the variable.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ConfigError(f"{MULTIPROCESS_ENV} names the directory {folder}, which this process cannot write in: "
                          "make it writable by every hub process of this host or unset the variable.")


class Metrics:
    def __init__(self) -> None:
        check_multiprocess_dir()
        self.registry = CollectorRegistry()
        self._gauges: dict[str, Gauge] = {}
        self._gauges_lock = threading.Lock()
        r = self.registry
        self.webhooks = Counter("hub_webhooks_received_total", "Inbound webhook requests",
                                ["source", "outcome", "reason"], registry=r)
        self.events = Counter("hub_events_ingested_total", "Events offered to ingest",
                              ["source", "event_type", "outcome"], registry=r)
        self.deliveries = Counter("hub_deliveries_finished_total", "Delivery attempts by outcome",
                                  ["plugin", "hook", "status"], registry=r)
        self.vendor_calls = Histogram("hub_vendor_call_seconds", "Outbound vendor calls",
                                      ["vendor", "endpoint", "status"], registry=r)
        self.token_refreshes = Counter("hub_token_refreshes_total", "OAuth token refreshes",
                                       ["plugin", "outcome"], registry=r)

    # The sweeper's readings of the database: the latest stands, whichever process took it. Made at
    # their first reading: in multiprocess mode a gauge writes its file as it is made, and a
    # process that never reads them (each `hub users ...` command) would leave one behind per run.
    # Under a lock: a scrape and a sweep reading first at once would both register the gauge, and
    # the second would fail ("Duplicated timeseries"); cached_property has no lock of its own from
    # Python 3.12 on.
    @property
    def queue_depth(self) -> Gauge:
        return self._gauge("hub_deliveries_pending", "Deliveries waiting or running")

    @property
    def oldest_pending(self) -> Gauge:
        return self._gauge("hub_deliveries_oldest_pending_seconds", "Age of the oldest pending delivery")

    def _gauge(self, name: str, documentation: str) -> Gauge:
        with self._gauges_lock:
            if name not in self._gauges:
                self._gauges[name] = Gauge(name, documentation, registry=self.registry, multiprocess_mode="mostrecent")
            return self._gauges[name]

    def webhook(self, source: str, outcome: str, reason: str = "") -> None:
        self.webhooks.labels(source, outcome, reason).inc()

    def event_ingested(self, source: str, event_type: str, outcome: str) -> None:
        self.events.labels(source, event_type, outcome).inc()

    def delivery(self, plugin: str, hook: str, status: str) -> None:
        self.deliveries.labels(plugin, hook, status).inc()

    def vendor_call(self, vendor: str, endpoint: str, status: str, seconds: float) -> None:
        self.vendor_calls.labels(vendor, endpoint, status).observe(seconds)

    def token_refresh(self, plugin: str, outcome: str) -> None:
        self.token_refreshes.labels(plugin, outcome).inc()

    def render(self) -> bytes:
        """The text exposition: this process's figures, or every process's with ``MULTIPROCESS_ENV``."""
        if os.environ.get(MULTIPROCESS_ENV):
            combined = CollectorRegistry()
            multiprocess.MultiProcessCollector(combined)
            return generate_latest(combined)
        return generate_latest(self.registry)
