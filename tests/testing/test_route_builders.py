"""``make_test_app`` lets every app of the process share the URL builders Werkzeug generates for
equal rules (``hub.testing.apps._share_route_builders``): equal rules of two maps get the same
function, which builds the same URLs; rules that differ (other text, other defaults, a default that
fills one of the rule's own variables) build their own."""

from __future__ import annotations

from werkzeug.routing import Map, Rule
from werkzeug.routing.rules import Rule as RuleClass

from hub.testing import apps


def _adapter(*rules: Rule):
    return Map(list(rules)).bind("hub.test", "/")


def test_equal_rules_of_two_maps_share_one_builder_that_builds_the_same_urls():
    apps._share_route_builders()
    assert getattr(RuleClass._compile_builder, "shared_by_hub_tests", False)
    first, second = Rule("/candidates/<int:invitation_id>", endpoint="c"), Rule("/candidates/<int:invitation_id>",
                                                                                   endpoint="c")
    one, two = _adapter(first), _adapter(second)
    assert first._build.__func__ is second._build.__func__
    assert one.build("c", {"invitation_id": 7}) == two.build("c", {"invitation_id": 7}) == "/candidates/7"
    # arguments the rule does not name go to the query string, through the other builder
    assert two.build("c", {"invitation_id": 7, "fragment": 1}) == "/candidates/7?fragment=1"
    assert first._build_unknown.__func__ is second._build_unknown.__func__


def test_rules_that_differ_build_their_own_urls():
    apps._share_route_builders()
    plain = Rule("/activity/<about>", endpoint="a")
    other_text = Rule("/audit/<about>", endpoint="b")
    with_default = Rule("/activity/<about>", endpoint="c", defaults={"page": "1"})
    # a default that fills the rule's own variable: the builder holds the converted value
    filled = Rule("/activity/<about>", endpoint="d", defaults={"about": "everything"})
    adapter = _adapter(plain, other_text, with_default, filled)
    assert len({plain._build.__func__, other_text._build.__func__, with_default._build.__func__,
                filled._build.__func__}) == 4
    assert adapter.build("a", {"about": "opp-1"}) == "/activity/opp-1"
    assert adapter.build("b", {"about": "opp-1"}) == "/audit/opp-1"
    assert adapter.build("c", {"about": "opp-1", "page": "1"}) == "/activity/opp-1"
    assert adapter.build("d", {}) == "/activity/everything"
    # the filled rule built twice in two maps still says its own default
    again = Rule("/activity/<about>", endpoint="d", defaults={"about": "nothing"})
    assert _adapter(again).build("d", {}) == "/activity/nothing"


def test_two_apps_build_the_same_urls(make_app):
    first, second = make_app(), make_app()
    for app in (first, second):
        with app.test_request_context():
            from flask import url_for

            assert url_for("ui.integrations_oauth_start", plugin="lever") == "/integrations/lever/oauth/start"
