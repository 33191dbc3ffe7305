"""Prometheus metrics, one registry per app (no module globals, so tests do not share counters)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
        self.queue_depth = Gauge("hub_deliveries_pending", "Deliveries waiting or running", registry=r)
        self.oldest_pending = Gauge("hub_deliveries_oldest_pending_seconds",
                                    "Age of the oldest pending delivery", registry=r)

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
        return generate_latest(self.registry)
