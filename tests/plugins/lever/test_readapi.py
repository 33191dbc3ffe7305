"""The source read API against the Lever sandbox (and one tolerance test with ``responses``)."""

from __future__ import annotations

import pytest
import responses

from hub.entities import ArchiveReason, Candidate, Posting, SourceUser, Stage
from hub.errors import HubError
from plugins.lever import readapi
from plugins.lever.client import LeverClient

STAGES_ROUTE = "GET /v1/stages"


def test_candidate(api_key_hub, sandbox):
    candidate = api_key_hub.call("source_get_candidate", opportunity_id="opp-alice")
    assert candidate == Candidate(
        opportunity_id="opp-alice", name="Alice Anders", email="alice@example.com",
        posting_id="posting-backend-engineer", posting_title="Backend Engineer", stage_id="stage-new-applicant",
        archived=False, profile_url=sandbox.base + "/candidates/opp-alice")


def test_candidate_reflects_lever_now(api_key_hub, sandbox):
    sandbox.control("POST", "/opportunities/opp-bob/move", json={"stage_id": "stage-canditech"})
    sandbox.control("POST", "/opportunities/opp-bob/archive", json={"reason_id": "reason-underqualified"})
    candidate = api_key_hub.call("source_get_candidate", opportunity_id="opp-bob")
    assert candidate.stage_id == "stage-canditech" and candidate.archived is True


def test_candidate_without_email(api_key_hub):
    candidate = api_key_hub.call("source_get_candidate", opportunity_id="opp-nomail")
    assert candidate.name == "Nomail Person" and candidate.email is None
    assert candidate.posting_id == "posting-backend-engineer"


def test_unknown_and_deleted_candidates_are_none(api_key_hub, sandbox):
    assert api_key_hub.call("source_get_candidate", opportunity_id="opp-nobody") is None
    sandbox.control("DELETE", "/opportunities/opp-erin")
    assert api_key_hub.call("source_get_candidate", opportunity_id="opp-erin") is None


def test_stages_are_paginated_and_cached(make_hub, sandbox):
    hub = make_hub(LEVER_PAGE_SIZE=2)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "api_key": "lever-sandbox-key"})
    stages = hub.call("source_list_stages", posting_id="posting-backend-engineer")
    assert stages[2] == Stage(id="stage-canditech", name="Canditech Stage")
    assert [s.id for s in stages] == ["stage-new-applicant", "stage-recruiter-screen", "stage-canditech",
                                      "stage-phone-interview", "stage-onsite-interview", "stage-offer", "stage-vervoe"]
    assert sandbox.route_count(STAGES_ROUTE) == 4  # 7 stages, 2 per page
    assert hub.call("source_list_stages", posting_id=None) == stages
    assert sandbox.route_count(STAGES_ROUTE) == 4  # from the cache

    hub.with_ctx(lambda ctx: readapi.list_stages(ctx, LeverClient(ctx), refresh=True))
    assert sandbox.route_count(STAGES_ROUTE) == 8
    hub.call("test_connection")  # re-connecting clears the caches
    hub.call("source_list_stages", posting_id=None)
    assert sandbox.route_count(STAGES_ROUTE) == 12


def test_archive_reasons_are_listed_and_cached(api_key_hub, sandbox):
    reasons = api_key_hub.call("source_list_archive_reasons")
    assert ArchiveReason(id="reason-underqualified", name="Underqualified", type="non-hired") in reasons
    assert ArchiveReason(id="reason-hired", name="Hired", type="hired") in reasons
    assert [r.id for r in reasons if r.for_hired] == ["reason-hired"]  # Lever's type, kept
    calls = sandbox.route_count("GET /v1/archive_reasons")
    assert api_key_hub.call("source_list_archive_reasons") == reasons
    assert sandbox.route_count("GET /v1/archive_reasons") == calls  # from the cache


def test_cache_expires(make_hub, sandbox):
    hub = make_hub(LEVER_CACHE_SECONDS=0)
    hub.configure({"environment": "custom", "base_url": sandbox.base, "api_key": "lever-sandbox-key"})
    hub.call("source_list_stages", posting_id=None)
    hub.call("source_list_stages", posting_id=None)
    assert sandbox.route_count(STAGES_ROUTE) == 2


def test_postings_with_people(api_key_hub):
    postings = {p.id: p for p in api_key_hub.call("source_list_postings")}
    assert set(postings) == {"posting-backend-engineer", "posting-data-analyst", "posting-closed"}
    backend = postings["posting-backend-engineer"]
    assert backend == Posting(id="posting-backend-engineer", title="Backend Engineer", state="published",
                              owner_email="ada.admin@example.com", hiring_manager_email="tom.team@example.com",
                              follower_emails=("ada.admin@example.com", "tom.team@example.com",
                                               "lena.limited@example.com"),
                              location="Berlin", team="Engineering")  # Lever's categories
    assert "lena.limited@example.com" in backend.member_emails()
    assert postings["posting-closed"].state == "closed"


def test_users(api_key_hub):
    users = {u.id: u for u in api_key_hub.call("source_list_users")}
    assert users["user-limited"] == SourceUser(id="user-limited", name="Lena Limited",
                                               email="lena.limited@example.com", access_role="limited team member")
    assert len(users) == 4


def test_connection_message(api_key_hub, sandbox):
    message = api_key_hub.call("test_connection")
    assert message == f"Lever is connected at {sandbox.base}/v1 with an API key."
    assert api_key_hub.integration()["status"] == "connected"


def test_connection_with_a_wrong_key(hub, sandbox):
    hub.configure({"environment": "custom", "base_url": sandbox.base, "api_key": "wrong"})
    with pytest.raises(HubError) as info:
        hub.call("test_connection")
    assert info.value.status == 401 and "Invalid API key" in info.value.message


def test_candidate_fields_that_are_not_expanded(hub):
    """Lever may answer ids where expansions were asked for (lever.md §3.2): follow them."""
    base = "http://lever.test"
    hub.configure({"environment": "custom", "base_url": base, "api_key": "k"})
    with responses.RequestsMock() as rsps:
        rsps.get(base + "/v1/opportunities/o1", json={"data": {
            "id": "o1", "name": "Olga Ortiz", "emails": [], "contact": "c1", "applications": ["a1"],
            "stage": {"id": "s1", "text": "Screen"}, "archived": {"reason": "r1", "archivedAt": 1},
            "urls": {"show": "https://hire.lever.co/candidates/o1"}}})
        rsps.get(base + "/v1/contacts/c1", json={"data": {"id": "c1", "emails": ["olga@example.com"]}})
        rsps.get(base + "/v1/opportunities/o1/applications/a1", json={"data": {"id": "a1", "posting": "p1"}})
        rsps.get(base + "/v1/postings", json={"data": [{"id": "p1", "text": "Analyst", "state": "published"}],
                                              "hasNext": False})
        candidate = hub.call("source_get_candidate", opportunity_id="o1")
        first = rsps.calls[0].request.url
    assert "expand=applications" in first and "expand=stage" in first
    assert candidate == Candidate(opportunity_id="o1", name="Olga Ortiz", email="olga@example.com", posting_id="p1",
                                  posting_title="Analyst", stage_id="s1", archived=True,
                                  profile_url="https://hire.lever.co/candidates/o1")
