"""``LeverClient`` and Lever's documented ``301`` ("follow Location", lever.md §3.1): a redirected
request keeps its method, body and credentials on a Lever host, and is not followed elsewhere."""

from __future__ import annotations

import json

import pytest
import responses

from plugins.lever.client import LeverAPIError, LeverClient

from .test_client import API, lever, rsps  # noqa: F401 - the fixtures, shared

EU = "https://api.eu.lever.co/v1"


def run(hub, fn):
    return hub.with_ctx(lambda ctx: fn(LeverClient(ctx, sleep=lambda s: None), ctx))


def test_a_redirected_note_is_posted_again_at_the_new_location_with_the_credentials(lever, rsps):
    rsps.add(responses.POST, API + "/opportunities/o1/notes", status=301,
             headers={"Location": EU + "/opportunities/o1/notes?perform_as=user-admin"})
    rsps.add(responses.POST, EU + "/opportunities/o1/notes", status=201, json={"data": {"noteId": "n1"}})

    body = run(lever, lambda client, ctx: client.request("POST", "/opportunities/o1/notes",
                                                         json={"value": "Score: 82"}, perform_as=True))

    assert body == {"data": {"noteId": "n1"}}
    moved = rsps.calls[-1].request
    assert moved.method == "POST"
    assert json.loads(moved.body) == {"value": "Score: 82"}
    assert moved.headers["Authorization"] == rsps.calls[0].request.headers["Authorization"]


def test_a_redirect_to_a_host_that_is_not_lever_is_not_followed(lever, rsps):
    rsps.add(responses.GET, API + "/users", status=302, headers={"Location": "https://elsewhere.example/v1/users"})

    with pytest.raises(LeverAPIError, match="elsewhere.example"):
        run(lever, lambda client, ctx: client.get("/users"))
    assert len(rsps.calls) == 1


def test_redirects_in_a_loop_missing_location_and_see_other_are_errors_naming_them(lever, rsps):
    for _ in range(4):  # more than MAX_REDIRECTS (3)
        rsps.add(responses.GET, API + "/users", status=301, headers={"Location": API + "/users"})
    with pytest.raises(LeverAPIError, match="more than 3 times"):
        run(lever, lambda client, ctx: client.get("/users"))
    assert len(rsps.calls) == 4
    rsps.reset()
    rsps.add(responses.GET, API + "/stages", status=302)  # no Location
    with pytest.raises(LeverAPIError, match=r"nowhere \(no Location\)"):
        run(lever, lambda client, ctx: client.get("/stages"))
    rsps.reset()
    rsps.add(responses.POST, API + "/opportunities/o1/notes", status=303, headers={"Location": API + "/notes/n1"})
    with pytest.raises(LeverAPIError) as refused:  # "See Other" asks for a GET of something else: not a move
        run(lever, lambda client, ctx: client.request("POST", "/opportunities/o1/notes", json={"value": "x"}))
    assert refused.value.status == 303 and len(rsps.calls) == 1
