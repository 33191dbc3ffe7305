"""Fixtures for the web tests (the fakes and the seed live in ``tests/web/support.py``)."""

from __future__ import annotations

import pytest

from tests.web.support import FakeAssess, FakeSource, Seed, api_headers, seed, sign_in


@pytest.fixture
def fakes():
    return FakeSource(), FakeAssess()


@pytest.fixture
def hub_app(make_app, fakes):
    source, assess = fakes
    return make_app(plugins=[("fakesource", source), ("fakeassess", assess)], entry_points=False)


@pytest.fixture
def seeded(hub_app) -> Seed:
    return seed(hub_app)


@pytest.fixture
def as_role(hub_app, seeded):
    """``as_role("admin")`` -> a test client signed in as that role's user."""
    def make(role: str):
        client = hub_app.test_client()
        response = sign_in(client, seeded.email(role))
        assert response.status_code == 302, response.get_data(as_text=True)
        return client

    return make




@pytest.fixture
def api(hub_app, seeded):
    """``api(method, path, role="super_admin", **kwargs)``: a request to ``/api/v1<path>`` with an
    API token of the seeded user of ``role`` (``role=None``: no token); ``headers`` add to it."""
    client = hub_app.test_client()

    def call(method, path, role="super_admin", **kwargs):
        headers = {**(api_headers(seeded, role) if role else {}), **kwargs.pop("headers", {})}
        return client.open(f"/api/v1{path}", method=method, headers=headers, **kwargs)

    return call
