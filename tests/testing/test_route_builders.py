"""The suite's apps share the URL builders Werkzeug generates for equal rules
(``tests/support/route_builders.py``, installed by ``tests/conftest.py``): equal rules of two maps
get the same function, which builds the same URLs; rules that differ (other text, class, host or
subdomain, other defaults, a default that fills the rule's own variable) build their own."""

from __future__ import annotations

import pytest
from werkzeug.routing import Map, Rule
from werkzeug.routing.rules import Rule as RuleClass

from tests.support import route_builders


def _adapter(*rules: Rule, **map_options):
    return Map(list(rules), **map_options).bind("hub.test", "/", subdomain="")


@pytest.fixture(autouse=True)
def _shared():
    if not route_builders.werkzeug_checked():
        pytest.fail("this Werkzeug release was not checked for shareable URL builders: read its "
                    "Rule._compile_builder and add the release to route_builders.CHECKED (or drop the sharing)")
    assert route_builders.share_route_builders()
    assert getattr(RuleClass._compile_builder, "shared_by_hub_tests", False)


def test_equal_rules_of_two_maps_share_one_builder_that_builds_the_same_urls():
    first = Rule("/candidates/<int:invitation_id>", endpoint="c")
    second = Rule("/candidates/<int:invitation_id>", endpoint="c")
    one, two = _adapter(first), _adapter(second)
    assert first._build.__func__ is second._build.__func__
    assert one.build("c", {"invitation_id": 7}) == two.build("c", {"invitation_id": 7}) == "/candidates/7"
    # arguments the rule does not name go to the query string, through the other builder
    assert two.build("c", {"invitation_id": 7, "fragment": 1}) == "/candidates/7?fragment=1"
    assert first._build_unknown.__func__ is second._build_unknown.__func__


def test_rules_that_differ_build_their_own_urls():
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


def test_a_subclass_of_rule_builds_its_own():
    class Special(Rule):
        pass

    plain, special = Rule("/postings/<posting>", endpoint="p"), Special("/postings/<posting>", endpoint="p")
    _adapter(plain), _adapter(special)
    assert plain._build.__func__ is not special._build.__func__


def test_same_text_with_other_subdomains_hosts_and_converter_arguments_builds_each_one_s_url():
    a = Rule("/x/<int(fixed_digits=4):n>", endpoint="x", subdomain="a")
    b = Rule("/x/<int(fixed_digits=4):n>", endpoint="x", subdomain="b")
    plain_int = Rule("/x/<int:n>", endpoint="x")
    adapter_a = _adapter(a)
    adapter_b = _adapter(b)
    assert adapter_a.build("x", {"n": 7}, force_external=True) == "http://a.hub.test/x/0007"
    assert adapter_b.build("x", {"n": 7}, force_external=True) == "http://b.hub.test/x/0007"
    assert _adapter(plain_int).build("x", {"n": 7}) == "/x/7"
    one = Rule("/y/<n>", endpoint="y", host="one.test")
    other = Rule("/y/<n>", endpoint="y", host="other.test")
    hosts_one = Map([one], host_matching=True).bind("one.test", "/")
    hosts_other = Map([other], host_matching=True).bind("other.test", "/")
    assert hosts_one.build("y", {"n": "1"}, force_external=True) == "http://one.test/y/1"
    assert hosts_other.build("y", {"n": "1"}, force_external=True) == "http://other.test/y/1"


def test_two_apps_build_the_same_urls_through_one_builder(make_app):
    first, second = make_app(), make_app()
    urls, builders = [], []
    for app in (first, second):
        with app.test_request_context():
            from flask import url_for

            urls.append(url_for("ui.integrations_oauth_start", plugin="lever"))
        builders.append(next(rule._build.__func__ for rule in app.url_map.iter_rules()
                             if rule.endpoint == "ui.integrations_oauth_start"))
    assert urls == ["/integrations/lever/oauth/start"] * 2
    assert builders[0] is builders[1]
