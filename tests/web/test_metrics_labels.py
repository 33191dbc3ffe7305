"""A label of ``/metrics`` never holds a plugin's free text: each distinct value is a series of its
own in Prometheus, so a note naming an id (an opportunity, a candidate) made one series per
webhook, without bound."""

from hub import hookimpl
from hub.entities import WebhookResult
from tests.support.engine import enable
from tests.support.plugins import FakeSource


class IgnoresNamingTheOpportunity(FakeSource):
    @hookimpl
    def verify_webhook(self, ctx, request):
        return WebhookResult(note=f"ignored event for opportunity {request.body.decode()}")


def test_webhooks_ignored_with_different_notes_are_one_series(make_app):
    app = make_app(plugins=[("src", IgnoresNamingTheOpportunity())], entry_points=False)
    key = enable(app, "src")["src"]
    client = app.test_client()
    for opportunity in ("opp-4f1a", "opp-77c2", "opp-9e03"):
        answer = client.post(f"/webhooks/src/{key}", data=opportunity.encode())
        assert answer.status_code == 200 and answer.json == {
            "status": "ignored", "message": f"ignored event for opportunity {opportunity}"}  # the sender still reads it
    text = client.get("/metrics").get_data(as_text=True)
    series = [line for line in text.splitlines() if line.startswith("hub_webhooks_received_total{")]
    assert series == ['hub_webhooks_received_total{outcome="ignored",reason="",source="src"} 3.0']
    assert "opp-" not in text
