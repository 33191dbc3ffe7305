"""Activity and the Audit log name what happened for people: a delivery's step ("Invite on the
stage change"), not its hook (``on_stage_change``); an audit action ("Integration settings saved"),
not its code (``integration.settings``); an event no integration took, in words that say what it
means. The codes stay on the pages, small, and in the JSON API, which scripts read."""

from __future__ import annotations

import ast
import re
from html import unescape
from pathlib import Path

from hub import services
from hub.extensions import db
from hub.store.models import Delivery, Event, User
from tests.web.support import api_headers

ROOT = Path(__file__).resolve().parents[2]


def _row(html: str, delivery_id: int) -> str:
    return re.search(rf'<tr id="delivery-{delivery_id}" data-status="\w+">(.*?)</tr>', html, re.S).group(1)


def _text(html: str) -> str:
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).split())


def _event(ws: int, plugin: str, hook: str, status: str, source: str = "fakesource") -> int:
    """An event of ``source`` with one delivery to ``plugin``'s ``hook``; the delivery's id."""
    event = Event(workspace_id=ws, source_plugin=source, type="assessment_completed", external_id=f"evt-{hook}-{plugin}",
                  subject="invitation:1", payload={"invitation_id": 1})
    db.session.add(event)
    db.session.flush()
    delivery = Delivery(event_id=event.id, workspace_id=ws, plugin=plugin, hook=hook, status=status, attempts=1)
    db.session.add(delivery)
    db.session.commit()
    return delivery.id


def test_activity_names_each_delivery_by_what_the_plugin_does(hub_app, seeded, as_role):
    delivery_id = seeded.ids["delivery"]  # Fake Tests (an assessment provider), on_stage_change
    with hub_app.app_context():
        written = _event(seeded.workspace_id, "fakesource", "on_assessment_completed", "done")
    html = as_role("admin").get("/activity").get_data(as_text=True)
    row = _row(html, delivery_id)
    assert '<td class="delivery-step" data-label="Step">Invite on the stage change <span class="small muted"' in row
    assert "<code>on_stage_change</code>" in row  # for developers, small
    # the same hook is named by what the kind of plugin running it does: a source writes back
    assert re.search(r'<td class="delivery-step" data-label="Step">Write the result to the ATS <span[^>]*><code>on_assessment_completed'
                     r'</code></span></td>', _row(html, written))
    assert '<th scope="col">Step</th>' in html and '<th scope="col">Hook</th>' not in html
    # the API keeps the hook's name: scripts rely on it
    body = hub_app.test_client().get("/api/v1/activity?per_page=200", headers=api_headers(seeded, "admin")).get_json()
    hooks = {d["id"]: d["hook"] for e in body["items"] for d in e["deliveries"]}
    assert hooks[delivery_id] == "on_stage_change" and hooks[written] == "on_assessment_completed"


def test_replaying_a_delivery_that_succeeded_asks_in_words(hub_app, seeded, as_role):
    with hub_app.app_context():
        done = _event(seeded.workspace_id, "fakesource", "on_assessment_completed", "done")
    html = as_role("admin").get("/activity").get_data(as_text=True)
    confirm = unescape(re.search(rf'id="replay-{done}" data-confirm="([^"]*)"', _row(html, done)).group(1))
    assert confirm == "This delivery succeeded. Run “Write the result to the ATS” for Fake ATS again for this event?"
    assert "Run on_" not in html


def test_an_event_no_integration_took_says_what_that_means(hub_app, seeded, as_role):
    from hub.engine.ingest import ingest
    from hub.entities import InboundEvent, StageChange
    from hub.runtime import get_runtime

    client = as_role("admin")
    as_role("super_admin").post("/integrations/fakeassess/disable")
    with hub_app.app_context():
        outcome = ingest(get_runtime(), seeded.workspace_id, "fakesource",
                         InboundEvent(external_id="moved-while-disabled",
                                      event=StageChange(opportunity_id="opp-moved", to_stage_id="s1")), wake=False)
        assert outcome.outcome == "no_subscribers"
        event_id = outcome.event_id
    html = client.get("/activity").get_data(as_text=True)
    card = re.search(rf'<article class="card event" id="event-{event_id}".*?</article>', html, re.S).group(0)
    assert re.search(rf'id="summary-{event_id}" data-status="no_subscribers">Not acted on</span>', card)
    said = re.search(rf'<p [^>]*id="not-delivered-{event_id}">(.*?)</p>', card, re.S).group(1)
    assert _text(said) == ("No integration acted on this event: none enabled takes this kind of event. If an "
                           "assessment provider was disabled at the time, nobody was invited: use Pipeline > "
                           "Invite candidates already in stage.")
    assert '<a href="/pipeline">Pipeline</a>' in said
    assert "subscribe" not in _text(card).lower()


def test_only_a_stage_change_points_to_the_backfill(hub_app, seeded, as_role):
    with hub_app.app_context():
        event = Event(workspace_id=seeded.workspace_id, source_plugin="fakesource", type="hired",
                      external_id="hired-1", subject="opp-9", payload={"opportunity_id": "opp-9"},
                      outcome="no_subscribers")
        db.session.add(event)
        db.session.commit()
        event_id = event.id
    html = as_role("admin").get("/activity").get_data(as_text=True)
    said = re.search(rf'<p [^>]*id="not-delivered-{event_id}">(.*?)</p>', html, re.S).group(1)
    assert _text(said) == "No integration acted on this event: none enabled takes this kind of event."


def _audit(hub_app, seeded, *entries):
    with hub_app.app_context():
        admin = db.session.get(User, seeded.users["super_admin"])
        for action, target, detail in entries:
            services.audit(seeded.workspace_id, admin, action, target, **detail)
        db.session.commit()


def _audit_rows(html: str) -> list[str]:
    return re.findall(r'<tr id="audit-\d+">(.*?)</tr>', html, re.S)


def test_the_audit_log_names_each_action_for_people(hub_app, seeded, as_role):
    _audit(hub_app, seeded, ("integration.settings", "plugin:fakesource", {"changed": []}),
           ("api_token.create", "token:robot", {"token_id": 7}),
           ("user.deactivate", "user:someone@acme.test", {"api_tokens_revoked": 2}),
           ("integration.test", "plugin:fakesource", {"ok": False}))
    html = as_role("admin").get("/audit").get_data(as_text=True)
    rows = {re.search(r"<code>([\w.]+)</code>", row).group(1): _text(row) for row in reversed(_audit_rows(html))}
    failed, deactivated, created, saved = (rows[code] for code in (
        "integration.test", "user.deactivate", "api_token.create", "integration.settings"))
    assert rows["user.sign_in"].endswith("Signed in user.sign_in admin@acme.test")
    assert "Integration settings saved integration.settings" in saved and saved.endswith("No field changed")
    assert "API token created api_token.create" in created and created.endswith("Token ID: 7")
    assert "User deactivated user.deactivate" in deactivated and deactivated.endswith("API tokens revoked: 2")
    assert "Connection tested integration.test" in failed and failed.endswith("Result: Failed")
    # the code is kept, small, for developers
    assert ('<td class="audit-action" data-label="Action">Integration settings saved <span class="small muted" '
            'title="The action\'s code, as the API and the filter name it"><code>integration.settings</code></span></td>'
            in html)
    assert "no change" not in html and "Ok:" not in html and "Token id" not in html


def test_the_audit_filter_is_a_list_of_the_actions(hub_app, seeded, as_role):
    _audit(hub_app, seeded, ("user.password_reset", "user:a@acme.test", {}),
           ("user.password_change", "user:b@acme.test", {}))
    client = as_role("admin")
    html = client.get("/audit?action=user.").get_data(as_text=True)
    select = re.search(r'<select id="filter-action" name="action">(.*?)</select>', html, re.S).group(1)
    assert 'type="search"' not in re.search(r'<form[^>]*id="audit-filters".*?</form>', html, re.S).group(0)
    options = dict(re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', select))
    assert options[""] == "Every action"
    assert options["user."] == "Every user action" and options["integration."] == "Every integration action"
    assert options["integration.settings"] == "Integration settings saved" and options["user.sign_in"] == "Signed in"
    assert '<option value="user." selected>Every user action</option>' in select
    assert '<optgroup label="API tokens">' in select
    # a beginning from a link made before the list still filters, and is offered as chosen
    legacy = client.get("/audit?action=user.password_r").get_data(as_text=True)
    assert '<option value="user.password_r" selected>Actions starting with “user.password_r”</option>' in legacy
    [row] = _audit_rows(legacy)
    assert "Password reset user.password_reset" in _text(row)
    # an action's own code submits that action alone
    assert len(_audit_rows(client.get("/audit?action=user.password_change").get_data(as_text=True))) == 1


def _written_actions() -> tuple[set[str], list[str]]:
    """Every action code passed to ``audit(...)`` (``services.audit``) in the hub and its plugins,
    and the calls whose action is not spelled out (which no label could be checked for)."""
    codes: set[str] = set()
    unknown: list[str] = []

    def literals(node) -> list[str] | None:
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return [node.value]
        if isinstance(node, ast.IfExp):
            body, orelse = literals(node.body), literals(node.orelse)
            return body + orelse if body is not None and orelse is not None else None
        return None

    for path in sorted([*ROOT.joinpath("hub").rglob("*.py"), *ROOT.joinpath("plugins").rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if not isinstance(node, ast.Call):
                continue
            name = node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)
            if name != "audit":
                continue
            action = node.args[2] if len(node.args) > 2 else next(
                (k.value for k in node.keywords if k.arg == "action"), None)
            found = literals(action) if action is not None else None
            if found is None:
                unknown.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            else:
                codes.update(found)
    return codes, unknown


def test_every_audit_action_the_hub_writes_has_a_label():
    from hub.web.ui.labels import AUDIT_ACTIONS, AUDIT_GROUPS

    codes, unknown = _written_actions()
    assert not unknown, f"audit calls whose action is not a literal (give it a label in labels.py): {unknown}"
    assert len(codes) >= 20 and {"integration.settings", "user.sign_in", "attachment.backfill"} <= codes
    assert sorted(codes - set(AUDIT_ACTIONS)) == [], "give these actions a label in hub/web/ui/labels.py"
    assert sorted(set(AUDIT_ACTIONS) - codes) == [], "labels of actions nothing writes any more"
    for group in AUDIT_GROUPS:  # each under its group, whose beginning the filter submits
        assert all(code.startswith(group.prefix) for code in group.actions), group.prefix
    # the filter matches beginnings: an action's own code must select that action alone
    assert not [(a, b) for a in AUDIT_ACTIONS for b in AUDIT_ACTIONS if a != b and b.startswith(a)]


def test_every_event_hook_has_a_label():
    import inspect

    from hub import hookspecs
    from hub.entities import EVENT_TYPES, PLUGIN_KINDS

    hooks = {name for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
             if hasattr(fn, "ats_hub_spec") and name.startswith("on_")}
    assert hooks >= {cls.hook for cls in EVENT_TYPES.values()} and len(hooks) >= 8
    labels = hookspecs.EVENT_HOOK_LABELS
    assert sorted(hooks - set(labels)) == [] and sorted(set(labels) - hooks) == []
    for hook, by_kind in labels.items():
        assert by_kind.get(""), hook  # for a plugin no longer installed, or of a kind without its own
        assert set(by_kind) <= {"", *PLUGIN_KINDS}, hook


# --------------------------------------------------------------------------- connection states


def test_a_connection_state_has_one_name_on_every_page(hub_app, seeded, as_role):
    """The Dashboard's card said "Enabled" and "Credentials saved, not tested yet" where the
    Integrations pages said "Configured": each state now has one label on all three pages, and the
    Dashboard says what it means."""
    from hub.runtime import get_runtime
    from hub.web.ui.labels import CONNECTION_STATES

    owner = as_role("super_admin")
    for status, (label, meaning) in CONNECTION_STATES.items():
        if status == "not_connected":
            continue  # a state without a row: an integration never set up
        with hub_app.app_context():
            get_runtime().integration(1, "fakeassess").status = status
            db.session.commit()
        card = re.search(r'id="health-fakeassess">(.*?)</article>', owner.get("/").get_data(as_text=True), re.S).group(1)
        listed = re.search(r'<tr[^>]*>(?:(?!</tr>).)*?/integrations/fakeassess"(.*?)</tr>',
                           owner.get("/integrations").get_data(as_text=True), re.S).group(1)
        detail = owner.get("/integrations/fakeassess").get_data(as_text=True)
        shown = {
            "dashboard": re.search(r'id="connection-status-fakeassess" data-status="(\w+)">([^<]*)<', card).groups(),
            "list": (status, re.search(rf'data-status="{status}">([^<]*)<', listed).group(1)),
            "detail": re.search(r'id="connection-status" data-status="(\w+)">([^<]*)<', detail).groups(),
        }
        assert set(shown.values()) == {(status, label)}, shown
        assert _text(card).count(meaning) == 1, status


def test_an_event_s_ids_on_activity_are_named(hub_app, seeded, as_role):
    """Activity showed the sender's event id bare (a uuid, "invitation:2:r1:failed"): it is now
    named as the sender's, beside the hub's event number that the log lines carry."""
    with hub_app.app_context():
        delivery = db.session.get(Delivery, _event(1, "fakeassess", "on_stage_change", "done"))
        event_id = delivery.event_id
    html = as_role("admin").get("/activity").get_data(as_text=True)
    card = re.search(rf'<article class="card event" id="event-{event_id}"(.*?)</header>', html, re.S).group(1)
    assert f"event {event_id} · sender's id evt-on_stage_change-fakeassess" in _text(card)
    assert f'carry event_id {event_id}."' in card


def test_an_event_the_hub_made_shows_its_id_as_the_hub_s(hub_app, seeded, as_role):
    """A re-invite or backfill showed its internal key as the "sender's id" (a walk-through)."""
    with hub_app.app_context():
        made = db.session.get(Delivery, _event(1, "fakeassess", "on_reinvite", "done", source="hub")).event_id
    html = as_role("admin").get("/activity").get_data(as_text=True)
    card = re.search(rf'<article class="card event" id="event-{made}"(.*?)</header>', html, re.S).group(1)
    assert f"event {made} · hub's id evt-on_reinvite-fakeassess" in _text(card)
    assert "sender's id" not in _text(card)
    assert 'title="The hub made this event itself; this id keeps it from being done twice"' in card


def test_a_failing_connection_needs_attention_on_the_dashboard(hub_app, seeded, as_role):
    """An ATS in "Error" refused every read and note while "Needs attention" said nothing (a UX
    walk-through): it is named there, once, with the way to fix it; a provider already named as
    inviting nobody is not named twice."""
    from hub.runtime import get_runtime

    owner = as_role("super_admin")
    assert 'id="attention-failing"' not in owner.get("/").get_data(as_text=True)
    with hub_app.app_context():
        get_runtime().integration(1, "fakesource").status = "error"
        get_runtime().integration(1, "fakeassess").status = "needs_reauthorization"
        db.session.commit()
    html = owner.get("/").get_data(as_text=True)
    failing = _text(re.search(r'id="attention-failing">(.*?)</div>', html, re.S).group(1))
    assert failing == ("Fake ATS: Error. The last test or call failed. Work that needs Fake ATS waits and retries "
                       "until it is fixed. Open Fake ATS in Integrations to fix it.")
    assert 'id="idle-fakeassess"' in html and 'id="failing-fakeassess"' not in html
    member = as_role("team_member").get("/").get_data(as_text=True)
    assert 'id="attention-failing"' not in member  # no integrations on a Team Member's dashboard


def test_activity_finds_one_event_by_the_number_its_log_lines_carry(hub_app, seeded, as_role):
    """An admin holding a log line's event_id could not get to its event (a UX walk-through): the
    event's number links to Activity filtered to it, and the filter takes a number typed in."""
    with hub_app.app_context():
        first = db.session.get(Delivery, _event(1, "fakeassess", "on_stage_change", "done")).event_id
        second = db.session.get(Delivery, _event(1, "fakeassess", "on_invitation_status", "dead")).event_id
    admin = as_role("admin")
    listed = admin.get("/activity").get_data(as_text=True)
    assert f'<a class="event__ref" href="/activity?event={first}"' in listed and 'id="replay-all-dead"' in listed
    one = admin.get(f"/activity?event={second}").get_data(as_text=True)
    assert f'id="event-{second}"' in one and f'id="event-{first}"' not in one
    assert f'value="{second}"' in re.search(r'id="filter-event"[^>]*>', one).group(0)
    assert 'id="replay-all-dead"' not in one  # a bulk replay would act beyond the one event shown
    bad = admin.get("/activity?event=abc")
    text = _text(bad.get_data(as_text=True))
    assert bad.status_code == 200 and "“abc” is not an event number: the list shows every event." in text
    assert f'id="event-{first}"' in bad.get_data(as_text=True)
    other = admin.get("/activity?event=999999").get_data(as_text=True)
    assert '<article class="card event"' not in other


def test_the_audit_log_filters_by_who_did_it(hub_app, seeded, as_role):
    """Who: one of the workspace's users, or none (the command line, the hub itself); another
    workspace's user is no choice (the page says so, the API answers 422)."""
    from tests.web.support import api_headers

    def who(rows):
        return {re.search(r'<td data-label="Who">(.*?)</td>', row).group(1) for row in rows}

    admin_id, member_id = seeded.users["super_admin"], seeded.users["team_member"]
    with hub_app.app_context():
        member = db.session.get(User, member_id)
        services.audit(seeded.workspace_id, db.session.get(User, admin_id), "user.role", "user:x@acme.test")
        services.audit(seeded.workspace_id, member, "user.password_change", f"user:{member.email}")
        services.audit(seeded.workspace_id, "cli", "user.password_reset", f"user:{member.email}")
        db.session.commit()
    client = as_role("admin")

    mine = _audit_rows(client.get(f"/audit?user={member_id}").get_data(as_text=True))
    assert who(mine) == {"team_member@acme.test"}
    assert any("Own password changed" in _text(row) for row in mine)
    assert not any("Password reset" in _text(row) for row in mine)
    nobody = _audit_rows(client.get("/audit?user=none&action=user.").get_data(as_text=True))
    assert who(nobody) == {"cli"} and ["Password reset" in _text(row) for row in nobody] == [True]
    both = _audit_rows(client.get(f"/audit?user={admin_id}&action=user.role").get_data(as_text=True))
    assert len(both) == 1 and "Role changed" in _text(both[0])

    page = client.get(f"/audit?user={member_id}").get_data(as_text=True)
    select = re.search(r'<select id="filter-user" name="user">(.*?)</select>', page, re.S).group(1)
    assert f'<option value="{member_id}" selected>team_member@acme.test</option>' in select
    assert '<option value="none">No signed-in user (command line, the hub)</option>' in select
    assert "someone@other.test" not in select  # another workspace's user

    other = seeded.other["user_id"]
    notice = client.get(f"/audit?user={other}").get_data(as_text=True)
    assert "There is no person" in notice and len(_audit_rows(notice)) > 1  # everyone's, with the notice

    api = hub_app.test_client()
    body = api.get(f"/api/v1/audit?user={member_id}", headers=api_headers(seeded, "admin")).get_json()
    assert body["items"] and {item["actor"] for item in body["items"]} == {"team_member@acme.test"}
    assert {item["actor"] for item in api.get("/api/v1/audit?user=none", headers=api_headers(seeded, "admin"))
            .get_json()["items"]} >= {"cli"}
    for bad in (str(other), "abc", "0"):
        answer = api.get(f"/api/v1/audit?user={bad}", headers=api_headers(seeded, "admin"))
        assert answer.status_code == 422 and "user" in answer.get_json()["error"]["fields"]
