"""The attachment options only a source carries out (move on thumbs up, archive on thumbs down,
tag the result) are offered only when the workspace's source says it acts on them
(``IntegrationSpec.attachment_options``). A walk-through with a new ATS plugin found the attach form
offering all three, and the Pipeline then promising "Thumbs up: move to 'Interview'", which that
ATS never did."""

from __future__ import annotations

import pytest

from hub import hookimpl
from hub.entities import IntegrationSpec
from tests.web.support import FakeAssess, FakeSource, FakeSourceSettings, seed


class QuietSource(FakeSource):
    """A source that acts on no attachment option, or on those given."""

    def __init__(self, options=()):
        super().__init__()
        self.options = tuple(options)

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Teamtrack", settings_schema=FakeSourceSettings,
                                 secret_fields=("api_key", "signature_token"), attachment_options=self.options))


def _app(make_app, options=()):
    app = make_app(plugins=[("fakesource", QuietSource(options)), ("fakeassess", FakeAssess())], entry_points=False)
    return app, seed(app)


def _signed_in(app, role="admin"):
    from tests.web.support import sign_in

    client = app.test_client()
    assert sign_in(client, f"{role}@acme.test").status_code == 302
    return client


def test_the_form_offers_none_of_them_for_a_source_that_acts_on_none(make_app):
    app, _ = _app(make_app)
    html = _signed_in(app).get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert 'id="stage"' in html and 'id="remind_on_reentry"' in html  # the form is there
    for name in ("move_to_stage_on_thumbs_up", "archive_reason_on_thumbs_down", "tag_results"):
        assert f'id="{name}"' not in html


def test_the_form_offers_only_those_the_source_names(make_app):
    app, _ = _app(make_app, ("tag_results",))
    html = _signed_in(app).get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    assert 'id="tag_results"' in html
    assert 'id="move_to_stage_on_thumbs_up"' not in html and 'id="archive_reason_on_thumbs_down"' not in html


def test_a_source_that_does_not_say_gets_every_option_as_before(seeded, as_role):
    html = as_role("admin").get("/pipeline/new?posting_id=p1").get_data(as_text=True)
    for name in ("move_to_stage_on_thumbs_up", "archive_reason_on_thumbs_down", "tag_results"):
        assert f'id="{name}"' in html


def test_the_api_refuses_an_option_the_source_does_not_act_on_and_names_it(make_app):
    app, seeded = _app(make_app, ("tag_results",))
    client = app.test_client()
    headers = {"Authorization": f"Bearer {seeded.tokens['admin']}"}
    body = {"posting_id": "p1", "stage_id": "canditech", "provider": "fakeassess", "assessment_id": "py",
            "options": {"move_to_stage_on_thumbs_up": "s1", "tag_results": True}}
    refused = client.post("/api/v1/attachments", json=body, headers=headers)
    assert refused.status_code == 422
    error = refused.get_json()["error"]
    assert error["fields"] == {"options.move_to_stage_on_thumbs_up": [
        "Teamtrack does not act on this option: leave it out."]}
    del body["options"]["move_to_stage_on_thumbs_up"]
    created = client.post("/api/v1/attachments", json=body, headers=headers)
    assert created.status_code == 201 and created.get_json()["options"] == {"tag_results": True}


def test_a_crafted_form_post_of_a_hidden_option_is_refused_in_words_without_a_dead_link(make_app):
    app, _ = _app(make_app)
    answer = _signed_in(app).post("/pipeline/new", data={
        "posting_id": "p1", "stage_id": "canditech", "assessment": "fakeassess:py",
        "archive_reason_on_thumbs_down": "r1"})
    html = answer.get_data(as_text=True)
    assert answer.status_code == 422
    assert "Teamtrack does not act on this option: leave it out." in html
    assert 'href="#archive_reason_on_thumbs_down"' not in html


@pytest.mark.parametrize("options", [("move_on_thumbs_up",), "tag_results"])
def test_a_spec_naming_an_unknown_option_is_refused_where_the_plugin_registers(options):
    with pytest.raises(ValueError, match="attachment_options must be a tuple of move_to_stage_on_thumbs_up"):
        IntegrationSpec(kind="source", title="Teamtrack", attachment_options=options)


def test_changing_only_the_threshold_by_the_api_drops_a_stored_option_the_source_no_longer_acts_on(make_app):
    """An attachment saved while its source acted on an option (or did not say, the default) could
    not be changed by the API once it no longer did: the stored options were merged in, then
    refused, and the 422 told the client to "leave out" an option it never sent (a review)."""
    from hub.extensions import db
    from hub.store.models import Attachment

    app, seeded = _app(make_app, ("tag_results",))
    with app.app_context():
        row = db.session.get(Attachment, seeded.ids["attachment"])
        row.options = {"move_to_stage_on_thumbs_up": "s2", "tag_results": False}
        db.session.commit()
    answer = app.test_client().put(f"/api/v1/attachments/{seeded.ids['attachment']}",
                                   json={"options": {"pass_threshold": 70}},
                                   headers={"Authorization": f"Bearer {seeded.tokens['admin']}"})
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["options"] == {"pass_threshold": 70.0, "tag_results": False}
