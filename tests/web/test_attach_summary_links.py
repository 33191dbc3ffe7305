"""The attach form's error summary links each problem to its field only when that field is on the
page: while the source (ATS) cannot be read, or no source is enabled, the page shows neither the
posting nor the stage and assessment, and the summary names their problems as plain text (it used
to link to ``#stage``, ``#assessment``..., which led nowhere)."""

from __future__ import annotations

import re

from tests.web.support import vendor_error
from tests.web.test_attach_form import attach


def summary(html: str) -> str:
    found = re.search(r'<div class="alert alert--danger error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert found, "no error summary"
    return found.group(1)


def links(html: str) -> list[str]:
    return re.findall(r'<a href="#([^"]*)"', summary(html))


def assert_links_lead_somewhere(html: str) -> None:
    for anchor in links(html):
        assert f'id="{anchor}"' in html, f"the summary links to #{anchor}, which is not on the page"


def test_with_the_source_down_the_summary_names_the_problems_without_links(seeded, as_role, fakes):
    source, _ = fakes
    client = as_role("admin")
    source.fail = vendor_error("Fake ATS is down for maintenance")
    answer = attach(client, pass_threshold="150", tag_results="maybe")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert 'id="source-error"' in html and 'id="attach-form"' not in html and 'id="posting"' not in html
    assert links(html) == []
    text = summary(html)
    for message in ("Choose a stage.", "Choose an assessment.", "Enter a pass threshold from 0 to 100",
                    "Choose Yes, No or the integration&#39;s setting."):
        assert re.search(rf"<li>\s*{re.escape(message)}", text), message


def test_with_no_source_enabled_the_summary_names_the_problems_without_links(seeded, as_role):
    as_role("super_admin").post("/integrations/fakesource/disable")
    answer = attach(as_role("admin"), pass_threshold="-1")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422 and 'id="no-source"' in html
    assert links(html) == [] and "Choose a stage." in summary(html)
    assert_links_lead_somewhere(html)


def test_with_the_source_up_every_problem_links_to_its_field(seeded, as_role):
    client = as_role("admin")
    html = attach(client, pass_threshold="150", tag_results="maybe").get_data(as_text=True)
    assert links(html) == ["stage", "assessment", "pass_threshold", "tag_results"]
    assert_links_lead_somewhere(html)
    unknown = client.get("/pipeline/new?posting_id=nowhere").get_data(as_text=True)
    assert links(unknown) == ["posting"]
    assert_links_lead_somewhere(unknown)
