"""The ``hub`` command's --help texts say what the commands do."""

from __future__ import annotations

import sqlalchemy as sa

from hub.extensions import db


def _deliveries(app, plugin: str, statuses: tuple[str, ...]) -> dict[str, int]:
    """One event, and one delivery of it to ``plugin``, per status; status -> delivery id."""
    from hub.store.models import Delivery, Event

    with app.app_context():
        ids = {}
        for status in statuses:
            event = Event(workspace_id=1, source_plugin="src", type="stage_change", external_id=f"e-{status}",
                          subject="opp-1", payload={"opportunity_id": "opp-1", "to_stage_id": "stage-1"})
            db.session.add(event)
            db.session.flush()
            delivery = Delivery(event_id=event.id, workspace_id=1, plugin=plugin, hook="on_stage_change",
                                status=status, attempts=1)
            db.session.add(delivery)
            db.session.flush()
            ids[status] = delivery.id
        db.session.commit()
    return ids


def _app(make_app):
    from tests.support.engine import enable
    from tests.support.plugins import FakeSource, Recorder

    app = make_app(plugins=[("src", FakeSource()), ("rec", Recorder())], entry_points=False)
    enable(app, "src", "rec")
    return app


def test_plugins_disable_help_names_every_delivery_it_cancels(make_app):
    """Disabling cancels running and retrying deliveries too; the help said "pending" only."""
    from hub.store.models import Delivery

    app = _app(make_app)
    _deliveries(app, "rec", ("pending", "running", "retry", "dead"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["plugins", "disable", "rec"]).exit_code == 0
    with app.app_context():
        statuses = sorted(db.session.scalars(sa.select(Delivery.status)))
    assert statuses == ["cancelled", "cancelled", "cancelled", "dead"]
    help_text = " ".join(runner.invoke(args=["plugins", "disable", "--help"]).output.split())
    assert "its open deliveries, pending, running or retrying, are cancelled" in help_text


def test_deliveries_replay_help_names_every_reason_a_named_id_stops_it(make_app):
    app = _app(make_app)
    ids = _deliveries(app, "rec", ("pending", "running"))
    runner = app.test_cli_runner()
    for status, delivery_id in ids.items():
        result = runner.invoke(args=["deliveries", "replay", str(delivery_id)])
        assert result.exit_code == 1, status
        assert "still pending or running" in result.output
    help_text = " ".join(runner.invoke(args=["deliveries", "replay", "--help"]).output.split())
    assert ("(unknown, still pending or running, its plugin disabled, or without usable credentials: enabled again "
            "after a revoke before they were entered again, or refused by the vendor) stops the command") in help_text


def test_worker_help_names_its_periodic_work(runner):
    """A worker process also reconciles and purges (``hub.engine.sweeper.periodic_work``)."""
    import inspect

    from hub.engine import sweeper

    source = inspect.getsource(sweeper.periodic_work)
    assert "reconcile_all(runtime)" in source and "purge(runtime)" in source
    help_text = " ".join(runner.invoke(args=["worker", "--help"]).output.split())
    assert "reconciles with vendors and purges data older than HUB_RETENTION_DAYS" in help_text


def test_every_password_option_says_how_long_a_password_may_be(runner):
    """Passwords have MIN_PASSWORD to MAX_PASSWORD characters; only set-password's help said so,
    and `hub init --password`, `hub users create --password` refused a long one unannounced."""
    from hub.services import MAX_PASSWORD, MIN_PASSWORD

    bounds = f"{MIN_PASSWORD} to {MAX_PASSWORD} characters"
    for command in (["init"], ["users", "create"], ["users", "set-password"]):
        help_text = " ".join(runner.invoke(args=[*command, "--help"]).output.split())
        assert bounds in help_text, command
