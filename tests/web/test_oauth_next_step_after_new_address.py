"""Lever with OAuth, after a save that points the environment or the custom base URL at another
Lever (an admin walk of the integration page): the stored grant goes only to the Lever that issued
it, so the page must say to connect with OAuth again. It said "test the connection" and "Connected
with your Lever account" (a Test then failed, and the page blamed Lever: "Lever refused the
credentials", "Lever no longer accepts the hub's access")."""

from __future__ import annotations

from urllib.parse import urlsplit

from hub import services
from hub.runtime import get_runtime
from tests.web.test_auth_mode_walk import _next_step, _save, lever  # noqa: F401 - the fixture

__all__ = ["lever"]


def _connected_with_oauth_at(app, base: str) -> None:
    """What a finished "Connect with Lever" at ``base`` leaves: tokens stored with their issuer."""
    with app.app_context():
        ctx = get_runtime().context(1, "lever")
        ctx.update_secrets({"oauth_access_token": "access", "oauth_refresh_token": "refresh",
                            "oauth_api_base": f"{base}/v1"})
        ctx.set_status("connected", "Lever is connected with OAuth")


def test_a_new_address_under_oauth_says_connect_again_not_test(lever):  # noqa: F811 - the fixture
    app, client, form = lever
    base = form["base_url"]
    _save(client, form, auth_mode="oauth")
    _connected_with_oauth_at(app, base)
    issuer = urlsplit(base).netloc
    elsewhere = base.replace("127.0.0.1", "localhost")
    html = _save(client, form, auth_mode="oauth", base_url=elsewhere)
    step = _next_step(html)
    assert step.startswith("Next step: connect with Lever (OAuth) again")
    assert f"made with Lever at {issuer}" in step and urlsplit(elsewhere).netloc in step
    assert "test the connection" not in step
    assert 'id="test-connection"' not in html  # nothing the hub may send there to test
    assert "Connected with your Lever account" not in html
    with app.app_context():
        state = services.connection_state(1, "lever")
        assert state.credentials_present is False and "connect with Lever (OAuth) again" in state.credentials_help
    # pointed back at the Lever that issued the grant, it is usable again: test it
    html = _save(client, form, auth_mode="oauth", base_url=base)
    assert _next_step(html) == "Next step: test the connection."
