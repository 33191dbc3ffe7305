"""docs/admin-guide.md says what the pages show: the Pipeline's page size and lenient filters, and
the ways to Activity's search for one candidate (from Candidates, from a candidate's page, and its
"Nobody invited" badge) in the words the pages use."""

from __future__ import annotations

import inspect
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GUIDE = " ".join((ROOT / "docs" / "admin-guide.md").read_text().split())
TEMPLATES = ROOT / "hub" / "web" / "templates"


def test_the_pipeline_pages_and_filters_as_the_guide_says():
    from hub.web.ui import pipeline

    assert f"The Pipeline list shows the attachments by posting and stage, {pipeline.PIPELINE_PAGE} a page;" in GUIDE
    assert "ListArgs()" in inspect.getsource(pipeline.pipeline)  # a bad page or search: a notice, still 200
    assert "Activity, Audit and Pipeline read their filters the same way." in GUIDE


def test_the_ways_to_activitys_search_for_a_candidate_are_named_as_the_pages_name_them():
    """A Candidates search that finds nobody points to Activity's search (a candidate never invited
    has no row), a candidate's page links to it, and a stage change that invited nobody says so."""
    label = "Candidate or webhook id"
    assert f'<label for="filter-about">{label}</label>' in (TEMPLATES / "activity" / "list.html").read_text()
    assert f"Activity's {label} search" in (TEMPLATES / "candidates" / "_list.html").read_text()
    assert f"a search that finds nothing points Admins to Activity's **{label}** search" in GUIDE
    link = "Everything about this candidate on Activity"
    assert link in (TEMPLATES / "candidates" / "_detail.html").read_text()
    assert f"a candidate's page links there: **{link}**" in GUIDE
    assert "'Nobody invited'" in (TEMPLATES / "activity" / "_events.html").read_text()
    row = GUIDE[GUIDE.index("| A recruiter says a candidate moved into an attached stage was not invited |"):
                GUIDE.index("| Webhook not verified |")]
    assert "badged **Nobody invited** with the reason" in row
