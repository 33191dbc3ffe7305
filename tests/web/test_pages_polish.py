"""Rough edges of the admin pages found by walk-throughs (the pages task):

* a 403 offered only "Back to the dashboard": it now says what the viewer's role may not do there,
  names the workspace's people who may (active users holding the permission refused), lists the
  pages the role can use, and offers the page of this hub the viewer came from;
* the candidate page's links to the ATS and the vendor's report opened a new tab without saying so:
  every ``target="_blank"`` link says it (to screen readers and, by a mark, to sighted users) and
  carries ``rel="noopener noreferrer"``;
* the Dashboard's refused-webhook sentence ran on in the paragraph of the item before it: it is a
  paragraph of its own;
* the table stacking (a container query) had no fallback for browsers without container queries.
"""

from __future__ import annotations

import html as html_lib
import re
from pathlib import Path

import pytest

from hub.extensions import db
from hub.store.models import User
from hub.web.errors import MAX_PEOPLE_NAMED, PERMISSION_WORDS
from hub.web.permissions import PERMISSIONS
from tests.web.support import make_user

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "hub" / "web" / "templates"


def _text(fragment: str) -> str:
    return " ".join(html_lib.unescape(re.sub(r"<[^>]+>", " ", fragment)).split())


def _part(response, element_id: str) -> str | None:
    match = re.search(rf'<(p|ul) [^>]*id="{element_id}"[^>]*>(.*?)</\1>', response.get_data(as_text=True), re.S)
    return match.group(2) if match else None


# ------------------------------------------------------------------------------------- 1. the 403 page

def test_every_permission_has_words_for_the_403_page():
    assert set(PERMISSION_WORDS) == set(PERMISSIONS)


def test_a_403_says_what_the_role_may_not_do_here(as_role):
    refused = as_role("team_member").get("/settings/api-tokens")
    assert refused.status_code == 403
    assert _text(_part(refused, "error-may-not")) == "A Team Member may not create, list or revoke API tokens."
    admin = as_role("admin").post("/integrations/fakesource/disable")
    assert admin.status_code == 403
    assert _text(_part(admin, "error-may-not")).startswith("An Admin may not change an integration: enable or disable it")


def test_a_403_names_the_people_who_may_by_name_and_email(as_role, seeded, hub_app):
    with hub_app.app_context():
        super_admin = db.session.get(User, seeded.users["super_admin"])
        admin = db.session.get(User, seeded.users["admin"])
        expected_super = (super_admin.name, super_admin.email)
        expected_admin = (admin.name, admin.email)
        gone = make_user(seeded.workspace_id, "gone-super@acme.test", "super_admin", name="Gone Super")
        gone.active = False
        db.session.commit()
    # API tokens: Super Admins only, the deactivated one left out, another workspace's never named;
    # to an Admin, who may see the users (users.view), with their email
    page = as_role("admin").get("/settings/api-tokens")
    people = _text(_part(page, "error-people"))
    assert people == f"{expected_super[0]} · {expected_super[1]} (Super Admin)"
    assert f'href="mailto:{expected_super[1]}"' in page.get_data(as_text=True)
    assert "someone@other.test" not in page.get_data(as_text=True)
    # to a Team Member, who may not see the users, by name alone (a review: the page handed every
    # role the emails the Users page keeps from them)
    page = as_role("team_member").get("/settings/api-tokens")
    assert _text(_part(page, "error-people")) == f"{expected_super[0]} (Super Admin)"
    assert expected_super[1] not in page.get_data(as_text=True)
    # Users: Admins and Super Admins, the least powerful first (as "ask an Admin or a Super Admin")
    people = _text(_part(as_role("limited_team_member").get("/users"), "error-people"))
    assert people == f"{expected_admin[0]} (Admin) {expected_super[0]} (Super Admin)"


def test_a_403_names_at_most_a_few_people_and_counts_the_others(as_role, seeded, hub_app):
    with hub_app.app_context():
        for n in range(MAX_PEOPLE_NAMED + 2):
            make_user(seeded.workspace_id, f"extra-admin-{n}@acme.test", "admin", name=f"Extra Admin {n}")
        db.session.commit()
        holders = db.session.query(User).filter(User.workspace_id == seeded.workspace_id, User.active.is_(True),
                                                User.role.in_(("admin", "super_admin"))).count()
    page = as_role("team_member").get("/audit")
    assert len(re.findall(r"<li>", _part(page, "error-people"))) == MAX_PEOPLE_NAMED
    assert _text(re.search(r'id="error-people-more">(.*?)</li>', page.get_data(as_text=True)).group(1)) == \
        f"and {holders - MAX_PEOPLE_NAMED} more"


def test_a_403_lists_the_pages_the_role_can_use(as_role):
    pages = _part(as_role("team_member").get("/integrations"), "error-pages")
    assert re.findall(r'<a href="([^"]+)">([^<]+)</a>', pages) == [("/", "Dashboard"), ("/candidates", "Candidates")]
    pages = _part(as_role("admin").get("/settings/api-tokens"), "error-pages")
    assert ("/audit", "Audit log") in re.findall(r'<a href="([^"]+)">([^<]+)</a>', pages)
    assert "/settings/api-tokens" not in pages


@pytest.mark.parametrize("referrer, back", [
    ("http://localhost/candidates?status=failed", "/candidates?status=failed"),
    ("http://localhost//evil.example/path", "/evil.example/path"),  # never a link to another site
    ("https://elsewhere.example/candidates", None),  # another site
    ("https://localhost/candidates", "/candidates"),  # behind a proxy ending TLS the hub sees http
    ("ftp://localhost/candidates", None),
    ("http://localhost/settings/api-tokens", None),  # this very page: no way back to it
    ("not a url", None),
])
def test_a_403_offers_the_page_of_this_hub_it_came_from(as_role, referrer, back):
    page = as_role("team_member").get("/settings/api-tokens", headers={"Referer": referrer})
    assert page.status_code == 403
    link = re.search(r'<a class="btn btn--secondary" href="([^"]+)" id="error-go-back">([^<]+)</a>',
                     page.get_data(as_text=True))
    if back is None:
        assert link is None
    else:
        assert link and html_lib.unescape(link.group(1)) == back and link.group(2) == "Return to the previous page"


def test_a_403_of_a_rule_keeps_its_own_words_and_gets_the_way_back(as_role, seeded):
    page = as_role("admin").post(f"/users/{seeded.users['super_admin']}/role", data={"role": "team_member"},
                                 headers={"Referer": "http://localhost/users"})
    assert page.status_code == 403
    assert _part(page, "error-may-not") is None and _part(page, "error-people") is None
    assert 'href="/users" id="error-go-back"' in page.get_data(as_text=True)


# ------------------------------------------------------------------------- 2. links opening a new tab

def test_every_link_that_opens_a_new_tab_says_so_and_keeps_the_opener_out():
    found = 0
    for path in TEMPLATES.rglob("*.html"):
        for anchor in re.findall(r"<a\b[^>]*\btarget=\"_blank\"[^>]*>.*?</a>", path.read_text(), re.S):
            found += 1
            where = f"{path.relative_to(ROOT)}: {anchor[:120]}"
            assert 'rel="noopener noreferrer"' in anchor, where
            hint = re.search(r'<span class="visually-hidden">([^<]*)</span></a>$', anchor)
            assert hint and "in a new tab)" in hint.group(1), where
    assert found >= 6, found


def test_the_candidate_page_s_links_to_the_ats_and_the_report_say_they_open_a_new_tab(as_role, seeded):
    page = as_role("admin").get(f"/candidates/{seeded.ids['invitation']}").get_data(as_text=True)
    for link_id, words in (("profile-link", "Profile in the ATS (opens in a new tab)"),
                           ("report-link", "Assessment report (opens Fake Tests in a new tab)")):
        anchor = re.search(rf'<a [^>]*id="{link_id}"[^>]*>(.*?)</a>', page, re.S)
        assert anchor and _text(anchor.group(1)) == words, link_id


def test_a_new_tab_link_has_a_mark_that_screen_readers_skip():
    css = (ROOT / "hub" / "web" / "static" / "hub.css").read_text()
    rule = re.search(r'a\[target="_blank"\]::after \{([^}]*)\}', css)
    assert rule, "no mark after the links that open a new tab"
    # the fallback for browsers without alternative text first, then the mark with an empty one
    assert re.search(r'content: "\\2197";\s*content: "\\2197" / "";', rule.group(1)), rule.group(1)


# --------------------------------------------------------------- 3. the Dashboard's refused webhooks

def _refused_webhook_log(hub_app, workspace_id: int, plugin: str) -> None:
    from hub.store.models import WebhookLog, utcnow

    with hub_app.app_context():
        db.session.add(WebhookLog(workspace_id=workspace_id, plugin=plugin, outcome="rejected", status_code=401,
                                  message="signature does not match", received_at=utcnow()))
        db.session.commit()


def _alert(html: str, alert_id: str) -> str:
    return re.search(rf'<div class="alert [^"]*" role="status" id="{alert_id}">(.*?)</div>', html, re.S).group(1)


@pytest.mark.parametrize("plugin, alert_id, item_id", [
    ("fakeassess", "attention-idle-providers", "idle-fakeassess"),  # no credentials: its assessments invite nobody
    ("fakesource", "attention-failing", "failing-fakesource"),  # enabled and failing
])
def test_a_refusal_said_in_another_item_is_a_paragraph_of_its_own(hub_app, seeded, as_role, plugin, alert_id, item_id):
    from hub.store.models import Integration

    if plugin == "fakesource":
        with hub_app.app_context():
            row = db.session.query(Integration).filter_by(workspace_id=seeded.workspace_id, plugin=plugin).one()
            row.status = "error"
            db.session.commit()
    _refused_webhook_log(hub_app, seeded.workspace_id, plugin)
    html = as_role("super_admin").get("/").get_data(as_text=True)
    alert = _alert(html, alert_id)
    # the item's paragraph closes before the refusal's opens: two lines, not one run-on sentence
    assert re.search(rf'<p id="{item_id}">((?!<p).)*</p>\s*<p id="refused-{plugin}">.*? was refused.*?</p>',
                     alert, re.S), alert
    assert '<span id="refused-' not in html


def test_a_refusal_of_the_missing_ats_is_a_paragraph_of_its_own(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    owner.post("/integrations/fakesource/disable")
    _refused_webhook_log(hub_app, seeded.workspace_id, "fakesource")
    alert = _alert(owner.get("/").get_data(as_text=True), "attention-no-source")
    paragraphs = re.findall(r"<p( id=\"[^\"]+\")?>(.*?)</p>", alert, re.S)
    assert len(paragraphs) == 2 and paragraphs[1][0] == ' id="refused-fakesource"', alert
    assert "<p" not in paragraphs[0][1] and _text(paragraphs[1][1]).startswith("1 webhook from Fake ATS was refused")


# ------------------------------------------ 5. stacking tables without container queries (the fallback)

CSS = ROOT / "hub" / "web" / "static" / "hub.css"
NO_CONTAINER_QUERIES = "@supports not (container-type: inline-size)"


def css_block(css: str, header: str) -> str:
    """The text between the braces of the block that opens with ``header`` (nested blocks kept)."""
    start = css.index(header + " {") + len(header) + 2
    depth = 1
    for n in range(start, len(css)):
        depth += {"{": 1, "}": -1}.get(css[n], 0)
        if depth == 0:
            return css[start:n]
    raise AssertionError(f"{header}: no closing brace")


def _rules(block: str) -> list[str]:
    """A block's rules, comments and spaces left out."""
    block = re.sub(r"/\*.*?\*/", "", block, flags=re.S)
    return [" ".join(rule.split()) + "}" for rule in block.split("}") if rule.strip()]


def test_without_container_queries_the_tables_stack_by_the_window_s_width_by_the_same_rules():
    css = CSS.read_text()
    fallback = css_block(css, NO_CONTAINER_QUERIES)
    # a list's card is 294 px narrower than a window from 821 px (the menu, the page's sides): it is
    # under 800 px below a 1094 px window, and under 960 px below a 1254 px one
    assert _rules(css_block(fallback, "@media (max-width: 1093px)")) == \
        _rules(css_block(css, "@container table-card (width < 800px)"))
    assert _rules(css_block(fallback, "@media (min-width: 1094px) and (max-width: 1253px)")) == \
        _rules(css_block(css, "@container table-card (800px <= width < 960px)"))


# --------------------------------------------------- 6. the keyboard and screen reader walk's findings

def test_the_menu_is_the_site_s_banner_not_a_complementary_aside(as_role):
    html = as_role("team_member").get("/").get_data(as_text=True)
    assert "<aside" not in html
    banner = re.search(r'<header class="sidebar">(.*?)</header>', html, re.S)
    assert banner and 'aria-label="Main"' in banner.group(1) and 'id="sign-out-button"' in banner.group(1)


def test_each_event_is_named_by_its_heading_and_its_payload_says_whose(as_role):
    html = as_role("admin").get("/activity").get_data(as_text=True)
    events = re.findall(r'<article class="card event" id="event-(\d+)"[^>]*aria-labelledby="event-(\d+)-title"', html)
    assert events and all(a == b for a, b in events), events
    for event_id, _ in events:
        assert f'<span id="event-{event_id}-title">' in html
    summaries = [_text(s) for s in re.findall(r"<summary>(.*?)</summary>", html, re.S)]
    assert [s for s in summaries if s.startswith("Payload")] == [f"Payload of event {event_id}" for event_id, _ in events]
    assert all(re.search(r"of event \d+$", s) for s in summaries), summaries  # each says whose (an error as recorded too)


@pytest.mark.parametrize("path, form_id", [("/candidates", "candidate-filters"), ("/pipeline", "pipeline-filters"),
                                           ("/activity", "activity-filters"), ("/audit", "audit-filters"),
                                           ("/integrations/fakesource", "webhook-log-filters")])
def test_every_list_s_filters_are_a_search_landmark(as_role, hub_app, seeded, path, form_id):
    if path.startswith("/integrations/"):
        _refused_webhook_log(hub_app, seeded.workspace_id, "fakesource")  # the log's filters show once it holds a line
    html = as_role("super_admin").get(path).get_data(as_text=True)
    form = re.search(rf'<form [^>]*id="{form_id}"[^>]*>', html)
    assert form and 'role="search"' in form.group(0), form and form.group(0)
