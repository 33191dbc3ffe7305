"""``source_list_stage_candidates`` (the pipeline's backfill) against the Lever sandbox over real
HTTP, and with ``responses`` for what the sandbox never does (filters ignored, errors)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
import responses

from hub.entities import StageCandidate
from hub.errors import HubError
from plugins.lever import readapi
from plugins.lever.client import LeverClient

ROUTE = "GET /v1/opportunities"
BACKEND = "posting-backend-engineer"
CANDITECH = "stage-canditech"


def _move(sandbox, opportunity: str, stage: str = CANDITECH) -> None:
    sandbox.control("POST", f"/opportunities/{opportunity}/move", json={"stage_id": stage})


def _list(hub, posting=BACKEND, stage=CANDITECH, limit=100):
    """The opportunity ids listed (``StageCandidate`` items)."""
    found = hub.call("source_list_stage_candidates", posting_id=posting, stage_id=stage, limit=limit)
    assert all(isinstance(item, StageCandidate) for item in found), found
    return [item.opportunity_id for item in found]


def test_each_candidate_comes_with_the_name_and_lever_page_for_the_backfill_page(api_key_hub, sandbox):
    _move(sandbox, "opp-alice")
    (alice,) = api_key_hub.call("source_list_stage_candidates", posting_id=BACKEND, stage_id=CANDITECH, limit=10)
    assert alice.opportunity_id == "opp-alice" and alice.name == "Alice Anders"
    assert alice.profile_url is not None and alice.profile_url.endswith("/candidates/opp-alice")


def test_only_the_candidates_in_that_stage_of_that_posting_not_archived(api_key_hub, sandbox):
    assert _list(api_key_hub) == []
    for opportunity in ("opp-alice", "opp-bob", "opp-nomail", "opp-dave"):  # dave applied to another posting
        _move(sandbox, opportunity)
    sandbox.control("POST", "/opportunities/opp-bob/archive", json={"reason_id": "reason-underqualified"})
    # carol stays in "New applicant"; Lever's order (created) is kept
    assert _list(api_key_hub) == ["opp-alice", "opp-nomail"]
    assert _list(api_key_hub, posting="posting-data-analyst") == ["opp-dave"]
    assert _list(api_key_hub, stage="stage-new-applicant") == ["opp-carol"]
    assert _list(api_key_hub, posting="posting-nobody") == []


def test_pages_are_followed_and_the_limit_stops_reading(make_hub, sandbox):
    hub = make_hub(LEVER_PAGE_SIZE=1)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "api_key": "lever-sandbox-key"})
    for opportunity in ("opp-alice", "opp-bob", "opp-carol"):
        _move(sandbox, opportunity)
    before = sandbox.route_count(ROUTE)
    assert _list(hub) == ["opp-alice", "opp-bob", "opp-carol"]
    assert sandbox.route_count(ROUTE) - before == 3  # one candidate per page
    before = sandbox.route_count(ROUTE)
    assert _list(hub, limit=2) == ["opp-alice", "opp-bob"]
    assert sandbox.route_count(ROUTE) - before == 2  # the third page is never read


def test_the_candidates_are_read_live_never_cached(api_key_hub, sandbox):
    _move(sandbox, "opp-alice")
    assert _list(api_key_hub) == ["opp-alice"]
    _move(sandbox, "opp-alice", "stage-offer")
    _move(sandbox, "opp-carol")
    assert _list(api_key_hub) == ["opp-carol"]


def test_the_filters_are_sent_and_every_item_is_checked_again(hub):
    """Lever's filters (lever.md §3.2) are asked for; a server that ignored one still cannot hand
    back a candidate of another stage, an archived or a deleted one, or the same id twice."""
    base = "http://lever.test"
    hub.configure({"environment": "custom", "base_url": base, "api_key": "k"})
    with responses.RequestsMock() as rsps:
        rsps.get(base + "/v1/opportunities", json={"data": [
            {"id": "o1", "stage": "s1", "name": 7, "urls": {"show": ["not", "a", "str"]}},
            {"id": "o2", "stage": {"id": "s2", "text": "Elsewhere"}},
            {"id": "o3", "stage": "s1", "archived": {"reason": "r1", "archivedAt": 1}},
            {"id": "o4", "stage": "s1", "deletedAt": 2},
            {"id": "o1", "stage": "s1"},
            {"stage": "s1"},
        ], "hasNext": True, "next": "page-2"})
        rsps.get(base + "/v1/opportunities", json={"data": [{"id": "o5", "stage": {"id": "s1"}}], "hasNext": False})
        found = hub.call("source_list_stage_candidates", posting_id="p1", stage_id="s1", limit=10)
        first, second = (parse_qs(urlsplit(call.request.url).query) for call in rsps.calls)
    # a name or page of the wrong type is left out, not passed on
    assert found == [StageCandidate("o1", "", None), StageCandidate("o5", "", None)]
    assert first["posting_id"] == ["p1"] and first["stage_id"] == ["s1"] and first["archived"] == ["false"]
    assert "offset" not in first and second["offset"] == ["page-2"]


def test_lever_failures_are_errors_the_admin_can_read(make_hub):
    hub = make_hub(LEVER_HTTP_RETRIES=0)
    base = "http://lever.test"
    hub.configure({"environment": "custom", "base_url": base, "api_key": "k"})
    with responses.RequestsMock() as rsps:
        rsps.get(base + "/v1/opportunities", status=503, json={"code": "ServiceUnavailable", "message": "busy"})
        with pytest.raises(HubError) as down:
            hub.call("source_list_stage_candidates", posting_id="p1", stage_id="s1", limit=10)
        rsps.replace(responses.GET, base + "/v1/opportunities", status=403,
                     json={"code": "Forbidden", "message": "Your Lever account settings don't authorize you"})
        with pytest.raises(HubError) as refused:
            hub.call("source_list_stage_candidates", posting_id="p1", stage_id="s1", limit=10)
    assert down.value.status == 503 and down.value.message.startswith("Lever is unavailable")
    assert refused.value.status == 502 and "don't authorize you" in refused.value.message


def test_nothing_is_asked_for_empty_ids_or_no_room(hub):
    hub.configure({"environment": "custom", "base_url": "http://lever.test", "api_key": "k"})
    with responses.RequestsMock():  # any request would fail the test
        assert hub.with_ctx(lambda ctx: readapi.list_stage_candidates(LeverClient(ctx), "", "s1", 5)) == []
        assert hub.with_ctx(lambda ctx: readapi.list_stage_candidates(LeverClient(ctx), "p1", "s1", 0)) == []
