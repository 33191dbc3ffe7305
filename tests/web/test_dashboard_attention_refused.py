"""Webhooks the hub refused, with the work they carried lost, were visible only under the
integration's "Recent webhooks" (a walk-through: Canditech disabled, a candidate's completion
refused 6 times, and the Dashboard said "Verified · last event 2 minutes ago" and nothing under
"Needs attention"). "Needs attention" now names, for those who may see the integrations, each
integration with such refusals in the last 24 hours: how many, why, and the link to its Recent
webhooks. Refusals that lose nothing by themselves (a malformed body, the hub busy) are not counted."""

from __future__ import annotations

import hashlib
import json
import re
from html import unescape
from datetime import timedelta

import sqlalchemy as sa

from hub import hookimpl, services
from hub.entities import ASSESSMENT, IntegrationSpec, WebhookResult
from hub.errors import WebhookRejected
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import ADMIN, LIMITED_TEAM_MEMBER, SUPER_ADMIN, TEAM_MEMBER, WebhookLog, Workspace, utcnow
from tests.support.engine import enable
from tests.support.plugins import FakeSource
from tests.web.test_dashboard_sources import _dashboard
from tests.web.support import make_user


class Quiz:
    """An assessment provider whose webhooks are JSON; ``{"bad": true}`` fails its signature."""

    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Quiz Co"))

    @hookimpl
    def verify_webhook(self, ctx, request):
        if json.loads(request.body).get("bad"):
            raise WebhookRejected("signature does not match", status=401)
        return WebhookResult(ping=True)


def _app(make_app):
    app = make_app(plugins=[("src", FakeSource()), ("quiz", Quiz())], entry_points=False)
    keys = enable(app, "src", "quiz")
    with app.app_context():
        for role in (SUPER_ADMIN, ADMIN, TEAM_MEMBER, LIMITED_TEAM_MEMBER):
            make_user(1, f"{role}@acme.test", role)
        db.session.commit()
    return app, keys


def _text(html: str) -> str:
    """The words of ``html``; the time of the last refusal ("2 minutes ago", "just now", and the exact
    time after it for screen readers) as WHEN."""
    html = re.sub(r'<time [^>]*>[^<]*</time>(<span class="visually-hidden"> \([^<]*\)</span>)?', "WHEN", html)
    return re.sub(r"\s+", " ", unescape(re.sub(r"<[^>]+>", "", html))).strip()


def _item(html: str, plugin: str) -> str | None:
    match = re.search(rf'<p id="refused-{plugin}">(.*?)</p>', html, re.S)
    return match.group(1) if match else None


def _log(app, plugin: str, status: int, message: str, hours_ago: float = 0, workspace_id: int = 1) -> None:
    with app.app_context():
        db.session.add(WebhookLog(workspace_id=workspace_id, plugin=plugin, outcome="rejected", status_code=status,
                                  message=message, received_at=utcnow() - timedelta(hours=hours_ago)))
        db.session.commit()


def test_webhooks_refused_while_disabled_are_counted_with_the_reason_and_the_link(make_app):
    app, keys = _app(make_app)
    client = app.test_client()
    assert client.post(f"/webhooks/quiz/{keys['quiz']}", data=b'{"ping": true}').status_code == 200
    assert 'id="attention-refused"' not in _dashboard(app, SUPER_ADMIN)
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "quiz", False, "test")
        db.session.commit()
    for _ in range(6):
        assert client.post(f"/webhooks/quiz/{keys['quiz']}", data=b'{"id": "done-1"}').status_code == 404

    html = _dashboard(app, SUPER_ADMIN)
    assert 'id="attention-refused"' in html
    item = _item(html, "quiz")
    assert item is not None
    text = _text(item)
    assert text == ("6 webhooks from Quiz Co were refused in the last 24 hours (last received WHEN) because Quiz Co "
                    "was disabled in the hub. The candidates' progress and results they carried were not recorded. "
                    "See them in Quiz Co's Recent webhooks.")
    assert 'href="/integrations/quiz?outcome=rejected#webhook-log-card"' in item  # the refusals, not the last 20 lines
    assert _item(html, "src") is None  # nothing refused from Fake ATS


def test_reasons_of_one_integration_make_one_item_and_harmless_refusals_are_left_out(make_app):
    app, keys = _app(make_app)
    client = app.test_client()
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "src", False, "test")
        db.session.commit()
    for _ in range(3):
        assert client.post(f"/webhooks/src/{keys['src']}", data=b'{"id": "e1"}').status_code == 404
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "src", True, "test")
        db.session.commit()
    for _ in range(2):  # signed with the wrong secret
        assert client.post(f"/webhooks/src/{keys['src']}", data=b'{"bad": true}').status_code == 401
    assert client.post(f"/webhooks/src/{keys['src']}", data=b"not json").status_code == 400  # malformed: left out
    _log(app, "src", 503, "TemporaryError: busy")  # the sender retries: left out
    _log(app, "src", 404, "Fake ATS is disabled in the hub: this webhook was not processed", hours_ago=25)  # too old
    with app.app_context():
        db.session.add(Workspace(id=2, name="Other company"))
        db.session.commit()
    _log(app, "quiz", 404, "Quiz Co is disabled in the hub: this webhook was not processed", workspace_id=2)

    html = _dashboard(app, ADMIN)
    assert len(re.findall(r'<p id="refused-src">', html)) == 1
    text = _text(_item(html, "src"))
    assert text == ("5 webhooks from Fake ATS were refused in the last 24 hours (last received WHEN): 3 because "
                    "Fake ATS was disabled in the hub, 2 because the hub could not verify that they came from Fake "
                    "ATS (the last one: “signature does not match”). The stage changes they carried were not "
                    "processed, so nobody was invited for them. See them in Fake ATS's Recent webhooks.")
    assert _item(html, "quiz") is None  # another workspace's refusal


def test_one_refusal_is_worded_as_one(make_app):
    app, keys = _app(make_app)
    assert app.test_client().post(f"/webhooks/quiz/{keys['quiz']}", data=b'{"bad": true}').status_code == 401
    text = _text(_item(_dashboard(app, SUPER_ADMIN), "quiz"))
    assert text == ("1 webhook from Quiz Co was refused in the last 24 hours (last received WHEN) because the hub "
                    "could not verify that it came from Quiz Co (“signature does not match”). The candidate's "
                    "progress or result it carried was not recorded. See it in Quiz Co's Recent webhooks.")


def test_only_those_who_see_the_integrations_are_told(make_app):
    app, keys = _app(make_app)
    assert app.test_client().post(f"/webhooks/quiz/{keys['quiz']}", data=b'{"bad": true}').status_code == 401
    assert _item(_dashboard(app, ADMIN), "quiz") is not None
    for role in (TEAM_MEMBER, LIMITED_TEAM_MEMBER):
        html = _dashboard(app, role)
        assert 'id="attention-refused"' not in html and "were refused" not in html


def test_an_integration_named_above_has_its_refusals_said_in_its_own_item(hub_app, seeded, as_role):
    """Lever disabled with assessments attached is named as the ATS missing: its refused stage
    changes are said there, not in a second item."""
    owner = as_role("super_admin")
    owner.post("/integrations/fakesource/disable")
    with hub_app.app_context():
        key = get_runtime().integration(seeded.workspace_id, "fakesource").webhook_key
    for _ in range(2):
        assert hub_app.test_client().post(f"/webhooks/fakesource/{key}", data=b"{}").status_code == 404
    html = owner.get("/").get_data(as_text=True)
    assert 'id="attention-refused"' not in html and html.count('id="refused-fakesource"') == 1
    alert = re.search(r'id="attention-no-source">(.*?)</div>', html, re.S).group(1)
    assert ("nobody. Enable Fake ATS in Integrations. 2 webhooks from Fake ATS were refused in the last 24 hours "
            "(last received WHEN) because Fake ATS was disabled in the hub. The stage changes they carried were not "
            "processed, so nobody was invited for them. See them in Fake ATS's Recent webhooks.") in _text(alert)


def test_a_plugin_s_own_404_is_not_called_disabled_and_a_403_counts_as_unverified(make_app):
    """Any 404 was counted as "refused because it was disabled" (a review): only the ingress's own
    (``DISABLED_MESSAGE``) is; a plugin refusing with 403 for a bad signature is counted too."""
    app, _keys = _app(make_app)
    _log(app, "quiz", 404, "unknown invitation")  # the plugin's own refusal, while enabled
    assert _item(_dashboard(app, ADMIN), "quiz") is None
    _log(app, "quiz", 403, "signature does not match")
    _log(app, "quiz", 404, "Quiz Co is disabled in the hub: this webhook was not processed")
    text = _text(_item(_dashboard(app, ADMIN), "quiz"))
    assert text.startswith("2 webhooks from Quiz Co were refused"), text
    assert "1 because Quiz Co was disabled in the hub" in text and "signature does not match" in text


def test_a_refused_webhook_sent_again_and_taken_is_no_lost_work(make_app):
    """A walk-through disabled Canditech while a candidate took the test, then enabled it again:
    Canditech sent the 4 refused webhooks again, the hub took them, and the Dashboard still said
    for a day that the results they carried were not recorded. A body refused, then sent again
    the same and taken, is not counted; one refused again, or never sent again, still is."""
    app, keys = _app(make_app)
    client = app.test_client()
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "quiz", False, "test")
        db.session.commit()
    bodies = [json.dumps({"id": f"done-{n}"}).encode() for n in range(3)]
    for body in bodies:
        assert client.post(f"/webhooks/quiz/{keys['quiz']}", data=body).status_code == 404
    assert client.post(f"/webhooks/quiz/{keys['quiz']}", data=bodies[0]).status_code == 404  # a retry, refused too
    with app.app_context():
        services.set_enabled(get_runtime(), 1, "quiz", True, "test")
        db.session.commit()
    for body in bodies[:2]:  # the sender's retries of two of them, taken
        assert client.post(f"/webhooks/quiz/{keys['quiz']}", data=body).status_code == 200

    text = _text(_item(_dashboard(app, SUPER_ADMIN), "quiz"))
    assert text.startswith("1 webhook from Quiz Co was refused in the last 24 hours"), text
    with app.app_context():  # the log keeps the digest of each body, never the body
        rows = db.session.scalars(sa.select(WebhookLog).where(WebhookLog.plugin == "quiz")).all()
        assert {row.body_digest for row in rows} == {hashlib.sha256(body).hexdigest()[:32] for body in bodies}
        db.session.rollback()

    assert client.post(f"/webhooks/quiz/{keys['quiz']}", data=bodies[2]).status_code == 200  # the last one too
    assert _item(_dashboard(app, SUPER_ADMIN), "quiz") is None


def test_a_refusal_logged_before_the_hub_kept_digests_still_counts(make_app):
    app, _ = _app(make_app)
    _log(app, "quiz", 404, "Quiz Co is disabled in the hub: this webhook was not processed")  # no digest
    assert _text(_item(_dashboard(app, SUPER_ADMIN), "quiz")).startswith("1 webhook from Quiz Co was refused")
