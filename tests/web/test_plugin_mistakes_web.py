"""A plugin developer's mistakes as the pages, the API and the webhook ingress show them
(``hub/web/live.py``, ``hub/web/webhooks.py``; the engine's and the kit's are in
``tests/test_plugin_mistakes.py``):

* an exception a hook did not mean to raise was shown as "Acme failed: 'base_url'" (a
  ``KeyError``'s text without its type), and its text, which may hold a secret, went into the
  page, the connection's stored status message and the API;
* ``test_connection``'s answer went through ``str()`` unchecked ("{'ok': True}"), and a log line
  read "returned a dict, not a Assessment";
* a successful test emptied the connection's status message ("connected to ... (4 assessments)");
* attaching one provider's assessment while another provider was down was refused with the other
  provider's error;
* ``verify_webhook`` answering something else than a ``WebhookResult`` left nothing in the
  integration's webhook log.
"""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa

from hub import hookimpl, services
from hub.entities import ASSESSMENT, AssessmentResult, Assessment, IntegrationSpec, WebhookResult
from hub.extensions import db
from hub.runtime import get_runtime
from hub.store.models import WebhookLog
from tests.web.support import SECRET_VALUE, FakeAssess, FakeSource, api_headers, vendor_error

KEYERROR = "Fake ATS failed: KeyError (the hub's log has the details)"


class Source(FakeSource):
    """``FakeSource`` whose ``test_connection`` and ``verify_webhook`` answer what the test sets."""

    def __init__(self):
        super().__init__()
        self.answer = "Fake ATS answered."
        self.status = None  # (status, message) the plugin sets itself while testing
        self.webhook_answer = WebhookResult(ping=True)
        self.setup_answer = "Webhooks registered at Fake ATS."

    @hookimpl
    def test_connection(self, ctx):
        self._maybe_fail("test_connection")
        if self.status:
            ctx.set_status(*self.status)
        return self.answer

    @hookimpl
    def verify_webhook(self, ctx, request):
        return self.webhook_answer

    @hookimpl
    def setup_webhooks(self, ctx):
        return self.setup_answer


class Assess(FakeAssess):
    """``FakeAssess`` whose ``list_assessments`` answers ``answer`` as it is, when set."""

    answer = None

    @hookimpl
    def list_assessments(self, ctx):
        if self.answer is not None:
            return self.answer
        return super().list_assessments(ctx)


class OtherAssess(FakeAssess):
    @hookimpl
    def register_integration(self, register):
        register(IntegrationSpec(kind=ASSESSMENT, title="Other Tests"))


@pytest.fixture
def fakes():
    return Source(), Assess()


@pytest.fixture
def other():
    other = OtherAssess()
    other.assessments = [Assessment("java", "Java Developer", 60, 100.0)]
    return other


@pytest.fixture
def hub_app(make_app, fakes, other):
    source, assess = fakes
    return make_app(plugins=[("fakesource", source), ("fakeassess", assess), ("otherassess", other)],
                    entry_points=False)


@pytest.fixture
def api(hub_app, seeded):
    with hub_app.app_context():
        services.set_enabled(get_runtime(), seeded.workspace_id, "otherassess", True, "test")
        db.session.commit()
    client = hub_app.test_client()

    def call(method, path, **kwargs):
        return client.open(f"/api/v1{path}", method=method, headers=api_headers(seeded, "super_admin"), **kwargs)

    return call


def _status(app) -> tuple[str, str | None]:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        return row.status, row.status_message


def _set_status(app, status: str, message: str | None) -> None:
    with app.app_context():
        row = get_runtime().integration(1, "fakesource")
        row.status, row.status_message = status, message
        db.session.commit()


# --------------------------------------------------------------------------- 1. an unexpected exception


def test_an_unexpected_exception_is_shown_by_its_type_with_a_pointer_to_the_log(hub_app, api, as_role, fakes,
                                                                                 caplog):
    source, _ = fakes
    source.fail = KeyError("base_url")
    with caplog.at_level(logging.WARNING, logger="hub.web.live"):
        answer = api("POST", "/integrations/fakesource/test")
    assert answer.status_code == 502 and answer.get_json()["error"]["message"] == KEYERROR
    assert _status(hub_app) == ("error", KEYERROR)
    page = as_role("super_admin").post("/integrations/fakesource/test", follow_redirects=True).get_data(as_text=True)
    assert "Connection test failed. Fake ATS failed: KeyError (the hub&#39;s log has the details)" in page
    # the log keeps what the operator needs: the text and the traceback
    (record, *_) = [r for r in caplog.records if r.name == "hub.web.live"]
    assert "KeyError: 'base_url'" in record.getMessage() and record.exc_info is not None


def test_a_secret_in_an_exceptions_text_reaches_neither_the_page_nor_the_status(hub_app, api, as_role, fakes):
    source, _ = fakes
    source.fail = RuntimeError(f"GET https://api.fake-ats.example/users?key={SECRET_VALUE} failed")
    answer = api("POST", "/integrations/fakesource/test")
    assert SECRET_VALUE not in answer.get_data(as_text=True)
    assert answer.get_json()["error"]["message"] == "Fake ATS failed: RuntimeError (the hub's log has the details)"
    status, message = _status(hub_app)
    assert status == "error" and SECRET_VALUE not in message
    client = as_role("super_admin")
    for page in ("/integrations/fakesource", "/dashboard", "/integrations"):
        assert SECRET_VALUE not in client.get(page).get_data(as_text=True), page
    assert SECRET_VALUE not in api("GET", "/integrations/fakesource").get_data(as_text=True)
    flashed = client.post("/integrations/fakesource/webhooks", follow_redirects=True).get_data(as_text=True)
    assert "Fake ATS failed: RuntimeError" in flashed and SECRET_VALUE not in flashed


def test_a_deliberate_error_still_says_its_message(hub_app, api, fakes):
    source, _ = fakes
    source.fail = vendor_error("Fake ATS refused the key")
    assert api("POST", "/integrations/fakesource/test").get_json()["error"]["message"] == "Fake ATS refused the key"


# --------------------------------------------------------------------------- 2. test_connection's answer


def test_a_test_connection_answering_no_text_is_the_plugins_mistake(hub_app, api, fakes, caplog):
    source, _ = fakes
    source.answer = {"ok": True}
    with caplog.at_level(logging.WARNING, logger="hub.web.live"):
        answer = api("POST", "/integrations/fakesource/test")
    said = ("Fake ATS failed: its test_connection returned a dict, not a message (str) for the admin: a bug in "
            "the plugin")
    assert answer.status_code == 502 and answer.get_json()["error"]["message"] == said
    assert "{'ok': True}" not in answer.get_data(as_text=True)
    assert _status(hub_app) == ("error", said)
    assert "fakesource.test_connection returned a dict, not a str" in caplog.text


def test_a_test_connection_answering_none_says_the_default(hub_app, api, fakes):
    source, _ = fakes
    source.answer = None
    answer = api("POST", "/integrations/fakesource/test")
    assert answer.status_code == 200 and answer.get_json()["message"] == "Connection works."
    assert _status(hub_app)[0] == "connected"


def test_the_article_before_a_type_is_right(hub_app, api, fakes, caplog):
    _, assess = fakes
    assess.assessments = [{"id": "py"}]
    with caplog.at_level(logging.WARNING, logger="hub.web.live"):
        api("GET", "/assessments")
    assert "fakeassess.list_assessments returned a dict item, not an Assessment" in caplog.text
    assert "not a Assessment" not in caplog.text


def test_a_single_item_instead_of_a_list_is_a_message_not_a_500(hub_app, api, fakes):
    _, assess = fakes
    assess.answer = Assessment("py", "Python Developer", 60, 100.0)  # list() of it is a TypeError
    answer = api("GET", "/assessments")
    assert answer.status_code == 200
    assert "Fake Tests failed: it returned an Assessment, not a list of Assessment items" in answer.get_json()["errors"]


# --------------------------------------------------------------------------- 3. the status message of a success


def test_a_successful_test_keeps_a_success_message(hub_app, api, fakes):
    _set_status(hub_app, "connected", "connected to the Fake ATS sandbox at http://127.0.0.1:5612 (4 assessments)")
    answer = api("POST", "/integrations/fakesource/test")
    assert answer.status_code == 200 and answer.get_json()["message"] == "Fake ATS answered."
    assert _status(hub_app) == ("connected", "Fake ATS answered.")
    assert api("GET", "/integrations/fakesource").get_json()["status_message"] == "Fake ATS answered."


def test_a_test_without_a_message_keeps_the_connected_message(hub_app, api, fakes):
    source, _ = fakes
    source.answer = None
    earlier = "connected to the Fake ATS sandbox at http://127.0.0.1:5612 (4 assessments)"
    _set_status(hub_app, "connected", earlier)
    assert api("POST", "/integrations/fakesource/test").status_code == 200
    assert _status(hub_app) == ("connected", earlier)
    _set_status(hub_app, "error", "Fake ATS refused the key")  # a failure's message ends with it
    assert api("POST", "/integrations/fakesource/test").status_code == 200
    assert _status(hub_app) == ("connected", None)


def test_a_status_the_plugin_sets_while_testing_stays(hub_app, api, fakes):
    source, _ = fakes
    _set_status(hub_app, "connected", "connected to the Fake ATS sandbox")
    source.status = ("connected", "Fake ATS answered with 4 users")  # the same status, its own message
    assert api("POST", "/integrations/fakesource/test").status_code == 200
    assert _status(hub_app) == ("connected", "Fake ATS answered with 4 users")


def test_a_status_the_plugin_sets_to_what_it_was_stays_too(hub_app, api, fakes):
    """Setting the values the row already holds changes nothing in it: the hub must still see that
    the plugin set them, or the test's own answer would replace the plugin's message."""
    source, _ = fakes
    _set_status(hub_app, "connected", "Fake ATS answered with 4 users")
    source.status = ("connected", "Fake ATS answered with 4 users")
    source.answer = "Fake ATS answered."
    assert api("POST", "/integrations/fakesource/test").status_code == 200
    assert _status(hub_app) == ("connected", "Fake ATS answered with 4 users")
    source.status = None  # a later test that sets nothing: its answer is the message again
    assert api("POST", "/integrations/fakesource/test").status_code == 200
    assert _status(hub_app) == ("connected", "Fake ATS answered.")


def test_a_plugins_deliberate_error_raised_as_its_list_is_read_keeps_its_message(hub_app, api, fakes):
    """A generator that raises ``HubError`` as it is read is an error the plugin meant: its message
    is shown, as if the hook had raised it."""
    from hub.errors import HubError

    _, assess = fakes

    def listing():
        raise HubError("Fake Tests says: the account is suspended", status=502)
        yield

    assess.answer = listing()
    errors = api("GET", "/assessments").get_json()["errors"]
    assert errors == ["Fake Tests says: the account is suspended"]


# --------------------------------------------------------------------------- 4. another provider down


def _attach(api, provider, assessment_id):
    return api("POST", "/attachments", json={"posting_id": "p2", "stage_id": "s5", "provider": provider,
                                              "assessment_id": assessment_id})


def test_another_provider_being_down_does_not_refuse_an_attachment(hub_app, api, fakes, other):
    _, assess = fakes
    assess.fail = vendor_error("Fake Tests is down")
    answer = _attach(api, "otherassess", "java")
    assert answer.status_code == 201, answer.get_json()
    assert answer.get_json()["assessment_name"] == "Java Developer"


def test_an_assessment_the_provider_lacks_is_said_so_while_another_provider_is_down(hub_app, api, fakes):
    """It was refused with 502 and the other provider's error."""
    _, assess = fakes
    assess.fail = vendor_error("Fake Tests is down")
    answer = _attach(api, "otherassess", "cobol")
    assert answer.status_code == 422, answer.get_json()
    assert answer.get_json()["error"]["fields"] == {
        "assessment_id": ["This assessment does not exist (any more) at the provider."]}
    assert "Fake Tests" not in answer.get_data(as_text=True)


def test_the_asked_providers_problem_alone_is_reported(hub_app, api, fakes, other):
    _, assess = fakes
    assess.fail = vendor_error("Fake Tests is down")
    other.fail = vendor_error("Other Tests is down")
    answer = _attach(api, "otherassess", "java")
    assert answer.status_code == 502
    assert answer.get_json()["error"]["message"] == "Other Tests is down"


# --------------------------------------------------------------------------- 5. verify_webhook's wrong answer


def _webhook_key(app) -> str:
    with app.app_context():
        return get_runtime().integration(1, "fakesource").webhook_key


def _webhook_log(app) -> list[tuple]:
    with app.app_context():
        return [tuple(row) for row in db.session.execute(
            sa.select(WebhookLog.outcome, WebhookLog.status_code, WebhookLog.message).order_by(WebhookLog.id))]


@pytest.mark.parametrize("wrong, said", [
    ([], "a list, not a WebhookResult"),
    (None, "a NoneType, not a WebhookResult"),
    (WebhookResult(events=(AssessmentResult(invitation_id=1, score=1, max_score=2),)),
     "a WebhookResult with an AssessmentResult among its events, where an InboundEvent belongs "
     "(InboundEvent(external_id=..., event=...))"),
])
def test_a_wrong_answer_of_verify_webhook_is_in_the_webhook_log_and_a_json_500(hub_app, seeded, fakes, caplog,
                                                                               wrong, said):
    source, _ = fakes
    source.webhook_answer = wrong
    with caplog.at_level(logging.ERROR, logger="hub.web.webhooks"):
        answer = hub_app.test_client().post(f"/webhooks/fakesource/{_webhook_key(hub_app)}", data=b"{}")
    assert answer.status_code == 500 and answer.is_json
    assert answer.get_json()["error"] == {
        "code": "internal_error",
        "message": f"the hub's fakesource plugin failed on this webhook (its verify_webhook returned {said}); "
                   "send it again later"}
    assert "Traceback" not in answer.get_data(as_text=True)
    assert _webhook_log(hub_app) == [
        ("rejected", 500, f"the plugin failed: its verify_webhook returned {said} (a bug in the plugin)")]
    assert f"webhook for fakesource not processed: its verify_webhook returned {said}" in caplog.text


def test_the_webhook_log_page_shows_it_to_admins(hub_app, seeded, fakes, as_role):
    source, _ = fakes
    source.webhook_answer = ["not", "a", "result"]
    hub_app.test_client().post(f"/webhooks/fakesource/{_webhook_key(hub_app)}", data=b"{}")
    page = as_role("admin").get("/integrations/fakesource").get_data(as_text=True)
    assert "its verify_webhook returned a list, not a WebhookResult" in page


def test_the_contract_quotes_what_a_wrong_verify_webhook_answer_does():
    from hub import hookspecs

    said = ('"the plugin failed: its verify_webhook returned a list, not a WebhookResult (a bug in the plugin)"')
    assert said in " ".join(hookspecs.verify_webhook.__doc__.split())


def test_a_setup_webhooks_answer_that_is_no_text_is_the_default_message(hub_app, api, fakes, caplog):
    """The webhooks were registered (and audited): only the plugin's words are wrong, so the admin
    reads the hub's own, never a dict's repr; the log names the mistake."""
    source, _ = fakes
    source.setup_answer = {"ok": True}
    with caplog.at_level(logging.WARNING, logger="hub.web.live"):
        answer = api("POST", "/integrations/fakesource/webhooks/setup")
    assert answer.status_code == 200, answer.get_json()
    assert answer.get_json()["message"] == "Webhooks registered."
    assert "fakesource.setup_webhooks returned a dict, not a message (str) for the admin" in caplog.text
    source.setup_answer = "Registered 3 webhooks."
    assert api("POST", "/integrations/fakesource/webhooks/setup").get_json()["message"] == "Registered 3 webhooks."


def test_events_given_as_a_generator_are_read_once_and_stored(hub_app, seeded, fakes):
    """A generator expression as ``events`` (an easy slip) is spent by its first reading: the
    checks and the store must read it once, or the webhook would be answered "duplicate" with
    nothing stored, and nobody would know."""
    from hub.entities import InboundEvent, StageChange
    from hub.store.models import Event

    source, _ = fakes
    source.webhook_answer = WebhookResult(events=(InboundEvent(external_id=f"gen-{n}", event=StageChange(
        opportunity_id=f"opp-gen-{n}", to_stage_id="stage-1")) for n in (1, 2)))
    answer = hub_app.test_client().post(f"/webhooks/fakesource/{_webhook_key(hub_app)}", data=b"{}")
    assert answer.status_code == 200 and answer.get_json()["status"] == "accepted", answer.get_json()
    assert [e["outcome"] for e in answer.get_json()["events"]] == ["accepted", "accepted"]
    with hub_app.app_context():
        stored = db.session.scalars(sa.select(Event.external_id).where(Event.external_id.like("gen-%"))).all()
    assert sorted(stored) == ["gen-1", "gen-2"]


def test_a_generator_failing_as_it_is_read_is_the_plugins_failure_in_the_webhook_log(hub_app, seeded, fakes):
    source, _ = fakes

    def failing():
        raise KeyError("sk-live-SECRET")
        yield  # a generator

    source.webhook_answer = WebhookResult(events=failing())
    answer = hub_app.test_client().post(f"/webhooks/fakesource/{_webhook_key(hub_app)}", data=b"{}")
    assert answer.status_code == 500 and answer.is_json and "sk-live-SECRET" not in answer.get_data(as_text=True)
    assert _webhook_log(hub_app) == [
        ("rejected", 500, "the plugin failed: KeyError (the hub's log has the details)")]
