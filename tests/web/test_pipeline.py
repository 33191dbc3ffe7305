"""Pipeline: attach an assessment to a stage from live lists, edit, detach; stale stages; vendor failures."""

from __future__ import annotations

import re
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from hub.entities import Stage
from hub.extensions import db
from hub.store.models import Attachment, utcnow
from tests.web.support import vendor_error


def _rows(app, **filters) -> list[Attachment]:
    with app.app_context():
        query = sa.select(Attachment).where(Attachment.detached_at.is_(None))
        for key, value in filters.items():
            query = query.where(getattr(Attachment, key) == value)
        rows = list(db.session.scalars(query))
        for row in rows:
            db.session.expunge(row)
        return rows


def test_attach_an_assessment_step_by_step(hub_app, seeded, as_role):
    client = as_role("admin")
    step1 = client.get("/pipeline/new").get_data(as_text=True)
    assert 'id="attach-posting-form"' in step1 and 'method="get"' in step1
    assert re.search(r'<optgroup label="Published \(2\)">\s*<option value="p1">Python Developer</option>', step1)
    assert 'id="attach-form"' not in step1  # no stage before a posting is chosen

    step2 = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert '<option value="p1" selected>' in step2
    form = re.search(r'<form method="post"[^>]*id="attach-form"(.*?)</form>', step2, re.S).group(1)
    assert '<option value="canditech">Canditech Stage</option>' in form
    assert '<option value="fakeassess:py">Python Developer — Fake Tests (60 min)</option>' in form
    for field_id in ("stage", "assessment", "pass_threshold", "move_to_stage_on_thumbs_up",
                     "archive_reason_on_thumbs_down", "remind_on_reentry", "tag_results"):
        assert f'<label for="{field_id}">' in form, field_id
    # the source lists its archive reasons: they are offered, not typed
    assert '<select id="archive_reason_on_thumbs_down"' in form and '<option value="reason-1">Not a fit</option>' in form

    response = client.post("/pipeline/new", data={
        "posting_id": "p1", "stage_id": "canditech", "assessment": "fakeassess:py", "pass_threshold": "70",
        "move_to_stage_on_thumbs_up": "s2", "archive_reason_on_thumbs_down": "reason-1", "remind_on_reentry": "y"},
        follow_redirects=True)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Python Developer attached to “Canditech Stage” of Python Developer." in html
    [row] = _rows(hub_app, stage_id="canditech")
    assert (row.posting_name, row.stage_name, row.provider, row.assessment_id, row.assessment_name) == (
        "Python Developer", "Canditech Stage", "fakeassess", "py", "Python Developer")
    assert row.options == {"pass_threshold": 70.0, "move_to_stage_on_thumbs_up": "s2",
                           "archive_reason_on_thumbs_down": "reason-1", "remind_on_reentry": True}
    listed = re.search(rf'<tr id="attachment-{row.id}"(.*?)</tr>', html, re.S).group(1)
    assert "Canditech Stage" in listed and "Pass at 70%" in listed and "70.0" not in listed

    # the same attachment twice is refused inline
    again = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "canditech",
                                               "assessment": "fakeassess:py"})
    assert again.status_code == 422
    assert "already attached" in again.get_data(as_text=True)


def test_invalid_choices_are_shown_inline(hub_app, seeded, as_role):
    client = as_role("admin")
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "", "assessment": "fakeassess:nope",
                                                  "pass_threshold": "150"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="pass_threshold-error"' in html and "100" in html
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "", "assessment": "fakeassess:nope"})
    html = response.get_data(as_text=True)
    assert 'id="stage-error"' in html and 'id="assessment-error"' in html
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "gone", "assessment": "fakeassess:nope"})
    html = response.get_data(as_text=True)
    assert "This stage does not exist (any more) at the source." in html
    assert "This assessment does not exist (any more) at the provider." in html
    assert not _rows(hub_app, stage_id="gone")
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py",
                                                  "archive_reason_on_thumbs_down": "no-such-reason"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "This archive reason does not exist at the source." in html
    assert '<option value="no-such-reason" selected>no-such-reason (not offered by your ATS any more)</option>' in html
    assert not _rows(hub_app, stage_id="s9")


def test_without_a_list_of_archive_reasons_the_reason_is_typed_and_taken_as_is(make_app):
    from tests.web.support import FakeAssess, FakeSource, seed, sign_in

    class SourceWithoutReasons(FakeSource):
        source_list_archive_reasons = None  # not a hook implementation: this source does not list them

    app = make_app(plugins=[("fakesource", SourceWithoutReasons()), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    client = app.test_client()
    sign_in(client, seeded.email("admin"))
    form = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert '<input type="text" id="archive_reason_on_thumbs_down"' in form and "does not list them" in form
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py",
                                                  "archive_reason_on_thumbs_down": "typed-reason"})
    assert response.status_code == 302
    [row] = _rows(app, stage_id="s9")
    assert row.options["archive_reason_on_thumbs_down"] == "typed-reason"


def test_the_list_warns_when_a_stage_no_longer_exists(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    source.stages = [s for s in source.stages if s.id != "s1"] + [Stage("s99", "New stage")]
    html = as_role("admin").get("/pipeline").get_data(as_text=True)
    shared = seeded.ids["attachment"]
    row = re.search(rf'<tr id="attachment-{shared}"([^>]*)>(.*?)</tr>', html, re.S)
    assert 'data-stage-missing="true"' in row.group(1)
    assert "The stage “Stage 1” no longer exists at the source" in row.group(2)
    keep = seeded.per_role["admin"]["att_keep"]
    assert 'data-stage-missing' not in re.search(rf'<tr id="attachment-{keep}"([^>]*)>', html).group(1)


def test_vendor_failures_render_the_page_with_a_message(hub_app, seeded, as_role, fakes):
    source, assess = fakes
    client = as_role("admin")
    source.fail = vendor_error("Fake ATS is down for maintenance")
    for page in ("/pipeline", "/pipeline/new", "/pipeline/new?posting_id=p1"):
        response = client.get(page)
        assert response.status_code == 200, page
        assert "Fake ATS is down for maintenance" in response.get_data(as_text=True), page
    source.fail = None
    good = source.postings
    source.postings = [{"id": "p1", "title": "not a Posting"}]  # a buggy plugin
    response = client.get("/pipeline/new")
    assert response.status_code == 200
    assert "Fake ATS failed: it returned dict items, not Posting" in response.get_data(as_text=True)
    source.postings = good
    assess.fail = ConnectionError("timed out")
    response = client.get("/pipeline/new?posting_id=p1")
    assert response.status_code == 200
    assert "Fake Tests failed: ConnectionError (the hub&#39;s log has the details)" in response.get_data(as_text=True)
    # and the API says the same with a 502 in the error envelope
    api = hub_app.test_client()
    source.fail = vendor_error("Fake ATS is down")
    response = api.get("/api/v1/postings", headers={"Authorization": f"Bearer {seeded.tokens['admin']}"})
    assert response.status_code == 502
    # the message already names the plugin: it is not prefixed a second time
    assert response.get_json()["error"] == {"code": "vendor_error", "message": "Fake ATS is down"}
    assessments = api.get("/api/v1/assessments", headers={"Authorization": f"Bearer {seeded.tokens['admin']}"})
    assert assessments.status_code == 200
    assert assessments.get_json()["errors"] == ["Fake Tests failed: ConnectionError (the hub's log has the details)"]


def test_without_a_source_or_provider_the_page_says_so(hub_app, seeded, as_role):
    owner = as_role("super_admin")
    owner.post("/integrations/fakesource/disable")
    owner.post("/integrations/fakeassess/disable")
    html = owner.get("/pipeline/new").get_data(as_text=True)
    assert 'id="no-source"' in html and 'id="no-provider"' in html
    assert 'href="/integrations"' in html
    # with attachments of the disabled provider: the red banner names it, nothing says it twice
    html = owner.get("/pipeline").get_data(as_text=True)
    assert 'id="no-provider"' not in html and 'data-also=' not in html
    assert "Fake Tests is disabled: its attachments below invite nobody." in re.sub(r"\s+", " ", html)
    # with nothing attached, the Pipeline page says both in one banner, with one way on
    with hub_app.app_context():
        db.session.execute(sa.update(Attachment).values(detached_at=utcnow()))
        db.session.commit()
    html = owner.get("/pipeline").get_data(as_text=True)
    assert html.count('class="alert alert--warning"') == 1 and 'data-also="no-provider"' in html
    text = re.sub(r"<[^>]+>", "", re.search(r'id="no-source"[^>]*>(.*?)</div>', html, re.S).group(1))
    assert text == ("Neither a source (ATS) integration nor an assessment provider is enabled, so there are no "
                    "postings or stages to attach to, and no assessments to attach. Enable and connect them in "
                    "Integrations.")
    owner.post("/integrations/fakesource/enable")
    html = owner.get("/pipeline").get_data(as_text=True)
    text = re.sub(r"<[^>]+>", "", re.search(r'id="no-provider"[^>]*>(.*?)</div>', html, re.S).group(1))
    assert 'id="no-source"' not in html and text == "No assessment provider is enabled. Enable and connect one in Integrations."


def test_attach_is_offered_only_while_an_ats_and_a_provider_are_enabled(seeded, as_role):
    owner = as_role("super_admin")
    assert 'id="attach-link"' in owner.get("/pipeline").get_data(as_text=True)
    owner.post("/integrations/fakesource/disable")  # no postings to attach to: the banner leads on
    html = owner.get("/pipeline").get_data(as_text=True)
    assert 'id="attach-link"' not in html and 'id="no-source"' in html
    owner.post("/integrations/fakesource/enable")
    owner.post("/integrations/fakeassess/disable")  # no assessments to attach
    html = owner.get("/pipeline").get_data(as_text=True)
    assert 'id="attach-link"' not in html and 'id="idle-providers"' in html


def test_without_a_source_the_pipeline_names_the_next_step_for_the_viewer_s_role(hub_app, seeded, as_role):
    import re

    as_role("super_admin").post("/integrations/fakesource/disable")
    steps = {}
    for role in ("super_admin", "admin"):  # the only roles that see the pipeline
        html = as_role(role).get("/pipeline").get_data(as_text=True)
        steps[role] = re.sub(r"<[^>]+>", "", re.search(r'id="no-source">(.*?)</div>', html, re.S).group(1))
    assert steps["super_admin"].endswith("Enable it in Integrations.")
    assert steps["admin"].endswith("A Super Admin can enable it in Integrations.")
    # the API's refusal names who can act, not a step the caller may not take
    answer = hub_app.test_client().get("/api/v1/postings", headers={"Authorization": f"Bearer {seeded.tokens['admin']}"})
    assert answer.status_code == 409
    assert "a Super Admin enables and connects one" in answer.get_json()["error"]["message"]


def test_empty_state_invites_to_attach(hub_app, as_role, seeded):
    with hub_app.app_context():
        db.session.execute(sa.update(Attachment).values(detached_at=sa.func.now()))
        db.session.commit()
    html = as_role("admin").get("/pipeline").get_data(as_text=True)
    assert 'id="no-attachments"' in html and "No assessment attached yet" in html
    assert 'href="/pipeline/new"' in html


def test_edit_and_detach(hub_app, seeded, as_role):
    client = as_role("admin")
    attachment_id = seeded.per_role["admin"]["att_keep"]
    page = client.get(f"/pipeline/{attachment_id}/edit").get_data(as_text=True)
    assert '<option value="s4" selected>Stage 4</option>' in page
    response = client.post(f"/pipeline/{attachment_id}/edit", data={
        "posting_id": "p1", "stage_id": "s2", "assessment": "fakeassess:sup", "tag_results": "y"})
    assert response.status_code == 302
    [row] = [r for r in _rows(hub_app) if r.id == attachment_id]
    assert (row.stage_name, row.assessment_name, row.options) == ("Stage 2", "Support Basics",
                                                                  {"tag_results": True})

    confirm = client.get(f"/pipeline/{attachment_id}/detach").get_data(as_text=True)
    assert 'id="detach-confirm"' in confirm and "no longer invited" in confirm
    assert client.post(f"/pipeline/{attachment_id}/detach").status_code == 302
    assert attachment_id not in [r.id for r in _rows(hub_app)]
    assert client.get(f"/pipeline/{attachment_id}/edit").status_code == 404
    # Back to the confirmation page after detaching: it says what happened, not "no such attachment"
    again = client.get(f"/pipeline/{attachment_id}/detach")
    assert again.status_code == 404
    assert ("Support Basics was detached from “Stage 2” of Python Developer; attach it again on Pipeline"
            in again.get_data(as_text=True))


def test_yes_no_options_default_to_the_integration_setting(hub_app, seeded, as_role):
    client = as_role("admin")
    page = client.get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert '<option value="" selected>Use Fake Tests&#39; setting</option>' in page  # remind_on_reentry
    assert '<option value="" selected>Use Fake ATS&#39;s setting</option>' in page  # tag_results
    client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s3", "assessment": "fakeassess:py"})
    client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s2", "assessment": "fakeassess:py",
                                       "tag_results": "no", "remind_on_reentry": "yes"})
    options = {row.stage_id: row.options for row in _rows(hub_app) if row.stage_id in ("s2", "s3")
               and row.assessment_id == "py"}
    assert "tag_results" not in options["s3"] and "remind_on_reentry" not in options["s3"]
    assert options["s2"] == {"tag_results": False, "remind_on_reentry": True}


@pytest.mark.parametrize("field", ["remind_on_reentry", "tag_results"])
def test_a_yes_no_option_that_is_not_a_choice_is_refused(hub_app, seeded, as_role, field):
    client = as_role("admin")
    response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s8", "assessment": "fakeassess:py",
                                                  field: "maybe"})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert (f'<p class="field-error" id="{field}-error">Choose Yes, No or the integration&#39;s setting.</p>'
            in html)
    assert f'aria-describedby="{field}-help {field}-error" aria-invalid="true"' in html
    assert not _rows(hub_app, stage_id="s8")
    edit = seeded.per_role["admin"]["att_keep"]
    response = client.post(f"/pipeline/{edit}/edit", data={"posting_id": "p1", "stage_id": "s4",
                                                          "assessment": "fakeassess:py", field: "perhaps"})
    assert response.status_code == 422
    [row] = [r for r in _rows(hub_app) if r.id == edit]
    assert row.options == {}


def test_an_unknown_provider_is_shown_at_the_assessment_choice(hub_app, seeded, as_role):
    client = as_role("admin")
    for assessment, message in (("nosuch:py", "“nosuch” is not an enabled assessment provider."),
                                ("fakeassess:", "Choose an assessment."), ("", "Choose an assessment.")):
        response = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s8", "assessment": assessment})
        html = response.get_data(as_text=True)
        assert response.status_code == 422
        assert f'<p class="field-error" id="assessment-error">{message}</p>' in html
        assert 'id="provider-error"' not in html and 'id="attach-error"' not in html


def test_a_kept_archive_reason_the_source_dropped_does_not_block_an_edit(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    client = as_role("admin")
    created = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py",
                                                 "archive_reason_on_thumbs_down": "reason-2"})
    assert created.status_code == 302
    [row] = _rows(hub_app, stage_id="s9")
    source.archive_reasons = [r for r in source.archive_reasons if r.id != "reason-2"]  # gone at the ATS
    edited = client.post(f"/pipeline/{row.id}/edit", data={
        "posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py", "pass_threshold": "60",
        "archive_reason_on_thumbs_down": "reason-2"})
    assert edited.status_code == 302, edited.get_data(as_text=True)
    [row] = _rows(hub_app, stage_id="s9")
    assert row.options["archive_reason_on_thumbs_down"] == "reason-2" and row.options["pass_threshold"] == 60.0


def test_the_form_still_works_when_only_the_archive_reasons_cannot_be_read(hub_app, seeded, as_role, fakes):
    source, _ = fakes
    source.archive_reasons = None  # the hook now fails
    page = as_role("admin").get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert 'id="attach-form"' in page and '<input type="text" id="archive_reason_on_thumbs_down"' in page


def test_an_edit_that_would_copy_another_live_attachment_is_refused_inline(hub_app, seeded, as_role):
    client = as_role("admin")
    first = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s8", "assessment": "fakeassess:py"})
    second = client.post("/pipeline/new", data={"posting_id": "p1", "stage_id": "s9", "assessment": "fakeassess:py"})
    assert first.status_code == second.status_code == 302
    [moved] = _rows(hub_app, stage_id="s9", assessment_id="py")
    refused = client.post(f"/pipeline/{moved.id}/edit", data={"posting_id": "p1", "stage_id": "s8",
                                                               "assessment": "fakeassess:py"})
    assert refused.status_code == 422 and "already attached" in refused.get_data(as_text=True)
    assert len(_rows(hub_app, stage_id="s8", assessment_id="py")) == 1
    assert [r.id for r in _rows(hub_app, stage_id="s9", assessment_id="py")] == [moved.id]


def test_the_database_holds_one_live_attachment_per_stage_and_assessment(hub_app, seeded):
    """The partial unique index settles what the service's check cannot: two saves at once."""
    from sqlalchemy.exc import IntegrityError

    values = dict(workspace_id=seeded.workspace_id, posting_id="p1", posting_name="P", stage_id="s10",
                  stage_name="S", provider="fakeassess", assessment_id="py", assessment_name="A", options={})
    with hub_app.app_context():
        db.session.add(Attachment(**values))
        db.session.commit()
        db.session.add(Attachment(**values))
        with pytest.raises(IntegrityError):
            db.session.commit()
        db.session.rollback()
        db.session.add(Attachment(**values, detached_at=utcnow()))  # detached copies are history: any number
        db.session.add(Attachment(**values, detached_at=utcnow()))
        db.session.commit()
    assert len(_rows(hub_app, stage_id="s10", assessment_id="py")) == 1


def test_the_list_is_searched_and_paged(hub_app, seeded, as_role):
    """A large account's hundreds of attachments came on one page, each checked against the
    source: now 50 a page, and a search by posting, stage or assessment name."""
    from hub.web.ui.pipeline import PIPELINE_PAGE

    with hub_app.app_context():
        for number in range(PIPELINE_PAGE + 5):
            db.session.add(Attachment(workspace_id=seeded.workspace_id, posting_id=f"bulk-{number}",
                                      posting_name=f"Warehouse Associate {number:03d}", stage_id="s1",
                                      stage_name="Stage 1", provider="fakeassess", assessment_id="py",
                                      assessment_name="Python Developer", options={}))
        db.session.commit()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment).where(
            Attachment.workspace_id == seeded.workspace_id, Attachment.detached_at.is_(None)))
    client = as_role("admin")

    def listed(html):
        return re.findall(r'<tr id="attachment-(\d+)"', html)

    first = client.get("/pipeline").get_data(as_text=True)
    assert len(listed(first)) == PIPELINE_PAGE and f"· {total} in all" in first and 'id="page-next"' in first
    last_page = -(-total // PIPELINE_PAGE)
    rest = client.get(f"/pipeline?page={last_page}").get_data(as_text=True)
    assert len(listed(rest)) == total - PIPELINE_PAGE * (last_page - 1) and not set(listed(rest)) & set(listed(first))

    found = client.get("/pipeline?q=warehouse associate 05").get_data(as_text=True)
    names = re.findall(r"<td><strong>(.*?)</strong></td>", found)
    assert names == [f"Warehouse Associate {n:03d}" for n in range(50, 55)]
    assert "5 attachments match these filters" in found
    assert 'value="warehouse associate 05"' in found and 'id="attach-link"' in found  # the header keeps Attach

    support = listed(client.get("/pipeline?q=SUPPORT basics").get_data(as_text=True))  # an assessment's name
    with hub_app.app_context():
        expected = {str(i) for i in db.session.scalars(sa.select(Attachment.id).where(
            Attachment.assessment_name == "Support Basics", Attachment.workspace_id == seeded.workspace_id,
            Attachment.detached_at.is_(None)))}
    assert set(support) == expected and expected

    with hub_app.app_context():
        db.session.add(Attachment(workspace_id=seeded.workspace_id, posting_id="ecole", posting_name="ÉCOLE Développeur",
                                  stage_id="s1", stage_name="Évaluation", provider="fakeassess", assessment_id="py",
                                  assessment_name="Python Developer", options={}))
        db.session.commit()
    for term in ("école", "ecole developpeur", "EVALUATION"):  # any case, any accents, on SQLite too
        names = re.findall(r"<td><strong>(.*?)</strong></td>", client.get(f"/pipeline?q={term}").get_data(as_text=True))
        assert names == ["ÉCOLE Développeur"], term

    nothing = client.get("/pipeline?q=%25").get_data(as_text=True)  # % is a character, not a wildcard
    assert listed(nothing) == [] and "No attachment matches “%”" in nothing and 'id="pipeline-clear-search"' in nothing
    past = client.get("/pipeline?page=99").get_data(as_text=True)
    assert listed(past) == [] and "This page is past the last one." in past
    # a search's page past its last: the matches are on page 1, not absent
    past_found = client.get("/pipeline?q=warehouse associate 05&page=2").get_data(as_text=True)
    assert listed(past_found) == [] and "No attachment matches" not in past_found
    assert "This page is past the last one of the 5 attachments matching “warehouse associate 05”." in past_found
    assert re.search(r'href="/pipeline\?q=warehouse(\+|%20)associate(\+|%20)05" id="pipeline-first-page"', past_found)
    bad = client.get("/pipeline?page=abc").get_data(as_text=True)
    assert len(listed(bad)) == PIPELINE_PAGE and "“abc” is not a page number: the list shows page 1." in unescape(bad)


def test_a_detach_from_a_searched_list_comes_back_to_that_search(hub_app, seeded, as_role):
    """Detaching from a searched Pipeline list came back to the plain list, the search lost."""
    client = as_role("admin")
    row = _rows(hub_app)[0]
    listed = client.get(f"/pipeline?q={row.assessment_name}").get_data(as_text=True)
    link = unescape(re.search(rf'href="([^"]+)" id="detach-{row.id}"', listed).group(1))
    query = parse_qs(urlsplit(link).query)
    assert query["next"] == [f"/pipeline?q={row.assessment_name.replace(' ', '+')}"]
    confirm = client.get(link).get_data(as_text=True)
    keep = unescape(re.search(r'href="([^"]+)" id="detach-keep"', confirm).group(1))
    assert keep == query["next"][0]
    done = client.post(f"/pipeline/{row.id}/detach", data={"next": query["next"][0]})
    assert done.status_code == 302 and done.headers["Location"] == query["next"][0]
    # anywhere else is not followed: the list
    other = _rows(hub_app)[0]
    away = client.post(f"/pipeline/{other.id}/detach", data={"next": "https://evil.example/pipeline"})
    assert away.headers["Location"] == "/pipeline"
