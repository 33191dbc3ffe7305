"""A workspace upgraded with two sources (ATS) enabled, from before the hub refused a second one,
keeps both: the Dashboard warns whoever can see the integrations, naming them, the one the hub
reads from (``active_source``: the first set up in the workspace), and where to disable the
others."""

from __future__ import annotations

import re

from hub import hookimpl, services
from hub.entities import SOURCE, IntegrationSpec
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import ADMIN, LIMITED_TEAM_MEMBER, SUPER_ADMIN, TEAM_MEMBER
from tests.test_hooks import OtherSource, Source
from tests.web.support import make_user, sign_in


def _app(make_app, enabled: tuple[str, ...]):
    """Source and Other ATS installed, each with its integration: ``enabled`` set up first, in that
    order, and enabled in the database directly as an upgrade finds them (``set_enabled`` would
    refuse the second one); the other one disabled."""
    app = make_app(plugins=[("source", Source()), ("other", OtherSource())], entry_points=False)
    with app.app_context():
        runtime = get_runtime()
        for role in (SUPER_ADMIN, ADMIN, TEAM_MEMBER, LIMITED_TEAM_MEMBER):
            make_user(1, f"{role}@acme.test", role)
        for plugin in enabled:
            services.get_integration(runtime, 1, plugin).enabled = True
            db.session.commit()
        for plugin in ("source", "other"):
            services.get_integration(runtime, 1, plugin)
        assert runtime.active_source(1) == enabled[0]
    return app


def _dashboard(app, role: str) -> str:
    client = app.test_client()
    assert sign_in(client, f"{role}@acme.test").status_code == 302
    page = client.get("/")
    assert page.status_code == 200
    return page.get_data(as_text=True)


def _notice(html: str) -> str | None:
    match = re.search(r'<div class="alert alert--warning" role="status" id="attention-sources">(.*?)</div>', html, re.S)
    return re.sub(r"\s+", " ", match.group(1)) if match else None


def test_two_enabled_sources_are_named_with_the_one_the_hub_reads(make_app):
    # Other ATS set up first: it is the one read, though Source comes first by name
    app = _app(make_app, ("other", "source"))
    notice = _notice(_dashboard(app, SUPER_ADMIN))
    assert notice is not None
    assert "<strong>2 ATSs are enabled:</strong> Other ATS and Source." in notice
    assert ("A workspace has one ATS: the hub reads postings, stages and candidates from Other ATS only, "
            "and not from Source.") in notice
    assert ('Disable Source: <a href="/integrations/source" id="attention-source-source">Open Source in '
            "Integrations</a>.") in notice
    assert "/integrations/other" not in notice  # the one in use is not the one to disable


def test_an_admin_is_told_a_super_admin_disables_them(make_app):
    notice = _notice(_dashboard(_app(make_app, ("source", "other")), ADMIN))
    assert notice is not None
    assert "the hub reads postings, stages and candidates from Source only, and not from Other ATS." in notice
    assert ('A Super Admin can disable Other ATS: <a href="/integrations/other" id="attention-source-other">'
            "Open Other ATS in Integrations</a>.") in notice


def test_only_roles_that_see_the_integrations_are_told(make_app):
    app = _app(make_app, ("source", "other"))
    assert _notice(_dashboard(app, ADMIN)) is not None
    for role in (TEAM_MEMBER, LIMITED_TEAM_MEMBER):
        html = _dashboard(app, role)
        assert 'id="attention-sources"' not in html and "ATSs are enabled" not in html


def test_the_warning_goes_once_one_source_is_left(make_app):
    app = _app(make_app, ("source", "other"))
    assert _notice(_dashboard(app, SUPER_ADMIN)) is not None
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "source", False, "test")
        assert get_runtime().active_source(1) == "other"
    html = _dashboard(app, SUPER_ADMIN)
    assert 'id="attention-sources"' not in html and "ATSs are enabled" not in html


class ThirdSource(Source):
    """A third ATS plugin."""

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=SOURCE, title="Third ATS"))


def test_three_enabled_sources_are_listed_in_the_order_set_up(make_app):
    app = make_app(plugins=[("source", Source()), ("other", OtherSource()), ("third", ThirdSource())],
                   entry_points=False)
    with app.app_context():
        make_user(1, "super_admin@acme.test", SUPER_ADMIN)
        for plugin in ("third", "source", "other"):
            services.get_integration(get_runtime(), 1, plugin).enabled = True
            db.session.commit()
    notice = _notice(_dashboard(app, SUPER_ADMIN))
    assert notice is not None
    assert ("<strong>3 ATSs are enabled:</strong> Third ATS, Source and Other ATS. A workspace has one ATS: the hub "
            "reads postings, stages and candidates from Third ATS only, and not from Source or Other ATS. "
            "Disable Source and Other ATS: ") in notice
    assert notice.count("in Integrations</a>") == 2
    assert 'id="attention-source-source">Open Source in Integrations</a>, <a' in notice
    assert 'id="attention-source-other">Open Other ATS in Integrations</a>.' in notice
