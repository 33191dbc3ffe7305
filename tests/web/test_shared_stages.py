"""A source whose stages are the same for every posting (``IntegrationSpec.stages_per_posting=False``,
as Lever's) is asked for them once per page, not once per posting: the Pipeline page checks every
attachment's stage, and with 164 attachments on as many postings it took 0.5-5 s (a walk-through
of a large account)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from hub import hookimpl
from hub.entities import IntegrationSpec
from hub.extensions import db
from hub.store.models import Attachment
from tests.web.support import FakeAssess, FakeSource, FakeSourceSettings, _attachment, seed, sign_in


class SharedStagesSource(FakeSource):
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind="source", title="Fake ATS", settings_schema=FakeSourceSettings,
                                 secret_fields=("api_key", "signature_token"), stages_per_posting=False))


@pytest.mark.parametrize("source, shared", [(SharedStagesSource(), True), (FakeSource(), False)],
                         ids=["shared-stages", "per-posting"])
def test_the_pipeline_page_asks_for_shared_stages_once(make_app, source, shared):
    app = make_app(plugins=[("fakesource", source), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    with app.app_context():
        for n in range(5):  # five more postings, one attachment each (the seed has one on p1)
            _attachment(seeded.workspace_id, posting=f"posting-{n}", stage="s2")
        db.session.commit()
        postings = db.session.scalar(sa.select(sa.func.count(sa.distinct(Attachment.posting_id))))
    assert postings >= 6
    client = app.test_client()
    sign_in(client, seeded.email("admin"))
    source.calls.clear()
    page = client.get("/pipeline")
    assert page.status_code == 200
    assert source.calls.count("source_list_stages") == (1 if shared else postings)
    assert "no longer exists at the source" not in page.get_data(as_text=True)


def test_shared_stages_are_asked_for_with_no_posting(make_app):
    source = SharedStagesSource()
    seen = []
    original = source.source_list_stages

    def recording(ctx, posting_id):
        seen.append(posting_id)
        return original(ctx, posting_id)

    source.source_list_stages = hookimpl(recording)
    app = make_app(plugins=[("fakesource", source), ("fakeassess", FakeAssess())], entry_points=False)
    seeded = seed(app)
    client = app.test_client()
    sign_in(client, seeded.email("admin"))
    assert client.get("/pipeline/new?posting_id=p1").status_code == 200
    assert seen and set(seen) == {None}
