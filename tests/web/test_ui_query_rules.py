"""The pages read their query strings by the API's rules, each answered as the pages answer a bad
value (a notice on a list, the form's own error on the attach page, a readable 400 where the
answer is a vendor's): a parameter given twice (``?status=dead&status=retry``) is used by neither
of its values, where the pages took one of them without a word; a number (a page, an event
number) is ASCII digits and nothing else, where ``?event=7%0A`` was read as event 7 (``int``
strips whitespace)."""

from __future__ import annotations

import re
from html import unescape

import pytest

from hub.extensions import db
from hub.store.models import WebhookLog
from tests.web.test_candidates import _all_ids, _row_ids


def notices(html: str) -> dict[str, str]:
    """The filter area's notices (a list page's, or the webhook log's on an integration's page):
    query parameter -> the notice's text (unescaped)."""
    area = re.search(r'<div class="filters__notices" id="filter-notices" role="status">(.*?)</div>', html, re.S)
    if area is None:
        return {}
    return {name: unescape(text) for name, text in
            re.findall(r'<p class="alert alert--warning" id="filter-notice-([a-z]+)">(.*?)</p>', area.group(1), re.S)}


def _repeated(name: str, values: list[str], consequence: str) -> str:
    quoted = ", ".join(f"“{value}”" for value in values)
    times = "twice" if len(values) == 2 else f"{len(values)} times"
    return (f"“{name}” is given {times} in the address ({quoted}): the hub cannot tell which one is meant, "
            f"so {consequence}. Give it once.")


def _event_ids(html: str) -> set[int]:
    return {int(i) for i in re.findall(r'<article class="card event" id="event-(\d+)"', html)}


def _with_webhook_log(app) -> None:
    with app.app_context():
        for outcome in ("accepted", "rejected"):
            db.session.add(WebhookLog(workspace_id=1, plugin="fakesource", outcome=outcome, status_code=200,
                                      message="", event_count=1))
        db.session.commit()


REPEATED = [
    ("/candidates", "status", ["invited", "completed"], "it shows every status"),
    ("/candidates", "status", ["completed", "completed"], "it shows every status"),  # the same twice: still twice
    ("/candidates", "q", ["Ada", "Grace"], "the search text is left out"),
    ("/candidates", "page", ["1", "2"], "it shows page 1"),
    ("/activity", "status", ["dead", "done"], "it shows every status"),
    ("/activity", "plugin", ["fakeassess", "fakesource"], "it shows every plugin's events"),
    ("/activity", "about", ["opp-1", "opp-2"], "the opportunity or webhook id is left out"),
    ("/activity", "page", ["2", "1", "3"], "it shows page 1"),
    ("/audit", "action", ["user.", "integration."], "the action filter is left out"),
    ("/audit", "page", ["1", "1"], "it shows page 1"),
    ("/pipeline", "q", ["Python", "Support"], "the search text is left out"),
    ("/pipeline", "page", ["1", "2"], "it shows page 1"),
    ("/integrations/fakesource", "outcome", ["accepted", "rejected"], "it shows every outcome"),
    ("/integrations/fakesource", "page", ["1", "2"], "it shows page 1"),
]


@pytest.mark.parametrize("path, name, values, consequence", REPEATED)
def test_a_parameter_given_twice_is_used_by_neither_value_with_a_notice_naming_it(hub_app, seeded, as_role, path,
                                                                                  name, values, consequence):
    _with_webhook_log(hub_app)
    client = as_role("admin")
    answer = client.get(path, query_string=[(name, value) for value in values])
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, (path, name)
    assert notices(html) == {name: _repeated(name, values, consequence)}, (path, name)


def test_what_a_repeated_filter_lists_is_the_list_without_it(hub_app, seeded, as_role):
    client = as_role("admin")
    everyone = _all_ids(hub_app)
    html = client.get("/candidates?status=invited&status=completed").get_data(as_text=True)
    assert _row_ids(html) == everyone and len(everyone) > 1  # neither status: not only the invited ones
    status_select = html.split('id="filter-status"')[1].split("</select>")[0]
    assert " selected" not in status_select
    # the refresh lists what the page lists (it shows no notice of its own)
    fragment = client.get("/candidates?status=invited&status=completed&fragment=1")
    assert fragment.status_code == 200 and _row_ids(fragment.get_data(as_text=True)) == everyone
    every_event = _event_ids(client.get("/activity").get_data(as_text=True))
    one = sorted(every_event)[0]
    twice = client.get(f"/activity?event={one}&event={one}").get_data(as_text=True)
    assert notices(twice) == {"event": _repeated("event", [str(one)] * 2, "it shows every event")}
    assert _event_ids(twice) == every_event
    # Audit's Who: neither person
    admin, team = seeded.users["admin"], seeded.users["team_member"]
    audit = client.get(f"/audit?user={admin}&user={team}").get_data(as_text=True)
    assert notices(audit) == {"user": _repeated("user", [str(admin), str(team)], "it shows everyone's")}


def test_a_long_repeated_value_is_cut_in_its_notice_and_escaped(hub_app, seeded, as_role):
    value = "<b>" + "x" * 100
    html = as_role("admin").get("/candidates", query_string=[("q", value), ("q", "b"), ("q", "c"), ("q", "d")]) \
        .get_data(as_text=True)
    assert "<b>xxx" not in html
    shown = "<b>" + "x" * 37 + "…"
    assert notices(html) == {"q": f"“q” is given 4 times in the address (“{shown}”, “b”, “c”, …): the hub cannot "
                                  "tell which one is meant, so the search text is left out. Give it once."}


@pytest.mark.parametrize("raw", ["%0A", "%20", "%09", "%0D%0A"])
def test_an_event_number_with_whitespace_around_it_is_no_event_number(hub_app, seeded, as_role, raw):
    client = as_role("admin")
    every_event = _event_ids(client.get("/activity").get_data(as_text=True))
    one = sorted(every_event)[0]
    assert _event_ids(client.get(f"/activity?event={one}").get_data(as_text=True)) == {one}
    for query in (f"event={one}{raw}", f"event={raw}{one}"):
        answer = client.get(f"/activity?{query}")
        html = answer.get_data(as_text=True)
        assert answer.status_code == 200
        [(name, text)] = notices(html).items()
        assert name == "event" and text.endswith("is not an event number: the list shows every event. An event "
                                                 "number is a whole number, such as the event_id of a log line.")
        assert _event_ids(html) == every_event, query  # not event {one} alone


@pytest.mark.parametrize("path", ["/candidates", "/activity", "/audit", "/pipeline", "/integrations/fakesource"])
@pytest.mark.parametrize("raw", ["2%0A", "%202", "2%20", "%09", "%20"])
def test_a_page_number_with_whitespace_is_no_page_number(hub_app, seeded, as_role, path, raw):
    _with_webhook_log(hub_app)
    answer = as_role("admin").get(f"{path}?page={raw}")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    [(name, text)] = notices(html).items()
    assert name == "page" and text.endswith("is not a page number: the list shows page 1. Pages are numbered from 1.")
    assert 'data-reason="past-last-page"' not in html


def test_a_person_with_whitespace_around_their_id_is_no_person(hub_app, seeded, as_role):
    admin = seeded.users["admin"]
    html = as_role("admin").get(f"/audit?user={admin}%0A").get_data(as_text=True)
    assert set(notices(html)) == {"user"} and "There is no person" in notices(html)["user"]


def test_the_attach_page_chooses_no_posting_given_twice_and_says_so(hub_app, seeded, as_role):
    client = as_role("admin")
    one = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert 'id="stage"' in one  # one posting: its stages are offered
    answer = client.get("/pipeline/new?posting_id=p1&posting_id=p2")
    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 200
    assert ("The address gives more than one posting (“p1”, “p2”, as posting_id): choose the posting here."
            in html)
    assert 'id="stage"' not in html  # neither posting's stages
    edit = client.get(f"/pipeline/{seeded.ids['attachment']}/edit?posting_id=p2&posting_id=p1")
    assert edit.status_code == 200
    assert "The address gives more than one posting (“p2”, “p1”, as posting_id)" in unescape(edit.get_data(as_text=True))


def test_detach_goes_back_to_the_list_for_a_next_given_twice(hub_app, seeded, as_role):
    client = as_role("admin")
    attachment = seeded.ids["attachment"]
    once = client.get(f"/pipeline/{attachment}/detach?next=/pipeline?q%3DPython").get_data(as_text=True)
    assert 'href="/pipeline?q=Python" id="detach-keep"' in once
    twice = client.get(f"/pipeline/{attachment}/detach?next=/pipeline?q%3DPython&next=/pipeline?page%3D2")
    assert twice.status_code == 200 and 'href="/pipeline" id="detach-keep"' in twice.get_data(as_text=True)


def test_an_oauth_answer_giving_a_parameter_twice_connects_nothing(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    client = as_role("super_admin")
    with client.session_transaction() as session:
        session["oauth_state:fakesource"] = "the-state"
    answer = client.get("/integrations/fakesource/oauth/callback?state=the-state&code=one&code=two")
    html = unescape(answer.get_data(as_text=True))
    assert answer.status_code == 400 and 'id="error-page"' in html
    assert ("This answer from Fake ATS gives “code” more than once, so the hub cannot tell which is meant and "
            "connected nothing. Start again with “Connect” on the integration's page.") in html
    assert "oauth_complete" not in source.calls
    # the state was spent: the same answer given once is refused as one this hub did not start
    again = client.get("/integrations/fakesource/oauth/callback?state=the-state&code=one")
    assert again.status_code == 400 and "state mismatch" in again.get_data(as_text=True)

