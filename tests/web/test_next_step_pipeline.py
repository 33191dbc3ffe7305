"""The integration page once everything on it is done (a UX review of /integrations/<plugin>): the
connection works (its last test or use did) and, for a source that receives webhooks, they are
verified. The page used to fall silent; it now points on to what comes next, in the registry's
words (plugin kinds and titles, no vendor named in the hub):

- with an ATS and an assessment provider enabled and nothing attached yet: attach an assessment to
  a posting's stage in Pipeline (a link to the attach form, for whoever can manage the pipeline);
- with the other side missing: connect it (an assessment provider for an ATS, an ATS for a provider)
  in Integrations, naming the installed plugins of that kind; an Admin is told a Super Admin can;
- once an assessment is attached, nothing new (no nagging); before the source's webhooks are
  verified, not yet.

The same review, on the settings form of the same page: Canditech's "API requests per second" showed
"10.0" while its help said "10". A Float setting that is a whole number now shows as one ("10"), in
any plugin's form; "2.5" stays "2.5", and saving "10" still stores the float the schema loads.
"""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from marshmallow import Schema, fields, validate

from hub import hookimpl, services
from hub.entities import ASSESSMENT, Assessment, IntegrationSpec
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import Integration, utcnow
from hub.web.permissions import PERMISSIONS, SUPER
from tests.web.support import FakeAssess, FakeSource, _attachment, make_user, sign_in

OWNER, ADMIN = "owner@next-pipeline.test", "admin@next-pipeline.test"
ATTACH = "Next step: attach an assessment to a posting's stage in Pipeline."


def _step(html: str) -> tuple[str, str | None] | None:
    """The next step's words (tags removed) and its link's address; None without a next step."""
    match = re.search(r'<div class="alert alert--\w+" id="next-step">(.*?)</div>', html, re.S)
    if match is None:
        return None
    link = re.search(r'<a href="([^"]*)" id="next-step-link">', match.group(1))
    words = re.sub(r"<[^>]+>", "", match.group(1)).replace("&#39;", "'")
    return words, link.group(1) if link else None


class OtherTests:
    """A second assessment provider, to show the step names every installed one."""

    class Settings(Schema):
        api_key = fields.String()

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Acme Tests", settings_schema=self.Settings,
                                 secret_fields=("api_key",)))

    @hookimpl
    def list_assessments(self, ctx):
        return [Assessment("a1", "Acme basics", 20, 10.0)]


def _set_up(app, *, verified: bool = True, provider: bool = True) -> None:
    """Both fake integrations enabled with credentials and working (the source tested, its webhooks
    arriving and verified, ``verified=False``: not verified yet); ``provider=False`` leaves the
    assessment provider disabled."""
    with app.app_context():
        runtime = get_runtime()
        make_user(1, OWNER, "super_admin")
        make_user(1, ADMIN, "admin")
        services.set_enabled(runtime, 1, "fakesource", True, "test")
        services.save_settings(runtime, 1, "fakesource", {"account": "acme", "api_key": "key"}, "test")
        services.set_enabled(runtime, 1, "fakeassess", True, "test")
        services.save_settings(runtime, 1, "fakeassess", {"api_key": "key"}, "test")
        if not provider:
            services.set_enabled(runtime, 1, "fakeassess", False, "test")
        for row in db.session.scalars(sa.select(Integration).where(Integration.workspace_id == 1)):
            row.status = "connected"  # the last test or use worked
            if row.plugin == "fakesource":  # its webhooks arrive (nothing to register), verified or not
                row.last_webhook_at = utcnow()
                row.verified_at = row.last_webhook_at if verified else None
        db.session.commit()


def _client(app, email: str):
    client = app.test_client()
    assert sign_in(client, email).status_code == 302
    return client


def _page(app, email: str, plugin: str):
    response = _client(app, email).get(f"/integrations/{plugin}")
    assert response.status_code == 200
    return _step(response.get_data(as_text=True))


@pytest.fixture
def app(make_app):
    return make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)


def test_a_working_source_and_provider_with_nothing_attached_point_to_attaching_in_pipeline(app):
    _set_up(app)
    for email in (OWNER, ADMIN):  # both can manage the pipeline; an Admin sees the page read-only
        for plugin in ("fakesource", "fakeassess"):
            assert _page(app, email, plugin) == (ATTACH, "/pipeline/new"), (email, plugin)
    # the link leads to the attach form, which this user can open
    assert _client(app, ADMIN).get("/pipeline/new").status_code == 200


def test_once_an_assessment_is_attached_the_page_says_nothing_new(app):
    _set_up(app)
    with app.app_context():
        _attachment(1)
        db.session.commit()
    for plugin in ("fakesource", "fakeassess"):
        assert _page(app, OWNER, plugin) is None
    # a detached one does not count: nothing is attached any more
    with app.app_context():
        db.session.execute(sa.text("UPDATE attachments SET detached_at = CURRENT_TIMESTAMP"))
        db.session.commit()
    assert _page(app, OWNER, "fakesource") == (ATTACH, "/pipeline/new")


def test_not_before_the_sources_webhooks_are_verified_or_while_a_step_remains(app):
    _set_up(app, verified=False)
    assert _page(app, OWNER, "fakesource") is None  # its Webhooks card says how to verify
    # the provider's page is done (no webhook of its own is needed before an invitation was sent)
    assert _page(app, OWNER, "fakeassess") == (ATTACH, "/pipeline/new")
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.verified_at = utcnow()
        row.status = "configured"  # not tested since a setting changed: that comes first
        db.session.commit()
    assert _page(app, OWNER, "fakesource") == ("Next step: test the connection.", None)


def test_without_a_provider_the_source_points_to_connecting_one(app):
    _set_up(app, provider=False)
    assert _page(app, OWNER, "fakesource") == (
        "Next step: connect an assessment provider (Fake Tests) in Integrations.", "/integrations")
    assert _page(app, ADMIN, "fakesource") == (
        "Next step: a Super Admin can connect an assessment provider (Fake Tests) in Integrations.", "/integrations")


def test_without_a_source_the_provider_points_to_connecting_the_ats(app):
    _set_up(app)
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "fakesource", False, "test")
        db.session.commit()
    assert _page(app, OWNER, "fakeassess") == ("Next step: connect your ATS (Fake ATS) in Integrations.",
                                               "/integrations")


def test_every_installed_provider_is_named_from_the_registry(make_app):
    app = make_app(plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess()), ("acmetests", OtherTests())],
                   entry_points=False)
    _set_up(app, provider=False)
    assert _page(app, OWNER, "fakesource") == (
        "Next step: connect an assessment provider (Acme Tests, Fake Tests) in Integrations.", "/integrations")


def test_the_pipeline_link_only_for_someone_who_can_manage_the_pipeline(app, monkeypatch):
    _set_up(app)
    monkeypatch.setitem(PERMISSIONS, "pipeline.manage", SUPER)
    assert _page(app, ADMIN, "fakesource") == (
        "Next step: a Super Admin can attach an assessment to a posting's stage in Pipeline.", None)
    assert _page(app, OWNER, "fakesource") == (ATTACH, "/pipeline/new")


# --------------------------------------------------------------------------- whole numbers in the form


class Throttled:
    """Any plugin with a Float setting (a whole-number default and bounds) and an Integer one."""

    class Settings(Schema):
        rate = fields.Float(load_default=10.0, validate=validate.Range(min=0.5, max=100.0))
        burst = fields.Integer(load_default=20)

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Throttled Tests", settings_schema=self.Settings))


def _input(html: str, name: str) -> str:
    return re.search(rf'<input[^>]*id="setting-{name}"[^>]*>', html).group(0)


def test_a_float_setting_that_is_a_whole_number_shows_without_a_trailing_zero(make_app):
    app = make_app(plugins=[("throttled", Throttled())], entry_points=False)
    with app.app_context():
        make_user(1, OWNER, "super_admin")
        db.session.commit()
    client = _client(app, OWNER)
    assert client.post("/integrations/throttled/enable").status_code == 302
    rate = _input(client.get("/integrations/throttled").get_data(as_text=True), "rate")  # the default, 10.0
    assert 'value="10"' in rate and 'min="0.5"' in rate and 'max="100"' in rate and 'step="any"' in rate
    for typed, stored, shown in (("2.5", 2.5, "2.5"), ("10", 10.0, "10"), ("7.0", 7.0, "7")):
        assert client.post("/integrations/throttled/settings", data={"rate": typed, "burst": "5"}).status_code == 302
        with app.app_context():
            settings = get_runtime().integration(1, "throttled").settings
        assert settings["rate"] == stored and isinstance(settings["rate"], float)  # the schema's Float
        html = client.get("/integrations/throttled").get_data(as_text=True)
        assert f'value="{shown}"' in _input(html, "rate")
        assert 'value="5"' in _input(html, "burst")
    # a refused save shows what was typed, as it was typed
    html = client.post("/integrations/throttled/settings", data={"rate": "200.0", "burst": "5"}).get_data(as_text=True)
    assert 'value="200.0"' in _input(html, "rate")
