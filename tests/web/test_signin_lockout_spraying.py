"""Password spraying: one address tries a password or two against many emails, each staying under
the per-email limit. Failures from one address are also counted across emails
(``HUB_SIGN_IN_MAX_FAILURES_PER_ADDRESS``): past the limit the address may try no email."""

from __future__ import annotations

import pytest

from tests.web.support import FakeAssess, FakeSource, client_from, PASSWORD, seed, sign_in

SPRAYER, OTHER = "198.51.100.9", "203.0.113.30"


@pytest.fixture
def app(make_app):
    app = make_app({"SIGN_IN_MAX_FAILURES_PER_ADDRESS": 8},
                   plugins=[("fakesource", FakeSource()), ("fakeassess", FakeAssess())], entry_points=False)
    seed(app)
    return app


def test_one_address_spraying_passwords_across_emails_is_stopped(app):
    sprayer = client_from(app, SPRAYER)
    emails = [f"user{n}@acme.test" for n in range(7)] + ["admin@acme.test", "super_admin@acme.test"]
    statuses = [sign_in(sprayer, email, "Spring2024!").status_code for email in emails]
    assert statuses == [401] * 7 + [429, 429]  # the 8th failure locks the address
    refused = sign_in(sprayer, "team_member@acme.test", PASSWORD)  # any email, even with its right password
    assert refused.status_code == 429
    assert "Too many failed sign-ins. Try again in 5 minutes." in refused.get_data(as_text=True)
    # the emails tried are not locked for anyone else: one wrong password each is far below their limits
    for email in ("admin@acme.test", "team_member@acme.test"):
        assert sign_in(client_from(app, OTHER), email).status_code == 302


def test_right_passwords_do_not_count_against_an_address(app):
    """An office behind one address signs in all day: only failures count."""
    office = client_from(app, OTHER)
    for _ in range(3):
        for email in ("admin@acme.test", "team_member@acme.test", "super_admin@acme.test"):
            assert sign_in(client_from(app, OTHER), email).status_code == 302
    assert [sign_in(office, "nobody@acme.test", "typo").status_code for _ in range(4)] == [401] * 4
    assert sign_in(office, "limited_team_member@acme.test").status_code == 302


def test_a_right_password_takes_only_its_own_attempt_back(app):
    """A sprayer with an account of its own cannot sign in to it now and then to wipe its count."""
    sprayer = client_from(app, SPRAYER)
    for n in range(7):
        assert sign_in(sprayer, f"user{n}@acme.test", "Spring2024!").status_code == 401
        assert sign_in(client_from(app, SPRAYER), "team_member@acme.test").status_code == 302
    assert sign_in(sprayer, "user7@acme.test", "Spring2024!").status_code == 429


def test_a_locked_address_is_logged_with_a_hint_when_a_proxy_header_is_not_believed(app, caplog):
    """Behind a proxy left at ``HUB_TRUSTED_PROXIES=0`` every client has the proxy's address: the
    operator is told which setting makes the throttle count each client on its own."""
    proxy = client_from(app, "10.0.0.2")
    proxy.environ_base["HTTP_X_FORWARDED_FOR"] = SPRAYER
    with caplog.at_level("WARNING", logger="hub.web.auth"):
        for n in range(8):
            sign_in(proxy, f"user{n}@acme.test", "Spring2024!")
    [record] = [r for r in caplog.records if r.name == "hub.web.auth"]
    message = record.getMessage()
    assert "8 failed sign-ins from 10.0.0.2 (at any emails)" in message and "5 minutes" in message
    assert "HUB_TRUSTED_PROXIES is 0" in message
    assert "Spring2024!" not in message and "user" not in message
