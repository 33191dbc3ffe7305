"""Sign-in throttling per (email, client address): an attacker who knows an email cannot lock its
owner out of the hub by failing passwords from their own address (a denial of service against,
say, the only Super Admin). Before, failures were counted per email alone, from every address
together: five wrong passwords from anywhere locked the email everywhere."""

from __future__ import annotations

import pytest

from tests.web.support import FakeAssess, FakeSource, client_from, PASSWORD, seed, sign_in

ATTACKER, USER = "198.51.100.7", "203.0.113.20"


@pytest.fixture
def app(make_app):
    app = make_app({}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    return app


def test_the_real_user_signs_in_from_another_address_while_an_attacker_is_throttled(app):
    attacker = client_from(app, ATTACKER)
    statuses = [sign_in(attacker, "super_admin@acme.test", f"guess {n}").status_code for n in range(6)]
    assert statuses == [401, 401, 401, 401, 429, 429]  # HUB_SIGN_IN_MAX_FAILURES (5) from this address

    user = client_from(app, USER)
    answer = sign_in(user, "super_admin@acme.test")
    assert answer.status_code == 302, answer.status_code  # before: 429, locked out by the attacker
    assert user.get("/").status_code == 200

    # the attacker stays throttled, even with the right password: the real user's sign-in forgot only
    # the failures of their own address
    refused = sign_in(attacker, "super_admin@acme.test", PASSWORD)
    assert refused.status_code == 429
    assert "Too many failed sign-ins. Try again in 5 minutes." in refused.get_data(as_text=True)
    assert refused.headers["Retry-After"] == "300"


def test_a_wrong_password_from_the_users_own_address_still_locks_that_address(app):
    """The per-address lock is the old lock, narrowed: guesses from one place are still stopped."""
    client = client_from(app, USER)
    assert [sign_in(client, "admin@acme.test", "wrong password!").status_code for _ in range(5)] == [401] * 4 + [429]
    assert sign_in(client_from(app, USER), "admin@acme.test").status_code == 429  # another browser, same address
    assert sign_in(client_from(app, ATTACKER), "admin@acme.test").status_code == 302


def test_an_unknown_email_is_throttled_the_same_way_so_the_answer_reveals_nothing(app):
    answers = {}
    for email in ("super_admin@acme.test", "nobody@acme.test"):
        client = client_from(app, ATTACKER)
        answers[email] = [sign_in(client, email, "wrong password!") for _ in range(6)]
    known, unknown = ([(a.status_code, a.get_data(as_text=True).count("Too many failed sign-ins"),
                        a.get_data(as_text=True).count("do not match an active account")) for a in answers[e]]
                      for e in ("super_admin@acme.test", "nobody@acme.test"))
    assert known == unknown


def test_behind_trusted_proxies_the_forwarded_address_is_the_one_throttled(make_app):
    app = make_app({"TRUSTED_PROXIES": 1}, plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())],
                   entry_points=False)
    seed(app)
    proxy = "10.0.0.2"  # every request comes through the same load balancer
    attacker = client_from(app, proxy, forwarded=ATTACKER)
    assert [sign_in(attacker, "super_admin@acme.test", "guess").status_code for _ in range(5)][-1] == 429
    assert sign_in(client_from(app, proxy, forwarded=USER), "super_admin@acme.test").status_code == 302


def test_a_client_cannot_escape_its_throttle_with_a_forwarded_header_the_hub_does_not_believe(app):
    """``HUB_TRUSTED_PROXIES`` is 0: X-Forwarded-For is the client's own words, not its address."""
    results = [sign_in(client_from(app, ATTACKER, forwarded=f"192.0.2.{n}"), "super_admin@acme.test", "guess").status_code
               for n in range(6)]
    assert results == [401, 401, 401, 401, 429, 429]


def test_addresses_of_one_ipv6_64_count_as_one(app):
    """An IPv6 client holds a whole /64 (2^64 addresses): counted per address, it could try for ever."""
    results = [sign_in(client_from(app, f"2001:db8:1:2::{n:x}"), "super_admin@acme.test", "guess").status_code
               for n in range(1, 7)]
    assert results == [401, 401, 401, 401, 429, 429]
    assert sign_in(client_from(app, "2001:db8:1:3::1"), "super_admin@acme.test").status_code == 302  # another /64
