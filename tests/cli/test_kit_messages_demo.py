"""``hub demo`` (``hub.demo.connect_workspace``) with a provider whose ``list_assessments``
returns the wrong items (dicts): the demo stopped with ``AttributeError: 'dict' object has no
attribute 'id'``; it now says what the hub's pages say (hub/web/live.py) and attaches nothing."""

from __future__ import annotations

from hub import hookimpl
from hub.entities import ASSESSMENT, SOURCE, Assessment, IntegrationSpec, Posting, Stage


class DemoSource:
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Demo ATS"))

    @hookimpl
    def connect_sandbox(self, ctx, sandbox_url):
        return f"connected to {sandbox_url}"

    @hookimpl
    def source_list_postings(self, ctx):
        return [Posting(id="p-1", title="Engineer", state="published")]

    @hookimpl
    def source_list_stages(self, ctx, posting_id):
        return [Stage(id="s-1", name="Toy Stage")]


class DemoProvider:
    def __init__(self, assessments):
        self.assessments = assessments

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Toy"))

    @hookimpl
    def connect_sandbox(self, ctx, sandbox_url):
        return "toy connected"

    @hookimpl
    def list_assessments(self, ctx):
        return self.assessments


def _connect(make_app, assessments):
    from hub.demo import connect_workspace
    from hub.runtime import get_runtime

    app = make_app(plugins=[("source", DemoSource()), ("toy", DemoProvider(assessments))], entry_points=False)
    with app.app_context():
        return connect_workspace(get_runtime(), 1, {"source": "http://s.test", "toy": "http://t.test"})


def test_the_demo_says_a_provider_returned_dicts_not_assessments(make_app):
    setup = _connect(make_app, [{"id": "basic", "name": "Basic"}])

    assert setup.attachments == []
    assert setup.messages[-1] == ("Toy: list_assessments returned dict items, not Assessment, so nothing was "
                                  "attached (the plugin must return hub.entities.Assessment)")


def test_the_demo_attaches_a_providers_first_assessment(make_app):
    setup = _connect(make_app, [Assessment(id="basic", name="Basic")])

    assert setup.attachments == ['"Basic" (Toy) on "Toy Stage" of "Engineer"']


def _story(make_app, assessments) -> list[str]:
    from hub.cli.demo import story_steps
    from hub.demo import connect_workspace
    from hub.runtime import get_runtime

    app = make_app(plugins=[("source", DemoSource()), ("toy", DemoProvider(assessments))], entry_points=False)
    with app.app_context():
        runtime = get_runtime()
        setup = connect_workspace(runtime, 1, {"source": "http://s.test", "toy": "http://t.test"})
        return story_steps(runtime.registry, setup)


def test_the_demo_s_story_names_the_ats_stage_and_provider_it_connected(make_app):
    """The printed steps named Lever, "Canditech Stage" and the Canditech sandbox whatever the demo
    connected (found by a walk-through with a new ATS plugin: `hub demo --source teamtrack`)."""
    steps = _story(make_app, [Assessment(id="basic", name="Basic")])

    assert steps[1] == 'Demo ATS sandbox: move a candidate of "Engineer" into "Toy Stage" (Move).'
    assert steps[3] == "Demo ATS sandbox: the candidate has a note with the score and the report link."
    assert steps[4].startswith("Toy sandbox: give the result a thumbs up or down. Demo ATS shows the verdict")
    assert not any("Lever" in step or "Canditech" in step for step in steps)


def test_with_nothing_attached_the_demo_s_story_starts_by_attaching(make_app):
    steps = _story(make_app, [])

    assert steps[0].startswith("Hub > Pipeline: attach an assessment to a stage of a posting (the demo attached none")
    assert steps[1] == "Demo ATS sandbox: move a candidate of that posting into that stage."
    assert not any("Lever" in step or "Canditech" in step for step in steps)
