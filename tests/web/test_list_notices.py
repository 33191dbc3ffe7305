"""The list pages (Candidates, Activity, Audit) answer any query string with the list: a value they
cannot use (a search past 200 characters, a status that is none, a page that is no number) is
replaced, and a notice in the filter area names it (escaped, cut when long). They used to answer a
bare 422 error page for a long search and to ignore an unknown status without a word."""

from __future__ import annotations

import re
from html import unescape

import pytest

from tests.web.test_candidates import _all_ids, _row_ids

LIST_PAGES = ("/candidates", "/activity", "/audit")


def notices(html: str) -> dict[str, str]:
    """The filter area's notices: query parameter -> the notice's text (unescaped)."""
    area = re.search(r'<div class="filters__notices" id="filter-notices" role="status">(.*?)</div>', html, re.S)
    if area is None:
        return {}
    assert area.start() > html.index('class="filters card"'), "the notices are not in the filters form"
    return {name: unescape(text) for name, text in
            re.findall(r'<p class="alert alert--warning" id="filter-notice-([a-z]+)">(.*?)</p>', area.group(1), re.S)}


def test_a_search_too_long_searches_its_first_200_characters_with_a_notice(hub_app, seeded, as_role):
    client = as_role("admin")
    answer = client.get("/candidates", query_string={"q": "Lovelace" + "x" * 60000})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert notices(html) == {"q": "The search text is too long: at most 200 characters. "
                                  "The list shows what matches its first 200."}
    assert f'value="Lovelace{"x" * 192}"' in html  # the search box holds what was searched
    assert _row_ids(html) == set()  # "Lovelace" then 192 x: no one
    ada = client.get("/candidates", query_string={"q": "  Ada" + " " * 200 + "z"}).get_data(as_text=True)
    assert "q" in notices(ada) and _row_ids(ada) == {seeded.ids["invitation"]}  # its first 200: "Ada"


def test_the_audit_filter_too_long_filters_by_its_beginning_with_a_notice(hub_app, seeded, as_role):
    answer = as_role("admin").get("/audit", query_string={"action": "_" * 26000})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert notices(html) == {"action": "The action filter is too long: at most 200 characters. "
                                       "The list shows what matches its first 200."}
    assert f'value="{"_" * 200}"' in html and 'data-reason="no-match"' in html


@pytest.mark.parametrize("path", ["/candidates", "/audit"])
def test_a_search_of_200_characters_is_no_mistake(hub_app, seeded, as_role, path):
    name = "q" if path == "/candidates" else "action"
    client = as_role("admin")
    for value in ("a" * 200, " " * 50 + "a" * 200 + " " * 50):  # spaces around are trimmed first
        answer = client.get(path, query_string={name: value})
        assert answer.status_code == 200 and notices(answer.get_data(as_text=True)) == {}
        if path == "/candidates":
            assert 'maxlength="200"' in answer.get_data(as_text=True)  # the box itself takes no more
        else:  # the Audit log's filter is a list: a beginning from a link is offered as chosen
            assert f'<option value="{"a" * 200}" selected>' in answer.get_data(as_text=True)


def test_an_unknown_status_shows_every_status_with_a_notice(hub_app, seeded, as_role):
    client = as_role("admin")
    answer = client.get("/candidates?status=bogus")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200
    assert notices(html) == {"status": "There is no status “bogus”: the list shows every status. "
                                       "Choose a status from the list to filter by one."}
    status_select = html.split('id="filter-status"')[1].split("</select>")[0]
    assert '<option value="">All statuses</option>' in status_select and " selected" not in status_select
    assert 'id="clear-filters"' not in html
    every = client.get("/candidates").get_data(as_text=True)
    assert _row_ids(html) == _row_ids(every) and _row_ids(every)
    activity = client.get("/activity?status=bogus")
    assert activity.status_code == 200
    assert notices(activity.get_data(as_text=True)) == {
        "status": "There is no delivery status “bogus”: the list shows every status. "
                  "Choose a delivery status from the list to filter by one."}


def test_an_unknown_assessment_posting_or_plugin_shows_every_one_with_a_notice(hub_app, seeded, as_role):
    client = as_role("admin")
    html = client.get("/candidates?assessment=nope:1&posting=nowhere").get_data(as_text=True)
    assert set(notices(html)) == {"assessment", "posting"}
    assert "There is no posting “nowhere”: the list shows every posting." in notices(html)["posting"]
    assert notices(html)["assessment"].endswith("Choose an assessment from the list to filter by one.")
    assert _row_ids(html) == _all_ids(hub_app)
    activity = client.get("/activity?plugin=nothing").get_data(as_text=True)
    assert notices(activity) == {"plugin": "There is no plugin “nothing”: the list shows every plugin's events. "
                                           "Choose a plugin from the list to filter by one."}
    assert '<article class="card event"' in activity


def test_a_plugin_no_longer_installed_still_filters_activity_by_its_events(hub_app, seeded, as_role):
    from hub.extensions import db
    from hub.store.models import Delivery

    with hub_app.app_context():
        row = db.session.get(Delivery, seeded.ids["delivery"])
        row.plugin = "retired"  # a delivery to a plugin uninstalled since
        db.session.commit()
    html = as_role("admin").get("/activity?plugin=retired").get_data(as_text=True)
    assert notices(html) == {}
    assert '<option value="retired" selected>' in html
    assert re.findall(r'<tr id="delivery-(\d+)"', html) == [str(seeded.ids["delivery"])]


@pytest.mark.parametrize("path", LIST_PAGES)
@pytest.mark.parametrize("raw", ["abc", "-1", "0", "1.5", "²", "1e3", " ", "2 "])
def test_a_page_that_is_no_number_shows_page_1_with_a_notice(hub_app, seeded, as_role, path, raw):
    client = as_role("admin")
    answer = client.get(path, query_string={"page": raw})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200, (path, raw)
    assert notices(html) == {"page": f"“{raw}” is not a page number: the list shows page 1. "
                                     "Pages are numbered from 1."}
    assert 'data-reason="past-last-page"' not in html


@pytest.mark.parametrize("path", LIST_PAGES)
@pytest.mark.parametrize("raw", ["", "500", "9" * 5000])
def test_a_page_that_is_a_whole_number_is_no_mistake(hub_app, seeded, as_role, path, raw):
    """Absent: page 1; past the last (even past what ``int()`` converts): the list's empty state
    says so and links to page 1."""
    answer = as_role("admin").get(path, query_string={"page": raw})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 200 and notices(html) == {}, (path, raw)
    assert ('data-reason="past-last-page"' in html) == (len(raw) > 1), (path, raw)


def test_a_bad_value_is_escaped_and_cut_in_its_notice(hub_app, seeded, as_role):
    value = "<script>alert(1)</script>" + "é" * 100
    html = as_role("admin").get("/candidates", query_string={"status": value, "page": value}).get_data(as_text=True)
    assert "<script>alert(1)" not in html
    shown = "<script>alert(1)</script>" + "é" * 15 + "…"  # 40 characters, then an ellipsis
    assert notices(html)["status"].startswith(f"There is no status “{shown}”:")
    assert notices(html)["page"].startswith(f"“{shown}” is not a page number")
    assert list(notices(html)) == ["status", "page"]


def test_the_refresh_fragment_lists_what_the_page_lists(hub_app, seeded, as_role):
    client = as_role("admin")
    query = {"status": "bogus", "q": "Ada" + " " * 300 + "z", "page": "abc"}
    page = client.get("/candidates", query_string=query).get_data(as_text=True)
    fragment = client.get("/candidates", query_string={**query, "fragment": "1"})
    assert fragment.status_code == 200 and 'id="filter-notices"' not in fragment.get_data(as_text=True)
    assert _row_ids(fragment.get_data(as_text=True)) == _row_ids(page) == {seeded.ids["invitation"]}


def test_the_refresh_reads_the_filter_options_only_to_check_a_choice(hub_app, seeded, as_role, monkeypatch):
    """The fragment is re-fetched every few seconds per open tab; the options (two DISTINCT
    queries) are needed only to check an assessment or posting given."""
    from hub.web import queries

    calls = []
    original = queries.invitation_filter_options
    monkeypatch.setattr(queries, "invitation_filter_options",
                        lambda user, chosen=None: calls.append(1) or original(user, chosen))
    client = as_role("admin")
    assert client.get("/candidates", query_string={"fragment": "1", "status": "invited"}).status_code == 200
    assert calls == []
    assert client.get("/candidates", query_string={"fragment": "1", "posting": "nope"}).status_code == 200
    assert calls == [1]
    assert client.get("/candidates").status_code == 200
    assert calls == [1, 1]
