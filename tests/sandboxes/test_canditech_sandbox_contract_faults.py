"""The Canditech sandbox's two fault settings that change a contract choice rather than inject an
error: ``no_reference_dedup`` and ``cancel_finished_status``. Over real HTTP."""

from __future__ import annotations

import pytest
import requests

from plugins.canditech.sandbox import serve_in_thread

AUTH = {"Authorization": "Bearer canditech-sandbox-key"}


@pytest.fixture(scope="module")
def server():
    base_url, stop = serve_in_thread({"RATE_LIMIT_PER_SECOND": 1000, "RATE_LIMIT_BURST": 1000})
    yield base_url
    stop()


@pytest.fixture()
def sandbox(server):
    assert requests.post(f"{server}/_sandbox/reset", json={"config": True}, timeout=5).status_code == 200
    return server


def faults(base: str, **settings) -> requests.Response:
    return requests.post(f"{base}/_sandbox/faults", json=settings, timeout=5)


def invite(base: str, reference: str) -> requests.Response:
    body = {"assessment_id": "asmt-python", "external_reference": reference,
            "candidate": {"first_name": "Ada", "last_name": "Lovelace", "email": "ada@example.com"}}
    return requests.post(f"{base}/v1/invitations", json=body, headers=AUTH, timeout=5)


def cancel(base: str, invitation_id: str) -> requests.Response:
    return requests.post(f"{base}/v1/invitations/{invitation_id}/cancel", headers=AUTH, timeout=5)


def test_both_default_to_the_assumed_contract(sandbox):
    settings = requests.get(f"{sandbox}/_sandbox/faults", timeout=5).json()
    assert settings["no_reference_dedup"] is False and settings["cancel_finished_status"] == 409
    assert invite(sandbox, "ref-1").status_code == 201
    assert invite(sandbox, "ref-1").status_code == 409


def test_without_dedup_a_known_reference_creates_another_invitation_and_the_lookup_lists_both(sandbox):
    first = invite(sandbox, "ref-1").json()
    assert faults(sandbox, no_reference_dedup=True).status_code == 200
    second = invite(sandbox, "ref-1")
    assert second.status_code == 201 and second.json()["id"] != first["id"]

    found = requests.get(f"{sandbox}/v1/invitations", headers=AUTH, params={"external_reference": "ref-1"},
                         timeout=5).json()["data"]
    assert [i["id"] for i in found] == [first["id"], second.json()["id"]]  # oldest first
    control = requests.get(f"{sandbox}/_sandbox/invitations", timeout=5).json()
    assert len(control["data"]) == 2 and control["post_counts"] == {"ref-1": 2}

    faults(sandbox)  # back to deduplicating: the 409 carries the first one
    again = invite(sandbox, "ref-1")
    assert again.status_code == 409 and again.json()["invitation"]["id"] == first["id"]


@pytest.mark.parametrize("finish", ["complete", "expire"])
def test_cancelling_a_finished_invitation_answers_the_configured_status(sandbox, finish):
    done = invite(sandbox, "ref-2").json()
    requests.post(f"{sandbox}/_sandbox/invitations/{done['id']}/{finish}", json={"score": 10}, timeout=5)
    assert faults(sandbox, cancel_finished_status=422).status_code == 200

    refused = cancel(sandbox, done["id"])
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_state"
    assert "cannot cancel" in refused.json()["error"]["message"]

    still_open = invite(sandbox, "ref-3").json()
    assert cancel(sandbox, still_open["id"]).json()["status"] == "cancelled"  # open ones still cancel
    assert cancel(sandbox, still_open["id"]).status_code == 200  # twice is still a no-op


@pytest.mark.parametrize("value", [500, 399, "422", True, 4.22])
def test_cancel_finished_status_must_be_a_4xx(sandbox, value):
    refused = faults(sandbox, cancel_finished_status=value)
    assert refused.status_code == 400
    assert "cancel_finished_status" in refused.json()["error"]["message"]


def test_reset_restores_both(sandbox):
    faults(sandbox, no_reference_dedup=True, cancel_finished_status=422)
    requests.post(f"{sandbox}/_sandbox/reset", json={}, timeout=5)
    settings = requests.get(f"{sandbox}/_sandbox/faults", timeout=5).json()
    assert settings["no_reference_dedup"] is False and settings["cancel_finished_status"] == 409
