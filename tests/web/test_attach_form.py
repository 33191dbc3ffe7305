"""The attach form's errors, found walking the UI: one submit reports every problem (a bad pass
threshold used to hide the missing stage and assessment until the next submit), each message says
what to enter, and the error summary lists them in the order of the form's fields."""

from __future__ import annotations

import re


def attach(client, **fields):
    data = {"posting_id": "p1", "stage_id": "", "assessment": "", "pass_threshold": ""}
    data.update(fields)
    return client.post("/pipeline/new", data=data)


def field_error(html: str, error_id: str) -> str | None:
    match = re.search(rf'<p class="field-error" id="{error_id}">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


def summary_links(html: str) -> list[str]:
    summary = re.search(r'<div class="alert alert--danger error-summary"[^>]*>(.*?)</div>', html, re.S)
    assert summary, "no error summary"
    return re.findall(r'<a href="#([^"]+)">', summary.group(1))


def test_a_bad_pass_threshold_does_not_hide_the_missing_stage_and_assessment(seeded, as_role):
    answer = attach(as_role("admin"), pass_threshold="150")
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert field_error(html, "stage-error") == "Choose a stage."
    assert field_error(html, "assessment-error") == "Choose an assessment."
    assert field_error(html, "pass_threshold-error") == (
        "Enter a pass threshold from 0 to 100 (a percent of the maximum score), or leave it empty for none.")


def test_the_error_summary_follows_the_order_of_the_form(seeded, as_role):
    html = attach(as_role("admin"), pass_threshold="-1", tag_results="maybe").get_data(as_text=True)
    assert summary_links(html) == ["stage", "assessment", "pass_threshold", "tag_results"]


def test_a_good_threshold_with_a_missing_stage_names_only_what_is_missing(seeded, as_role):
    html = attach(as_role("admin"), pass_threshold="70", assessment="fakeassess:py").get_data(as_text=True)
    assert summary_links(html) == ["stage"]
    assert 'value="70"' in html  # what was typed is kept
