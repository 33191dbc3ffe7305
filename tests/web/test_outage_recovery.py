"""After a vendor outage, a revoke and a reconnect: "Replay all dead" (and cancelled) on Activity,
cancelled deliveries on the Dashboard, a truthful event summary, retrying deliveries on an
integration's card, whole status messages, and the reconnect wording."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import pytest
import sqlalchemy as sa

from hub import services
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import AuditEntry, Delivery, Event, utcnow


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _inline(html: str) -> str:
    """The text of ``html`` with its tags gone (a link's text runs on into what follows it)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def _statuses(app, ids) -> dict[int, str]:
    with app.app_context():
        return {row.id: row.status for row in db.session.scalars(sa.select(Delivery).where(Delivery.id.in_(ids)))}


def _event(app, deliveries: list[tuple[str, str, str | None]], source: str = "fakesource") -> tuple[int, list[int]]:
    """An event with deliveries given as (plugin, status, last_error); returns its id and theirs."""
    with app.app_context():
        n = db.session.scalar(sa.select(sa.func.count(Event.id))) + 1000
        event = Event(workspace_id=1, source_plugin=source, type="stage_change", external_id=f"outage-{n}",
                      subject=f"opp-o{n}", payload={"opportunity_id": f"opp-o{n}", "to_stage_id": "s1"})
        db.session.add(event)
        db.session.flush()
        ids = []
        for plugin, status, error in deliveries:
            row = Delivery(event_id=event.id, workspace_id=1, plugin=plugin, hook="on_stage_change", status=status,
                           attempts=3, last_error=error)
            db.session.add(row)
            db.session.flush()
            ids.append(row.id)
        db.session.commit()
        return event.id, ids


def _summary(html: str, event_id: int) -> str:
    """The badge at the head of an event on Activity: what its deliveries say together."""
    return re.search(rf'id="event-{event_id}".*?<span class="badge[^>]*>([^<]*)<', html, re.S).group(1)


def _dead_ids(app, workspace_id: int | None = 1) -> list[int]:
    """The dead deliveries of the workspace (None: of every workspace)."""
    query = sa.select(Delivery.id).where(Delivery.status == "dead").order_by(Delivery.id)
    if workspace_id is not None:
        query = query.where(Delivery.workspace_id == workspace_id)
    with app.app_context():
        return list(db.session.scalars(query))


# --------------------------------------------------------------------------- 1. Replay all dead


def test_activity_replays_every_dead_delivery_at_once_with_a_confirmation(hub_app, seeded, as_role, fakes):
    client = as_role("admin")
    dead = _dead_ids(hub_app)
    page = client.get("/activity").get_data(as_text=True)
    button = re.search(r'<button[^>]*id="replay-all-dead"[^>]*>[^<]*</button>', page).group(0)
    assert f"Replay all dead ({len(dead)})" in button and "data-confirm=" in button
    assert f"Replay all {len(dead)} dead deliveries?" in unescape(button)
    assert 'id="replay-all-cancelled"' not in page  # nothing cancelled
    response = client.post("/activity/deliveries/replay-all", data={"status": "dead", "next": "/activity?status=dead"})
    assert response.status_code == 302 and response.headers["Location"] == "/activity?status=dead"
    assert set(_statuses(hub_app, dead).values()) == {"done"}
    assert len(fakes[1].stage_changes) == len(dead)
    after = client.get("/activity").get_data(as_text=True)
    assert f"{len(dead)} dead deliveries replayed." in after and 'id="replay-all-dead"' not in after
    # the other workspace's dead delivery is not touched
    assert _statuses(hub_app, [seeded.other["delivery_id"]]) == {seeded.other["delivery_id"]: "dead"}
    # audited as the per-row replay is, one entry per delivery, saying it was all of them
    with hub_app.app_context():
        entries = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "delivery.replay")))
    assert sorted(int(e.target.split(":")[1]) for e in entries) == dead
    assert {e.actor for e in entries} == {"admin@acme.test"}
    assert {e.detail["bulk"] for e in entries} == {"all dead deliveries"}
    # nothing left: the action says so instead of failing
    again = client.post("/activity/deliveries/replay-all", data={"status": "dead"}, follow_redirects=True)
    assert "There is no dead delivery to replay." in again.get_data(as_text=True)


def test_replay_all_dead_skips_a_disabled_plugin_with_the_reason_and_replays_the_others(hub_app, seeded, as_role):
    # a dead delivery to the source (enabled) beside the assessment plugin's (disabled below)
    _, (source_dead,) = _event(hub_app, [("fakesource", "dead", "TemporaryError: Fake ATS is down")], source="hub")
    assessment_dead = [i for i in _dead_ids(hub_app) if i != source_dead]
    as_role("super_admin").post("/integrations/fakeassess/disable")
    client = as_role("admin")
    page = client.post("/activity/deliveries/replay-all", data={"status": "dead"}, follow_redirects=True)
    text = _text(page.get_data(as_text=True))
    assert (f"1 dead delivery replayed. {len(assessment_dead)} not replayed: Fake Tests is not enabled; "
            "enable it before replaying its deliveries.") in text
    assert 'class="alert alert--warning"' in page.get_data(as_text=True)
    statuses = _statuses(hub_app, [source_dead, *assessment_dead])
    assert statuses.pop(source_dead) != "dead" and set(statuses.values()) == {"dead"}


def test_replay_all_dead_counts_only_what_it_would_replay_not_a_disabled_plugin_s(hub_app, seeded, as_role):
    # as it leaves out a plugin that cannot sign in: the click skips a disabled plugin's dead ones
    _, (source_dead,) = _event(hub_app, [("fakesource", "dead", "TemporaryError: Fake ATS is down")], source="hub")
    as_role("super_admin").post("/integrations/fakeassess/disable")
    page = as_role("admin").get("/activity").get_data(as_text=True)
    button = re.search(r'<button[^>]*id="replay-all-dead"[^>]*>[^<]*</button>', page).group(0)
    assert "Replay all dead (1)" in button


def test_replay_all_dead_keeps_to_the_plugin_filter_of_the_page(hub_app, seeded, as_role):
    _, (source_dead,) = _event(hub_app, [("fakesource", "dead", "TemporaryError: Fake ATS is down")], source="hub")
    assessment_dead = [i for i in _dead_ids(hub_app) if i != source_dead]
    client = as_role("admin")
    filtered = client.get("/activity?plugin=fakeassess").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/activity/deliveries/replay-all".*?</form>', filtered, re.S).group(0)
    assert 'name="plugin" value="fakeassess"' in form
    assert f"Replay all dead ({len(assessment_dead)})" in form
    assert f"Replay all {len(assessment_dead)} dead deliveries of Fake Tests?" in unescape(form)
    page = client.post("/activity/deliveries/replay-all", follow_redirects=True,
                       data={"status": "dead", "plugin": "fakeassess", "next": "/activity?plugin=fakeassess"})
    assert f"{len(assessment_dead)} dead deliveries of Fake Tests replayed." in page.get_data(as_text=True)
    assert _statuses(hub_app, [source_dead]) == {source_dead: "dead"}
    assert set(_statuses(hub_app, assessment_dead).values()) == {"done"}
    # a status filter other than dead hides the button; an unknown status or plugin is refused
    assert 'id="replay-all-dead"' not in client.get("/activity?status=done").get_data(as_text=True)
    bad = client.post("/activity/deliveries/replay-all", data={"status": "done"}, follow_redirects=True)
    assert "Only the dead deliveries, or the cancelled ones, can be replayed all at once." in bad.get_data(as_text=True)
    nope = client.post("/activity/deliveries/replay-all", data={"status": "dead", "plugin": "nope"},
                       follow_redirects=True)
    assert "No plugin named “nope” has events here; nothing was replayed." in nope.get_data(as_text=True)
    assert _statuses(hub_app, [source_dead]) == {source_dead: "dead"}


def test_the_cli_replays_all_dead_through_the_same_function(hub_app, seeded):
    dead = _dead_ids(hub_app, None)  # of every workspace, as before
    other = seeded.other["delivery_id"]  # in a workspace whose Fake Tests is not enabled: skipped
    result = hub_app.test_cli_runner().invoke(args=["deliveries", "replay", "--all-dead"])
    assert result.exit_code == 1, result.output
    assert f"warning: skipped delivery {other}: Fake Tests is not enabled" in result.output
    assert "1 dead delivery was not replayed" in result.output
    with hub_app.app_context():
        entries = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "delivery.replay")))
    assert sorted(int(e.target.split(":")[1]) for e in entries) == [i for i in dead if i != other]
    assert {(e.actor, e.detail.get("bulk")) for e in entries} == {("cli", "all dead deliveries")}


# --------------------------------------------------------------------------- 2. cancelled, then enabled again


def test_deliveries_cancelled_by_a_revoke_show_on_the_dashboard_once_reconnected_and_replay(hub_app, seeded, as_role,
                                                                                                fakes):
    event_id, (open_id, done_id) = _event(hub_app, [("fakeassess", "retry", "TemporaryError: Fake Tests is down"),
                                                    ("fakesource", "done", None)])
    _, (superseded_id,) = _event(hub_app, [("fakeassess", "cancelled", "the invitation was re-invited since")])
    owner, admin = as_role("super_admin"), as_role("admin")
    owner.post("/integrations/fakeassess/revoke")
    assert _statuses(hub_app, [open_id]) == {open_id: "cancelled"}
    # the event is not "Delivered": one of its two deliveries never happened
    activity = admin.get("/activity").get_data(as_text=True)
    assert _summary(activity, event_id) == "1 of 2 cancelled"  # it said "Delivered"
    # revoked: nothing to replay yet (its cancelled deliveries are what revoking is for)
    dashboard = admin.get("/").get_data(as_text=True)
    assert 'id="attention-cancelled"' not in dashboard
    with hub_app.app_context():
        services.set_enabled(get_runtime(), 1, "fakeassess", True, "test")  # reconnected
    dashboard = admin.get("/").get_data(as_text=True)
    card = re.search(r'id="attention-deliveries">(.*?)</article>', dashboard, re.S).group(1)
    assert "every event reached the enabled plugins it was for" not in card
    cancelled = _inline(re.search(r'id="attention-cancelled">(.*?)</div>\s*</article>', dashboard, re.S).group(1))
    assert ("1 delivery was cancelled when Fake Tests was disabled or revoked, and never delivered; "
            "it is enabled again. See it in Activity") in cancelled  # not the superseded one
    assert 'href="/activity?status=cancelled&amp;plugin=fakeassess"' in card
    assert "Replay all cancelled (1)" in cancelled
    # Activity offers the same under its filters, and the dashboard's button replays it
    assert "Replay all cancelled (1)" in admin.get("/activity?status=cancelled").get_data(as_text=True)
    form = re.search(r'<form[^>]*action="/activity/deliveries/replay-all".*?</form>', card, re.S).group(0)
    assert 'name="status" value="cancelled"' in form and "data-confirm=" in form
    page = admin.post("/activity/deliveries/replay-all", data={"status": "cancelled", "next": "/activity"},
                      follow_redirects=True).get_data(as_text=True)
    assert "1 cancelled delivery replayed." in page
    assert _statuses(hub_app, [open_id, superseded_id]) == {open_id: "done", superseded_id: "cancelled"}
    assert len(fakes[1].stage_changes) == 1
    assert 'id="attention-cancelled"' not in admin.get("/").get_data(as_text=True)
    # a Team Member sees no delivery card at all
    assert 'id="attention-cancelled"' not in as_role("team_member").get("/").get_data(as_text=True)


def test_the_event_summary_says_what_its_deliveries_say(hub_app, seeded, as_role):
    cases = {
        "Delivered": [("fakeassess", "done", None), ("fakesource", "done", None)],
        "Cancelled": [("fakeassess", "cancelled", "integration disabled or revoked")],
        "Retrying": [("fakeassess", "retry", "TemporaryError: Fake Tests is down"), ("fakesource", "done", None)],
        "In progress": [("fakeassess", "retry", "deferred: waiting for the result note")],
        "Needs attention": [("fakeassess", "dead", "PermanentError: no"), ("fakesource", "cancelled", "x")],
    }
    events = {label: _event(hub_app, deliveries)[0] for label, deliveries in cases.items()}
    html = as_role("admin").get("/activity").get_data(as_text=True)
    for label, event_id in events.items():
        assert _summary(html, event_id) == label, label


# --------------------------------------------------------------------------- 3. retrying on the integration card


def test_an_integration_card_counts_its_retrying_deliveries_with_the_latest_error(hub_app, seeded, as_role):
    _event(hub_app, [("fakeassess", "retry", "TemporaryError: Fake Tests answered 500")])
    _event(hub_app, [("fakeassess", "retry", "deferred: waiting for the result note")])  # not failing
    _, (latest,) = _event(hub_app, [("fakeassess", "retry", "TemporaryError: Fake Tests is unreachable at "
                                                            "https://api.fake-tests.example: check the base URL")])
    with hub_app.app_context():
        row = db.session.get(Delivery, latest)
        row.updated_at = utcnow() + timedelta(seconds=5)
        db.session.commit()
    html = as_role("admin").get("/").get_data(as_text=True)
    card = re.search(r'id="health-fakeassess">(.*?)</article>', html, re.S).group(1)
    assert ("2 deliveries retrying: Fake Tests is unreachable at https://api.fake-tests.example: "
            "check the base URL") in _text(card)
    assert 'href="/activity?plugin=fakeassess&amp;status=retry"' in card
    source = re.search(r'id="health-fakesource">(.*?)</article>', html, re.S).group(1)
    assert "retrying" not in source


# --------------------------------------------------------------------------- 4. long messages whole


def test_a_long_message_on_the_dashboard_is_never_cut_mid_sentence(hub_app, seeded, as_role):
    long_error = ("TemporaryError: Lever refused the request (401 Unauthorized). The API key is wrong or was "
                  "revoked: paste a new one in the hub's Lever settings, then test the connection. If it keeps "
                  "failing, check that the key has the scopes the hub needs (opportunities, notes, tags, webhooks) "
                  "and that your Lever plan includes the API.")
    _, (delivery_id,) = _event(hub_app, [("fakeassess", "dead", long_error)])  # the newest: listed first
    with hub_app.app_context():
        integration = get_runtime().integration(1, "fakesource")
        integration.status_message = long_error.split(": ", 1)[1]
        db.session.commit()
    html = as_role("admin").get("/").get_data(as_text=True)
    card = re.search(r'id="attention-deliveries">(.*?)</article>', html, re.S).group(1)
    assert long_error[:140] + " ·" not in unescape(card) and long_error[:140] + "<" not in unescape(card)
    first = re.search(r'<span title="([^"]*)">([^<]*)</span>', card)
    message = long_error.removeprefix("TemporaryError: ")  # the pages say the message, not the class
    assert unescape(first.group(1)) == message  # the whole of it on hover
    assert unescape(first.group(2)) == ("Lever refused the request (401 Unauthorized). The API key "
                                        "is wrong or was revoked: paste a new one in the hub's Lever settings, "
                                        "then test the connection.")
    more = re.search(rf'<details class="message-more" id="dead-error-more-{delivery_id}">(.*?)</details>',
                     card, re.S).group(1)
    assert "Show the whole message" in more and message in unescape(more)
    status = re.search(r'id="status-message-fakesource">(.*?)</div>', html, re.S).group(1)
    assert "that your Lever plan includes the API." in unescape(status)


# --------------------------------------------------------------------------- 5. wording


def test_needs_reconnecting_names_the_credentials_not_a_token(hub_app, seeded, as_role):
    with hub_app.app_context():
        row = get_runtime().integration(1, "fakeassess")
        row.status = "needs_reauthorization"
        db.session.commit()
    card = re.search(r'id="health-fakeassess">(.*?)</article>', as_role("admin").get("/").get_data(as_text=True),
                     re.S).group(1)
    assert re.search(r'id="connection-status-fakeassess"[^>]*>Needs reconnecting<', card)
    assert "The vendor refused the credentials." in card and "refused the token" not in card


# --------------------------------------------------------------------------- 6. the admin guide


def test_the_admin_guide_tells_of_the_outage_tools_and_the_retry_window():
    from pathlib import Path

    text = (Path(__file__).resolve().parents[2] / "docs" / "admin-guide.md").read_text()
    guide = " ".join(text.split())
    assert "refused the token" not in guide
    assert "**Needs reconnecting**, \"The vendor refused the credentials.\"" in guide
    assert "they finish by themselves" not in guide
    rows = {line.split("|")[1].strip(): line for line in text.splitlines() if line.startswith("| ")}
    assert "4.6 to 9 hours" in rows["Rate limited by a vendor"] and "**dead**" in rows["Rate limited by a vendor"]
    assert "**Replay all dead**" in rows["A vendor is down"] and "4.6 to 9 hours" in rows["A vendor is down"]
    assert "**Replay all dead (N)**" in guide and "**Replay all cancelled" in guide
    assert "3 deliveries retrying: Canditech is unreachable at ..." in guide


def test_cancelled_deliveries_of_several_plugins_are_listed_by_plugin(hub_app, seeded, as_role):
    _event(hub_app, [("fakeassess", "pending", None), ("fakesource", "retry", "TemporaryError: Fake ATS answered 503")])
    _event(hub_app, [("fakeassess", "retry", "deferred: waiting for the result note")])
    with hub_app.app_context():
        for enabled in (False, True):
            for plugin in ("fakeassess", "fakesource"):
                services.set_enabled(get_runtime(), 1, plugin, enabled, "test")
    cancelled = _inline(re.search(r'id="attention-cancelled">(.*?)</div>\s*</article>',
                                  as_role("admin").get("/").get_data(as_text=True), re.S).group(1))
    assert ("3 deliveries were cancelled when their plugins were disabled or revoked, and never delivered; "
            "those plugins are enabled again: Fake ATS (1), Fake Tests (2).") in cancelled
    assert "Replay all cancelled (3)" in cancelled


def test_replay_all_goes_on_in_batches_so_a_click_ends_in_time(hub_app, seeded, as_role, monkeypatch):
    """Thousands of dead deliveries after a long outage were replayed in one web request, which
    could outlive the server's timeout: each click now replays a batch and says what is left."""
    from hub.web.ui import activity

    for n in range(3):
        _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")])
    dead = _dead_ids(hub_app)
    monkeypatch.setattr(activity, "BULK_LIMIT", 2)
    client = as_role("admin")
    first = _text(client.post("/activity/deliveries/replay-all", data={"status": "dead"},
                              follow_redirects=True).get_data(as_text=True))
    left = len(dead) - 2
    assert f"2 dead deliveries replayed. {left} more {'is' if left == 1 else 'are'} left: replay all again to go on." \
        in first
    assert list(_statuses(hub_app, dead).values()).count("dead") == left
    for _ in range(len(dead)):  # each click goes on where the last stopped
        if not _dead_ids(hub_app):
            break
        client.post("/activity/deliveries/replay-all", data={"status": "dead"})
    assert "dead" not in _statuses(hub_app, dead).values()


# --------------------------------------------------------------------------- 7. the API's Replay all


def _api(hub_app, seeded, role="admin"):
    from tests.web.support import api_headers

    client, headers = hub_app.test_client(), api_headers(seeded, role)
    return lambda body: client.post("/api/v1/deliveries/replay", headers=headers, json=body)


def test_the_api_replays_all_dead_deliveries_in_batches_and_names_those_it_skips(hub_app, seeded):
    """Activity's "Replay all" had no API: a script recovering from an outage replayed one by one."""
    for _ in range(3):
        _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")])
    _, (source_dead,) = _event(hub_app, [("fakesource", "dead", "TemporaryError: Fake ATS answered 503")])
    with hub_app.app_context():
        services.set_enabled(get_runtime(), 1, "fakesource", False, "test")
    dead = _dead_ids(hub_app)
    replay = _api(hub_app, seeded)
    first = replay({"status": "dead", "limit": 2})
    assert first.status_code == 200, first.get_json()
    body = first.get_json()
    assert body["status"] == "dead" and len(body["replayed"]) == 2 and body["remaining"] == len(dead) - 2
    assert set(body["replayed"]) <= set(dead) and source_dead not in body["replayed"]
    for _ in range(len(dead)):  # each call goes on where the last stopped
        if not body["remaining"]:
            break
        body = replay({"status": "dead"}).get_json()
    assert body["remaining"] == 0
    statuses = _statuses(hub_app, dead)
    assert [i for i, status in statuses.items() if status == "dead"] == [source_dead]
    assert body["skipped"] == [{"id": source_dead, "reason": body["skipped"][0]["reason"]}]
    assert body["skipped"][0]["reason"].startswith("Fake ATS is not enabled")
    with hub_app.app_context():
        actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action == "delivery.replay"))
        assert len(list(actions)) == len(dead) - 1  # audited one by one, as the page's replays are


def test_the_api_s_replay_all_of_one_plugin_leaves_the_others(hub_app, seeded):
    _, (assess_dead,) = _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")])
    _, (other_dead,) = _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")],
                              source="fakeassess")
    body = _api(hub_app, seeded)({"status": "dead", "plugin": "fakesource"}).get_json()
    assert assess_dead in body["replayed"] and other_dead not in body["replayed"]
    assert body["skipped"] == [] and body["remaining"] == 0
    assert _statuses(hub_app, [assess_dead, other_dead]) == {assess_dead: "done", other_dead: "dead"}


@pytest.mark.parametrize("body, status, words", [
    ({}, 422, "status"),
    ({"status": "done"}, 422, "status"),
    ({"status": "dead", "limit": 0}, 422, "limit"),
    ({"status": "dead", "limit": 501}, 422, "limit"),
    ({"status": "dead", "limit": "5"}, 422, "limit"),
    ({"status": "dead", "plugin": "nosuch"}, 422, "no plugin named 'nosuch' is installed or has events here"),
])
def test_the_api_s_replay_all_refuses_a_body_it_cannot_follow(hub_app, seeded, body, status, words):
    _, (dead,) = _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")])
    response = _api(hub_app, seeded)(body)
    assert response.status_code == status
    assert words in str(response.get_json()["error"])
    assert _statuses(hub_app, [dead]) == {dead: "dead"}


def test_the_api_s_replay_all_is_for_the_roles_that_replay(hub_app, seeded):
    _, (dead,) = _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")])
    for role in ("team_member", "limited_team_member"):
        assert _api(hub_app, seeded, role)({"status": "dead"}).status_code == 403
    assert _statuses(hub_app, [dead]) == {dead: "dead"}


def test_the_api_s_replay_all_keeps_to_the_token_s_workspace(hub_app, seeded):
    other = seeded.other["delivery_id"]
    assert _statuses(hub_app, [other]) == {other: "dead"}
    body = _api(hub_app, seeded, "super_admin")({"status": "dead"}).get_json()
    assert body["replayed"] and other not in body["replayed"]
    assert _statuses(hub_app, [other]) == {other: "dead"}


def test_the_api_replays_the_deliveries_a_disable_cancelled_once_the_plugin_is_back(hub_app, seeded):
    _, (cancelled,) = _event(hub_app, [("fakeassess", "pending", None)])
    _, (superseded,) = _event(hub_app, [("fakeassess", "cancelled", "superseded by a newer round")])
    with hub_app.app_context():
        for enabled in (False, True):
            services.set_enabled(get_runtime(), 1, "fakeassess", enabled, "test")
    assert _statuses(hub_app, [cancelled]) == {cancelled: "cancelled"}
    body = _api(hub_app, seeded)({"status": "cancelled"}).get_json()
    assert cancelled in body["replayed"] and superseded not in body["replayed"]
    assert _statuses(hub_app, [cancelled, superseded]) == {cancelled: "done", superseded: "cancelled"}


def test_the_api_s_replay_all_takes_a_plugin_uninstalled_since_whose_events_are_here(hub_app, seeded):
    """As Activity's filter does: the deliveries to installed plugins of an old ATS's events."""
    _, (dead,) = _event(hub_app, [("fakeassess", "dead", "TemporaryError: Fake Tests is down")], source="oldats")
    body = _api(hub_app, seeded)({"status": "dead", "plugin": "oldats"}).get_json()
    assert body["replayed"] == [dead]
